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
let student: string;

beforeAll(async () => {
  campus = await startCampus();
  admin = await campus.adminToken();
  teacher = await createTeacher(campus);
  student = (await registerStudent(campus)).token;
});
afterAll(() => campus.stop());

/** A lower-case token no other test's data contains: a unique code, or a prefix to search by. */
const marker = markers("c");

async function createCourse(fields: Record<string, unknown> = {}, token = admin) {
  const result = await campus.request("POST", "/api/courses", {
    token,
    body: { code: marker(), title: "A course", ...fields },
  });
  expect(result.status).toBe(201);
  return result.body;
}

async function enrollNewStudent(courseId: string) {
  const created = await campus.request("POST", "/api/students", {
    token: admin,
    body: { firstName: "Enrolled", lastName: "Student", email: uniqueEmail("enrolled") },
  });
  expect(created.status).toBe(201);
  const enrolled = await campus.request("POST", `/api/courses/${courseId}/students`, {
    token: admin,
    body: { studentId: created.body.id },
  });
  expect(enrolled.status).toBe(201);
  return created.body;
}

function list(query: string, token = admin) {
  return campus.request("GET", `/api/courses?${query}`, { token });
}

function get(id: string) {
  return campus.request("GET", `/api/courses/${id}`, { token: admin });
}

function onePage(rows: unknown[]) {
  return { rows, total: rows.length, page: 1, pageSize: 20, totalPages: rows.length > 0 ? 1 : 0 };
}

describe("GET /api/courses — who may list", () => {
  it("answers 200 with a page to an admin, a teacher and a student", async () => {
    const course = await createCourse();

    const results = await Promise.all(
      [admin, teacher, student].map((token) => list(`search=${course.code}`, token)),
    );

    expect(results.map((result) => result.status)).toEqual([200, 200, 200]);
    for (const result of results) expect(result.body).toEqual(onePage([course]));
  });

  it("answers 401 without a token", async () => {
    const result = await campus.request("GET", "/api/courses");

    expect(result.status).toBe(401);
    expect(result.body).toEqual(errorBody(401, expect.any(String)));
  });
});

describe("GET /api/courses — pages", () => {
  const m = marker();
  let courses: Record<string, unknown>[] = [];

  beforeAll(async () => {
    courses = [];
    for (let i = 1; i <= 21; i += 1) {
      courses.push(await createCourse({ code: `${m}-${String(i).padStart(2, "0")}` }));
    }
  });

  it("defaults to page 1 of 20 rows, by code", async () => {
    const result = await list(`search=${m}`);

    expect(result.status).toBe(200);
    expect(result.body).toEqual({
      rows: courses.slice(0, 20),
      total: 21,
      page: 1,
      pageSize: 20,
      totalPages: 2,
    });
  });

  it("answers the requested page, and accepts pageSize=100", async () => {
    const second = await list(`search=${m}&page=2`);
    const all = await list(`search=${m}&pageSize=100`);

    expect(second.body).toEqual({
      rows: [courses[20]],
      total: 21,
      page: 2,
      pageSize: 20,
      totalPages: 2,
    });
    expect(all.status).toBe(200);
    expect(all.body).toEqual({ rows: courses, total: 21, page: 1, pageSize: 100, totalPages: 1 });
  });

  it("ignores unknown query parameters", async () => {
    const result = await list(`search=${m}&page=2&level=advanced`);

    expect(result.status).toBe(200);
    expect(result.body).toEqual({
      rows: [courses[20]],
      total: 21,
      page: 2,
      pageSize: 20,
      totalPages: 2,
    });
  });

  it.each([
    ["page=0", "page"],
    ["page=x", "page"],
    ["pageSize=0", "pageSize"],
    ["pageSize=101", "pageSize"],
    ["pageSize=1000", "pageSize"],
  ])("answers 422 naming the field for %s", async (query, field) => {
    const result = await list(query);

    expect(result.status).toBe(422);
    expect(result.body).toEqual(errorBody(422, "VALIDATION_ERROR", [fieldError(field)]));
  });
});

describe("GET /api/courses — search", () => {
  it("matches a substring of the code or the title, ignoring case", async () => {
    const m = marker();
    const byCode = await createCourse({ code: `${m}code`, title: "Plain title" });
    const byTitle = await createCourse({ code: `u${marker()}`, title: `Intro ${m}Title` });

    const code = await list(`search=${`${m}CODE`.toUpperCase()}`);
    const title = await list(`search=${`${m}title`.toUpperCase()}`);
    const both = await list(`search=${m.toUpperCase()}&sort=code`);

    expect(code.body).toEqual(onePage([byCode]));
    expect(title.body).toEqual(onePage([byTitle]));
    expect(both.body).toEqual(onePage([byCode, byTitle]));
  });

  it("takes % literally: only codes containing a real % match", async () => {
    const m = marker();
    const percent = await createCourse({ code: `${m}%1` });
    await createCourse({ code: `${m}X1` }); // would match if % were a wildcard

    const result = await list(`search=${encodeURIComponent(`${m}%`)}`);

    expect(result.status).toBe(200);
    expect(result.body).toEqual(onePage([percent]));
  });

  it("takes _ literally: only titles containing a real _ match", async () => {
    const m = marker();
    const underscore = await createCourse({ title: `Under_${m}` });
    await createCourse({ title: `UnderX${m}` }); // would match if _ were a wildcard

    const result = await list(`search=${encodeURIComponent(`r_${m}`)}`);

    expect(result.status).toBe(200);
    expect(result.body).toEqual(onePage([underscore]));
  });
});

describe("GET /api/courses — sort", () => {
  it("sorts by -capacity,code: capacity descending, then code ascending", async () => {
    const m = marker();
    const a20 = await createCourse({ code: `${m}a`, capacity: 20 });
    const b30 = await createCourse({ code: `${m}b`, capacity: 30 });
    const c20 = await createCourse({ code: `${m}c`, capacity: 20 });
    const d10 = await createCourse({ code: `${m}d`, capacity: 10 });

    const result = await list(`search=${m}&sort=${encodeURIComponent("-capacity,code")}`);

    expect(result.status).toBe(200);
    expect(result.body).toEqual(onePage([b30, a20, c20, d10]));
  });

  it("sorts by title", async () => {
    const m = marker();
    const zoology = await createCourse({ code: `${m}1`, title: "Zoology" });
    const algebra = await createCourse({ code: `${m}2`, title: "Algebra" });
    const music = await createCourse({ code: `${m}3`, title: "Music" });

    const result = await list(`search=${m}&sort=title`);

    expect(result.body).toEqual(onePage([algebra, music, zoology]));
  });

  it("answers 422 naming a field outside the whitelist", async () => {
    const result = await list(`sort=${encodeURIComponent("code,-description")}`);

    expect(result.status).toBe(422);
    expect(result.body).toEqual(errorBody(422, "VALIDATION_ERROR", [fieldError("sort")]));
    expect(result.body.data[0].message).toContain("description");
  });
});

describe("POST /api/courses", () => {
  it("lets an admin create a course: 201, the course, and a Location header", async () => {
    const code = marker();

    const result = await campus.request("POST", "/api/courses", {
      token: admin,
      body: {
        code,
        title: "Distributed Systems",
        description: "Brokers, nodes and events",
        capacity: 30,
        startDate: "2025-03-01",
        endDate: "2025-06-30",
      },
    });

    expect(result.status).toBe(201);
    expect(result.body).toEqual({
      id: expect.stringMatching(UUID),
      code,
      title: "Distributed Systems",
      description: "Brokers, nodes and events",
      capacity: 30,
      enrolledCount: 0,
      waitlistCapacity: 0,
      waitlistedCount: 0,
      teacherIds: [],
      startDate: "2025-03-01",
      endDate: "2025-06-30",
      createdAt: expect.stringMatching(ISO_TIME),
      updatedAt: expect.stringMatching(ISO_TIME),
    });
    expect(result.headers.get("location")).toBe(`/api/courses/${result.body.id}`);
    expect((await get(result.body.id)).body).toEqual(result.body);
  });

  it("lets a teacher create a course, with the optional fields defaulting to empty / no limit / no date", async () => {
    const code = marker();

    const result = await campus.request("POST", "/api/courses", {
      token: teacher,
      body: { code, title: "Minimal" },
    });

    expect(result.status).toBe(201);
    expect(result.body).toEqual({
      id: expect.stringMatching(UUID),
      code,
      title: "Minimal",
      description: "",
      capacity: null,
      enrolledCount: 0,
      waitlistCapacity: 0,
      waitlistedCount: 0,
      teacherIds: [expect.stringMatching(UUID)],
      startDate: null,
      endDate: null,
      createdAt: expect.stringMatching(ISO_TIME),
      updatedAt: expect.stringMatching(ISO_TIME),
    });
  });

  it("answers 403 to a student, and creates nothing", async () => {
    const code = marker();

    const result = await campus.request("POST", "/api/courses", {
      token: student,
      body: { code, title: "Not allowed" },
    });

    expect(result.status).toBe(403);
    expect(result.body).toEqual(errorBody(403, "FORBIDDEN"));
    expect((await list(`search=${code}`)).body.total).toBe(0);
  });

  it("accepts the longest values: code 32, title 200, description 5000 characters, capacity 1", async () => {
    const code = marker().padEnd(32, "z");

    const result = await campus.request("POST", "/api/courses", {
      token: admin,
      body: { code, title: "t".repeat(200), description: "d".repeat(5000), capacity: 1 },
    });

    expect(result.status).toBe(201);
    expect(result.body).toMatchObject({
      code,
      title: "t".repeat(200),
      description: "d".repeat(5000),
      capacity: 1,
    });
  });

  it("accepts a null capacity (no limit), a leap day, and an end date equal to the start date", async () => {
    const result = await campus.request("POST", "/api/courses", {
      token: admin,
      body: {
        code: marker(),
        title: "One day",
        capacity: null,
        startDate: "2024-02-29",
        endDate: "2024-02-29",
      },
    });

    expect(result.status).toBe(201);
    expect(result.body).toMatchObject({
      capacity: null,
      startDate: "2024-02-29",
      endDate: "2024-02-29",
    });
  });

  it.each([
    ["a missing code", { code: undefined }, "code"],
    ["an empty code", { code: "" }, "code"],
    ["a blank code", { code: "   " }, "code"],
    ["a 33-character code", { code: "q".repeat(33) }, "code"],
    ["a missing title", { title: undefined }, "title"],
    ["an empty title", { title: "" }, "title"],
    ["a 201-character title", { title: "t".repeat(201) }, "title"],
    ["a 5,001-character description", { description: "d".repeat(5001) }, "description"],
    ["capacity 0", { capacity: 0 }, "capacity"],
    ["capacity -1", { capacity: -1 }, "capacity"],
    ["capacity 1.5", { capacity: 1.5 }, "capacity"],
    ['capacity as the string "5"', { capacity: "5" }, "capacity"],
    ["startDate 2025-02-30", { startDate: "2025-02-30" }, "startDate"],
    ["endDate 2025-13-01", { endDate: "2025-13-01" }, "endDate"],
    ["startDate 2025-2-3", { startDate: "2025-2-3" }, "startDate"],
    ["startDate with a time", { startDate: "2025-03-01T00:00:00Z" }, "startDate"],
    ["endDate before startDate", { startDate: "2025-03-02", endDate: "2025-03-01" }, "endDate"],
  ])("answers 422 naming the field for %s, and creates nothing", async (_label, fields, field) => {
    const code = marker();

    const result = await campus.request("POST", "/api/courses", {
      token: admin,
      body: { code, title: `Invalid ${code}`, ...fields },
    });

    expect(result.status).toBe(422);
    expect(result.body).toEqual(errorBody(422, "VALIDATION_ERROR", [fieldError(field)]));
    expect((await list(`search=${code}`)).body.total).toBe(0);
  });

  it("answers 422 for startDate 0000-01-01 (no such day in PostgreSQL)", async () => {
    const code = marker();

    const result = await campus.request("POST", "/api/courses", {
      token: admin,
      body: { code, title: `Invalid ${code}`, startDate: "0000-01-01" },
    });

    expect(result.status).toBe(422);
    expect(result.body).toEqual(errorBody(422, "VALIDATION_ERROR", [fieldError("startDate")]));
  });

  it("answers 409 DUPLICATE_COURSE_CODE for a code that differs from an existing one only in case", async () => {
    const existing = await createCourse({ code: `${marker()}abc` });

    const result = await campus.request("POST", "/api/courses", {
      token: teacher,
      body: { code: existing.code.toUpperCase(), title: "Copy" },
    });

    expect(result.status).toBe(409);
    expect(result.body).toEqual(errorBody(409, "DUPLICATE_COURSE_CODE"));
  });

  it("ignores enrolledCount and other read-only or unknown fields in the body", async () => {
    const code = marker();

    const result = await campus.request("POST", "/api/courses", {
      token: admin,
      body: {
        code,
        title: "Read only",
        capacity: 5,
        enrolledCount: 5,
        id: UNKNOWN_ID,
        createdAt: "2000-01-01T00:00:00.000Z",
        teacher: "someone",
      },
    });

    expect(result.status).toBe(201);
    expect(result.body).toEqual({
      id: expect.stringMatching(UUID),
      code,
      title: "Read only",
      description: "",
      capacity: 5,
      enrolledCount: 0,
      waitlistCapacity: 0,
      waitlistedCount: 0,
      teacherIds: [],
      startDate: null,
      endDate: null,
      createdAt: expect.stringMatching(ISO_TIME),
      updatedAt: expect.stringMatching(ISO_TIME),
    });
    expect(result.body.id).not.toBe(UNKNOWN_ID);
    expect(result.body.createdAt).not.toBe("2000-01-01T00:00:00.000Z");
  });
});

describe("GET /api/courses/:id", () => {
  it("answers 200 with the course to an admin, a teacher and a student", async () => {
    const course = await createCourse({ capacity: 12, startDate: "2025-09-01" });

    const results = await Promise.all(
      [admin, teacher, student].map((token) =>
        campus.request("GET", `/api/courses/${course.id}`, { token }),
      ),
    );

    expect(results.map((result) => result.status)).toEqual([200, 200, 200]);
    for (const result of results) expect(result.body).toEqual(course);
  });

  it("answers 404 NOT_FOUND for an unknown uuid and for a malformed id", async () => {
    const unknown = await get(UNKNOWN_ID);
    const malformed = await get("not-a-uuid");

    expect(unknown.status).toBe(404);
    expect(unknown.body).toEqual(errorBody(404, "NOT_FOUND"));
    expect(malformed.status).toBe(404);
    expect(malformed.body).toEqual(errorBody(404, "NOT_FOUND"));
  });

  it("answers 401 without a token", async () => {
    const course = await createCourse();

    const result = await campus.request("GET", `/api/courses/${course.id}`);

    expect(result.status).toBe(401);
  });
});

describe("PUT /api/courses/:id", () => {
  it("replaces every field, resetting the omitted optional ones to empty / null", async () => {
    const course = await createCourse({
      description: "Will be cleared",
      capacity: 40,
      startDate: "2025-01-10",
      endDate: "2025-05-10",
    });
    const code = marker();

    const result = await campus.request("PUT", `/api/courses/${course.id}`, {
      token: admin,
      body: { code, title: "Replaced" },
    });

    expect(result.status).toBe(200);
    expect(result.body).toEqual({
      ...course,
      code,
      title: "Replaced",
      description: "",
      capacity: null,
      startDate: null,
      endDate: null,
      updatedAt: expect.stringMatching(ISO_TIME),
    });
    expect((await get(course.id)).body).toEqual(result.body);
  });

  it("lets a teacher of the course replace it", async () => {
    const course = await createCourse({}, teacher);

    const result = await campus.request("PUT", `/api/courses/${course.id}`, {
      token: teacher,
      body: { code: course.code, title: "By a teacher", capacity: 8 },
    });

    expect(result.status).toBe(200);
    expect(result.body).toEqual({
      ...course,
      title: "By a teacher",
      capacity: 8,
      updatedAt: expect.stringMatching(ISO_TIME),
    });
  });

  it("answers 422 when a required field is missing, and changes nothing", async () => {
    const course = await createCourse();

    const result = await campus.request("PUT", `/api/courses/${course.id}`, {
      token: admin,
      body: { code: course.code },
    });

    expect(result.status).toBe(422);
    expect(result.body).toEqual(errorBody(422, "VALIDATION_ERROR", [fieldError("title")]));
    expect((await get(course.id)).body).toEqual(course);
  });

  it("ignores enrolledCount in the body: the count stays what the enrollments make it", async () => {
    const course = await createCourse();
    await enrollNewStudent(course.id);

    const result = await campus.request("PUT", `/api/courses/${course.id}`, {
      token: admin,
      body: { code: course.code, title: course.title, enrolledCount: 0 },
    });

    expect(result.status).toBe(200);
    expect(result.body.enrolledCount).toBe(1);
  });

  it("answers 403 to a student, and changes nothing", async () => {
    const course = await createCourse();

    const result = await campus.request("PUT", `/api/courses/${course.id}`, {
      token: student,
      body: { code: course.code, title: "By a student" },
    });

    expect(result.status).toBe(403);
    expect(result.body).toEqual(errorBody(403, "FORBIDDEN"));
    expect((await get(course.id)).body).toEqual(course);
  });

  it("answers 404 for an unknown course", async () => {
    const result = await campus.request("PUT", `/api/courses/${UNKNOWN_ID}`, {
      token: admin,
      body: { code: marker(), title: "Nowhere" },
    });

    expect(result.status).toBe(404);
    expect(result.body).toEqual(errorBody(404, "NOT_FOUND"));
  });
});

describe("PATCH /api/courses/:id", () => {
  it("changes only the given fields", async () => {
    const course = await createCourse(
      {
        description: "Stays",
        capacity: 25,
        startDate: "2025-02-01",
        endDate: "2025-04-01",
      },
      teacher,
    );

    const result = await campus.request("PATCH", `/api/courses/${course.id}`, {
      token: teacher,
      body: { title: "Retitled" },
    });

    expect(result.status).toBe(200);
    expect(result.body).toEqual({
      ...course,
      title: "Retitled",
      updatedAt: expect.stringMatching(ISO_TIME),
    });
    expect((await get(course.id)).body).toEqual(result.body);
  });

  it("PATCH with an empty body answers 200 with the course unchanged", async () => {
    const course = await createCourse();

    const result = await campus.request("PATCH", `/api/courses/${course.id}`, {
      token: admin,
      body: {},
    });

    expect(result.status).toBe(200);
    expect(result.body).toEqual(course);
  });

  it("answers 422 when capacity is lowered below enrolledCount, and changes nothing", async () => {
    const course = await createCourse({ capacity: 5 });
    await enrollNewStudent(course.id);
    await enrollNewStudent(course.id);
    const before = (await get(course.id)).body;

    const result = await campus.request("PATCH", `/api/courses/${course.id}`, {
      token: admin,
      body: { capacity: 1 },
    });

    expect(result.status).toBe(422);
    expect(result.body).toEqual(errorBody(422, "VALIDATION_ERROR", [fieldError("capacity")]));
    expect((await get(course.id)).body).toEqual(before);
  });

  it("accepts capacity lowered to exactly enrolledCount, and capacity null (no limit)", async () => {
    const course = await createCourse({ capacity: 5 });
    await enrollNewStudent(course.id);
    await enrollNewStudent(course.id);

    const exact = await campus.request("PATCH", `/api/courses/${course.id}`, {
      token: admin,
      body: { capacity: 2 },
    });
    const unlimited = await campus.request("PATCH", `/api/courses/${course.id}`, {
      token: admin,
      body: { capacity: null },
    });

    expect(exact.status).toBe(200);
    expect(exact.body).toMatchObject({ capacity: 2, enrolledCount: 2 });
    expect(unlimited.status).toBe(200);
    expect(unlimited.body).toMatchObject({ capacity: null, enrolledCount: 2 });
  });

  it("checks a new endDate against the stored startDate", async () => {
    const course = await createCourse({ startDate: "2025-03-01", endDate: "2025-06-30" });

    const before = await campus.request("PATCH", `/api/courses/${course.id}`, {
      token: admin,
      body: { endDate: "2025-02-28" },
    });
    const after = await campus.request("PATCH", `/api/courses/${course.id}`, {
      token: admin,
      body: { endDate: "2025-07-31" },
    });

    expect(before.status).toBe(422);
    expect(before.body).toEqual(errorBody(422, "VALIDATION_ERROR", [fieldError("endDate")]));
    expect(after.status).toBe(200);
    expect(after.body).toMatchObject({ startDate: "2025-03-01", endDate: "2025-07-31" });
  });

  it("checks a new startDate against the stored endDate", async () => {
    const course = await createCourse({ startDate: "2025-03-01", endDate: "2025-06-30" });

    const late = await campus.request("PATCH", `/api/courses/${course.id}`, {
      token: admin,
      body: { startDate: "2025-07-01" },
    });
    const within = await campus.request("PATCH", `/api/courses/${course.id}`, {
      token: admin,
      body: { startDate: "2025-04-01" },
    });

    expect(late.status).toBe(422);
    expect(late.body).toEqual(
      errorBody(422, "VALIDATION_ERROR", [fieldError(expect.stringMatching(/^(start|end)Date$/))]),
    );
    expect(within.status).toBe(200);
    expect(within.body).toMatchObject({ startDate: "2025-04-01", endDate: "2025-06-30" });
  });

  it("answers 422 for a date that is not a real calendar day", async () => {
    const course = await createCourse();

    const result = await campus.request("PATCH", `/api/courses/${course.id}`, {
      token: admin,
      body: { endDate: "2025-02-30" },
    });

    expect(result.status).toBe(422);
    expect(result.body).toEqual(errorBody(422, "VALIDATION_ERROR", [fieldError("endDate")]));
  });

  it("answers 409 DUPLICATE_COURSE_CODE for another course's code in other case", async () => {
    const taken = await createCourse({ code: `${marker()}taken` });
    const course = await createCourse();

    const result = await campus.request("PATCH", `/api/courses/${course.id}`, {
      token: admin,
      body: { code: taken.code.toUpperCase() },
    });

    expect(result.status).toBe(409);
    expect(result.body).toEqual(errorBody(409, "DUPLICATE_COURSE_CODE"));
    expect((await get(course.id)).body).toEqual(course);
  });

  it("answers 403 to a student, and changes nothing", async () => {
    const course = await createCourse();

    const result = await campus.request("PATCH", `/api/courses/${course.id}`, {
      token: student,
      body: { title: "By a student" },
    });

    expect(result.status).toBe(403);
    expect(result.body).toEqual(errorBody(403, "FORBIDDEN"));
    expect((await get(course.id)).body).toEqual(course);
  });
});

describe("DELETE /api/courses/:id", () => {
  it("lets an admin delete a course: 204, then GET answers 404", async () => {
    const course = await createCourse();

    const result = await campus.request("DELETE", `/api/courses/${course.id}`, { token: admin });

    expect(result.status).toBe(204);
    expect(result.text).toBe("");
    expect((await get(course.id)).status).toBe(404);
    expect((await list(`search=${course.code}`)).body).toEqual(onePage([]));
  });

  it("answers 403 to a teacher and to a student, and deletes nothing", async () => {
    const course = await createCourse();

    const byTeacher = await campus.request("DELETE", `/api/courses/${course.id}`, {
      token: teacher,
    });
    const byStudent = await campus.request("DELETE", `/api/courses/${course.id}`, {
      token: student,
    });

    expect(byTeacher.status).toBe(403);
    expect(byTeacher.body).toEqual(errorBody(403, "FORBIDDEN"));
    expect(byStudent.status).toBe(403);
    expect((await get(course.id)).body).toEqual(course);
  });

  it("answers 404 for an unknown course", async () => {
    const result = await campus.request("DELETE", `/api/courses/${UNKNOWN_ID}`, { token: admin });

    expect(result.status).toBe(404);
    expect(result.body).toEqual(errorBody(404, "NOT_FOUND"));
  });
});

describe("GET /api/courses/:id/students — the roster", () => {
  it("answers 200 with the page of enrolled students to an admin and a teacher", async () => {
    const course = await createCourse();
    const first = await enrollNewStudent(course.id);
    const second = await enrollNewStudent(course.id);

    const byAdmin = await campus.request("GET", `/api/courses/${course.id}/students`, {
      token: admin,
    });
    const byTeacher = await campus.request("GET", `/api/courses/${course.id}/students`, {
      token: teacher,
    });

    expect(byAdmin.status).toBe(200);
    expect(byAdmin.body).toEqual(onePage([first, second]));
    expect(byTeacher.status).toBe(200);
    expect(byTeacher.body).toEqual(byAdmin.body);
  });

  it("answers 403 to a student, even one enrolled in the course", async () => {
    const course = await createCourse();
    const enrolled = await registerStudent(campus);
    const enrollment = await campus.request("POST", `/api/courses/${course.id}/students`, {
      token: enrolled.token,
      body: { studentId: enrolled.studentId },
    });
    expect(enrollment.status).toBe(201);

    const result = await campus.request("GET", `/api/courses/${course.id}/students`, {
      token: enrolled.token,
    });

    expect(result.status).toBe(403);
    expect(result.body).toEqual(errorBody(403, "FORBIDDEN"));
  });

  it("answers 401 without a token and 404 for an unknown course", async () => {
    const course = await createCourse();

    const anonymous = await campus.request("GET", `/api/courses/${course.id}/students`);
    const unknown = await campus.request("GET", `/api/courses/${UNKNOWN_ID}/students`, {
      token: admin,
    });

    expect(anonymous.status).toBe(401);
    expect(unknown.status).toBe(404);
    expect(unknown.body).toEqual(errorBody(404, "NOT_FOUND"));
  });
});

describe("course teachers", () => {
  async function userIdOf(token: string): Promise<string> {
    return (await campus.request("GET", "/api/auth/me", { token })).body.id;
  }

  it("makes the teacher who creates a course its first teacher; an admin's course has none", async () => {
    const byTeacher = await createCourse({}, teacher);
    const byAdmin = await createCourse();

    expect([byTeacher.teacherIds, byAdmin.teacherIds]).toEqual([[await userIdOf(teacher)], []]);
  });

  it("refuses another teacher's PUT and PATCH with 403 and changes nothing", async () => {
    const other = await createTeacher(campus);
    const course = await createCourse({}, teacher);

    const put = await campus.request("PUT", `/api/courses/${course.id}`, {
      token: other,
      body: { code: course.code, title: "Taken over" },
    });
    const patch = await campus.request("PATCH", `/api/courses/${course.id}`, {
      token: other,
      body: { title: "Taken over" },
    });

    expect([put.status, put.body.type, patch.status, patch.body.type]).toEqual([
      403,
      "FORBIDDEN",
      403,
      "FORBIDDEN",
    ]);
    expect((await get(course.id)).body).toEqual(course);
  });

  it("lets course staff set the teachers, after which the new teacher may change the course", async () => {
    const other = await createTeacher(campus);
    const course = await createCourse({}, teacher);
    const teacherIds = [await userIdOf(teacher), await userIdOf(other)];

    const set = await campus.request("PUT", `/api/courses/${course.id}/teachers`, {
      token: teacher,
      body: { teacherIds: teacherIds.map((id) => id.toUpperCase()) },
    });
    const patch = await campus.request("PATCH", `/api/courses/${course.id}`, {
      token: other,
      body: { title: "Co-taught" },
    });

    expect([set.status, set.body.teacherIds]).toEqual([200, teacherIds]);
    expect([patch.status, patch.body.title, patch.body.teacherIds]).toEqual([
      200,
      "Co-taught",
      teacherIds,
    ]);
  });

  it("lets an admin set the teachers of any course", async () => {
    const course = await createCourse();
    const teacherId = await userIdOf(teacher);

    const set = await campus.request("PUT", `/api/courses/${course.id}/teachers`, {
      token: admin,
      body: { teacherIds: [teacherId] },
    });

    expect([set.status, set.body.teacherIds]).toEqual([200, [teacherId]]);
  });

  it("answers 422 for an id that is not a teacher account, and changes nothing", async () => {
    const course = await createCourse({}, teacher);
    const studentAccount = await userIdOf(student);

    const result = await campus.request("PUT", `/api/courses/${course.id}/teachers`, {
      token: admin,
      body: { teacherIds: [await userIdOf(teacher), studentAccount, UNKNOWN_ID] },
    });

    expect({ status: result.status, body: result.body }).toEqual({
      status: 422,
      body: errorBody(422, "VALIDATION_ERROR", [
        fieldError("teacherIds[1]"),
        fieldError("teacherIds[2]"),
      ]),
    });
    expect((await get(course.id)).body.teacherIds).toEqual(course.teacherIds);
  });

  it("answers 422 for a list that is not an array of ids", async () => {
    const course = await createCourse({}, teacher);

    const result = await campus.request("PUT", `/api/courses/${course.id}/teachers`, {
      token: admin,
      body: { teacherIds: "everyone" },
    });

    expect([result.status, result.body.type]).toEqual([422, "VALIDATION_ERROR"]);
  });
});
