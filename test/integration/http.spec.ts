import {
  startCampus,
  registerStudent,
  uniqueEmail,
  markers,
  studentsMatching,
  UNKNOWN_ID,
  type Campus,
  type HttpResult,
} from "../helpers/campus";

let campus: Campus;
let admin: string;

const PASSWORD = "a-good-long-password";
const UPPER_SNAKE = /^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$/;
/** The request ids the gateway accepts and generates: short and printable. */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

beforeAll(async () => {
  campus = await startCampus();
  admin = await campus.adminToken();
});
afterAll(() => campus.stop());

/** A lower-case token no other test's data contains: scopes a search to one test's records. */
const marker = markers("h");
/** Makes this run's course codes unique. */
const markerRun = Date.now().toString(36);

/**
 * The contract's error body and nothing internal: exactly name, message, code, type (and data,
 * only for 422: each field and why), code equal to the status, type UPPER_SNAKE_CASE; no stack
 * line, SQL, library name, node id, action name or host address anywhere in the text.
 */
function expectCleanError(result: HttpResult, status: number, type?: string): void {
  expect(result.status).toBe(status);
  expect(result.headers.get("content-type")).toMatch(/^application\/json/);
  expect(result.body).toEqual(expect.any(Object));
  const keys = ["code", "message", "name", "type", ...(status === 422 ? ["data"] : [])];
  expect(Object.keys(result.body).sort()).toEqual(keys.sort());
  expect(result.body).toEqual({
    name: expect.any(String),
    message: expect.any(String),
    code: status,
    type: expect.stringMatching(UPPER_SNAKE),
    ...(status === 422 ? { data: expect.any(Array) } : {}),
  });
  if (type) expect(result.body.type).toBe(type);
  if (status === 422) {
    expect(result.body.data.length).toBeGreaterThan(0);
    for (const item of result.body.data) {
      expect(item).toEqual({
        field: expect.any(String),
        message: expect.any(String),
        type: expect.any(String),
      });
    }
  }
  const text = result.text;
  expect(text).not.toContain("Error:");
  expect(text).not.toMatch(/\n\s+at |at .*\.(ts|js):\d+/);
  expect(text).not.toContain("SELECT");
  expect(text).not.toMatch(/sequelize/i);
  expect(text).not.toMatch(/moleculer/i);
  expect(text).not.toContain(campus.broker.nodeID);
  expect(text).not.toContain("127.0.0.1");
  expect(text).not.toMatch(/\b(students|courses|users|api|\$node)\.[A-Za-z]\w*/);
}

function json(method: string, path: string, rawBody: string, token?: string) {
  return campus.request(method, path, {
    token,
    rawBody,
    headers: { "content-type": "application/json" },
  });
}

function registerBody(fields: Record<string, unknown> = {}) {
  return {
    email: uniqueEmail("http"),
    password: PASSWORD,
    firstName: "Hostile",
    lastName: "Input",
    ...fields,
  };
}

async function createStudent(fields: Record<string, unknown>) {
  const result = await campus.request("POST", "/api/students", {
    token: admin,
    body: { firstName: "Search", lastName: "Target", email: uniqueEmail(), ...fields },
  });
  expect(result.status).toBe(201);
  return result.body;
}

let courseCounter = 0;
async function createCourse(fields: Record<string, unknown>) {
  courseCounter += 1;
  const result = await campus.request("POST", "/api/courses", {
    token: admin,
    body: { code: `HTTP-${courseCounter}-${markerRun}`, title: "Search target", ...fields },
  });
  expect(result.status).toBe(201);
  return result.body;
}

async function createUser(email: string) {
  const result = await campus.request("POST", "/api/users", {
    token: admin,
    body: { email, password: PASSWORD, role: "teacher" },
  });
  expect(result.status).toBe(201);
  return result.body;
}

function search(resource: string, text: string) {
  return campus.request("GET", `/api/${resource}?search=${encodeURIComponent(text)}`, {
    token: admin,
  });
}

describe("malformed and oversized bodies", () => {
  it("answers 400 MALFORMED_JSON to a body that is not JSON, with or without a token", async () => {
    const anonymous = await json("POST", "/api/auth/register", '{"email": "a@b.c", ');
    const authenticated = await json("POST", "/api/courses", "{code: 'X1'}", admin);

    expectCleanError(anonymous, 400, "MALFORMED_JSON");
    expectCleanError(authenticated, 400, "MALFORMED_JSON");
  });

  it("answers 413 PAYLOAD_TOO_LARGE to a 2 MiB body and creates nothing", async () => {
    const email = uniqueEmail("huge");
    const huge = JSON.stringify(registerBody({ email, padding: "x".repeat(2 * 1024 * 1024) }));

    const register = await json("POST", "/api/auth/register", huge);
    const student = await json("POST", "/api/students", huge, admin);

    expectCleanError(register, 413, "PAYLOAD_TOO_LARGE");
    expectCleanError(student, 413, "PAYLOAD_TOO_LARGE");
    expect(await studentsMatching(campus, email)).toBe(0);
  });

  it("accepts a body just under 100 KiB and answers 413 to one just over it", async () => {
    const under = JSON.stringify(registerBody({ padding: "x".repeat(95 * 1024) }));
    const over = JSON.stringify(registerBody({ padding: "x".repeat(101 * 1024) }));

    const accepted = await json("POST", "/api/auth/register", under);
    const refused = await json("POST", "/api/auth/register", over);

    expect(accepted.status).toBe(201);
    expectCleanError(refused, 413, "PAYLOAD_TOO_LARGE");
  });

  it.each(["[1,2]", "null", '"a string"', "42"])(
    "answers 422 (not 500) to the JSON body %s that is not an object",
    async (rawBody) => {
      const result = await json("POST", "/api/auth/register", rawBody);

      expectCleanError(result, 422, "VALIDATION_ERROR");
    },
  );
});

describe("prototype keys in bodies and queries", () => {
  it("makes a normal student account from a register body with a __proto__ role of admin", async () => {
    const fields = registerBody();
    const rawBody = `{"__proto__":{"role":"admin","isAdmin":true},${JSON.stringify(fields).slice(1)}`;

    const result = await json("POST", "/api/auth/register", rawBody);

    expect(result.status).toBe(201);
    expect(result.body.user.role).toBe("student");
    const self = await campus.request("GET", "/api/auth/me", { token: result.body.accessToken });
    expect(self.body.role).toBe("student");
    const users = await campus.request("GET", "/api/users", { token: result.body.accessToken });
    expectCleanError(users, 403, "FORBIDDEN");
    expect(({} as Record<string, unknown>).role).toBeUndefined();
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
  });

  it("makes a normal student account from a register body with constructor and prototype keys", async () => {
    const fields = registerBody();
    const hostile = {
      constructor: { prototype: { role: "admin" } },
      prototype: { role: "admin" },
      role: "admin",
    };
    const rawBody = JSON.stringify({ ...hostile, ...fields });

    const result = await json("POST", "/api/auth/register", rawBody);

    expect(result.status).toBe(201);
    expect(result.body.user.role).toBe("student");
    const self = await campus.request("GET", "/api/auth/me", { token: result.body.accessToken });
    expect(self.body.role).toBe("student");
    expect(({} as Record<string, unknown>).role).toBeUndefined();
  });

  it("answers 200 to a query string with __proto__ and constructor keys and pollutes nothing", async () => {
    const result = await campus.request(
      "GET",
      "/api/students?__proto__[role]=admin&constructor[prototype][role]=admin&pageSize=1",
      { token: admin },
    );

    expect(result.status).toBe(200);
    expect(result.body.pageSize).toBe(1);
    expect(({} as Record<string, unknown>).role).toBeUndefined();
  });
});

describe("field validation over HTTP", () => {
  it("answers 422 on firstName to a 5,000-character first name and creates nothing", async () => {
    const email = uniqueEmail("longname");
    const firstName = "A".repeat(5000);

    const register = await campus.request("POST", "/api/auth/register", {
      body: registerBody({ email, firstName }),
    });
    const student = await campus.request("POST", "/api/students", {
      token: admin,
      body: { firstName, lastName: "Long", email },
    });

    expectCleanError(register, 422, "VALIDATION_ERROR");
    expect(register.body.data).toEqual([expect.objectContaining({ field: "firstName" })]);
    expectCleanError(student, 422, "VALIDATION_ERROR");
    expect(student.body.data).toEqual([expect.objectContaining({ field: "firstName" })]);
    expect(await studentsMatching(campus, email)).toBe(0);
  });

  it("answers 422 on email to a number for the email", async () => {
    const result = await campus.request("POST", "/api/auth/register", {
      body: registerBody({ email: 12345 }),
    });

    expectCleanError(result, 422, "VALIDATION_ERROR");
    expect(result.body.data).toEqual([expect.objectContaining({ field: "email" })]);
  });

  it("answers 422 on title to an array for a course title", async () => {
    const result = await campus.request("POST", "/api/courses", {
      token: admin,
      body: { code: `ARR-${markerRun}`, title: ["Algebra", "Geometry"] },
    });

    expectCleanError(result, 422, "VALIDATION_ERROR");
    expect(result.body.data).toEqual([expect.objectContaining({ field: "title" })]);
  });

  it("answers 422 on password to an object for the password", async () => {
    const result = await campus.request("POST", "/api/auth/register", {
      body: registerBody({ password: { $gt: "" } }),
    });

    expectCleanError(result, 422, "VALIDATION_ERROR");
    expect(result.body.data).toEqual([expect.objectContaining({ field: "password" })]);
  });

  it("answers 422 on email (not 500) to a login whose email is an operator object", async () => {
    const result = await campus.request("POST", "/api/auth/login", {
      body: { email: { $ne: null }, password: PASSWORD },
    });

    expectCleanError(result, 422, "VALIDATION_ERROR");
    expect(result.body.data).toEqual([expect.objectContaining({ field: "email" })]);
  });
});

describe("search text is data, not SQL", () => {
  const creators: Record<string, () => Promise<unknown>> = {
    students: () => createStudent({}),
    courses: () => createCourse({}),
    users: () => createUser(uniqueEmail("sql")),
  };

  it.each(["students", "courses", "users"])(
    "answers 200 with no matches to SQL text in the %s search",
    async (resource) => {
      await creators[resource]();

      const results = [];
      for (const text of ["' OR '1'='1", "'; DROP TABLE users; --", '" OR ""="', "\\", "%' --"]) {
        results.push(await search(resource, text));
      }

      for (const result of results) {
        expect(result.status).toBe(200);
        expect(result.body.total).toBe(0);
        expect(result.body.rows).toEqual([]);
      }
      const everything = await campus.request("GET", `/api/${resource}`, { token: admin });
      expect(everything.status).toBe(200);
      expect(everything.body.total).toBeGreaterThan(0);
    },
  );

  it("takes % and _ literally in the students search", async () => {
    const m = marker();
    const percent = await createStudent({ lastName: `Pct%${m}` });
    await createStudent({ lastName: `PctX${m}` });
    const underscore = await createStudent({ lastName: `Und_${m}` });
    await createStudent({ lastName: `UndX${m}` });

    const byPercent = await search("students", `Pct%${m}`);
    const byUnderscore = await search("students", `Und_${m}`);

    expect(byPercent.status).toBe(200);
    expect(byPercent.body.rows).toEqual([percent]);
    expect(byUnderscore.status).toBe(200);
    expect(byUnderscore.body.rows).toEqual([underscore]);
  });

  it("matches only records containing a literal % or _ when searching for the character alone", async () => {
    const m = marker();
    await createStudent({ lastName: `Plain${m}` });
    await createStudent({ lastName: `Odd%_${m}` });

    const byPercent = await search("students", "%");
    const byUnderscore = await search("students", "_");

    for (const result of [byPercent, byUnderscore]) {
      expect(result.status).toBe(200);
      expect(result.body.total).toBeGreaterThan(0);
    }
    const text = (row: Record<string, string>) => `${row.firstName}${row.lastName}${row.email}`;
    for (const row of byPercent.body.rows) expect(text(row)).toContain("%");
    for (const row of byUnderscore.body.rows) expect(text(row)).toContain("_");
  });

  it("takes % and _ literally in the courses search", async () => {
    const m = marker();
    const percent = await createCourse({ title: `Pct%${m}` });
    await createCourse({ title: `PctX${m}` });
    const underscore = await createCourse({ title: `Und_${m}` });
    await createCourse({ title: `UndX${m}` });

    const byPercent = await search("courses", `Pct%${m}`);
    const byUnderscore = await search("courses", `Und_${m}`);

    expect(byPercent.body.rows.map((row: { id: string }) => row.id)).toEqual([percent.id]);
    expect(byUnderscore.body.rows.map((row: { id: string }) => row.id)).toEqual([underscore.id]);
  });

  it("takes _ literally in the users search", async () => {
    const m = marker();
    const underscore = await createUser(`und_${m}@campus.test`);
    await createUser(`undx${m}@campus.test`);

    const result = await search("users", `und_${m}`);

    expect(result.status).toBe(200);
    expect(result.body.rows).toEqual([underscore]);
  });
});

describe("requests too large to read", () => {
  it("answers 414 URI_TOO_LONG to a URL over 2048 characters, and reads one just under", async () => {
    const search = "a".repeat(2100);
    const tooLong = await campus.request("GET", `/api/students?search=${search}`, {
      token: admin,
    });
    expectCleanError(tooLong, 414, "URI_TOO_LONG");

    const path = "/api/students?search=";
    const justUnder = await campus.request("GET", `${path}${"a".repeat(2048 - path.length)}`, {
      token: admin,
    });
    expect(justUnder.status).not.toBe(414);
  });

  it("answers 431 HEADERS_TOO_LARGE in the error shape to headers over Node's limit", async () => {
    const response = await fetch(`${campus.baseUrl}/api/courses`, {
      headers: { "X-Padding": "p".repeat(20_000) },
    });

    expect(response.status).toBe(431);
    expect(response.headers.get("content-type")).toMatch(/^application\/json/);
    expect(await response.json()).toEqual({
      name: expect.any(String),
      message: "The request headers are too large",
      code: 431,
      type: "HEADERS_TOO_LARGE",
    });
  });
});

describe("routes that do not exist", () => {
  it.each([
    "/api/$node/list",
    "/api/~node/list",
    "/api/$node/services",
    "/api/$node/actions",
    "/api/$node/health",
    "/api/users.account",
    "/api/students.byId",
    "/api/no-such-route",
    "/no-such-route",
  ])("answers 404 NOT_FOUND to GET %s, with an admin token and without one", async (path) => {
    const withToken = await campus.request("GET", path, { token: admin });
    const withoutToken = await campus.request("GET", path);

    expectCleanError(withToken, 404, "NOT_FOUND");
    expectCleanError(withoutToken, 404, "NOT_FOUND");
  });

  it("answers 404 NOT_FOUND to POST on an internal action's name", async () => {
    const result = await campus.request("POST", "/api/users.account", {
      token: admin,
      body: { token: "x" },
    });

    expectCleanError(result, 404, "NOT_FOUND");
  });
});

describe("X-Request-ID", () => {
  it("echoes a well-formed X-Request-ID on success and on error", async () => {
    const ok = await campus.request("GET", "/health/live", {
      headers: { "x-request-id": "abc-123" },
    });
    const error = await campus.request("GET", "/api/students", {
      headers: { "x-request-id": "abc-123" },
    });

    expect(ok.headers.get("x-request-id")).toBe("abc-123");
    expect(error.status).toBe(401);
    expect(error.headers.get("x-request-id")).toBe("abc-123");
  });

  it.each([
    ["300 characters", "a".repeat(300)],
    ["spaces", "abc 123 def"],
    ["markup", "<script>alert(1)</script>"],
  ])("replaces an X-Request-ID with %s by a generated one", async (_case, requestId) => {
    const result = await campus.request("GET", "/api/courses", {
      token: admin,
      headers: { "x-request-id": requestId },
    });

    expect(result.status).toBe(200);
    const echoed = result.headers.get("x-request-id");
    expect(echoed).toMatch(REQUEST_ID);
    expect(echoed).not.toBe(requestId);
  });

  it("generates a distinct X-Request-ID for each request that has none", async () => {
    const first = await campus.request("GET", "/api/courses", { token: admin });
    const second = await campus.request("GET", "/api/no-such-route");

    expect(first.headers.get("x-request-id")).toMatch(REQUEST_ID);
    expect(second.headers.get("x-request-id")).toMatch(REQUEST_ID);
    expect(second.headers.get("x-request-id")).not.toBe(first.headers.get("x-request-id"));
  });
});

describe("health", () => {
  it("answers 200 to GET /health/live without a token", async () => {
    const result = await campus.request("GET", "/health/live");

    expect(result.status).toBe(200);
  });

  it('answers 200 {status:"ready"} to GET /health/ready without a token', async () => {
    const result = await campus.request("GET", "/health/ready");

    expect(result.status).toBe(200);
    expect(result.body).toMatchObject({ status: "ready" });
  });
});

describe("error bodies", () => {
  it.each([
    ["401 for no token", () => campus.request("GET", "/api/students"), 401],
    [
      "401 for a bad token",
      () => campus.request("GET", "/api/students", { token: "not.a.token" }),
      401,
    ],
    [
      "401 for bad credentials",
      () =>
        campus.request("POST", "/api/auth/login", {
          body: { email: uniqueEmail("nobody"), password: PASSWORD },
        }),
      401,
    ],
    ["400 for a malformed URL parameter", () => adminGet("/api/students/%E0%A4%A"), 400],
    ["404 for an unknown student", () => adminGet(`/api/students/${UNKNOWN_ID}`), 404],
    ["404 for a non-uuid course id", () => adminGet("/api/courses/1%20OR%201=1"), 404],
    ["422 for an unknown sort field", () => adminGet("/api/students?sort=password"), 422],
    ["422 for a pageSize over 100", () => adminGet("/api/courses?pageSize=1000"), 422],
  ])("answers %s with the contract's body and nothing internal", async (_case, send, status) => {
    const result = await send();

    expectCleanError(result, status);
  });

  it("answers 403 to a student on an admin route with the contract's body", async () => {
    const student = await registerStudent(campus);

    const result = await campus.request("GET", "/api/users", { token: student.token });

    expectCleanError(result, 403, "FORBIDDEN");
  });

  it("answers 409 to a duplicate course code with the contract's body", async () => {
    const course = await createCourse({});

    const result = await campus.request("POST", "/api/courses", {
      token: admin,
      body: { code: course.code.toLowerCase(), title: "Again" },
    });

    expectCleanError(result, 409);
  });
});

function adminGet(path: string) {
  return campus.request("GET", path, { token: admin });
}
