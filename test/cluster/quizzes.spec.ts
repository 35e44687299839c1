/**
 * The quizzes service on nodes of its own (two replicas) over NATS and the machine's PostgreSQL:
 * the attempt rules hold when simultaneous requests land on different nodes, and a score reaches
 * the student as a notification through JetStream, once. The profiles service, on a node of its
 * own, receives the perfect scores from the quizzes nodes and awards `perfect_quiz` once.
 */
import { Cluster, eventually, http, login } from "./harness";

jest.setTimeout(300000);

const cluster = new Cluster();
let admin: string;
let base: string;
let courseId: string;
let student: { token: string; studentId: string; userId: string };

const QUESTIONS = [
  {
    id: "capital",
    type: "single_choice",
    prompt: "The capital of France?",
    points: 2,
    choices: [
      { id: "paris", text: "Paris", correct: true },
      { id: "lyon", text: "Lyon" },
    ],
  },
  { id: "pi", type: "number", prompt: "Pi to two decimals?", answer: 3.14, tolerance: 0.01 },
];

async function publishedQuiz(maxAttempts: number) {
  const created = await http(base, "POST", `/api/courses/${courseId}/quizzes`, admin, {
    title: `Cluster quiz ${Date.now()}`,
    questions: QUESTIONS,
    maxAttempts,
  });
  expect(created.status).toBe(201);
  const published = await http(base, "POST", `/api/quizzes/${created.body.id}/publish`, admin);
  expect(published.status).toBe(200);
  return published.body as { id: string };
}

function requestsOn(node: string, action: string) {
  return cluster.metric(node, "moleculer_request_total", { action });
}

beforeAll(async () => {
  await cluster.createDatabases();
  const workers = await Promise.all([
    cluster.start("users", "users"),
    cluster.start("students", "students"),
    cluster.start("courses", "courses"),
    cluster.start("notifications", "notifications"),
    cluster.start("quizzes-1", "quizzes"),
    cluster.start("quizzes-2", "quizzes"),
    cluster.start("profiles", "profiles"),
  ]);
  const gateway = await cluster.start("api", "api");
  await Promise.all([...workers, gateway].map((node) => cluster.ready(node)));
  base = cluster.gateway("api");
  admin = await login(base);

  const course = await http(base, "POST", "/api/courses", admin, {
    code: `QZ-${cluster.runId}`,
    title: "Quizzes across nodes",
  });
  expect(course.status).toBe(201);
  courseId = course.body.id;
  const registered = await http(base, "POST", "/api/auth/register", undefined, {
    email: `quiz.${cluster.runId}@campus.test`,
    password: "a-good-long-password",
    firstName: "Quiz",
    lastName: "Taker",
  });
  expect(registered.status).toBe(201);
  student = {
    token: registered.body.accessToken,
    studentId: registered.body.user.studentId,
    userId: registered.body.user.id,
  };
  const enrolled = await http(base, "POST", `/api/courses/${courseId}/students`, admin, {
    studentId: student.studentId,
  });
  expect(enrolled.status).toBe(201);
});

afterAll(async () => {
  await cluster.stopAll();
  await cluster.dropDatabases();
  await cluster.deleteStreams();
});

describe("quizzes on two nodes of their own", () => {
  it("of 10 simultaneous starts of a student's last attempt, on both nodes, exactly one wins", async () => {
    const quiz = await publishedQuiz(1);
    const before = await Promise.all(
      ["quizzes-1", "quizzes-2"].map((node) => requestsOn(node, "quizzes.startAttempt")),
    );

    const results = await Promise.all(
      Array.from({ length: 10 }, () =>
        http(base, "POST", `/api/quizzes/${quiz.id}/attempts`, student.token),
      ),
    );

    expect(results.map((result) => result.status).sort()).toEqual([
      201, 409, 409, 409, 409, 409, 409, 409, 409, 409,
    ]);
    for (const refused of results.filter((result) => result.status === 409))
      expect(refused.body.type).toBe("NO_ATTEMPTS_LEFT");
    const after = await Promise.all(
      ["quizzes-1", "quizzes-2"].map((node) => requestsOn(node, "quizzes.startAttempt")),
    );
    // Both replicas took part.
    expect(after[0]).toBeGreaterThan(before[0]);
    expect(after[1]).toBeGreaterThan(before[1]);
    const attempts = await http(base, "GET", `/api/quizzes/${quiz.id}/attempts`, admin);
    expect(attempts.body.total).toBe(1);
  });

  it("of 10 simultaneous starts with 3 attempts left, exactly 3 win (the losers of a race count again)", async () => {
    const quiz = await publishedQuiz(3);

    const results = await Promise.all(
      Array.from({ length: 10 }, () =>
        http(base, "POST", `/api/quizzes/${quiz.id}/attempts`, student.token),
      ),
    );

    const won = results.filter((result) => result.status === 201);
    expect(won.map((result) => result.body.number).sort()).toEqual([1, 2, 3]);
    expect(results.filter((result) => result.status === 409)).toHaveLength(7);
  });

  it("scores 5 attempts of one student submitted at the same instant on both nodes, each once", async () => {
    const quiz = await publishedQuiz(5);
    const attempts: string[] = [];
    for (let i = 0; i < 5; i += 1) {
      const started = await http(base, "POST", `/api/quizzes/${quiz.id}/attempts`, student.token);
      expect(started.status).toBe(201);
      attempts.push(started.body.id);
    }

    // Different answers per attempt: scores 0, 1, 2, 3, 3.
    const results = await Promise.all(
      attempts.map((attemptId, i) =>
        http(base, "POST", `/api/quizzes/${quiz.id}/attempts/${attemptId}/submit`, student.token, {
          answers: [
            ...(i >= 2 ? [{ questionId: "capital", choiceIds: ["paris"] }] : []),
            ...(i % 2 === 1 || i === 4 ? [{ questionId: "pi", value: 3.14 }] : []),
          ],
        }),
      ),
    );

    expect(results.map((result) => result.status)).toEqual([200, 200, 200, 200, 200]);
    expect(results.map((result) => result.body.score)).toEqual([0, 1, 2, 3, 3]);
    // The gradebook keeps the newest grade.recorded: it carries the best score, 3.
    const grades = await eventually(async () => {
      const recorded = (await cluster.streamMessages("grade_recorded")).filter(
        (event) => event.itemId === quiz.id,
      );
      expect(recorded).toHaveLength(5);
      return recorded;
    }, 20000);
    const newest = [...grades].sort((a, b) =>
      String(a.recordedAt).localeCompare(String(b.recordedAt)),
    )[4];
    expect(newest.points).toBe(3);
    expect(new Set(grades.map((event) => event.recordedAt)).size).toBe(5);
  });

  it("scores an attempt submitted 10 times at once, on both nodes, exactly once, and notifies the student once", async () => {
    const quiz = await publishedQuiz(1);
    const started = await http(base, "POST", `/api/quizzes/${quiz.id}/attempts`, student.token);
    expect(started.status).toBe(201);
    const answers = [
      { questionId: "capital", choiceIds: ["paris"] },
      { questionId: "pi", value: 3.141 },
    ];

    const results = await Promise.all(
      Array.from({ length: 10 }, () =>
        http(
          base,
          "POST",
          `/api/quizzes/${quiz.id}/attempts/${started.body.id}/submit`,
          student.token,
          { answers },
        ),
      ),
    );

    expect(results.map((result) => result.status).sort()).toEqual([
      200, 409, 409, 409, 409, 409, 409, 409, 409, 409,
    ]);
    const scored = results.find((result) => result.status === 200)!;
    expect(scored.body).toMatchObject({ state: "submitted", score: 3 });
    for (const refused of results.filter((result) => result.status === 409))
      expect(refused.body.type).toBe("ALREADY_SUBMITTED");

    const notifications = await eventually(async () => {
      const page = await http(base, "GET", "/api/notifications?pageSize=100", student.token);
      const mine = page.body.rows.filter(
        (row: { type: string; data: { quizId?: string } }) =>
          row.type === "quiz_scored" && row.data.quizId === quiz.id,
      );
      expect(mine).toHaveLength(1);
      return mine;
    }, 20000);
    expect(notifications[0].body).toContain("3 of 3 points");
  });

  it("awards perfect_quiz once on the profiles node, from the perfect scores of both quizzes nodes", async () => {
    // The cases above scored 3 of 3 three times (two attempts of one quiz, one of another).
    const perfect = (await cluster.streamMessages("quiz_scored")).filter(
      (event) => event.studentId === student.studentId && event.score === event.maxPoints,
    );
    expect(perfect.length).toBeGreaterThanOrEqual(2);

    await eventually(async () => {
      const achievements = await http(
        base,
        "GET",
        `/api/profiles/${student.userId}/achievements`,
        admin,
      );
      expect(achievements.status).toBe(200);
      expect(achievements.body.rows.map((row: { code: string }) => row.code)).toEqual([
        "perfect_quiz",
      ]);
      const page = await http(base, "GET", "/api/notifications?pageSize=100", student.token);
      expect(
        page.body.rows.filter((row: { type: string }) => row.type === "achievement"),
      ).toHaveLength(1);
    }, 20000);
    expect(
      await cluster.metric("profiles", "campus_achievements_awarded_total", {
        code: "perfect_quiz",
      }),
    ).toBe(1);
  });
});
