/**
 * The report case: how long a worker takes to make a `course_performance` PDF of a course of
 * REPORT_PDF_STUDENTS students (the bench's gradebook course, graded, plus enough seeded students
 * enrolled to reach the count), and what it costs the node that makes it: CPU and RSS.
 * `npm run bench` runs it on its one-process node, after the quiz burst.
 */
import { http } from "../test/cluster/harness";
import { cpuBetween, snapshot } from "./cpu";
import { memoryOf } from "./nodes";

export const REPORT_PDF_STUDENTS = 200;
const POLL_MS = 25;
const ROUND_TIMEOUT_MS = 120_000;

export interface ReportPdfRound {
  reportId: string;
  students: number;
  /** From the request to the first poll that saw it succeeded. */
  wallMs: number;
  /** The job's own times: created to finished (queue wait included). */
  jobMs: number;
  bytes: number;
  /** CPU the node used during the round, ms, and as cores. */
  nodeCpuMs: number | null;
  nodeCores: number | null;
  /** The node's resident memory after the round, and its peak so far, MB. */
  rssMb: number | null;
  peakRssMb: number | null;
  succeeded: boolean;
}

/** Enrolls seeded students into the course until it has REPORT_PDF_STUDENTS; returns the count. */
export async function prepareReportCourse(
  base: string,
  token: string,
  courseId: string,
  spareStudentIds: readonly string[],
): Promise<number> {
  const roster = await http(base, "GET", `/api/courses/${courseId}/students?pageSize=1`, token);
  let enrolled = Number(roster.body?.total ?? 0);
  for (const studentId of spareStudentIds) {
    if (enrolled >= REPORT_PDF_STUDENTS) break;
    const result = await http(base, "POST", `/api/courses/${courseId}/students`, token, {
      studentId,
    });
    if (result.status === 201) enrolled += 1;
  }
  return enrolled;
}

/** One report, requested and waited for, measured on the node `pid`. */
export async function reportPdfRound(
  base: string,
  token: string,
  courseId: string,
  students: number,
  pid: number,
): Promise<ReportPdfRound> {
  const before = snapshot();
  const started = Date.now();
  const requested = await http(base, "POST", "/api/reports", token, {
    type: "course_performance",
    format: "pdf",
    courseId,
  });
  if (requested.status !== 202) throw new Error(`report request answered ${requested.status}`);
  const id = requested.body.id as string;
  let report: { status: string; size: number | null; createdAt: string; finishedAt: string };
  for (;;) {
    report = (await http(base, "GET", `/api/reports/${id}`, token)).body;
    if (report.status === "succeeded" || report.status === "failed") break;
    if (Date.now() - started > ROUND_TIMEOUT_MS)
      throw new Error(`report ${id} still ${report.status}`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  const wallMs = Date.now() - started;
  const share = cpuBetween(before, snapshot(), [pid]);
  const memory = memoryOf(pid);
  return {
    reportId: id,
    students,
    wallMs,
    jobMs: new Date(report.finishedAt).getTime() - new Date(report.createdAt).getTime(),
    bytes: report.size ?? 0,
    nodeCpuMs: share.seconds > 0 ? share.bench * share.seconds * 1000 : null,
    nodeCores: share.bench,
    rssMb: memory?.rssMb ?? null,
    peakRssMb: memory?.peakMb ?? null,
    succeeded: report.status === "succeeded",
  };
}

export function describeReportRound(round: ReportPdfRound, index: number): string {
  return (
    `  round ${index}: ${round.succeeded ? "succeeded" : "FAILED"} in ${round.wallMs} ms ` +
    `(job ${round.jobMs} ms), ${round.bytes} bytes, node CPU ${round.nodeCpuMs?.toFixed(0)} ms, ` +
    `RSS ${round.rssMb?.toFixed(0)} MB (peak ${round.peakRssMb?.toFixed(0)} MB)`
  );
}
