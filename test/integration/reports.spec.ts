/**
 * Reports over HTTP: requested (202), made by the worker from the queue, polled, downloaded, and
 * each format read back by an independent reader (pdf-parse for PDF, SheetJS for XLSX, csv-parse
 * for CSV); who may ask, see and download; the per-user limit; expiry; a worker's expired claim
 * taken over by the sweep; failures told to the requester.
 */
import { parse } from "csv-parse/sync";
import { PDFParse } from "pdf-parse";
import type { Sequelize } from "sequelize";
import * as XLSX from "xlsx";
import {
  createTeacher,
  errorBody,
  eventually,
  markers,
  registerStudent,
  startCampus,
  UNKNOWN_ID,
  UUID,
  type Campus,
} from "../helpers/campus";

let campus: Campus;
let admin: string;
let teacher: string;
let otherTeacher: string;
let alice: Awaited<ReturnType<typeof registerStudent>>;
let bob: Awaited<ReturnType<typeof registerStudent>>;
let courseId: string;
let courseCode: string;
let db: Sequelize;

const marker = markers("r");

async function json(method: string, path: string, token: string, body?: unknown) {
  return campus.request(method, path, { token, body });
}

/** Requests a report and waits until its worker finished it (succeeded or failed). */
async function made(token: string, body: Record<string, unknown>) {
  const requested = await json("POST", "/api/reports", token, body);
  expect(requested.status).toBe(202);
  return finished(requested.body.id, token);
}

async function finished(id: string, token: string) {
  return eventually(async () => {
    const report = await json("GET", `/api/reports/${id}`, token);
    if (!["succeeded", "failed"].includes(report.body.status)) {
      throw new Error(`report still ${report.body.status}`);
    }
    return report.body;
  }, 20000);
}

async function download(id: string, token: string) {
  const response = await fetch(`${campus.baseUrl}/api/reports/${id}/download`, {
    headers: { authorization: `Bearer ${token}` },
  });
  return { response, bytes: Buffer.from(await response.arrayBuffer()) };
}

beforeAll(async () => {
  campus = await startCampus({ REPORTS_SWEEP_SECONDS: "1", REPORTS_LEASE_SECONDS: "2" });
  db = (campus.broker.getLocalService("reports") as unknown as { sequelize: Sequelize }).sequelize;
  admin = await campus.adminToken();
  [teacher, otherTeacher, alice, bob] = await Promise.all([
    createTeacher(campus),
    createTeacher(campus),
    registerStudent(campus, { firstName: "Alice", lastName: "Ashdown" }),
    registerStudent(campus, { firstName: "Bob", lastName: "Brightwater" }),
  ]);
  courseCode = marker();
  const course = await json("POST", "/api/courses", teacher, {
    code: courseCode,
    title: "Reported course",
  });
  courseId = course.body.id;
  for (const student of [alice, bob]) {
    const enrolled = await json("POST", `/api/courses/${courseId}/students`, admin, {
      studentId: student.studentId,
    });
    expect(enrolled.status).toBe(201);
  }
  // One graded assignment (Alice 8 of 10), two lessons with attendance.
  const assignment = await json("POST", `/api/courses/${courseId}/assignments`, teacher, {
    title: "=Essay",
    dueAt: new Date(Date.now() + 7 * 86400000).toISOString(),
    maxPoints: 10,
    published: true,
  });
  expect(assignment.status).toBe(201);
  await campus.request("PUT", `/api/assignments/${assignment.body.id}/submissions/me`, {
    token: alice.token,
    body: { body: "My essay" },
  });
  const graded = await json(
    "POST",
    `/api/assignments/${assignment.body.id}/submissions/${alice.studentId}/grade`,
    teacher,
    { points: 8 },
  );
  expect(graded.status).toBe(200);
  for (const [index, date] of ["2027-03-01", "2027-03-02"].entries()) {
    const lesson = await json("POST", `/api/courses/${courseId}/lessons`, teacher, {
      title: index === 0 ? "=HYPERLINK(1)" : "Second lesson",
      startsAt: `${date}T09:00:00Z`,
      endsAt: `${date}T10:00:00Z`,
    });
    expect(lesson.status).toBe(201);
    const recorded = await json("PUT", `/api/lessons/${lesson.body.id}/attendance`, teacher, {
      records: [
        { studentId: alice.studentId, status: "present" },
        { studentId: bob.studentId, status: index === 0 ? "absent" : "late" },
      ],
    });
    expect(recorded.status).toBe(200);
  }
  await eventually(async () => {
    const book = await json("GET", `/api/courses/${courseId}/gradebook`, teacher);
    const row = book.body.rows?.find((r: { studentId: string }) => r.studentId === alice.studentId);
    if (row?.percent !== 80) throw new Error(`gradebook not there yet: ${book.text}`);
  }, 10000);
}, 120000);
afterAll(() => campus.stop());

describe("POST /api/reports and the worker", () => {
  it("answers 202 queued with its Location at once, then the worker makes the report", async () => {
    const requested = await json("POST", "/api/reports", teacher, {
      type: "course_performance",
      format: "csv",
      courseId,
    });

    expect(requested.status).toBe(202);
    expect(requested.headers.get("location")).toBe(`/api/reports/${requested.body.id}`);
    expect(requested.body).toEqual({
      id: expect.stringMatching(UUID),
      type: "course_performance",
      format: "csv",
      courseId,
      studentId: null,
      status: expect.stringMatching(/^(queued|running|succeeded)$/),
      progress: expect.any(Number),
      error: null,
      createdAt: expect.any(String),
      finishedAt: null,
      size: null,
    });
    const report = await finished(requested.body.id, teacher);
    expect(report).toMatchObject({ status: "succeeded", progress: 100, error: null });
    expect(report.size).toBeGreaterThan(0);
  });

  it("a course_performance PDF: title page, students table and grade distribution (read by pdf-parse)", async () => {
    const report = await made(teacher, { type: "course_performance", format: "pdf", courseId });
    const { response, bytes } = await download(report.id, teacher);

    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/pdf");
    expect(response.headers.get("content-disposition")).toMatch(
      new RegExp(
        `^attachment; filename="course-performance-${courseCode}-\\d{4}-\\d{2}-\\d{2}\\.pdf"$`,
      ),
    );
    expect(bytes.length).toBe(report.size);
    const parser = new PDFParse({ data: new Uint8Array(bytes) });
    const { text, total } = await parser.getText();
    await parser.destroy();
    expect(total).toBeGreaterThanOrEqual(4); // title, chart, students, items
    expect(text).toContain(`Course performance: ${courseCode}`);
    expect(text).toContain("Reported course");
    expect(text).toContain("Grade distribution");
    expect(text).toMatch(/Ashdown, Alice[\s\S]*80%/);
    expect(text).toContain("Brightwater, Bob");
    expect(text).toContain("=Essay");
  });

  it("a course_performance XLSX: a sheet per section, header row, frozen panes, numbers as numbers (read by SheetJS)", async () => {
    const report = await made(teacher, { type: "course_performance", format: "xlsx", courseId });
    const { response, bytes } = await download(report.id, teacher);

    expect(response.headers.get("content-type")).toBe(
      "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    );
    const workbook = XLSX.read(bytes, { type: "buffer" });
    expect(workbook.SheetNames).toEqual(["Students", "Items"]);
    const students = XLSX.utils.sheet_to_json<Record<string, unknown>>(workbook.Sheets.Students);
    expect(students).toEqual([
      expect.objectContaining({
        Student: "Ashdown, Alice",
        Percent: 80,
        Grade: "4",
        Attendance: 100,
        Present: 2,
        Absent: 0,
      }),
      expect.objectContaining({ Student: "Brightwater, Bob", Present: 0, Late: 1, Absent: 1 }),
    ]);
    expect(workbook.Sheets.Students.C2).toMatchObject({ t: "n", v: 80 });
    const items = XLSX.utils.sheet_to_json<Record<string, unknown>>(workbook.Sheets.Items);
    expect(items).toEqual([
      { Item: "=Essay", Category: "assignments", "Max points": 10, Graded: 1, "Average points": 8 },
    ]);
    // SheetJS does not read panes: the sheet's XML says the header row is frozen.
    const zip = XLSX.CFB.read(bytes, { type: "buffer" });
    const sheetXml = XLSX.CFB.find(zip, "/xl/worksheets/sheet1.xml")!.content.toString();
    expect(sheetXml).toMatch(/<pane [^>]*ySplit="1"[^>]*state="frozen"/);
  });

  it("an attendance CSV: RFC 4180 with a BOM and CRLF, one row per lesson and student, formulas neutralised (read by csv-parse)", async () => {
    const report = await made(teacher, { type: "attendance", format: "csv", courseId });
    const { response, bytes } = await download(report.id, teacher);

    expect(response.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    expect(bytes.subarray(0, 3)).toEqual(Buffer.from([0xef, 0xbb, 0xbf]));
    expect(bytes.toString()).toContain("\r\n");
    const rows: string[][] = parse(bytes, { bom: true });
    expect(rows).toEqual([
      ["Lesson start", "Lesson", "Student", "Status"],
      ["2027-03-01T09:00:00.000Z", "'=HYPERLINK(1)", "Ashdown, Alice", "present"],
      ["2027-03-01T09:00:00.000Z", "'=HYPERLINK(1)", "Brightwater, Bob", "absent"],
      ["2027-03-02T09:00:00.000Z", "Second lesson", "Ashdown, Alice", "present"],
      ["2027-03-02T09:00:00.000Z", "Second lesson", "Brightwater, Bob", "late"],
    ]);
  });

  it("a student's own student_progress XLSX: dates as dates, percent as a number", async () => {
    const report = await made(alice.token, { type: "student_progress", format: "xlsx" });
    expect(report).toMatchObject({ status: "succeeded", studentId: alice.studentId });
    const { bytes } = await download(report.id, alice.token);

    const workbook = XLSX.read(bytes, { type: "buffer", cellDates: true });
    expect(workbook.SheetNames).toEqual(["Courses", "Submissions"]);
    const courses = XLSX.utils.sheet_to_json<Record<string, unknown>>(workbook.Sheets.Courses);
    expect(courses).toEqual([
      expect.objectContaining({
        Course: courseCode,
        Status: "active",
        Percent: 80,
        Submitted: 1,
        Assignments: 1,
      }),
    ]);
    const [submission] = XLSX.utils.sheet_to_json<Record<string, unknown>>(
      workbook.Sheets.Submissions,
    );
    expect(submission.Due).toBeInstanceOf(Date);
    expect(submission).toMatchObject({ Assignment: "=Essay", State: "graded", Points: 8 });
  });

  it("completion is pushed as a notification to who asked", async () => {
    const report = await made(bob.token, { type: "student_progress", format: "csv" });
    const notice = await eventually(async () => {
      const list = await json("GET", "/api/notifications", bob.token);
      const found = list.body.rows.find(
        (n: { data: { reportId?: string } }) => n.data.reportId === report.id,
      );
      if (!found) throw new Error("no notification yet");
      return found;
    }, 10000);
    expect(notice).toMatchObject({ type: "report_ready", title: expect.stringContaining("CSV") });
  });
});

describe("bad requests and access", () => {
  it.each([
    ["an unknown type", { type: "grades", format: "pdf" }, "type"],
    ["an unknown format", { type: "attendance", format: "docx" }, "format"],
    ["a course report without a course", { type: "attendance", format: "csv" }, "courseId"],
  ])("%s is a 422 naming the field", async (_name, body, field) => {
    const result = await json("POST", "/api/reports", teacher, body);
    expect(result.status).toBe(422);
    expect(result.body.type).toBe("VALIDATION_ERROR");
    expect(result.body.data.map((e: { field: string }) => e.field)).toContain(field);
  });

  it("a course the caller does not teach, or a student asking for a course report: 403", async () => {
    const body = { type: "course_performance", format: "pdf", courseId };
    const [other, student] = await Promise.all([
      json("POST", "/api/reports", otherTeacher, body),
      json("POST", "/api/reports", alice.token, body),
    ]);
    expect([other.status, student.status]).toEqual([403, 403]);
    expect(other.body).toEqual(errorBody(403, "FORBIDDEN"));
  });

  it("a student's report only for that student or staff; an unknown course or student 404", async () => {
    const [foreign, staff, unknownCourse, unknownStudent] = await Promise.all([
      json("POST", "/api/reports", alice.token, {
        type: "student_progress",
        format: "csv",
        studentId: bob.studentId,
      }),
      json("POST", "/api/reports", otherTeacher, {
        type: "student_progress",
        format: "csv",
        studentId: bob.studentId,
      }),
      json("POST", "/api/reports", admin, {
        type: "attendance",
        format: "csv",
        courseId: UNKNOWN_ID,
      }),
      json("POST", "/api/reports", admin, {
        type: "student_progress",
        format: "csv",
        studentId: UNKNOWN_ID,
      }),
    ]);
    expect([foreign.status, staff.status, unknownCourse.status, unknownStudent.status]).toEqual([
      403, 202, 404, 404,
    ]);
  });

  it("only who asked and admins see, list and download a report", async () => {
    const report = await made(teacher, { type: "attendance", format: "pdf", courseId });
    const [own, byAdmin, byOther, downloadByOther, byStudent] = await Promise.all([
      json("GET", `/api/reports/${report.id}`, teacher),
      json("GET", `/api/reports/${report.id}`, admin),
      json("GET", `/api/reports/${report.id}`, otherTeacher),
      download(report.id, otherTeacher),
      json("GET", `/api/reports/${report.id}`, alice.token),
    ]);
    expect([own.status, byAdmin.status, byOther.status, downloadByOther.response.status]).toEqual([
      200, 200, 403, 403,
    ]);
    expect(byStudent.status).toBe(403);

    const [mine, all, others] = await Promise.all([
      json("GET", "/api/reports?pageSize=100", teacher),
      json("GET", "/api/reports?pageSize=100", admin),
      json("GET", "/api/reports?pageSize=100", otherTeacher),
    ]);
    expect(mine.body.rows.map((r: { id: string }) => r.id)).toContain(report.id);
    expect(all.body.rows.map((r: { id: string }) => r.id)).toContain(report.id);
    expect(all.body.total).toBeGreaterThan(mine.body.total);
    expect(others.body.rows.map((r: { id: string }) => r.id)).not.toContain(report.id);
    expect((await json("GET", `/api/reports/${UNKNOWN_ID}`, admin)).status).toBe(404);
  });

  it("a sixth queued or running report of one user is 429; others are not held up", async () => {
    const teacherId = (await json("GET", "/api/auth/me", otherTeacher)).body.id;
    const ids: string[] = [];
    // Five jobs that stay queued: written as a request would, without a queue message.
    for (let i = 0; i < 5; i += 1) {
      const [row] = await db.query<{ id: string }>(
        `INSERT INTO reports.jobs (id, requested_by, requester, type, format, student_id)
         VALUES (gen_random_uuid(), :userId, CAST(:requester AS jsonb), 'student_progress', 'csv', :studentId)
         RETURNING id`,
        {
          replacements: {
            userId: teacherId,
            requester: JSON.stringify({ id: teacherId, role: "teacher", studentId: null }),
            studentId: bob.studentId,
          },
          type: "SELECT" as never,
        },
      );
      ids.push(row.id);
    }
    const body = { type: "student_progress", format: "csv", studentId: bob.studentId };
    const [refused, other] = await Promise.all([
      json("POST", "/api/reports", otherTeacher, body),
      json("POST", "/api/reports", teacher, body),
    ]);
    await db.query(`DELETE FROM reports.jobs WHERE id IN (:ids)`, { replacements: { ids } });

    expect(refused.status).toBe(429);
    expect(refused.body).toEqual(errorBody(429, "TOO_MANY_REQUESTS"));
    expect(refused.body.message).toMatch(/At most 5 reports/);
    expect(refused.headers.get("retry-after")).toBe("10");
    expect(other.status).toBe(202);
  });
});

describe("download states, regenerate, expiry", () => {
  it("not ready: 409 REPORT_NOT_READY; older than 7 days: 410 REPORT_EXPIRED and the file swept", async () => {
    const report = await made(teacher, { type: "attendance", format: "csv", courseId });
    await db.query(`UPDATE reports.jobs SET status = 'running' WHERE id = :id`, {
      replacements: { id: report.id },
    });
    const notReady = await download(report.id, teacher);
    await db.query(
      `UPDATE reports.jobs SET status = 'succeeded', finished_at = now() - interval '8 days'
       WHERE id = :id`,
      { replacements: { id: report.id } },
    );
    const expired = await download(report.id, teacher);

    expect(notReady.response.status).toBe(409);
    expect(JSON.parse(notReady.bytes.toString())).toEqual(errorBody(409, "REPORT_NOT_READY"));
    expect(expired.response.status).toBe(410);
    expect(JSON.parse(expired.bytes.toString())).toEqual(errorBody(410, "REPORT_EXPIRED"));
    await eventually(async () => {
      const [file] = await db.query(`SELECT 1 FROM reports.files WHERE job_id = :id`, {
        replacements: { id: report.id },
        type: "SELECT" as never,
      });
      if (file) throw new Error("file still kept");
    }, 10000);
  });

  it("regenerate: 202 and made again; while queued or running 409", async () => {
    const report = await made(teacher, { type: "course_performance", format: "csv", courseId });
    const again = await json("POST", `/api/reports/${report.id}/regenerate`, teacher);
    expect(again.status).toBe(202);
    expect(again.headers.get("location")).toBe(`/api/reports/${report.id}`);
    expect(again.body).toMatchObject({ id: report.id, finishedAt: null });
    const byOther = await json("POST", `/api/reports/${report.id}/regenerate`, otherTeacher);
    expect(byOther.status).toBe(403);
    expect((await finished(report.id, teacher)).status).toBe("succeeded");

    await db.query(`UPDATE reports.jobs SET status = 'queued' WHERE id = :id`, {
      replacements: { id: report.id },
    });
    const busy = await json("POST", `/api/reports/${report.id}/regenerate`, admin);
    expect(busy.status).toBe(409);
    expect(busy.body).toEqual(errorBody(409, "REPORT_IN_PROGRESS"));
    await db.query(`UPDATE reports.jobs SET status = 'succeeded' WHERE id = :id`, {
      replacements: { id: report.id },
    });
  });
});

describe("a job whose worker died, and failures", () => {
  async function strandedJob(attempt: number): Promise<string> {
    const teacherId = (await json("GET", "/api/auth/me", teacher)).body.id;
    const [row] = await db.query<{ id: string }>(
      `INSERT INTO reports.jobs (id, requested_by, requester, type, format, course_id, status,
         attempt, worker, lease_until, started_at)
       VALUES (gen_random_uuid(), :userId, CAST(:requester AS jsonb), 'attendance', 'csv',
         :courseId, 'running', :attempt, 'a-node-that-died', now() - interval '1 second', now())
       RETURNING id`,
      {
        replacements: {
          userId: teacherId,
          requester: JSON.stringify({ id: teacherId, role: "teacher", studentId: null }),
          courseId,
          attempt,
        },
        type: "SELECT" as never,
      },
    );
    return row.id;
  }

  it("a running job whose lease expired is requeued by the sweep and made by the next claim", async () => {
    const id = await strandedJob(1);
    const report = await finished(id, teacher);
    expect(report.status).toBe("succeeded");
    const [row] = await db.query<{ attempt: number; worker: string }>(
      `SELECT attempt, worker FROM reports.jobs WHERE id = :id`,
      { replacements: { id }, type: "SELECT" as never },
    );
    expect(row.attempt).toBe(2);
    expect(row.worker).toBe(campus.broker.nodeID);
  });

  it("a job left queued without its message (lost) gets a new one from the sweep and is made", async () => {
    const id = await strandedJob(0);
    await db.query(
      `UPDATE reports.jobs SET status = 'queued', worker = NULL, lease_until = NULL,
         queued_at = now() - interval '1 hour' WHERE id = :id`,
      { replacements: { id } },
    );
    const report = await finished(id, teacher);
    expect(report.status).toBe("succeeded");
  });

  it("after its last attempt it is failed with a reason, never left running", async () => {
    const id = await strandedJob(3);
    const report = await finished(id, teacher);
    expect(report).toMatchObject({
      status: "failed",
      error: "The workers making it stopped 3 times",
    });
    const { response } = await download(id, teacher);
    expect(response.status).toBe(409);
  });

  it("a report its data refuses (the course is gone) fails with the reason and tells who asked", async () => {
    const doomed = await json("POST", "/api/courses", teacher, { code: marker(), title: "Doomed" });
    const requested = await json("POST", "/api/reports", teacher, {
      type: "attendance",
      format: "csv",
      courseId: doomed.body.id,
    });
    expect(requested.status).toBe(202);
    // The course may go before the worker gets there; if the worker was first, ask again.
    await json("DELETE", `/api/courses/${doomed.body.id}`, admin);
    await finished(requested.body.id, teacher);
    await db.query(`UPDATE reports.jobs SET status = 'queued', attempt = 0 WHERE id = :id`, {
      replacements: { id: requested.body.id },
    });
    await (
      campus.broker as unknown as { sendToChannel(name: string, payload: object): Promise<void> }
    ).sendToChannel("report.requested", { reportId: requested.body.id });
    const report = await finished(requested.body.id, teacher);
    expect(report).toMatchObject({ status: "failed", error: "Course not found" });
    await eventually(async () => {
      const list = await json("GET", "/api/notifications", teacher);
      const found = list.body.rows.find(
        (n: { type: string; data: { reportId?: string } }) =>
          n.type === "report_failed" && n.data.reportId === requested.body.id,
      );
      if (!found) throw new Error("no failure notification yet");
    }, 10000);
  });
});
