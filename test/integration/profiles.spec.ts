/**
 * Profiles over HTTP: the caller's profile with its defaults, the validated PATCH (hostile URLs,
 * long bios, too many links, unknown fields), and achievements awarded from the real events —
 * a turned-in assignment, a perfect quiz, a completed course with full attendance — once each,
 * with one notification each, even when an event is delivered again.
 */
import {
  startCampus,
  registerStudent,
  createTeacher,
  errorBody,
  eventually,
  fieldError,
  markers,
  UNKNOWN_ID,
  ISO_TIME,
  recordChannels,
  type Campus,
} from "../helpers/campus";

type Student = Awaited<ReturnType<typeof registerStudent>>;

let campus: Campus;
let admin: string;
let teacher: string;
/** Every `quiz.scored` (to deliver one again) and `achievement.awarded` event, as published. */
let published: Record<"quiz.scored" | "achievement.awarded", Record<string, unknown>[]>;

const marker = markers("p");
const IN_A_WEEK = () => new Date(Date.now() + 7 * 24 * 3600 * 1000).toISOString();

beforeAll(async () => {
  campus = await startCampus();
  admin = await campus.adminToken();
  teacher = await createTeacher(campus);
  // A stand-in consumer on the same durable channels, in a group of its own.
  published = await recordChannels(campus, "profiles-probe", [
    "quiz.scored",
    "achievement.awarded",
  ]);
});
afterAll(() => campus.stop());

async function courseWith(...students: Student[]): Promise<string> {
  const course = await campus.request("POST", "/api/courses", {
    token: teacher,
    body: { code: marker(), title: "Profiled course" },
  });
  expect(course.status).toBe(201);
  for (const student of students) {
    const enrolled = await campus.request("POST", `/api/courses/${course.body.id}/students`, {
      token: admin,
      body: { studentId: student.studentId },
    });
    expect(enrolled.status).toBe(201);
  }
  return course.body.id;
}

function achievementsOf(userId: string, token: string) {
  return campus.request("GET", `/api/profiles/${userId}/achievements`, { token });
}

async function codesOf(student: Student): Promise<string[]> {
  const result = await achievementsOf(student.userId, student.token);
  expect(result.status).toBe(200);
  return result.body.rows.map((row: { code: string }) => row.code);
}

async function achievementNotifications(student: Student) {
  const page = await campus.request("GET", "/api/notifications?pageSize=100", {
    token: student.token,
  });
  expect(page.status).toBe(200);
  return page.body.rows.filter((row: { type: string }) => row.type === "achievement");
}

/** Resolves once every event published so far has been handled by every consumer. */
async function settled() {
  // The in-process adapter delivers at once; the outbox relay runs at least every second.
  await new Promise((resolve) => setTimeout(resolve, 1500));
}

describe("GET /api/profiles/me", () => {
  it("answers the defaults to a user who never changed their profile", async () => {
    const student = await registerStudent(campus);

    const result = await campus.request("GET", "/api/profiles/me", { token: student.token });

    expect(result.status).toBe(200);
    expect(result.body).toEqual({
      userId: student.userId,
      displayName: student.email.slice(0, student.email.indexOf("@")),
      bio: "",
      avatarUrl: null,
      links: [],
      updatedAt: null,
    });
  });

  it("has a profile for teachers and admins too", async () => {
    for (const token of [teacher, admin]) {
      const result = await campus.request("GET", "/api/profiles/me", { token });
      expect(result.status).toBe(200);
      expect(result.body.displayName).toEqual(expect.any(String));
    }
  });

  it("answers 401 without a token", async () => {
    const result = await campus.request("GET", "/api/profiles/me");
    expect(result.status).toBe(401);
  });
});

describe("PATCH /api/profiles/me", () => {
  it("changes only the fields given and keeps the others", async () => {
    const student = await registerStudent(campus);
    const first = await campus.request("PATCH", "/api/profiles/me", {
      token: student.token,
      body: {
        displayName: "  Ada L. ",
        avatarUrl: "HTTPS://Example.org/ada.png",
        links: ["https://example.org/ada", "http://example.com/a b"],
      },
    });
    expect(first.status).toBe(200);

    const second = await campus.request("PATCH", "/api/profiles/me", {
      token: student.token,
      body: { bio: "Mathematician." },
    });

    expect(second.status).toBe(200);
    expect(second.body).toEqual({
      userId: student.userId,
      displayName: "Ada L.",
      bio: "Mathematician.",
      avatarUrl: "https://example.org/ada.png",
      links: ["https://example.org/ada", "http://example.com/a%20b"],
      updatedAt: expect.stringMatching(ISO_TIME),
    });
    const read = await campus.request("GET", "/api/profiles/me", { token: student.token });
    expect(read.body).toEqual(second.body);
  });

  it("removes the avatar with null", async () => {
    const student = await registerStudent(campus);
    await campus.request("PATCH", "/api/profiles/me", {
      token: student.token,
      body: { avatarUrl: "https://example.org/a.png" },
    });

    const result = await campus.request("PATCH", "/api/profiles/me", {
      token: student.token,
      body: { avatarUrl: null },
    });

    expect(result.status).toBe(200);
    expect(result.body.avatarUrl).toBeNull();
  });

  it.each([
    ["a javascript: avatar", { avatarUrl: "javascript:alert(1)" }, "avatarUrl"],
    ["a data: avatar", { avatarUrl: "data:image/png;base64,AAAA" }, "avatarUrl"],
    ["a javascript: link", { links: ["https://ok.example", "JavaScript:alert(1)"] }, "links[1]"],
    ["a relative link", { links: ["/etc/passwd"] }, "links[0]"],
    ["a link with credentials", { links: ["https://user:pw@example.org"] }, "links[0]"],
    ["a 10 KB bio", { bio: "x".repeat(10 * 1024) }, "bio"],
    ["6 links", { links: Array.from({ length: 6 }, (_, i) => `https://e.org/${i}`) }, "links"],
    ["a link over 2048 characters", { links: [`https://e.org/${"a".repeat(2048)}`] }, "links[0]"],
    [
      "an avatar over 2048 characters once encoded",
      { avatarUrl: `https://e.org/${" ".repeat(1000)}x` },
      "avatarUrl",
    ],
    ["an empty display name", { displayName: "   " }, "displayName"],
    ["a display name over 100 characters", { displayName: "n".repeat(101) }, "displayName"],
    ["an unknown field", { displayName: "Ok", nickname: "x" }, "nickname"],
    ["a bio that is not text", { bio: { $ne: "" } }, "bio"],
  ])("refuses %s with 422 naming the field, and writes nothing", async (_, body, field) => {
    const student = await registerStudent(campus);

    const result = await campus.request("PATCH", "/api/profiles/me", {
      token: student.token,
      body,
    });

    expect(result.status).toBe(422);
    expect(result.body).toEqual(errorBody(422, "VALIDATION_ERROR", expect.any(Array)));
    expect(result.body.data).toContainEqual(fieldError(field));
    const read = await campus.request("GET", "/api/profiles/me", { token: student.token });
    expect(read.body.updatedAt).toBeNull();
  });

  it("names every refused field at once", async () => {
    const student = await registerStudent(campus);
    const result = await campus.request("PATCH", "/api/profiles/me", {
      token: student.token,
      body: { avatarUrl: "data:,x", links: ["javascript:void(0)"], colour: "red" },
    });
    expect(result.status).toBe(422);
    expect(result.body.data.map((item: { field: string }) => item.field).sort()).toEqual([
      "avatarUrl",
      "colour",
      "links[0]",
    ]);
  });
});

describe("GET /api/profiles/:userId/achievements", () => {
  it("answers an unknown or malformed user id as a user without achievements (200, no rows)", async () => {
    const student = await registerStudent(campus);
    for (const id of [UNKNOWN_ID, "not-a-uuid", student.userId]) {
      const result = await achievementsOf(id, teacher);
      expect(result.status).toBe(200);
      expect(result.body).toEqual({ rows: [] });
    }
  });
});

describe("achievements", () => {
  it("first_submission: a turned-in assignment, once however many follow", async () => {
    const student = await registerStudent(campus);
    const courseId = await courseWith(student);
    for (const title of ["Essay 1", "Essay 2"]) {
      const assignment = await campus.request("POST", `/api/courses/${courseId}/assignments`, {
        token: teacher,
        body: { title, dueAt: IN_A_WEEK(), maxPoints: 10, published: true },
      });
      expect(assignment.status).toBe(201);
      const submitted = await campus.request(
        "PUT",
        `/api/assignments/${assignment.body.id}/submissions/me`,
        { token: student.token, body: { body: "My work" } },
      );
      expect(submitted.status).toBe(200);
    }

    await eventually(async () => expect(await codesOf(student)).toEqual(["first_submission"]));
    const result = await achievementsOf(student.userId, teacher);
    expect(result.body).toEqual({
      rows: [
        { code: "first_submission", title: "First submission", awardedAt: expect.any(String) },
      ],
    });
    await eventually(async () =>
      expect(await achievementNotifications(student)).toEqual([
        expect.objectContaining({
          userId: student.userId,
          title: "Achievement: First submission",
          data: { code: "first_submission" },
        }),
      ]),
    );
    await settled();
    expect(await achievementNotifications(student)).toHaveLength(1);
  });

  it("perfect_quiz: every point earns it; a replayed quiz.scored awards and notifies nothing more", async () => {
    const [perfect, partial] = [await registerStudent(campus), await registerStudent(campus)];
    const courseId = await courseWith(perfect, partial);
    const quiz = await campus.request("POST", `/api/courses/${courseId}/quizzes`, {
      token: teacher,
      body: {
        title: "Sums",
        questions: [
          { id: "sum", type: "number", prompt: "2 + 2?", points: 2, answer: 4 },
          { id: "word", type: "text", prompt: "Four, in words?", answer: "four" },
        ],
      },
    });
    expect(quiz.status).toBe(201);
    expect(
      (await campus.request("POST", `/api/quizzes/${quiz.body.id}/publish`, { token: teacher }))
        .status,
    ).toBe(200);
    const answers = {
      [perfect.userId]: [
        { questionId: "sum", value: 4 },
        { questionId: "word", text: "Four" },
      ],
      [partial.userId]: [
        { questionId: "sum", value: 4 },
        { questionId: "word", text: "five" },
      ],
    };
    for (const who of [perfect, partial]) {
      const attempt = await campus.request("POST", `/api/quizzes/${quiz.body.id}/attempts`, {
        token: who.token,
      });
      expect(attempt.status).toBe(201);
      const submitted = await campus.request(
        "POST",
        `/api/quizzes/${quiz.body.id}/attempts/${attempt.body.id}/submit`,
        { token: who.token, body: { answers: answers[who.userId] } },
      );
      expect(submitted.status).toBe(200);
    }
    await eventually(async () => expect(await codesOf(perfect)).toEqual(["perfect_quiz"]));
    await eventually(async () => expect(await achievementNotifications(perfect)).toHaveLength(1));
    const scored = published["quiz.scored"].find((event) => event.studentId === perfect.studentId)!;
    expect(scored).toEqual(expect.objectContaining({ score: 3, maxPoints: 3 }));
    const awardsBefore = published["achievement.awarded"].filter(
      (event) => event.userId === perfect.userId,
    );
    expect(awardsBefore).toHaveLength(1);

    // Watch the awards the profiles service makes from now on (it reaches its method through `this`).
    const profiles = campus.broker.getLocalService("profiles") as unknown as {
      awardStudent(...args: unknown[]): Promise<boolean>;
    };
    const award = profiles.awardStudent;
    const outcomes: boolean[] = [];
    profiles.awardStudent = async (...args) => {
      const awarded = await award(...args);
      outcomes.push(awarded);
      return awarded;
    };
    const broker = campus.broker as unknown as {
      sendToChannel(name: string, payload: object): Promise<void>;
    };
    try {
      // The same message delivered again (same eventId), as JetStream does after a lost ack.
      await broker.sendToChannel("quiz.scored", scored);
      // And the award's own event again: the notification is unique per event and user.
      await broker.sendToChannel("achievement.awarded", awardsBefore[0]);
      await eventually(async () => expect(outcomes).toEqual([false]));
      await settled();
    } finally {
      profiles.awardStudent = award;
    }

    expect(await codesOf(perfect)).toEqual(["perfect_quiz"]);
    expect(
      published["achievement.awarded"].filter((event) => event.userId === perfect.userId),
    ).toHaveLength(2);
    expect(
      published["achievement.awarded"].filter(
        (event) => event.userId === perfect.userId && event.eventId !== awardsBefore[0].eventId,
      ),
    ).toEqual([]);
    expect(await achievementNotifications(perfect)).toHaveLength(1);
    expect(await codesOf(partial)).toEqual([]);
  });

  it("full_attendance: a completed course with every recorded lesson present, late or excused", async () => {
    const [always, late, absent, unrecorded] = [
      await registerStudent(campus),
      await registerStudent(campus),
      await registerStudent(campus),
      await registerStudent(campus),
    ];
    const courseId = await courseWith(always, late, absent, unrecorded);
    const statuses = [
      { [always.studentId]: "present", [late.studentId]: "late", [absent.studentId]: "present" },
      { [always.studentId]: "present", [late.studentId]: "excused", [absent.studentId]: "absent" },
    ];
    for (const [index, byStudent] of statuses.entries()) {
      const startsAt = new Date(Date.UTC(2031, 0, 6 + index, 9));
      const lesson = await campus.request("POST", `/api/courses/${courseId}/lessons`, {
        token: teacher,
        body: {
          startsAt: startsAt.toISOString(),
          endsAt: new Date(startsAt.getTime() + 3600000).toISOString(),
        },
      });
      expect(lesson.status).toBe(201);
      const recorded = await campus.request("PUT", `/api/lessons/${lesson.body.id}/attendance`, {
        token: teacher,
        body: {
          records: Object.entries(byStudent).map(([studentId, status]) => ({ studentId, status })),
        },
      });
      expect(recorded.status).toBe(200);
    }

    const completed = await campus.request("POST", `/api/courses/${courseId}/complete`, {
      token: teacher,
    });
    expect(completed.status).toBe(200);

    await eventually(async () => {
      expect(await codesOf(always)).toEqual(["full_attendance"]);
      expect(await codesOf(late)).toEqual(["full_attendance"]);
    });
    await eventually(async () =>
      expect(await achievementNotifications(late)).toEqual([
        expect.objectContaining({ title: "Achievement: Full attendance" }),
      ]),
    );
    await settled();
    expect(await codesOf(absent)).toEqual([]);
    expect(await codesOf(unrecorded)).toEqual([]);
  });
});
