/**
 * Coursework as separate processes over the machine's NATS (JetStream) and PostgreSQL: grades
 * recorded while the gradebook node is down reach it, exactly once each, when it is back.
 */
import { Cluster, http, login, eventually, sleep } from "./harness";

jest.setTimeout(300000);

const cluster = new Cluster();
let admin: string;
let base: string;

beforeAll(async () => {
  await cluster.createDatabases();
  const workers = await Promise.all([
    cluster.start("users", "users"),
    cluster.start("students", "students"),
    cluster.start("courses", "courses"),
    cluster.start("notifications", "notifications"),
    cluster.start("assignments", "assignments"),
    cluster.start("gradebook", "gradebook"),
  ]);
  const gateway = await cluster.start("api", "api");
  await Promise.all([...workers, gateway].map((node) => cluster.ready(node)));
  base = cluster.gateway("api");
  admin = await login(base);
});

afterAll(async () => {
  await cluster.stopAll();
  await cluster.dropDatabases();
  await cluster.deleteStreams();
});

async function registerEnrolled(courseId: string, index: number) {
  const registered = await http(base, "POST", "/api/auth/register", undefined, {
    email: `graded.${cluster.runId}.${index}@campus.test`,
    password: "a-good-long-password",
    firstName: "Graded",
    lastName: `Student${index}`,
  });
  expect(registered.status).toBe(201);
  const studentId = registered.body.user.studentId as string;
  const enrolled = await http(base, "POST", `/api/courses/${courseId}/students`, admin, {
    studentId,
  });
  expect(enrolled.status).toBe(201);
  return { studentId, token: registered.body.accessToken as string };
}

describe("grades while the gradebook is down", () => {
  it("appear, exactly once each, after the gradebook node comes back", async () => {
    const course = await http(base, "POST", "/api/courses", admin, {
      code: `GB-${cluster.runId}`,
      title: "Gradebook catch-up",
    });
    expect(course.status).toBe(201);
    const courseId = course.body.id as string;
    const assignment = await http(base, "POST", `/api/courses/${courseId}/assignments`, admin, {
      title: "Essay",
      dueAt: new Date(Date.now() + 7 * 24 * 3600 * 1000).toISOString(),
      maxPoints: 10,
      published: true,
    });
    expect(assignment.status).toBe(201);
    const assignmentId = assignment.body.id as string;
    const students = await Promise.all([1, 2, 3].map((i) => registerEnrolled(courseId, i)));
    for (const student of students) {
      const submitted = await http(
        base,
        "PUT",
        `/api/assignments/${assignmentId}/submissions/me`,
        student.token,
        { body: "My essay" },
      );
      expect(submitted.status).toBe(200);
    }

    await cluster.stop("gradebook", "SIGTERM");
    const points = [4, 7, 9];
    for (const [index, student] of students.entries()) {
      const graded = await http(
        base,
        "POST",
        `/api/assignments/${assignmentId}/submissions/${student.studentId}/grade`,
        admin,
        { points: points[index] },
      );
      expect(graded.status).toBe(200);
    }
    // A re-grade while still down: the newer grade must win, whatever the delivery order.
    const regraded = await http(
      base,
      "POST",
      `/api/assignments/${assignmentId}/submissions/${students[0].studentId}/grade`,
      admin,
      { points: 5 },
    );
    expect(regraded.status).toBe(200);
    const whileDown = await http(base, "GET", `/api/courses/${courseId}/gradebook`, admin);
    expect(whileDown.status).toBe(503);

    await cluster.ready(await cluster.start("gradebook", "gradebook"));

    const expected = Object.fromEntries(
      students.map((student, index) => [student.studentId, index === 0 ? 5 : points[index]]),
    );
    const scores = async () => {
      const result = await http(base, "GET", `/api/courses/${courseId}/gradebook`, admin);
      if (result.status !== 200) throw new Error(`gradebook answered ${result.status}`);
      return Object.fromEntries(
        (result.body.rows as { studentId: string; scores: Record<string, number | null> }[]).map(
          (row) => [row.studentId, row.scores[assignmentId]],
        ),
      );
    };
    await eventually(async () => expect(await scores()).toEqual(expected), 30000);
    // Redeliveries (if any) change nothing: look again after the consumer settled.
    await sleep(2000);
    expect(await scores()).toEqual(expected);
    // Four grade events, each applied once by the restarted node.
    expect(
      await cluster.metric("gradebook", "campus_grades_total", {
        source: "assignment",
        result: "applied",
      }),
    ).toBe(4);
  });
});
