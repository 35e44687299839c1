/**
 * One observed run of a multi-node cluster — api, users, 2× students, 2× courses, notifications
 * over NATS, PostgreSQL and Redis — with tracing exported to a Zipkin collector and a real
 * Prometheus scraping every node. It writes three reports from what it saw:
 *   docs/reports/logs.md         real JSON log lines: one request followed by its id, an error
 *   docs/reports/monitoring.md   Prometheus query results and charts of the run's load, during
 *                                which one students node is killed (SIGKILL) and restarted
 *   docs/reports/interaction.md  the call graph (spans and metrics) and sequence diagrams, one of
 *                                a waitlist promotion pushed to a student's /ws socket
 */
import { readFileSync, writeFileSync } from "fs";
import WebSocket from "ws";
import { join } from "path";
import { Cluster, http, login, sleep } from "../test/cluster/harness";
import {
  apiGet,
  clusterPrometheusConfig,
  query,
  startPrometheus,
  waitForTargets,
  type PrometheusServer,
} from "../test/helpers/prometheus";
import {
  startZipkinCollector,
  type ZipkinCollector,
  type ZipkinSpan,
} from "../test/helpers/zipkin";
import {
  queryAt,
  queryRange,
  renderChart,
  toLines,
  type Line as ChartLine,
  type Marker,
} from "./charts";
import { log, round, stamp, table, writeReport } from "./common";
import {
  perSecond,
  timedLoad,
  windowStats,
  type LoadRun,
  type Sample,
  type WindowStats,
} from "./load";

type Line = Record<string, unknown> & { time: string; nodeID: string; msg: string };

const NODES: [string, string][] = [
  ["users", "users"],
  ["students-1", "students"],
  ["students-2", "students"],
  ["courses-1", "courses"],
  ["courses-2", "courses"],
  ["notifications", "notifications"],
  ["schedule", "schedule"],
  ["assignments", "assignments"],
  ["gradebook", "gradebook"],
  ["quizzes", "quizzes"],
];
/** The run's nodes as the reports name them: `api`, `users`, … and `quizzes`. */
const NODE_NAMES = ["api", ...NODES.map(([name]) => name)].map((name) => `\`${name}\``);
const NODE_LIST = `${NODE_NAMES.slice(0, -1).join(", ")} and ${NODE_NAMES.at(-1)}`;
const PASSWORD = "observed-run-password";
const LOAD_PER_SECOND = 25;
/** The load's phases: steady, then one students node killed, down, restarted, and after. */
const STEADY_SECONDS = 30;
const DOWN_SECONDS = 20;
const AFTER_READY_SECONDS = 30;
const KILLED = "students-1";
const SURVIVOR = "students-2";

/** What happened to the killed node, in epoch ms (client clock). */
interface KillPhase {
  node: string;
  pid: number;
  killedAt: number;
  exitedAt: number;
  restartedAt: number;
  readyAt: number;
  newPid: number;
}

/** A student's `/ws` socket while their waitlisted enrollment is promoted. */
interface LivePush {
  dropId: string;
  /** Every message the socket received, with ms since the drop request was sent. */
  received: { afterMs: number; message: Record<string, unknown> }[];
}

interface Scenario {
  followId: string;
  /** The grade a quiz submit recorded, followed to the gradebook. */
  quizSubmitId: string;
  waitlist: LivePush;
  enrollmentId: string;
  errorId: string;
  studentCoursesId: string;
  courseStudentsId: string;
  load: LoadRun;
  kill: KillPhase;
}

class Observed {
  readonly cluster = new Cluster();
  zipkin!: ZipkinCollector;
  prometheus!: PrometheusServer;
  base = "";
  token = "";
  env: Record<string, string> = {};

  get run(): string {
    return this.cluster.runId;
  }

  async start(): Promise<void> {
    this.zipkin = await startZipkinCollector();
    const env = { TRACING_EXPORTER: "zipkin", TRACING_ZIPKIN_URL: this.zipkin.url };
    this.env = env;
    await this.cluster.createDatabases();
    const workers = await Promise.all(
      NODES.map(([name, services]) => this.cluster.start(name, services, env)),
    );
    const api = await this.cluster.start("api", "api", env);
    // A loaded machine may take a minute to start seven Node.js processes.
    await Promise.all([...workers, api].map((node) => this.cluster.ready(node, 180000)));
    this.base = this.cluster.gateway("api");
    this.token = await login(this.base);
    const { config, files } = clusterPrometheusConfig(this.scraped());
    this.prometheus = await startPrometheus(config, files);
    await waitForTargets(this.prometheus.url, this.cluster.nodes.size);
  }

  private scraped() {
    return [...this.cluster.nodes.values()].map((node) => ({
      name: node.name,
      service: node.services,
      port: node.port,
      metricsPort: node.metricsPort,
    }));
  }

  /** Rewrites Prometheus's discovery file (it re-reads it each second), as Kubernetes would. */
  private updateTargets(): void {
    const { files } = clusterPrometheusConfig(this.scraped());
    writeFileSync(join(this.prometheus.dir, "targets.json"), files["targets.json"]);
  }

  /**
   * The load's kill phase: after STEADY_SECONDS, SIGKILL one students node (no shutdown, no
   * goodbye to the cluster); DOWN_SECONDS later start it again under the same node id, and
   * return once it answers /health/ready.
   */
  private async killAndRestart(): Promise<KillPhase> {
    await sleep(STEADY_SECONDS * 1000);
    const victim = this.cluster.nodes.get(KILLED);
    if (!victim) throw new Error(`no node ${KILLED}`);
    const pid = victim.process.pid ?? 0;
    const killedAt = Date.now();
    log(`observed: SIGKILL ${KILLED} (pid ${pid})`);
    await this.cluster.stop(KILLED, "SIGKILL");
    const exitedAt = Date.now();
    await sleep(DOWN_SECONDS * 1000);
    const restartedAt = Date.now();
    log(`observed: restarting ${KILLED}`);
    const node = await this.cluster.start(KILLED, "students", this.env);
    this.updateTargets();
    await this.cluster.ready(node, 180000);
    const readyAt = Date.now();
    return {
      node: KILLED,
      pid,
      killedAt,
      exitedAt,
      restartedAt,
      readyAt,
      newPid: node.process.pid ?? 0,
    };
  }

  async stop(): Promise<void> {
    await this.prometheus?.stop();
    await this.cluster.stopAll();
    await this.cluster.dropDatabases().catch(() => undefined);
    await this.cluster.deleteStreams().catch(() => undefined);
    await this.zipkin?.stop();
  }

  async send(method: string, path: string, body?: unknown, requestId?: string, token = this.token) {
    const headers: Record<string, string> = {};
    if (token) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers["content-type"] = "application/json";
    if (requestId) headers["x-request-id"] = requestId;
    const response = await fetch(`${this.base}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined };
  }

  async register(label: string) {
    const email = `report.${label}.${this.run}@campus.test`;
    const result = await http(this.base, "POST", "/api/auth/register", undefined, {
      email,
      password: PASSWORD,
      firstName: "Report",
      lastName: label,
    });
    if (result.status !== 201) throw new Error(`register: ${result.status}`);
    return {
      email,
      studentId: result.body.user.studentId as string,
      token: result.body.accessToken as string,
    };
  }

  async course(code: string, capacity: number | null, waitlistCapacity = 0) {
    const result = await this.send("POST", "/api/courses", {
      code: `${code}-${this.run}`,
      title: `Report ${code}`,
      capacity,
      waitlistCapacity,
    });
    if (result.status !== 201) throw new Error(`course: ${result.status}`);
    return result.body.id as string;
  }

  /**
   * The waitlist and a live socket: a course of one seat with a waitlist of two. The first
   * student takes the seat, the next two wait (202, positions 1 and 2); the first of them holds a
   * `/ws` socket open. The seated student drops (a followed request): the first waiting student
   * is promoted in the same transaction and the notification is pushed to the socket through the
   * gateway, wherever the notifications node made it.
   */
  private async waitlistWithSocket(students: { studentId: string; token: string }[]) {
    const course = await this.course("WAITLIST", 1, 2);
    for (const student of students.slice(0, 3)) {
      await this.send("POST", `/api/courses/${course}/students`, { studentId: student.studentId });
    }
    const socket = new WebSocket(`${this.base.replace(/^http/, "ws")}/ws`);
    let sentAt = Number.NaN;
    const received: LivePush["received"] = [];
    let authenticated!: () => void;
    let promoted!: () => void;
    const isAuthenticated = new Promise<void>((resolve) => (authenticated = resolve));
    const isPromoted = new Promise<void>((resolve) => (promoted = resolve));
    socket.on("open", () =>
      socket.send(JSON.stringify({ type: "auth", token: students[1].token })),
    );
    socket.on("message", (data) => {
      const message = JSON.parse(String(data));
      if (message.type === "authenticated") authenticated();
      if (Number.isNaN(sentAt)) return;
      received.push({ afterMs: Date.now() - sentAt, message });
      if (message.type === "notification" && message.notification?.type === "promoted") promoted();
    });
    const within = (promise: Promise<void>, what: string) =>
      Promise.race([
        promise,
        sleep(15000).then(() => Promise.reject(new Error(`observed: ${what} within 15 s`))),
      ]);
    await within(isAuthenticated, "socket authenticated");
    const dropId = `report-waitlist-drop-${this.run}`;
    sentAt = Date.now();
    await this.send(
      "DELETE",
      `/api/courses/${course}/students/${students[0].studentId}`,
      undefined,
      dropId,
    );
    try {
      await within(isPromoted, "promotion pushed");
      await sleep(500); // the unread count that follows it
    } finally {
      socket.close(1000);
    }
    return { dropId, received };
  }

  /**
   * Coursework in the algebra course (students 0–3 are enrolled): an assignment submitted by two
   * students, one graded; a one-question quiz published, attempted and submitted (a followed
   * request: its grade reaches the gradebook as a durable event); then the course's gradebook.
   */
  private async coursework(course: string, students: { studentId: string; token: string }[]) {
    const expect = async (
      what: string,
      status: number,
      call: Promise<{ status: number; body?: unknown }>,
    ) => {
      const result = await call;
      if (result.status !== status) throw new Error(`observed: ${what} answered ${result.status}`);
      return result.body as { id: string };
    };
    const assignment = await expect(
      "an assignment",
      201,
      this.send("POST", `/api/courses/${course}/assignments`, {
        title: "Report essay",
        dueAt: new Date(Date.now() + 7 * 86400000).toISOString(),
        maxPoints: 10,
        published: true,
      }),
    );
    for (const student of students.slice(0, 2)) {
      await expect(
        "a submission",
        200,
        this.send(
          "PUT",
          `/api/assignments/${assignment.id}/submissions/me`,
          { body: "My essay" },
          undefined,
          student.token,
        ),
      );
    }
    await expect(
      "grading",
      200,
      this.send(
        "POST",
        `/api/assignments/${assignment.id}/submissions/${students[0].studentId}/grade`,
        {
          points: 8,
          feedback: "Good",
        },
      ),
    );
    const quiz = await expect(
      "a quiz",
      201,
      this.send("POST", `/api/courses/${course}/quizzes`, {
        title: "Report quiz",
        questions: [
          {
            id: "q1",
            type: "single_choice",
            prompt: "2 + 2?",
            choices: [
              { id: "a", text: "4", correct: true },
              { id: "b", text: "5" },
            ],
          },
        ],
      }),
    );
    await expect("publishing", 200, this.send("POST", `/api/quizzes/${quiz.id}/publish`));
    const attempt = await expect(
      "an attempt",
      201,
      this.send(
        "POST",
        `/api/quizzes/${quiz.id}/attempts`,
        undefined,
        undefined,
        students[1].token,
      ),
    );
    const quizSubmitId = `report-quiz-submit-${this.run}`;
    await expect(
      "a quiz submit",
      200,
      this.send(
        "POST",
        `/api/quizzes/${quiz.id}/attempts/${attempt.id}/submit`,
        { answers: [{ questionId: "q1", choiceIds: ["a"] }] },
        quizSubmitId,
        students[1].token,
      ),
    );
    await sleep(2000); // the grade events reach the gradebook
    await expect("the gradebook", 200, this.send("GET", `/api/courses/${course}/gradebook`));
    return quizSubmitId;
  }

  /** What the reports describe: every business outcome, one followed request, an error, load. */
  async scenario(): Promise<Scenario> {
    const id = (name: string) => `report-${name}-${this.run}`;
    const students = [];
    for (const label of ["ada", "grace", "alan", "edsger", "barbara", "donald"]) {
      students.push(await this.register(label));
    }
    const algebra = await this.course("ALGEBRA", null);
    const seminar = await this.course("SEMINAR", 2);
    const physics = await this.course("PHYSICS", 30);

    for (const student of students.slice(0, 4)) {
      await this.send("POST", `/api/courses/${algebra}/students`, { studentId: student.studentId });
    }
    // An enrollment followed by its trace: the write, the outbox, the event to notifications.
    const enrollmentId = id("enrollment");
    await this.send(
      "POST",
      `/api/students/${students[0].studentId}/courses`,
      { courseId: physics },
      enrollmentId,
    );
    await this.send("POST", `/api/courses/${seminar}/students`, {
      studentId: students[0].studentId,
    });
    await this.send("POST", `/api/courses/${seminar}/students`, {
      studentId: students[0].studentId,
    }); // duplicate
    await this.send("POST", `/api/courses/${seminar}/students`, {
      studentId: students[1].studentId,
    });
    await this.send("POST", `/api/courses/${seminar}/students`, {
      studentId: students[2].studentId,
    }); // full
    await this.send("POST", `/api/courses/00000000-0000-4000-8000-000000000000/students`, {
      studentId: students[3].studentId,
    }); // not found
    await this.send("PATCH", `/api/courses/${physics}`, { title: "Report Physics II" });

    // The schedule: a lesson, a weekly series, a room clash (409), a reschedule (its event
    // reaches the enrolled students), all a month ahead.
    const day = new Date(Date.now() + 30 * 86400000).toISOString().slice(0, 10);
    const lesson = await this.send("POST", `/api/courses/${algebra}/lessons`, {
      startsAt: `${day}T09:00:00Z`,
      endsAt: `${day}T10:30:00Z`,
      room: "Report Hall",
    });
    await this.send("POST", `/api/courses/${physics}/lesson-series`, {
      startsAt: `${day}T11:00:00+02:00`,
      endsAt: `${day}T12:00:00+02:00`,
      weeks: 4,
      timeZone: "Europe/Berlin",
      room: "Report Lab",
    });
    await this.send("POST", `/api/courses/${physics}/lessons`, {
      startsAt: `${day}T10:00:00Z`,
      endsAt: `${day}T11:00:00Z`,
      room: "report hall",
    }); // room conflict
    if (lesson.status === 201) {
      await this.send("PATCH", `/api/lessons/${lesson.body.id}`, {
        startsAt: `${day}T13:00:00Z`,
        endsAt: `${day}T14:30:00Z`,
      });
    }

    const waitlist = await this.waitlistWithSocket(students);
    const quizSubmitId = await this.coursework(algebra, students);

    // The two cross-service reads, traced first (cold cache: every inner call runs).
    const studentCoursesId = id("student-courses");
    await this.send(
      "GET",
      `/api/students/${students[0].studentId}/courses`,
      undefined,
      studentCoursesId,
    );
    const courseStudentsId = id("course-students");
    await this.send("GET", `/api/courses/${algebra}/students`, undefined, courseStudentsId);

    // An error across nodes: a wrong password (401 at the gateway, a warning on users).
    const errorId = id("failed-login");
    await this.send(
      "POST",
      "/api/auth/login",
      { email: students[5].email, password: "not-it-at-all" },
      errorId,
      "",
    );
    // The account lock: ten failures, then 429 even with the right password.
    for (let i = 0; i < 10; i += 1) {
      await this.send(
        "POST",
        "/api/auth/login",
        { email: students[4].email, password: "wrong-again" },
        undefined,
        "",
      );
    }
    await this.send(
      "POST",
      "/api/auth/login",
      { email: students[4].email, password: PASSWORD },
      undefined,
      "",
    );

    // Load: the reads of a working day, for the rates, latencies and cache figures.
    const paths = [
      `/api/students/${students[1].studentId}`,
      `/api/students/${students[0].studentId}/courses`,
      `/api/courses/${algebra}/students`,
      `/api/courses/${physics}`,
      "/api/courses",
      "/api/students?pageSize=5",
      "/api/notifications",
      `/api/courses/${algebra}/schedule`,
    ];
    let next = 0;
    let stopAt = Number.POSITIVE_INFINITY;
    const running = timedLoad(
      () => http(this.base, "GET", paths[next++ % paths.length], this.token),
      LOAD_PER_SECOND,
      () => Date.now() >= stopAt,
      5 * 60 * 1000,
    );
    const kill = await this.killAndRestart().finally(() => {
      stopAt = Date.now() + AFTER_READY_SECONDS * 1000;
    });
    const load = await running;
    log(
      `observed: load done, ${load.samples.length} requests, ${windowStats(load.samples, 0, Infinity).failed} failed`,
    );

    // The followed request: deleting a student who is enrolled and has an account touches the
    // gateway, students (remote action), and through student.deleted courses and users.
    const followId = id("delete-student");
    await this.send("DELETE", `/api/students/${students[3].studentId}`, undefined, followId);
    await sleep(5000); // events handled, spans flushed (1 s), a few more scrapes (1 s)
    return {
      followId,
      quizSubmitId,
      waitlist,
      enrollmentId,
      errorId,
      studentCoursesId,
      courseStudentsId,
      load,
      kill,
    };
  }

  /** Every JSON line every node wrote. */
  lines(): Line[] {
    const all: Line[] = [];
    for (const name of this.cluster.nodes.keys()) {
      const text = readFileSync(join(this.cluster.logDir, `${name}.log`), "utf8");
      for (const raw of text.split("\n")) {
        if (!raw.startsWith("{")) continue;
        try {
          all.push(JSON.parse(raw));
        } catch {
          // a line being written
        }
      }
    }
    return all.sort((a, b) => a.time.localeCompare(b.time));
  }
}

const short = (nodeID: unknown, run: string) => String(nodeID ?? "?").replace(`-${run}`, "");

// ---------------------------------------------------------------------------- logs.md

function logsReport(observed: Observed, scenario: Scenario): void {
  const lines = observed.lines();
  const run = observed.run;
  const ofRequest = (id: string) => lines.filter((line) => line.requestID === id);
  const block = (items: Line[]) =>
    ["```json", ...items.map((line) => JSON.stringify(line)), "```"].join("\n");
  const nodesOf = (items: Line[]) =>
    [...new Set(items.map((l) => short(l.nodeID, run)))].join(", ");
  const follow = ofRequest(scenario.followId);
  const error = ofRequest(scenario.errorId);
  const access = lines.filter((line) => line.module === "api" && line.route);
  writeReport(
    "logs.md",
    [
      stamp("Logs report", "observed"),
      "Real JSON lines (`LOG_FORMAT=json`, `LOG_LEVEL=info`) written by the nodes of one run:",
      `${NODE_LIST} as`,
      `separate processes over NATS (node ids end in the run id \`${run}\`). Nothing below is edited:`,
      "each block is the lines, in time order, whose `requestID` is the one shown.",
      "",
      "## One request followed across nodes",
      "",
      `\`DELETE /api/students/:id\` sent with \`X-Request-ID: ${scenario.followId}\`. The gateway`,
      "calls `students.remove` on a students node over NATS, with the id as `ctx.requestID`; that",
      "node deletes the record (`students.deleteRecord`) and records `student.deleted` in its",
      "outbox with the id; the relay publishes the event with the id in the message headers, and",
      'the courses and users nodes handle it (`action: "channel"`) under the same id.',
      "",
      `Nodes that wrote lines for it: **${nodesOf(follow)}** (${follow.length} lines).`,
      "",
      block(follow),
      "",
      "## An error case",
      "",
      `A login with a wrong password, \`X-Request-ID: ${scenario.errorId}\`: the users node warns`,
      "(with the account's id, never the email or the password), the gateway's access line says 401.",
      "",
      `Nodes: **${nodesOf(error)}**.`,
      "",
      block(error),
      "",
      "## Access lines",
      "",
      `The gateway wrote ${access.length} access lines in this run, one per request; the first`,
      "five. Fields: `method`, `route` (the template, never the URL), `status`, `durationMs`,",
      "`requestID`, `userId` when authenticated, `action` (the action the route called).",
      "",
      block(access.slice(0, 5)),
      "",
      "## The same in Loki",
      "",
      "With `docker compose up`, Promtail ships every container's lines to Loki with the labels",
      "`service`, `level` and `module`; `requestID` stays in the line. Grafana → Explore → Loki:",
      "",
      "```logql",
      `{service=~"api|students|courses|users|notifications"} | json | requestID="${scenario.followId}"`,
      "```",
      "",
      "The error case, and every 4xx/5xx access line of the gateway:",
      "",
      "```logql",
      `{service=~"api|students|courses|users|notifications"} | json | requestID="${scenario.errorId}"`,
      `{service="api"} | json | route != "" | status >= 400`,
      "```",
      "",
      "A client finds the id in the `X-Request-ID` response header (or chooses it: 1–128 characters",
      "of `A-Z a-z 0-9 . _ : -`); with tracing on, the same id is the `requestID` tag of every span",
      "of the request in Jaeger.",
    ].join("\n"),
  );
}

// ---------------------------------------------------------------------- monitoring.md

async function monitoringReport(observed: Observed, scenario: Scenario): Promise<void> {
  const url = observed.prometheus.url;
  const run = observed.run;
  const section = async (
    title: string,
    expr: string,
    columns: string[],
    row: (metric: Record<string, string>, value: number) => (string | number)[],
    note = "",
    keepEmpty = false,
  ) => {
    const result = await query(url, expr);
    const rows = result.result
      .map((r) => ({ metric: r.metric, value: Number(r.value?.[1]) }))
      .filter((r) => !Number.isNaN(r.value) || keepEmpty)
      .sort(
        (a, b) => (Number.isNaN(b.value) ? -1 : b.value) - (Number.isNaN(a.value) ? -1 : a.value),
      )
      .map((r) => row(r.metric, r.value));
    return [
      `### ${title}`,
      "",
      "```promql",
      expr,
      "```",
      "",
      rows.length ? table(columns, rows) : "_no data_",
      note ? `\n${note}` : "",
      "",
    ].join("\n");
  };
  const n = (value: number, digits = 2) => round(value, digits);
  const ms = (value: number) => (Number.isNaN(value) ? "–" : `${round(value, 1)} ms`);
  const parts = [
    await section(
      "Request rate by route (gateway, last minute)",
      'sum by (method, route) (rate(campus_http_requests_total{route!="unmatched"}[1m])) > 0',
      ["method", "route", "req/s"],
      (m, v) => [m.method, `\`${m.route}\``, n(v)],
    ),
    await section(
      "Responses by route and status (since start)",
      "sum by (route, status) (campus_http_requests_total)",
      ["route", "status", "responses"],
      (m, v) => [`\`${m.route}\``, m.status, v],
    ),
    await section(
      "HTTP latency p99 by route (last 5 minutes: the whole run)",
      "histogram_quantile(0.99, sum by (le, route) (rate(campus_http_request_duration_seconds_bucket[5m])))",
      ["route", "p99"],
      (m, v) => [`\`${m.route}\``, ms(v * 1000)],
      "Bucket bounds are 5, 10, 25, 50, 100, 250 ms …; a quantile is interpolated inside its bucket.",
    ),
    await section(
      "Action latency p99 by action (where the action ran, last 5 minutes: the whole run)",
      'histogram_quantile(0.99, sum by (le, action) (rate(moleculer_request_time_bucket{type="local"}[5m])))',
      ["action", "p99"],
      (m, v) => [`\`${m.action}\``, ms(v)],
      "`moleculer_request_time` is in milliseconds (buckets 1, 5, 10, 25, 50, 100 …).",
    ),
    await section(
      "Calls per second by action and node (last minute)",
      'sum by (nodeID, action) (rate(moleculer_request_total{type="local"}[1m])) > 0',
      ["node", "action", "calls/s"],
      (m, v) => [short(m.nodeID, run), `\`${m.action}\``, n(v)],
    ),
    await section(
      "Cache hit ratio, all nodes (last minute)",
      "sum(rate(moleculer_cacher_found_total[1m])) / sum(rate(moleculer_cacher_get_total[1m]))",
      ["hit ratio"],
      (_m, v) => [`${round(v * 100)} %`],
    ),
    await section(
      "Cache hit ratio per node (since start)",
      "sum by (nodeID) (moleculer_cacher_found_total) / sum by (nodeID) (moleculer_cacher_get_total)",
      ["node", "hit ratio"],
      (m, v) => [short(m.nodeID, run), `${round(v * 100)} %`],
    ),
    await section(
      "Enrollments by result (since start)",
      "sum by (result) (campus_enrollments_total)",
      ["result", "enrollments"],
      (m, v) => [m.result, v],
      "The scenario seated 7 students in three courses and, on the waitlist course, 1 seated and 2 waitlisted (202 counts as ok); one student twice (duplicate), one into a full course without a waitlist (full), and one into a course that does not exist (not_found).",
    ),
    await section(
      "Logins by result (since start)",
      "sum by (result) (campus_logins_total)",
      ["result", "logins"],
      (m, v) => [m.result, v],
    ),
    await section(
      "Notifications created by type (since start)",
      "sum by (type) (campus_notifications_created_total)",
      ["type", "notifications"],
      (m, v) => [m.type, v],
    ),
    await section(
      "Grades at the gradebook by source and result (since start)",
      "sum by (source, result) (campus_grades_total)",
      ["source", "result", "grade events"],
      (m, v) => [m.source, m.result, v],
      "The scenario graded one submission and scored one quiz attempt: each grade event applied once.",
    ),
    await section(
      "Quiz submits by result (since start)",
      "sum by (result) (campus_quiz_submissions_total)",
      ["result", "submits"],
      (m, v) => [m.result, v],
    ),
    await section(
      "Live sockets open on the gateway (most during the run)",
      "max by (nodeID) (max_over_time(campus_live_connections[10m]))",
      ["node", "sockets"],
      (m, v) => [short(m.nodeID, run), v],
      "The scenario's promoted student held one `/ws` socket open while the waitlist moved (interaction.md).",
    ),
    await section(
      "Live socket messages by direction (since start)",
      "sum by (direction) (campus_live_messages_total)",
      ["direction", "messages"],
      (m, v) => [m.direction, v],
      "In: the client's `auth`; out: `authenticated`, the pushed notification and the unread count.",
    ),
    await section(
      "Event lag p95 by consumer (last 5 minutes)",
      "histogram_quantile(0.95, sum by (le, consumer) (rate(campus_event_lag_seconds_bucket[5m])))",
      ["consumer", "p95"],
      (m, v) => [m.consumer, ms(v * 1000)],
      "From the event's `occurredAt` (its transaction) to the start of its handling: outbox relay, NATS JetStream and the consumer's queue. A consumer whose first events all came between two scrapes has no rate yet (–): its series appeared with them.",
      true,
    ),
    await section(
      "Event lag, mean since start",
      "sum by (consumer) (campus_event_lag_seconds_sum) / sum by (consumer) (campus_event_lag_seconds_count)",
      ["consumer", "mean lag"],
      (m, v) => [m.consumer, ms(v * 1000)],
    ),
    await section(
      "Requests answered 429 (since start)",
      "sum by (route) (campus_rate_limited_total)",
      ["route", "429 answers"],
      (m, v) => [`\`${m.route}\``, v],
    ),
    await section("Nodes ready", "campus_ready", ["node", "ready"], (m, v) => [
      short(m.nodeID, run),
      v,
    ]),
  ];
  const { alerts } = await apiGet<{ alerts: { labels: Record<string, string>; state: string }[] }>(
    url,
    "/api/v1/alerts",
  );
  const rules = await apiGet<{ groups: { rules: { name: string; health: string }[] }[] }>(
    url,
    "/api/v1/rules",
  );
  const ruleList = rules.groups.flatMap((g) => g.rules);
  writeReport(
    "monitoring.md",
    [
      stamp("Monitoring report", "observed"),
      "Figures and charts of one run, from a real Prometheus (the Debian `prometheus` binary)",
      "that scraped every node's `/metrics` each second, found through the repository's",
      "Kubernetes job (`campus-pods` in `prometheus/prometheus.yml`, its discovery fed with each",
      "node's pod metadata) and evaluated `prometheus/alerts.yml`.",
      "",
      `Cluster: ${NODE_LIST} over NATS, PostgreSQL and Redis, on this machine. Scenario: 6 registrations,`,
      "4 courses, enrollments with every result, a waitlist promotion pushed to a `/ws` socket, a",
      "course update, lessons (a series, a room clash, a reschedule), an assignment submitted and",
      "graded, a quiz attempt scored, failed logins up to the account",
      `lock, then reads at ${LOAD_PER_SECOND} requests/s over 8 endpoints for ${seconds(scenario.load.endedAt - scenario.load.startedAt)} (${scenario.load.samples.length} sent), during which \`${scenario.kill.node}\` was killed and restarted.`,
      "Each query is shown as run; the dashboards (`grafana/dashboards/`) use the same series.",
      "",
      ...(await loadCharts(observed, scenario)),
      ...(await killSection(observed, scenario)),
      "## Query results at the end of the run",
      "",
      ...parts,
      "### Alerts",
      "",
      `${ruleList.length} rules loaded, ${ruleList.filter((r) => r.health === "ok").length} evaluated without error. ` +
        (alerts.length === 0
          ? "No alert pending or firing at the end of the run."
          : `Active: ${alerts.map((a) => `${a.labels.alertname} (${a.state})`).join(", ")}.`),
    ].join("\n"),
  );
}

// ---------------------------------------------------------------- monitoring.md: charts

const CHART_DIR = "monitoring";
/** Rates over 5 s windows, one point a second (Prometheus scraped every node each second). */
const WINDOW = "5s";

/**
 * How much a counter grew over the last WINDOW, counting a series born inside the window from
 * zero. `rate()` cannot: a counter whose series first appears with its first event (a 503, a
 * retry, a restarted node's calls) has no earlier sample, so those events would never show; and
 * its extrapolation can push a ratio of two counters past 100 %.
 */
const grew = (selector: string, window = WINDOW) =>
  `((${selector} - ${selector} offset ${window}) or ${selector})`;
/** The cache hit ratio's window: longer, as a few reads a second per node make 5 s noisy. */
const RATIO_WINDOW = "15s";
const WINDOW_SECONDS = parseInt(WINDOW, 10);

/** Events per second over the last WINDOW, summed (`by` labels kept), 0 when there are none. */
const perSecondOf = (selector: string, by = "") =>
  `(sum${by ? ` by (${by})` : ""} (${grew(selector)}) / ${WINDOW_SECONDS})${by ? "" : " or vector(0)"}`;

interface Chart {
  title: string;
  yTitle: string;
  /** Each query, shown in the report, and how its series are named and scaled. */
  queries: { expr: string; name: (m: Record<string, string>) => string; scale?: number }[];
}

async function drawChart(
  url: string,
  origin: number,
  from: number,
  to: number,
  file: string,
  chart: Chart,
  markers: Marker[],
  extra: ChartLine[] = [],
): Promise<{ markdown: string; lines: ChartLine[] }> {
  const lines: ChartLine[] = [];
  for (const q of chart.queries) {
    lines.push(...toLines(await queryRange(url, q.expr, from, to), origin, q.name, q.scale));
  }
  lines.push(...extra);
  const image = await renderChart({
    file: `${CHART_DIR}/${file}`,
    title: chart.title,
    yTitle: chart.yTitle,
    lines,
    markers,
  });
  const exprs = chart.queries.map((q) => q.expr);
  return {
    markdown: [image, "", "```promql", ...exprs, "```", ""].join("\n"),
    lines,
  };
}

const peak = (lines: ChartLine[], name?: string) =>
  Math.max(
    0,
    ...lines
      .filter((l) => name === undefined || l.name === name)
      .flatMap((l) => l.points.map((p) => p.value)),
  );

const seconds = (ms: number) => `${round(ms / 1000, 1)} s`;
const msText = (value: number) => (Number.isFinite(value) ? `${round(value, 0)} ms` : "–");

function statsRow(label: string, stats: WindowStats): (string | number)[] {
  const failures = Object.entries(stats.failures)
    .map(([status, count]) => `${count} × ${status === "0" ? "no answer" : status}`)
    .join(", ");
  return [
    label,
    stats.sent,
    stats.failed === 0 ? "0" : `${stats.failed} (${failures})`,
    msText(stats.p50),
    msText(stats.p95),
    msText(stats.p99),
    msText(stats.max),
  ];
}

/** The load run's charts: throughput, latency percentiles, errors, per-node load, cache hits. */
async function loadCharts(observed: Observed, scenario: Scenario): Promise<string[]> {
  const url = observed.prometheus.url;
  const run = observed.run;
  const { load, kill } = scenario;
  const origin = load.startedAt;
  const from = origin - 5000;
  const to = load.endedAt + 5000;
  const markers = killMarkers(kill, origin);
  const node = (m: Record<string, string>) => short(m.nodeID, run);
  const draw = (file: string, chart: Chart) =>
    drawChart(url, origin, from, to, file, chart, markers);

  const throughput = await draw("throughput.svg", {
    title: "Throughput: gateway responses per second, by status class",
    yTitle: "responses/s",
    queries: [
      {
        expr: `sum by (class) (label_replace(${grew(`campus_http_requests_total{route!="unmatched"}`)}, "class", "\${1}xx", "status", "([0-9]).."))  / ${WINDOW_SECONDS}`,
        name: (m) => `${m.class} responses`,
      },
    ],
  });
  const latency = await draw("latency.svg", {
    title: "Latency at the gateway: p50, p95, p99",
    yTitle: "ms",
    queries: [0.5, 0.95, 0.99].map((q) => ({
      expr: `histogram_quantile(${q}, sum by (le) (rate(campus_http_request_duration_seconds_bucket[${WINDOW}])))`,
      name: () => `p${Math.round(q * 100)}`,
      scale: 1000,
    })),
  });
  const errors = await draw("errors.svg", {
    title: "Errors: failed responses, failed actions, retries",
    yTitle: "per second",
    queries: [
      {
        expr: perSecondOf(`campus_http_requests_total{status=~"5.."}`),
        name: () => "HTTP 5xx (gateway)",
      },
      {
        expr: perSecondOf(`campus_http_requests_total{status=~"4.."}`),
        name: () => "HTTP 4xx (gateway)",
      },
      {
        expr: perSecondOf(`moleculer_request_error_total`),
        name: () => "failed action calls (all nodes)",
      },
      {
        expr: perSecondOf(`moleculer_request_retry_attempts_total`),
        name: () => "retries (all nodes)",
      },
    ],
  });
  const perNode = await draw("per-node.svg", {
    title: "Load per node: actions run per second",
    yTitle: "calls/s",
    queries: [
      {
        expr: perSecondOf(`moleculer_request_total{type="local"}`, "nodeID"),
        name: node,
      },
    ],
  });
  const cache = await draw("cache-hit-ratio.svg", {
    title: "Cache hit ratio (Redis cacher reads that found an entry)",
    yTitle: "%",
    queries: [
      {
        expr: `sum(${grew("moleculer_cacher_found_total", RATIO_WINDOW)}) / sum(${grew("moleculer_cacher_get_total", RATIO_WINDOW)})`,
        name: () => "all nodes",
        scale: 100,
      },
      {
        expr: `sum by (nodeID) (${grew("moleculer_cacher_found_total", RATIO_WINDOW)}) / sum by (nodeID) (${grew("moleculer_cacher_get_total", RATIO_WINDOW)})`,
        name: node,
        scale: 100,
      },
    ],
  });
  const whole = windowStats(load.samples, 0, Infinity);
  return [
    "## Charts of the load run",
    "",
    `Each chart is a Prometheus range query over the load (${seconds(load.endedAt - load.startedAt)}, one point a second,`,
    `each point the growth of its counters over the preceding ${WINDOW} per second — a series born within those`,
    `${WINDOW} counted from zero, so a first failure shows — and latency quantiles from \`rate()\` of the histogram`,
    `buckets over ${WINDOW}), drawn by Vega-Lite into \`docs/reports/${CHART_DIR}/\`. The dashed lines mark`,
    `when \`${kill.node}\` was killed and when it answered ready again (see the next section). The load`,
    `sent ${whole.sent} requests; ${whole.failed} failed.`,
    "",
    `### Throughput (peak ${round(peak(throughput.lines, "2xx responses"), 1)} responses/s with status 2xx)`,
    "",
    throughput.markdown,
    `### Latency percentiles (peak p99 ${round(peak(latency.lines, "p99"), 0)} ms)`,
    "",
    "Quantiles interpolated inside the histogram's buckets (5, 10, 25, 50, 100, 250, 500 ms, 1 s …).",
    "",
    latency.markdown,
    `### Errors (peak: ${round(peak(errors.lines, "HTTP 5xx (gateway)"), 2)} 5xx/s, ${round(peak(errors.lines, "failed action calls (all nodes)"), 2)} failed calls/s, ${round(peak(errors.lines, "retries (all nodes)"), 2)} retries/s)`,
    "",
    errors.markdown,
    "### Per-node load",
    "",
    "Every action a node ran, `api.rest` (one per HTTP request) on the gateway included.",
    "",
    perNode.markdown,
    "### Cache hit ratio",
    "",
    `Found over fetched entries, per ${RATIO_WINDOW} window. A read is counted as fetched and as found by two`,
    "increments that a scrape can fall between, so a window may show a ratio past 100 % by one read.",
    "",
    cache.markdown,
  ];
}

function killMarkers(kill: KillPhase, origin: number): Marker[] {
  return [
    { t: (kill.killedAt - origin) / 1000, label: `${kill.node} killed` },
    { t: (kill.readyAt - origin) / 1000, label: "ready again" },
  ];
}

/** The first time (ms) a series is `test`-true at or after `after`, or null. */
function firstPoint(
  lines: ChartLine[],
  origin: number,
  after: number,
  test: (value: number) => boolean,
): number | null {
  const times = lines
    .flatMap((l) => l.points)
    .filter((p) => origin + p.t * 1000 >= after && test(p.value))
    .map((p) => origin + p.t * 1000);
  return times.length ? Math.min(...times) : null;
}

/** "What happened when a node was killed": timeline, figures per phase, and charts. */
async function killSection(observed: Observed, scenario: Scenario): Promise<string[]> {
  const url = observed.prometheus.url;
  const run = observed.run;
  const { load, kill } = scenario;
  const origin = load.startedAt;
  const from = kill.killedAt - 15000;
  const to = Math.min(load.endedAt, kill.readyAt + 25000);
  const markers: Marker[] = [
    { t: (kill.killedAt - origin) / 1000, label: "SIGKILL" },
    { t: (kill.restartedAt - origin) / 1000, label: "restart" },
    { t: (kill.readyAt - origin) / 1000, label: "ready" },
  ];
  const rel = (at: number | null) => (at === null ? "–" : `${round((at - origin) / 1000, 1)} s`);
  const after = (at: number | null, base: number) =>
    at === null ? "" : ` (+${round((at - base) / 1000, 1)} s)`;
  const nodeId = `${kill.node}-${run}`;

  // Client side: the requests, bucketed by the second they were sent.
  const buckets = perSecond(load.samples).filter(
    (b) => origin + b.t * 1000 >= from && origin + b.t * 1000 <= to,
  );
  const clientFailed: ChartLine = {
    name: "failed requests (client)",
    points: buckets.map((b) => ({ t: b.t, value: b.failed })),
  };
  const clientMax: ChartLine = {
    name: "slowest request (client)",
    points: buckets.map((b) => ({ t: b.t, value: b.maxMs })),
  };

  const perNode = await drawChart(
    url,
    origin,
    from,
    to,
    "kill-requests-per-node.svg",
    {
      title: `students actions run per node while ${kill.node} was killed and restarted`,
      yTitle: "calls/s",
      queries: [
        {
          expr: perSecondOf(
            `moleculer_request_total{type="local",action=~"students[.].*"}`,
            "nodeID",
          ),
          name: (m) => short(m.nodeID, run),
        },
      ],
    },
    markers,
  );
  const errors = await drawChart(
    url,
    origin,
    from,
    to,
    "kill-errors.svg",
    {
      title: "Errors and retries around the kill",
      yTitle: "per second",
      queries: [
        {
          expr: perSecondOf(`campus_http_requests_total{status=~"5.."}`),
          name: () => "HTTP 5xx (gateway)",
        },
        {
          expr: perSecondOf(`moleculer_request_error_total`),
          name: () => "failed action calls",
        },
        {
          expr: perSecondOf(`moleculer_request_retry_attempts_total`),
          name: () => "retries",
        },
      ],
    },
    markers,
    [clientFailed],
  );
  const latency = await drawChart(
    url,
    origin,
    from,
    to,
    "kill-latency.svg",
    {
      title: "Latency around the kill",
      yTitle: "ms",
      queries: [0.5, 0.99].map((q) => ({
        expr: `histogram_quantile(${q}, sum by (le) (rate(campus_http_request_duration_seconds_bucket[${WINDOW}])))`,
        name: () => `p${Math.round(q * 100)} (gateway histogram)`,
        scale: 1000,
      })),
    },
    markers,
    [clientMax],
  );

  // Prometheus's view of the target, and the cluster's own view in the nodes' log lines.
  const up = toLines(
    await queryRange(url, `max(up{pod="${kill.node}"})`, kill.killedAt - 5000, to),
    origin,
    () => "up",
  );
  const scrapeDown = firstPoint(up, origin, kill.killedAt, (v) => v === 0);
  const scrapeUp = firstPoint(up, origin, kill.restartedAt, (v) => v === 1);
  const servingAgain = firstPoint(
    perNode.lines.filter((l) => l.name === kill.node),
    origin,
    kill.restartedAt,
    (v) => v > 0,
  );
  const lines = observed.lines();
  const noticed = (text: string, since: number) => {
    const seen = new Map<string, number>();
    for (const line of lines) {
      const at = Date.parse(line.time);
      if (at < since || !line.msg.includes(`'${nodeId}' ${text}`)) continue;
      const by = short(line.nodeID, run);
      if (!seen.has(by)) seen.set(by, at);
    }
    return [...seen.entries()].sort((a, b) => a[1] - b[1]);
  };
  const disconnected = noticed("disconnected", kill.killedAt);
  const reconnected = [
    ...noticed("reconnected", kill.restartedAt),
    ...noticed("connected", kill.restartedAt),
  ]
    .filter(([by], i, all) => all.findIndex(([other]) => other === by) === i)
    .sort((a, b) => a[1] - b[1]);
  const failedSamples = load.samples.filter((s) => s.status === 0 || s.status >= 400);
  // The calls the dead node had received when it died, as their callers logged them: NATS picks
  // the node of each call (queue groups), so a caller's timeout names no node.
  const inPhase = (line: Line) => {
    const at = Date.parse(line.time);
    return at >= kill.killedAt && at <= kill.readyAt;
  };
  const timeouts = lines.filter((l) => inPhase(l) && l.msg.includes("is timed out"));
  const retries = lines.filter((l) => inPhase(l) && l.msg.startsWith("Retry to call"));
  const timeoutsBy = new Map<string, number>();
  for (const line of timeouts) {
    const by = short(line.nodeID, run);
    timeoutsBy.set(by, (timeoutsBy.get(by) ?? 0) + 1);
  }
  const failedAccess = lines.filter(
    (l) => inPhase(l) && l.module === "api" && l.route && Number(l.status) >= 500,
  );
  const failedRows = failedAccess.map((l) => [
    `\`${String(l.requestID)}\``,
    `${String(l.method)} \`${String(l.route)}\``,
    String(l.status),
    `${round(Number(l.durationMs), 0)} ms`,
    timeouts.filter((t) => t.requestID === l.requestID).length,
    retries.filter((t) => t.requestID === l.requestID).length,
  ]);
  const timeline: (string | number)[][] = [
    ["0 s", "load starts", `${LOAD_PER_SECOND} GET requests/s over 8 endpoints`],
    [rel(kill.killedAt), "`SIGKILL` sent", `${kill.node} (pid ${kill.pid}), no shutdown`],
    [rel(kill.exitedAt), "process gone", `exit observed${after(kill.exitedAt, kill.killedAt)}`],
    [
      rel(scrapeDown),
      "Prometheus: scrape fails",
      scrapeDown === null
        ? "no failed scrape recorded"
        : `\`up{pod="${kill.node}"}\` = 0${after(scrapeDown, kill.killedAt)}`,
    ],
    ...disconnected.map(([by, at]) => [
      rel(at),
      `${by} drops the node`,
      `log: "Node '${kill.node}-…' disconnected unexpectedly"${after(at, kill.killedAt)}`,
    ]),
    [rel(kill.restartedAt), "restart", `same node id, new process`],
    ...reconnected.map(([by, at]) => [
      rel(at),
      `${by} sees it again`,
      `log: "Node '${kill.node}-…' (re)connected"${after(at, kill.restartedAt)}`,
    ]),
    [
      rel(kill.readyAt),
      "ready",
      `/health/ready answers 200 (pid ${kill.newPid})${after(kill.readyAt, kill.restartedAt)}`,
    ],
    [
      rel(scrapeUp),
      "Prometheus: scraped again",
      scrapeUp === null ? "not seen before the end" : "`up` = 1",
    ],
    [
      rel(servingAgain),
      `${kill.node} serves calls again`,
      servingAgain === null
        ? "no call seen before the end of the chart"
        : "first second with students calls on it",
    ],
    [rel(load.endedAt), "load stops", ""],
  ];
  const failure = (sample: Sample) =>
    `${sample.status ? `status ${sample.status}` : "no answer"} after ${round(sample.ms / 1000, 1)} s`;
  if (failedSamples.length > 0) {
    timeline.push(
      [rel(origin + failedSamples[0].at), "first failed request sent", failure(failedSamples[0])],
      [
        rel(origin + failedSamples[failedSamples.length - 1].at),
        "last failed request sent",
        failure(failedSamples[failedSamples.length - 1]),
      ],
    );
  }
  timeline.sort((a, b) => parseFloat(String(a[0])) - parseFloat(String(b[0])));

  const phases = [
    { label: "before the kill", from: 0, to: kill.killedAt - origin },
    { label: "killed → ready again", from: kill.killedAt - origin, to: kill.readyAt - origin },
    { label: "after ready", from: kill.readyAt - origin, to: Infinity },
  ];
  const phaseStats = phases.map((p) => ({ ...p, stats: windowStats(load.samples, p.from, p.to) }));
  const served: (string | number)[][] = [];
  for (const phase of phaseStats) {
    const end = origin + Math.min(phase.to, load.endedAt - origin);
    const length = Math.max(1, Math.round((end - (origin + phase.from)) / 1000));
    const result = await queryAt(
      url,
      `sum by (nodeID) (increase(moleculer_request_total{type="local",action=~"students[.].*"}[${length}s]))`,
      end,
    );
    const byNode = new Map(result.map((r) => [short(r.metric.nodeID, run), r.value]));
    served.push([
      phase.label,
      `${length} s`,
      ...["students-1", "students-2"].map((name) => round(byNode.get(name) ?? 0, 0)),
    ]);
  }
  const down = phaseStats[1].stats;
  const total = windowStats(load.samples, 0, Infinity);
  const verdict =
    down.failed === 0
      ? `No request failed while \`${kill.node}\` was down or coming back: of the ${down.sent} requests sent between the kill and the node's readiness, none went unanswered or got an error status (${total.failed} failures in the whole load of ${total.sent}).`
      : `${down.failed} of the ${down.sent} requests sent between the kill and the node's readiness failed (${Object.entries(
          down.failures,
        )
          .map(([status, count]) => `${count} × ${status === "0" ? "no answer" : status}`)
          .join(", ")}); ${total.failed} of ${total.sent} in the whole load.`;
  return [
    "## What happened when a node was killed",
    "",
    `${STEADY_SECONDS} s into the load, \`${kill.node}\` — one of the two students nodes — was killed with`,
    `\`SIGKILL\` (a crash: no drain, no goodbye to the cluster), and ${DOWN_SECONDS} s later started again with`,
    "the same node id; the load ran on at the same rate throughout and for",
    `${AFTER_READY_SECONDS} s after the node was ready. Times are seconds since the load started (client clock).`,
    "",
    verdict,
    "",
    'NATS picks the node of each call (queue groups, README "Fault tolerance"): the killed node\'s',
    "subscriptions went the moment the NATS server saw its connection close, so no new call reached",
    ...(timeouts.length + retries.length === 0
      ? [
          "it. No call was in flight on it when it died: no request timeout and no retry was logged",
          "between the kill and its readiness.",
        ]
      : [
          "it. The calls it had already received timed out on their callers after the per-attempt",
          `timeout: ${timeouts.length} request timeouts were logged between the kill and its readiness`,
          `(${[...timeoutsBy.entries()].map(([by, count]) => `${by}: ${count}`).join(", ")}), and ${retries.length} retries (\`Retry to call …\`) sent`,
          "them again through NATS, which offers only live subscribers.",
        ]),
    ...(failedRows.length > 0
      ? [
          "The requests the gateway answered with 5xx in that phase, with the timeouts and retries",
          "logged under their request id:",
          "",
          table(["request id", "route", "status", "duration", "timeouts", "retries"], failedRows),
        ]
      : ["The gateway answered no request with a 5xx in that phase."]),
    "",
    "### Timeline",
    "",
    table(["time", "event", "detail"], timeline),
    "",
    "### The requests, per phase (measured by the load client)",
    "",
    "A request counts in the phase it was sent in: one sent just before the kill may still have",
    "been waiting on the killed node.",
    "",
    table(
      ["phase", "sent", "failed", "p50", "p95", "p99", "max"],
      [...phaseStats.map((p) => statsRow(p.label, p.stats)), statsRow("whole load", total)],
    ),
    "",
    "### Who served the students actions (Prometheus, `increase()` over each phase)",
    "",
    table(["phase", "length", "students-1", "students-2"], served),
    "",
    `### Requests per students node (peak on the surviving ${SURVIVOR}: ${round(peak(perNode.lines, SURVIVOR), 1)} calls/s)`,
    "",
    perNode.markdown,
    `### Errors (peak ${round(peak(errors.lines, "HTTP 5xx (gateway)"), 2)} 5xx/s, ${round(peak(errors.lines, "retries"), 2)} retries/s; ${round(peak([clientFailed]), 0)} failed requests in the worst second)`,
    "",
    "The client's failed requests are counted by the second they were sent; the other lines are",
    "Prometheus rates.",
    "",
    errors.markdown,
    `### Latency (slowest request: ${msText(down.max)} while the node was down)`,
    "",
    latency.markdown,
  ];
}

// --------------------------------------------------------------------- interaction.md

interface Node {
  span: ZipkinSpan;
  children: Node[];
}

function actionOf(span: ZipkinSpan): string {
  return span.tags["action.name"] ?? span.name.replace(/^action '(.*)'$/, "$1");
}

function trees(spans: ZipkinSpan[]): Node[] {
  const nodes = new Map(spans.map((span) => [span.id, { span, children: [] as Node[] }]));
  const roots: Node[] = [];
  for (const node of nodes.values()) {
    const parent = node.span.parentId ? nodes.get(node.span.parentId) : undefined;
    if (parent) parent.children.push(node);
    else roots.push(node);
  }
  for (const node of nodes.values())
    node.children.sort((a, b) => a.span.timestamp - b.span.timestamp);
  return roots;
}

/** Spans of messages (the outbox relay's publish, a consumer's handler): drawn as async. */
const MESSAGE_SPAN = /^(publish|channel) /;
const DB_SPAN = /^db /;

/**
 * A Mermaid sequence diagram of one request's spans: calls with their durations, database
 * statements against PostgreSQL, and durable events as async messages with their delay.
 */
/** A socket message for the report: a notification by its type and title, the rest as it came. */
function liveSummary(message: Record<string, unknown>): Record<string, unknown> {
  const notification = message.notification as Record<string, unknown> | undefined;
  if (!notification) return message;
  return { ...message, notification: { type: notification.type, title: notification.title } };
}

function sequence(spans: ZipkinSpan[], run: string, title: string, status = 200): string {
  const [root] = trees(spans).filter((t) => t.span.localEndpoint?.serviceName === "api");
  if (!root) return "_no trace was captured_";
  const participants: string[] = [];
  const participant = (span: ZipkinSpan) => {
    const name = DB_SPAN.test(span.name) ? "PostgreSQL" : short(span.tags.nodeID, run);
    if (!participants.includes(name)) participants.push(name);
    return name.replace(/-/g, "_");
  };
  const label = (span: ZipkinSpan) => actionOf(span).replace(/^db /, "").replace(/'/g, "");
  const ms = (micros: number) => `${round(micros / 1000)} ms`;
  const byId = new Map(spans.map((span) => [span.id, span]));
  const lines: string[] = [];
  // Messages wait here until the drawing reaches the time they were sent.
  const pending: Node[] = [];
  const flush = (upTo: number) => {
    pending.sort((a, b) => a.span.timestamp - b.span.timestamp);
    while (pending.length > 0 && pending[0].span.timestamp <= upTo) {
      const message = pending.shift()!;
      const sender = byId.get(message.span.parentId ?? "") ?? root.span;
      const to = participant(message.span);
      lines.push(`  ${participant(sender)}-)${to}: ${label(message.span)}`);
      lines.push(
        `  Note over ${to}: +${ms(message.span.timestamp - sender.timestamp)} after ${label(sender)} started, ran ${ms(message.span.duration)}`,
      );
      visit(to, message);
    }
  };
  const visit = (me: string, node: Node) => {
    for (const child of node.children) {
      if (MESSAGE_SPAN.test(child.span.name)) {
        pending.push(child);
        continue;
      }
      flush(child.span.timestamp);
      const to = participant(child.span);
      const cached = child.span.tags.fromCache === "true" ? " (cache hit)" : "";
      lines.push(`  ${me}->>${to}: ${label(child.span)}${cached}`);
      visit(to, child);
      flush(child.span.timestamp + child.span.duration);
      lines.push(`  ${to}-->>${me}: ${ms(child.span.duration)}`);
    }
  };
  const api = participant(root.span);
  visit(api, root);
  flush(root.span.timestamp + root.span.duration);
  const answer = `  api-->>client: ${root.span.tags["error.code"] ?? status} after ${ms(root.span.duration)}`;
  const beforeAnswer = lines.length;
  flush(Number.POSITIVE_INFINITY);
  const afterAnswer = lines.splice(beforeAnswer);
  return [
    "```mermaid",
    "sequenceDiagram",
    `  title ${title}`,
    "  participant client as Client",
    ...participants.map((p) => `  participant ${p.replace(/-/g, "_")} as ${p}`),
    `  client->>api: ${title}`,
    ...lines,
    answer,
    ...afterAnswer,
    "```",
  ].join("\n");
}

async function interactionReport(observed: Observed, scenario: Scenario): Promise<void> {
  const run = observed.run;
  const spans = observed.zipkin.spans;
  const byId = new Map(spans.map((span) => [span.id, span]));
  const edges = new Map<string, { count: number; remote: number; nodes: Set<string> }>();
  for (const span of spans) {
    const parent = span.parentId ? byId.get(span.parentId) : undefined;
    if (!parent) continue;
    const from =
      parent.localEndpoint?.serviceName === "api" && parent.tags["action.name"] === "api.rest"
        ? "api (HTTP)"
        : actionOf(parent);
    const key = `${from} → ${actionOf(span)}`;
    const edge = edges.get(key) ?? { count: 0, remote: 0, nodes: new Set<string>() };
    edge.count += 1;
    if (span.tags.remoteCall === "true") edge.remote += 1;
    edge.nodes.add(`${short(parent.tags.nodeID, run)} → ${short(span.tags.nodeID, run)}`);
    edges.set(key, edge);
  }
  const edgeRows = [...edges.entries()]
    .sort((a, b) => b[1].count - a[1].count)
    .map(([key, edge]) => [
      `\`${key.split(" → ")[0]}\``,
      `\`${key.split(" → ")[1]}\``,
      edge.count,
      edge.remote,
      [...edge.nodes].sort().join(", "),
    ]);

  const url = observed.prometheus.url;
  const callers = await query(
    url,
    'sum by (caller, action) (moleculer_request_total{type="local"})',
  );
  const callerRows = callers.result
    .map((r) => [
      r.metric.caller === "null" ? "(gateway HTTP handler)" : r.metric.caller,
      `\`${r.metric.action}\``,
      Number(r.value?.[1]),
    ])
    .sort((a, b) => Number(b[2]) - Number(a[2]));
  const remote = await query(
    url,
    'sum by (nodeID, action) (moleculer_request_total{type="remote"})',
  );
  const remoteRows = remote.result
    .map((r) => [short(r.metric.nodeID, run), `\`${r.metric.action}\``, Number(r.value?.[1])])
    .sort((a, b) => Number(b[2]) - Number(a[2]));
  const served = await query(
    url,
    'sum by (nodeID, action) (moleculer_request_total{type="local",action=~"students.byId|courses.coursesOfStudent|students.byIds|courses.rosterIds"})',
  );
  const servedRows = served.result
    .map((r) => [`\`${r.metric.action}\``, short(r.metric.nodeID, run), Number(r.value?.[1])])
    .sort(
      (a, b) =>
        String(a[0]).localeCompare(String(b[0])) || String(a[1]).localeCompare(String(b[1])),
    );
  const channels = await query(url, "sum by (channel, group) (moleculer_channels_messages_total)");
  const channelRows = channels.result
    .map((r) => [`\`${r.metric.channel}\``, r.metric.group, Number(r.value?.[1])])
    .sort((a, b) => String(a[0]).localeCompare(String(b[0])));

  const spansOf = (requestId: string) => spans.filter((span) => span.tags.requestID === requestId);
  writeReport(
    "interaction.md",
    [
      stamp("Service interaction report", "observed"),
      `Which actions called which, across which nodes, as observed in one run of ${NODE_LIST}`,
      "over NATS — from the",
      `spans every node exported (Moleculer tracing, \`TRACING_EXPORTER=zipkin\`, ${spans.length} spans`,
      `collected) and from the nodes' \`moleculer_request_total\` series in Prometheus. Same run as`,
      "logs.md and monitoring.md.",
      "",
      "## Call graph from the spans",
      "",
      "Each row: a span whose parent span is the caller. `api (HTTP)` is the gateway's request",
      "handler; a remote call crossed NATS to another node.",
      "",
      table(["caller", "called action", "calls", "remote", "node → node"], edgeRows),
      "",
      "## Calls by calling service (metrics)",
      "",
      '`moleculer_request_total{type="local"}` counted on the node that ran the action, by the',
      "`caller` service, since start:",
      "",
      table(["caller", "action", "calls"], callerRows),
      "",
      "Calls that left a node over the transporter, counted on the calling node",
      '(`moleculer_request_total{type="remote"}`):',
      "",
      table(["calling node", "action", "remote calls"], remoteRows),
      "",
      "Balancing across the replicas (RoundRobin; a caller prefers a local instance, and none of",
      "these callers has one):",
      "",
      table(["action", "node that ran it", "calls"], servedRows),
      "",
      "Durable domain events handled (`moleculer_channels_messages_total`, by channel and",
      "consumer group):",
      "",
      table(["channel", "consumer group", "messages"], channelRows),
      "",
      "## GET /api/students/:id/courses",
      "",
      `The trace of \`X-Request-ID: ${scenario.studentCoursesId}\`, the first read of that student's`,
      "courses (the scenario's enrollments had already cached the student record), drawn from its",
      "spans in start order. Nodes are the processes that ran each action; a call answered from",
      "the cache says so; each return carries the span's duration.",
      "",
      sequence(spansOf(scenario.studentCoursesId), run, "GET /api/students/:id/courses"),
      "",
      "## GET /api/courses/:id/students",
      "",
      `The trace of \`X-Request-ID: ${scenario.courseStudentsId}\`, the first read of that roster.`,
      "",
      sequence(spansOf(scenario.courseStudentsId), run, "GET /api/courses/:id/students"),
      "",
      "## POST /api/students/:id/courses: an enrollment and its event reaching notifications",
      "",
      `The trace of \`X-Request-ID: ${scenario.enrollmentId}\`: the students node forwards the`,
      "enrollment to courses, which takes the seat, writes the enrollment and records",
      "`enrollment.created` in its outbox in one transaction (each statement a span against",
      "PostgreSQL). After the commit the outbox relay publishes the event (`publish`, an async",
      "message: its note gives the delay since the recording action started), and the",
      "notifications node handles it (`channel`) in the same trace: it asks users for the",
      "student's account and stores the notification.",
      "",
      sequence(spansOf(scenario.enrollmentId), run, "POST /api/students/:id/courses", 201),
      "",
      "## POST /api/quizzes/:id/attempts/:attemptId/submit: a score reaching the gradebook",
      "",
      `The trace of \`X-Request-ID: ${scenario.quizSubmitId}\`: the quizzes node checks the`,
      "student's enrollment, scores the attempt and records `quiz.scored` and `grade.recorded` in",
      "its outbox in the same transaction; after the commit the relay publishes them, the",
      "gradebook applies the grade (idempotently, by the attempt's quiz and student) and the",
      "notifications node tells the student their result.",
      "",
      sequence(
        spansOf(scenario.quizSubmitId),
        run,
        "POST /api/quizzes/:id/attempts/:attemptId/submit",
      ),
      "",
      "## DELETE /api/courses/:id/students/:studentId: a drop promotes the waitlist, a socket hears it",
      "",
      "A course of one seat with a waitlist of two: one student seated, two waiting (202, positions",
      `1 and 2). The trace of \`X-Request-ID: ${scenario.waitlist.dropId}\`: the seated student`,
      "drops; in the same transaction the courses node promotes the first waiting student, renumbers",
      "the waitlist and records `enrollment.dropped` and `enrollment.promoted` in its outbox. The",
      "notifications node stores the promotion's notification and broadcasts",
      "`notifications.created`; the gateway pushes it to the student's sockets.",
      "",
      sequence(
        spansOf(scenario.waitlist.dropId),
        run,
        "DELETE /api/courses/:id/students/:studentId",
        204,
      ),
      "",
      "What the promoted student's `/ws` socket on the gateway received (text frames, JSON), in ms",
      "after the drop request was sent:",
      "",
      table(
        ["after", "message"],
        scenario.waitlist.received.map(({ afterMs, message }) => [
          `${afterMs} ms`,
          `\`${JSON.stringify(liveSummary(message))}\``,
        ]),
      ),
      "",
      "## Reading it",
      "",
      "- The gateway verifies each token itself and reads the account behind it through the",
      "  internal `users.account`, which it keeps in its near cache: most requests above show no",
      "  call to users at all.",
      "- The published actions (`students.courses`, `courses.students`) check access, then read",
      "  through internal, cached actions; one call fetches a whole page of students",
      "  (`students.byIds`), never one call per student.",
      "- Each database statement is a span under the action that sent it (`db <operation>",
      "  <schema.table>`, no values): a cache hit shows no statement at all.",
      "- Domain events are in the request's trace: the outbox keeps the recording span, the relay",
      "  publishes under a `publish` span after the commit, and the consumer's `channel` span is",
      "  its child; their delay is also measured by `campus_event_lag_seconds` (monitoring.md), and",
      "  their log lines carry the request's id (logs.md).",
    ].join("\n"),
  );
}

export async function observedReports(): Promise<void> {
  const observed = new Observed();
  try {
    log(`observed: cluster ${observed.cluster.namespace} with tracing and Prometheus`);
    await observed.start();
    log("observed: scenario and load");
    const scenario = await observed.scenario();
    log("observed: writing logs.md, monitoring.md, interaction.md");
    logsReport(observed, scenario);
    await monitoringReport(observed, scenario);
    await interactionReport(observed, scenario);
  } finally {
    await observed.stop();
  }
}
