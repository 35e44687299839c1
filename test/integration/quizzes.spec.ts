import type { Sequelize } from "sequelize";
import {
  startCampus,
  registerStudent,
  createTeacher,
  errorBody,
  eventually,
  fieldError,
  markers,
  UNKNOWN_ID,
  UUID,
  ISO_TIME,
  recordChannels,
  type Campus,
} from "../helpers/campus";

let campus: Campus;
let admin: string;
let teacher: string;
let otherTeacher: string;
let student: Awaited<ReturnType<typeof registerStudent>>;
let classmate: Awaited<ReturnType<typeof registerStudent>>;
let outsider: Awaited<ReturnType<typeof registerStudent>>;
let courseId: string;
/** What the gradebook would receive: every `grade.recorded` and `grade.item.changed`, as published. */
let gradebookFeed: Record<"grade.recorded" | "grade.item.changed", Record<string, unknown>[]>;

const marker = markers("q");

beforeAll(async () => {
  campus = await startCampus();
  admin = await campus.adminToken();
  [teacher, otherTeacher, student, classmate, outsider] = await Promise.all([
    createTeacher(campus),
    createTeacher(campus),
    registerStudent(campus),
    registerStudent(campus),
    registerStudent(campus),
  ]);
  const course = await campus.request("POST", "/api/courses", {
    token: teacher,
    body: { code: marker(), title: "Quizzed course" },
  });
  courseId = course.body.id;
  for (const enrolled of [student, classmate]) {
    const result = await campus.request("POST", `/api/courses/${courseId}/students`, {
      token: admin,
      body: { studentId: enrolled.studentId },
    });
    expect(result.status).toBe(201);
  }
  // A stand-in consumer of the gradebook's feed, on the same durable channels.
  gradebookFeed = await recordChannels(campus, "gradebook-probe", [
    "grade.recorded",
    "grade.item.changed",
  ]);
});
afterAll(() => campus.stop());

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
  {
    id: "primes",
    type: "multiple_choice",
    prompt: "Which are prime?",
    points: 4,
    choices: [
      { id: "two", text: "2", correct: true },
      { id: "three", text: "3", correct: true },
      { id: "four", text: "4" },
      { id: "five", text: "5", correct: true },
      { id: "six", text: "6" },
    ],
  },
  {
    id: "pi",
    type: "number",
    prompt: "Pi to two decimals?",
    points: 1,
    answer: 3.14,
    tolerance: 0.01,
  },
  { id: "author", type: "text", prompt: "Who wrote Hamlet?", points: 3, answer: "Shakespeare" },
];

async function createQuiz(fields: Record<string, unknown> = {}, token = teacher) {
  const result = await campus.request("POST", `/api/courses/${courseId}/quizzes`, {
    token,
    body: { title: "Quiz", questions: QUESTIONS, maxAttempts: 3, ...fields },
  });
  expect(result.status).toBe(201);
  return result.body;
}

async function publishedQuiz(fields: Record<string, unknown> = {}) {
  const quiz = await createQuiz(fields);
  const published = await campus.request("POST", `/api/quizzes/${quiz.id}/publish`, {
    token: teacher,
  });
  expect(published.status).toBe(200);
  return published.body;
}

function start(quizId: string, token = student.token) {
  return campus.request("POST", `/api/quizzes/${quizId}/attempts`, { token });
}

function submit(quizId: string, attemptId: string, answers: unknown[], token = student.token) {
  return campus.request("POST", `/api/quizzes/${quizId}/attempts/${attemptId}/submit`, {
    token,
    body: { answers },
  });
}

/** The quizzes service's own database: tests move an attempt's deadline instead of waiting. */
function database(): Sequelize {
  return (campus.broker.getLocalService("quizzes") as unknown as { sequelize: Sequelize })
    .sequelize;
}

async function moveDeadline(attemptId: string, secondsFromNow: number) {
  await database().query(
    `UPDATE quizzes.attempts SET deadline = now() + make_interval(secs => :seconds) WHERE id = :id`,
    { replacements: { id: attemptId, seconds: secondsFromNow } },
  );
}

const ALL_RIGHT = [
  { questionId: "capital", choiceIds: ["paris"] },
  { questionId: "primes", choiceIds: ["two", "three", "five"] },
  { questionId: "pi", value: 3.141 },
  { questionId: "author", text: "  shakespeare " },
];

describe("POST /api/courses/:id/quizzes", () => {
  it("creates a draft for the course's teacher, with ids kept or given and the total points", async () => {
    const result = await campus.request("POST", `/api/courses/${courseId}/quizzes`, {
      token: teacher,
      body: {
        title: "  First quiz ",
        questions: [
          ...QUESTIONS,
          { type: "text", prompt: "No id given", answer: "x", caseSensitive: true },
        ],
        timeLimitSeconds: 600,
      },
    });

    expect(result.status).toBe(201);
    expect(result.headers.get("location")).toBe(`/api/quizzes/${result.body.id}`);
    expect(result.body).toEqual({
      id: expect.stringMatching(UUID),
      courseId,
      title: "First quiz",
      questions: [
        {
          ...QUESTIONS[0],
          choices: [QUESTIONS[0].choices![0], { ...QUESTIONS[0].choices![1], correct: false }],
        },
        {
          ...QUESTIONS[1],
          choices: QUESTIONS[1].choices!.map((choice) => ({ correct: false, ...choice })),
        },
        QUESTIONS[2],
        { ...QUESTIONS[3], caseSensitive: false },
        {
          id: expect.stringMatching(UUID),
          type: "text",
          prompt: "No id given",
          points: 1,
          answer: "x",
          caseSensitive: true,
        },
      ],
      timeLimitSeconds: 600,
      maxAttempts: 1,
      opensAt: null,
      closesAt: null,
      shuffle: false,
      published: false,
      maxPoints: 11,
      createdAt: expect.stringMatching(ISO_TIME),
      updatedAt: expect.stringMatching(ISO_TIME),
    });
  });

  it("refuses another teacher and a student with 403, an unknown course with 404", async () => {
    const body = { title: "Quiz", questions: QUESTIONS };
    const [other, byStudent, unknown] = await Promise.all([
      campus.request("POST", `/api/courses/${courseId}/quizzes`, { token: otherTeacher, body }),
      campus.request("POST", `/api/courses/${courseId}/quizzes`, { token: student.token, body }),
      campus.request("POST", `/api/courses/${UNKNOWN_ID}/quizzes`, { token: admin, body }),
    ]);

    expect([other.status, byStudent.status, unknown.status]).toEqual([403, 403, 404]);
    expect(other.body).toEqual(errorBody(403, "FORBIDDEN"));
  });

  describe("bad questions answer 422 naming the question, and write nothing", () => {
    const cases: [string, unknown[], string][] = [
      [
        "a single-choice question with two correct choices",
        [
          {
            ...QUESTIONS[0],
            choices: [
              { text: "a", correct: true },
              { text: "b", correct: true },
            ],
          },
        ],
        "questions[0].choices",
      ],
      [
        "a multiple-choice question with no correct choice",
        [{ ...QUESTIONS[1], choices: [{ text: "a" }, { text: "b" }] }],
        "questions[0].choices",
      ],
      [
        "two choices with one id",
        [
          {
            ...QUESTIONS[0],
            choices: [
              { id: "x", text: "a", correct: true },
              { id: "x", text: "b" },
            ],
          },
        ],
        "questions[0].choices[1].id",
      ],
      ["two questions with one id", [QUESTIONS[2], QUESTIONS[2]], "questions[1].id"],
      [
        "a number question whose answer is not a number",
        [{ ...QUESTIONS[2], answer: "three" }],
        "questions[0].answer",
      ],
      [
        "a text question without an answer",
        [{ ...QUESTIONS[3], answer: undefined }],
        "questions[0].answer",
      ],
      [
        "a choice question with one choice",
        [{ ...QUESTIONS[0], choices: [{ text: "a", correct: true }] }],
        "questions[0].choices",
      ],
      [
        "a prompt over 10 000 characters",
        [{ ...QUESTIONS[3], prompt: "x".repeat(10_001) }],
        "questions[0].prompt",
      ],
      [
        "201 questions",
        Array.from({ length: 201 }, (_, i) => ({ ...QUESTIONS[2], id: `n${i}` })),
        "questions",
      ],
      ["no questions", [], "questions"],
      ["an unknown type", [{ ...QUESTIONS[3], type: "essay" }], "questions[0].type"],
    ];

    it.each(cases)("%s", async (_name, questions, field) => {
      const title = marker();
      const result = await campus.request("POST", `/api/courses/${courseId}/quizzes`, {
        token: teacher,
        body: { title, questions },
      });

      expect(result.status).toBe(422);
      expect(result.body).toEqual(
        errorBody(422, "VALIDATION_ERROR", expect.arrayContaining([fieldError(field)])),
      );
      const list = await campus.request("GET", `/api/courses/${courseId}/quizzes?pageSize=100`, {
        token: teacher,
      });
      expect(list.body.rows.filter((quiz: { title: string }) => quiz.title === title)).toEqual([]);
    });

    it("a 1 MB prompt is over the body limit: 413", async () => {
      const result = await campus.request("POST", `/api/courses/${courseId}/quizzes`, {
        token: teacher,
        body: { title: "Big", questions: [{ ...QUESTIONS[3], prompt: "x".repeat(1024 * 1024) }] },
      });

      expect(result.status).toBe(413);
    });

    it("closesAt before opensAt, and a time without an offset", async () => {
      const result = await campus.request("POST", `/api/courses/${courseId}/quizzes`, {
        token: teacher,
        body: {
          title: "Window",
          questions: QUESTIONS,
          opensAt: "2030-01-02T00:00:00Z",
          closesAt: "2030-01-01T00:00:00+02:00",
        },
      });
      const local = await campus.request("POST", `/api/courses/${courseId}/quizzes`, {
        token: teacher,
        body: { title: "Window", questions: QUESTIONS, opensAt: "2030-01-02T00:00:00" },
      });

      expect(result.body).toEqual(errorBody(422, "VALIDATION_ERROR", [fieldError("closesAt")]));
      expect(local.body).toEqual(errorBody(422, "VALIDATION_ERROR", [fieldError("opensAt")]));
    });
  });
});

describe("GET /api/quizzes/:id and GET /api/courses/:id/quizzes", () => {
  it("shows staff the answers and enrolled students the published quiz without them", async () => {
    const quiz = await publishedQuiz();

    const [asTeacher, asAdmin, asStudent] = await Promise.all(
      [teacher, admin, student.token].map((token) =>
        campus.request("GET", `/api/quizzes/${quiz.id}`, { token }),
      ),
    );

    expect(asTeacher.body).toEqual(quiz);
    expect(asAdmin.body).toEqual(quiz);
    expect(asStudent.status).toBe(200);
    expect(asStudent.body.questions).toEqual([
      {
        id: "capital",
        type: "single_choice",
        prompt: "The capital of France?",
        points: 2,
        choices: [
          { id: "paris", text: "Paris" },
          { id: "lyon", text: "Lyon" },
        ],
      },
      {
        id: "primes",
        type: "multiple_choice",
        prompt: "Which are prime?",
        points: 4,
        choices: QUESTIONS[1].choices!.map(({ id, text }) => ({ id, text })),
      },
      { id: "pi", type: "number", prompt: "Pi to two decimals?", points: 1 },
      { id: "author", type: "text", prompt: "Who wrote Hamlet?", points: 3 },
    ]);
    expect(asStudent.text).not.toMatch(/correct|answer|tolerance|Shakespeare|3\.14/);
  });

  it("hides a draft from enrolled students (404) and refuses outsiders and other teachers (403)", async () => {
    const draft = await createQuiz();

    const [enrolled, stranger, other] = await Promise.all([
      campus.request("GET", `/api/quizzes/${draft.id}`, { token: student.token }),
      campus.request("GET", `/api/quizzes/${draft.id}`, { token: outsider.token }),
      campus.request("GET", `/api/quizzes/${draft.id}`, { token: otherTeacher }),
    ]);

    expect([enrolled.status, stranger.status, other.status]).toEqual([404, 403, 403]);
  });

  it("answers 401 without a token", async () => {
    const anonymous = await campus.request("GET", `/api/quizzes/${UNKNOWN_ID}`);

    expect(anonymous.body).toEqual(errorBody(401, "UNAUTHORIZED"));
  });

  it("answers 404 for an unknown or malformed id", async () => {
    const [unknown, malformed] = await Promise.all([
      campus.request("GET", `/api/quizzes/${UNKNOWN_ID}`, { token: admin }),
      campus.request("GET", "/api/quizzes/not-a-uuid", { token: admin }),
    ]);

    expect([unknown.status, malformed.status]).toEqual([404, 404]);
    expect(unknown.body).toEqual(errorBody(404, "NOT_FOUND"));
  });

  it("lists every quiz to staff and the published ones, without answers, to students", async () => {
    const draft = await createQuiz({ title: marker() });
    const published = await publishedQuiz({ title: marker() });

    const [staff, enrolled, stranger] = await Promise.all([
      campus.request("GET", `/api/courses/${courseId}/quizzes?pageSize=100`, { token: teacher }),
      campus.request("GET", `/api/courses/${courseId}/quizzes?pageSize=100`, {
        token: student.token,
      }),
      campus.request("GET", `/api/courses/${courseId}/quizzes`, { token: outsider.token }),
    ]);

    const ids = (page: { rows: { id: string }[] }) => page.rows.map((quiz) => quiz.id);
    expect(ids(staff.body)).toEqual(expect.arrayContaining([draft.id, published.id]));
    expect(ids(enrolled.body)).toContain(published.id);
    expect(ids(enrolled.body)).not.toContain(draft.id);
    expect(enrolled.text).not.toMatch(/"correct"|"answer"/);
    expect(stranger.status).toBe(403);
  });
});

describe("PATCH, DELETE and publish", () => {
  it("changes settings and questions of a quiz without attempts", async () => {
    const quiz = await createQuiz();

    const result = await campus.request("PATCH", `/api/quizzes/${quiz.id}`, {
      token: teacher,
      body: { title: "Renamed", questions: [QUESTIONS[2]], shuffle: true },
    });

    expect(result.status).toBe(200);
    expect(result.body).toEqual({
      ...quiz,
      title: "Renamed",
      questions: [QUESTIONS[2]],
      shuffle: true,
      maxPoints: 1,
      updatedAt: expect.stringMatching(ISO_TIME),
    });
  });

  it("freezes the questions once an attempt exists (409) but still lets the title change", async () => {
    const quiz = await publishedQuiz();
    expect((await start(quiz.id)).status).toBe(201);

    const questions = await campus.request("PATCH", `/api/quizzes/${quiz.id}`, {
      token: teacher,
      body: { questions: [QUESTIONS[2]] },
    });
    const title = await campus.request("PATCH", `/api/quizzes/${quiz.id}`, {
      token: teacher,
      body: { title: "Still fine" },
    });
    const removed = await campus.request("DELETE", `/api/quizzes/${quiz.id}`, { token: admin });

    expect(questions.body).toEqual(errorBody(409, "QUIZ_HAS_ATTEMPTS"));
    expect(title.status).toBe(200);
    expect(title.body.questions).toEqual(quiz.questions);
    expect(removed.body).toEqual(errorBody(409, "QUIZ_HAS_ATTEMPTS"));
  });

  it("deletes a quiz without attempts (204), then it is gone", async () => {
    const quiz = await createQuiz();

    const removed = await campus.request("DELETE", `/api/quizzes/${quiz.id}`, { token: teacher });
    const after = await campus.request("GET", `/api/quizzes/${quiz.id}`, { token: teacher });

    expect(removed.status).toBe(204);
    expect(after.status).toBe(404);
  });

  it("refuses writes of another teacher and of students (403)", async () => {
    const quiz = await createQuiz();

    const results = await Promise.all([
      campus.request("PATCH", `/api/quizzes/${quiz.id}`, {
        token: otherTeacher,
        body: { title: "x" },
      }),
      campus.request("DELETE", `/api/quizzes/${quiz.id}`, { token: otherTeacher }),
      campus.request("POST", `/api/quizzes/${quiz.id}/publish`, { token: otherTeacher }),
      campus.request("POST", `/api/quizzes/${quiz.id}/publish`, { token: student.token }),
    ]);

    expect(results.map((result) => result.status)).toEqual([403, 403, 403, 403]);
  });

  it("checks a changed window bound against the one kept (422)", async () => {
    const quiz = await createQuiz({ opensAt: "2030-01-10T00:00:00Z" });

    const result = await campus.request("PATCH", `/api/quizzes/${quiz.id}`, {
      token: teacher,
      body: { closesAt: "2030-01-09T00:00:00+00:00" },
    });

    expect(result.body).toEqual(errorBody(422, "VALIDATION_ERROR", [fieldError("closesAt")]));
  });

  it("answers 422 for a bad PATCH and leaves the quiz as it was", async () => {
    const quiz = await createQuiz();

    const result = await campus.request("PATCH", `/api/quizzes/${quiz.id}`, {
      token: teacher,
      body: {
        title: "Changed",
        questions: [{ ...QUESTIONS[0], choices: [{ text: "only", correct: true }] }],
      },
    });
    const after = await campus.request("GET", `/api/quizzes/${quiz.id}`, { token: teacher });

    expect(result.status).toBe(422);
    expect(after.body).toEqual(quiz);
  });
});

describe("attempts", () => {
  it("starts an attempt with the questions and no answers, and scores a submit per question", async () => {
    const quiz = await publishedQuiz();

    const started = await start(quiz.id);
    expect(started.status).toBe(201);
    expect(started.headers.get("location")).toBe(
      `/api/quizzes/${quiz.id}/attempts/${started.body.id}`,
    );
    expect(started.body).toEqual({
      id: expect.stringMatching(UUID),
      quizId: quiz.id,
      studentId: student.studentId,
      number: 1,
      state: "in_progress",
      startedAt: expect.stringMatching(ISO_TIME),
      deadline: null,
      submittedAt: null,
      score: null,
      maxPoints: 10,
      questions: expect.any(Array),
      answers: null,
      results: null,
    });
    expect(started.text).not.toMatch(/"correct"|"answer"|Shakespeare/);

    const submitted = await submit(quiz.id, started.body.id, [
      { questionId: "capital", choiceIds: ["paris"] },
      { questionId: "primes", choiceIds: ["two", "three", "six"] },
      { questionId: "pi", value: 3.2 },
      { questionId: "author", text: "SHAKESPEARE" },
    ]);

    expect(submitted.status).toBe(200);
    expect(submitted.body).toMatchObject({
      state: "submitted",
      submittedAt: expect.stringMatching(ISO_TIME),
      score: 6.33,
      results: [
        { questionId: "capital", points: 2, maxPoints: 2 },
        { questionId: "primes", points: 1.33, maxPoints: 4 },
        { questionId: "pi", points: 0, maxPoints: 1 },
        { questionId: "author", points: 3, maxPoints: 3 },
      ],
    });
    // After submitting, the student sees the correct answers.
    expect(submitted.body.questions[0].choices[0]).toEqual({
      id: "paris",
      text: "Paris",
      correct: true,
    });
  });

  it("scores a double submit once: the second answers 409 ALREADY_SUBMITTED", async () => {
    const quiz = await publishedQuiz();
    const started = await start(quiz.id);

    const results = await Promise.all([
      submit(quiz.id, started.body.id, ALL_RIGHT),
      submit(quiz.id, started.body.id, []),
    ]);

    expect(results.map((result) => result.status).sort()).toEqual([200, 409]);
    const refused = results.find((result) => result.status === 409)!;
    expect(refused.body).toEqual(errorBody(409, "ALREADY_SUBMITTED"));
    const stored = await campus.request(
      "GET",
      `/api/quizzes/${quiz.id}/attempts/${started.body.id}`,
      {
        token: student.token,
      },
    );
    const winner = results.find((result) => result.status === 200)!;
    expect(stored.body.score).toBe(winner.body.score);
  });

  it("of two simultaneous starts with one attempt left, exactly one wins (201, 409 NO_ATTEMPTS_LEFT)", async () => {
    const quiz = await publishedQuiz({ maxAttempts: 2 });
    const first = await start(quiz.id);
    await submit(quiz.id, first.body.id, []);

    const results = await Promise.all([start(quiz.id), start(quiz.id), start(quiz.id)]);

    expect(results.map((result) => result.status).sort()).toEqual([201, 409, 409]);
    for (const refused of results.filter((result) => result.status === 409))
      expect(refused.body).toEqual(errorBody(409, "NO_ATTEMPTS_LEFT"));
    const page = await campus.request("GET", `/api/quizzes/${quiz.id}/attempts`, {
      token: teacher,
    });
    expect(page.body.total).toBe(2);
    expect(page.body.rows.map((row: { number: number }) => row.number)).toEqual([1, 2]);
  });

  it("of 6 simultaneous starts with 3 attempts left, exactly 3 win, numbered 1 to 3", async () => {
    const quiz = await publishedQuiz({ maxAttempts: 3 });

    const results = await Promise.all(Array.from({ length: 6 }, () => start(quiz.id)));

    expect(results.map((result) => result.status).sort()).toEqual([201, 201, 201, 409, 409, 409]);
    const numbers = results
      .filter((result) => result.status === 201)
      .map((result) => result.body.number)
      .sort();
    expect(numbers).toEqual([1, 2, 3]);
  });

  it("refuses a start outside the quiz's window (409 QUIZ_CLOSED), on a draft (404), and by outsiders and staff (403)", async () => {
    const closed = await publishedQuiz({ closesAt: "2020-01-01T00:00:00Z" });
    const future = await publishedQuiz({ opensAt: "2999-01-01T00:00:00+01:00" });
    const draft = await createQuiz();
    const open = await publishedQuiz();

    const results = await Promise.all([
      start(closed.id),
      start(future.id),
      start(draft.id),
      start(open.id, outsider.token),
      start(open.id, teacher),
    ]);

    expect(results.map((result) => result.status)).toEqual([409, 409, 404, 403, 403]);
    expect(results[0].body).toEqual(errorBody(409, "QUIZ_CLOSED"));
    expect(results[1].body).toEqual(errorBody(409, "QUIZ_CLOSED"));
  });

  it("keeps a shuffled attempt's own order on every read", async () => {
    const many = Array.from({ length: 30 }, (_, i) => ({
      id: `n${i}`,
      type: "number",
      prompt: `${i} + 0?`,
      answer: i,
    }));
    const quiz = await publishedQuiz({ questions: [QUESTIONS[1], ...many], shuffle: true });

    const started = await start(quiz.id);
    const read = await campus.request(
      "GET",
      `/api/quizzes/${quiz.id}/attempts/${started.body.id}`,
      {
        token: student.token,
      },
    );

    const order = started.body.questions.map((question: { id: string }) => question.id);
    expect(order).not.toEqual(["primes", ...many.map((question) => question.id)]);
    expect([...order].sort()).toEqual(["primes", ...many.map((question) => question.id)].sort());
    expect(read.body.questions).toEqual(started.body.questions);
  });

  describe("bad answers answer 422 and leave the attempt unscored", () => {
    const cases: [string, unknown[], string][] = [
      [
        "a question not in the attempt",
        [{ questionId: "nope", text: "x" }],
        "answers[0].questionId",
      ],
      [
        "a choice of another question",
        [{ questionId: "capital", choiceIds: ["two"] }],
        "answers[0].choiceIds[0]",
      ],
      [
        "a number answer that is not a number",
        [{ questionId: "pi", value: "three" }],
        "answers[0].value",
      ],
      [
        "two choices for a single-choice question",
        [{ questionId: "capital", choiceIds: ["paris", "lyon"] }],
        "answers[0].choiceIds",
      ],
      ["one question answered twice", [ALL_RIGHT[2], ALL_RIGHT[2]], "answers[1].questionId"],
      ["a text for a number question", [{ questionId: "pi", text: "3.14" }], "answers[0]"],
    ];

    it.each(cases)("%s", async (_name, answers, field) => {
      const quiz = await publishedQuiz();
      const started = await start(quiz.id);

      const result = await submit(quiz.id, started.body.id, answers);
      const after = await campus.request(
        "GET",
        `/api/quizzes/${quiz.id}/attempts/${started.body.id}`,
        {
          token: student.token,
        },
      );

      expect(result.body).toEqual(
        errorBody(422, "VALIDATION_ERROR", expect.arrayContaining([fieldError(field)])),
      );
      expect(after.body.state).toBe("in_progress");
    });
  });

  it("refuses a submit past the time limit plus the grace (409 ATTEMPT_EXPIRED) and scores it as it stood", async () => {
    const quiz = await publishedQuiz({ timeLimitSeconds: 60 });
    const started = await start(quiz.id);
    expect(Date.parse(started.body.deadline) - Date.parse(started.body.startedAt)).toBe(60_000);
    await moveDeadline(started.body.id, -6);

    const result = await submit(quiz.id, started.body.id, ALL_RIGHT);
    const read = await campus.request(
      "GET",
      `/api/quizzes/${quiz.id}/attempts/${started.body.id}`,
      {
        token: student.token,
      },
    );

    expect(result.body).toEqual(errorBody(409, "ATTEMPT_EXPIRED"));
    expect(read.body).toMatchObject({ state: "expired", score: 0, answers: [] });
  });

  it("accepts a submit within the grace after the time limit", async () => {
    const quiz = await publishedQuiz({ timeLimitSeconds: 60 });
    const started = await start(quiz.id);
    await moveDeadline(started.body.id, -2);

    const result = await submit(quiz.id, started.body.id, ALL_RIGHT);

    expect(result.status).toBe(200);
    expect(result.body.score).toBe(10);
  });

  it("scores an expired attempt that was never submitted when it is read", async () => {
    const quiz = await publishedQuiz({ timeLimitSeconds: 60 });
    const started = await start(quiz.id, classmate.token);
    await moveDeadline(started.body.id, -30);

    const page = await campus.request("GET", `/api/quizzes/${quiz.id}/attempts`, {
      token: teacher,
    });

    expect(page.body.rows).toEqual([
      expect.objectContaining({ id: started.body.id, state: "expired", score: 0 }),
    ]);
  });

  it("shows a student only their own attempts; another's is 404", async () => {
    const quiz = await publishedQuiz();
    const mine = await start(quiz.id);
    const theirs = await start(quiz.id, classmate.token);

    const [ownList, staffList, other, otherSubmit] = await Promise.all([
      campus.request("GET", `/api/quizzes/${quiz.id}/attempts`, { token: student.token }),
      campus.request("GET", `/api/quizzes/${quiz.id}/attempts`, { token: teacher }),
      campus.request("GET", `/api/quizzes/${quiz.id}/attempts/${theirs.body.id}`, {
        token: student.token,
      }),
      submit(quiz.id, theirs.body.id, ALL_RIGHT),
    ]);

    expect(ownList.body.rows.map((row: { id: string }) => row.id)).toEqual([mine.body.id]);
    expect(staffList.body.total).toBe(2);
    expect(other.body).toEqual(errorBody(404, "NOT_FOUND"));
    expect(otherSubmit.body).toEqual(errorBody(404, "NOT_FOUND"));
    const otherTeacherList = await campus.request("GET", `/api/quizzes/${quiz.id}/attempts`, {
      token: otherTeacher,
    });
    expect(otherTeacherList.status).toBe(403);
  });
});

describe("results leave as events", () => {
  it("describes the quiz to the gradebook when it is published, renamed and deleted", async () => {
    const quiz = await publishedQuiz({ title: marker() });
    await campus.request("PATCH", `/api/quizzes/${quiz.id}`, {
      token: teacher,
      body: { title: `${quiz.title} renamed` },
    });
    await campus.request("DELETE", `/api/quizzes/${quiz.id}`, { token: teacher });

    const events = await eventually(async () => {
      const mine = gradebookFeed["grade.item.changed"].filter((event) => event.itemId === quiz.id);
      expect(mine).toHaveLength(3);
      return mine;
    });
    const common = {
      courseId,
      itemId: quiz.id,
      source: "quiz",
      category: "quizzes",
      maxPoints: 10,
    };
    expect(events).toEqual([
      expect.objectContaining({ ...common, title: quiz.title, deleted: false }),
      expect.objectContaining({ ...common, title: `${quiz.title} renamed`, deleted: false }),
      expect.objectContaining({ ...common, title: `${quiz.title} renamed`, deleted: true }),
    ]);
    for (const event of events) expect(event.changedAt).toMatch(ISO_TIME);
  });

  it("records the best attempt's score for the gradebook and notifies the student", async () => {
    const quiz = await publishedQuiz({ title: marker(), maxAttempts: 2 });
    const first = await start(quiz.id);
    await submit(quiz.id, first.body.id, ALL_RIGHT);
    const second = await start(quiz.id);
    await submit(quiz.id, second.body.id, [ALL_RIGHT[0]]);

    const events = await eventually(async () => {
      const mine = gradebookFeed["grade.recorded"].filter((event) => event.itemId === quiz.id);
      expect(mine).toHaveLength(2);
      return mine;
    });
    for (const event of events) {
      expect(event).toMatchObject({
        courseId,
        studentId: student.studentId,
        itemId: quiz.id,
        source: "quiz",
        title: quiz.title,
        category: "quizzes",
        maxPoints: 10,
        points: 10,
        recordedAt: expect.stringMatching(ISO_TIME),
        notify: false,
      });
    }

    await eventually(async () => {
      const page = await campus.request("GET", "/api/notifications?pageSize=100", {
        token: student.token,
      });
      const results = page.body.rows.filter(
        (row: { type: string; data: { quizId?: string } }) =>
          row.type === "quiz_scored" && row.data.quizId === quiz.id,
      );
      expect(results).toHaveLength(2);
    });
  });
});
