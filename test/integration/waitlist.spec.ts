/**
 * The enrollment lifecycle (issue 18): statuses, the self-promoting waitlist, history, completion,
 * and the invariants after 50 simultaneous enrollments, drops and capacity changes.
 */
import { QueryTypes, type Sequelize } from "sequelize";
import {
  startCampus,
  createCourse,
  registerStudent,
  uniqueEmail,
  eventually,
  createTeacher,
  type Campus,
} from "../helpers/campus";
import { waitlistProblems } from "../helpers/waitlist-invariants";

let campus: Campus;
let admin: string;
let db: Sequelize;

beforeAll(async () => {
  campus = await startCampus();
  admin = await campus.adminToken();
  db = (campus.broker.getLocalService("courses") as unknown as { sequelize: Sequelize }).sequelize;
});
afterAll(() => campus.stop());

const query = (sql: string, params: unknown[]) =>
  db.query(sql, { bind: params, type: QueryTypes.SELECT }) as Promise<Record<string, unknown>[]>;

async function createStudent(): Promise<string> {
  const result = await campus.request("POST", "/api/students", {
    token: admin,
    body: { firstName: "Wait", lastName: "Lister", email: uniqueEmail("waitlist") },
  });
  expect(result.status).toBe(201);
  return result.body.id;
}

const enroll = (courseId: string, studentId: string, token = admin) =>
  campus.request("POST", `/api/courses/${courseId}/students`, { token, body: { studentId } });
const drop = (courseId: string, studentId: string, token = admin) =>
  campus.request("DELETE", `/api/courses/${courseId}/students/${studentId}`, { token });
const waitlistOf = async (courseId: string) => {
  const result = await campus.request("GET", `/api/courses/${courseId}/waitlist`, {
    token: admin,
  });
  expect(result.status).toBe(200);
  return result.body.rows.map((row: { studentId: string; position: number }) => [
    row.studentId,
    row.position,
  ]);
};
const courseOf = async (courseId: string) =>
  (await campus.request("GET", `/api/courses/${courseId}`, { token: admin })).body;
const historyOf = async (courseId: string, studentId: string, token = admin) =>
  campus.request("GET", `/api/enrollments/${courseId}/${studentId}/history`, { token });

describe("the waitlist", () => {
  it("waitlists with 202 and a position when seats are taken, and refuses with 409 when it is full too", async () => {
    const course = await createCourse(campus, admin, { capacity: 1, waitlistCapacity: 2 });
    const [a, b, c, d] = [
      await createStudent(),
      await createStudent(),
      await createStudent(),
      await createStudent(),
    ];

    const first = await enroll(course.id, a);
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ status: "active", position: null });
    const second = await enroll(course.id, b);
    expect(second.status).toBe(202);
    expect(second.body).toEqual({
      courseId: course.id,
      studentId: b,
      enrolledAt: expect.any(String),
      status: "waitlisted",
      position: 1,
    });
    expect((await enroll(course.id, c)).body).toMatchObject({ status: "waitlisted", position: 2 });
    const full = await enroll(course.id, d);
    expect(full.status).toBe(409);
    expect(full.body.type).toBe("COURSE_FULL");
    const again = await enroll(course.id, b);
    expect(again.status).toBe(409);
    expect(again.body.type).toBe("ALREADY_ENROLLED");

    expect(await waitlistOf(course.id)).toEqual([
      [b, 1],
      [c, 2],
    ]);
    expect(await courseOf(course.id)).toMatchObject({ enrolledCount: 1, waitlistedCount: 2 });
    expect(await waitlistProblems(query, course.id)).toEqual([]);
  });

  it("promotes the first in line when a seat frees, notifies them, and keeps the history", async () => {
    const course = await createCourse(campus, admin, { capacity: 1, waitlistCapacity: 5 });
    const seated = await registerStudent(campus);
    const waiting = await registerStudent(campus);
    const behind = await createStudent();
    expect((await enroll(course.id, seated.studentId)).status).toBe(201);
    expect((await enroll(course.id, waiting.studentId)).status).toBe(202);
    expect((await enroll(course.id, behind)).status).toBe(202);

    // The student drops themself: the seat goes to the first waiting, the line closes up.
    expect((await drop(course.id, seated.studentId, seated.token)).status).toBe(204);

    expect(await waitlistOf(course.id)).toEqual([[behind, 1]]);
    expect(await courseOf(course.id)).toMatchObject({ enrolledCount: 1, waitlistedCount: 1 });
    const mine = await campus.request("GET", `/api/students/${waiting.studentId}/courses`, {
      token: waiting.token,
    });
    expect(mine.body.rows).toEqual([
      expect.objectContaining({ id: course.id, status: "active", position: null }),
    ]);
    await eventually(async () => {
      const notes = await campus.request("GET", "/api/notifications?pageSize=100", {
        token: waiting.token,
      });
      expect(notes.body.rows).toContainEqual(
        expect.objectContaining({ type: "promoted", data: { courseId: course.id } }),
      );
    });

    const history = await historyOf(course.id, waiting.studentId, waiting.token);
    expect(history.status).toBe(200);
    expect(history.body.rows).toEqual([
      {
        from: null,
        to: "waitlisted",
        at: expect.any(String),
        by: expect.any(String),
        reason: expect.any(String),
      },
      {
        from: "waitlisted",
        to: "active",
        at: expect.any(String),
        by: seated.userId,
        reason: expect.stringMatching(/seat/),
      },
    ]);
    const left = await historyOf(course.id, seated.studentId, seated.token);
    expect(left.body.rows.map((row: { to: string }) => row.to)).toEqual(["active", "dropped"]);
    expect(left.body.rows[1]).toMatchObject({
      by: seated.userId,
      reason: "dropped by the student",
    });

    // The dropped enrollment is kept: the student's list shows it under status=dropped.
    const dropped = await campus.request(
      "GET",
      `/api/students/${seated.studentId}/courses?status=dropped`,
      { token: seated.token },
    );
    expect(dropped.body.rows).toEqual([
      expect.objectContaining({ id: course.id, status: "dropped" }),
    ]);
    const active = await campus.request("GET", `/api/students/${seated.studentId}/courses`, {
      token: seated.token,
    });
    expect(active.body.total).toBe(0);
    expect(await waitlistProblems(query, course.id)).toEqual([]);
  });

  it("closes up the line when a waitlisted student drops", async () => {
    const course = await createCourse(campus, admin, { capacity: 1, waitlistCapacity: 5 });
    const ids = [await createStudent(), await createStudent(), await createStudent()];
    const last = await createStudent();
    for (const id of [...ids, last]) await enroll(course.id, id);

    expect((await drop(course.id, ids[1])).status).toBe(204);

    expect(await waitlistOf(course.id)).toEqual([
      [ids[2], 1],
      [last, 2],
    ]);
    expect((await drop(course.id, ids[1])).status).toBe(404);
    expect(await waitlistProblems(query, course.id)).toEqual([]);
  });

  it("seats the waitlist in order when the capacity is raised, or removed", async () => {
    const course = await createCourse(campus, admin, { capacity: 1, waitlistCapacity: 5 });
    const ids = [await createStudent(), await createStudent(), await createStudent()];
    const fourth = await createStudent();
    for (const id of [...ids, fourth]) await enroll(course.id, id);

    const raised = await campus.request("PATCH", `/api/courses/${course.id}`, {
      token: admin,
      body: { capacity: 3 },
    });
    expect(raised.status).toBe(200);
    expect(raised.body).toMatchObject({ capacity: 3, enrolledCount: 3, waitlistedCount: 1 });
    expect(await waitlistOf(course.id)).toEqual([[fourth, 1]]);

    const unlimited = await campus.request("PATCH", `/api/courses/${course.id}`, {
      token: admin,
      body: { capacity: null },
    });
    expect(unlimited.body).toMatchObject({ enrolledCount: 4, waitlistedCount: 0 });
    expect(await waitlistProblems(query, course.id)).toEqual([]);
  });

  it("gives a deleted student's seat to the first in line (student.deleted)", async () => {
    const course = await createCourse(campus, admin, { capacity: 1, waitlistCapacity: 2 });
    const [leaving, waiting] = [await createStudent(), await createStudent()];
    await enroll(course.id, leaving);
    expect((await enroll(course.id, waiting)).status).toBe(202);

    const removed = await campus.request("DELETE", `/api/students/${leaving}`, { token: admin });
    expect(removed.status).toBe(204);

    await eventually(async () => {
      expect(await waitlistOf(course.id)).toEqual([]);
      expect(await courseOf(course.id)).toMatchObject({ enrolledCount: 1, waitlistedCount: 0 });
    });
    // The event carries who deleted the student: the history names them.
    const me = await campus.request("GET", "/api/auth/me", { token: admin });
    const history = await historyOf(course.id, leaving);
    expect(history.body.rows[1]).toMatchObject({
      from: "active",
      to: "dropped",
      by: me.body.id,
      reason: "student deleted",
    });
    expect(await waitlistProblems(query, course.id)).toEqual([]);
  });

  it("lets a dropped student enroll again, with every change in the history", async () => {
    const course = await createCourse(campus, admin, { capacity: 5 });
    const id = await createStudent();
    await enroll(course.id, id);
    await drop(course.id, id);
    const back = await enroll(course.id, id);
    expect(back.status).toBe(201);
    expect((await historyOf(course.id, id)).body.rows.map((row: { to: string }) => row.to)).toEqual(
      ["active", "dropped", "active"],
    );
  });

  it("shows the waitlist and the history only to those allowed", async () => {
    const course = await createCourse(campus, admin, { capacity: 1, waitlistCapacity: 1 });
    const student = await registerStudent(campus);
    const other = await registerStudent(campus);
    const teacher = await createTeacher(campus);
    await enroll(course.id, student.studentId, student.token);

    const asStudent = await campus.request("GET", `/api/courses/${course.id}/waitlist`, {
      token: student.token,
    });
    expect(asStudent.status).toBe(403);
    const asOtherTeacher = await campus.request("GET", `/api/courses/${course.id}/waitlist`, {
      token: teacher,
    });
    expect(asOtherTeacher.status).toBe(403);
    expect((await historyOf(course.id, student.studentId, other.token)).status).toBe(403);
    expect((await historyOf(course.id, student.studentId, teacher)).status).toBe(403);
    expect((await historyOf(course.id, other.studentId)).status).toBe(404);
    expect((await historyOf(course.id, "not-an-id")).status).toBe(404);
    const badStatus = await campus.request(
      "GET",
      `/api/students/${student.studentId}/courses?status=lost`,
      { token: student.token },
    );
    expect(badStatus.status).toBe(422);
  });
});

describe("completing a course", () => {
  it("completes every active enrollment (no gradebook running: null results) and lets the waitlist go", async () => {
    const course = await createCourse(campus, admin, { capacity: 2, waitlistCapacity: 2 });
    const [a, b, c] = [await createStudent(), await createStudent(), await createStudent()];
    for (const id of [a, b, c]) await enroll(course.id, id);

    const teacher = await createTeacher(campus);
    const denied = await campus.request("POST", `/api/courses/${course.id}/complete`, {
      token: teacher,
    });
    expect(denied.status).toBe(403);
    const done = await campus.request("POST", `/api/courses/${course.id}/complete`, {
      token: admin,
    });
    expect(done.status).toBe(200);
    expect(done.body).toEqual({ completed: 2, waitlistDropped: 1 });

    const completed = await campus.request("GET", `/api/students/${a}/courses?status=completed`, {
      token: admin,
    });
    expect(completed.body.rows).toEqual([
      expect.objectContaining({
        id: course.id,
        status: "completed",
        finalPercent: null,
        finalGrade: null,
      }),
    ]);
    expect((await drop(course.id, a)).status).toBe(404);
    const again = await enroll(course.id, a);
    expect(again.status).toBe(409);
    expect(again.body.type).toBe("ALREADY_COMPLETED");
    expect((await historyOf(course.id, c)).body.rows.map((row: { to: string }) => row.to)).toEqual([
      "waitlisted",
      "dropped",
    ]);
    expect(await waitlistProblems(query, course.id)).toEqual([]);
  });
});

describe("50 simultaneous enrollments, drops and capacity changes on one course", () => {
  it("keeps every invariant: capacity, counts, dense positions, promotions in turn, a history row per change", async () => {
    const course = await createCourse(campus, admin, { capacity: 4, waitlistCapacity: 8 });
    const students: string[] = [];
    for (let i = 0; i < 16; i += 1) students.push(await createStudent());
    // Half of them are in (or waiting) before the storm, so drops have something to drop.
    for (const id of students.slice(0, 8)) await enroll(course.id, id);

    const operations: Promise<{ status: number }>[] = [];
    for (let i = 0; i < 50; i += 1) {
      const student = students[(i * 7) % students.length];
      if (i % 10 === 3 || i % 10 === 8) {
        const capacity = [3, 6, 4, 7, 5][Math.floor(i / 10)] - (i % 10 === 3 ? 1 : 0);
        operations.push(
          campus.request("PATCH", `/api/courses/${course.id}`, {
            token: admin,
            body: { capacity },
          }),
        );
      } else if (i % 3 === 0) operations.push(drop(course.id, student));
      else operations.push(enroll(course.id, student));
    }
    const results = await Promise.all(operations);

    // Every answer is a decision, never a server error.
    for (const result of results)
      expect([200, 201, 202, 204, 404, 409, 422]).toContain(result.status);
    expect(results.filter((result) => result.status === 202).length).toBeGreaterThan(0);
    expect(await waitlistProblems(query, course.id)).toEqual([]);
    const promotions = await query(
      `SELECT count(*)::int AS n FROM courses.enrollment_history
       WHERE course_id = $1 AND from_status = 'waitlisted' AND to_status = 'active'`,
      [course.id],
    );
    expect(Number(promotions[0].n)).toBeGreaterThan(0);
    const after = await courseOf(course.id);
    const rows = await query(
      `SELECT count(*) FILTER (WHERE status IN ('active', 'completed'))::int AS seated,
              count(*) FILTER (WHERE status = 'waitlisted')::int AS waiting
       FROM courses.enrollments WHERE course_id = $1`,
      [course.id],
    );
    expect(after.enrolledCount).toBe(Number(rows[0].seated));
    expect(after.waitlistedCount).toBe(Number(rows[0].waiting));
  });
});
