/**
 * Generated hostile input (fast-check) against every write endpoint of the gateway: bodies of
 * the wrong type, extra and prototype keys, huge, negative and NaN-like numbers, long and odd
 * unicode (NUL, lone surrogates), deep nesting, arrays where objects belong, duplicate keys and
 * wrong content types; hostile path segments and query strings. For every request: never a 5xx,
 * exactly the contract's 4xx where the input is certainly invalid, a 2xx only for input that is
 * valid (and then stored exactly as sent), an error body of the contract's shape that leaks
 * nothing, and — on every rejection — not one row of the domain tables changed.
 *
 * Protocol edges (security round 2): content encodings (corrupt, truncated, unknown, stacked),
 * methods a path does not serve (405 with Allow; OPTIONS 204; HEAD like GET), paths in another
 * case (404) and query integers that are not plain decimal (422).
 *
 * The hand-written corpus of known attacks lives in http.spec.ts and security.spec.ts; this file
 * is the generated part. Fixed seed, bounded runs: a failure prints the seed and the shrunk case.
 */
import { brotliCompressSync, deflateSync, gzipSync } from "zlib";
import fc from "fast-check";
import { QueryTypes, type Sequelize } from "sequelize";
import {
  createTeacher,
  registerStudent,
  startCampus,
  uniqueEmail,
  type Campus,
  type HttpResult,
} from "../helpers/campus";

const SEED = 20261125;
/** Runs per property: ~25 properties × RUNS requests stay well under a minute on 2 cores. */
const RUNS = 20;
const UNKNOWN_ID = "00000000-0000-4000-8000-00000000dead";
const UPPER_SNAKE = /^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$/;

let campus: Campus;
let db: Sequelize;
let admin: string;
let teacher: string;
/** A registered student acting on their own record. */
let self: { token: string; studentId: string; userId: string; email: string };
/** Records the admin edits. */
let target: { studentId: string; courseId: string; userId: string; quizId: string };

async function created(result: HttpResult, what: string): Promise<string> {
  if (result.status !== 201) throw new Error(`${what}: ${result.status} ${result.text}`);
  return result.body.id as string;
}

beforeAll(async () => {
  campus = await startCampus();
  db = (campus.broker.getLocalService("students") as unknown as { sequelize: Sequelize }).sequelize;
  admin = await campus.adminToken();
  teacher = await createTeacher(campus);
  self = await registerStudent(campus);
  target = {
    studentId: await created(
      await campus.request("POST", "/api/students", {
        token: admin,
        body: { firstName: "Target", lastName: "Student", email: uniqueEmail("target") },
      }),
      "student",
    ),
    courseId: await created(
      await campus.request("POST", "/api/courses", {
        token: admin,
        body: { code: `HOSTILE-${Date.now().toString(36)}`, title: "Target", capacity: 1000 },
      }),
      "course",
    ),
    userId: await created(
      await campus.request("POST", "/api/users", {
        token: admin,
        body: { email: uniqueEmail("victim"), password: "a-victim-password", role: "teacher" },
      }),
      "user",
    ),
    quizId: "",
  };
  target.quizId = await created(
    await campus.request("POST", `/api/courses/${target.courseId}/quizzes`, {
      token: admin,
      body: { title: "Target", questions: [{ type: "number", prompt: "1 + 1?", answer: 2 }] },
    }),
    "quiz",
  );
});
afterAll(() => campus.stop());

// ---------------------------------------------------------------------------------------------
// What "nothing was written" means: every row of the domain tables, read from the database.
// Left out: outbox and notifications (written asynchronously by the relay and the consumers of
// earlier, accepted requests) and users.login_failures/login_addresses (a refused login is
// meant to count against the email it names).

async function fingerprint(): Promise<string> {
  const [row] = await db.query(
    `SELECT
       (SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, '|' ORDER BY t.id)), '')
          FROM students.students t) AS students,
       (SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, '|' ORDER BY t.id)), '')
          FROM courses.courses t) AS courses,
       (SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, '|' ORDER BY t.course_id, t.student_id)), '')
          FROM courses.enrollments t) AS enrollments,
       (SELECT count(*) || ':' || coalesce(md5(string_agg(
            (t.id, t.email, t.password_hash, t.role, t.student_id, t.disabled, t.token_version,
             t.updated_at)::text, '|' ORDER BY t.id)), '')
          FROM users.users t) AS users,
       (SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, '|' ORDER BY t.id)), '')
          FROM quizzes.quizzes t) AS quizzes,
       (SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, '|' ORDER BY t.id)), '')
          FROM quizzes.attempts t) AS attempts,
       (SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, '|' ORDER BY t.user_id)), '')
          FROM profiles.profiles t) AS profiles`,
    { type: QueryTypes.SELECT },
  );
  return JSON.stringify(row);
}

// ---------------------------------------------------------------------------------------------
// The contract's error body, and nothing internal in it.

function expectCleanError(result: HttpResult): void {
  expect(result.headers.get("content-type")).toMatch(/^application\/json/);
  const keys = Object.keys(result.body ?? {}).sort();
  expect(keys).toEqual(
    ["code", "message", "name", "type", ...(result.status === 422 ? ["data"] : [])].sort(),
  );
  expect(result.body).toEqual({
    name: expect.any(String),
    message: expect.any(String),
    code: result.status,
    type: expect.stringMatching(UPPER_SNAKE),
    ...(result.status === 422 ? { data: expect.any(Array) } : {}),
  });
  if (result.status === 422) {
    expect(result.body.data.length).toBeGreaterThan(0);
    for (const item of result.body.data)
      expect(Object.keys(item).sort()).toEqual(["field", "message", "type"]);
  }
  const text = result.text;
  expect(text).not.toMatch(/\n\s+at |\bat \S+\.(ts|js):\d+/);
  expect(text).not.toMatch(/\b(SELECT|INSERT|UPDATE|DELETE FROM)\b/);
  expect(text).not.toMatch(/sequelize|SequelizeDatabaseError|\bpg\b|postgres|pglite|moleculer/i);
  expect(text).not.toMatch(/\/(work|home|usr|app|node_modules)\//);
  expect(text).not.toContain(campus.broker.nodeID);
  expect(text).not.toMatch(
    /\b(students|courses|users|notifications|quizzes|profiles|api)\.[a-z]\w*/,
  );
}

// ---------------------------------------------------------------------------------------------
// Hostile values.

const NASTY = [
  "'",
  "''",
  "' OR '1'='1",
  "'; DROP TABLE x; --",
  "--",
  "/*",
  "%",
  "_",
  "%%",
  "_%_",
  "\\",
  "\\%",
  "a%2Fb",
  "../../etc/passwd",
  "\u0000",
  "a\u0000b",
  "\ud800",
  "x\udfff",
  "😀",
  "\u202e",
  "İı",
  "ß",
  "<script>alert(1)</script>",
  "${jndi:ldap://x}",
  "{{7*7}}",
  "__proto__",
  "constructor",
  "NaN",
  "Infinity",
  "-0",
  "1e999",
  "0x10",
  "null",
  "true",
  "[]",
  "{}",
  " ",
  "",
];

const hostileString: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(...NASTY),
  fc.string({ unit: "binary", maxLength: 30 }),
  fc.string({ unit: "grapheme", maxLength: 30 }),
  fc
    .tuple(fc.string(), fc.constantFrom("\u0000", "\ud800", "\udc00", "%", "_", "'"), fc.string())
    .map((parts) => parts.join("")),
  fc
    .tuple(fc.constantFrom("a", "é", "😀", "%_"), fc.integer({ min: 100, max: 12000 }))
    .map(([unit, count]) => unit.repeat(count)),
);

const hostileNumber: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(
    0,
    -0,
    -1,
    1.5,
    0.1,
    2 ** 31,
    -(2 ** 31) - 1,
    2 ** 53 + 2,
    Number.MAX_SAFE_INTEGER,
    Number.MAX_VALUE,
    -Number.MAX_VALUE,
    Number.MIN_VALUE,
    1e21,
  ),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);

/** JSON text nested `depth` levels deep, in arrays or objects. */
const deepNesting: fc.Arbitrary<RawJson> = fc
  .tuple(fc.integer({ min: 20, max: 3000 }), fc.boolean())
  .map(([depth, arrays]) => ({
    raw: arrays
      ? `${"[".repeat(depth)}1${"]".repeat(depth)}`
      : `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`,
  }));

/** A JSON value as text (so that duplicate and `__proto__` keys can be written). */
interface RawJson {
  raw: string;
}
const json = (value: unknown): RawJson => ({ raw: JSON.stringify(value) ?? "null" });

const hostileValue: fc.Arbitrary<RawJson> = fc.oneof(
  hostileString.map(json),
  hostileNumber.map(json),
  fc
    .constantFrom("1e999", "-1e999", "1E400", "123456789012345678901234567890")
    .map((raw) => ({ raw })),
  fc.constantFrom(true, false, null).map(json),
  fc.jsonValue({ maxDepth: 3 }).map(json),
  fc.array(hostileString, { maxLength: 5 }).map(json),
  fc
    .dictionary(fc.constantFrom("role", "admin", "$ne", "$gt", "__proto__", "id"), hostileString)
    .map(json),
  deepNesting,
);

/** Keys an attacker adds beside the real fields. */
const extraKey = fc.oneof(
  fc.constantFrom(
    "__proto__",
    "constructor",
    "prototype",
    "id",
    "role",
    "isAdmin",
    "studentId",
    "enrolledCount",
    "passwordHash",
    "tokenVersion",
    "createdAt",
    "$$strict",
  ),
  fc.string({ maxLength: 20 }),
);
const extraValue = fc.oneof(
  hostileValue,
  fc.constant({ raw: '{"role":"admin","isAdmin":true}' }),
  fc.constant({ raw: '{"prototype":{"polluted":true}}' }),
);

function objectText(entries: [string, RawJson][]): string {
  return `{${entries.map(([key, value]) => `${JSON.stringify(key)}:${value.raw}`).join(",")}}`;
}

// ---------------------------------------------------------------------------------------------
// Field kinds: which JSON values each field accepts, and a value certainly of the wrong type.

type Kind = "text" | "email" | "password" | "count" | "date" | "role" | "flag" | "id";

/** Values whose JSON type the field never accepts (the validator converts none of these). */
const WRONG_TYPE: Record<Kind, fc.Arbitrary<RawJson>> = {
  text: fc.oneof(hostileNumber.map(json), fc.constantFrom(true, [], {}, ["a"]).map(json)),
  email: fc.oneof(hostileNumber.map(json), fc.constantFrom(true, [], { $ne: "" }).map(json)),
  password: fc.oneof(hostileNumber.map(json), fc.constantFrom(false, ["x"], { $gt: "" }).map(json)),
  count: fc.oneof(
    fc.constantFrom("1", "ten", "", true, [], {}).map(json),
    fc.constantFrom(0, -1, 1.5, 100001, 2 ** 53 + 2, Number.MAX_VALUE, -0.5).map(json),
    fc.constantFrom("1e999", "-1e999", "1E400").map((raw) => ({ raw })),
  ),
  date: fc.oneof(
    hostileNumber.map(json),
    fc
      .constantFrom(
        true,
        [],
        {},
        "2020-13-01",
        "2021-02-29",
        "01/02/2020",
        "2020-1-1",
        "0000-00-00",
      )
      .map(json),
  ),
  role: fc.oneof(
    fc.constantFrom("root", "ADMIN", "Admin", " admin", "", 1, ["admin"], { $ne: "x" }).map(json),
  ),
  flag: fc.constantFrom("true", "false", 1, 0, [], {}, "yes").map(json),
  id: fc.oneof(hostileNumber.map(json), fc.constantFrom(true, [], { $ne: null }).map(json)),
};

/**
 * Field values the validator may well accept: the right JSON type with hostile content, or null
 * (which fastest-validator lets through for an optional field — the service must then refuse it
 * or store nothing odd).
 */
const PLAUSIBLE_BY_TYPE: Record<Kind, fc.Arbitrary<RawJson>> = {
  text: hostileString.map(json),
  email: fc
    .oneof(
      hostileString,
      hostileString.map((local) => `${local}@campus.test`),
      fc.constantFrom("A@B.CO", "a@b", "a@@b.co", "'--@x.org", "%@x.org", "_@x.org"),
    )
    .map(json),
  password: hostileString.map(json),
  count: fc.oneof(fc.integer({ min: 1, max: 100000 }).map(json), fc.constant(json(null))),
  date: fc
    .oneof(
      fc.constant(null),
      fc
        .date({ min: new Date("0001-01-01"), max: new Date("9999-12-31"), noInvalidDate: true })
        .map((date) => date.toISOString().slice(0, 10)),
      hostileString,
    )
    .map(json),
  role: fc.constantFrom("admin", "teacher", "student").map(json),
  flag: fc.boolean().map(json),
  id: fc.oneof(fc.constantFrom(UNKNOWN_ID).map(json), hostileString.map(json), fc.uuid().map(json)),
};
const PLAUSIBLE = Object.fromEntries(
  Object.entries(PLAUSIBLE_BY_TYPE).map(([kind, arbitrary]) => [
    kind,
    fc.oneof({ arbitrary, weight: 5 }, { arbitrary: fc.constant(json(null)), weight: 1 }),
  ]),
) as Record<Kind, fc.Arbitrary<RawJson>>;

// ---------------------------------------------------------------------------------------------
// One generated request and what may answer it.

interface Endpoint {
  name: string;
  method: "POST" | "PUT" | "PATCH" | "DELETE";
  /** The path with real, existing ids. */
  path: () => string;
  /** A path with `segment` (already encoded) in place of the record id. */
  hostilePath?: (segment: string) => string;
  token: () => string | undefined;
  fields: Record<string, Kind>;
  /** A valid body to start from (fresh unique values where they must be unique). */
  validBody: () => Record<string, unknown>;
  /** What a body of the right shape may answer (its 2xx, and the 4xx its content can cause). */
  plausible: number[];
  /** What the same request without a readable body answers (missing fields or a no-op). */
  emptyBody: number[];
  /** Runs of the hostile-values property, fewer where each valid-shaped request hashes a password. */
  runs?: number;
  /** Checks an accepted write: the record answered is exactly what was sent. */
  accepted?: (sent: Record<string, unknown>, result: HttpResult) => Promise<void>;
}

interface Case {
  description: string;
  path: string;
  rawBody?: string;
  contentType?: string;
  /** Allowed statuses. */
  expected: number[];
  /** A field the 422 must name. */
  badField?: string;
  /** The parsed body, when the body is an object the endpoint reads. */
  sent?: Record<string, unknown>;
}

const trimmed = (value: unknown) => (typeof value === "string" ? value.trim() : value);

/** Stored exactly as sent: the fields given (trimmed where the rules trim) come back unchanged. */
function expectStored(
  sent: Record<string, unknown>,
  body: Record<string, unknown>,
  rules: Record<string, (value: unknown) => unknown>,
) {
  for (const [field, rule] of Object.entries(rules)) {
    if (sent[field] !== undefined)
      expect({ [field]: body[field] }).toEqual({ [field]: rule(sent[field]) });
  }
}

const lower = (value: unknown) => String(value).trim().toLowerCase();

async function expectSameOnRead(path: string, result: HttpResult) {
  const read = await campus.request("GET", path, { token: admin });
  expect(read.body).toEqual(result.body);
}

const studentRules = { firstName: trimmed, lastName: trimmed, email: lower };
const courseRules = {
  code: trimmed,
  title: trimmed,
  description: (value: unknown) => value,
  capacity: (value: unknown) => value,
  startDate: (value: unknown) => value,
  endDate: (value: unknown) => value,
};

const studentFields: Record<string, Kind> = { firstName: "text", lastName: "text", email: "email" };
const courseFields: Record<string, Kind> = {
  code: "text",
  title: "text",
  description: "text",
  capacity: "count",
  startDate: "date",
  endDate: "date",
};
let codeCounter = 0;
const freshCode = () => `HC${(codeCounter += 1)}-${Date.now().toString(36)}`;
/**
 * encodeURIComponent, except that a lone surrogate (which it refuses) is sent as the three bytes
 * a careless client would write for it (WTF-8), and dots are encoded so fetch keeps `..` in place.
 */
function enc(text: string): string {
  return text
    .split(/([\uD800-\uDBFF][\uDC00-\uDFFF]|[\uD800-\uDFFF])/)
    .map((part) => {
      if (part.length !== 1 || part.charCodeAt(0) < 0xd800 || part.charCodeAt(0) > 0xdfff)
        return encodeURIComponent(part);
      const code = part.charCodeAt(0);
      return [0xe0 | (code >> 12), 0x80 | ((code >> 6) & 0x3f), 0x80 | (code & 0x3f)]
        .map((byte) => `%${byte.toString(16).toUpperCase()}`)
        .join("");
    })
    .join("")
    .replace(/\./g, "%2E");
}

const ENDPOINTS: Endpoint[] = [
  {
    name: "POST /api/auth/register",
    method: "POST",
    path: () => "/api/auth/register",
    token: () => undefined,
    fields: { email: "email", password: "password", firstName: "text", lastName: "text" },
    validBody: () => ({
      email: uniqueEmail("hostile"),
      password: "a-good-long-password",
      firstName: "Hostile",
      lastName: "Input",
    }),
    plausible: [201, 409, 422],
    emptyBody: [422],
    runs: 5,
    async accepted(sent, result) {
      expect(result.body.user.email).toBe(lower(sent.email));
      expect(result.body.user.role).toBe("student");
      const student = await campus.request("GET", `/api/students/${result.body.user.studentId}`, {
        token: admin,
      });
      expectStored(sent, student.body, studentRules);
    },
  },
  {
    name: "POST /api/auth/login",
    method: "POST",
    path: () => "/api/auth/login",
    token: () => undefined,
    fields: { email: "email", password: "password" },
    validBody: () => ({ email: uniqueEmail("nobody"), password: "not-the-password" }),
    plausible: [401, 422],
    emptyBody: [422],
    runs: 5,
  },
  {
    name: "POST /api/students",
    method: "POST",
    path: () => "/api/students",
    token: () => admin,
    fields: studentFields,
    validBody: () => ({ firstName: "Ada", lastName: "Lovelace", email: uniqueEmail("new") }),
    plausible: [201, 409, 422],
    emptyBody: [422],
    async accepted(sent, result) {
      expectStored(sent, result.body, studentRules);
      await expectSameOnRead(`/api/students/${result.body.id}`, result);
    },
  },
  {
    name: "PUT /api/students/:id",
    method: "PUT",
    path: () => `/api/students/${target.studentId}`,
    hostilePath: (segment) => `/api/students/${segment}`,
    token: () => admin,
    fields: studentFields,
    validBody: () => ({ firstName: "Put", lastName: "Student", email: uniqueEmail("put") }),
    plausible: [200, 409, 422],
    emptyBody: [422],
    async accepted(sent, result) {
      expectStored(sent, result.body, studentRules);
      await expectSameOnRead(`/api/students/${target.studentId}`, result);
    },
  },
  {
    name: "PATCH /api/students/:id (admin)",
    method: "PATCH",
    path: () => `/api/students/${target.studentId}`,
    hostilePath: (segment) => `/api/students/${segment}`,
    token: () => admin,
    fields: studentFields,
    validBody: () => ({ lastName: "Patched" }),
    plausible: [200, 409, 422],
    emptyBody: [200],
    async accepted(sent, result) {
      expectStored(sent, result.body, studentRules);
      await expectSameOnRead(`/api/students/${target.studentId}`, result);
    },
  },
  {
    name: "PATCH /api/students/:id (the student themself)",
    method: "PATCH",
    path: () => `/api/students/${self.studentId}`,
    token: () => self.token,
    fields: studentFields,
    validBody: () => ({ firstName: "Self" }),
    // 403: a student's change of email.
    plausible: [200, 403, 409, 422],
    emptyBody: [200],
    async accepted(sent, result) {
      expectStored(sent, result.body, studentRules);
      expect(result.body.email).toBe(self.email);
    },
  },
  {
    name: "DELETE /api/students/:id",
    method: "DELETE",
    path: () => `/api/students/${UNKNOWN_ID}`,
    hostilePath: (segment) => `/api/students/${segment}`,
    token: () => admin,
    fields: {},
    validBody: () => ({}),
    plausible: [404],
    emptyBody: [404],
  },
  {
    name: "POST /api/students/:id/courses",
    method: "POST",
    path: () => `/api/students/${target.studentId}/courses`,
    hostilePath: (segment) => `/api/students/${segment}/courses`,
    token: () => admin,
    fields: { courseId: "id" },
    validBody: () => ({ courseId: UNKNOWN_ID }),
    plausible: [201, 404, 409, 422],
    emptyBody: [422],
  },
  {
    name: "DELETE /api/students/:id/courses/:courseId",
    method: "DELETE",
    path: () => `/api/students/${target.studentId}/courses/${UNKNOWN_ID}`,
    hostilePath: (segment) => `/api/students/${target.studentId}/courses/${segment}`,
    token: () => admin,
    fields: {},
    validBody: () => ({}),
    plausible: [404],
    emptyBody: [404],
  },
  {
    name: "POST /api/courses",
    method: "POST",
    path: () => "/api/courses",
    token: () => teacher,
    fields: courseFields,
    validBody: () => ({ code: freshCode(), title: "Generated", capacity: 10 }),
    plausible: [201, 409, 422],
    emptyBody: [422],
    async accepted(sent, result) {
      expectStored(sent, result.body, courseRules);
      await expectSameOnRead(`/api/courses/${result.body.id}`, result);
    },
  },
  {
    name: "PUT /api/courses/:id",
    method: "PUT",
    path: () => `/api/courses/${target.courseId}`,
    hostilePath: (segment) => `/api/courses/${segment}`,
    token: () => admin,
    fields: courseFields,
    validBody: () => ({ code: freshCode(), title: "Replaced", capacity: 1000 }),
    plausible: [200, 409, 422],
    emptyBody: [422],
    async accepted(sent, result) {
      expectStored(sent, result.body, courseRules);
      await expectSameOnRead(`/api/courses/${target.courseId}`, result);
    },
  },
  {
    name: "PATCH /api/courses/:id",
    method: "PATCH",
    path: () => `/api/courses/${target.courseId}`,
    hostilePath: (segment) => `/api/courses/${segment}`,
    token: () => admin,
    fields: courseFields,
    validBody: () => ({ title: "Patched" }),
    plausible: [200, 409, 422],
    emptyBody: [200],
    async accepted(sent, result) {
      expectStored(sent, result.body, courseRules);
      await expectSameOnRead(`/api/courses/${target.courseId}`, result);
    },
  },
  {
    name: "DELETE /api/courses/:id",
    method: "DELETE",
    path: () => `/api/courses/${UNKNOWN_ID}`,
    hostilePath: (segment) => `/api/courses/${segment}`,
    token: () => admin,
    fields: {},
    validBody: () => ({}),
    plausible: [404],
    emptyBody: [404],
  },
  {
    name: "POST /api/courses/:id/students",
    method: "POST",
    path: () => `/api/courses/${target.courseId}/students`,
    hostilePath: (segment) => `/api/courses/${segment}/students`,
    token: () => teacher,
    fields: { studentId: "id" },
    validBody: () => ({ studentId: UNKNOWN_ID }),
    plausible: [201, 404, 409, 422],
    emptyBody: [422],
  },
  {
    name: "DELETE /api/courses/:id/students/:studentId",
    method: "DELETE",
    path: () => `/api/courses/${target.courseId}/students/${UNKNOWN_ID}`,
    hostilePath: (segment) => `/api/courses/${target.courseId}/students/${segment}`,
    token: () => admin,
    fields: {},
    validBody: () => ({}),
    plausible: [404],
    emptyBody: [404],
  },
  {
    name: "POST /api/users",
    method: "POST",
    path: () => "/api/users",
    token: () => admin,
    fields: { email: "email", password: "password", role: "role", studentId: "id" },
    validBody: () => ({
      email: uniqueEmail("user"),
      password: "a-good-long-password",
      role: "teacher",
    }),
    // 404: an unknown studentId; 422 also for a role that does not fit the studentId.
    plausible: [201, 404, 409, 422],
    emptyBody: [422],
    async accepted(sent, result) {
      expect(result.body.email).toBe(lower(sent.email));
      expect(result.body.role).toBe(sent.role);
      expect(result.text).not.toMatch(/password|hash/i);
    },
  },
  {
    name: "PATCH /api/users/:id (role, password change, disabling)",
    method: "PATCH",
    path: () => `/api/users/${target.userId}`,
    hostilePath: (segment) => `/api/users/${segment}`,
    token: () => admin,
    fields: { role: "role", password: "password", disabled: "flag" },
    validBody: () => ({ password: "another-good-password" }),
    plausible: [200, 422],
    emptyBody: [200],
    async accepted(sent, result) {
      if (sent.role !== undefined) expect(result.body.role).toBe(sent.role);
      if (sent.disabled !== undefined) expect(result.body.disabled).toBe(sent.disabled);
      expect(result.text).not.toMatch(/password|hash/i);
    },
  },
  {
    name: "DELETE /api/users/:id",
    method: "DELETE",
    path: () => `/api/users/${UNKNOWN_ID}`,
    hostilePath: (segment) => `/api/users/${segment}`,
    token: () => admin,
    fields: {},
    validBody: () => ({}),
    plausible: [404],
    emptyBody: [404],
  },
  {
    name: "POST /api/courses/:id/quizzes",
    method: "POST",
    path: () => `/api/courses/${target.courseId}/quizzes`,
    hostilePath: (segment) => `/api/courses/${segment}/quizzes`,
    token: () => admin,
    fields: { title: "text", maxAttempts: "count", shuffle: "flag" },
    validBody: () => ({
      title: "Generated quiz",
      questions: [{ type: "text", prompt: "Say yes", answer: "yes" }],
    }),
    plausible: [201, 422],
    emptyBody: [422],
  },
  {
    name: "PATCH /api/quizzes/:id",
    method: "PATCH",
    path: () => `/api/quizzes/${target.quizId}`,
    hostilePath: (segment) => `/api/quizzes/${segment}`,
    token: () => admin,
    fields: { title: "text", maxAttempts: "count", shuffle: "flag" },
    validBody: () => ({ title: "Patched quiz" }),
    plausible: [200, 422],
    emptyBody: [200],
  },
  {
    name: "POST /api/quizzes/:id/attempts/:attemptId/submit",
    method: "POST",
    path: () => `/api/quizzes/${target.quizId}/attempts/${UNKNOWN_ID}/submit`,
    hostilePath: (segment) => `/api/quizzes/${target.quizId}/attempts/${segment}/submit`,
    token: () => self.token,
    fields: {},
    validBody: () => ({ answers: [{ questionId: "q", value: 1 }] }),
    plausible: [404],
    emptyBody: [422],
  },
  {
    name: "POST /api/notifications/:id/read",
    method: "POST",
    path: () => `/api/notifications/${UNKNOWN_ID}/read`,
    hostilePath: (segment) => `/api/notifications/${segment}/read`,
    token: () => self.token,
    fields: {},
    validBody: () => ({}),
    plausible: [404],
    emptyBody: [404],
  },
  {
    name: "PATCH /api/profiles/me",
    method: "PATCH",
    path: () => "/api/profiles/me",
    token: () => self.token,
    fields: { displayName: "text", bio: "text" },
    validBody: () => ({ displayName: "Generated name", links: ["https://example.org/me"] }),
    // Unknown fields (the extra keys) are refused by name, never ignored.
    plausible: [200, 422],
    emptyBody: [200],
    async accepted(sent, result) {
      // Only the fields (and the keys the gateway drops) can have been sent to an accepted PATCH.
      const kept = ["displayName", "bio", "links", "__proto__", "constructor", "prototype"];
      expect(Object.keys(sent).filter((key) => !kept.includes(key))).toEqual([]);
      if (typeof sent.bio === "string") expect(result.body.bio).toBe(sent.bio);
      expect(result.body.links).toEqual(["https://example.org/me"]);
    },
  },
  {
    name: "POST /api/notifications/read-all",
    method: "POST",
    path: () => "/api/notifications/read-all",
    token: () => self.token,
    fields: {},
    validBody: () => ({}),
    plausible: [200],
    emptyBody: [200],
  },
];

const hasBody = (endpoint: Endpoint) => endpoint.method !== "DELETE";

/** A body of the right shape: the valid body with hostile values in some fields and extra keys. */
function plausibleBody(endpoint: Endpoint): fc.Arbitrary<Case> {
  const names = Object.keys(endpoint.fields);
  return fc
    .tuple(fc.subarray(names), fc.array(fc.tuple(extraKey, extraValue), { maxLength: 4 }))
    .chain(([changed, extras]) =>
      fc
        .tuple(...changed.map((name) => PLAUSIBLE[endpoint.fields[name]]))
        .map((values) => ({ changed, values, extras })),
    )
    .map(({ changed, values, extras }) => {
      const entries = Object.entries(endpoint.validBody()).map(
        ([key, value]) => [key, json(value)] as [string, RawJson],
      );
      changed.forEach((name, index) => {
        const at = entries.findIndex(([key]) => key === name);
        if (at >= 0) entries[at] = [name, values[index]];
        else entries.push([name, values[index]]);
      });
      // Extra keys go first so that a duplicate of a real field is overridden by the field.
      const raw = objectText([...extras, ...entries]);
      return {
        description: "hostile field values and extra keys",
        path: endpoint.path(),
        rawBody: raw,
        expected: [...endpoint.plausible, 413],
        sent: JSON.parse(raw) as Record<string, unknown>,
      };
    });
}

/** The valid body with one field of a JSON type it never accepts: exactly 422 on that field. */
function wrongTypeBody(endpoint: Endpoint): fc.Arbitrary<Case> {
  const names = Object.keys(endpoint.fields);
  return fc
    .constantFrom(...names)
    .chain((name) => WRONG_TYPE[endpoint.fields[name]].map((value) => ({ name, value })))
    .chain(({ name, value }) =>
      fc.boolean().map((duplicate) => {
        const entries = Object.entries(endpoint.validBody())
          .filter(([key]) => key !== name)
          .map(([key, item]) => [key, json(item)] as [string, RawJson]);
        // Sometimes the bad value is the second of two copies of the key (JSON: the last wins).
        if (duplicate) entries.unshift([name, json("a-plausible-first-value")]);
        entries.push([name, value]);
        return {
          description: `${name} of the wrong type${duplicate ? " (duplicate key, last wins)" : ""}`,
          path: endpoint.path(),
          rawBody: objectText(entries),
          expected: [422],
          badField: name,
        };
      }),
    );
}

/** A JSON body that is not an object: 422 on the body, whatever the endpoint. */
const notAnObject: fc.Arbitrary<string> = fc.oneof(
  fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 4 }).map((value) => JSON.stringify(value)),
  hostileString.map((value) => JSON.stringify(value)),
  hostileNumber.map((value) => JSON.stringify(value)),
  fc.constantFrom("null", "true", "false", "[]", "[{}]", '[{"firstName":"a"}]'),
  deepNesting.filter(({ raw }) => raw.startsWith("[")).map(({ raw }) => raw),
);

function nonObjectBody(endpoint: Endpoint): fc.Arbitrary<Case> {
  return notAnObject.map((raw) => ({
    description: "a JSON body that is not an object",
    path: endpoint.path(),
    rawBody: raw,
    expected: [422, 413],
    badField: "body",
  }));
}

/** Malformed JSON and body text under a content type other than JSON. */
function unreadableBody(endpoint: Endpoint): fc.Arbitrary<Case> {
  const valid = () => JSON.stringify(endpoint.validBody());
  return fc.oneof(
    fc.tuple(fc.nat(), fc.constantFrom("}", "{", "'", ",", "\u0000", "NaN")).map(([cut, noise]) => {
      const text = valid();
      return {
        description: "malformed JSON",
        path: endpoint.path(),
        rawBody: `${text.slice(0, 1 + (cut % Math.max(1, text.length - 1)))}${noise}`,
        expected: [400],
      };
    }),
    fc
      .constantFrom(
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/xml",
        "text/html",
        "application/javascript",
      )
      .map((contentType) => ({
        description: `JSON text sent as ${contentType} (not read as a body)`,
        path: endpoint.path(),
        rawBody: valid(),
        contentType,
        expected: endpoint.emptyBody,
      })),
  );
}

/** A hostile path segment (encoded as a client would, plus raw percent noise): 404 or 400. */
const hostileSegment: fc.Arbitrary<{ segment: string; malformed: boolean }> = fc.oneof(
  hostileString
    .filter((value) => value.length > 0 && value.length < 1500)
    .map((value) => ({ segment: enc(value), malformed: false })),
  fc.uuid().map((value) => ({ segment: value, malformed: false })),
  fc
    .constantFrom("%2F", "%2F..%2F..%2Fusers", "%252F", "%00", "%27%20OR%201%3D1--", "%25", "%5F")
    .map((segment) => ({ segment, malformed: false })),
  fc
    .constantFrom("%", "%zz", "%E0%A4%A", "%ED%A0%80x%", "a%")
    .map((segment) => ({ segment, malformed: true })),
);

function hostilePathCase(endpoint: Endpoint): fc.Arbitrary<Case> {
  return hostileSegment.map(({ segment, malformed }) => ({
    description: `hostile path segment ${segment.slice(0, 40)}`,
    path: endpoint.hostilePath!(segment),
    rawBody: hasBody(endpoint) ? JSON.stringify(endpoint.validBody()) : undefined,
    expected: malformed ? [400, 404] : [404],
  }));
}

/** A query string on a write: ignored (a write reads its body only). */
function withHostileQuery(arbitrary: fc.Arbitrary<Case>): fc.Arbitrary<Case> {
  return fc
    .tuple(arbitrary, fc.option(hostileQuery, { freq: 3 }))
    .map(([item, query]) =>
      query
        ? { ...item, path: `${item.path}${item.path.includes("?") ? "&" : "?"}${query.text}` }
        : item,
    );
}

async function send(endpoint: Endpoint, item: Case): Promise<HttpResult> {
  const headers: Record<string, string> = {};
  if (item.rawBody !== undefined) headers["content-type"] = item.contentType ?? "application/json";
  return campus.request(endpoint.method, item.path, {
    token: endpoint.token(),
    rawBody: item.rawBody,
    headers,
  });
}

async function check(endpoint: Endpoint, item: Case): Promise<void> {
  const before = await fingerprint();
  const result = await send(endpoint, item);
  const context = `${endpoint.name} — ${item.description}: ${result.status} ${result.text.slice(0, 300)}`;
  expect({ context, status: result.status < 500 }).toEqual({ context, status: true });
  expect({ context, allowed: item.expected.includes(result.status) }).toEqual({
    context,
    allowed: true,
  });
  if (result.status >= 400) {
    expectCleanError(result);
    if (item.badField && result.status === 422) {
      expect(result.body.data.map((field: { field: string }) => field.field)).toContain(
        item.badField,
      );
    }
    expect({ context, after: await fingerprint() }).toEqual({ context, after: before });
  } else if (item.sent && endpoint.accepted) {
    await endpoint.accepted(item.sent, result);
  }
}

function property(endpoint: Endpoint, cases: fc.Arbitrary<Case>, runs = RUNS) {
  return fc.assert(
    fc.asyncProperty(withHostileQuery(cases), (item) => check(endpoint, item)),
    { seed: SEED, numRuns: runs },
  );
}

// ---------------------------------------------------------------------------------------------
// Query strings.

/** A query string: known and unknown names, duplicates, brackets, hostile values. */
const hostileQuery: fc.Arbitrary<{ text: string; params: [string, string][] }> = fc
  .array(
    fc.tuple(
      fc.oneof(
        fc.constantFrom("page", "pageSize", "search", "sort", "role", "unread"),
        fc.constantFrom(
          "__proto__",
          "constructor",
          "prototype",
          "page[]",
          "search[$ne]",
          "a[b][c]",
          "x",
        ),
        fc.string({ maxLength: 10 }),
      ),
      fc.oneof(
        hostileString.filter((value) => value.length <= 300),
        fc.constantFrom(
          "0",
          "-1",
          "1e2",
          "1.5",
          "101",
          "99999999999999999999",
          "NaN",
          "Infinity",
          "0x10",
          " 1 ",
        ),
        fc.constantFrom(
          "-createdAt",
          "email,-lastName",
          "id;DROP",
          "code,,title",
          "-",
          "password_hash",
        ),
      ),
    ),
    { maxLength: 4 },
  )
  .map((params) => ({
    text: params.map(([name, value]) => `${enc(name)}=${enc(value)}`).join("&"),
    params,
  }));

interface ListEndpoint {
  path: string;
  token: () => string;
  searched: string[];
}

const LISTS: ListEndpoint[] = [
  { path: "/api/students", token: () => admin, searched: ["firstName", "lastName", "email"] },
  { path: "/api/courses", token: () => self.token, searched: ["code", "title"] },
  { path: "/api/users", token: () => admin, searched: ["email"] },
  { path: "/api/notifications", token: () => self.token, searched: [] },
  { path: `/api/courses/${"{course}"}/students`, token: () => teacher, searched: [] },
  { path: `/api/students/${"{student}"}/courses`, token: () => self.token, searched: [] },
];

// ---------------------------------------------------------------------------------------------

describe.each(ENDPOINTS.filter(hasBody))("$name", (endpoint) => {
  const fields = Object.keys(endpoint.fields).length > 0;

  if (fields) {
    it("answers hostile field values and extra keys with its 2xx or a contract 4xx, storing exactly what it accepted", () =>
      property(endpoint, plausibleBody(endpoint), endpoint.runs));

    it("answers a field of the wrong JSON type (duplicate keys included) with 422 naming it, writing nothing", () =>
      property(endpoint, wrongTypeBody(endpoint), 15));
  }

  it("answers a JSON body that is not an object with 422, writing nothing", () =>
    property(endpoint, nonObjectBody(endpoint), 10));

  it("answers malformed JSON with 400 and ignores a body sent as another content type", () =>
    property(endpoint, unreadableBody(endpoint), 10));
});

describe.each(ENDPOINTS.filter((endpoint) => endpoint.hostilePath))("$name", (endpoint) => {
  it("answers a hostile path segment with 404 (400 for broken percent-encoding), writing nothing", () =>
    property(endpoint, hostilePathCase(endpoint), 20));
});

describe.each(LISTS)("GET $path", (list) => {
  const path = () =>
    list.path.replace("{course}", target.courseId).replace("{student}", self.studentId);

  it("answers a hostile query string with 200 or 422, and a search matches its text literally", () =>
    fc.assert(
      fc.asyncProperty(hostileQuery, async (query) => {
        const result = await campus.request("GET", `${path()}?${query.text}`, {
          token: list.token(),
        });
        const context = `GET ${path()}?${query.text.slice(0, 200)}: ${result.status} ${result.text.slice(0, 200)}`;
        expect({ context, allowed: [200, 422].includes(result.status) }).toEqual({
          context,
          allowed: true,
        });
        if (result.status !== 200) {
          expectCleanError(result);
          return;
        }
        expect(result.body).toEqual({
          rows: expect.any(Array),
          total: expect.any(Number),
          page: expect.any(Number),
          pageSize: expect.any(Number),
          totalPages: expect.any(Number),
        });
        expect(result.body.rows.length).toBeLessThanOrEqual(result.body.pageSize);
        const searches = query.params.filter(([name]) => name === "search");
        const search = searches.length === 1 ? searches[0][1] : "";
        // Compared case-insensitively in ASCII only: PostgreSQL's and JavaScript's unicode case
        // folding differ, which says nothing about LIKE metacharacters.
        if (list.searched.length > 0 && search && /^[\x20-\x7e]+$/.test(search)) {
          for (const row of result.body.rows) {
            expect({
              row,
              search,
              found: list.searched.some((field) =>
                String(row[field]).toLowerCase().includes(search.toLowerCase()),
              ),
            }).toEqual({ row, search, found: true });
          }
        }
      }),
      { seed: SEED, numRuns: RUNS },
    ));
});

// ---------------------------------------------------------------------------------------------
// Protocol edges (security round 2, docs/SECURITY.md).

/** Every published path (ids filled in at run time) and the methods it serves, in Allow order. */
const ROUTES: { template: string; methods: string[] }[] = [
  { template: "/api/students", methods: ["GET", "POST"] },
  { template: "/api/students/{student}", methods: ["GET", "PUT", "PATCH", "DELETE"] },
  { template: "/api/students/{student}/courses", methods: ["GET", "POST"] },
  { template: "/api/courses", methods: ["GET", "POST"] },
  { template: "/api/courses/{course}", methods: ["GET", "PUT", "PATCH", "DELETE"] },
  { template: "/api/courses/{course}/students", methods: ["GET", "POST"] },
  { template: "/api/courses/{course}/teachers", methods: ["PUT"] },
  { template: "/api/users", methods: ["GET", "POST"] },
  { template: "/api/users/{user}", methods: ["GET", "PATCH", "DELETE"] },
  { template: "/api/notifications", methods: ["GET"] },
  { template: "/api/notifications/unread-count", methods: ["GET"] },
  { template: "/api/notifications/read-all", methods: ["POST"] },
  { template: "/api/auth/me", methods: ["GET"] },
  { template: "/api/auth/login", methods: ["POST"] },
  { template: "/api/auth/register", methods: ["POST"] },
];
const ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"];

function fill(template: string): string {
  return template
    .replace("{student}", target.studentId)
    .replace("{course}", target.courseId)
    .replace("{user}", target.userId);
}

function allowOf(methods: string[]): string {
  return [...methods.flatMap((m) => (m === "GET" ? ["GET", "HEAD"] : [m])), "OPTIONS"].join(", ");
}

async function rawRequest(
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: Buffer,
): Promise<HttpResult> {
  const response = await fetch(`${campus.baseUrl}${path}`, { method, headers, body });
  const text = await response.text();
  let parsed: unknown = undefined;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = text;
  }
  return { status: response.status, headers: response.headers, body: parsed, text };
}

describe("methods a path does not serve", () => {
  const wrongMethod = fc
    .constantFrom(...ROUTES)
    .chain((route) =>
      fc.record({
        route: fc.constant(route),
        method: fc.constantFrom(
          ...ALL_METHODS.filter((m) => !route.methods.includes(m)),
          "OPTIONS",
        ),
        token: fc.boolean(),
      }),
    )
    .filter(({ route, method }) => method === "OPTIONS" || !route.methods.includes(method));

  it("answers 405 with the path's Allow (OPTIONS: 204 with Allow), with or without a token, writing nothing", () =>
    fc.assert(
      fc.asyncProperty(wrongMethod, async ({ route, method, token }) => {
        const before = await fingerprint();
        const headers: Record<string, string> = token ? { authorization: `Bearer ${admin}` } : {};
        if (method !== "OPTIONS") headers["content-type"] = "application/json";
        const result = await rawRequest(
          method,
          fill(route.template),
          headers,
          method === "OPTIONS" ? undefined : Buffer.from("{}"),
        );
        const context = `${method} ${route.template}: ${result.status} ${result.text.slice(0, 200)}`;

        expect({ context, allow: result.headers.get("allow") }).toEqual({
          context,
          allow: allowOf(route.methods),
        });
        if (method === "OPTIONS") {
          expect({ context, status: result.status, text: result.text }).toEqual({
            context,
            status: 204,
            text: "",
          });
        } else {
          expect({ context, status: result.status }).toEqual({ context, status: 405 });
          expectCleanError(result);
          expect(result.body.type).toBe("METHOD_NOT_ALLOWED");
        }
        expect({ context, after: await fingerprint() }).toEqual({ context, after: before });
      }),
      { seed: SEED, numRuns: RUNS },
    ));

  it("answers HEAD on a readable path with GET's status and headers, and no body", () =>
    fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...ROUTES.filter((route) => route.methods.includes("GET"))),
        fc.boolean(),
        async (route, token) => {
          const headers: Record<string, string> = token ? { authorization: `Bearer ${admin}` } : {};
          const get = await rawRequest("GET", fill(route.template), headers);
          const head = await rawRequest("HEAD", fill(route.template), headers);
          const context = `HEAD ${route.template}: ${head.status}, GET ${get.status}`;

          expect({ context, status: head.status, text: head.text }).toEqual({
            context,
            status: get.status,
            text: "",
          });
          expect(head.headers.get("content-type")).toBe(get.headers.get("content-type"));
        },
      ),
      { seed: SEED, numRuns: RUNS },
    ));
});

describe("paths in another case", () => {
  /** A route with some letters of its fixed segments (never the ids) in the other case. */
  const otherCase = fc
    .tuple(
      fc.constantFrom(...ROUTES),
      fc.array(fc.boolean(), { minLength: 40, maxLength: 40 }),
      fc.nat(),
    )
    .map(([route, flips, forced]) => {
      const letters = [...route.template].map((char, i) => ({ char, i }));
      const fixed = letters.filter(({ char, i }) => {
        const inPlaceholder =
          route.template.lastIndexOf("{", i) > route.template.lastIndexOf("}", i);
        return /[a-z]/.test(char) && !inPlaceholder && char !== "{" && char !== "}";
      });
      const flip = new Set(fixed.filter((_, k) => flips[k % flips.length]).map(({ i }) => i));
      flip.add(fixed[forced % fixed.length].i); // at least one letter differs
      const template = letters
        .map(({ char, i }) => (flip.has(i) ? char.toUpperCase() : char))
        .join("");
      return { route, template };
    });

  it("answers 404 to any method, writing nothing", () =>
    fc.assert(
      fc.asyncProperty(otherCase, fc.constantFrom(...ALL_METHODS), async (item, method) => {
        const before = await fingerprint();
        const result = await rawRequest(
          method,
          fill(item.template),
          { authorization: `Bearer ${admin}`, "content-type": "application/json" },
          method === "GET" ? undefined : Buffer.from("{}"),
        );
        const context = `${method} ${item.template}: ${result.status} ${result.text.slice(0, 200)}`;

        expect({ context, status: result.status }).toEqual({ context, status: 404 });
        expectCleanError(result);
        expect({ context, after: await fingerprint() }).toEqual({ context, after: before });
      }),
      { seed: SEED, numRuns: RUNS },
    ));
});

describe("query integers that are not plain decimal", () => {
  const notPlainDecimal = fc.oneof(
    fc.nat({ max: 255 }).map((n) => `0x${n.toString(16)}`),
    fc.nat({ max: 255 }).map((n) => `0b${n.toString(2)}`),
    fc.nat({ max: 63 }).map((n) => `0o${n.toString(8)}`),
    fc
      .tuple(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 0, max: 2 }))
      .map(([a, b]) => `${a}e${b}`),
    fc.integer({ min: 1, max: 9 }).map((n) => `${n}E0`),
    fc.integer({ min: 1, max: 50 }).map((n) => ` ${n}`),
    fc.integer({ min: 1, max: 50 }).map((n) => `${n} `),
    fc.integer({ min: 1, max: 50 }).map((n) => `+${n}`),
    fc.integer({ min: 1, max: 50 }).map((n) => `${n}.0`),
    fc.constantFrom("Infinity", "1_0", "\u0661", "", "."),
  );

  it("answers 422 naming the parameter, on every list", () =>
    fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...LISTS),
        fc.constantFrom("page", "pageSize"),
        notPlainDecimal,
        async (list, name, value) => {
          const path = list.path
            .replace("{course}", target.courseId)
            .replace("{student}", self.studentId);
          const result = await campus.request(
            "GET",
            `${path}?${name}=${encodeURIComponent(value)}`,
            { token: list.token() },
          );
          const context = `GET ${path}?${name}=${JSON.stringify(value)}: ${result.status} ${result.text.slice(0, 200)}`;

          expect({ context, status: result.status }).toEqual({ context, status: 422 });
          expectCleanError(result);
          expect(result.body.data.map((item: { field: string }) => item.field)).toContain(name);
        },
      ),
      { seed: SEED, numRuns: RUNS },
    ));
});

describe("content encodings", () => {
  type EncodedCase = {
    description: string;
    encoding: string;
    body: Buffer;
    expected: number[];
  };
  const compressors: Record<string, (data: Buffer) => Buffer> = {
    gzip: gzipSync,
    deflate: deflateSync,
    br: brotliCompressSync,
  };
  const encodedCase = (endpoint: Endpoint): fc.Arbitrary<EncodedCase> => {
    const valid = () => Buffer.from(JSON.stringify(endpoint.validBody()));
    return fc.oneof(
      fc
        .tuple(
          fc.constantFrom("gzip", "deflate", "br"),
          fc.uint8Array({ minLength: 1, maxLength: 64 }),
        )
        .map(([encoding, bytes]) => ({
          description: `random bytes as ${encoding}`,
          encoding,
          body: Buffer.from(bytes),
          // Random bytes can happen to decode (deflate, br) to something that is not JSON: 400.
          expected: [400],
        })),
      fc
        .tuple(fc.constantFrom("gzip", "deflate", "br"), fc.integer({ min: 1, max: 8 }))
        .map(([encoding, cut]) => {
          const compressed = compressors[encoding](valid());
          return {
            description: `${encoding} cut ${cut} bytes short`,
            encoding,
            body: compressed.subarray(0, Math.max(1, compressed.length - cut)),
            expected: [400],
          };
        }),
      fc
        .constantFrom("compress", "x-unknown", "zstd2", "gzip, br", "identity, gzip")
        .map((encoding) => ({
          description: `unsupported encoding ${encoding}`,
          encoding,
          body: valid(),
          expected: [415],
        })),
    );
  };

  describe.each(ENDPOINTS.filter(hasBody))("$name", (endpoint) => {
    it("answers a corrupt, truncated or unknown encoding with 400 or 415 (never 500), writing nothing", () =>
      fc.assert(
        fc.asyncProperty(encodedCase(endpoint), async (item) => {
          const before = await fingerprint();
          const token = endpoint.token();
          const headers: Record<string, string> = {
            "content-type": "application/json",
            "content-encoding": item.encoding,
          };
          if (token) headers.authorization = `Bearer ${token}`;
          const result = await rawRequest(endpoint.method, endpoint.path(), headers, item.body);
          const context = `${endpoint.name} — ${item.description}: ${result.status} ${result.text.slice(0, 200)}`;

          expect({ context, allowed: item.expected.includes(result.status) }).toEqual({
            context,
            allowed: true,
          });
          expectCleanError(result);
          expect({ context, after: await fingerprint() }).toEqual({ context, after: before });
        }),
        { seed: SEED, numRuns: 10 },
      ));
  });
});
