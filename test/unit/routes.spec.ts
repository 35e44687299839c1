import { ServiceBroker, type ServiceSchema } from "moleculer";
import { loadConfig } from "../../lib/config";
import { idParam } from "../../lib/ids";
import { courseItemRoutes, EVERYONE, restAliases, route, STAFF } from "../../lib/routes";
import { coursesRoutes } from "../../services/courses/courses.routes";
import coursesService from "../../services/courses/courses.service";
import { notificationsRoutes } from "../../services/notifications/notifications.routes";
import notificationsService from "../../services/notifications/notifications.service";
import { assignmentsRoutes } from "../../services/assignments/assignments.routes";
import assignmentsService from "../../services/assignments/assignments.service";
import { gradebookRoutes } from "../../services/gradebook/gradebook.routes";
import gradebookService from "../../services/gradebook/gradebook.service";
import { quizzesRoutes } from "../../services/quizzes/quizzes.routes";
import quizzesService from "../../services/quizzes/quizzes.service";
import { profilesRoutes } from "../../services/profiles/profiles.routes";
import profilesService from "../../services/profiles/profiles.service";
import { studentsRoutes } from "../../services/students/students.routes";
import studentsService from "../../services/students/students.service";
import { usersRoutes } from "../../services/users/users.routes";
import usersService from "../../services/users/users.service";
import { runCommand } from "../helpers/delivery";

type RestSchema = {
  name: string;
  settings: { rest: string };
  actions: Record<string, { permissions?: unknown }>;
};

describe("restAliases", () => {
  it("joins each service's base path with its actions' rest paths", () => {
    const aliases = restAliases([
      {
        name: "students",
        settings: { rest: "/students" },
        actions: { list: { rest: "GET /" }, get: { rest: "GET /:id" }, byId: { cache: true } },
      },
      { name: "users", settings: { rest: "/" }, actions: { me: { rest: "GET /auth/me" } } },
    ]);

    expect(aliases).toEqual({
      "GET /students": "students.list",
      "GET /students/:id": "students.get",
      "GET /auth/me": "users.me",
    });
  });

  it("puts an action with its own restBase under that base path", () => {
    expect(
      restAliases([
        {
          name: "courses",
          settings: { rest: "/courses" },
          actions: {
            get: { rest: "GET /:id" },
            history: { restBase: "/enrollments", rest: "GET /:courseId/:studentId/history" },
          },
        },
      ]),
    ).toEqual({
      "GET /courses/:id": "courses.get",
      "GET /enrollments/:courseId/:studentId/history": "courses.history",
    });
  });

  it("uses the service name when the service declares no base path", () => {
    expect(restAliases([{ name: "courses", actions: { list: { rest: "GET /" } } }])).toEqual({
      "GET /courses": "courses.list",
    });
  });

  it("refuses two actions on the same method and path", () => {
    const schema = { name: "a", actions: { one: { rest: "GET /x" }, two: { rest: "GET /x/" } } };

    expect(() => restAliases([schema])).toThrow("Two actions claim GET /a/x");
  });
});

describe("route", () => {
  it("declares each path param as an id, before the params given, unknown keys removed", () => {
    expect(
      route("POST /quizzes/:id/attempts/:attemptId/submit", ["student"], { answers: "array" }),
    ).toEqual({
      rest: "POST /quizzes/:id/attempts/:attemptId/submit",
      permissions: ["student"],
      params: { $$strict: "remove", id: idParam, attemptId: idParam, answers: "array" },
    });
    expect(Object.keys(route("GET /:courseId/:studentId/history", EVERYONE).params!)).toEqual([
      "$$strict",
      "courseId",
      "studentId",
    ]);
  });

  it("keeps a path param's own rule when the params give one, and adds none without a path param", () => {
    const token = { type: "string", min: 1 };
    expect(route("GET /schedule/feed/:token", ["$anyone"], { token }).params).toEqual({
      $$strict: "remove",
      token,
    });
    expect(route("POST /schedule/feed", EVERYONE).params).toEqual({ $$strict: "remove" });
  });
});

describe("courseItemRoutes", () => {
  it("creates and lists under the course, reads and changes at the item; staff write", () => {
    const routes = courseItemRoutes("essays", { title: "string" }, { title: "string|optional" });
    expect(
      Object.fromEntries(
        Object.entries(routes).map(([name, route]) => [name, [route.rest, route.permissions]]),
      ),
    ).toEqual({
      create: ["POST /courses/:id/essays", STAFF],
      list: ["GET /courses/:id/essays", EVERYONE],
      get: ["GET /essays/:id", EVERYONE],
      update: ["PATCH /essays/:id", STAFF],
      remove: ["DELETE /essays/:id", STAFF],
    });
    expect(Object.keys(routes.create.params!)).toEqual(["$$strict", "id", "title"]);
    expect(Object.keys(routes.list.params!)).toEqual(["$$strict", "id", "page", "pageSize"]);
    expect(routes.update.params!.title).toBe("string|optional");
  });
});

describe("the services' static route tables", () => {
  const config = loadConfig({});
  const tables = [
    studentsRoutes,
    coursesRoutes,
    usersRoutes,
    notificationsRoutes,
    assignmentsRoutes,
    gradebookRoutes,
    quizzesRoutes,
    profilesRoutes,
  ];
  // Each service as the broker builds it (its mixins applied), not started: nothing connects.
  const broker = new ServiceBroker({ logger: false });
  const services = [
    studentsService,
    coursesService,
    usersService,
    notificationsService,
    assignmentsService,
    gradebookService,
    quizzesService,
    profilesService,
  ].map(
    (service) =>
      broker.createService(service(config) as unknown as ServiceSchema)
        .schema as unknown as RestSchema,
  );

  it.each(tables.map((table, index) => [table.name, table, services[index]] as const))(
    "%s: the service publishes exactly its table's routes, permissions and params",
    (_name, table, service) => {
      expect(service.name).toBe(table.name);
      expect(service.settings.rest).toBe(table.settings.rest);
      for (const [action, declared] of Object.entries(table.actions)) {
        expect(service.actions[action]).toEqual(expect.objectContaining(declared));
      }
      const published = Object.entries(service.actions)
        .filter(([, action]) => action.permissions !== undefined)
        .map(([name]) => name);
      expect(published.sort()).toEqual(Object.keys(table.actions).sort());
    },
  );

  it("give the gateway the same aliases as the built services", () => {
    expect(restAliases(tables)).toEqual(restAliases(services));
  });
});

describe("a gateway-only node", () => {
  // A fresh process (the broker is built, not started): Jest's own module registry would hide what Node really loads.
  const PROBE = `
    const { loadConfig } = require("./lib/config");
    const { createNode } = require("./lib/node");
    const broker = createNode(loadConfig({
      SERVICES: process.argv[1],
      TRANSPORTER: "nats://127.0.0.1:4222",
      JWT_SECRET: "a-secret-of-at-least-thirty-two-characters",
      DATABASE_URL: "postgres://127.0.0.1:5432/unused",
    }));
    const database = Object.keys(require.cache)
      .map((path) => /node_modules\\/((?:@[^/]+\\/)?[^/]+)\\//.exec(path)?.[1])
      .filter((name) => /^(sequelize|pg|pg-pool|umzug|moleculer-db|moleculer-db-adapter-sequelize|@electric-sql\\/.*)$/.test(name ?? ""));
    process.stdout.write("\\nPROBE " + JSON.stringify({ services: broker.services.map((s) => s.name), database: [...new Set(database)] }) + "\\n", () => process.exit(0));
  `;
  const probe = async (services: string) => {
    const result = await runCommand(process.execPath, ["--import", "tsx", "-e", PROBE, services], {
      timeoutMs: 60000,
    });
    expect(result.stderr).toBe("");
    // The broker logs on stdout too; the probe's answer is its own line.
    return JSON.parse(/^PROBE (.*)$/m.exec(result.stdout)![1]) as {
      services: string[];
      database: string[];
    };
  };

  it("loads no database code", async () => {
    const { services, database } = await probe("api");
    expect(services).toContain("api");
    expect(database).toEqual([]);
  });

  it("while a node running a database service does (the probe can fail)", async () => {
    const { services, database } = await probe("api,students");
    expect(services).toEqual(expect.arrayContaining(["api", "students"]));
    expect(database).toEqual(expect.arrayContaining(["sequelize", "pg"]));
  });
});
