/**
 * Tracing on one node (TRACING_EXPORTER=zipkin, spans posted to an in-test Zipkin collector):
 * every database statement is a span under the action that made it, tagged with its operation
 * and table only; the handler of a durable event joins the trace of the request that recorded
 * the event (under a `publish` span from the outbox relay); with tracing off nothing is wrapped.
 */
import { Sequelize } from "sequelize";
import { zipkinId } from "../../lib/tracing";
import { startZipkinCollector, type ZipkinCollector, type ZipkinSpan } from "../helpers/zipkin";
import {
  createTeacher,
  eventually,
  registerStudent,
  startCampus,
  uniqueEmail,
  type Campus,
} from "../helpers/campus";

jest.setTimeout(60000);

let zipkin: ZipkinCollector;
let campus: Campus;
let admin: string;

beforeAll(async () => {
  zipkin = await startZipkinCollector();
  campus = await startCampus({ TRACING_EXPORTER: "zipkin", TRACING_ZIPKIN_URL: zipkin.url });
  admin = await campus.adminToken();
});

afterAll(async () => {
  await campus?.stop();
  await zipkin?.stop();
});

const traceOf = (requestId: string) =>
  zipkin.spans.filter((span) => span.traceId === zipkinId(requestId));

const actionSpan = (spans: ZipkinSpan[], action: string) =>
  spans.find((span) => span.name === `action '${action}'`);

const childrenOf = (spans: ZipkinSpan[], parent: ZipkinSpan | undefined) =>
  spans.filter((span) => parent && span.parentId === parent.id);

const dbSpans = (spans: ZipkinSpan[]) => spans.filter((span) => span.name.startsWith("db "));

describe("database spans", () => {
  it("puts the SELECT of GET /api/students/:id under the students action that ran it", async () => {
    const email = uniqueEmail("traced");
    const created = await campus.request("POST", "/api/students", {
      token: admin,
      body: { firstName: "Traced", lastName: "Read", email },
    });
    expect(created.status).toBe(201);
    const requestId = `trace-read-${Date.now()}`;
    const read = await campus.request("GET", `/api/students/${created.body.id}`, {
      token: admin,
      headers: { "X-Request-ID": requestId },
    });
    expect(read.status).toBe(200);

    await eventually(async () => {
      const spans = traceOf(requestId);
      const byId = actionSpan(spans, "students.byId");
      expect(byId).toBeDefined();
      expect(childrenOf(spans, byId)).toEqual([
        expect.objectContaining({
          name: "db SELECT students.students",
          localEndpoint: expect.objectContaining({ serviceName: "students" }),
          tags: expect.objectContaining({
            "db.system": "postgresql",
            "db.operation": "SELECT",
            "db.table": "students.students",
            requestID: requestId,
          }),
        }),
      ]);
      // students.byId is the cached read called by the published students.get.
      expect(byId!.parentId).toBe(actionSpan(spans, "students.get")!.id);
    }, 10000);

    // Operation and table only: neither the id nor the email the statement used.
    const text = JSON.stringify(dbSpans(traceOf(requestId)));
    expect(text).not.toContain(created.body.id);
    expect(text).not.toContain(email);
  });

  it("records a failed statement with its error class and SQLSTATE, not the value", async () => {
    const email = uniqueEmail("twice");
    const body = { firstName: "Dup", lastName: "Licate", email };
    expect((await campus.request("POST", "/api/students", { token: admin, body })).status).toBe(
      201,
    );
    const requestId = `trace-duplicate-${Date.now()}`;
    const again = await campus.request("POST", "/api/students", {
      token: admin,
      body,
      headers: { "X-Request-ID": requestId },
    });
    expect(again.status).toBe(409);

    await eventually(async () => {
      const spans = traceOf(requestId);
      const insert = dbSpans(spans).find((span) => span.name === "db INSERT students.students");
      expect(insert?.parentId).toBe(actionSpan(spans, "students.createRecord")?.id);
      expect(insert?.tags).toEqual(
        expect.objectContaining({
          error: "SequelizeUniqueConstraintError (SQLSTATE 23505)",
          "error.code": "23505",
        }),
      );
    }, 10000);
    expect(JSON.stringify(traceOf(requestId))).not.toContain(email);
  });
});

describe("durable-event handlers in the request's trace", () => {
  it("an enrollment's trace holds its statements, the publish and the notifications handler", async () => {
    const account = await registerStudent(campus);
    const course = await campus.request("POST", "/api/courses", {
      token: admin,
      body: { code: `TRACE-${Date.now()}`, title: "Traced course" },
    });
    expect(course.status).toBe(201);
    const requestId = `trace-enroll-${Date.now()}`;
    const enrolled = await campus.request("POST", `/api/students/${account.studentId}/courses`, {
      token: admin,
      body: { courseId: course.body.id },
      headers: { "X-Request-ID": requestId },
    });
    expect(enrolled.status).toBe(201);

    await eventually(async () => {
      const spans = traceOf(requestId);
      const enroll = actionSpan(spans, "courses.enroll");
      expect(enroll?.parentId).toBe(actionSpan(spans, "students.enroll")?.id);
      // The transaction, statement by statement, under the action.
      expect(
        dbSpans(childrenOf(spans, enroll))
          .sort((a, b) => a.timestamp - b.timestamp)
          .map((span) => span.name),
      ).toEqual(
        expect.arrayContaining([
          "db BEGIN",
          "db UPDATE courses.courses",
          "db INSERT courses.enrollments",
          "db INSERT courses.outbox",
          "db COMMIT",
        ]),
      );
      // The relay's own statements (claiming and deleting outbox rows) are not the action's.
      const underEnroll = dbSpans(childrenOf(spans, enroll)).map((span) => span.name);
      expect(underEnroll).not.toContain("db UPDATE courses.outbox");
      expect(underEnroll).not.toContain("db DELETE courses.outbox");
      // The outbox relay's publish continues the trace under the action that recorded it…
      const publish = spans.find((span) => span.name === "publish 'enrollment.created'");
      expect(publish?.parentId).toBe(enroll!.id);
      expect(publish?.localEndpoint?.serviceName).toBe("courses");
      // …and the notifications handler continues it under the publish.
      const handler = spans.find((span) => span.name === "channel 'enrollment.created'");
      expect(handler).toEqual(
        expect.objectContaining({
          parentId: publish!.id,
          localEndpoint: expect.objectContaining({ serviceName: "notifications" }),
          tags: expect.objectContaining({ requestID: requestId, "channel.group": "notifications" }),
        }),
      );
      // The handler's own calls and statements are its children.
      const below = childrenOf(spans, handler).map((span) => span.name);
      expect(below).toEqual(
        expect.arrayContaining([
          "action 'users.accountsOfStudents'",
          "db INSERT notifications.notifications",
        ]),
      );
    }, 15000);
    expect(zipkin.refused).toBe(0);
  });
});

describe("tracing off", () => {
  it("leaves Sequelize's query untouched and exports nothing", async () => {
    const plain = await startCampus();
    try {
      for (const name of ["students", "courses", "users", "notifications", "quizzes", "profiles"]) {
        const service = plain.broker.getLocalService(name) as unknown as {
          adapter: { db: Sequelize };
        };
        expect(service.adapter.db.query).toBe(Sequelize.prototype.query);
      }
      const traced = campus.broker.getLocalService("students") as unknown as {
        adapter: { db: Sequelize };
      };
      expect(traced.adapter.db.query).not.toBe(Sequelize.prototype.query);
      expect(plain.broker.isTracingEnabled()).toBe(false);
    } finally {
      await plain.stop();
    }
  });
});

describe("reads with tracing on (through Sequelize, so that each statement is a span)", () => {
  it("answers the course gradebook with every grade under its item", async () => {
    const teacher = await createTeacher(campus);
    const [alice, bob] = await Promise.all([registerStudent(campus), registerStudent(campus)]);
    const course = await campus.request("POST", "/api/courses", {
      token: teacher,
      body: { code: `TRACED-${Date.now()}`, title: "Traced gradebook" },
    });
    expect(course.status).toBe(201);
    const courseId = course.body.id as string;
    for (const student of [alice, bob]) {
      const enrolled = await campus.request("POST", `/api/courses/${courseId}/students`, {
        token: admin,
        body: { studentId: student.studentId },
      });
      expect(enrolled.status).toBe(201);
    }
    const dueAt = new Date(Date.now() + 7 * 24 * 3600 * 1000).toISOString();
    const items: string[] = [];
    for (const title of ["B essay", "A essay"]) {
      const created = await campus.request("POST", `/api/courses/${courseId}/assignments`, {
        token: teacher,
        body: { title, dueAt, maxPoints: 10, published: true },
      });
      expect(created.status).toBe(201);
      items.push(created.body.id);
    }
    // alice: 4 on "B essay" only; bob: 9 on "A essay" only.
    const graded: [string, { token: string; studentId: string }, number][] = [
      [items[0], alice, 4],
      [items[1], bob, 9],
    ];
    for (const [assignmentId, student, points] of graded) {
      const submitted = await campus.request(
        "PUT",
        `/api/assignments/${assignmentId}/submissions/me`,
        { token: student.token, body: { body: "My answer" } },
      );
      expect(submitted.status).toBeLessThan(300);
      const result = await campus.request(
        "POST",
        `/api/assignments/${assignmentId}/submissions/${student.studentId}/grade`,
        { token: teacher, body: { points } },
      );
      expect(result.status).toBeLessThan(300);
    }
    const book = await eventually(async () => {
      const result = await campus.request("GET", `/api/courses/${courseId}/gradebook`, {
        token: teacher,
      });
      expect(result.status).toBe(200);
      const rows = result.body.rows as { studentId: string; scores: Record<string, unknown> }[];
      expect(rows.filter((row) => Object.values(row.scores).some((v) => v !== null))).toHaveLength(
        2,
      );
      return result.body;
    }, 10000);
    const scores = Object.fromEntries(
      (book.rows as { studentId: string; scores: Record<string, number | null> }[]).map((row) => [
        row.studentId,
        row.scores,
      ]),
    );
    expect(scores[alice.studentId]).toEqual({ [items[0]]: 4, [items[1]]: null });
    expect(scores[bob.studentId]).toEqual({ [items[0]]: null, [items[1]]: 9 });
  });
});
