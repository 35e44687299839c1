/**
 * Regression tests for the second hostile probe (issue 20, docs/SECURITY.md "Security round 2"),
 * over the real gateway: each test fails on the code the probe found.
 */
import type { Server } from "http";
import type { AddressInfo } from "net";
import { userInfo } from "os";
import { brotliCompressSync, gzipSync } from "zlib";
import { ADMIN, eventually, startCampus, uniqueEmail, type Campus } from "../helpers/campus";
import { HASHING_CONCURRENCY, HASHING_QUEUE, hashingPool } from "../../services/users/passwords";

let campus: Campus;
let admin: string;
let counter = 0;

beforeAll(async () => {
  campus = await startCampus();
  admin = await campus.adminToken();
});
afterAll(() => campus.stop());

async function createStudent(): Promise<string> {
  const result = await campus.request("POST", "/api/students", {
    token: admin,
    body: { firstName: "Round", lastName: "Two", email: uniqueEmail("round2") },
  });
  expect(result.status).toBe(201);
  return result.body.id as string;
}

async function createCourse(): Promise<string> {
  counter += 1;
  const result = await campus.request("POST", "/api/courses", {
    token: admin,
    body: { code: `SEC2-${process.pid}-${counter}`, title: "Round two", capacity: 3 },
  });
  expect(result.status).toBe(201);
  return result.body.id as string;
}

describe("finding 1: ids in capitals", () => {
  it("answers 404 to a GET with the upper-case id of a student just deleted (after a cached read)", async () => {
    const id = await createStudent();
    expect((await campus.request("GET", `/api/students/${id}`, { token: admin })).status).toBe(200);
    const upper = id.toUpperCase();
    const cachedUpper = await campus.request("GET", `/api/students/${upper}`, { token: admin });
    expect(cachedUpper.status).toBe(200);
    expect(cachedUpper.body.id).toBe(id);

    expect((await campus.request("DELETE", `/api/students/${id}`, { token: admin })).status).toBe(
      204,
    );

    expect((await campus.request("GET", `/api/students/${upper}`, { token: admin })).status).toBe(
      404,
    );
  });

  it("answers 404 to an enrollment of a deleted student named in capitals, and takes no seat", async () => {
    const studentId = await createStudent();
    const courseId = await createCourse();
    // Read in both forms first, as the probe did, so a case-sensitive cache would hold both.
    await campus.request("GET", `/api/students/${studentId}`, { token: admin });
    await campus.request("GET", `/api/students/${studentId.toUpperCase()}`, { token: admin });
    await campus.request("DELETE", `/api/students/${studentId}`, { token: admin });

    const enroll = await campus.request("POST", `/api/courses/${courseId.toUpperCase()}/students`, {
      token: admin,
      body: { studentId: studentId.toUpperCase() },
    });

    expect(enroll.status).toBe(404);
    const course = await campus.request("GET", `/api/courses/${courseId}`, { token: admin });
    expect(course.body.enrolledCount).toBe(0);
    const roster = await campus.request("GET", `/api/courses/${courseId}/students`, {
      token: admin,
    });
    expect(roster.body).toMatchObject({ rows: [], total: 0 });
  });

  it("answers 404 to the upper-case id of a deleted course", async () => {
    const id = await createCourse();
    await campus.request("GET", `/api/courses/${id.toUpperCase()}`, { token: admin });
    await campus.request("DELETE", `/api/courses/${id}`, { token: admin });

    expect(
      (await campus.request("GET", `/api/courses/${id.toUpperCase()}`, { token: admin })).status,
    ).toBe(404);
  });

  it("returns ids in lower case whatever case the request used", async () => {
    const studentId = await createStudent();
    const courseId = await createCourse();

    const enroll = await campus.request("POST", `/api/courses/${courseId.toUpperCase()}/students`, {
      token: admin,
      body: { studentId: studentId.toUpperCase() },
    });

    expect(enroll.status).toBe(201);
    expect(enroll.body).toMatchObject({ courseId, studentId });
  });
});

describe("finding 10: protocol edges", () => {
  it("answers 405 with Allow to a wrong method on a known path", async () => {
    const result = await campus.request("PATCH", "/api/students", { token: admin, body: {} });

    expect(result.status).toBe(405);
    expect(result.headers.get("allow")).toBe("GET, HEAD, POST, OPTIONS");
    expect(result.body).toMatchObject({
      name: "MethodNotAllowed",
      code: 405,
      type: "METHOD_NOT_ALLOWED",
    });
  });

  it("answers 405 with Allow on a record path and on the auth routes", async () => {
    const record = await campus.request("POST", `/api/courses/${await createCourse()}`, {
      token: admin,
      body: {},
    });
    const login = await campus.request("GET", "/api/auth/login");

    expect(record.status).toBe(405);
    expect(record.headers.get("allow")).toBe("GET, HEAD, PUT, PATCH, DELETE, OPTIONS");
    expect(login.status).toBe(405);
    expect(login.headers.get("allow")).toBe("POST, OPTIONS");
  });

  it("answers HEAD like GET, without a body", async () => {
    const get = await campus.request("GET", "/api/courses", { token: admin });
    const head = await campus.request("HEAD", "/api/courses", { token: admin });
    const anonymous = await campus.request("HEAD", "/api/courses");

    expect(head.status).toBe(200);
    expect(head.text).toBe("");
    expect(head.headers.get("content-type")).toBe(get.headers.get("content-type"));
    expect(anonymous.status).toBe(401);
  });

  it("answers OPTIONS with 204 and Allow", async () => {
    const result = await campus.request("OPTIONS", "/api/students");

    expect(result.status).toBe(204);
    expect(result.headers.get("allow")).toBe("GET, HEAD, POST, OPTIONS");
    expect(result.text).toBe("");
  });

  it.each(["/API/USERS", "/api/USERS", "/Api/courses", "/api/Students"])(
    "treats paths as case-sensitive: %s is 404",
    async (path) => {
      const result = await campus.request("GET", path, { token: admin });

      expect(result.status).toBe(404);
      expect(result.body).toMatchObject({ code: 404, type: "NOT_FOUND" });
    },
  );

  it.each(["0x10", "1e2", " 5", "5.0", "+", "0b1", "Infinity"])(
    "answers 422 on page to the query integer %j",
    async (value) => {
      const result = await campus.request("GET", `/api/courses?page=${encodeURIComponent(value)}`, {
        token: admin,
      });

      expect(result.status).toBe(422);
      expect(result.body.data).toEqual([expect.objectContaining({ field: "page" })]);
    },
  );

  it("still reads plain decimal query integers", async () => {
    const result = await campus.request("GET", "/api/courses?page=2&pageSize=10", {
      token: admin,
    });

    expect(result.status).toBe(200);
    expect(result.body).toMatchObject({ page: 2, pageSize: 10 });
  });

  it("names 414 and 431 by their status", async () => {
    const tooLong = await campus.request("GET", `/api/courses?search=${"a".repeat(2100)}`);
    const tooLarge = await fetch(`${campus.baseUrl}/api/courses`, {
      headers: { "X-Padding": "p".repeat(20_000) },
    });

    expect(tooLong.body).toMatchObject({ name: "URITooLong", code: 414 });
    expect(await tooLarge.json()).toMatchObject({
      name: "RequestHeaderFieldsTooLarge",
      code: 431,
    });
  });
});

/** A POST with a raw (possibly compressed or corrupt) body. */
async function postRaw(
  target: Campus,
  path: string,
  body: Buffer,
  headers: Record<string, string>,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${target.baseUrl}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: body,
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe("finding 5: request bodies decoded after the rate limiter and the route match", () => {
  const corruptBrotli = Buffer.from("{}");

  it("answers a corrupt brotli body with 400 MALFORMED_BODY, logged at warn, not 500", async () => {
    const logger = campus.broker.getLocalService("api")!.logger;
    const warn = jest.spyOn(logger, "warn");
    const error = jest.spyOn(logger, "error");
    try {
      const result = await postRaw(campus, "/api/auth/login", corruptBrotli, {
        "content-encoding": "br",
      });

      expect(result.status).toBe(400);
      expect(result.body).toEqual({
        name: "BadRequest",
        message: "The request body could not be decoded",
        code: 400,
        type: "MALFORMED_BODY",
      });
      expect(warn).toHaveBeenCalledWith(expect.stringContaining("MALFORMED_BODY"));
      expect(error).not.toHaveBeenCalled();
    } finally {
      warn.mockRestore();
      error.mockRestore();
    }
  });

  it.each([
    ["gzip", Buffer.from("not gzip at all")],
    ["deflate", Buffer.from([0x78, 0x9c, 0xff, 0xff])],
    ["br", Buffer.from([0xff, 0xff, 0xff, 0xff])],
  ])("answers a corrupt %s body with 400", async (encoding, body) => {
    const result = await postRaw(campus, "/api/auth/login", body, { "content-encoding": encoding });

    expect(result.status).toBe(400);
    expect(result.body.type).toBe("MALFORMED_BODY");
  });

  it("answers an unknown content encoding with 415", async () => {
    const result = await postRaw(campus, "/api/auth/login", Buffer.from("{}"), {
      "content-encoding": "compress",
    });

    expect(result.status).toBe(415);
    expect(result.body.type).toBe("UNSUPPORTED_ENCODING");
  });

  it.each([
    ["gzip", gzipSync],
    ["br", brotliCompressSync],
  ])("still reads a well-formed %s body", async (encoding, compress) => {
    const result = await postRaw(campus, "/api/auth/login", compress(JSON.stringify(ADMIN)), {
      "content-encoding": encoding,
    });

    expect(result.status).toBe(200);
  });

  it("does not decode the body of a request that matched no route (404, not 400)", async () => {
    const result = await postRaw(campus, "/api/auth/no-such-route", corruptBrotli, {
      "content-encoding": "br",
    });

    expect(result.status).toBe(404);
  });

  it("charges corrupt bodies to the address's budget and refuses them with 429 once it is spent", async () => {
    const limited = await startCampus({ AUTH_RATE_LIMIT_PER_MINUTE: "2" });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 4; i += 1) {
        const result = await postRaw(limited, "/api/auth/login", corruptBrotli, {
          "content-encoding": "br",
        });
        statuses.push(result.status);
      }

      expect(statuses).toEqual([400, 400, 429, 429]);
    } finally {
      await limited.stop();
    }
  });
});

describe("finding 7: /metrics without host identity", () => {
  async function metricsText(): Promise<string> {
    const reporters = (campus.broker.metrics as unknown as { reporter: { server?: Server }[] })
      .reporter;
    const server = reporters.find((reporter) => reporter.server)!.server!;
    const { port } = server.address() as AddressInfo;
    return (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  }

  it("publishes no OS user, home directory, network address, MAC, host name or process arguments", async () => {
    const text = await metricsText();

    expect(text).toMatch(/^process_memory_rss/m); // the process series are still there
    expect(text).toMatch(/^campus_http_requests_total/m);
    for (const series of [
      "os_user_username",
      "os_user_homedir",
      "os_user_uid",
      "os_network_address",
      "os_network_mac",
      "os_hostname",
      "process_arguments",
    ]) {
      expect(text).not.toMatch(new RegExp(`^${series}`, "m"));
    }
    expect(text).not.toContain(userInfo().homedir);
  });
});

describe("finding 6: password hashing bounded", () => {
  it("answers a login 503 with Retry-After at once while the hashing pool is full, and 200 once it drains", async () => {
    // Fill the process's pool (the services run in this process): 2 running, 16 waiting.
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const held = Array.from({ length: HASHING_CONCURRENCY + HASHING_QUEUE }, () =>
      hashingPool.run(() => gate),
    );
    expect(hashingPool.load).toEqual({ running: 2, queued: 16 });

    const busy = await campus.request("POST", "/api/auth/login", { body: ADMIN });
    const busyRegister = await campus.request("POST", "/api/auth/register", {
      body: {
        email: uniqueEmail("busy"),
        password: "a-good-long-password",
        firstName: "B",
        lastName: "C",
      },
    });
    release();
    await Promise.all(held);
    const after = await campus.request("POST", "/api/auth/login", { body: ADMIN });

    for (const result of [busy, busyRegister]) {
      expect(result.status).toBe(503);
      expect(Number(result.headers.get("retry-after"))).toBeGreaterThan(0);
      expect(result.body).toMatchObject({ code: 503, type: "SERVICE_UNAVAILABLE" });
    }
    expect(after.status).toBe(200);
  });

  it("answers a crowd of 40 simultaneous logins only with 401 or 503 (never 500), and still logs in after", async () => {
    const crowd = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        campus.request("POST", "/api/auth/login", {
          body: { email: uniqueEmail(`crowd${i}`), password: "wrong-password-here" },
        }),
      ),
    );

    expect(crowd.filter((result) => ![401, 503].includes(result.status))).toEqual([]);
    expect((await campus.request("POST", "/api/auth/login", { body: ADMIN })).status).toBe(200);
  });
});

describe("finding 9: no existence leaks", () => {
  it("answers register the same for an email with an account and one with only a student record", async () => {
    const withAccount = uniqueEmail("has-account");
    const withRecord = uniqueEmail("has-record");
    const register = (email: string) =>
      campus.request("POST", "/api/auth/register", {
        body: { email, password: "a-good-long-password", firstName: "A", lastName: "B" },
      });
    expect((await register(withAccount)).status).toBe(201);
    const record = await campus.request("POST", "/api/students", {
      token: admin,
      body: { firstName: "Only", lastName: "Record", email: withRecord },
    });
    expect(record.status).toBe(201);

    const started = [performance.now()];
    const accountTaken = await register(withAccount);
    started.push(performance.now());
    const recordTaken = await register(withRecord);
    started.push(performance.now());

    expect(accountTaken.status).toBe(409);
    expect(recordTaken.status).toBe(409);
    expect(recordTaken.text).toBe(accountTaken.text);
    // Both hash the password first: neither answers in a few milliseconds.
    const [accountMs, recordMs] = [started[1] - started[0], started[2] - started[1]];
    expect(Math.min(accountMs, recordMs) / Math.max(accountMs, recordMs)).toBeGreaterThan(0.25);
  });

  it("answers a student's PUT and PATCH of another student's id the same, existing or not", async () => {
    const email = uniqueEmail("self");
    const self = await campus.request("POST", "/api/auth/register", {
      body: { email, password: "a-good-long-password", firstName: "A", lastName: "B" },
    });
    const token = self.body.accessToken as string;
    const other = await createStudent();
    const missing = "00000000-0000-4000-8000-0000000000aa";
    const body = { firstName: "X", lastName: "Y", email: uniqueEmail("x") };

    const results = await Promise.all(
      [other, missing].flatMap((id) => [
        campus.request("PUT", `/api/students/${id}`, { token, body }),
        campus.request("PATCH", `/api/students/${id}`, { token, body: { firstName: "X" } }),
      ]),
    );

    expect(results.map((result) => result.status)).toEqual([403, 403, 403, 403]);
    expect(new Set(results.map((result) => result.text)).size).toBe(1);
  });
});

describe("finding 11: a student record and its account keep one email", () => {
  const PASSWORD = "a-good-long-password";
  const login = (email: string) =>
    campus.request("POST", "/api/auth/login", { body: { email, password: PASSWORD } });

  async function registered() {
    const email = uniqueEmail("one-email");
    const result = await campus.request("POST", "/api/auth/register", {
      body: { email, password: PASSWORD, firstName: "One", lastName: "Email" },
    });
    expect(result.status).toBe(201);
    return { email, studentId: result.body.user.studentId as string, userId: result.body.user.id };
  }

  it("refuses with 409 an admin's change of a student's email to another account's email, changing nothing", async () => {
    const student = await registered();
    const staffEmail = uniqueEmail("staff");
    const staff = await campus.request("POST", "/api/users", {
      token: admin,
      body: { email: staffEmail, password: "staff-password-long", role: "teacher" },
    });
    expect(staff.status).toBe(201);

    const change = await campus.request("PATCH", `/api/students/${student.studentId}`, {
      token: admin,
      body: { email: staffEmail.toUpperCase() },
    });

    expect(change.status).toBe(409);
    expect(change.body).toMatchObject({ code: 409, type: "DUPLICATE_EMAIL" });
    const record = await campus.request("GET", `/api/students/${student.studentId}`, {
      token: admin,
    });
    expect(record.body.email).toBe(student.email);
    expect((await login(student.email)).status).toBe(200);
  });

  it("moves the account's login to the student's new email, and the old one stops working", async () => {
    const student = await registered();
    const newEmail = uniqueEmail("moved");

    const change = await campus.request("PATCH", `/api/students/${student.studentId}`, {
      token: admin,
      body: { email: newEmail },
    });

    expect(change.status).toBe(200);
    await eventually(async () => {
      expect((await login(newEmail)).status).toBe(200);
    });
    expect((await login(student.email)).status).toBe(401);
    const account = await campus.request("GET", `/api/users/${student.userId}`, { token: admin });
    expect(account.body.email).toBe(newEmail);
  });
});
