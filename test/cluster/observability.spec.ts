/**
 * Observability of a real cluster — api, 2× students, and one node of every other service as node
 * processes over NATS, PostgreSQL and Redis — watched by a real Prometheus (Debian's binary) that
 * finds the nodes through the repository's Kubernetes scrape job and loads prometheus/alerts.yml,
 * with spans exported to a Zipkin collector. Proves: a client's X-Request-ID reaches the log
 * lines of every node a request touches (remote actions and durable-event handlers); every panel
 * of every Grafana dashboard returns data; the alert rules evaluate on real series and
 * CampusNodeDown fires for a killed node; spans of one request share one trace across nodes.
 */
import { readFileSync } from "fs";
import { join } from "path";
import { zipkinId } from "../../lib/tracing";
import {
  apiGet,
  clusterPrometheusConfig,
  concreteExpr,
  hasBinary,
  INSTALL_HINT,
  panelQueries,
  query,
  startPrometheus,
  type PrometheusServer,
} from "../helpers/prometheus";
import { startZipkinCollector, type ZipkinCollector } from "../helpers/zipkin";
import { Cluster, eventually, http, login, sleep, steadyLoad, type CampusNode } from "./harness";

jest.setTimeout(300000);

const cluster = new Cluster();
let zipkin: ZipkinCollector;
let prometheus: PrometheusServer;
let base: string;
let token: string;
const run = cluster.runId;
const PASSWORD = `observed-password-${run}`;

const NODES: [name: string, services: string][] = [
  ["users", "users"],
  ["students-1", "students"],
  ["students-2", "students"],
  ["courses", "courses"],
  ["notifications", "notifications"],
  ["assignments", "assignments"],
  ["gradebook", "gradebook"],
  ["schedule", "schedule"],
  ["quizzes", "quizzes"],
  ["profiles", "profiles"],
  ["reports", "reports"],
];

/** The JSON lines a node wrote (its stdout and stderr, as the harness keeps them). */
function logLines(name: string): Record<string, any>[] {
  const text = readFileSync(join(cluster.logDir, `${name}.log`), "utf8");
  return text.split("\n").flatMap((line) => {
    try {
      return line.startsWith("{") ? [JSON.parse(line)] : [];
    } catch {
      return []; // a line still being written
    }
  });
}

function linesWithRequest(name: string, requestID: string) {
  return logLines(name).filter((line) => line.requestID === requestID);
}

async function send(method: string, path: string, body?: unknown, requestId?: string) {
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  if (body !== undefined) headers["content-type"] = "application/json";
  if (requestId) headers["x-request-id"] = requestId;
  const response = await fetch(`${base}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(30000),
  });
  const text = await response.text();
  return {
    status: response.status,
    body: text ? JSON.parse(text) : undefined,
    headers: response.headers,
  };
}

async function register(label: string) {
  const email = `obs.${label}.${run}@campus.test`;
  const result = await http(base, "POST", "/api/auth/register", undefined, {
    email,
    password: PASSWORD,
    firstName: "Observed",
    lastName: label,
  });
  expect(result.status).toBe(201);
  return { email, studentId: result.body.user.studentId as string };
}

async function createCourse(code: string, capacity: number | null) {
  const result = await send("POST", "/api/courses", {
    code: `${code}-${run}`,
    title: `Observed ${code}`,
    capacity,
  });
  expect(result.status).toBe(201);
  return result.body.id as string;
}

beforeAll(async () => {
  if (!hasBinary("prometheus")) throw new Error(`prometheus is required: ${INSTALL_HINT}`);
  zipkin = await startZipkinCollector();
  // With the login slow-down on (read by the users node), so a login can answer 429.
  const tracing = {
    TRACING_EXPORTER: "zipkin",
    TRACING_ZIPKIN_URL: zipkin.url,
    LOGIN_BACKOFF_MS: "60000",
  };
  await cluster.createDatabases();
  const workers = await Promise.all(
    NODES.map(([name, services]) => cluster.start(name, services, tracing)),
  );
  const api = await cluster.start("api", "api", tracing);
  await Promise.all([...workers, api].map((node) => cluster.ready(node)));
  base = cluster.gateway("api");
  token = await login(base);

  const scraped = [...cluster.nodes.values()].map((node: CampusNode) => ({
    name: node.name,
    service: node.services,
    port: node.port,
    metricsPort: node.metricsPort,
  }));
  const { config, files } = clusterPrometheusConfig(scraped);
  prometheus = await startPrometheus(config, files);
});

afterAll(async () => {
  await prometheus?.stop();
  await cluster.stopAll();
  await cluster.dropDatabases();
  await cluster.deleteStreams();
  await zipkin?.stop();
});

describe("Prometheus scraping the cluster", () => {
  it("finds every node through the Kubernetes job's relabelling, and drops pods not annotated for it", async () => {
    await eventually(async () => {
      const targets = await apiGet(prometheus.url, "/api/v1/targets");
      const up = targets.activeTargets.filter((t: any) => t.health === "up");
      expect(up.length).toBe(cluster.nodes.size);
      expect(targets.droppedTargets.length).toBe(2);
    }, 30000);
    const targets = await apiGet(prometheus.url, "/api/v1/targets");
    for (const target of targets.activeTargets) {
      const node = [...cluster.nodes.values()].find(
        (n) => n.name === target.discoveredLabels.__meta_kubernetes_pod_name,
      )!;
      // The pod's address carried the HTTP port; the annotation moved it to METRICS_PORT.
      expect(target.scrapeUrl).toBe(`http://127.0.0.1:${node.metricsPort}/metrics`);
      expect(target.labels).toEqual(
        expect.objectContaining({ job: "campus-pods", service: node.services, pod: node.name }),
      );
    }
  });
});

describe("following one request by its X-Request-ID", () => {
  it("reaches the gateway, the remote actions and every durable-event handler it causes", async () => {
    const student = await register("followed");
    const courseId = await createCourse("FOLLOW", 10);

    // An enrollment: gateway → students.enroll → courses.enroll; then enrollment.created,
    // published from the outbox, handled by notifications (the id travels in the message headers).
    const enrollId = `enroll-${run}`;
    const enrolled = await send(
      "POST",
      `/api/students/${student.studentId}/courses`,
      { courseId },
      enrollId,
    );
    expect(enrolled.status).toBe(201);
    expect(enrolled.headers.get("x-request-id")).toBe(enrollId);

    // A deletion: gateway → students.remove → students.deleteRecord (remote, logs "Student
    // deleted"); then student.deleted handled by courses (rosters) and by users (the account).
    const deleteId = `delete-${run}`;
    const deleted = await send("DELETE", `/api/students/${student.studentId}`, undefined, deleteId);
    expect(deleted.status).toBe(204);

    await eventually(async () => {
      const access = linesWithRequest("api", deleteId).find((l) => l.route);
      expect(access).toMatchObject({ route: "/api/students/:id", method: "DELETE", status: 204 });
      const students = [
        ...linesWithRequest("students-1", deleteId),
        ...linesWithRequest("students-2", deleteId),
      ];
      expect(students.find((l) => l.msg.startsWith("Student deleted"))?.action).toBe(
        "students.deleteRecord",
      );
      expect(linesWithRequest("courses", deleteId).map((l) => l.msg)).toEqual(
        expect.arrayContaining([expect.stringContaining("Student left rosters")]),
      );
      expect(linesWithRequest("users", deleteId).map((l) => l.msg)).toEqual(
        expect.arrayContaining([expect.stringContaining("Account of a deleted student removed")]),
      );
      expect(linesWithRequest("notifications", enrollId).map((l) => l.msg)).toEqual(
        expect.arrayContaining([expect.stringContaining("Notifications created")]),
      );
      expect(linesWithRequest("api", enrollId).filter((l) => l.route)).toHaveLength(1);
    }, 30000);

    // The same ids label the lines' user: the admin who made the requests.
    const access = linesWithRequest("api", deleteId).find((l) => l.route)!;
    expect(access.userId).toEqual(expect.any(String));
  });
});

describe("under load, then with a students node killed", () => {
  it("produces every business outcome, cache hits and broker retries", async () => {
    const [a, b, c] = [
      await register("load-a"),
      await register("load-b"),
      await register("load-c"),
    ];
    const small = await createCourse("SMALL", 2);
    const large = await createCourse("LARGE", null);
    const enroll = (courseId: string, studentId: string) =>
      send("POST", `/api/courses/${courseId}/students`, { studentId });
    expect((await enroll(small, a.studentId)).status).toBe(201);
    expect((await enroll(small, a.studentId)).body.type).toBe("ALREADY_ENROLLED");
    expect((await enroll(small, c.studentId)).status).toBe(201);
    expect((await enroll(small, b.studentId)).body.type).toBe("COURSE_FULL");
    expect((await enroll("00000000-0000-4000-8000-000000000000", b.studentId)).status).toBe(404);
    expect((await enroll(large, b.studentId)).status).toBe(201);

    // A report made by the reports node (jobs by status, and its duration by format).
    const requested = await send("POST", "/api/reports", {
      type: "course_performance",
      format: "csv",
      courseId: large,
    });
    expect(requested.status).toBe(202);
    await eventually(async () => {
      const job = await send("GET", `/api/reports/${requested.body.id}`);
      expect(job.body.status).toBe("succeeded");
    }, 30000);

    // Failed logins, then the slow-down: after the 3rd, the next attempt answers 429.
    for (let i = 0; i < 3; i += 1) {
      const failed = await http(base, "POST", "/api/auth/login", undefined, {
        email: a.email,
        password: "not-the-password",
      });
      expect(failed.status).toBe(401);
    }
    const locked = await http(base, "POST", "/api/auth/login", undefined, {
      email: a.email,
      password: PASSWORD,
    });
    expect(locked.status).toBe(429);

    // Reads of every kind (cached internal actions, both cross-service endpoints), and a
    // students node that hangs halfway (SIGSTOP: its connection stays open, so NATS still routes
    // calls to it; they time out and the broker retries them elsewhere), then is killed. A node
    // killed outright costs no retry unless a call was running on it.
    const paths = [
      `/api/students/${b.studentId}`,
      `/api/students/${b.studentId}/courses`,
      `/api/courses/${large}/students`,
      `/api/courses/${large}`,
      "/api/courses",
      "/api/notifications",
      `/api/courses/${large}/assignments`,
      `/api/courses/${large}/gradebook`,
    ];
    let next = 0;
    const report = await steadyLoad(
      () => http(base, "GET", paths[next++ % paths.length], token),
      20,
      12000,
      async () => {
        await sleep(3000);
        cluster.freeze("students-2");
        await sleep(3000);
        await cluster.stop("students-2", "SIGKILL");
      },
    );
    expect(report.sent).toBeGreaterThan(200);
    const retries =
      (await cluster.metric("api", "moleculer_request_retry_attempts_total")) +
      (await cluster.metric("courses", "moleculer_request_retry_attempts_total"));
    expect(retries).toBeGreaterThan(0);
    expect(await cluster.metric("api", "campus_rate_limited_total")).toBeGreaterThanOrEqual(1);
  });
});

describe("Grafana dashboards and alert rules on the scraped series", () => {
  it("have data for every panel query of every dashboard (no dead panel)", async () => {
    await sleep(4000); // a few more scrapes after the load
    const queries = panelQueries();
    expect(queries.length).toBeGreaterThan(30);
    const dead: string[] = [];
    for (const q of queries) {
      const result = await query(prometheus.url, concreteExpr(q.expr));
      if (result.result.length === 0)
        dead.push(`${q.dashboard} / ${q.panel} / ${q.refId}: ${q.expr}`);
    }
    expect(dead).toEqual([]);
  });

  it("list every running node in the dashboards' node variable", async () => {
    const values = await apiGet<string[]>(
      prometheus.url,
      `/api/v1/label/nodeID/values?match[]=campus_ready`,
    );
    for (const name of cluster.nodes.keys()) expect(values).toContain(`${name}-${run}`);
  });

  it("evaluate every alert rule without error, fire CampusNodeDown for the killed node, and nothing unrelated to it", async () => {
    const rules = await apiGet(prometheus.url, "/api/v1/rules");
    const loaded = rules.groups.flatMap((g: any) => g.rules);
    expect(loaded.length).toBeGreaterThanOrEqual(12);
    for (const rule of loaded) {
      expect({ rule: rule.name, health: rule.health, error: rule.lastError ?? "" }).toEqual({
        rule: rule.name,
        health: "ok",
        error: "",
      });
    }
    await eventually(async () => {
      const { alerts } = await apiGet(prometheus.url, "/api/v1/alerts");
      const down = alerts.filter((a: any) => a.labels.alertname === "CampusNodeDown");
      expect(down.map((a: any) => a.labels.pod)).toEqual(["students-2"]);
    }, 20000);
    // Calls to the killed node may also open circuit breakers (its calls fail until the
    // heartbeat timeout drops it): those may fire, naming that node; nothing else may.
    const killed = `students-2-${run}`;
    const { alerts } = await apiGet(prometheus.url, "/api/v1/alerts");
    const unexpected = alerts.filter(
      (a: any) =>
        a.state === "firing" &&
        a.labels.alertname !== "CampusNodeDown" &&
        !(a.labels.alertname === "CampusCircuitBreakerOpen" && a.labels.affectedNodeID === killed),
    );
    expect(unexpected).toEqual([]);
  });
});

describe("tracing", () => {
  it("exports spans of one request from several nodes under one trace, without parameters", async () => {
    await eventually(async () => {
      const spans = zipkin.spans.filter((s) => s.traceId === zipkinId(`enroll-${run}`));
      const services = new Set(spans.map((s) => s.localEndpoint?.serviceName));
      expect([...services]).toEqual(
        expect.arrayContaining(["api", "students", "courses", "users"]),
      );
      // One root: the gateway's span of the HTTP request; every other span has a parent.
      const roots = spans.filter((s) => !s.parentId);
      expect(roots.map((s) => s.localEndpoint?.serviceName)).toEqual(["api"]);
    }, 20000);
    expect(zipkin.refused).toBe(0);
    const everything = JSON.stringify(zipkin.spans);
    expect(everything).not.toContain(PASSWORD);
    expect(everything).not.toContain(token);
    expect(everything).not.toContain("@campus.test");
  });
});
