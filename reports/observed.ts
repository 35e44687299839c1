/**
 * One observed run of a multi-node cluster — api, users, 2× students, 2× courses, notifications
 * over NATS, PostgreSQL and Redis — with tracing exported to a Zipkin collector and a real
 * Prometheus scraping every node. It writes three reports from what it saw:
 *   docs/reports/logs.md         real JSON log lines: one request followed by its id, an error
 *   docs/reports/monitoring.md   Prometheus query results after the run's load
 *   docs/reports/interaction.md  the call graph (spans and metrics) and two sequence diagrams
 */
import { readFileSync } from "fs";
import { join } from "path";
import { Cluster, http, login, sleep, steadyLoad } from "../test/cluster/harness";
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
import { log, round, stamp, table, writeReport } from "./common";

type Line = Record<string, unknown> & { time: string; nodeID: string; msg: string };

const NODES: [string, string][] = [
  ["users", "users"],
  ["students-1", "students"],
  ["students-2", "students"],
  ["courses-1", "courses"],
  ["courses-2", "courses"],
  ["notifications", "notifications"],
];
const PASSWORD = "observed-run-password";
const LOAD_SECONDS = 20;
const LOAD_PER_SECOND = 25;

interface Scenario {
  followId: string;
  errorId: string;
  studentCoursesId: string;
  courseStudentsId: string;
  loadSent: number;
  loadFailed: number;
}

class Observed {
  readonly cluster = new Cluster();
  zipkin!: ZipkinCollector;
  prometheus!: PrometheusServer;
  base = "";
  token = "";

  get run(): string {
    return this.cluster.runId;
  }

  async start(): Promise<void> {
    this.zipkin = await startZipkinCollector();
    const env = { TRACING_EXPORTER: "zipkin", TRACING_ZIPKIN_URL: this.zipkin.url };
    await this.cluster.createDatabases();
    const workers = await Promise.all(
      NODES.map(([name, services]) => this.cluster.start(name, services, env)),
    );
    const api = await this.cluster.start("api", "api", env);
    await Promise.all([...workers, api].map((node) => this.cluster.ready(node)));
    this.base = this.cluster.gateway("api");
    this.token = await login(this.base);
    const { config, files } = clusterPrometheusConfig(
      [...this.cluster.nodes.values()].map((node) => ({
        name: node.name,
        service: node.services,
        port: node.port,
        metricsPort: node.metricsPort,
      })),
    );
    this.prometheus = await startPrometheus(config, files);
    await waitForTargets(this.prometheus.url, this.cluster.nodes.size);
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
    return { email, studentId: result.body.user.studentId as string };
  }

  async course(code: string, capacity: number | null) {
    const result = await this.send("POST", "/api/courses", {
      code: `${code}-${this.run}`,
      title: `Report ${code}`,
      capacity,
    });
    if (result.status !== 201) throw new Error(`course: ${result.status}`);
    return result.body.id as string;
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
    await this.send("POST", `/api/students/${students[0].studentId}/courses`, {
      courseId: physics,
    });
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
    ];
    let next = 0;
    const load = await steadyLoad(
      () => http(this.base, "GET", paths[next++ % paths.length], this.token),
      LOAD_PER_SECOND,
      LOAD_SECONDS * 1000,
    );

    // The followed request: deleting a student who is enrolled and has an account touches the
    // gateway, students (remote action), and through student.deleted courses and users.
    const followId = id("delete-student");
    await this.send("DELETE", `/api/students/${students[3].studentId}`, undefined, followId);
    await sleep(5000); // events handled, spans flushed (1 s), a few more scrapes (1 s)
    return {
      followId,
      errorId,
      studentCoursesId,
      courseStudentsId,
      loadSent: load.sent,
      loadFailed: load.failed.length,
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
      "`api`, `users`, `students-1`, `students-2`, `courses-1`, `courses-2`, `notifications` as",
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
      "The scenario enrolled 6 students (ok), one twice (duplicate), one into a full course (full), and one into a course that does not exist (not_found).",
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
      "Prometheus query results at the end of one run. Prometheus (the Debian `prometheus`",
      "binary) scraped every node's `/metrics` each second, found through the repository's",
      "Kubernetes job (`campus-pods` in `prometheus/prometheus.yml`, its discovery fed with each",
      "node's pod metadata) and evaluated `prometheus/alerts.yml`.",
      "",
      "Cluster: `api`, `users`, `students-1`, `students-2`, `courses-1`, `courses-2`,",
      "`notifications` over NATS, PostgreSQL and Redis, on this machine. Scenario: 6 registrations,",
      "3 courses, enrollments with every result, a course update, failed logins up to the account",
      `lock, then ${LOAD_SECONDS} s of reads at ${LOAD_PER_SECOND} requests/s over 7 endpoints (${scenario.loadSent} sent, ${scenario.loadFailed} failed).`,
      "Each query below is shown as run; the dashboards (`grafana/dashboards/`) use the same",
      "series.",
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

function sequence(spans: ZipkinSpan[], run: string, title: string): string {
  const [root] = trees(spans).filter((t) => t.span.localEndpoint?.serviceName === "api");
  if (!root) return "_no trace was captured_";
  const participants: string[] = [];
  const participant = (span: ZipkinSpan) => {
    const name = short(span.tags.nodeID, run);
    if (!participants.includes(name)) participants.push(name);
    return name.replace(/-/g, "_");
  };
  const lines: string[] = [];
  const visit = (node: Node) => {
    const from = participant(node.span);
    for (const child of node.children) {
      const to = participant(child.span);
      const cached = child.span.tags.fromCache === "true" ? " (cache hit)" : "";
      lines.push(`  ${from}->>${to}: ${actionOf(child.span)}${cached}`);
      visit(child);
      lines.push(`  ${to}-->>${from}: ${round(child.span.duration / 1000)} ms`);
    }
  };
  participant(root.span);
  visit(root);
  const header = [
    "```mermaid",
    "sequenceDiagram",
    `  title ${title}`,
    "  participant client as Client",
    ...participants.map((p) => `  participant ${p.replace(/-/g, "_")} as ${p}`),
    `  client->>api: ${title}`,
  ];
  return [
    ...header,
    ...lines,
    `  api-->>client: ${root.span.tags["error.code"] ?? "200"} after ${round(root.span.duration / 1000)} ms`,
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
      "Which actions called which, across which nodes, as observed in one run of `api`, `users`,",
      "`students-1`, `students-2`, `courses-1`, `courses-2` and `notifications` over NATS — from the",
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
      "## Reading it",
      "",
      "- Every request first resolves its token: `users.resolveToken` on the users node, which",
      "  reads the account through the cached `users.account`.",
      "- The published actions (`students.courses`, `courses.students`) check access, then read",
      "  through internal, cached actions; one call fetches a whole page of students",
      "  (`students.byIds`), never one call per student.",
      "- Domain events (`student.deleted`, `enrollment.created`, …) do not appear in the spans: the",
      "  outbox relay publishes them after the commit, outside the request's trace; their",
      "  handling is counted in the channel table and their delay in `campus_event_lag_seconds`",
      "  (monitoring.md), and their log lines carry the request's id (logs.md).",
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
