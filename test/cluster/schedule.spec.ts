/**
 * The schedule service on nodes of its own (two replicas) over NATS, on the machine's
 * PostgreSQL: the enrollment conflict check crosses the bus (courses → schedule), 20 bookings
 * of one room and hour racing through both replicas leave exactly one lesson, and a rescheduled
 * lesson reaches the enrolled student as a durable event.
 */
import { Cluster, eventually, http, login } from "./harness";

jest.setTimeout(300000);

const cluster = new Cluster();
let token: string;
let base: string;

async function createCourse(code: string): Promise<string> {
  const result = await http(base, "POST", "/api/courses", token, {
    code: `${code}-${cluster.runId}`,
    title: `Course ${code}`,
  });
  expect(result.status).toBe(201);
  return result.body.id;
}

async function registerStudent(): Promise<{ token: string; studentId: string }> {
  const result = await http(base, "POST", "/api/auth/register", undefined, {
    email: `sched.${cluster.runId}.${Date.now()}.${Math.random().toString(36).slice(2)}@campus.test`,
    password: "a-good-long-password",
    firstName: "Schedule",
    lastName: "Student",
  });
  expect(result.status).toBe(201);
  return { token: result.body.accessToken, studentId: result.body.user.studentId };
}

function addLesson(courseId: string, body: Record<string, unknown>) {
  return http(base, "POST", `/api/courses/${courseId}/lessons`, token, body);
}

beforeAll(async () => {
  await cluster.createDatabases();
  // The replicas start at once: the schedule migrations serialize on an advisory lock, and the
  // courses replica that loses the race to create a durable consumer binds to the winner's.
  const workers = await Promise.all([
    cluster.start("schedule-1", "schedule"),
    cluster.start("users", "users"),
    cluster.start("students", "students"),
    cluster.start("courses-1", "courses"),
    cluster.start("courses-2", "courses"),
    cluster.start("notifications", "notifications"),
    cluster.start("schedule-2", "schedule"),
  ]);
  const gateway = await cluster.start("api", "api");
  await Promise.all([...workers, gateway].map((node) => cluster.ready(node)));
  base = cluster.gateway("api");
  token = await login(base);
});

afterAll(async () => {
  await cluster.stopAll();
  await cluster.dropDatabases();
  await cluster.deleteStreams();
});

describe("schedule on its own nodes", () => {
  it("of 20 simultaneous bookings of one room and hour, exactly one wins (PostgreSQL, two replicas)", async () => {
    const courses = await Promise.all(["R1", "R2", "R3", "R4"].map(createCourse));

    const results = await Promise.all(
      Array.from({ length: 20 }, (_, index) =>
        addLesson(courses[index % courses.length], {
          startsAt: "2027-04-12T13:00:00Z",
          endsAt: "2027-04-12T14:00:00Z",
          room: index % 2 === 0 ? "Race Hall" : "race hall",
        }),
      ),
    );

    const statuses = results.map((result) => result.status).sort();
    expect(statuses).toEqual([201, ...Array(19).fill(409)]);
    const refused = results.filter((result) => result.status === 409);
    expect(refused.every((result) => result.body.type === "ROOM_CONFLICT")).toBe(true);
    const winner = results.find((result) => result.status === 201)!.body;
    // Each refusal names the winner (read after the loser's rollback).
    expect(refused.every((result) => result.body.data.lessons[0]?.id === winner.id)).toBe(true);
    // Every refusal was counted, on whichever replica refused it.
    const counts = await Promise.all(
      ["schedule-1", "schedule-2"].map((node) =>
        cluster.metric(node, "campus_schedule_conflicts_total", { kind: "room" }),
      ),
    );
    expect(counts[0] + counts[1]).toBe(19);
  });

  it("refuses an enrollment whose lessons overlap the student's (courses asks schedule over NATS)", async () => {
    const [mine, clashing] = await Promise.all([createCourse("E1"), createCourse("E2")]);
    const student = await registerStudent();
    const enrolled = await http(base, "POST", `/api/courses/${mine}/students`, token, {
      studentId: student.studentId,
    });
    expect(enrolled.status).toBe(201);
    const a = await addLesson(mine, {
      startsAt: "2027-04-13T09:00:00Z",
      endsAt: "2027-04-13T11:00:00Z",
    });
    const b = await addLesson(clashing, {
      startsAt: "2027-04-13T10:30:00+00:00",
      endsAt: "2027-04-13T11:30:00+00:00",
    });

    const refused = await http(base, "POST", `/api/courses/${clashing}/students`, student.token, {
      studentId: student.studentId,
    });

    expect(refused.status).toBe(409);
    expect(refused.body.type).toBe("SCHEDULE_CONFLICT");
    expect(refused.body.data.conflicts).toEqual([{ lesson: b.body, clashesWith: a.body }]);
  });

  it("of simultaneous enrollments of one student into clashing courses, exactly one wins (two courses nodes)", async () => {
    const courses = await Promise.all(["C1", "C2", "C3", "C4"].map(createCourse));
    for (const [index, courseId] of courses.entries()) {
      const lesson = await addLesson(courseId, {
        startsAt: `2027-04-16T09:${String(index * 10).padStart(2, "0")}:00Z`,
        endsAt: "2027-04-16T11:00:00Z",
      });
      expect(lesson.status).toBe(201);
    }
    const student = await registerStudent();

    const results = await Promise.all(
      courses.map((courseId) =>
        http(base, "POST", `/api/courses/${courseId}/students`, student.token, {
          studentId: student.studentId,
        }),
      ),
    );

    expect(results.map((result) => result.status).sort()).toEqual([201, 409, 409, 409]);
    const mine = await http(
      base,
      "GET",
      `/api/students/${student.studentId}/courses`,
      student.token,
    );
    expect(mine.body.total).toBe(1);
  });

  it("tells an enrolled student that a lesson moved, through the durable events", async () => {
    const courseId = await createCourse("N1");
    const student = await registerStudent();
    await http(base, "POST", `/api/courses/${courseId}/students`, token, {
      studentId: student.studentId,
    });
    const lesson = await addLesson(courseId, {
      startsAt: "2027-04-14T09:00:00Z",
      endsAt: "2027-04-14T10:00:00Z",
    });

    const moved = await http(base, "PATCH", `/api/lessons/${lesson.body.id}`, token, {
      startsAt: "2027-04-15T09:00:00Z",
      endsAt: "2027-04-15T10:00:00Z",
    });
    expect(moved.status).toBe(200);

    await eventually(
      async () => {
        const page = await http(base, "GET", "/api/notifications", student.token);
        const types = page.body.rows.map((n: { type: string }) => n.type);
        if (!types.includes("lesson_rescheduled")) throw new Error(`got ${types}`);
      },
      20000,
      250,
    );
  });
});
