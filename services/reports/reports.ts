/**
 * Reports: the rules of a report request (what may be asked, by whom, how big), the life of a
 * job (lease, attempts, expiry) and the document every format is written from. The service
 * wires these to the database, the queue and the other services.
 */
import { unprocessable, type FieldError } from "../../lib/errors";
import { isStaff, isThatStudent, type Identity } from "../../lib/permissions";

export const REPORT_TYPES = ["course_performance", "student_progress", "attendance"] as const;
export type ReportType = (typeof REPORT_TYPES)[number];
export const REPORT_FORMATS = ["pdf", "xlsx", "csv"] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];
export const REPORT_STATUSES = ["queued", "running", "succeeded", "failed"] as const;
export type ReportStatus = (typeof REPORT_STATUSES)[number];

/** Queued or running jobs one user may have at once: one user's burst cannot starve the others. */
export const MAX_ACTIVE_JOBS_PER_USER = 5;
/** Table rows a report may hold (every section together); a bigger one is refused (422). */
export const MAX_REPORT_ROWS = 10_000;
/** A finished report's file is kept this long, then deleted; its download answers 410. */
export const REPORT_RETENTION_DAYS = 7;
/** Claims of one job (the first and those after a worker died or a service was unavailable). */
export const MAX_ATTEMPTS = 3;

export const CONTENT_TYPES: Record<ReportFormat, string> = {
  pdf: "application/pdf",
  xlsx: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
  csv: "text/csv; charset=utf-8",
};

export interface ReportRequest {
  type: ReportType;
  format: ReportFormat;
  courseId?: string;
  studentId?: string;
}

/** The subject a report is about, once the request is checked: a course or a student. */
export type ReportSubject =
  { courseId: string; studentId: null } | { courseId: null; studentId: string };

/**
 * What the request is about, or the field errors (422): course reports need `courseId`, a
 * student report `studentId` — a student asking for their own may leave it out.
 */
export function reportSubject(
  request: ReportRequest,
  caller: Identity,
): ReportSubject | FieldError[] {
  if (request.type === "student_progress") {
    const studentId = (request.studentId ?? caller.studentId ?? "").toLowerCase();
    if (!studentId) {
      return [
        { field: "studentId", message: "is required for a student report", type: "required" },
      ];
    }
    return { courseId: null, studentId };
  }
  if (!request.courseId) {
    return [{ field: "courseId", message: "is required for a course report", type: "required" }];
  }
  return { courseId: request.courseId.toLowerCase(), studentId: null };
}

/** A student report: the student themself or staff (course reports: the course's staff, asked of courses). */
export function mayRequestStudentReport(caller: Identity, studentId: string): boolean {
  return isStaff(caller) || isThatStudent(caller, studentId);
}

/** Who may see, download or regenerate a report: who asked, and admins. */
export function maySeeReport(caller: Identity, requestedBy: string): boolean {
  return caller.role === "admin" || caller.id === requestedBy;
}

export function isExpired(finishedAt: Date | null, now: Date = new Date()): boolean {
  return (
    finishedAt !== null &&
    now.getTime() - finishedAt.getTime() > REPORT_RETENTION_DAYS * 24 * 60 * 60 * 1000
  );
}

/** Rows of a course report before it is made: per student, or per lesson and student. */
export function estimatedRows(type: ReportType, students: number, lessons: number): number {
  return type === "attendance" ? students * lessons : students;
}

/** 422 REPORT_TOO_LARGE over the bound: reports are made whole, in memory, not streamed. */
export function assertRowBound(rows: number): void {
  if (rows > MAX_REPORT_ROWS) {
    throw unprocessable(
      `This report would have ${rows} rows; at most ${MAX_REPORT_ROWS} are made`,
      "REPORT_TOO_LARGE",
    );
  }
}

/** `course-performance-MATH101-2026-12-05.pdf`: only safe characters in a header. */
export function reportFileName(
  type: ReportType,
  subject: string,
  format: ReportFormat,
  at: Date,
): string {
  const safe = (text: string) => text.replace(/[^A-Za-z0-9_.-]+/g, "_").slice(0, 60);
  return `${type.replace(/_/g, "-")}-${safe(subject)}-${at.toISOString().slice(0, 10)}.${format}`;
}

// ---- The document every format is written from ----

export type CellKind = "text" | "number" | "percent" | "date";
export type Cell = string | number | Date | null;

export interface ReportColumn {
  header: string;
  kind: CellKind;
  /** Relative width in the PDF's tables. */
  width: number;
}

export interface ReportSection {
  name: string;
  columns: ReportColumn[];
  rows: Cell[][];
}

export interface ReportChart {
  title: string;
  /** What the bars count, under the chart. */
  caption: string;
  bars: { label: string; value: number }[];
}

export interface ReportDocument {
  title: string;
  subtitle: string;
  generatedAt: Date;
  /** The first section is the report's main table (the CSV file holds it). */
  sections: ReportSection[];
  chart: ReportChart | null;
}

export function rowCount(document: Pick<ReportDocument, "sections">): number {
  return document.sections.reduce((sum, section) => sum + section.rows.length, 0);
}

/** How a cell reads in a PDF table: numbers as they are, percents with `%`, dates as YYYY-MM-DD hh:mm. */
export function cellText(cell: Cell, kind: CellKind): string {
  if (cell === null) return "";
  if (cell instanceof Date) return cell.toISOString().slice(0, 16).replace("T", " ");
  if (typeof cell === "number" && kind === "percent") return `${cell}%`;
  return String(cell);
}

/**
 * The grade distribution's bars: one per grade given, best first (by the best percent that earned
 * it), then "none" for students without a grade yet.
 */
export function gradeDistribution(
  standings: readonly { grade: string | number | null; percent: number | null }[],
): ReportChart["bars"] {
  const bars = new Map<string, { value: number; best: number }>();
  let none = 0;
  for (const { grade, percent } of standings) {
    if (grade === null) {
      none += 1;
      continue;
    }
    const bar = bars.get(String(grade)) ?? { value: 0, best: -Infinity };
    bar.value += 1;
    bar.best = Math.max(bar.best, percent ?? -Infinity);
    bars.set(String(grade), bar);
  }
  const ordered = [...bars.entries()]
    .sort(([a, x], [b, y]) => y.best - x.best || a.localeCompare(b))
    .map(([label, { value }]) => ({ label, value }));
  return none > 0 ? [...ordered, { label: "none", value: none }] : ordered;
}

/** Every 5 % of the rows, at least (a progress report per row would cost a write each). */
export function progressStep(rows: number): number {
  return Math.max(1, Math.ceil(rows / 20));
}

/** Progress while rows are written: 10 % for gathering, 10–90 % for rows, the rest for the file. */
export function rowProgress(done: number, total: number): number {
  if (total === 0) return 90;
  return 10 + Math.floor((Math.min(done, total) / total) * 80);
}
