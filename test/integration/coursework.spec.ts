/**
 * Assignments, submissions, grading and the gradebook over HTTP, on one in-process Campus: every
 * endpoint with its roles, the late policy, bad input, grades flowing to the gradebook as durable
 * events (idempotently), the student's notification, the CSV export, and a completed course's final
 * percent and grade taken from the real gradebook.
 */
import { randomUUID } from "crypto";
import { Context, type Service } from "moleculer";
import {
  createTeacher,
  errorBody,
  eventually,
  fieldError,
  ISO_TIME,
  markers,
  registerStudent,
  startCampus,
  UNKNOWN_ID,
  type Campus,
} from "../helpers/campus";

let campus: Campus;
let admin: string;
let teacher: string;
let otherTeacher: string;
let alice: Awaited<ReturnType<typeof registerStudent>>;
let bob: Awaited<ReturnType<typeof registerStudent>>;
let outsider: Awaited<ReturnType<typeof registerStudent>>;

const marker = markers("cw");
const DAY = 24 * 60 * 60 * 1000;

beforeAll(async () => {
  campus = await startCampus();
  admin = await campus.adminToken();
  [teacher, otherTeacher, alice, bob, outsider] = await Promise.all([
    createTeacher(campus),
    createTeacher(campus),
    registerStudent(campus),
    registerStudent(campus),
    registerStudent(campus),
  ]);
});
afterAll(() => campus.stop());

/** A course taught by `teacher` with alice and bob enrolled. */
async function newCourse(): Promise<string> {
  const created = await campus.request("POST", "/api/courses", {
    token: teacher,
    body: { code: marker(), title: "Coursework" },
  });
  expect(created.status).toBe(201);
  for (const student of [alice, bob]) {
    const enrolled = await campus.request("POST", `/api/courses/${created.body.id}/students`, {
      token: admin,
      body: { studentId: student.studentId },
    });
    expect(enrolled.status).toBe(201);
  }
  return created.body.id;
}

function inDays(days: number): string {
  return new Date(Date.now() + days * DAY).toISOString();
}

async function newAssignment(courseId: string, fields: Record<string, unknown> = {}) {
  const result = await campus.request("POST", `/api/courses/${courseId}/assignments`, {
    token: teacher,
    body: { title: "Essay", dueAt: inDays(7), maxPoints: 10, published: true, ...fields },
  });
  expect(result.status).toBe(201);
  return result.body;
}

function submit(assignmentId: string, token: string, body: unknown = { body: "My answer" }) {
  return campus.request("PUT", `/api/assignments/${assignmentId}/submissions/me`, { token, body });
}

function grade(assignmentId: string, studentId: string, body: unknown, token = teacher) {
  return campus.request("POST", `/api/assignments/${assignmentId}/submissions/${studentId}/grade`, {
    token,
    body,
  });
}

async function gradebookWhen(courseId: string, ready: (body: any) => boolean) {
  return eventually(async () => {
    const result = await campus.request("GET", `/api/courses/${courseId}/gradebook`, {
      token: teacher,
    });
    expect(result.status).toBe(200);
    if (!ready(result.body)) throw new Error(`gradebook not there yet: ${result.text}`);
    return result.body;
  }, 10000);
}

describe("assignments", () => {
  it("creates an assignment with its defaults and answers it in UTC", async () => {
    const courseId = await newCourse();

    const result = await campus.request("POST", `/api/courses/${courseId}/assignments`, {
      token: teacher,
      body: { title: "  Essay 1  ", dueAt: "2030-01-15T12:00:00+02:00", maxPoints: 20 },
    });

    expect(result.status).toBe(201);
    expect(result.headers.get("location")).toBe(`/api/assignments/${result.body.id}`);
    expect(result.body).toEqual({
      id: expect.any(String),
      courseId,
      title: "Essay 1",
      description: "",
      dueAt: "2030-01-15T10:00:00.000Z",
      maxPoints: 20,
      category: "assignments",
      published: false,
      latePenaltyPercentPerDay: 0,
      lateDaysAllowed: 0,
      createdAt: expect.stringMatching(ISO_TIME),
      updatedAt: expect.stringMatching(ISO_TIME),
    });
  });

  it.each([
    ["an unparseable due date", { dueAt: "next friday" }, "dueAt"],
    ["a due date without an offset", { dueAt: "2030-01-15T12:00:00" }, "dueAt"],
    ["a due date that is not in the calendar", { dueAt: "2030-02-30T12:00:00Z" }, "dueAt"],
    ["maxPoints 0", { maxPoints: 0 }, "maxPoints"],
    ["a negative late penalty", { latePenaltyPercentPerDay: -5 }, "latePenaltyPercentPerDay"],
    ["31 late days", { lateDaysAllowed: 31 }, "lateDaysAllowed"],
    ["an empty title", { title: "   " }, "title"],
  ])("refuses %s with 422 naming the field", async (_what, fields, field) => {
    const courseId = await newCourse();

    const result = await campus.request("POST", `/api/courses/${courseId}/assignments`, {
      token: teacher,
      body: { title: "Essay", dueAt: inDays(3), maxPoints: 10, ...fields },
    });

    expect(result.status).toBe(422);
    expect(result.body).toEqual(errorBody(422, "VALIDATION_ERROR", [fieldError(field)]));
    const list = await campus.request("GET", `/api/courses/${courseId}/assignments`, {
      token: teacher,
    });
    expect(list.body.total).toBe(0);
  });

  it("refuses a teacher of another course (403) and an unknown course (404)", async () => {
    const courseId = await newCourse();
    const body = { title: "Essay", dueAt: inDays(3), maxPoints: 10 };

    const foreign = await campus.request("POST", `/api/courses/${courseId}/assignments`, {
      token: otherTeacher,
      body,
    });
    const unknown = await campus.request("POST", `/api/courses/${UNKNOWN_ID}/assignments`, {
      token: teacher,
      body,
    });

    expect(foreign.status).toBe(403);
    expect(unknown.status).toBe(404);
  });

  it("shows staff every assignment and enrolled students only the published ones", async () => {
    const courseId = await newCourse();
    const published = await newAssignment(courseId, { title: "Published" });
    const draft = await newAssignment(courseId, { title: "Draft", published: false });

    const staffList = await campus.request("GET", `/api/courses/${courseId}/assignments`, {
      token: teacher,
    });
    const studentList = await campus.request("GET", `/api/courses/${courseId}/assignments`, {
      token: alice.token,
    });
    const outsiderList = await campus.request("GET", `/api/courses/${courseId}/assignments`, {
      token: outsider.token,
    });
    const draftAsStudent = await campus.request("GET", `/api/assignments/${draft.id}`, {
      token: alice.token,
    });

    expect(staffList.body.rows.map((row: any) => row.id).sort()).toEqual(
      [published.id, draft.id].sort(),
    );
    expect(studentList.body).toEqual({
      rows: [published],
      total: 1,
      page: 1,
      pageSize: 20,
      totalPages: 1,
    });
    expect(outsiderList.status).toBe(403);
    expect(draftAsStudent.status).toBe(404);
  });

  it("changes and deletes an assignment (course staff only)", async () => {
    const courseId = await newCourse();
    const assignment = await newAssignment(courseId);

    const byOther = await campus.request("PATCH", `/api/assignments/${assignment.id}`, {
      token: otherTeacher,
      body: { title: "Hijacked" },
    });
    const patched = await campus.request("PATCH", `/api/assignments/${assignment.id}`, {
      token: teacher,
      body: { title: "Essay (revised)", dueAt: "2031-06-01T00:00:00Z" },
    });
    const badDate = await campus.request("PATCH", `/api/assignments/${assignment.id}`, {
      token: teacher,
      body: { dueAt: "31/12/2030" },
    });
    const removed = await campus.request("DELETE", `/api/assignments/${assignment.id}`, {
      token: teacher,
    });
    const gone = await campus.request("GET", `/api/assignments/${assignment.id}`, {
      token: teacher,
    });

    expect(byOther.status).toBe(403);
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({
      title: "Essay (revised)",
      dueAt: "2031-06-01T00:00:00.000Z",
    });
    expect(badDate.status).toBe(422);
    expect(removed.status).toBe(204);
    expect(gone.status).toBe(404);
  });
});

describe("a deleted course", () => {
  it("takes its assignments and its gradebook with it", async () => {
    const courseId = await newCourse();
    const assignment = await newAssignment(courseId);
    await submit(assignment.id, alice.token);
    await grade(assignment.id, alice.studentId, { points: 5 });
    await gradebookWhen(courseId, (gb) => gb.items.length === 1);

    const removed = await campus.request("DELETE", `/api/courses/${courseId}`, { token: admin });

    expect(removed.status).toBe(204);
    await eventually(async () => {
      const gone = await campus.request("GET", `/api/assignments/${assignment.id}`, {
        token: admin,
      });
      expect(gone.status).toBe(404);
      const grades = await campus.request("GET", `/api/students/${alice.studentId}/grades`, {
        token: admin,
      });
      expect(grades.body.courses.map((c: any) => c.courseId)).not.toContain(courseId);
    }, 10000);
  });
});

describe("submissions", () => {
  it("takes and replaces an enrolled student's submission before it is graded", async () => {
    const courseId = await newCourse();
    const assignment = await newAssignment(courseId);

    const first = await submit(assignment.id, alice.token, { body: "First try" });
    const second = await submit(assignment.id, alice.token, { body: "Second try" });
    const seen = await campus.request(
      "GET",
      `/api/assignments/${assignment.id}/submissions/${alice.studentId}`,
      { token: teacher },
    );

    expect(first.status).toBe(200);
    expect(second.body).toEqual({
      assignmentId: assignment.id,
      studentId: alice.studentId,
      body: "Second try",
      state: "turned_in",
      submittedAt: expect.stringMatching(ISO_TIME),
      late: false,
      daysLate: 0,
      points: null,
      penaltyPoints: 0,
      finalPoints: null,
      feedback: null,
      gradedAt: null,
    });
    expect(seen.body).toEqual(second.body);
  });

  it("refuses a student not enrolled (403), a draft (404) and a teacher (403)", async () => {
    const courseId = await newCourse();
    const assignment = await newAssignment(courseId);
    const draft = await newAssignment(courseId, { published: false });

    expect((await submit(assignment.id, outsider.token)).status).toBe(403);
    expect((await submit(draft.id, alice.token)).status).toBe(404);
    expect((await submit(assignment.id, teacher)).status).toBe(403);
  });

  it("refuses an empty body (422) and a body over 100 KB (413), writing nothing", async () => {
    const courseId = await newCourse();
    const assignment = await newAssignment(courseId);

    const empty = await submit(assignment.id, alice.token, { body: "" });
    const huge = await submit(assignment.id, alice.token, { body: "x".repeat(101 * 1024) });
    const stored = await campus.request(
      "GET",
      `/api/assignments/${assignment.id}/submissions/${alice.studentId}`,
      { token: alice.token },
    );

    expect(empty.status).toBe(422);
    expect(huge.status).toBe(413);
    expect(stored.status).toBe(404);
  });

  it("takes a late submission within the window, marked with the days late rounded up", async () => {
    const courseId = await newCourse();
    const assignment = await newAssignment(courseId, {
      dueAt: inDays(-1.5),
      lateDaysAllowed: 3,
      latePenaltyPercentPerDay: 10,
    });

    const result = await submit(assignment.id, alice.token);

    expect(result.status).toBe(200);
    expect(result.body).toMatchObject({ late: true, daysLate: 2 });
  });

  it("closes after the late window: 409 SUBMISSION_CLOSED", async () => {
    const courseId = await newCourse();
    const assignment = await newAssignment(courseId, { dueAt: inDays(-2.5), lateDaysAllowed: 2 });

    const result = await submit(assignment.id, alice.token);

    expect(result.status).toBe(409);
    expect(result.body).toEqual(errorBody(409, "SUBMISSION_CLOSED"));
  });

  it("lets a student read their own submission but not another's", async () => {
    const courseId = await newCourse();
    const assignment = await newAssignment(courseId);
    await submit(assignment.id, bob.token);

    const others = await campus.request(
      "GET",
      `/api/assignments/${assignment.id}/submissions/${bob.studentId}`,
      { token: alice.token },
    );
    const list = await campus.request("GET", `/api/assignments/${assignment.id}/submissions`, {
      token: alice.token,
    });

    expect(others.status).toBe(403);
    expect(list.status).toBe(403);
  });
});

describe("grading", () => {
  it("applies the late penalty, closes the submission and tells the student", async () => {
    const courseId = await newCourse();
    const assignment = await newAssignment(courseId, {
      title: "Late lab",
      dueAt: inDays(-1.5),
      lateDaysAllowed: 3,
      latePenaltyPercentPerDay: 10,
      maxPoints: 7,
    });
    await submit(assignment.id, alice.token);

    const graded = await grade(assignment.id, alice.studentId, { points: 6, feedback: "Good" });
    const resubmit = await submit(assignment.id, alice.token, { body: "Changed my mind" });

    expect(graded.status).toBe(200);
    expect(graded.body).toMatchObject({
      state: "graded",
      daysLate: 2,
      points: 6,
      penaltyPoints: 1.4,
      finalPoints: 4.6,
      feedback: "Good",
      gradedAt: expect.stringMatching(ISO_TIME),
    });
    expect(resubmit.status).toBe(409);
    expect(resubmit.body.type).toBe("SUBMISSION_CLOSED");
    await eventually(async () => {
      const page = await campus.request("GET", "/api/notifications?pageSize=100", {
        token: alice.token,
      });
      const graded = page.body.rows.filter(
        (row: any) => row.type === "graded" && row.data.itemId === assignment.id,
      );
      expect(graded).toEqual([
        expect.objectContaining({
          title: "Graded: Late lab",
          body: expect.stringContaining("4.6 of 7"),
        }),
      ]);
    }, 10000);
  });

  it.each([
    ["points over maxPoints", { points: 11 }, 422],
    ["negative points", { points: -1 }, 422],
    ["points as text", { points: "ten" }, 422],
  ])("refuses %s", async (_what, body, status) => {
    const courseId = await newCourse();
    const assignment = await newAssignment(courseId);
    await submit(assignment.id, alice.token);

    const result = await grade(assignment.id, alice.studentId, body);

    expect(result.status).toBe(status);
    expect(result.body).toEqual(errorBody(422, "VALIDATION_ERROR", [fieldError("points")]));
  });

  it("refuses to grade a student who did not submit: 409 NOT_SUBMITTED", async () => {
    const courseId = await newCourse();
    const assignment = await newAssignment(courseId);

    const result = await grade(assignment.id, bob.studentId, { points: 0 });

    expect(result.status).toBe(409);
    expect(result.body).toEqual(errorBody(409, "NOT_SUBMITTED"));
  });

  it("refuses a teacher of another course", async () => {
    const courseId = await newCourse();
    const assignment = await newAssignment(courseId);
    await submit(assignment.id, alice.token);

    const result = await grade(assignment.id, alice.studentId, { points: 5 }, otherTeacher);

    expect(result.status).toBe(403);
  });
});

describe("gradebook", () => {
  it("shows each enrolled student's final points, percent and default-scale grade", async () => {
    const courseId = await newCourse();
    const essay = await newAssignment(courseId, { title: "Essay", maxPoints: 10 });
    const quizLike = await newAssignment(courseId, {
      title: "Lab",
      maxPoints: 20,
      category: "labs",
    });
    for (const id of [essay.id, quizLike.id]) await submit(id, alice.token);
    await grade(essay.id, alice.studentId, { points: 9 });
    await grade(quizLike.id, alice.studentId, { points: 14 });

    const body = await gradebookWhen(courseId, (gb) => gb.items.length === 2);

    expect(body.items).toEqual([
      {
        id: essay.id,
        source: "assignment",
        title: "Essay",
        category: "assignments",
        maxPoints: 10,
      },
      { id: quizLike.id, source: "assignment", title: "Lab", category: "labs", maxPoints: 20 },
    ]);
    const rows = Object.fromEntries(body.rows.map((row: any) => [row.studentId, row]));
    // Two categories of equal weight without a policy: (90 + 70) / 2 = 80 → 4.
    expect(rows[alice.studentId]).toEqual({
      studentId: alice.studentId,
      scores: { [essay.id]: 9, [quizLike.id]: 14 },
      percent: 80,
      grade: 4,
    });
    expect(rows[bob.studentId]).toEqual({
      studentId: bob.studentId,
      scores: { [essay.id]: null, [quizLike.id]: null },
      percent: null,
      grade: null,
    });
  });

  it("weighs categories by the course's policy, drops the lowest and uses a custom scale", async () => {
    const courseId = await newCourse();
    const policy = await campus.request("PUT", `/api/courses/${courseId}/grading`, {
      token: teacher,
      body: {
        categories: [
          { name: "homework", weight: 40, dropLowest: 1 },
          { name: "exams", weight: 60 },
          { name: "bonus", weight: 0 },
        ],
        scale: [
          { grade: "A", minPercent: 90 },
          { grade: "B", minPercent: 70 },
          { grade: "F", minPercent: 0 },
        ],
      },
    });
    expect(policy.status).toBe(200);
    const hw1 = await newAssignment(courseId, { title: "HW1", category: "homework" });
    const hw2 = await newAssignment(courseId, { title: "HW2", category: "homework" });
    const bonus = await newAssignment(courseId, { title: "Bonus", category: "bonus" });
    for (const id of [hw1.id, hw2.id, bonus.id]) await submit(id, alice.token);
    await grade(hw1.id, alice.studentId, { points: 2 });
    await grade(hw2.id, alice.studentId, { points: 9 });
    await grade(bonus.id, alice.studentId, { points: 0 });

    const body = await gradebookWhen(courseId, (gb) =>
      gb.rows.some((row: any) => row.studentId === alice.studentId && row.scores[bonus.id] === 0),
    );

    // Homework keeps its best (90 %); exams has no graded item and bonus weighs 0: 90 → A.
    const row = body.rows.find((r: any) => r.studentId === alice.studentId);
    expect(row).toMatchObject({ percent: 90, grade: "A" });
  });

  it("refuses a policy that leaves out a category the course's assignments use", async () => {
    const courseId = await newCourse();
    await newAssignment(courseId, { category: "labs" });

    const result = await campus.request("PUT", `/api/courses/${courseId}/grading`, {
      token: teacher,
      body: { categories: [{ name: "homework", weight: 1 }] },
    });

    expect(result.status).toBe(422);
    expect(result.body).toEqual(errorBody(422, "VALIDATION_ERROR", [fieldError("categories")]));
  });

  it("refuses an assignment in a category the policy does not name, and a policy that cannot grade", async () => {
    const courseId = await newCourse();
    const policy = await campus.request("PUT", `/api/courses/${courseId}/grading`, {
      token: teacher,
      body: { categories: [{ name: "homework", weight: 1 }] },
    });
    const unknown = await campus.request("POST", `/api/courses/${courseId}/assignments`, {
      token: teacher,
      body: { title: "X", dueAt: inDays(2), maxPoints: 5, category: "projects" },
    });
    const badPolicy = await campus.request("PUT", `/api/courses/${courseId}/grading`, {
      token: teacher,
      body: {
        categories: [
          { name: "homework", weight: 0 },
          { name: "Homework", weight: 0 },
        ],
        scale: [{ grade: 5, minPercent: 50 }],
      },
    });

    expect(policy.status).toBe(200);
    expect(unknown.status).toBe(422);
    expect(unknown.body).toEqual(errorBody(422, "VALIDATION_ERROR", [fieldError("category")]));
    expect(badPolicy.status).toBe(422);
    expect(badPolicy.body.data.map((item: any) => item.field).sort()).toEqual(
      ["categories", "categories[1].name", "scale"].sort(),
    );
  });

  it("exports CSV a spreadsheet opens safely: BOM, CRLF, RFC 4180 quoting, no formulas", async () => {
    const courseId = await newCourse();
    const title = '=HYPERLINK("http://evil.example","click"), part 2';
    const assignment = await newAssignment(courseId, { title });
    await submit(assignment.id, alice.token);
    await grade(assignment.id, alice.studentId, { points: 7.5 });
    await gradebookWhen(courseId, (gb) => gb.items.length === 1);

    // Raw bytes: a text decoder would hide the byte order mark.
    const response = await fetch(`${campus.baseUrl}/api/courses/${courseId}/gradebook`, {
      headers: { authorization: `Bearer ${teacher}`, accept: "text/csv" },
    });
    const bytes = Buffer.from(await response.arrayBuffer());
    const text = bytes.toString("utf8");

    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    expect(response.headers.get("content-disposition")).toMatch(/^attachment; filename=".+\.csv"$/);
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    expect(text.endsWith("\r\n")).toBe(true);
    expect(text.replace(/\r\n/g, "").includes("\n")).toBe(false);
    const rows = parseCsv(text.slice(1));
    expect(rows[0]).toEqual(["studentId", `'${title} (assignments, /10)`, "percent", "grade"]);
    const byStudent = Object.fromEntries(rows.slice(1).map((row) => [row[0], row.slice(1)]));
    expect(byStudent[alice.studentId]).toEqual(["7.5", "75", "4"]);
    expect(byStudent[bob.studentId]).toEqual(["", "", ""]);
  });

  it("keeps exactly one grade per item and student whatever is replayed", async () => {
    const courseId = await newCourse();
    const assignment = await newAssignment(courseId, { maxPoints: 10 });
    await submit(assignment.id, alice.token);
    const graded = await grade(assignment.id, alice.studentId, { points: 8 });
    await gradebookWhen(courseId, (gb) => gb.items.length === 1);
    const event = {
      courseId,
      studentId: alice.studentId,
      itemId: assignment.id,
      source: "assignment",
      title: "Essay",
      category: "assignments",
      maxPoints: 10,
      points: 3,
      recordedAt: graded.body.gradedAt,
      eventId: randomUUID(),
      notify: false,
    };

    // A duplicate of what is stored, and an older grade arriving late: neither changes anything.
    await deliver("grade.recorded", event);
    await deliver("grade.recorded", {
      ...event,
      recordedAt: new Date(Date.parse(graded.body.gradedAt) - 60_000).toISOString(),
    });
    const after = await campus.request(
      "GET",
      `/api/students/${alice.studentId}/grades?courseId=${courseId}`,
      {
        token: alice.token,
      },
    );

    expect(after.status).toBe(200);
    expect(after.body.courses).toEqual([
      {
        courseId,
        items: [expect.objectContaining({ id: assignment.id, points: 8 })],
        percent: 80,
        grade: 4,
      },
    ]);
  });

  it("drops a deleted assignment from the gradebook", async () => {
    const courseId = await newCourse();
    const assignment = await newAssignment(courseId);
    await submit(assignment.id, alice.token);
    await grade(assignment.id, alice.studentId, { points: 5 });
    await gradebookWhen(courseId, (gb) => gb.items.length === 1);

    await campus.request("DELETE", `/api/assignments/${assignment.id}`, { token: teacher });

    const body = await gradebookWhen(courseId, (gb) => gb.items.length === 0);
    expect(body.rows.every((row: any) => row.percent === null)).toBe(true);
  });

  it("shows a student their own grades only, and a teacher only their courses'", async () => {
    const courseId = await newCourse();
    const assignment = await newAssignment(courseId);
    await submit(assignment.id, alice.token);
    await grade(assignment.id, alice.studentId, { points: 10 });
    await gradebookWhen(courseId, (gb) => gb.items.length === 1);

    const own = await campus.request("GET", `/api/students/${alice.studentId}/grades`, {
      token: alice.token,
    });
    const others = await campus.request("GET", `/api/students/${alice.studentId}/grades`, {
      token: bob.token,
    });
    const foreignTeacher = await campus.request(
      "GET",
      `/api/students/${alice.studentId}/grades?courseId=${courseId}`,
      { token: otherTeacher },
    );
    const foreignTeacherAll = await campus.request(
      "GET",
      `/api/students/${alice.studentId}/grades`,
      {
        token: otherTeacher,
      },
    );
    const gradebookOfOther = await campus.request("GET", `/api/courses/${courseId}/gradebook`, {
      token: otherTeacher,
    });

    expect(own.status).toBe(200);
    expect(own.body.courses).toContainEqual(
      expect.objectContaining({ courseId, percent: 100, grade: 5 }),
    );
    expect(others.status).toBe(403);
    expect(foreignTeacher.status).toBe(403);
    expect(foreignTeacherAll.body).toEqual({ courses: [] });
    expect(gradebookOfOther.status).toBe(403);
  });
});

/** Hands one event to the gradebook's consumer directly, as a redelivery would. */
function deliver(channel: string, payload: Record<string, unknown>) {
  const service = campus.broker.getLocalService("gradebook") as Service & {
    emitLocalChannelHandler(name: string, ctx: Context): Promise<void>;
  };
  return service.emitLocalChannelHandler(
    channel,
    Context.create(campus.broker, null as never, payload),
  );
}

/** RFC 4180: fields separated by commas, records by CRLF, quoted fields with doubled quotes. */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i += 1) {
    const char = text[i];
    if (quoted) {
      if (char === '"' && text[i + 1] === '"') {
        field += '"';
        i += 1;
      } else if (char === '"') quoted = false;
      else field += char;
    } else if (char === '"') quoted = true;
    else if (char === ",") {
      record.push(field);
      field = "";
    } else if (char === "\r" && text[i + 1] === "\n") {
      record.push(field);
      records.push(record);
      record = [];
      field = "";
      i += 1;
    } else field += char;
  }
  if (field !== "" || record.length > 0) records.push([...record, field]);
  return records;
}

describe("completing a course", () => {
  it("records each active student's final gradebook percent and grade on the enrollment", async () => {
    const courseId = await newCourse();
    const essay = await newAssignment(courseId, { maxPoints: 10 });
    await submit(essay.id, alice.token);
    expect((await grade(essay.id, alice.studentId, { points: 9 })).status).toBe(200);
    await gradebookWhen(courseId, (gb) =>
      gb.rows.some((row: any) => row.studentId === alice.studentId && row.percent === 90),
    );

    const done = await campus.request("POST", `/api/courses/${courseId}/complete`, {
      token: teacher,
    });
    expect(done.status).toBe(200);
    expect(done.body).toEqual({ completed: 2, waitlistDropped: 0 });

    const resultOf = async (studentId: string) => {
      const courses = await campus.request(
        "GET",
        `/api/students/${studentId}/courses?status=completed`,
        { token: admin },
      );
      expect(courses.status).toBe(200);
      return courses.body.rows.find((row: any) => row.id === courseId);
    };
    // alice: 9 of 10 → 90 % → 5 on the default scale; bob has no graded item → no result.
    expect(await resultOf(alice.studentId)).toMatchObject({
      status: "completed",
      finalPercent: 90,
      finalGrade: "5",
    });
    expect(await resultOf(bob.studentId)).toMatchObject({
      status: "completed",
      finalPercent: null,
      finalGrade: null,
    });
    const history = await campus.request(
      "GET",
      `/api/enrollments/${courseId}/${alice.studentId}/history`,
      { token: alice.token },
    );
    expect(history.status).toBe(200);
    expect(history.body.rows.at(-1)).toMatchObject({ from: "active", to: "completed" });
  });
});
