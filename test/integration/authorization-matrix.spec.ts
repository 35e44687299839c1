/**
 * Who may call what (OWASP API1 object level, API5 function level), as one table: every
 * endpoint of the gateway × every kind of caller, with the answer the contract gives. A second
 * test compares the table with the routes the gateway really serves, so an endpoint added
 * without a row fails here.
 *
 * Callers: nobody (no token); a student acting on their own record vs another student's; a
 * teacher acting on a course they teach (they created it) vs another teacher's course (course
 * staff only: its writes refuse other teachers); an administrator. Wherever a row
 * changes or removes something, it gets fresh records of its own.
 */
import {
  ADMIN,
  errorBody,
  eventually,
  registerStudent,
  startCampus,
  STUDENT_PASSWORD,
  uniqueEmail,
  type Campus,
  type HttpResult,
} from "../helpers/campus";

const CALLERS = [
  "anonymous",
  "student (own)",
  "student (another's)",
  "teacher (own course)",
  "teacher (another's course)",
  "admin",
] as const;
type Caller = (typeof CALLERS)[number];
/** A 2xx (the contract allows 200 or 204 for some deletes), or exactly this error status. */
type Outcome = "ok" | 401 | 403 | 404;
const ok = "ok";

// prettier-ignore
const MATRIX: [endpoint: string, ...outcomes: Outcome[]][] = [
  //                                               anonymous  s:own  s:other  t:own  t:other  admin
  // Public by design: operations, documentation.
  ["GET /health/live",                               ok,       ok,    ok,      ok,    ok,      ok],
  ["GET /health/ready",                              ok,       ok,    ok,      ok,    ok,      ok],
  ["GET /openapi.json",                              ok,       ok,    ok,      ok,    ok,      ok],
  ["GET /docs",                                      ok,       ok,    ok,      ok,    ok,      ok],
  ["GET /docs/assets/:file",                         ok,       ok,    ok,      ok,    ok,      ok],

  ["POST /api/auth/register",                        ok,       ok,    ok,      ok,    ok,      ok],
  ["POST /api/auth/login",                           ok,       ok,    ok,      ok,    ok,      ok],
  ["GET /api/auth/me",                               401,      ok,    ok,      ok,    ok,      ok],

  ["GET /api/users",                                 401,      403,   403,     403,   403,     ok],
  ["POST /api/users",                                401,      403,   403,     403,   403,     ok],
  ["GET /api/users/:id",                             401,      403,   403,     403,   403,     ok],
  ["PATCH /api/users/:id",                           401,      403,   403,     403,   403,     ok],
  ["DELETE /api/users/:id",                          401,      403,   403,     403,   403,     ok],

  ["GET /api/students",                              401,      403,   403,     ok,    ok,      ok],
  ["POST /api/students",                             401,      403,   403,     403,   403,     ok],
  ["GET /api/students/:id",                          401,      ok,    403,     ok,    ok,      ok],
  ["PUT /api/students/:id",                          401,      ok,    403,     403,   403,     ok],
  ["PATCH /api/students/:id",                        401,      ok,    403,     403,   403,     ok],
  ["DELETE /api/students/:id",                       401,      403,   403,     403,   403,     ok],
  ["GET /api/students/:id/courses",                  401,      ok,    403,     ok,    ok,      ok],
  ["POST /api/students/:id/courses",                 401,      ok,    403,     ok,    ok,      ok],
  ["DELETE /api/students/:id/courses/:courseId",     401,      ok,    403,     ok,    ok,      ok],

  ["GET /api/courses",                               401,      ok,    ok,      ok,    ok,      ok],
  ["POST /api/courses",                              401,      403,   403,     ok,    ok,      ok],
  ["GET /api/courses/:id",                           401,      ok,    ok,      ok,    ok,      ok],
  ["PUT /api/courses/:id",                           401,      403,   403,     ok,    403,     ok],
  ["PATCH /api/courses/:id",                         401,      403,   403,     ok,    403,     ok],
  ["PUT /api/courses/:id/teachers",                  401,      403,   403,     ok,    403,     ok],
  ["DELETE /api/courses/:id",                        401,      403,   403,     403,   403,     ok],
  ["GET /api/courses/:id/students",                  401,      403,   403,     ok,    ok,      ok],
  ["POST /api/courses/:id/students",                 401,      ok,    403,     ok,    ok,      ok],
  ["DELETE /api/courses/:id/students/:studentId",    401,      ok,    403,     ok,    ok,      ok],
  ["GET /api/courses/:id/waitlist",                  401,      403,   403,     ok,    403,     ok],
  ["POST /api/courses/:id/complete",                 401,      403,   403,     ok,    403,     ok],
  ["GET /api/enrollments/:courseId/:studentId/history", 401,   ok,    403,     ok,    403,     ok],

  // Quizzes: course staff manage them; enrolled students take them. "student (own)" is enrolled in
  // the quiz's course and owns the attempt; "student (another's)" is not, and the attempt is
  // another student's (404, as an unknown id).
  ["POST /api/courses/:id/quizzes",                  401,      403,   403,     ok,    403,     ok],
  ["GET /api/courses/:id/quizzes",                   401,      ok,    403,     ok,    403,     ok],
  ["GET /api/quizzes/:id",                           401,      ok,    403,     ok,    403,     ok],
  ["PATCH /api/quizzes/:id",                         401,      403,   403,     ok,    403,     ok],
  ["DELETE /api/quizzes/:id",                        401,      403,   403,     ok,    403,     ok],
  ["POST /api/quizzes/:id/publish",                  401,      403,   403,     ok,    403,     ok],
  ["POST /api/quizzes/:id/attempts",                 401,      ok,    403,     403,   403,     403],
  ["POST /api/quizzes/:id/attempts/:attemptId/submit", 401,    ok,    404,     403,   403,     403],
  ["GET /api/quizzes/:id/attempts",                  401,      ok,    ok,      ok,    403,     ok],
  ["GET /api/quizzes/:id/attempts/:attemptId",       401,      ok,    404,     ok,    403,     ok],

  // Notifications are the caller's own: anyone else's answers 404, as an unknown id would.
  ["GET /api/notifications",                         401,      ok,    ok,      ok,    ok,      ok],
  ["GET /api/notifications/unread-count",            401,      ok,    ok,      ok,    ok,      ok],
  ["POST /api/notifications/:id/read",               401,      ok,    404,     404,   404,     404],
  ["POST /api/notifications/read-all",               401,      ok,    ok,      ok,    ok,      ok],

  // Schedule: "own" is a course the student is enrolled in / the teacher teaches.
  ["POST /api/courses/:id/lessons",                  401,      403,   403,     ok,    403,     ok],
  ["POST /api/courses/:id/lesson-series",            401,      403,   403,     ok,    403,     ok],
  ["GET /api/courses/:id/schedule",                  401,      ok,    403,     ok,    ok,      ok],
  ["GET /api/lessons/:id",                           401,      ok,    403,     ok,    ok,      ok],
  ["PATCH /api/lessons/:id",                         401,      403,   403,     ok,    403,     ok],
  ["DELETE /api/lessons/:id",                        401,      403,   403,     ok,    403,     ok],
  ["PUT /api/lessons/:id/attendance",                401,      403,   403,     ok,    403,     ok],
  ["GET /api/lessons/:id/attendance",                401,      403,   403,     ok,    403,     ok],
  ["GET /api/students/:id/attendance",               401,      ok,    403,     ok,    ok,      ok],
  // A student's courses' lessons; a teacher's (or an admin's) own lessons.
  ["GET /api/schedule/me",                           401,      ok,    ok,      ok,    ok,      ok],
  ["POST /api/schedule/feed",                        401,      ok,    ok,      ok,    ok,      ok],
  // The feed's secret URL is its credential: whoever holds it reads it, with or without a token.
  ["GET /api/schedule/feed/:token",                  ok,       ok,    ok,      ok,    ok,      ok],
  // Coursework: a course of the teacher's (own) or another teacher's; the student enrolled in it
  // (own) or not (another's); submissions and grades about the caller (own) or another student.
  ["POST /api/courses/:id/assignments",              401,      403,   403,     ok,    403,     ok],
  ["GET /api/courses/:id/assignments",               401,      ok,    403,     ok,    403,     ok],
  ["GET /api/assignments/:id",                       401,      ok,    403,     ok,    403,     ok],
  ["PATCH /api/assignments/:id",                     401,      403,   403,     ok,    403,     ok],
  ["DELETE /api/assignments/:id",                    401,      403,   403,     ok,    403,     ok],
  ["PUT /api/assignments/:id/submissions/me",        401,      ok,    403,     403,   403,     403],
  ["GET /api/assignments/:id/submissions",           401,      403,   403,     ok,    403,     ok],
  ["GET /api/assignments/:id/submissions/:studentId", 401,     ok,    403,     ok,    403,     ok],
  ["POST /api/assignments/:id/submissions/:studentId/grade", 401, 403, 403,   ok,    403,     ok],
  ["GET /api/courses/:id/gradebook",                 401,      403,   403,     ok,    403,     ok],
  ["GET /api/students/:id/grades",                   401,      ok,    403,     ok,    403,     ok],
  ["PUT /api/courses/:id/grading",                   401,      403,   403,     ok,    403,     ok],
  // Profiles: every signed-in user has their own; anyone's achievements are readable by any token.
  ["GET /api/profiles/me",                           401,      ok,    ok,      ok,    ok,      ok],
  ["PATCH /api/profiles/me",                         401,      ok,    ok,      ok,    ok,      ok],
  ["GET /api/profiles/:userId/achievements",         401,      ok,    ok,      ok,    ok,      ok],
  // Reports: asking is for that student / the course's staff; a report is seen by who asked
  // (own) — not by another student or teacher — and by admins.
  ["POST /api/reports",                              401,      ok,    403,     ok,    403,     ok],
  ["GET /api/reports",                               401,      ok,    ok,      ok,    ok,      ok],
  ["GET /api/reports/:id",                           401,      ok,    403,     ok,    403,     ok],
  ["GET /api/reports/:id/download",                  401,      ok,    403,     ok,    403,     ok],
  ["POST /api/reports/:id/regenerate",               401,      ok,    403,     ok,    403,     ok],
];

const ERROR_TYPES: Record<Exclude<Outcome, "ok">, string> = {
  401: "UNAUTHORIZED",
  403: "FORBIDDEN",
  404: "NOT_FOUND",
};

interface Account {
  token: string;
  email: string;
  password: string;
  userId: string;
  studentId: string | null;
}

let campus: Campus;
let admin: Account;
let studentA: Account;
let studentB: Account;
let teacherA: Account;
let teacherB: Account;
let notificationOfA: string;
let notificationOfB: string;

async function expectStatus(result: HttpResult, status: number, what: string) {
  if (result.status !== status) throw new Error(`${what}: ${result.status} ${result.text}`);
}

async function login(email: string, password: string): Promise<Account> {
  const result = await campus.request("POST", "/api/auth/login", { body: { email, password } });
  await expectStatus(result, 200, `login ${email}`);
  return {
    token: result.body.accessToken,
    email,
    password,
    userId: result.body.user.id,
    studentId: result.body.user.studentId,
  };
}

async function newTeacher(): Promise<Account> {
  const email = uniqueEmail("teacher");
  const password = "a-teacher-password-long-enough";
  await expectStatus(
    await campus.request("POST", "/api/users", {
      token: admin.token,
      body: { email, password, role: "teacher" },
    }),
    201,
    "create teacher",
  );
  return login(email, password);
}

async function newStudentAccount(): Promise<Account> {
  const student = await registerStudent(campus);
  return { ...student, password: STUDENT_PASSWORD };
}

async function newStudent(): Promise<string> {
  const result = await campus.request("POST", "/api/students", {
    token: admin.token,
    body: { firstName: "Fresh", lastName: "Student", email: uniqueEmail("fresh") },
  });
  await expectStatus(result, 201, "create student");
  return result.body.id;
}

let codes = 0;
async function newCourse(by: Account): Promise<string> {
  codes += 1;
  const result = await campus.request("POST", "/api/courses", {
    token: by.token,
    body: { code: `AUTHZ-${codes}-${Date.now().toString(36)}`, title: "Matrix", capacity: 50 },
  });
  await expectStatus(result, 201, "create course");
  return result.body.id;
}

async function newUser(): Promise<string> {
  const result = await campus.request("POST", "/api/users", {
    token: admin.token,
    body: { email: uniqueEmail("user"), password: "a-user-password-long", role: "teacher" },
  });
  await expectStatus(result, 201, "create user");
  return result.body.id;
}

async function enroll(courseId: string, studentId: string) {
  await expectStatus(
    await campus.request("POST", `/api/courses/${courseId}/students`, {
      token: admin.token,
      body: { studentId },
    }),
    201,
    "enroll",
  );
}

async function record(path: string): Promise<Record<string, unknown>> {
  const result = await campus.request("GET", path, { token: admin.token });
  await expectStatus(result, 200, `read ${path}`);
  return result.body;
}

/** The caller's token and account. */
function callerAccount(caller: Caller): Account | null {
  if (caller === "anonymous") return null;
  if (caller.startsWith("student")) return studentA;
  if (caller.startsWith("teacher")) return teacherA;
  return admin;
}

/** The student record a request is about: the caller's own, or someone else's. */
function subjectStudent(caller: Caller): string {
  return caller === "student (own)" ? studentA.studentId! : studentB.studentId!;
}

/** A fresh course created by the calling teacher (own) or by another teacher. */
function subjectCourse(caller: Caller): Promise<string> {
  return newCourse(caller === "teacher (own course)" ? teacherA : teacherB);
}

/**
 * The course a schedule request is about: one student A is enrolled in (own) or not (another's);
 * one teacher A teaches (own) or teacher B does (another's).
 */
async function scheduleCourse(caller: Caller): Promise<string> {
  if (caller === "student (own)") {
    const courseId = await newCourse(teacherA);
    await enroll(courseId, studentA.studentId!);
    return courseId;
  }
  if (caller === "student (another's)") return newCourse(teacherB);
  return subjectCourse(caller);
}

let lessonHours = 0;
/** A one-hour slot no other lesson of this suite uses. */
function freeSlot() {
  lessonHours += 1;
  const startsAt = new Date(Date.UTC(2028, 0, 3, 8) + lessonHours * 3600000 * 2);
  return {
    startsAt: startsAt.toISOString(),
    endsAt: new Date(startsAt.getTime() + 3600000).toISOString(),
  };
}

/** A lesson (no room, no teacher: it clashes with nothing) in the caller's schedule course. */
async function scheduleLesson(caller: Caller): Promise<{ id: string; courseId: string }> {
  const courseId = await scheduleCourse(caller);
  const result = await campus.request("POST", `/api/courses/${courseId}/lessons`, {
    token: admin.token,
    body: freeSlot(),
  });
  await expectStatus(result, 201, "create lesson");
  return { id: result.body.id, courseId };
}

/** A user account the request is about: the caller's own where that is the point, else another. */
async function subjectUser(caller: Caller, destructive: boolean): Promise<string> {
  if (caller === "admin" || caller === "anonymous") return newUser();
  if (caller === "student (own)" || caller === "teacher (own course)")
    return callerAccount(caller)!.userId;
  return destructive ? newUser() : (caller.startsWith("student") ? studentB : teacherB).userId;
}

interface Call {
  path: string;
  body?: unknown;
}

const QUIZ = {
  title: "Matrix quiz",
  questions: [{ type: "number", prompt: "1 + 1?", answer: 2 }],
};

/**
 * A quiz in the caller's subject course (the own teacher's, else another teacher's), taken by
 * student A for "student (own)" and by student B otherwise; published and with an attempt of
 * that student when asked.
 */
async function subjectQuiz(
  caller: Caller,
  { published = false, attempt = false } = {},
): Promise<{ courseId: string; quizId: string; attemptId: string }> {
  const courseId = await subjectCourse(caller);
  const taker = caller === "student (own)" ? studentA : studentB;
  await enroll(courseId, taker.studentId!);
  const quiz = await campus.request("POST", `/api/courses/${courseId}/quizzes`, {
    token: admin.token,
    body: QUIZ,
  });
  await expectStatus(quiz, 201, "create quiz");
  const quizId = quiz.body.id;
  let attemptId = "";
  if (published || attempt) {
    const result = await campus.request("POST", `/api/quizzes/${quizId}/publish`, {
      token: admin.token,
    });
    await expectStatus(result, 200, "publish quiz");
  }
  if (attempt) {
    const result = await campus.request("POST", `/api/quizzes/${quizId}/attempts`, {
      token: taker.token,
    });
    await expectStatus(result, 201, "start attempt");
    attemptId = result.body.id;
  }
  return { courseId, quizId, attemptId };
}

/** How each endpoint is called for a caller, with records arranged for it. */
const CALLS: Record<string, (caller: Caller) => Promise<Call>> = {
  "GET /health/live": async () => ({ path: "/health/live" }),
  "GET /health/ready": async () => ({ path: "/health/ready" }),
  "GET /openapi.json": async () => ({ path: "/openapi.json" }),
  "GET /docs": async () => ({ path: "/docs" }),
  "GET /docs/assets/:file": async () => ({ path: "/docs/assets/init.js" }),

  "POST /api/auth/register": async () => ({
    path: "/api/auth/register",
    body: {
      email: uniqueEmail("matrix"),
      password: STUDENT_PASSWORD,
      firstName: "Matrix",
      lastName: "Row",
    },
  }),
  "POST /api/auth/login": async (caller) => {
    const account = callerAccount(caller) ?? studentB;
    return {
      path: "/api/auth/login",
      body: { email: account.email, password: account.password },
    };
  },
  "GET /api/auth/me": async () => ({ path: "/api/auth/me" }),

  "GET /api/users": async () => ({ path: "/api/users" }),
  "POST /api/users": async () => ({
    path: "/api/users",
    body: { email: uniqueEmail("created"), password: "a-user-password-long", role: "admin" },
  }),
  "GET /api/users/:id": async (caller) => ({
    path: `/api/users/${await subjectUser(caller, false)}`,
  }),
  // The privilege escalation a student or teacher would try on their own account.
  "PATCH /api/users/:id": async (caller) => ({
    path: `/api/users/${await subjectUser(caller, false)}`,
    body: { role: "admin" },
  }),
  "DELETE /api/users/:id": async (caller) => ({
    path: `/api/users/${await subjectUser(caller, true)}`,
  }),

  "GET /api/students": async () => ({ path: "/api/students" }),
  "POST /api/students": async () => ({
    path: "/api/students",
    body: { firstName: "New", lastName: "Student", email: uniqueEmail("created") },
  }),
  "GET /api/students/:id": async (caller) => ({ path: `/api/students/${subjectStudent(caller)}` }),
  "PUT /api/students/:id": async (caller) => {
    const id = subjectStudent(caller);
    const { firstName, lastName, email } = await record(`/api/students/${id}`);
    return { path: `/api/students/${id}`, body: { firstName, lastName: `${lastName}`, email } };
  },
  "PATCH /api/students/:id": async (caller) => ({
    path: `/api/students/${subjectStudent(caller)}`,
    body: { firstName: "Renamed" },
  }),
  "DELETE /api/students/:id": async (caller) => ({
    path: `/api/students/${caller === "student (own)" ? studentA.studentId : await newStudent()}`,
  }),
  "GET /api/students/:id/courses": async (caller) => ({
    path: `/api/students/${subjectStudent(caller)}/courses`,
  }),
  "POST /api/students/:id/courses": async (caller) => ({
    path: `/api/students/${subjectStudent(caller)}/courses`,
    body: { courseId: await subjectCourse(caller) },
  }),
  "DELETE /api/students/:id/courses/:courseId": async (caller) => {
    const studentId = subjectStudent(caller);
    const courseId = await subjectCourse(caller);
    await enroll(courseId, studentId);
    return { path: `/api/students/${studentId}/courses/${courseId}` };
  },

  "GET /api/courses": async () => ({ path: "/api/courses" }),
  "POST /api/courses": async () => {
    codes += 1;
    return { path: "/api/courses", body: { code: `NEW-${codes}-${Date.now()}`, title: "New" } };
  },
  "GET /api/courses/:id": async (caller) => ({
    path: `/api/courses/${await subjectCourse(caller)}`,
  }),
  "PUT /api/courses/:id": async (caller) => {
    const id = await subjectCourse(caller);
    const { code, title } = await record(`/api/courses/${id}`);
    return { path: `/api/courses/${id}`, body: { code, title: `${title} (replaced)` } };
  },
  "PATCH /api/courses/:id": async (caller) => ({
    path: `/api/courses/${await subjectCourse(caller)}`,
    body: { title: "Patched" },
  }),
  "PUT /api/courses/:id/teachers": async (caller) => ({
    path: `/api/courses/${await subjectCourse(caller)}/teachers`,
    body: { teacherIds: [teacherA.userId, teacherB.userId] },
  }),
  "DELETE /api/courses/:id": async (caller) => ({
    path: `/api/courses/${await subjectCourse(caller)}`,
  }),
  "GET /api/courses/:id/students": async (caller) => ({
    path: `/api/courses/${await subjectCourse(caller)}/students`,
  }),
  "POST /api/courses/:id/students": async (caller) => ({
    path: `/api/courses/${await subjectCourse(caller)}/students`,
    body: { studentId: subjectStudent(caller) },
  }),
  "DELETE /api/courses/:id/students/:studentId": async (caller) => {
    const studentId = subjectStudent(caller);
    const courseId = await subjectCourse(caller);
    await enroll(courseId, studentId);
    return { path: `/api/courses/${courseId}/students/${studentId}` };
  },
  "GET /api/courses/:id/waitlist": async (caller) => ({
    path: `/api/courses/${await subjectCourse(caller)}/waitlist`,
  }),
  "POST /api/courses/:id/complete": async (caller) => ({
    path: `/api/courses/${await subjectCourse(caller)}/complete`,
  }),
  "GET /api/enrollments/:courseId/:studentId/history": async (caller) => {
    const studentId = subjectStudent(caller);
    const courseId = await subjectCourse(caller);
    await enroll(courseId, studentId);
    return { path: `/api/enrollments/${courseId}/${studentId}/history` };
  },

  "POST /api/courses/:id/quizzes": async (caller) => ({
    path: `/api/courses/${await subjectCourse(caller)}/quizzes`,
    body: QUIZ,
  }),
  "GET /api/courses/:id/quizzes": async (caller) => ({
    path: `/api/courses/${(await subjectQuiz(caller, { published: true })).courseId}/quizzes`,
  }),
  "GET /api/quizzes/:id": async (caller) => ({
    path: `/api/quizzes/${(await subjectQuiz(caller, { published: true })).quizId}`,
  }),
  "PATCH /api/quizzes/:id": async (caller) => ({
    path: `/api/quizzes/${(await subjectQuiz(caller)).quizId}`,
    body: { title: "Patched quiz" },
  }),
  "DELETE /api/quizzes/:id": async (caller) => ({
    path: `/api/quizzes/${(await subjectQuiz(caller)).quizId}`,
  }),
  "POST /api/quizzes/:id/publish": async (caller) => ({
    path: `/api/quizzes/${(await subjectQuiz(caller)).quizId}/publish`,
  }),
  "POST /api/quizzes/:id/attempts": async (caller) => ({
    path: `/api/quizzes/${(await subjectQuiz(caller, { published: true })).quizId}/attempts`,
  }),
  "POST /api/quizzes/:id/attempts/:attemptId/submit": async (caller) => {
    const { quizId, attemptId } = await subjectQuiz(caller, { attempt: true });
    return {
      path: `/api/quizzes/${quizId}/attempts/${attemptId}/submit`,
      body: { answers: [] },
    };
  },
  "GET /api/quizzes/:id/attempts": async (caller) => ({
    path: `/api/quizzes/${(await subjectQuiz(caller, { attempt: true })).quizId}/attempts`,
  }),
  "GET /api/quizzes/:id/attempts/:attemptId": async (caller) => {
    const { quizId, attemptId } = await subjectQuiz(caller, { attempt: true });
    return { path: `/api/quizzes/${quizId}/attempts/${attemptId}` };
  },

  "GET /api/notifications": async () => ({ path: "/api/notifications" }),
  "GET /api/notifications/unread-count": async () => ({ path: "/api/notifications/unread-count" }),
  "POST /api/notifications/:id/read": async (caller) => ({
    path: `/api/notifications/${caller === "student (own)" ? notificationOfA : notificationOfB}/read`,
  }),
  "POST /api/notifications/read-all": async () => ({ path: "/api/notifications/read-all" }),

  "GET /api/profiles/me": async () => ({ path: "/api/profiles/me" }),
  "PATCH /api/profiles/me": async () => ({ path: "/api/profiles/me", body: { bio: "Matrix" } }),
  "GET /api/profiles/:userId/achievements": async (caller) => ({
    path: `/api/profiles/${(caller === "student (own)" ? studentA : studentB).userId}/achievements`,
  }),

  "POST /api/courses/:id/lessons": async (caller) => ({
    path: `/api/courses/${await scheduleCourse(caller)}/lessons`,
    body: { ...freeSlot(), teacherId: null },
  }),
  "POST /api/courses/:id/lesson-series": async (caller) => {
    const slot = freeSlot();
    // Weekly from a slot this suite's single lessons (every two hours from 2028-01-03) pass by.
    const week = (iso: string) => iso.replace(/^2028-01/, "2029-01");
    return {
      path: `/api/courses/${await scheduleCourse(caller)}/lesson-series`,
      body: { startsAt: week(slot.startsAt), endsAt: week(slot.endsAt), weeks: 2, teacherId: null },
    };
  },
  "GET /api/courses/:id/schedule": async (caller) => ({
    path: `/api/courses/${await scheduleCourse(caller)}/schedule`,
  }),
  "GET /api/lessons/:id": async (caller) => ({
    path: `/api/lessons/${(await scheduleLesson(caller)).id}`,
  }),
  "PATCH /api/lessons/:id": async (caller) => ({
    path: `/api/lessons/${(await scheduleLesson(caller)).id}`,
    body: { title: "Patched lesson" },
  }),
  "DELETE /api/lessons/:id": async (caller) => ({
    path: `/api/lessons/${(await scheduleLesson(caller)).id}`,
  }),
  "PUT /api/lessons/:id/attendance": async (caller) => {
    const lesson = await scheduleLesson(caller);
    await enroll(lesson.courseId, studentB.studentId!);
    return {
      path: `/api/lessons/${lesson.id}/attendance`,
      body: { records: [{ studentId: studentB.studentId, status: "present" }] },
    };
  },
  "GET /api/lessons/:id/attendance": async (caller) => ({
    path: `/api/lessons/${(await scheduleLesson(caller)).id}/attendance`,
  }),
  "GET /api/students/:id/attendance": async (caller) => ({
    path: `/api/students/${subjectStudent(caller)}/attendance`,
  }),
  "GET /api/schedule/me": async () => ({ path: "/api/schedule/me" }),
  "POST /api/schedule/feed": async () => ({ path: "/api/schedule/feed" }),
  "GET /api/schedule/feed/:token": async () => {
    const created = await campus.request("POST", "/api/schedule/feed", { token: studentB.token });
    await expectStatus(created, 201, "create feed");
    return { path: new URL(created.body.url).pathname };
  },
  "POST /api/courses/:id/assignments": async (caller) => ({
    path: `/api/courses/${(await courseworkSubject(caller)).courseId}/assignments`,
    body: { title: "Matrix essay", dueAt: IN_A_WEEK(), maxPoints: 10, published: true },
  }),
  "GET /api/courses/:id/assignments": async (caller) => ({
    path: `/api/courses/${(await courseworkSubject(caller)).courseId}/assignments`,
  }),
  "GET /api/assignments/:id": async (caller) => ({
    path: `/api/assignments/${(await courseworkSubject(caller)).assignmentId}`,
  }),
  "PATCH /api/assignments/:id": async (caller) => ({
    path: `/api/assignments/${(await courseworkSubject(caller)).assignmentId}`,
    body: { title: "Patched" },
  }),
  "DELETE /api/assignments/:id": async (caller) => ({
    path: `/api/assignments/${(await courseworkSubject(caller)).assignmentId}`,
  }),
  "PUT /api/assignments/:id/submissions/me": async (caller) => ({
    path: `/api/assignments/${(await courseworkSubject(caller)).assignmentId}/submissions/me`,
    body: { body: "My answer" },
  }),
  "GET /api/assignments/:id/submissions": async (caller) => ({
    path: `/api/assignments/${(await courseworkSubject(caller)).assignmentId}/submissions`,
  }),
  "GET /api/assignments/:id/submissions/:studentId": async (caller) => {
    const { assignmentId } = await courseworkSubject(caller, true);
    return { path: `/api/assignments/${assignmentId}/submissions/${subjectStudent(caller)}` };
  },
  "POST /api/assignments/:id/submissions/:studentId/grade": async (caller) => {
    const { assignmentId } = await courseworkSubject(caller, true);
    return {
      path: `/api/assignments/${assignmentId}/submissions/${subjectStudent(caller)}/grade`,
      body: { points: 7 },
    };
  },
  "GET /api/courses/:id/gradebook": async (caller) => ({
    path: `/api/courses/${(await courseworkSubject(caller)).courseId}/gradebook`,
  }),
  "GET /api/students/:id/grades": async (caller) => ({
    path: `/api/students/${subjectStudent(caller)}/grades?courseId=${(await courseworkSubject(caller)).courseId}`,
  }),
  "PUT /api/courses/:id/grading": async (caller) => ({
    path: `/api/courses/${(await courseworkSubject(caller)).courseId}/grading`,
    body: { categories: [{ name: "assignments", weight: 100, dropLowest: 1 }] },
  }),
  "POST /api/reports": async (caller) => ({
    path: "/api/reports",
    body: await reportRequest(caller),
  }),
  "GET /api/reports": async () => ({ path: "/api/reports" }),
  "GET /api/reports/:id": async (caller) => ({
    path: `/api/reports/${await subjectReport(caller)}`,
  }),
  "GET /api/reports/:id/download": async (caller) => ({
    path: `/api/reports/${await subjectReport(caller)}/download`,
  }),
  "POST /api/reports/:id/regenerate": async (caller) => ({
    path: `/api/reports/${await subjectReport(caller)}/regenerate`,
  }),
};

/** What a caller asks for: their own progress (a student), their course's (a teacher), any (admin). */
async function reportRequest(caller: Caller) {
  if (caller.startsWith("student")) {
    return { type: "student_progress", format: "csv", studentId: subjectStudent(caller) };
  }
  return { type: "course_performance", format: "csv", courseId: await subjectCourse(caller) };
}

/**
 * A finished report asked for by the caller (own, and the admin's rows: student B's) or by
 * someone else: student B (another student's), teacher B (another teacher's).
 */
async function subjectReport(caller: Caller): Promise<string> {
  const requester: Account =
    caller === "student (own)"
      ? studentA
      : caller === "teacher (own course)"
        ? teacherA
        : caller === "teacher (another's course)"
          ? teacherB
          : studentB;
  const body = requester.studentId
    ? { type: "student_progress", format: "csv" }
    : { type: "course_performance", format: "csv", courseId: await newCourse(requester) };
  const requested = await campus.request("POST", "/api/reports", { token: requester.token, body });
  await expectStatus(requested, 202, "request report");
  await eventually(async () => {
    const report = await campus.request("GET", `/api/reports/${requested.body.id}`, {
      token: admin.token,
    });
    if (report.body.status !== "succeeded") throw new Error(`report ${report.body.status}`);
  }, 20000);
  return requested.body.id as string;
}

const IN_A_WEEK = () => new Date(Date.now() + 7 * 24 * 60 * 60 * 1000).toISOString();

/**
 * A course for a coursework row: taught by teacher A (another teacher's course: by teacher B),
 * with student B enrolled and student A too unless the row is about another's course; and a
 * published assignment. With `submitted`, the row's subject student has turned it in.
 */
async function courseworkSubject(caller: Caller, submitted = false) {
  const courseId = await newCourse(caller === "teacher (another's course)" ? teacherB : teacherA);
  await enroll(courseId, studentB.studentId!);
  if (caller !== "student (another's)") await enroll(courseId, studentA.studentId!);
  const assignment = await campus.request("POST", `/api/courses/${courseId}/assignments`, {
    token: admin.token,
    body: { title: "Matrix", dueAt: IN_A_WEEK(), maxPoints: 10, published: true },
  });
  await expectStatus(assignment, 201, "create assignment");
  if (submitted) {
    const author = caller === "student (own)" ? studentA : studentB;
    await expectStatus(
      await campus.request("PUT", `/api/assignments/${assignment.body.id}/submissions/me`, {
        token: author.token,
        body: { body: "Work" },
      }),
      200,
      "submit",
    );
  }
  return { courseId, assignmentId: assignment.body.id as string };
}

async function firstNotification(account: Account): Promise<string> {
  let id = "";
  await eventually(async () => {
    const page = await campus.request("GET", "/api/notifications", { token: account.token });
    if (page.body?.rows?.length !== 1) throw new Error(`no notification yet: ${page.text}`);
    id = page.body.rows[0].id;
  }, 10000);
  return id;
}

beforeAll(async () => {
  campus = await startCampus();
  admin = await login(ADMIN.email, ADMIN.password);
  [studentA, studentB, teacherA, teacherB] = await Promise.all([
    newStudentAccount(),
    newStudentAccount(),
    newTeacher(),
    newTeacher(),
  ]);
  // The welcome notification each registration produces.
  [notificationOfA, notificationOfB] = await Promise.all([
    firstNotification(studentA),
    firstNotification(studentB),
  ]);
});
afterAll(() => campus.stop());

const ROWS = MATRIX.flatMap(([endpoint, ...outcomes]) =>
  CALLERS.map((caller, index) => [endpoint, caller, outcomes[index]] as const),
);

it("has one outcome per caller on every row", () => {
  expect(MATRIX.filter((row) => row.length !== CALLERS.length + 1)).toEqual([]);
});

it.each(ROWS)("%s as %s answers %s", async (endpoint, caller, outcome) => {
  const [method] = endpoint.split(" ");
  const call = await CALLS[endpoint](caller);
  const result = await campus.request(method, call.path, {
    token: callerAccount(caller)?.token,
    body: call.body,
  });

  if (outcome === ok) {
    const success = result.status >= 200 && result.status < 300;
    expect({ success, answer: `${result.status} ${result.text.slice(0, 300)}` }).toEqual({
      success: true,
      answer: expect.any(String),
    });
  } else {
    expect({ status: result.status, body: result.body }).toEqual({
      status: outcome,
      body: errorBody(outcome, ERROR_TYPES[outcome]),
    });
  }
});

describe("coverage", () => {
  function gatewayRoutes(): string[] {
    const aliases = (
      campus.broker.getLocalService("api") as unknown as {
        aliases: { method: string; fullPath: string }[];
      }
    ).aliases;
    return aliases.map((alias) => `${alias.method} ${alias.fullPath}`).sort();
  }

  it("has a row for every route the gateway serves, and no row for a route it does not serve", () => {
    expect(MATRIX.map(([endpoint]) => endpoint).sort()).toEqual(gatewayRoutes());
  });

  it("has a row for every operation of the published OpenAPI document under /api", async () => {
    const document = await campus.request("GET", "/openapi.json");
    const operations = Object.entries(
      document.body.paths as Record<string, Record<string, unknown>>,
    ).flatMap(([path, item]) =>
      Object.keys(item)
        .filter((method) => ["get", "post", "put", "patch", "delete"].includes(method))
        .map((method) => `${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ":$1")}`),
    );

    expect(
      MATRIX.map(([endpoint]) => endpoint)
        .filter((endpoint) => endpoint.includes(" /api/"))
        .sort(),
    ).toEqual(operations.filter((operation) => operation.includes(" /api/")).sort());
  });

  it("knows how to call every endpoint of the table", () => {
    expect(MATRIX.map(([endpoint]) => endpoint).filter((endpoint) => !CALLS[endpoint])).toEqual([]);
  });
});
