/**
 * The OpenAPI document against the running gateway: it is valid OpenAPI 3.1, it lists every
 * route the gateway has, and every operation it lists answers over HTTP with its documented
 * success status and a body that matches the documented schema.
 */
import Ajv2020 from "ajv/dist/2020";
import { loadConfig } from "../../lib/config";
import { DOCS_CSP } from "../../services/api/docs-route";
import { restAliases } from "../../lib/routes";
import coursesService from "../../services/courses/courses.service";
import notificationsService from "../../services/notifications/notifications.service";
import scheduleService from "../../services/schedule/schedule.service";
import quizzesService from "../../services/quizzes/quizzes.service";
import studentsService from "../../services/students/students.service";
import usersService from "../../services/users/users.service";
import { eventually, startCampus, type Campus } from "../helpers/campus";

// Both packages are ES modules; Jest (with --experimental-vm-modules) loads them through import().
const importEsm = new Function("specifier", "return import(specifier)") as (
  specifier: string,
) => Promise<any>;

let campus: Campus;
let admin: string;
let document: any;

beforeAll(async () => {
  campus = await startCampus();
  admin = await campus.adminToken();
  const answer = await campus.request("GET", "/openapi.json");
  expect(answer.status).toBe(200);
  document = answer.body;
});
afterAll(() => campus.stop());

function joinPath(base: string, path: string): string {
  const joined = `/${base}/${path}`.replace(/\/+/g, "/");
  return joined.length > 1 ? joined.replace(/\/$/, "") : joined;
}
const toOpenApi = (path: string) => path.replace(/:([A-Za-z0-9_]+)/g, "{$1}");

function operations(): { method: string; path: string; op: any }[] {
  return Object.entries(document.paths).flatMap(([path, ops]) =>
    Object.entries(ops as Record<string, any>).map(([method, op]) => ({ method, path, op })),
  );
}

/** Ajv over the document's components, with the formats the document uses. */
function schemaValidator() {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  ajv.addFormat("uuid", /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i);
  ajv.addFormat("email", /^[^\s@]+@[^\s@]+\.[^\s@]+$/);
  ajv.addFormat("date-time", (value: string) => !Number.isNaN(Date.parse(value)));
  ajv.addFormat("uri", /^[a-z][a-z0-9+.-]*:/i);
  ajv.addSchema({ $id: "https://campus.test/openapi.json", components: document.components });
  let checks = 0;
  return (schema: any, value: unknown) => {
    checks += 1;
    const validate = ajv.compile({
      $id: `https://campus.test/check-${checks}`,
      ...(schema.$ref
        ? { $ref: `https://campus.test/openapi.json${schema.$ref}` }
        : JSON.parse(
            JSON.stringify(schema).replace(/"#\//g, '"https://campus.test/openapi.json#/'),
          )),
    });
    return validate(value) ? [] : (validate.errors ?? []);
  };
}

describe("GET /openapi.json", () => {
  it("is a valid OpenAPI 3.1 document", async () => {
    const { Validator } = await importEsm("@seriousme/openapi-schema-validator");
    const validator = new Validator();
    const result = await validator.validate(document);
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
    expect(validator.version).toBe("3.1");
    expect(document.openapi).toMatch(/^3\.1\./);
  });

  it("lists every route of the running gateway, under the action it calls", () => {
    const api = campus.broker.getLocalService("api") as unknown as {
      settings: { routes: { path: string; aliases?: Record<string, unknown> }[] };
    };
    const routed: string[] = [];
    for (const route of api.settings.routes) {
      for (const [alias, target] of Object.entries(route.aliases ?? {})) {
        const [method, path = "/"] = alias.split(/\s+/);
        const full = joinPath(route.path, path);
        if (full.startsWith("/docs")) continue; // the HTML page and its assets
        const op = document.paths[toOpenApi(full)]?.[method.toLowerCase()];
        routed.push(`${method} ${full}`);
        expect({ alias: `${method} ${full}`, documented: op !== undefined }).toEqual({
          alias: `${method} ${full}`,
          documented: true,
        });
        if (typeof target === "string") expect(op.operationId).toBe(target);
      }
    }
    // And nothing more: the document lists exactly the routes.
    expect(operations().length).toBe(routed.length);
  });

  it("lists what restAliases builds from the services, and the auth aliases", () => {
    const config = loadConfig({ LOG_FORMAT: "json" });
    const schemas = [
      studentsService,
      coursesService,
      usersService,
      notificationsService,
      scheduleService,
      quizzesService,
    ].map((service) => service(config)) as never as Parameters<typeof restAliases>[0];
    const expected = {
      ...Object.fromEntries(
        Object.entries(restAliases(schemas)).map(([alias, action]) => {
          const [method, path] = alias.split(" ");
          return [`${method} ${joinPath("/api", path)}`, action];
        }),
      ),
      "POST /api/auth/login": "users.login",
      "POST /api/auth/register": "users.register",
    };
    for (const [alias, action] of Object.entries(expected)) {
      const [method, path] = alias.split(" ");
      expect(document.paths[toOpenApi(path)]?.[method.toLowerCase()]?.operationId).toBe(action);
    }
  });

  it("has request examples that its own schemas accept", () => {
    const check = schemaValidator();
    expect(check({ $ref: "#/components/schemas/Student" }, { id: "x" })).not.toEqual([]);
    let examples = 0;
    for (const { op } of operations()) {
      const media = op.requestBody?.content["application/json"];
      if (!media?.example) continue;
      examples += 1;
      expect({ op: op.operationId, errors: check(media.schema, media.example) }).toEqual({
        op: op.operationId,
        errors: [],
      });
    }
    expect(examples).toBeGreaterThanOrEqual(10);
  });
});

describe("every documented operation over HTTP", () => {
  interface Call {
    path?: Record<string, string>;
    query?: string;
    body?: unknown;
    token?: string | null;
  }

  it("answers its documented success status with a body of its documented schema", async () => {
    const check = schemaValidator();
    const byId = new Map(operations().map((entry) => [entry.op.operationId, entry]));
    const ids: Record<string, string> = {};
    const answers: Record<string, any> = {};

    // The fixtures the paths need that no earlier operation of the plan creates.
    const second = await campus.request("POST", "/api/courses", {
      token: admin,
      body: { code: "DOC-2", title: "Second course" },
    });
    ids.course2 = second.body.id;
    const third = await campus.request("POST", "/api/courses", {
      token: admin,
      body: { code: "DOC-3", title: "Third course" },
    });
    ids.course3 = third.body.id;

    const exampleOf = (id: string) =>
      byId.get(id)!.op.requestBody?.content["application/json"].example;

    // In an order where each operation finds what it needs; bodies are the documented examples
    // unless the example holds a placeholder id.
    const plan: [string, () => Call][] = [
      ["health.live", () => ({ token: null })],
      ["health.ready", () => ({ token: null })],
      ["docs.openapi", () => ({ token: null })],
      ["users.register", () => ({ token: null })],
      ["users.login", () => ({ token: null })],
      ["users.me", () => ({})],
      ["students.create", () => ({})],
      ["students.list", () => ({ query: "?page=1&pageSize=5&sort=-createdAt" })],
      ["students.get", () => ({ path: { id: ids.student } })],
      ["students.replace", () => ({ path: { id: ids.student } })],
      ["students.update", () => ({ path: { id: ids.student } })],
      ["courses.create", () => ({})],
      ["courses.list", () => ({ query: "?search=cs&sort=code" })],
      ["courses.get", () => ({ path: { id: ids.course } })],
      ["courses.replace", () => ({ path: { id: ids.course } })],
      ["courses.update", () => ({ path: { id: ids.course } })],
      ["students.enroll", () => ({ path: { id: ids.student }, body: { courseId: ids.course } })],
      ["courses.enroll", () => ({ path: { id: ids.course2 }, body: { studentId: ids.student } })],
      ["students.courses", () => ({ path: { id: ids.student } })],
      ["courses.students", () => ({ path: { id: ids.course } })],
      ["courses.waitlist", () => ({ path: { id: ids.course } })],
      ["courses.history", () => ({ path: { courseId: ids.course, studentId: ids.student } })],
      ["courses.complete", () => ({ path: { id: ids.course3 } })],
      ["users.list", () => ({ query: "?role=teacher" })],
      ["users.create", () => ({})],
      ["users.get", () => ({ path: { id: ids.user } })],
      ["users.update", () => ({ path: { id: ids.user } })],
      [
        "courses.setTeachers",
        () => ({ path: { id: ids.course }, body: { teacherIds: [ids.user] } }),
      ],
      ["assignments.create", () => ({ path: { id: ids.course } })],
      ["assignments.list", () => ({ path: { id: ids.course } })],
      ["assignments.get", () => ({ path: { id: ids.assignment } })],
      ["assignments.update", () => ({ path: { id: ids.assignment }, body: { maxPoints: 12 } })],
      ["assignments.submit", () => ({ token: ids.studentToken, path: { id: ids.assignment } })],
      ["assignments.submissions", () => ({ path: { id: ids.assignment } })],
      [
        "assignments.submission",
        () => ({ path: { id: ids.assignment, studentId: ids.registeredStudent } }),
      ],
      [
        "assignments.grade",
        () => ({ path: { id: ids.assignment, studentId: ids.registeredStudent } }),
      ],
      ["gradebook.setGrading", () => ({ path: { id: ids.course } })],
      ["gradebook.courseGradebook", () => ({ path: { id: ids.course } })],
      [
        "gradebook.studentGrades",
        () => ({ path: { id: ids.registeredStudent }, query: `?courseId=${ids.course}` }),
      ],
      [
        "reports.request",
        () => ({ body: { type: "course_performance", format: "pdf", courseId: ids.course } }),
      ],
      ["reports.list", () => ({ query: "?page=1&pageSize=5" })],
      ["reports.get", () => ({ path: { id: ids.report } })],
      ["reports.download", () => ({ path: { id: ids.report } })],
      ["reports.regenerate", () => ({ path: { id: ids.report } })],
      ["assignments.remove", () => ({ path: { id: ids.assignment } })],
      ["quizzes.create", () => ({ path: { id: ids.course } })],
      ["quizzes.listOfCourse", () => ({ path: { id: ids.course } })],
      ["quizzes.get", () => ({ path: { id: ids.quiz } })],
      ["quizzes.update", () => ({ path: { id: ids.quiz } })],
      ["quizzes.publish", () => ({ path: { id: ids.quiz } })],
      ["quizzes.startAttempt", () => ({ token: ids.studentToken, path: { id: ids.quiz } })],
      [
        "quizzes.submitAttempt",
        () => ({ token: ids.studentToken, path: { id: ids.quiz, attemptId: ids.attempt } }),
      ],
      ["quizzes.attempts", () => ({ path: { id: ids.quiz } })],
      ["quizzes.attempt", () => ({ path: { id: ids.quiz, attemptId: ids.attempt } })],
      ["quizzes.remove", () => ({ path: { id: ids.draftQuiz } })],
      ["notifications.list", () => ({ token: ids.studentToken, query: "?unread=true" })],
      ["notifications.unreadCount", () => ({ token: ids.studentToken })],
      [
        "notifications.markRead",
        () => ({ token: ids.studentToken, path: { id: ids.notification } }),
      ],
      ["notifications.markAllRead", () => ({ token: ids.studentToken })],
      ["profiles.me", () => ({ token: ids.studentToken })],
      ["profiles.updateMe", () => ({ token: ids.studentToken })],
      ["profiles.achievements", () => ({ path: { userId: ids.registeredUser } })],
      // The schedule: lessons of the second course (the student is enrolled in it).
      ["schedule.createLesson", () => ({ path: { id: ids.course2 } })],
      ["schedule.createSeries", () => ({ path: { id: ids.course2 } })],
      ["schedule.getLesson", () => ({ path: { id: ids.lesson } })],
      ["schedule.updateLesson", () => ({ path: { id: ids.lesson } })],
      [
        "schedule.courseSchedule",
        () => ({ path: { id: ids.course2 }, query: "?from=2027-09-01&to=2027-12-31" }),
      ],
      ["schedule.mySchedule", () => ({ token: ids.studentToken })],
      [
        "schedule.recordAttendance",
        () => ({
          path: { id: ids.lesson },
          body: { records: [{ studentId: ids.student, status: "late", note: "bus" }] },
        }),
      ],
      ["schedule.lessonAttendance", () => ({ path: { id: ids.lesson } })],
      ["schedule.studentAttendance", () => ({ path: { id: ids.student } })],
      ["schedule.createFeed", () => ({})],
      ["schedule.feed", () => ({ token: null, path: { token: ids.feedToken } })],
      ["schedule.removeLesson", () => ({ path: { id: ids.lesson } })],
      ["students.drop", () => ({ path: { id: ids.student, courseId: ids.course } })],
      ["courses.drop", () => ({ path: { id: ids.course2, studentId: ids.student } })],
      ["courses.remove", () => ({ path: { id: ids.course } })],
      ["students.remove", () => ({ path: { id: ids.student } })],
      ["users.remove", () => ({ path: { id: ids.user } })],
    ];
    expect(plan.map(([id]) => id).sort()).toEqual([...byId.keys()].sort());

    for (const [operationId, prepare] of plan) {
      if (operationId === "quizzes.startAttempt") {
        // The registered student takes the quiz: enrolled in its course first (the coursework
        // steps of this plan may have enrolled them already).
        const enrolled = await campus.request("POST", `/api/courses/${ids.course}/students`, {
          token: admin,
          body: { studentId: answers["users.register"].user.studentId },
        });
        if (enrolled.status !== 201) expect(enrolled.body.type).toBe("ALREADY_ENROLLED");
      }
      if (operationId === "quizzes.remove") {
        // Only a quiz without attempts can go: a fresh draft.
        const draft = await campus.request("POST", `/api/courses/${ids.course}/quizzes`, {
          token: admin,
          body: exampleOf("quizzes.create"),
        });
        ids.draftQuiz = draft.body.id;
      }
      if (operationId === "notifications.list") {
        // The welcome notification of the registered student comes from an event.
        await eventually(async () => {
          const page = await campus.request("GET", "/api/notifications", {
            token: ids.studentToken,
          });
          expect(page.body.rows.length).toBeGreaterThan(0);
          ids.notification = page.body.rows[0].id;
        });
      }
      if (operationId === "reports.download") {
        // The worker makes the report in the background.
        await eventually(async () => {
          const report = await campus.request("GET", `/api/reports/${ids.report}`, {
            token: admin,
          });
          expect(report.body.status).toBe("succeeded");
        });
      }
      if (operationId === "assignments.create") {
        // The registered student (who has a token) joins the course to submit its work.
        const enrolled = await campus.request("POST", `/api/courses/${ids.course}/students`, {
          token: admin,
          body: { studentId: ids.registeredStudent },
        });
        expect(enrolled.status).toBe(201);
      }
      const { method, path, op } = byId.get(operationId)!;
      const call = prepare();
      const url =
        path.replace(/\{([^}]+)\}/g, (_, name: string) => call.path?.[name] ?? "missing") +
        (call.query ?? "");
      const body = call.body ?? exampleOf(operationId);
      const answer = await campus.request(method.toUpperCase(), url, {
        token: call.token === null ? undefined : (call.token ?? admin),
        body,
      });
      answers[operationId] = answer.body;

      const success = Object.keys(op.responses).find((status) => status.startsWith("2"));
      expect({ operationId, status: answer.status, body: answer.body }).toEqual({
        operationId,
        status: Number(success),
        body: answer.body,
      });
      const schema = op.responses[String(answer.status)].content?.["application/json"]?.schema;
      if (schema) {
        expect({ operationId, errors: check(schema, answer.body) }).toEqual({
          operationId,
          errors: [],
        });
      }

      if (operationId === "users.register") {
        ids.studentToken = answer.body.accessToken;
        ids.registeredStudent = answer.body.user.studentId;
        ids.registeredUser = answer.body.user.id;
      }
      if (operationId === "assignments.create") ids.assignment = answer.body.id;
      if (operationId === "students.create") ids.student = answer.body.id;
      if (operationId === "courses.create") ids.course = answer.body.id;
      if (operationId === "users.create") ids.user = answer.body.id;
      if (operationId === "schedule.createLesson") ids.lesson = answer.body.id;
      if (operationId === "schedule.createFeed") ids.feedToken = answer.body.url.split("/").pop();
      if (operationId === "quizzes.create") ids.quiz = answer.body.id;
      if (operationId === "reports.request") ids.report = answer.body.id;
      if (operationId === "quizzes.startAttempt") ids.attempt = answer.body.id;
    }
  });

  it("documents the statuses of failures too, and they match the error schema", async () => {
    const check = schemaValidator();
    const failures: [string, string, { token?: string; body?: unknown }][] = [
      ["GET", "/api/students", {}],
      ["GET", "/api/students?pageSize=1000", { token: admin }],
      ["GET", `/api/courses/${"0".repeat(8)}-0000-4000-8000-${"0".repeat(12)}`, { token: admin }],
      ["POST", "/api/courses", { token: admin, body: { code: "", title: "x" } }],
    ];
    for (const [method, url, options] of failures) {
      const answer = await campus.request(method, url, options);
      const path = url.split("?")[0].replace(/[0-9a-f-]{36}$/, "{id}");
      const documented =
        document.paths[path][method.toLowerCase()].responses[String(answer.status)];
      expect({ url, status: answer.status, documented: documented !== undefined }).toEqual({
        url,
        status: answer.status,
        documented: true,
      });
      expect(check(documented.content["application/json"].schema, answer.body)).toEqual([]);
    }
  });
});

describe("GET /docs", () => {
  it("serves the Swagger UI page with a Content-Security-Policy of this origin only", async () => {
    const page = await campus.request("GET", "/docs");
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toMatch(/^text\/html/);
    expect(page.text).toContain('<div id="swagger-ui">');
    const csp = page.headers.get("content-security-policy") ?? "";
    expect(csp).toBe(DOCS_CSP);
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self'");
    // Only this origin (and data: images): no other host, nothing inline or eval'd.
    expect(csp).not.toMatch(/https?:|\*/);
    expect(csp).not.toContain("unsafe");
  });

  it("serves the Swagger UI assets from the package, and nothing else under /docs/assets", async () => {
    for (const [file, type] of [
      ["swagger-ui-bundle.js", "text/javascript"],
      ["swagger-ui.css", "text/css"],
      ["init.js", "text/javascript"],
    ]) {
      const asset = await campus.request("GET", `/docs/assets/${file}`);
      expect({ file, status: asset.status }).toEqual({ file, status: 200 });
      expect(asset.headers.get("content-type")).toContain(type);
      expect(asset.headers.get("content-security-policy")).toBe(DOCS_CSP);
    }
    for (const file of [
      "index.html",
      "swagger-initializer.js",
      "..%2F..%2Fpackage.json",
      "__proto__",
    ]) {
      const asset = await campus.request("GET", `/docs/assets/${file}`);
      expect({ file, status: asset.status }).toEqual({ file, status: 404 });
      expect(asset.body).toMatchObject({ code: 404, type: "NOT_FOUND" });
    }
  });
});
