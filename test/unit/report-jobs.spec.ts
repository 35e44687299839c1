/**
 * The reports service's rules (who may ask, subject, bound, expiry, progress), its documents
 * and its files, each file read back by an independent reader (pdf-parse, SheetJS, csv-parse).
 */
import { parse } from "csv-parse/sync";
import { PDFParse } from "pdf-parse";
import * as XLSX from "xlsx";
import type { Identity } from "../../lib/permissions";
import {
  attendanceDocument,
  coursePerformanceDocument,
  studentProgressDocument,
  type Person,
} from "../../services/reports/report-documents";
import { reportCsv, reportPdf, reportXlsx } from "../../services/reports/report-files";
import {
  assertRowBound,
  cellText,
  estimatedRows,
  gradeDistribution,
  isExpired,
  MAX_REPORT_ROWS,
  mayRequestStudentReport,
  maySeeReport,
  progressStep,
  reportFileName,
  reportSubject,
  rowProgress,
  type ReportDocument,
} from "../../services/reports/reports";

const STUDENT_ID = "11111111-1111-4111-8111-111111111111";
const OTHER_ID = "22222222-2222-4222-8222-222222222222";
const COURSE_ID = "33333333-3333-4333-8333-333333333333";
const student: Identity = { id: "u-student", role: "student", studentId: STUDENT_ID };
const teacher: Identity = { id: "u-teacher", role: "teacher", studentId: null };
const admin: Identity = { id: "u-admin", role: "admin", studentId: null };
const AT = new Date("2026-12-05T10:30:00Z");

describe("what a report request is about", () => {
  it("a student's own progress report needs no studentId", () => {
    expect(reportSubject({ type: "student_progress", format: "pdf" }, student)).toEqual({
      courseId: null,
      studentId: STUDENT_ID,
    });
  });

  it("staff must name the student; course reports must name the course (422 fields)", () => {
    expect(reportSubject({ type: "student_progress", format: "csv" }, teacher)).toEqual([
      { field: "studentId", message: "is required for a student report", type: "required" },
    ]);
    expect(reportSubject({ type: "attendance", format: "csv" }, teacher)).toEqual([
      { field: "courseId", message: "is required for a course report", type: "required" },
    ]);
    expect(
      reportSubject({ type: "course_performance", format: "xlsx", courseId: COURSE_ID }, teacher),
    ).toEqual({ courseId: COURSE_ID, studentId: null });
  });
});

describe("who may ask and see", () => {
  it("a student report: that student or staff", () => {
    expect(mayRequestStudentReport(student, STUDENT_ID)).toBe(true);
    expect(mayRequestStudentReport(student, OTHER_ID)).toBe(false);
    expect(mayRequestStudentReport(teacher, OTHER_ID)).toBe(true);
    expect(mayRequestStudentReport(admin, OTHER_ID)).toBe(true);
  });

  it("a report: who asked, and admins", () => {
    expect(maySeeReport(teacher, "u-teacher")).toBe(true);
    expect(maySeeReport(admin, "u-teacher")).toBe(true);
    expect(maySeeReport(student, "u-teacher")).toBe(false);
  });
});

describe("bounds, expiry, progress, names", () => {
  it("counts a course report's rows per student, an attendance report's per lesson and student", () => {
    expect(estimatedRows("course_performance", 30, 12)).toBe(30);
    expect(estimatedRows("attendance", 30, 12)).toBe(360);
  });

  it("refuses more than 10,000 rows with 422 REPORT_TOO_LARGE", () => {
    expect(() => assertRowBound(MAX_REPORT_ROWS)).not.toThrow();
    expect(() => assertRowBound(MAX_REPORT_ROWS + 1)).toThrow(
      expect.objectContaining({ code: 422, type: "REPORT_TOO_LARGE" }),
    );
  });

  it("a file expires 7 days after the report was made", () => {
    const finished = new Date("2026-12-01T00:00:00Z");
    expect(isExpired(finished, new Date("2026-12-08T00:00:00Z"))).toBe(false);
    expect(isExpired(finished, new Date("2026-12-08T00:00:01Z"))).toBe(true);
    expect(isExpired(null, new Date("2030-01-01T00:00:00Z"))).toBe(false);
  });

  it("reports progress every 5 % of the rows, between 10 and 90", () => {
    expect(progressStep(10)).toBe(1);
    expect(progressStep(1000)).toBe(50);
    expect([rowProgress(0, 200), rowProgress(100, 200), rowProgress(200, 200)]).toEqual([
      10, 50, 90,
    ]);
  });

  it("names the file with only safe characters", () => {
    expect(reportFileName("course_performance", 'MA "101"/x', "pdf", AT)).toBe(
      "course-performance-MA_101_x-2026-12-05.pdf",
    );
  });

  it("writes cells as text for the PDF", () => {
    expect(cellText(null, "text")).toBe("");
    expect(cellText(80.5, "percent")).toBe("80.5%");
    expect(cellText(3, "number")).toBe("3");
    expect(cellText(AT, "date")).toBe("2026-12-05 10:30");
  });

  it("orders the grade distribution best first, students without a grade last", () => {
    expect(
      gradeDistribution([
        { grade: 3, percent: 62 },
        { grade: 5, percent: 95 },
        { grade: null, percent: null },
        { grade: 3, percent: 70 },
      ]),
    ).toEqual([
      { label: "5", value: 1 },
      { label: "3", value: 2 },
      { label: "none", value: 1 },
    ]);
  });
});

const people = (...list: Person[]) => new Map(list.map((p) => [p.id, p]));
const ann: Person = { id: "s-ann", firstName: "Ann", lastName: "Zed", email: "ann@x.test" };
const ben: Person = { id: "s-ben", firstName: "Ben", lastName: "Young", email: "=cmd@x.test" };

function performance(rows: number): ReportDocument {
  const ids = Array.from({ length: rows }, (_, i) => `s-${i}`);
  return coursePerformanceDocument(
    {
      course: { code: "MA101", title: "Calculus" },
      items: [{ id: "i1", source: "assignment", title: "Essay", category: "hw", maxPoints: 10 }],
      rows: ids.map((studentId, i) => ({
        studentId,
        scores: { i1: i % 10 },
        percent: (i % 10) * 10,
        grade: i % 10 >= 9 ? 5 : 2,
      })),
      students: people(
        ...ids.map((id, i) => ({
          id,
          firstName: `First${i}`,
          lastName: `Last${String(i).padStart(3, "0")}`,
          email: `${id}@x.test`,
        })),
      ),
      attendance: new Map(),
    },
    AT,
  );
}

describe("the documents", () => {
  it("course performance: students by name with percent, grade and attendance; items with averages", () => {
    const document = coursePerformanceDocument(
      {
        course: { code: "MA101", title: "Calculus" },
        items: [{ id: "i1", source: "assignment", title: "Essay", category: "hw", maxPoints: 10 }],
        rows: [
          { studentId: "s-ann", scores: { i1: 9 }, percent: 90, grade: 5 },
          { studentId: "s-ben", scores: { i1: null }, percent: null, grade: null },
        ],
        students: people(ann, ben),
        attendance: new Map([
          ["s-ann", { present: 3, late: 1, absent: 0, excused: 0, rate: 1 }],
          ["s-ben", { present: 1, late: 0, absent: 2, excused: 1, rate: 0.3333 }],
        ]),
      },
      AT,
    );
    expect(document.sections[0].rows).toEqual([
      ["Young, Ben", "=cmd@x.test", null, null, 33.33, 1, 0, 2, 1],
      ["Zed, Ann", "ann@x.test", 90, "5", 100, 3, 1, 0, 0],
    ]);
    expect(document.sections[1].rows).toEqual([["Essay", "hw", 10, 1, 9]]);
    expect(document.chart).toEqual({
      title: "Grade distribution",
      caption: 'Students per grade ("none": no grade yet)',
      bars: [
        { label: "5", value: 1 },
        { label: "none", value: 1 },
      ],
    });
  });

  it("attendance: every lesson × roster student, unrecorded ones said so", () => {
    const document = attendanceDocument(
      {
        course: { code: "MA101", title: "Calculus" },
        lessons: [
          { id: "l2", title: "Later", startsAt: new Date("2027-01-02T09:00:00Z"), cancelled: true },
          {
            id: "l1",
            title: "First",
            startsAt: new Date("2027-01-01T09:00:00Z"),
            cancelled: false,
          },
        ],
        studentIds: ["s-ann", "s-ben"],
        students: people(ann, ben),
        records: new Map([["l1/s-ann", "late"]]),
      },
      AT,
    );
    expect(document.sections[0].rows.map((row) => row.slice(1))).toEqual([
      ["First", "Young, Ben", "not recorded"],
      ["First", "Zed, Ann", "late"],
      ["Later", "Young, Ben", "not recorded"],
      ["Later", "Zed, Ann", "not recorded"],
    ]);
    expect(document.sections[1].rows.map((row) => row.slice(1))).toEqual([
      ["First", 0, 1, 0, 0, 1],
      ["Later (cancelled)", 0, 0, 0, 0, 2],
    ]);
  });

  it("student progress: per course percent, attendance and submissions; missing work said so", () => {
    const document = studentProgressDocument(
      {
        student: ann,
        courses: [{ courseId: "c1", code: "MA101", title: "Calculus", status: "active" }],
        standings: new Map([["c1", { percent: 75.456, grade: 4 }]]),
        attendance: new Map([["c1", { present: 1, late: 0, absent: 1, excused: 0, rate: 0.5 }]]),
        submissions: [
          {
            courseId: "c1",
            title: "Essay",
            dueAt: new Date("2027-01-01T00:00:00Z"),
            maxPoints: 10,
            submittedAt: null,
            state: null,
            finalPoints: null,
          },
        ],
      },
      AT,
    );
    expect(document.sections[0].rows).toEqual([
      ["MA101", "Calculus", "active", 75.46, "4", 50, 1, 0, 1],
    ]);
    expect(document.sections[1].rows[0].slice(4)).toEqual(["missing", null, 10]);
  });
});

describe("the files, read back by other readers", () => {
  it("CSV: the main table, formula-like text neutralised (csv-parse)", () => {
    const document = coursePerformanceDocument(
      {
        course: { code: "MA101", title: "Calculus" },
        items: [],
        rows: [{ studentId: "s-ben", scores: {}, percent: 50, grade: 2 }],
        students: people(ben),
        attendance: new Map(),
      },
      AT,
    );
    const rows: string[][] = parse(reportCsv(document), { bom: true });
    expect(rows).toEqual([
      [
        "Student",
        "Email",
        "Percent",
        "Grade",
        "Attendance",
        "Present",
        "Late",
        "Absent",
        "Excused",
      ],
      ["Young, Ben", "'=cmd@x.test", "50", "2", "", "0", "0", "0", "0"],
    ]);
  });

  it("XLSX: typed cells, a sheet per section (SheetJS)", async () => {
    const workbook = XLSX.read(await reportXlsx(performance(3)), { type: "buffer" });
    expect(workbook.SheetNames).toEqual(["Students", "Items"]);
    expect(workbook.Sheets.Students.A1.v).toBe("Student");
    expect(workbook.Sheets.Students.C3).toMatchObject({ t: "n", v: 10 });
  });

  it("PDF: a title page, the chart, and a table that breaks across pages with its header repeated (pdf-parse)", async () => {
    const parser = new PDFParse({ data: new Uint8Array(await reportPdf(performance(120))) });
    const { pages } = await parser.getText();
    await parser.destroy();
    expect(pages[0].text).toContain("Course performance: MA101");
    expect(pages[0].text).toContain("Students: 120 rows");
    expect(pages[1].text).toContain("Grade distribution");
    const tablePages = pages.filter((page) => page.text.includes("Last"));
    expect(tablePages.length).toBeGreaterThanOrEqual(3);
    for (const page of tablePages) expect(page.text).toMatch(/Student\s+Email\s+Percent/);
    expect(pages.map((page) => page.text).join("\n")).toContain("Last119");
  });
});
