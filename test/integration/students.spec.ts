import {
  startCampus,
  registerStudent,
  uniqueEmail,
  createTeacher,
  errorBody,
  fieldError,
  markers,
  UNKNOWN_ID,
  UUID,
  ISO_TIME,
  type Campus,
} from "../helpers/campus";

let campus: Campus;
let admin: string;
let teacher: string;

beforeAll(async () => {
  campus = await startCampus();
  admin = await campus.adminToken();
  teacher = await createTeacher(campus);
});
afterAll(() => campus.stop());

/** A lower-case token no other test's data contains: scopes a search to one test's students. */
const marker = markers("k");

async function createStudent(fields: Record<string, unknown> = {}) {
  const result = await campus.request("POST", "/api/students", {
    token: admin,
    body: { firstName: "Some", lastName: "Student", email: uniqueEmail(), ...fields },
  });
  expect(result.status).toBe(201);
  return result.body;
}

function list(query: string, token = admin) {
  return campus.request("GET", `/api/students?${query}`, { token });
}

describe("GET /api/students — who may list", () => {
  it("answers 200 with a page to an admin and to a teacher", async () => {
    const m = marker();
    const student = await createStudent({ email: uniqueEmail(m) });

    const byAdmin = await list(`search=${m}`, admin);
    const byTeacher = await list(`search=${m}`, teacher);

    const expected = { rows: [student], total: 1, page: 1, pageSize: 20, totalPages: 1 };
    expect(byAdmin.status).toBe(200);
    expect(byAdmin.body).toEqual(expected);
    expect(byTeacher.status).toBe(200);
    expect(byTeacher.body).toEqual(expected);
  });

  it("answers 403 FORBIDDEN to a student", async () => {
    const me = await registerStudent(campus);

    const result = await list("", me.token);

    expect(result.status).toBe(403);
    expect(result.body).toEqual(errorBody(403, "FORBIDDEN"));
  });

  it("answers 401 without a token and with a malformed token", async () => {
    const none = await campus.request("GET", "/api/students");
    const bad = await campus.request("GET", "/api/students", { token: "not-a-jwt" });

    expect(none.status).toBe(401);
    expect(none.body).toEqual(errorBody(401, expect.any(String)));
    expect(bad.status).toBe(401);
    expect(bad.body).toEqual(errorBody(401, expect.any(String)));
  });
});

describe("GET /api/students — pages", () => {
  const m = marker();
  let students: Record<string, unknown>[] = [];

  beforeAll(async () => {
    students = [];
    for (let i = 1; i <= 21; i += 1) {
      students.push(
        await createStudent({
          firstName: "Pager",
          lastName: `Page${String(i).padStart(2, "0")}`,
          email: uniqueEmail(m),
        }),
      );
    }
  });

  it("defaults to page 1 of 20 rows", async () => {
    const result = await list(`search=${m}`);

    expect(result.status).toBe(200);
    expect(result.body).toEqual({
      rows: students.slice(0, 20),
      total: 21,
      page: 1,
      pageSize: 20,
      totalPages: 2,
    });
  });

  it("answers the requested page and page size", async () => {
    const result = await list(`search=${m}&page=2&pageSize=20`);

    expect(result.status).toBe(200);
    expect(result.body).toEqual({
      rows: [students[20]],
      total: 21,
      page: 2,
      pageSize: 20,
      totalPages: 2,
    });
  });

  it("accepts pageSize=100, the maximum", async () => {
    const result = await list(`search=${m}&pageSize=100`);

    expect(result.status).toBe(200);
    expect(result.body).toEqual({
      rows: students,
      total: 21,
      page: 1,
      pageSize: 100,
      totalPages: 1,
    });
  });

  it("answers an empty page past the last one", async () => {
    const result = await list(`search=${m}&page=3`);

    expect(result.status).toBe(200);
    expect(result.body).toEqual({ rows: [], total: 21, page: 3, pageSize: 20, totalPages: 2 });
  });

  it("ignores unknown query parameters", async () => {
    const result = await list(`search=${m}&page=2&colour=blue&filter%5Bx%5D=1`);

    expect(result.status).toBe(200);
    expect(result.body).toEqual({
      rows: [students[20]],
      total: 21,
      page: 2,
      pageSize: 20,
      totalPages: 2,
    });
  });

  it.each([
    ["page=0", "page"],
    ["page=-1", "page"],
    ["page=x", "page"],
    ["page=1.5", "page"],
    ["pageSize=0", "pageSize"],
    ["pageSize=101", "pageSize"],
    ["pageSize=1000", "pageSize"],
    ["pageSize=x", "pageSize"],
  ])("answers 422 naming the field for %s", async (query, field) => {
    const result = await list(query);

    expect(result.status).toBe(422);
    expect(result.body).toEqual(errorBody(422, "VALIDATION_ERROR", [fieldError(field)]));
  });
});

describe("GET /api/students — search", () => {
  it("matches a substring of first name, last name or email, ignoring case", async () => {
    const m = marker();
    const byFirst = await createStudent({
      firstName: `${m}Given`,
      lastName: "Plain",
      email: uniqueEmail("a"),
    });
    const byLast = await createStudent({
      firstName: "Plain",
      lastName: `${m}Family`,
      email: uniqueEmail("b"),
    });
    const byEmail = await createStudent({
      firstName: "Plain",
      lastName: "Plain",
      email: uniqueEmail(`${m}mail`),
    });

    const first = await list(`search=${`${m}given`.toUpperCase()}`);
    const last = await list(`search=${`${m}FAMILY`.toLowerCase()}`);
    const email = await list(`search=${`${m}Mail`.toUpperCase()}`);
    const all = await list(`search=${m.toUpperCase()}&sort=email`);

    expect(first.body).toEqual({ rows: [byFirst], total: 1, page: 1, pageSize: 20, totalPages: 1 });
    expect(last.body).toEqual({ rows: [byLast], total: 1, page: 1, pageSize: 20, totalPages: 1 });
    expect(email.body).toEqual({ rows: [byEmail], total: 1, page: 1, pageSize: 20, totalPages: 1 });
    expect(all.body).toEqual({
      rows: [byFirst, byLast, byEmail],
      total: 3,
      page: 1,
      pageSize: 20,
      totalPages: 1,
    });
  });

  it("takes % literally: only names containing a real % match", async () => {
    const m = marker();
    const percent = await createStudent({ lastName: `Sale%${m}` });
    await createStudent({ lastName: `SaleX${m}` }); // would match if % were a wildcard

    const result = await list(`search=${encodeURIComponent(`e%${m}`)}`);

    expect(result.status).toBe(200);
    expect(result.body).toEqual({
      rows: [percent],
      total: 1,
      page: 1,
      pageSize: 20,
      totalPages: 1,
    });
  });

  it("takes _ literally: only names containing a real _ match", async () => {
    const m = marker();
    const underscore = await createStudent({ firstName: `Under_${m}` });
    await createStudent({ firstName: `UnderX${m}` }); // would match if _ were a wildcard

    const result = await list(`search=${encodeURIComponent(`r_${m}`)}`);

    expect(result.status).toBe(200);
    expect(result.body).toEqual({
      rows: [underscore],
      total: 1,
      page: 1,
      pageSize: 20,
      totalPages: 1,
    });
  });
});

describe("GET /api/students — sort", () => {
  it("sorts by -lastName,firstName: last name descending, then first name ascending", async () => {
    const m = marker();
    const bakerZed = await createStudent({
      firstName: "Zed",
      lastName: "Baker",
      email: uniqueEmail(m),
    });
    const adamsCy = await createStudent({
      firstName: "Cy",
      lastName: "Adams",
      email: uniqueEmail(m),
    });
    const carterBob = await createStudent({
      firstName: "Bob",
      lastName: "Carter",
      email: uniqueEmail(m),
    });
    const bakerAnn = await createStudent({
      firstName: "Ann",
      lastName: "Baker",
      email: uniqueEmail(m),
    });

    const result = await list(`search=${m}&sort=${encodeURIComponent("-lastName,firstName")}`);

    expect(result.status).toBe(200);
    expect(result.body).toEqual({
      rows: [carterBob, bakerAnn, bakerZed, adamsCy],
      total: 4,
      page: 1,
      pageSize: 20,
      totalPages: 1,
    });
  });

  it("sorts by last name, then first name, when no sort is given", async () => {
    const m = marker();
    const bakerZed = await createStudent({
      firstName: "Zed",
      lastName: "Baker",
      email: uniqueEmail(m),
    });
    const adamsCy = await createStudent({
      firstName: "Cy",
      lastName: "Adams",
      email: uniqueEmail(m),
    });
    const bakerAnn = await createStudent({
      firstName: "Ann",
      lastName: "Baker",
      email: uniqueEmail(m),
    });

    const result = await list(`search=${m}`);

    expect(result.body.rows).toEqual([adamsCy, bakerAnn, bakerZed]);
  });

  it("answers 422 naming a field outside the whitelist", async () => {
    const result = await list(`sort=${encodeURIComponent("lastName,-passwordHash")}`);

    expect(result.status).toBe(422);
    expect(result.body).toEqual(errorBody(422, "VALIDATION_ERROR", [fieldError("sort")]));
    expect(result.body.data[0].message).toContain("passwordHash");
  });
});

describe("POST /api/students", () => {
  it("lets an admin create a student: 201, the student, and a Location header", async () => {
    const email = uniqueEmail("created");

    const result = await campus.request("POST", "/api/students", {
      token: admin,
      body: { firstName: "Ada", lastName: "Lovelace", email },
    });

    expect(result.status).toBe(201);
    expect(result.body).toEqual({
      id: expect.stringMatching(UUID),
      firstName: "Ada",
      lastName: "Lovelace",
      email,
      createdAt: expect.stringMatching(ISO_TIME),
      updatedAt: expect.stringMatching(ISO_TIME),
    });
    expect(result.headers.get("location")).toBe(`/api/students/${result.body.id}`);
    const stored = await campus.request("GET", `/api/students/${result.body.id}`, {
      token: admin,
    });
    expect(stored.body).toEqual(result.body);
  });

  it("answers 403 to a teacher and to a student, and creates nothing", async () => {
    const m = marker();
    const me = await registerStudent(campus);
    const body = { firstName: "Not", lastName: "Created", email: uniqueEmail(m) };

    const byTeacher = await campus.request("POST", "/api/students", { token: teacher, body });
    const byStudent = await campus.request("POST", "/api/students", { token: me.token, body });

    expect(byTeacher.status).toBe(403);
    expect(byTeacher.body).toEqual(errorBody(403, "FORBIDDEN"));
    expect(byStudent.status).toBe(403);
    expect((await list(`search=${m}`)).body.total).toBe(0);
  });

  it("stores the email lower-case", async () => {
    const email = uniqueEmail("Mixed.CASE");

    const result = await campus.request("POST", "/api/students", {
      token: admin,
      body: { firstName: "Grace", lastName: "Hopper", email: email.toUpperCase() },
    });

    expect(result.status).toBe(201);
    expect(result.body.email).toBe(email.toLowerCase());
  });

  it("answers 409 DUPLICATE_EMAIL for an email that differs from an existing one only in case", async () => {
    const existing = await createStudent({ email: uniqueEmail("dup") });

    const result = await campus.request("POST", "/api/students", {
      token: admin,
      body: { firstName: "Second", lastName: "Copy", email: existing.email.toUpperCase() },
    });

    expect(result.status).toBe(409);
    expect(result.body).toEqual(errorBody(409, "DUPLICATE_EMAIL"));
  });

  it("answers 422 listing each missing name, with only field, message and type per item", async () => {
    const m = marker();

    const result = await campus.request("POST", "/api/students", {
      token: admin,
      body: { email: uniqueEmail(m) },
    });

    expect(result.status).toBe(422);
    expect(result.body).toEqual(
      errorBody(422, "VALIDATION_ERROR", [fieldError("firstName"), fieldError("lastName")]),
    );
    expect((await list(`search=${m}`)).body.total).toBe(0);
  });

  it("answers 422 for a blank first name", async () => {
    const result = await campus.request("POST", "/api/students", {
      token: admin,
      body: { firstName: "   ", lastName: "Blank", email: uniqueEmail() },
    });

    expect(result.status).toBe(422);
    expect(result.body).toEqual(errorBody(422, "VALIDATION_ERROR", [fieldError("firstName")]));
  });

  it("answers 422 for a 5,000-character last name and accepts one of 100 characters", async () => {
    const tooLong = await campus.request("POST", "/api/students", {
      token: admin,
      body: { firstName: "Long", lastName: "x".repeat(5000), email: uniqueEmail() },
    });
    const longest = await campus.request("POST", "/api/students", {
      token: admin,
      body: { firstName: "Long", lastName: "y".repeat(100), email: uniqueEmail() },
    });

    expect(tooLong.status).toBe(422);
    expect(tooLong.body).toEqual(errorBody(422, "VALIDATION_ERROR", [fieldError("lastName")]));
    expect(longest.status).toBe(201);
    expect(longest.body.lastName).toBe("y".repeat(100));
  });

  it("ignores unknown and read-only fields such as id and createdAt", async () => {
    const email = uniqueEmail("readonly");

    const result = await campus.request("POST", "/api/students", {
      token: admin,
      body: {
        id: UNKNOWN_ID,
        createdAt: "2000-01-01T00:00:00.000Z",
        updatedAt: "2000-01-01T00:00:00.000Z",
        role: "admin",
        nickname: "Ignored",
        firstName: "Read",
        lastName: "Only",
        email,
      },
    });

    expect(result.status).toBe(201);
    expect(result.body).toEqual({
      id: expect.stringMatching(UUID),
      firstName: "Read",
      lastName: "Only",
      email,
      createdAt: expect.stringMatching(ISO_TIME),
      updatedAt: expect.stringMatching(ISO_TIME),
    });
    expect(result.body.id).not.toBe(UNKNOWN_ID);
    expect(result.body.createdAt).not.toBe("2000-01-01T00:00:00.000Z");
    const atGivenId = await campus.request("GET", `/api/students/${UNKNOWN_ID}`, { token: admin });
    expect(atGivenId.status).toBe(404);
  });
});

describe("GET /api/students/:id", () => {
  it("answers 200 with the student to an admin, a teacher and the student themself", async () => {
    const me = await registerStudent(campus, { firstName: "Self", lastName: "Reader" });
    const expected = {
      id: me.studentId,
      firstName: "Self",
      lastName: "Reader",
      email: me.email,
      createdAt: expect.stringMatching(ISO_TIME),
      updatedAt: expect.stringMatching(ISO_TIME),
    };

    const byAdmin = await campus.request("GET", `/api/students/${me.studentId}`, { token: admin });
    const byTeacher = await campus.request("GET", `/api/students/${me.studentId}`, {
      token: teacher,
    });
    const bySelf = await campus.request("GET", `/api/students/${me.studentId}`, {
      token: me.token,
    });

    expect([byAdmin.status, byTeacher.status, bySelf.status]).toEqual([200, 200, 200]);
    expect(byAdmin.body).toEqual(expected);
    expect(byTeacher.body).toEqual(byAdmin.body);
    expect(bySelf.body).toEqual(byAdmin.body);
  });

  it("answers 403 to another student", async () => {
    const me = await registerStudent(campus);
    const other = await registerStudent(campus);

    const result = await campus.request("GET", `/api/students/${other.studentId}`, {
      token: me.token,
    });

    expect(result.status).toBe(403);
    expect(result.body).toEqual(errorBody(403, "FORBIDDEN"));
  });

  it("answers 404 NOT_FOUND for an unknown uuid and for a malformed id", async () => {
    const unknown = await campus.request("GET", `/api/students/${UNKNOWN_ID}`, { token: admin });
    const malformed = await campus.request("GET", "/api/students/not-a-uuid", { token: admin });

    expect(unknown.status).toBe(404);
    expect(unknown.body).toEqual(errorBody(404, "NOT_FOUND"));
    expect(malformed.status).toBe(404);
    expect(malformed.body).toEqual(errorBody(404, "NOT_FOUND"));
  });

  it("answers 404 NOT_FOUND for a malformed id longer than 64 characters", async () => {
    const result = await campus.request("GET", `/api/students/${"x".repeat(100)}`, {
      token: admin,
    });

    expect(result.status).toBe(404);
    expect(result.body).toEqual(errorBody(404, "NOT_FOUND"));
  });
});

describe("PUT /api/students/:id", () => {
  it("answers 422 when an editable field is missing, and changes nothing", async () => {
    const student = await createStudent({ firstName: "Whole", lastName: "Record" });

    const result = await campus.request("PUT", `/api/students/${student.id}`, {
      token: admin,
      body: { firstName: "Half", email: student.email },
    });

    expect(result.status).toBe(422);
    expect(result.body).toEqual(errorBody(422, "VALIDATION_ERROR", [fieldError("lastName")]));
    const after = await campus.request("GET", `/api/students/${student.id}`, { token: admin });
    expect(after.body).toEqual(student);
  });

  it("lets an admin replace every field, email included", async () => {
    const student = await createStudent({ firstName: "Old", lastName: "Name" });
    const email = uniqueEmail("replaced");

    const result = await campus.request("PUT", `/api/students/${student.id}`, {
      token: admin,
      body: { firstName: "New", lastName: "Surname", email: email.toUpperCase() },
    });

    expect(result.status).toBe(200);
    expect(result.body).toEqual({
      ...student,
      firstName: "New",
      lastName: "Surname",
      email,
      updatedAt: expect.stringMatching(ISO_TIME),
    });
    const after = await campus.request("GET", `/api/students/${student.id}`, { token: admin });
    expect(after.body).toEqual(result.body);
  });

  it("answers 409 DUPLICATE_EMAIL when an admin takes another student's email in other case", async () => {
    const taken = await createStudent();
    const student = await createStudent();

    const result = await campus.request("PUT", `/api/students/${student.id}`, {
      token: admin,
      body: { firstName: "Any", lastName: "Name", email: taken.email.toUpperCase() },
    });

    expect(result.status).toBe(409);
    expect(result.body).toEqual(errorBody(409, "DUPLICATE_EMAIL"));
  });

  it("lets the student themself replace their names when the email stays the same", async () => {
    const me = await registerStudent(campus, { firstName: "Before", lastName: "Put" });

    const result = await campus.request("PUT", `/api/students/${me.studentId}`, {
      token: me.token,
      body: { firstName: "After", lastName: "Replaced", email: me.email },
    });

    expect(result.status).toBe(200);
    expect(result.body).toMatchObject({
      id: me.studentId,
      firstName: "After",
      lastName: "Replaced",
      email: me.email,
    });
  });

  it("answers 403 to the student themself changing their email, and changes nothing", async () => {
    const me = await registerStudent(campus, { firstName: "Keeps", lastName: "Email" });
    const before = await campus.request("GET", `/api/students/${me.studentId}`, { token: admin });

    const result = await campus.request("PUT", `/api/students/${me.studentId}`, {
      token: me.token,
      body: { firstName: "Changed", lastName: "Email", email: uniqueEmail("elsewhere") },
    });

    expect(result.status).toBe(403);
    expect(result.body).toEqual(errorBody(403, "FORBIDDEN"));
    const after = await campus.request("GET", `/api/students/${me.studentId}`, { token: admin });
    expect(after.body).toEqual(before.body);
  });

  it("answers 403 to a teacher and to another student", async () => {
    const student = await createStudent();
    const other = await registerStudent(campus);
    const body = { firstName: "Not", lastName: "Allowed", email: student.email };

    const byTeacher = await campus.request("PUT", `/api/students/${student.id}`, {
      token: teacher,
      body,
    });
    const byOther = await campus.request("PUT", `/api/students/${student.id}`, {
      token: other.token,
      body,
    });

    expect(byTeacher.status).toBe(403);
    expect(byOther.status).toBe(403);
    const after = await campus.request("GET", `/api/students/${student.id}`, { token: admin });
    expect(after.body).toEqual(student);
  });

  it("answers 404 for an unknown student", async () => {
    const result = await campus.request("PUT", `/api/students/${UNKNOWN_ID}`, {
      token: admin,
      body: { firstName: "No", lastName: "One", email: uniqueEmail() },
    });

    expect(result.status).toBe(404);
    expect(result.body).toEqual(errorBody(404, "NOT_FOUND"));
  });
});

describe("PATCH /api/students/:id", () => {
  it("changes only the given fields", async () => {
    const student = await createStudent({ firstName: "Stays", lastName: "Goes" });

    const result = await campus.request("PATCH", `/api/students/${student.id}`, {
      token: admin,
      body: { lastName: "Came" },
    });

    expect(result.status).toBe(200);
    expect(result.body).toEqual({
      ...student,
      lastName: "Came",
      updatedAt: expect.stringMatching(ISO_TIME),
    });
  });

  it("PATCH with an empty body answers 200 with the student unchanged", async () => {
    const student = await createStudent();

    const result = await campus.request("PATCH", `/api/students/${student.id}`, {
      token: admin,
      body: {},
    });

    expect(result.status).toBe(200);
    expect(result.body).toEqual(student);
  });

  it("lets an admin change the email, stored lower-case", async () => {
    const student = await createStudent();
    const email = uniqueEmail("patched");

    const result = await campus.request("PATCH", `/api/students/${student.id}`, {
      token: admin,
      body: { email: email.toUpperCase() },
    });

    expect(result.status).toBe(200);
    expect(result.body).toEqual({ ...student, email, updatedAt: expect.stringMatching(ISO_TIME) });
  });

  it("lets the student themself change their first name", async () => {
    const me = await registerStudent(campus, { firstName: "Old", lastName: "Patcher" });

    const result = await campus.request("PATCH", `/api/students/${me.studentId}`, {
      token: me.token,
      body: { firstName: "New" },
    });

    expect(result.status).toBe(200);
    expect(result.body).toEqual({
      id: me.studentId,
      firstName: "New",
      lastName: "Patcher",
      email: me.email,
      createdAt: expect.stringMatching(ISO_TIME),
      updatedAt: expect.stringMatching(ISO_TIME),
    });
  });

  it("answers 403 to the student themself patching their email, and changes nothing", async () => {
    const me = await registerStudent(campus);
    const before = await campus.request("GET", `/api/students/${me.studentId}`, { token: admin });

    const result = await campus.request("PATCH", `/api/students/${me.studentId}`, {
      token: me.token,
      body: { email: uniqueEmail("elsewhere") },
    });

    expect(result.status).toBe(403);
    expect(result.body).toEqual(errorBody(403, "FORBIDDEN"));
    const after = await campus.request("GET", `/api/students/${me.studentId}`, { token: admin });
    expect(after.body).toEqual(before.body);
  });

  it("answers 403 to a teacher and to another student, and changes nothing", async () => {
    const student = await createStudent();
    const other = await registerStudent(campus);

    const byTeacher = await campus.request("PATCH", `/api/students/${student.id}`, {
      token: teacher,
      body: { firstName: "Teacher" },
    });
    const byOther = await campus.request("PATCH", `/api/students/${student.id}`, {
      token: other.token,
      body: { firstName: "Other" },
    });

    expect(byTeacher.status).toBe(403);
    expect(byTeacher.body).toEqual(errorBody(403, "FORBIDDEN"));
    expect(byOther.status).toBe(403);
    const after = await campus.request("GET", `/api/students/${student.id}`, { token: admin });
    expect(after.body).toEqual(student);
  });

  it("answers 422 for a blank first name", async () => {
    const student = await createStudent();

    const result = await campus.request("PATCH", `/api/students/${student.id}`, {
      token: admin,
      body: { firstName: "" },
    });

    expect(result.status).toBe(422);
    expect(result.body).toEqual(errorBody(422, "VALIDATION_ERROR", [fieldError("firstName")]));
  });
});

describe("DELETE /api/students/:id", () => {
  it("lets an admin delete a student: 204, then GET answers 404 and the list leaves it out", async () => {
    const m = marker();
    const student = await createStudent({ email: uniqueEmail(m) });

    const result = await campus.request("DELETE", `/api/students/${student.id}`, { token: admin });

    expect(result.status).toBe(204);
    expect(result.text).toBe("");
    const after = await campus.request("GET", `/api/students/${student.id}`, { token: admin });
    expect(after.status).toBe(404);
    expect((await list(`search=${m}`)).body.total).toBe(0);
  });

  it("answers 403 to a teacher and to the student themself, and deletes nothing", async () => {
    const me = await registerStudent(campus);

    const byTeacher = await campus.request("DELETE", `/api/students/${me.studentId}`, {
      token: teacher,
    });
    const bySelf = await campus.request("DELETE", `/api/students/${me.studentId}`, {
      token: me.token,
    });

    expect(byTeacher.status).toBe(403);
    expect(byTeacher.body).toEqual(errorBody(403, "FORBIDDEN"));
    expect(bySelf.status).toBe(403);
    const after = await campus.request("GET", `/api/students/${me.studentId}`, { token: admin });
    expect(after.status).toBe(200);
  });

  it("answers 404 for an unknown student", async () => {
    const result = await campus.request("DELETE", `/api/students/${UNKNOWN_ID}`, { token: admin });

    expect(result.status).toBe(404);
    expect(result.body).toEqual(errorBody(404, "NOT_FOUND"));
  });
});
