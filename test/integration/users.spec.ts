import {
  startCampus,
  registerStudent,
  uniqueEmail,
  errorBody,
  markers,
  UNKNOWN_ID,
  UUID,
  ISO_TIME,
  type Campus,
} from "../helpers/campus";

let campus: Campus;
let admin: string;
let teacher: string;
let student: Awaited<ReturnType<typeof registerStudent>>;

const PASSWORD = "a-good-long-password";

beforeAll(async () => {
  campus = await startCampus();
  admin = await campus.adminToken();
  const staff = await createUser({ role: "teacher" });
  teacher = await tokenOf(staff.email);
  student = await registerStudent(campus);
});
afterAll(() => campus.stop());

/** A lower-case token no other test's data contains: scopes a search to one test's users. */
const marker = markers("u");

async function createStudentRecord() {
  const result = await campus.request("POST", "/api/students", {
    token: admin,
    body: { firstName: "Linked", lastName: "Record", email: uniqueEmail("record") },
  });
  expect(result.status).toBe(201);
  return result.body;
}

/** Creates an account as admin (a teacher unless told otherwise); returns the user. */
async function createUser(fields: Record<string, unknown> = {}) {
  const result = await campus.request("POST", "/api/users", {
    token: admin,
    body: { email: uniqueEmail("user"), password: PASSWORD, role: "teacher", ...fields },
  });
  expect(result.status).toBe(201);
  return result.body;
}

function login(email: string, password = PASSWORD) {
  return campus.request("POST", "/api/auth/login", { body: { email, password } });
}

async function tokenOf(email: string, password = PASSWORD): Promise<string> {
  const result = await login(email, password);
  expect(result.status).toBe(200);
  return result.body.accessToken as string;
}

function list(query: string, token = admin) {
  return campus.request("GET", `/api/users?${query}`, { token });
}

function userShape(fields: { email: string; role: string; studentId?: string | null }) {
  return {
    id: expect.stringMatching(UUID),
    email: fields.email,
    role: fields.role,
    studentId: fields.studentId ?? null,
    disabled: false,
    createdAt: expect.stringMatching(ISO_TIME),
    updatedAt: expect.stringMatching(ISO_TIME),
  };
}

describe("GET /api/users", () => {
  it("pages users in email order with page and pageSize, narrowed by search on the email", async () => {
    const m = marker();
    const a = await createUser({ email: `${m}-a@campus.test` });
    const b = await createUser({ email: `${m}-b@campus.test` });
    const c = await createUser({ email: `${m}-c@campus.test` });

    const page1 = await list(`search=${m}&pageSize=2`);
    const page2 = await list(`search=${m}&pageSize=2&page=2`);

    expect(page1.status).toBe(200);
    expect(page1.body).toEqual({ rows: [a, b], total: 3, page: 1, pageSize: 2, totalPages: 2 });
    expect(page2.status).toBe(200);
    expect(page2.body).toEqual({ rows: [c], total: 3, page: 2, pageSize: 2, totalPages: 2 });
  });

  it("searches case-insensitively for a substring of the email", async () => {
    const m = marker();
    const user = await createUser({ email: `someone.${m}.else@campus.test` });

    const result = await list(`search=${m.toUpperCase()}`);

    expect(result.status).toBe(200);
    expect(result.body.rows).toEqual([user]);
  });

  it("filters by role", async () => {
    const m = marker();
    const record = await createStudentRecord();
    const anAdmin = await createUser({ email: `${m}-admin@campus.test`, role: "admin" });
    const aTeacher = await createUser({ email: `${m}-teacher@campus.test`, role: "teacher" });
    const aStudent = await createUser({
      email: `${m}-student@campus.test`,
      role: "student",
      studentId: record.id,
    });

    const admins = await list(`search=${m}&role=admin`);
    const teachers = await list(`search=${m}&role=teacher`);
    const students = await list(`search=${m}&role=student`);

    expect(admins.body.rows).toEqual([anAdmin]);
    expect(teachers.body.rows).toEqual([aTeacher]);
    expect(students.body.rows).toEqual([aStudent]);
  });

  it.each(["role=bogus", "page=0", "pageSize=1000", "page=x"])(
    "answers 422 VALIDATION_ERROR for %s",
    async (query) => {
      const result = await list(query);

      expect(result.status).toBe(422);
      expect(result.body).toEqual({
        ...errorBody(422, "VALIDATION_ERROR"),
        data: [expect.objectContaining({ field: query.split("=")[0] })],
      });
    },
  );
});

describe("GET /api/users/:id", () => {
  it("answers 200 with the user", async () => {
    const user = await createUser();

    const result = await campus.request("GET", `/api/users/${user.id}`, { token: admin });

    expect(result.status).toBe(200);
    expect(result.body).toEqual(user);
  });

  it.each([UNKNOWN_ID, "not-a-uuid"])("answers 404 NOT_FOUND for the id %p", async (id) => {
    const result = await campus.request("GET", `/api/users/${id}`, { token: admin });

    expect(result.status).toBe(404);
    expect(result.body).toEqual(errorBody(404, "NOT_FOUND"));
  });
});

describe("POST /api/users", () => {
  it.each(["admin", "teacher"])(
    "creates an account with role %s: 201, Location, the user without a hash, and it can log in",
    async (role) => {
      const email = uniqueEmail(role);

      const result = await campus.request("POST", "/api/users", {
        token: admin,
        body: { email, password: PASSWORD, role },
      });

      expect(result.status).toBe(201);
      expect(result.body).toEqual(userShape({ email, role }));
      expect(result.headers.get("location")).toBe(`/api/users/${result.body.id}`);
      const loggedIn = await login(email);
      expect(loggedIn.status).toBe(200);
      expect(loggedIn.body.user).toMatchObject({ id: result.body.id, role });
    },
  );

  it("creates a student account linked to an existing student record, which it may then read", async () => {
    const record = await createStudentRecord();
    const email = uniqueEmail("linked");

    const result = await campus.request("POST", "/api/users", {
      token: admin,
      body: { email, password: PASSWORD, role: "student", studentId: record.id },
    });

    expect(result.status).toBe(201);
    expect(result.body).toEqual(userShape({ email, role: "student", studentId: record.id }));
    expect(result.headers.get("location")).toBe(`/api/users/${result.body.id}`);
    const token = await tokenOf(email);
    const own = await campus.request("GET", `/api/students/${record.id}`, { token });
    expect(own.status).toBe(200);
  });

  it("stores the email lower-case", async () => {
    const email = uniqueEmail("MixedCase");

    const result = await campus.request("POST", "/api/users", {
      token: admin,
      body: { email, password: PASSWORD, role: "teacher" },
    });

    expect(result.status).toBe(201);
    expect(result.body.email).toBe(email.toLowerCase());
  });

  it("answers 404 for a student account whose studentId does not exist, and creates nothing", async () => {
    const email = uniqueEmail("orphan");

    const result = await campus.request("POST", "/api/users", {
      token: admin,
      body: { email, password: PASSWORD, role: "student", studentId: UNKNOWN_ID },
    });

    expect(result.status).toBe(404);
    expect(result.body).toEqual(errorBody(404, "NOT_FOUND"));
    expect((await list(`search=${encodeURIComponent(email)}`)).body.total).toBe(0);
  });

  it("answers 422 on studentId for a student account without one and for a teacher account with one", async () => {
    const record = await createStudentRecord();

    const withoutId = await campus.request("POST", "/api/users", {
      token: admin,
      body: { email: uniqueEmail(), password: PASSWORD, role: "student" },
    });
    const teacherWithId = await campus.request("POST", "/api/users", {
      token: admin,
      body: { email: uniqueEmail(), password: PASSWORD, role: "teacher", studentId: record.id },
    });

    expect(withoutId.status).toBe(422);
    expect(withoutId.body.data).toEqual([expect.objectContaining({ field: "studentId" })]);
    expect(teacherWithId.status).toBe(422);
    expect(teacherWithId.body.data).toEqual([expect.objectContaining({ field: "studentId" })]);
  });

  it("answers 409 for a second account of the same student record", async () => {
    const record = await createStudentRecord();
    await createUser({ role: "student", studentId: record.id });

    const second = await campus.request("POST", "/api/users", {
      token: admin,
      body: { email: uniqueEmail(), password: PASSWORD, role: "student", studentId: record.id },
    });

    expect(second.status).toBe(409);
    expect(second.body).toEqual(errorBody(409, expect.any(String)));
  });

  it.each([
    ["is 9 characters long", () => "abcdefgh9"],
    ["equals the email in another case", (email: string) => email.toUpperCase()],
    ["is a common one", () => "password123"],
    ["is 129 characters long", () => "x".repeat(129)],
  ])(
    "answers 422 on password and creates nothing when the password %s",
    async (_case, password) => {
      const email = uniqueEmail("weak");

      const result = await campus.request("POST", "/api/users", {
        token: admin,
        body: { email, password: password(email), role: "teacher" },
      });

      expect(result.status).toBe(422);
      expect(result.body).toEqual({
        ...errorBody(422, "VALIDATION_ERROR"),
        data: expect.arrayContaining([expect.objectContaining({ field: "password" })]),
      });
      expect((await list(`search=${encodeURIComponent(email)}`)).body.total).toBe(0);
    },
  );

  it("answers 409 DUPLICATE_EMAIL for an email that already has an account, in any case", async () => {
    const existing = await createUser();

    const sameCase = await campus.request("POST", "/api/users", {
      token: admin,
      body: { email: existing.email, password: PASSWORD, role: "teacher" },
    });
    const otherCase = await campus.request("POST", "/api/users", {
      token: admin,
      body: { email: existing.email.toUpperCase(), password: PASSWORD, role: "admin" },
    });
    const registered = await campus.request("POST", "/api/users", {
      token: admin,
      body: { email: student.email, password: PASSWORD, role: "teacher" },
    });

    expect(sameCase.status).toBe(409);
    expect(sameCase.body).toEqual(errorBody(409, "DUPLICATE_EMAIL"));
    expect(otherCase.status).toBe(409);
    expect(registered.status).toBe(409);
    expect((await list(`search=${encodeURIComponent(existing.email)}`)).body.total).toBe(1);
  });

  it.each([
    ["an unknown role", { role: "superuser" }, "role"],
    ["a malformed email", { email: "not-an-email" }, "email"],
    ["no password", { password: undefined }, "password"],
  ])("answers 422 for %s", async (_case, fields, field) => {
    const result = await campus.request("POST", "/api/users", {
      token: admin,
      body: { email: uniqueEmail(), password: PASSWORD, role: "teacher", ...fields },
    });

    expect(result.status).toBe(422);
    expect(result.body.data).toEqual(expect.arrayContaining([expect.objectContaining({ field })]));
  });
});

describe("PATCH /api/users/:id", () => {
  it("changes the role", async () => {
    const user = await createUser({ role: "teacher" });

    const result = await campus.request("PATCH", `/api/users/${user.id}`, {
      token: admin,
      body: { role: "admin" },
    });

    expect(result.status).toBe(200);
    expect(result.body).toEqual({ ...user, role: "admin", updatedAt: expect.any(String) });
    const after = await campus.request("GET", `/api/users/${user.id}`, { token: admin });
    expect(after.body.role).toBe("admin");
  });

  it("takes admin rights from a demoted admin's existing token at once", async () => {
    const other = await createUser({ role: "admin" });
    const token = await tokenOf(other.email);
    expect((await list("", token)).status).toBe(200);

    const demoted = await campus.request("PATCH", `/api/users/${other.id}`, {
      token: admin,
      body: { role: "teacher" },
    });

    expect(demoted.status).toBe(200);
    const afterwards = await list("", token);
    expect(afterwards.status).toBe(403);
    expect(afterwards.body).toEqual(errorBody(403, "FORBIDDEN"));
  });

  it("changes the password: the new one logs in, the old one no longer does", async () => {
    const user = await createUser();

    const result = await campus.request("PATCH", `/api/users/${user.id}`, {
      token: admin,
      body: { password: "a-replacement-password" },
    });

    expect(result.status).toBe(200);
    expect(result.text).not.toContain("a-replacement-password");
    expect((await login(user.email)).status).toBe(401);
    expect((await login(user.email, "a-replacement-password")).status).toBe(200);
  });

  it("disables an account (no login, token refused) and enables it again", async () => {
    const user = await createUser();
    const token = await tokenOf(user.email);

    const disabled = await campus.request("PATCH", `/api/users/${user.id}`, {
      token: admin,
      body: { disabled: true },
    });

    expect(disabled.status).toBe(200);
    expect(disabled.body.disabled).toBe(true);
    expect((await login(user.email)).status).toBe(401);
    expect((await campus.request("GET", "/api/auth/me", { token })).status).toBe(401);
    const enabled = await campus.request("PATCH", `/api/users/${user.id}`, {
      token: admin,
      body: { disabled: false },
    });
    expect(enabled.status).toBe(200);
    expect(enabled.body.disabled).toBe(false);
    expect((await login(user.email)).status).toBe(200);
  });

  it.each([
    ["a weak password", { password: "short" }, "password"],
    ["an unknown role", { role: "bogus" }, "role"],
    ["a non-boolean disabled", { disabled: "yes" }, "disabled"],
  ])("answers 422 for %s and changes nothing", async (_case, body, field) => {
    const user = await createUser();

    const result = await campus.request("PATCH", `/api/users/${user.id}`, { token: admin, body });

    expect(result.status).toBe(422);
    expect(result.body.data).toEqual(expect.arrayContaining([expect.objectContaining({ field })]));
    expect((await campus.request("GET", `/api/users/${user.id}`, { token: admin })).body).toEqual(
      user,
    );
  });

  it("answers 404 for an unknown id", async () => {
    const result = await campus.request("PATCH", `/api/users/${UNKNOWN_ID}`, {
      token: admin,
      body: { role: "teacher" },
    });

    expect(result.status).toBe(404);
    expect(result.body).toEqual(errorBody(404, "NOT_FOUND"));
  });

  it("answers 200 with the unchanged user for an empty PATCH body", async () => {
    const user = await createUser();

    const result = await campus.request("PATCH", `/api/users/${user.id}`, {
      token: admin,
      body: {},
    });

    expect(result.status).toBe(200);
    expect(result.body).toEqual(user);
  });

  it("answers 422 on studentId when PATCH makes a teacher a student without a student record", async () => {
    const user = await createUser();

    const result = await campus.request("PATCH", `/api/users/${user.id}`, {
      token: admin,
      body: { role: "student" },
    });

    expect(result.status).toBe(422);
    expect(result.body.data).toEqual([expect.objectContaining({ field: "studentId" })]);
  });

  it("answers 422 on studentId when PATCH makes a linked student account a teacher", async () => {
    const record = await createStudentRecord();
    const user = await createUser({ role: "student", studentId: record.id });

    const result = await campus.request("PATCH", `/api/users/${user.id}`, {
      token: admin,
      body: { role: "teacher" },
    });

    expect(result.status).toBe(422);
    expect(result.body.data).toEqual([expect.objectContaining({ field: "studentId" })]);
  });
});

describe("DELETE /api/users/:id", () => {
  it("answers 204, after which the user is gone, cannot log in and their token is refused", async () => {
    const user = await createUser();
    const token = await tokenOf(user.email);

    const result = await campus.request("DELETE", `/api/users/${user.id}`, { token: admin });

    expect(result.status).toBe(204);
    expect(result.text).toBe("");
    expect((await campus.request("GET", `/api/users/${user.id}`, { token: admin })).status).toBe(
      404,
    );
    expect((await login(user.email)).status).toBe(401);
    expect((await campus.request("GET", "/api/auth/me", { token })).status).toBe(401);
  });

  it("answers 404 for an unknown id", async () => {
    const result = await campus.request("DELETE", `/api/users/${UNKNOWN_ID}`, { token: admin });

    expect(result.status).toBe(404);
    expect(result.body).toEqual(errorBody(404, "NOT_FOUND"));
  });
});

describe("an admin cannot lock themself out", () => {
  // A second admin acts on itself, so a failure here cannot lock out the suite's admin.
  let self: { id: string; token: string };

  beforeAll(async () => {
    const user = await createUser({ role: "admin" });
    self = { id: user.id, token: await tokenOf(user.email) };
  });

  it.each([
    ["disabling", { disabled: true }],
    ["demoting to teacher", { role: "teacher" }],
    ["demoting to student", { role: "student" }],
  ])(
    "answers 409 SELF_LOCKOUT to an admin %s their own account, which stays an enabled admin",
    async (_case, body) => {
      const result = await campus.request("PATCH", `/api/users/${self.id}`, {
        token: self.token,
        body,
      });

      expect(result.status).toBe(409);
      expect(result.body).toEqual(errorBody(409, "SELF_LOCKOUT"));
      const after = await campus.request("GET", `/api/users/${self.id}`, { token: self.token });
      expect(after.status).toBe(200);
      expect(after.body).toMatchObject({ role: "admin", disabled: false });
    },
  );

  it("answers 409 SELF_LOCKOUT to an admin trying to delete themself", async () => {
    const result = await campus.request("DELETE", `/api/users/${self.id}`, { token: self.token });

    expect(result.status).toBe(409);
    expect(result.body).toEqual(errorBody(409, "SELF_LOCKOUT"));
    expect(
      (await campus.request("GET", `/api/users/${self.id}`, { token: self.token })).status,
    ).toBe(200);
  });
});

describe("who may use /api/users", () => {
  function routes(targetId: string): [string, string, unknown][] {
    return [
      ["GET", "/api/users", undefined],
      ["GET", `/api/users/${targetId}`, undefined],
      ["POST", "/api/users", { email: uniqueEmail("intruder"), password: PASSWORD, role: "admin" }],
      ["PATCH", `/api/users/${targetId}`, { role: "admin", disabled: true }],
      ["DELETE", `/api/users/${targetId}`, undefined],
    ];
  }

  it.each(["teacher", "student"])(
    "answers 403 FORBIDDEN to a %s token on every /api/users route and changes nothing",
    async (who) => {
      const token = who === "teacher" ? teacher : student.token;
      const target = await createUser();
      const attempts = [...routes(target.id), ...routes(student.userId)];

      const results = [];
      for (const [method, path, body] of attempts) {
        results.push(await campus.request(method, path, { token, body }));
      }

      for (const result of results) {
        expect(result.status).toBe(403);
        expect(result.body).toEqual(errorBody(403, "FORBIDDEN"));
      }
      const after = await campus.request("GET", `/api/users/${target.id}`, { token: admin });
      expect(after.body).toEqual(target);
      const self = await campus.request("GET", `/api/users/${student.userId}`, { token: admin });
      expect(self.body).toMatchObject({ role: "student", disabled: false });
      expect((await list("search=intruder")).body.total).toBe(0);
    },
  );

  it("answers 401 without a token on every /api/users route", async () => {
    const target = await createUser();

    const results = [];
    for (const [method, path, body] of routes(target.id)) {
      results.push(await campus.request(method, path, { body }));
    }

    expect(results.map((result) => result.status)).toEqual([401, 401, 401, 401, 401]);
  });
});
