/**
 * The pure parts of observability: the tracing configuration (TRACING_EXPORTER,
 * TRACING_ZIPKIN_URL) and the broker options it gives, the classification of enrollment and
 * login outcomes into bounded metric labels, the JSON log line with structured fields, what a
 * database span says about a statement, and the trace position an outbox row keeps.
 */
import { Errors, ServiceBroker, type Context } from "moleculer";
import { brokerOptions } from "../../moleculer.config";
import { ConfigError, loadConfig, parseTracing } from "../../lib/config";
import {
  conflict,
  notFound,
  forbidden,
  invalid,
  tooManyRequests,
  unauthorized,
} from "../../lib/errors";
import { jsonLine, LogFields, prettyLine, requestScope } from "../../lib/logging";
import { enrollmentResult, loginResult, quizSubmissionResult } from "../../lib/metrics";
import { outboxMeta, splitOutboxMeta } from "../../lib/outbox";
import {
  CampusZipkinExporter,
  databaseSpanError,
  describeSql,
  traceScope,
  traceScopeMiddleware,
  zipkinId,
} from "../../lib/tracing";

const bindings = { nodeID: "node-1", ns: "campus", mod: "api", svc: "api" };

describe("tracing configuration", () => {
  it("is off when TRACING_EXPORTER is unset or empty", () => {
    expect(parseTracing({})).toEqual({ exporter: null, zipkinUrl: null });
    expect(parseTracing({ TRACING_EXPORTER: "" })).toEqual({ exporter: null, zipkinUrl: null });
    expect(brokerOptions(loadConfig({ LOG_FORMAT: "json" })).tracing).toEqual({ enabled: false });
  });

  it("prints spans with console, and posts them to TRACING_ZIPKIN_URL with zipkin", () => {
    expect(parseTracing({ TRACING_EXPORTER: "console" })).toEqual({
      exporter: "console",
      zipkinUrl: null,
    });
    const config = loadConfig({
      LOG_FORMAT: "json",
      TRACING_EXPORTER: "zipkin",
      TRACING_ZIPKIN_URL: "http://jaeger:9411",
    });
    expect(config.tracing).toEqual({ exporter: "zipkin", zipkinUrl: "http://jaeger:9411" });
    const tracing = brokerOptions(config).tracing as Record<string, any>;
    expect(tracing.enabled).toBe(true);
    expect(tracing.exporter).toBeInstanceOf(CampusZipkinExporter);
    expect(tracing.exporter.opts.baseURL).toBe("http://jaeger:9411");
  });

  it("gives Zipkin hexadecimal ids whatever request id the client chose, the same on every node", () => {
    expect(zipkinId("7108a11d-7637-46cd-bc98-708e985f838f")).toBe("7108a11d763746cd");
    expect(zipkinId("order-17")).toMatch(/^[0-9a-f]{16}$/);
    expect(zipkinId("order-17")).toBe(zipkinId("order-17"));
    expect(zipkinId("order-17")).not.toBe(zipkinId("order-18"));
    expect(zipkinId(null)).toBeNull();
  });

  it("drops the query string (a search may hold an email) from the gateway's span name and URL", () => {
    const exporter = new CampusZipkinExporter({ baseURL: "http://zipkin.invalid:9411" });
    const payload = exporter.makePayload({
      name: "GET /api/students?search=ada%40example.org",
      id: "7108a11d-7637-46cd-bc98-708e985f838f",
      traceID: "order-17",
      parentID: null,
      type: "action",
      service: { fullName: "api" },
      startTime: 1000,
      finishTime: 1012,
      duration: 12,
      tags: { params: { req: { url: "/api/students?search=ada%40example.org", method: "GET" } } },
    } as never);
    expect(payload.name).toBe("GET /api/students");
    expect(payload.tags["params.req.url"]).toBe("/api/students");
    expect(payload.traceId).toBe(zipkinId("order-17"));
    expect(JSON.stringify(payload)).not.toContain("example.org");
  });

  it("never puts action parameters, meta or error data into spans", () => {
    const options = brokerOptions(loadConfig({ LOG_FORMAT: "json", TRACING_EXPORTER: "console" }));
    const tracing = options.tracing as Record<string, any>;
    expect(tracing.tags.action).toEqual({ params: false, meta: false });
    expect(tracing.tags.event).toEqual({ params: false, meta: false });
    expect(tracing.errorFields).not.toContain("data");
    expect(tracing.errorFields).not.toContain("stack");
  });

  it("refuses an unknown exporter, zipkin without a URL, and a URL that is not http(s)", () => {
    expect(() => parseTracing({ TRACING_EXPORTER: "jaeger" })).toThrow(ConfigError);
    expect(() => parseTracing({ TRACING_EXPORTER: "zipkin" })).toThrow(
      /TRACING_ZIPKIN_URL is required/,
    );
    expect(() =>
      parseTracing({ TRACING_EXPORTER: "zipkin", TRACING_ZIPKIN_URL: "jaeger:9411" }),
    ).toThrow(/http\(s\)/);
  });
});

describe("metric labels of outcomes", () => {
  it("names each enrollment outcome with one of four results, and leaves the rest out", () => {
    expect(enrollmentResult()).toBe("ok");
    expect(enrollmentResult(conflict("The course is full", "COURSE_FULL"))).toBe("full");
    expect(enrollmentResult(conflict("Already", "ALREADY_ENROLLED"))).toBe("duplicate");
    // The raw unique violation, as the action's own error hook sees it.
    expect(enrollmentResult({ name: "SequelizeUniqueConstraintError" })).toBe("duplicate");
    expect(enrollmentResult(notFound("Course"))).toBe("not_found");
    expect(enrollmentResult(forbidden())).toBeNull();
    expect(enrollmentResult(new Errors.ServiceNotAvailableError({ action: "x" }))).toBeNull();
  });

  it("names each login outcome ok, invalid or locked", () => {
    expect(loginResult()).toBe("ok");
    expect(loginResult(unauthorized("Invalid", "INVALID_CREDENTIALS"))).toBe("invalid");
    expect(loginResult(tooManyRequests("Locked", 60))).toBe("locked");
    expect(loginResult(new Error("database down"))).toBeNull();
  });

  it("names each quiz submit outcome scored, expired, duplicate or invalid", () => {
    expect(quizSubmissionResult()).toBe("scored");
    expect(quizSubmissionResult(conflict("Over", "ATTEMPT_EXPIRED"))).toBe("expired");
    expect(quizSubmissionResult(conflict("Again", "ALREADY_SUBMITTED"))).toBe("duplicate");
    expect(quizSubmissionResult(invalid([]))).toBe("invalid");
    expect(quizSubmissionResult(notFound("Attempt"))).toBeNull();
  });
});

describe("log lines with structured fields", () => {
  it("puts the fields beside the scope in JSON, and only the message in pretty lines", () => {
    const entry = new LogFields("GET /api/courses 200 3.2 ms", {
      method: "GET",
      route: "/api/courses",
      status: 200,
      durationMs: 3.2,
    });
    const line = requestScope.run({ requestID: "r-1", action: "courses.list", userId: "u-1" }, () =>
      JSON.parse(jsonLine("info", [entry], bindings)),
    );
    expect(line).toEqual({
      time: expect.any(String),
      level: "info",
      nodeID: "node-1",
      module: "api",
      requestID: "r-1",
      action: "courses.list",
      userId: "u-1",
      msg: "GET /api/courses 200 3.2 ms",
      method: "GET",
      route: "/api/courses",
      status: 200,
      durationMs: 3.2,
    });
    expect(prettyLine("info", [entry], bindings)).toMatch(/API: GET \/api\/courses 200 3\.2 ms$/);
  });
});

describe("database spans: what a statement says about itself", () => {
  it("names the operation and the schema-qualified table of the statements Sequelize writes", () => {
    expect(
      describeSql(
        'SELECT "id", "first_name" AS "firstName" FROM "students"."students" AS "student" WHERE "student"."id" = \'7108a11d-7637-46cd-bc98-708e985f838f\';',
      ),
    ).toEqual({ operation: "SELECT", table: "students.students" });
    expect(
      describeSql(
        'SELECT count(*) AS "count" FROM "users"."users" AS "user" WHERE "user"."email" = \'ada@example.org\';',
      ),
    ).toEqual({ operation: "SELECT", table: "users.users" });
    expect(
      describeSql(
        'INSERT INTO "courses"."enrollments" ("course_id","student_id") VALUES ($1,$2) RETURNING "course_id";',
      ),
    ).toEqual({ operation: "INSERT", table: "courses.enrollments" });
    expect(describeSql('UPDATE "users"."users" SET "role"=$1 WHERE "id" = $2 RETURNING *')).toEqual(
      { operation: "UPDATE", table: "users.users" },
    );
    expect(describeSql('DELETE FROM "students"."students" WHERE "id" = \'x\'')).toEqual({
      operation: "DELETE",
      table: "students.students",
    });
  });

  it("reads raw SQL too: transactions, comments, subqueries, unqualified names", () => {
    expect(describeSql("START TRANSACTION;")).toEqual({ operation: "BEGIN", table: null });
    expect(describeSql("COMMIT;")).toEqual({ operation: "COMMIT", table: null });
    expect(describeSql("ROLLBACK;")).toEqual({ operation: "ROLLBACK", table: null });
    expect(describeSql("SELECT 1")).toEqual({ operation: "SELECT", table: null });
    expect(
      describeSql(`
        -- take a seat
        UPDATE courses.courses SET enrolled_count = enrolled_count + 1
        WHERE id = :id AND enrolled_count < capacity RETURNING id`),
    ).toEqual({ operation: "UPDATE", table: "courses.courses" });
    expect(
      describeSql(
        'UPDATE "users".outbox SET claimed_at = now() WHERE id IN (SELECT id FROM "users".outbox)',
      ),
    ).toEqual({ operation: "UPDATE", table: "users.outbox" });
    expect(describeSql("SELECT x FROM (SELECT id FROM a.b) AS sub, students.students")).toEqual({
      operation: "SELECT",
      table: "a.b",
    });
    expect(describeSql("/* c */ insert into enrollments values (1)")).toEqual({
      operation: "INSERT",
      table: "enrollments",
    });
  });

  it("never returns a value: unknown statements are OTHER, literals are never read", () => {
    expect(describeSql("VACUUM students.students")).toEqual({ operation: "OTHER", table: null });
    expect(describeSql("")).toEqual({ operation: "OTHER", table: null });
    expect(describeSql("'ada@example.org'")).toEqual({ operation: "OTHER", table: null });
    const described = JSON.stringify(
      describeSql("SELECT * FROM students.students WHERE email = 'ada@example.org'"),
    );
    expect(described).not.toContain("ada");
  });

  it("keeps a failed statement's class and SQLSTATE, and drops the driver's message", () => {
    const driver = Object.assign(new Error('invalid input syntax for type uuid: "secret"'), {
      name: "SequelizeDatabaseError",
      parent: { code: "22P02" },
    });
    const recorded = databaseSpanError(driver);
    expect(recorded).toEqual(
      expect.objectContaining({
        name: "SequelizeDatabaseError",
        message: "SequelizeDatabaseError (SQLSTATE 22P02)",
        code: "22P02",
      }),
    );
    expect(JSON.stringify({ ...recorded, message: recorded.message })).not.toContain("secret");
    expect(databaseSpanError(new TypeError("boom")).message).toBe("TypeError");
  });
});

describe("the trace scope middleware", () => {
  const handler = (ctx: Context) => Promise.resolve(traceScope.getStore() === ctx);

  it("wraps nothing when tracing is off", () => {
    const broker = new ServiceBroker({ logger: false, tracing: { enabled: false } });
    const middleware = traceScopeMiddleware() as Record<string, any>;
    middleware.created(broker);
    expect(middleware.localAction(handler)).toBe(handler);
    expect(middleware.localEvent(handler)).toBe(handler);
    expect(middleware.localChannel(handler, { name: "x", group: "g", context: true })).toBe(
      handler,
    );
  });

  it("runs handlers with their context in scope when tracing is on", async () => {
    const broker = new ServiceBroker({ logger: false, tracing: { enabled: true, exporter: [] } });
    const middleware = traceScopeMiddleware() as Record<string, any>;
    middleware.created(broker);
    const wrapped = middleware.localAction(handler);
    expect(wrapped).not.toBe(handler);
    const ctx = { id: "c-1" } as unknown as Context;
    await expect(wrapped(ctx)).resolves.toBe(true);
    expect(traceScope.getStore()).toBeUndefined();
  });
});

describe("the trace position an outbox row keeps", () => {
  it("stores the caller and the recording span, and gives consumers the caller alone", () => {
    const stored = outboxMeta({ id: "u-1" }, { parentID: "span-1", tracing: true });
    const restored = splitOutboxMeta(JSON.parse(JSON.stringify(stored)));
    expect(restored).toEqual({
      meta: { user: { id: "u-1" } },
      trace: { parentID: "span-1", tracing: true },
    });
  });

  it("reads rows without a trace (tracing off, or written before traces were kept)", () => {
    expect(outboxMeta(undefined, null)).toEqual({ user: null });
    expect(splitOutboxMeta({ user: null })).toEqual({ meta: { user: null }, trace: null });
    expect(splitOutboxMeta(null)).toEqual({ meta: {}, trace: null });
    expect(splitOutboxMeta({ user: null, $trace: { parentID: 5 } })).toEqual({
      meta: { user: null },
      trace: null,
    });
  });
});
