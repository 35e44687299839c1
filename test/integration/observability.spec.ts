/**
 * Observability of one node, over HTTP: the gateway's single access line per request (route
 * template, status, duration, request id, user id — and no token, email or password anywhere in
 * the log), the business and HTTP series with bounded labels, 429 counting (the general budget,
 * rejected before moleculer-web resolved the alias, and the login slow-down), and the
 * readiness gauge. The cluster suite follows a request id across nodes and runs the dashboards.
 */
import type { ServiceBroker } from "moleculer";
import { METRICS } from "../../lib/metrics";
import {
  eventually,
  registerStudent,
  startCampus,
  uniqueEmail,
  type Campus,
} from "../helpers/campus";

type Line = Record<string, any>;

let campus: Campus;
let admin: string;
const lines: Line[] = [];
const raw: string[] = [];
const spies: jest.SpyInstance[] = [];

/** What the logger writes (a batch of lines per write) to standard output or error. */
function capture(chunk: unknown): boolean {
  if (typeof chunk !== "string") return true;
  for (const text of chunk.split("\n").filter(Boolean)) {
    raw.push(text);
    try {
      lines.push(JSON.parse(text));
    } catch {
      // not a JSON line
    }
  }
  return true;
}

/** The value of one series in the broker's registry (the numbers /metrics serves). */
function metric(broker: ServiceBroker, name: string, labels: Record<string, string> = {}): number {
  const snapshot = (broker.metrics.getMetric(name)?.snapshot() ?? []) as {
    labels: Record<string, unknown>;
    value?: number;
    count?: number;
  }[];
  return snapshot
    .filter((item) => Object.entries(labels).every(([k, v]) => String(item.labels[k]) === v))
    .reduce((sum, item) => sum + (item.value ?? item.count ?? 0), 0);
}

function labelValues(broker: ServiceBroker, name: string, label: string): string[] {
  const snapshot = (broker.metrics.getMetric(name)?.snapshot() ?? []) as {
    labels: Record<string, unknown>;
  }[];
  return [...new Set(snapshot.map((item) => String(item.labels[label])))];
}

const accessLines = () => lines.filter((line) => line.module === "api" && line.route);

beforeAll(async () => {
  for (const stream of [process.stdout, process.stderr]) {
    spies.push(jest.spyOn(stream, "write").mockImplementation(capture as never));
  }
  // The login slow-down on (1 s after the 3rd failure), so a login can be refused with 429.
  campus = await startCampus({ LOG_LEVEL: "info", LOGIN_BACKOFF_MS: "1000" });
  admin = await campus.adminToken();
});

afterAll(async () => {
  await campus.stop();
  for (const spy of spies) spy.mockRestore();
});

describe("the gateway's access log", () => {
  it("writes exactly one line per request: method, route template, status, duration, request id, user", async () => {
    const student = await campus.request("POST", "/api/students", {
      token: admin,
      body: { firstName: "Log", lastName: "Line", email: uniqueEmail("log") },
    });
    expect(student.status).toBe(201);
    const before = accessLines().length;

    const read = await campus.request("GET", `/api/students/${student.body.id}`, {
      token: admin,
      headers: { "X-Request-ID": "obs-read-1" },
    });
    expect(read.status).toBe(200);
    expect(read.headers.get("x-request-id")).toBe("obs-read-1");
    await eventually(async () => {
      expect(accessLines().filter((l) => l.requestID === "obs-read-1")).toHaveLength(1);
    });

    const [line] = accessLines().filter((l) => l.requestID === "obs-read-1");
    const adminId = (await campus.request("GET", "/api/auth/me", { token: admin })).body.id;
    expect(line).toEqual({
      time: expect.any(String),
      level: "info",
      nodeID: expect.any(String),
      module: "api",
      requestID: "obs-read-1",
      action: "students.get",
      userId: adminId,
      msg: expect.stringMatching(/^GET \/api\/students\/:id 200 [\d.]+ ms$/),
      method: "GET",
      route: "/api/students/:id",
      status: 200,
      durationMs: expect.any(Number),
    });
    // One line for that request, and one for each request since.
    await eventually(async () => expect(accessLines().length).toBe(before + 2));
  });

  it("replaces moleculer-web's request and response lines, and skips /health", async () => {
    await campus.request("GET", "/health/ready");
    await campus.request("GET", "/api/courses", { token: admin });
    expect(raw.some((text) => /"msg":"(<=|=>) /.test(text))).toBe(false);
    expect(accessLines().some((l) => String(l.route).startsWith("/health"))).toBe(false);
  });

  it("labels an unknown path `unmatched`, never with the URL", async () => {
    await campus.request("GET", "/api/no-such-thing/123", {
      token: admin,
      headers: { "X-Request-ID": "obs-404" },
    });
    await eventually(async () => {
      expect(accessLines().find((l) => l.requestID === "obs-404")).toMatchObject({
        route: "unmatched",
        status: 404,
      });
    });
  });

  it("carries the request id into the handlers of the events the request caused", async () => {
    const account = await registerStudent(campus);
    const course = await campus.request("POST", "/api/courses", {
      token: admin,
      body: { code: `OBS-EV-${Date.now()}`, title: "Evented" },
    });
    const enrolled = await campus.request("POST", `/api/students/${account.studentId}/courses`, {
      token: admin,
      body: { courseId: course.body.id },
      headers: { "X-Request-ID": "obs-event-1" },
    });
    expect(enrolled.status).toBe(201);
    await eventually(async () => {
      // enrollment.created, relayed from the outbox, handled by notifications.
      expect(lines.filter((l) => l.requestID === "obs-event-1" && l.module !== "api")).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            module: "notifications",
            action: "channel",
            msg: expect.stringContaining("Notifications created"),
          }),
        ]),
      );
    });
  });

  it("survives a path parameter that does not decode: 400, one line, route `unmatched`", async () => {
    const bad = await campus.request("GET", "/api/students/%E0%A4%A", {
      token: admin,
      headers: { "X-Request-ID": "obs-bad-param" },
    });
    expect(bad.status).toBe(400);
    await eventually(async () => {
      expect(accessLines().filter((l) => l.requestID === "obs-bad-param")).toEqual([
        expect.objectContaining({ route: "unmatched", status: 400 }),
      ]);
    });
    expect((await campus.request("GET", "/health/live")).status).toBe(200);
  });

  it("never writes a token, a password or a searched email, whatever the request", async () => {
    const email = uniqueEmail("secret");
    const password = "a-very-secret-password-42";
    const account = await registerStudent(campus, { email, password });
    await campus.request("POST", "/api/auth/login", { body: { email, password: "wrong-one-42" } });
    const search = await campus.request(
      "GET",
      `/api/students?search=${encodeURIComponent(email)}`,
      { token: admin },
    );
    expect(search.status).toBe(200);
    await eventually(async () => {
      expect(accessLines().some((l) => l.route === "/api/students" && l.method === "GET")).toBe(
        true,
      );
    });
    const everything = raw.join("\n");
    expect(everything).not.toContain(password);
    expect(everything).not.toContain(account.token);
    expect(everything).not.toContain(admin);
    for (const line of accessLines()) expect(JSON.stringify(line)).not.toContain(email);
  });
});

describe("metrics", () => {
  it("counts HTTP requests by method, route template and status, with a duration histogram", async () => {
    const { broker } = campus;
    const routes = labelValues(broker, METRICS.httpRequests, "route");
    expect(routes).toEqual(expect.arrayContaining(["/api/students/:id", "unmatched"]));
    // Bounded: templates and `unmatched` only, never an id.
    for (const route of routes) expect(route).toMatch(/^(\/[a-z-]+|\/:[a-zA-Z]+)+$|^unmatched$/);
    expect(
      metric(broker, METRICS.httpRequests, { route: "/api/students/:id", status: "200" }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      metric(broker, METRICS.httpDuration, { method: "GET", route: "/api/students/:id" }),
    ).toBeGreaterThanOrEqual(1);
  });

  it("counts near-cache hits and misses by action; a write makes the next read a miss", async () => {
    const { broker } = campus;
    const count = (result: string) =>
      metric(broker, METRICS.nearCache, { action: "students.byId", result });
    const student = await campus.request("POST", "/api/students", {
      token: admin,
      body: { firstName: "Near", lastName: "Cache", email: uniqueEmail("near") },
    });
    const read = () => campus.request("GET", `/api/students/${student.body.id}`, { token: admin });

    const misses = count("miss");
    await read();
    expect(count("miss")).toBe(misses + 1);
    const hits = count("hit");
    await read();
    expect(count("hit")).toBe(hits + 1);

    await campus.request("PATCH", `/api/students/${student.body.id}`, {
      token: admin,
      body: { firstName: "Nearer" },
    });
    const after = await read();
    expect(after.body.firstName).toBe("Nearer");
    expect(count("miss")).toBe(misses + 2);
  });

  it("counts enrollments by result: ok, duplicate, full, not_found", async () => {
    const { broker } = campus;
    const before = Object.fromEntries(
      ["ok", "duplicate", "full", "not_found"].map((r) => [
        r,
        metric(broker, METRICS.enrollments, { result: r }),
      ]),
    );
    const course = await campus.request("POST", "/api/courses", {
      token: admin,
      body: { code: `OBS-${Date.now()}`, title: "Observed", capacity: 2 },
    });
    const [first, second, third] = [
      await registerStudent(campus),
      await registerStudent(campus),
      await registerStudent(campus),
    ];
    const enroll = (studentId: string) =>
      campus.request("POST", `/api/courses/${course.body.id}/students`, {
        token: admin,
        body: { studentId },
      });
    expect((await enroll(first.studentId)).status).toBe(201);
    expect((await enroll(first.studentId)).body.type).toBe("ALREADY_ENROLLED");
    expect((await enroll(second.studentId)).status).toBe(201);
    expect((await enroll(third.studentId)).body.type).toBe("COURSE_FULL");
    expect((await enroll("00000000-0000-4000-8000-000000000000")).status).toBe(404);
    // Through the student's path: the same action, counted once.
    const viaStudent = await campus.request("POST", `/api/students/${second.studentId}/courses`, {
      token: admin,
      body: { courseId: "00000000-0000-4000-8000-000000000001" },
    });
    expect(viaStudent.status).toBe(404);

    const after = (r: string) => metric(broker, METRICS.enrollments, { result: r }) - before[r];
    expect({
      ok: after("ok"),
      duplicate: after("duplicate"),
      full: after("full"),
      not_found: after("not_found"),
    }).toEqual({ ok: 2, duplicate: 1, full: 1, not_found: 2 });

    // The enrollment and the registrations became notifications; their lag was observed.
    await eventually(async () => {
      expect(
        metric(broker, METRICS.notificationsCreated, { type: "enrolled" }),
      ).toBeGreaterThanOrEqual(2);
      expect(
        metric(broker, METRICS.notificationsCreated, { type: "welcome" }),
      ).toBeGreaterThanOrEqual(3);
      expect(
        metric(broker, METRICS.eventLag, { consumer: "notifications" }),
      ).toBeGreaterThanOrEqual(3);
    });
  });

  it("counts logins by result, failures, and the login slow-down's 429 as rate limited", async () => {
    const { broker } = campus;
    const account = await registerStudent(campus);
    const before = {
      ok: metric(broker, METRICS.logins, { result: "ok" }),
      invalid: metric(broker, METRICS.logins, { result: "invalid" }),
      locked: metric(broker, METRICS.logins, { result: "locked" }),
      failures: metric(broker, METRICS.loginFailures),
      limited: metric(broker, METRICS.rateLimited, { route: "/api/auth/login" }),
    };
    const login = (password: string) =>
      campus.request("POST", "/api/auth/login", { body: { email: account.email, password } });
    expect((await login("a-good-long-password")).status).toBe(200);
    for (let i = 0; i < 3; i += 1) expect((await login("wrong-password-xx")).status).toBe(401);
    const locked = await login("a-good-long-password");
    expect(locked.status).toBe(429);

    expect({
      ok: metric(broker, METRICS.logins, { result: "ok" }) - before.ok,
      invalid: metric(broker, METRICS.logins, { result: "invalid" }) - before.invalid,
      locked: metric(broker, METRICS.logins, { result: "locked" }) - before.locked,
      failures: metric(broker, METRICS.loginFailures) - before.failures,
      limited: metric(broker, METRICS.rateLimited, { route: "/api/auth/login" }) - before.limited,
    }).toEqual({ ok: 1, invalid: 3, locked: 1, failures: 4, limited: 1 });
  });

  it("reports the node ready, with each check", async () => {
    const { broker } = campus;
    await campus.request("GET", "/health/ready");
    expect(metric(broker, METRICS.ready)).toBe(1);
    for (const check of ["transporter", "databases", "services"]) {
      expect({ check, value: metric(broker, METRICS.readyCheck, { check }) }).toEqual({
        check,
        value: 1,
      });
    }
  });
});

describe("a gateway with a small request budget", () => {
  let limited: Campus;
  beforeAll(async () => {
    limited = await startCampus({ LOG_LEVEL: "warn", RATE_LIMIT_PER_MINUTE: "2" });
  });
  afterAll(() => limited.stop());

  it("counts each 429 under the route template, though the budget answers before routing", async () => {
    const token = await limited.adminToken();
    const statuses: number[] = [];
    for (let i = 0; i < 4; i += 1) {
      statuses.push((await limited.request("GET", "/api/courses", { token })).status);
    }
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(1);
    const rejected = statuses.filter((s) => s === 429).length;
    expect(metric(limited.broker, METRICS.rateLimited, { route: "/api/courses" })).toBe(rejected);
    expect(
      metric(limited.broker, METRICS.httpRequests, { route: "/api/courses", status: "429" }),
    ).toBe(rejected);
  });
});
