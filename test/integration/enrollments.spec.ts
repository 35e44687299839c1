import {
  startCampus,
  createCourse,
  registerStudent,
  uniqueEmail,
  eventually,
  type Campus,
} from "../helpers/campus";

let campus: Campus;
let admin: string;

beforeAll(async () => {
  campus = await startCampus();
  admin = await campus.adminToken();
});
afterAll(() => campus.stop());

async function createStudent() {
  const result = await campus.request("POST", "/api/students", {
    token: admin,
    body: { firstName: "Roster", lastName: "Member", email: uniqueEmail("roster") },
  });
  expect(result.status).toBe(201);
  return result.body;
}

describe("enrolling and dropping", () => {
  it("enrolls from the student's path and shows the course in the student's list and the student in the roster", async () => {
    const course = await createCourse(campus, admin, { capacity: 10 });
    const student = await createStudent();

    const enrolled = await campus.request("POST", `/api/students/${student.id}/courses`, {
      token: admin,
      body: { courseId: course.id },
    });

    expect(enrolled.status).toBe(201);
    expect(enrolled.body).toEqual({
      courseId: course.id,
      studentId: student.id,
      enrolledAt: expect.any(String),
      status: "active",
      position: null,
    });
    const courses = await campus.request("GET", `/api/students/${student.id}/courses`, {
      token: admin,
    });
    expect(courses.body).toMatchObject({ total: 1, page: 1, pageSize: 20, totalPages: 1 });
    expect(courses.body.rows[0]).toMatchObject({
      id: course.id,
      code: course.code,
      enrolledCount: 1,
    });
    const roster = await campus.request("GET", `/api/courses/${course.id}/students`, {
      token: admin,
    });
    expect(roster.body).toEqual({
      rows: [student],
      total: 1,
      page: 1,
      pageSize: 20,
      totalPages: 1,
    });
  });

  it("enrolls from the course's path and drops from the student's path", async () => {
    const course = await createCourse(campus, admin);
    const student = await createStudent();

    const enrolled = await campus.request("POST", `/api/courses/${course.id}/students`, {
      token: admin,
      body: { studentId: student.id },
    });
    const dropped = await campus.request(
      "DELETE",
      `/api/students/${student.id}/courses/${course.id}`,
      { token: admin },
    );

    expect(enrolled.status).toBe(201);
    expect(dropped.status).toBe(204);
    const after = await campus.request("GET", `/api/courses/${course.id}`, { token: admin });
    expect(after.body.enrolledCount).toBe(0);
  });

  it("answers 409 ALREADY_ENROLLED for a second enrollment of the same pair", async () => {
    const course = await createCourse(campus, admin);
    const student = await createStudent();
    await campus.request("POST", `/api/courses/${course.id}/students`, {
      token: admin,
      body: { studentId: student.id },
    });

    const again = await campus.request("POST", `/api/students/${student.id}/courses`, {
      token: admin,
      body: { courseId: course.id },
    });

    expect(again.status).toBe(409);
    expect(again.body.type).toBe("ALREADY_ENROLLED");
    const after = await campus.request("GET", `/api/courses/${course.id}`, { token: admin });
    expect(after.body.enrolledCount).toBe(1);
  });

  it("answers 404 for an unknown student or course, and for dropping an enrollment that does not exist", async () => {
    const course = await createCourse(campus, admin);
    const student = await createStudent();
    const unknown = "00000000-0000-4000-8000-000000000001";

    const noStudent = await campus.request("POST", `/api/courses/${course.id}/students`, {
      token: admin,
      body: { studentId: unknown },
    });
    const noCourse = await campus.request("POST", `/api/students/${student.id}/courses`, {
      token: admin,
      body: { courseId: unknown },
    });
    const notEnrolled = await campus.request(
      "DELETE",
      `/api/courses/${course.id}/students/${student.id}`,
      { token: admin },
    );

    expect([noStudent.status, noCourse.status, notEnrolled.status]).toEqual([404, 404, 404]);
  });

  it("answers 409 COURSE_FULL when the course has no seat left", async () => {
    const course = await createCourse(campus, admin, { capacity: 1 });
    const first = await createStudent();
    const second = await createStudent();
    await campus.request("POST", `/api/courses/${course.id}/students`, {
      token: admin,
      body: { studentId: first.id },
    });

    const full = await campus.request("POST", `/api/courses/${course.id}/students`, {
      token: admin,
      body: { studentId: second.id },
    });

    expect(full.status).toBe(409);
    expect(full.body.type).toBe("COURSE_FULL");
  });

  it("answers 409 ALREADY_ENROLLED, not COURSE_FULL, to a student already in a full course", async () => {
    const course = await createCourse(campus, admin, { capacity: 1 });
    const student = await createStudent();
    const enroll = () =>
      campus.request("POST", `/api/courses/${course.id}/students`, {
        token: admin,
        body: { studentId: student.id },
      });
    expect((await enroll()).status).toBe(201);

    const again = await enroll();

    expect(again.status).toBe(409);
    expect(again.body.type).toBe("ALREADY_ENROLLED");
  });

  it("gives exactly five 201s and fifteen 409s for 20 simultaneous enrollments into capacity 5", async () => {
    const course = await createCourse(campus, admin, { capacity: 5 });
    const students = await Promise.all(Array.from({ length: 20 }, () => createStudent()));

    const results = await Promise.all(
      students.map((student) =>
        campus.request("POST", `/api/courses/${course.id}/students`, {
          token: admin,
          body: { studentId: student.id },
        }),
      ),
    );

    const statuses = results.map((result) => result.status).sort();
    expect(statuses.filter((status) => status === 201)).toHaveLength(5);
    expect(statuses.filter((status) => status === 409)).toHaveLength(15);
    const after = await campus.request("GET", `/api/courses/${course.id}`, { token: admin });
    expect(after.body.enrolledCount).toBe(5);
    const roster = await campus.request("GET", `/api/courses/${course.id}/students`, {
      token: admin,
    });
    expect(roster.body.total).toBe(5);
  });

  it("pages the roster with one page of students at a time", async () => {
    const course = await createCourse(campus, admin);
    const students = [];
    for (let i = 0; i < 3; i += 1) {
      const student = await createStudent();
      students.push(student);
      await campus.request("POST", `/api/courses/${course.id}/students`, {
        token: admin,
        body: { studentId: student.id },
      });
    }

    const page2 = await campus.request(
      "GET",
      `/api/courses/${course.id}/students?page=2&pageSize=2`,
      { token: admin },
    );

    expect(page2.body).toEqual({
      rows: [students[2]],
      total: 3,
      page: 2,
      pageSize: 2,
      totalPages: 2,
    });
  });
});

describe("who may enroll whom", () => {
  it("lets a student enroll and drop themself, but not another student", async () => {
    const course = await createCourse(campus, admin);
    const me = await registerStudent(campus);
    const other = await registerStudent(campus);

    const mine = await campus.request("POST", `/api/students/${me.studentId}/courses`, {
      token: me.token,
      body: { courseId: course.id },
    });
    const theirs = await campus.request("POST", `/api/courses/${course.id}/students`, {
      token: me.token,
      body: { studentId: other.studentId },
    });
    const myList = await campus.request("GET", `/api/students/${me.studentId}/courses`, {
      token: me.token,
    });
    const theirList = await campus.request("GET", `/api/students/${other.studentId}/courses`, {
      token: me.token,
    });
    const roster = await campus.request("GET", `/api/courses/${course.id}/students`, {
      token: me.token,
    });
    const drop = await campus.request(
      "DELETE",
      `/api/courses/${course.id}/students/${me.studentId}`,
      { token: me.token },
    );

    expect(mine.status).toBe(201);
    expect(theirs.status).toBe(403);
    expect(myList.status).toBe(200);
    expect(theirList.status).toBe(403);
    expect(roster.status).toBe(403);
    expect(drop.status).toBe(204);
  });
});

describe("deletions", () => {
  it("takes a deleted student off every roster and deletes their account", async () => {
    const course = await createCourse(campus, admin);
    const student = await registerStudent(campus);
    await campus.request("POST", `/api/courses/${course.id}/students`, {
      token: admin,
      body: { studentId: student.studentId },
    });
    await campus.request("GET", `/api/courses/${course.id}/students`, { token: admin }); // warm the cache

    const deleted = await campus.request("DELETE", `/api/students/${student.studentId}`, {
      token: admin,
    });

    expect(deleted.status).toBe(204);
    await eventually(async () => {
      const roster = await campus.request("GET", `/api/courses/${course.id}/students`, {
        token: admin,
      });
      expect(roster.body.total).toBe(0);
      const after = await campus.request("GET", `/api/courses/${course.id}`, { token: admin });
      expect(after.body.enrolledCount).toBe(0);
      const account = await campus.request("GET", `/api/users/${student.userId}`, { token: admin });
      expect(account.status).toBe(404);
    });
    const login = await campus.request("POST", "/api/auth/login", {
      body: { email: student.email, password: "a-good-long-password" },
    });
    expect(login.status).toBe(401);
  });

  it("deletes a course with its enrollments", async () => {
    const course = await createCourse(campus, admin);
    const student = await createStudent();
    await campus.request("POST", `/api/courses/${course.id}/students`, {
      token: admin,
      body: { studentId: student.id },
    });
    await campus.request("GET", `/api/students/${student.id}/courses`, { token: admin }); // warm the cache

    const deleted = await campus.request("DELETE", `/api/courses/${course.id}`, { token: admin });

    expect(deleted.status).toBe(204);
    expect(
      (await campus.request("GET", `/api/courses/${course.id}`, { token: admin })).status,
    ).toBe(404);
    const list = await campus.request("GET", `/api/students/${student.id}/courses`, {
      token: admin,
    });
    expect(list.body.total).toBe(0);
  });
});
