import { ServiceBroker, type ServiceSchema } from "moleculer";
import { loadConfig } from "../../lib/config";
import { courseFields } from "../../services/courses/courses";
import {
  fastestToJsonSchema,
  isOptionalRule,
  openApiDocument,
  OPERATIONS,
  paramsToJsonSchema,
  type JsonSchema,
} from "../../services/api/openapi";
import { pageParams } from "../../lib/paging";
import { restAliases } from "../../lib/routes";
import coursesService from "../../services/courses/courses.service";
import notificationsService from "../../services/notifications/notifications.service";
import scheduleService from "../../services/schedule/schedule.service";
import assignmentsService from "../../services/assignments/assignments.service";
import gradebookService from "../../services/gradebook/gradebook.service";
import quizzesService from "../../services/quizzes/quizzes.service";
import profilesService from "../../services/profiles/profiles.service";
import reportsService from "../../services/reports/reports.service";
import studentsService from "../../services/students/students.service";
import usersService from "../../services/users/users.service";

describe("fastestToJsonSchema", () => {
  it("converts string lengths, patterns and trimming", () => {
    expect(fastestToJsonSchema({ type: "string", min: 1, max: 32, pattern: /^\d{4}$/ })).toEqual({
      type: "string",
      minLength: 1,
      maxLength: 32,
      pattern: "^\\d{4}$",
    });
    expect(fastestToJsonSchema({ type: "string", length: 2 })).toEqual({
      type: "string",
      minLength: 2,
      maxLength: 2,
    });
    expect(fastestToJsonSchema({ type: "string", empty: false })).toEqual({
      type: "string",
      minLength: 1,
    });
    const trimmed = fastestToJsonSchema({ type: "string", trim: true, max: 100 });
    expect(trimmed).toMatchObject({ type: "string", maxLength: 100 });
    expect(trimmed.description).toMatch(/whitespace is removed/);
  });

  it("gives emails, uuids, urls and dates their formats", () => {
    expect(fastestToJsonSchema({ type: "email", mode: "precise", min: 3, max: 254 })).toEqual({
      type: "string",
      minLength: 3,
      maxLength: 254,
      format: "email",
    });
    expect(fastestToJsonSchema({ type: "uuid" })).toEqual({ type: "string", format: "uuid" });
    expect(fastestToJsonSchema({ type: "url" })).toEqual({ type: "string", format: "uri" });
    expect(fastestToJsonSchema({ type: "date", convert: true })).toEqual({
      type: "string",
      format: "date-time",
    });
  });

  it("converts numbers: integer, bounds, sign; `convert` (query strings) keeps the number type", () => {
    expect(fastestToJsonSchema(pageParams.pageSize)).toEqual({
      type: "integer",
      minimum: 1,
      maximum: 100,
    });
    expect(fastestToJsonSchema({ type: "number", positive: true })).toEqual({
      type: "number",
      exclusiveMinimum: 0,
    });
    expect(fastestToJsonSchema({ type: "number", negative: true, equal: -1 })).toEqual({
      type: "number",
      const: -1,
      exclusiveMaximum: 0,
    });
  });

  it("converts booleans, enums, equal and defaults", () => {
    expect(fastestToJsonSchema({ type: "boolean", convert: true })).toEqual({ type: "boolean" });
    expect(fastestToJsonSchema({ type: "enum", values: ["admin", "teacher"] })).toEqual({
      type: "string",
      enum: ["admin", "teacher"],
    });
    expect(fastestToJsonSchema({ type: "enum", values: [1, 2] })).toEqual({
      type: "integer",
      enum: [1, 2],
    });
    expect(fastestToJsonSchema({ type: "enum", values: ["a", 1] })).toEqual({ enum: ["a", 1] });
    expect(fastestToJsonSchema({ type: "equal", value: true })).toEqual({ const: true });
    expect(fastestToJsonSchema({ type: "number", default: 20 })).toEqual({
      type: "number",
      default: 20,
    });
  });

  it("converts arrays with their items and size bounds", () => {
    expect(
      fastestToJsonSchema({ type: "array", items: { type: "uuid" }, max: 100, unique: true }),
    ).toEqual({
      type: "array",
      maxItems: 100,
      items: { type: "string", format: "uuid" },
      uniqueItems: true,
    });
    expect(fastestToJsonSchema({ type: "array", items: "string", min: 1 })).toEqual({
      type: "array",
      minItems: 1,
      items: { type: "string" },
    });
  });

  it("makes nullable rules accept null", () => {
    expect(fastestToJsonSchema(courseFields.capacity)).toEqual({
      type: ["integer", "null"],
      minimum: 1,
      maximum: 100000,
    });
    expect(fastestToJsonSchema({ type: "enum", values: ["a"], nullable: true })).toEqual({
      type: ["string", "null"],
      enum: ["a", null],
    });
    expect(fastestToJsonSchema({ type: "equal", value: 1, nullable: true })).toEqual({
      anyOf: [{ const: 1 }, { type: "null" }],
    });
  });

  it("converts nested objects, alternatives and shorthand strings", () => {
    expect(
      fastestToJsonSchema({
        type: "object",
        strict: true,
        props: { name: "string|min:1", age: { type: "number", optional: true } },
      }),
    ).toEqual({
      type: "object",
      properties: { name: { type: "string", minLength: 1 }, age: { type: "number" } },
      required: ["name"],
      additionalProperties: false,
    });
    expect(fastestToJsonSchema([{ type: "uuid" }, { type: "number" }])).toEqual({
      anyOf: [{ type: "string", format: "uuid" }, { type: "number" }],
    });
    expect(fastestToJsonSchema({ type: "multi", rules: ["boolean", "number|integer"] })).toEqual({
      anyOf: [{ type: "boolean" }, { type: "integer" }],
    });
    expect(fastestToJsonSchema("number|integer|min:1|optional")).toEqual({
      type: "integer",
      minimum: 1,
    });
  });

  it("answers any value for `any` and rule types it does not know", () => {
    expect(fastestToJsonSchema({ type: "any" })).toEqual({});
    expect(fastestToJsonSchema({ type: "luhn" })).toEqual({});
    expect(fastestToJsonSchema(undefined)).toEqual({});
  });
});

describe("paramsToJsonSchema", () => {
  it("ignores $$strict, leaves out the omitted names and lists only required properties", () => {
    const schema = paramsToJsonSchema(
      {
        $$strict: "remove",
        id: { type: "string", min: 1 },
        code: { type: "string", min: 1 },
        capacity: { type: "number", optional: true },
        page: { type: "number", default: 1 },
      },
      ["id"],
    );
    expect(schema).toEqual({
      type: "object",
      properties: {
        code: { type: "string", minLength: 1 },
        capacity: { type: "number" },
        page: { type: "number", default: 1 },
      },
      required: ["code"],
    });
  });

  it("has no `required` when every property is optional", () => {
    expect(paramsToJsonSchema({ page: pageParams.page })).not.toHaveProperty("required");
    expect(isOptionalRule("string|optional")).toBe(true);
    expect(isOptionalRule([{ type: "string", optional: true }, "number|optional"])).toBe(true);
    expect(isOptionalRule({ type: "string" })).toBe(false);
  });
});

describe("the document of the real services", () => {
  const config = loadConfig({ LOG_FORMAT: "json" });
  // Each service as the broker builds it (its mixins applied), not started: nothing connects.
  const broker = new ServiceBroker({ logger: false });
  const services = [
    studentsService,
    coursesService,
    usersService,
    notificationsService,
    scheduleService,
    assignmentsService,
    gradebookService,
    quizzesService,
    profilesService,
    reportsService,
  ].map(
    (service) => broker.createService(service(config) as unknown as ServiceSchema).schema,
  ) as never as Parameters<typeof restAliases>[0];
  const aliases = restAliases(services);
  const auth = { "POST login": "users.login", "POST register": "users.register" };
  const document = openApiDocument(
    [
      { path: "/api/auth", aliases: auth },
      { path: "/api", aliases },
    ],
    services,
  ) as any;

  const operations = Object.values(document.paths).flatMap((ops) =>
    Object.values(ops as Record<string, JsonSchema>),
  ) as any[];

  it("has a summary, answer and error statuses for every published action", () => {
    for (const action of [...Object.values(aliases), ...Object.values(auth)]) {
      expect({ action, documented: action in OPERATIONS }).toEqual({ action, documented: true });
    }
    for (const name of Object.keys(OPERATIONS)) {
      expect({ name, published: operations.some((op) => op.operationId === name) }).toEqual({
        name,
        published: true,
      });
    }
  });

  it("gives every parameter and body property a typed schema (no rule left unconverted)", () => {
    const untyped: string[] = [];
    const check = (where: string, schema: JsonSchema) => {
      if (
        !("type" in schema) &&
        !("enum" in schema) &&
        !("anyOf" in schema) &&
        !("const" in schema)
      )
        untyped.push(where);
    };
    for (const op of operations) {
      for (const parameter of op.parameters ?? [])
        check(`${op.operationId} ${parameter.name}`, parameter.schema);
      const body = op.requestBody?.content["application/json"].schema;
      for (const [name, schema] of Object.entries(body?.properties ?? {}))
        check(`${op.operationId} ${name}`, schema as JsonSchema);
    }
    expect(untyped).toEqual([]);
  });

  it("puts path ids in braces and leaves them out of bodies and queries", () => {
    const drop = document.paths["/api/students/{id}/courses/{courseId}"].delete;
    expect(drop.parameters.map((p: any) => `${p.in}:${p.name}`)).toEqual([
      "path:id",
      "path:courseId",
    ]);
    const enroll = document.paths["/api/courses/{id}/students"].post;
    expect(enroll.parameters.map((p: any) => p.name)).toEqual(["id"]);
    expect(enroll.requestBody.content["application/json"].schema).toEqual({
      type: "object",
      properties: { studentId: { type: "string", minLength: 1 } },
      required: ["studentId"],
    });
  });

  it("takes query parameters of reads from the params and bodies of writes", () => {
    const list = document.paths["/api/students"].get;
    expect(list.parameters.map((p: any) => p.name)).toEqual(["page", "pageSize", "search", "sort"]);
    expect(list.requestBody).toBeUndefined();
    const create = document.paths["/api/students"].post;
    expect(create.parameters).toBeUndefined();
    expect(create.requestBody.content["application/json"].schema.required).toEqual([
      "firstName",
      "lastName",
      "email",
    ]);
  });

  it("requires a bearer token everywhere but login, register, health, the document and calendar feeds", () => {
    expect(document.security).toEqual([{ bearerAuth: [] }]);
    const open = operations.filter((op) => op.security?.length === 0).map((op) => op.operationId);
    expect(open.sort()).toEqual(
      [
        "docs.openapi",
        "health.live",
        "health.ready",
        "users.login",
        "users.register",
        // The feed's secret URL is its credential (calendar apps send no bearer token).
        "schedule.feed",
      ].sort(),
    );
    expect(document.paths["/api/students"].post.description).toMatch(/Who: admin\./);
  });

  it("lists the contract's error statuses where they apply", () => {
    const statuses = (path: string, method: string) =>
      Object.keys(document.paths[path][method].responses);
    expect(statuses("/api/courses", "post")).toEqual([
      "201",
      "400",
      "401",
      "403",
      "409",
      "413",
      "415",
      "422",
      "429",
      "503",
    ]);
    expect(statuses("/api/courses/{id}/students", "post")).toEqual([
      "201",
      "202",
      "400",
      "401",
      "403",
      "404",
      "409",
      "413",
      "415",
      "422",
      "429",
      "503",
    ]);
    expect(statuses("/api/auth/login", "post")).toEqual([
      "200",
      "400",
      "401",
      "413",
      "415",
      "422",
      "429",
      "503",
    ]);
    expect(statuses("/api/notifications/unread-count", "get")).toEqual([
      "200",
      "401",
      "403",
      "429",
      "503",
    ]);
    const tooMany = document.paths["/api/students"].get.responses["429"];
    expect(tooMany.headers).toHaveProperty("Retry-After");
    expect(document.paths["/api/students"].post.responses["422"].content).toEqual({
      "application/json": { schema: { $ref: "#/components/schemas/ValidationError" } },
    });
  });

  it("documents the health endpoints", () => {
    expect(Object.keys(document.paths["/health/ready"].get.responses)).toEqual(["200", "503"]);
    expect(document.paths["/health/live"].get.security).toEqual([]);
  });
});
