/**
 * reports — reports made on demand by workers from a durable queue. A request writes a job row
 * and, in the same transaction, a `report.requested` event (the outbox publishes it on
 * JetStream). Any node running this service takes the message, claims the job in one statement
 * (a lease it renews while it makes progress), gathers the data through the other services'
 * actions as the requester, writes the file (CSV, XLSX or PDF) into this service's database and
 * marks the job done — only if its claim still holds — before the message is acknowledged. A
 * worker that dies leaves its lease to expire: the message comes again (JetStream's ack wait) or
 * the sweep requeues the job, and the next claim makes it; after MAX_ATTEMPTS claims it is
 * `failed` with a reason. Rules and documents: reports.ts, report-documents.ts, report-files.ts.
 */
import { randomUUID } from "crypto";
import { Errors, type Context, type Service } from "moleculer";
import { DataTypes, QueryTypes, type Transaction } from "sequelize";
import type { CampusConfig } from "../../lib/config";
import { conflict, forbidden, gone, invalid, notFound, tooManyRequests } from "../../lib/errors";
import { LONG_READ, NOT_RETRIED } from "../../lib/fault-tolerance";
import { isUuid } from "../../lib/ids";
import { observeReportDuration, recordReportJobs } from "../../lib/metrics";
import { MAX_PAGE_SIZE, pageRequest, toPage, type Page } from "../../lib/paging";
import type { Identity } from "../../lib/permissions";
import { VOUCHED_IDENTITY } from "../../middlewares/permissions.middleware";
import { CourseAccessMixin, type CourseAccessThis } from "../../mixins/course-access.mixin";
import { DbMixin, type DbServiceThis } from "../../mixins/db.mixin";
import {
  DomainEventsMixin,
  durableConsumer,
  type EventContext,
  type DomainEventsThis,
} from "../../mixins/domain-events.mixin";
import type { CampusServiceSchema } from "../../types/service";
import type { Course, CourseAccess } from "../courses/courses";
import type { CourseGradebook } from "../gradebook/gradebook.service";
import type { StudentStanding } from "../gradebook/gradebook";
import {
  attendanceSummary,
  type AttendanceStatus,
  type CourseAttendance,
  type Lesson,
} from "../schedule/schedule";
import {
  attendanceDocument,
  coursePerformanceDocument,
  studentProgressDocument,
  type AttendanceCounts,
  type Person,
  type StudentSubmission,
} from "./report-documents";
import { reportFile } from "./report-files";
import {
  assertRowBound,
  CONTENT_TYPES,
  estimatedRows,
  isExpired,
  MAX_ACTIVE_JOBS_PER_USER,
  MAX_ATTEMPTS,
  mayRequestStudentReport,
  maySeeReport,
  progressStep,
  reportFileName,
  reportSubject,
  rowCount,
  rowProgress,
  type ReportDocument,
  type ReportFormat,
  type ReportRequest,
  type ReportStatus,
  type ReportSubject,
  type ReportType,
} from "./reports";
import { reportsMigrations } from "./reports.migrations";
import { reportsRoutes } from "./reports.routes";

type Meta = {
  user?: Identity;
  $statusCode?: number;
  $responseType?: string;
  $responseHeaders?: Record<string, string>;
};

interface JobRow {
  id: string;
  requested_by: string;
  requester: Identity;
  type: ReportType;
  format: ReportFormat;
  course_id: string | null;
  student_id: string | null;
  status: ReportStatus;
  progress: number;
  error: string | null;
  attempt: number;
  file_name: string | null;
  size: number | null;
  created_at: Date;
  finished_at: Date | null;
}

/** The public shape of a report job (contract: "Reports and profiles"). */
export interface Report {
  id: string;
  type: ReportType;
  format: ReportFormat;
  courseId: string | null;
  studentId: string | null;
  status: ReportStatus;
  progress: number;
  error: string | null;
  createdAt: string;
  finishedAt: string | null;
  size: number | null;
}

function toReport(row: JobRow): Report {
  return {
    id: row.id,
    type: row.type,
    format: row.format,
    courseId: row.course_id,
    studentId: row.student_id,
    status: row.status,
    progress: Number(row.progress),
    error: row.error,
    createdAt: new Date(row.created_at).toISOString(),
    finishedAt: row.finished_at ? new Date(row.finished_at).toISOString() : null,
    size: row.size === null ? null : Number(row.size),
  };
}

const JOB_COLUMNS = `id, requested_by, requester, type, format, course_id, student_id, status, progress,
  error, attempt, file_name, size, created_at, finished_at`;

/** A worker whose claim was taken over (it was too slow): it stops and leaves the job alone. */
const LEASE_LOST = "REPORT_LEASE_LOST";
const leaseLost = () =>
  new Errors.MoleculerError("The claim on this report expired", 500, LEASE_LOST);

/** Reasons a client may read; anything else (a bug, an unavailable service) gets a generic one. */
function failureReason(err: unknown): { permanent: boolean; reason: string } {
  const e = err as { code?: unknown; message?: unknown; type?: unknown };
  if (err instanceof Errors.MoleculerClientError && typeof e.code === "number" && e.code < 500) {
    const type = typeof e.type === "string" ? e.type : "";
    if (type === "SERVICE_NOT_FOUND" || type === "SERVICE_NOT_AVAILABLE") {
      return { permanent: false, reason: "A service this report needs was unavailable" };
    }
    return { permanent: true, reason: String(e.message) };
  }
  return { permanent: false, reason: "The report could not be made (an internal error)" };
}

type ReportsThis = Service &
  DbServiceThis &
  DomainEventsThis &
  CourseAccessThis & {
    sweepTimer?: NodeJS.Timeout;
    sweeping?: Promise<void> | null;
    findJob(id: string): Promise<JobRow>;
    visibleJob(ctx: Context<unknown, Meta>, id: string): Promise<JobRow>;
    enqueue(
      ctx: Context<unknown, Meta>,
      userId: string,
      write: (transaction: Transaction) => Promise<string>,
    ): Promise<string>;
    checkRequest(
      ctx: Context<unknown, Meta>,
      type: ReportType,
      subject: ReportSubject,
    ): Promise<void>;
    makeReport(ctx: Context, reportId: string): Promise<void>;
    claimJob(id: string): Promise<JobRow | null>;
    reportProgress(job: JobRow, progress: number): Promise<void>;
    gatherDocument(ctx: Context, job: JobRow): Promise<ReportDocument>;
    studentProgress(ctx: Context, job: JobRow, now: Date): Promise<ReportDocument>;
    courseReport(ctx: Context, job: JobRow, now: Date): Promise<ReportDocument>;
    paceRows(job: JobRow, document: ReportDocument): Promise<void>;
    finishJob(ctx: Context, job: JobRow, file: Buffer, fileName: string): Promise<void>;
    giveUpOrRequeue(ctx: Context, job: JobRow, err: unknown): Promise<void>;
    releaseJob(
      ctx: Context,
      job: JobRow,
      failure: string | null,
      claim: "mine" | "expired",
    ): Promise<boolean>;
    sweep(): Promise<void>;
    peopleById(ctx: Context, ids: string[]): Promise<Map<string, Person>>;
  };

// The tables are written with plain SQL; the model only satisfies moleculer-db.
const jobModel = {
  name: "job",
  define: { id: { type: DataTypes.UUID, primaryKey: true } },
  options: { tableName: "jobs", timestamps: false },
};

/** `assignments.submissionsOfStudent`'s rows (times as ISO strings). */
type SubmissionOfStudent = Omit<StudentSubmission, "dueAt" | "submittedAt"> & {
  dueAt: string;
  submittedAt: string | null;
};

/** Options of a call made as the report's requester (vouched: the request's identity, stored). */
function asRequester(job: JobRow) {
  const user = job.requester;
  return { meta: { user, [VOUCHED_IDENTITY]: user } };
}

/** 202 Accepted with the report's address (moleculer-web sends `$location` only with 201 and 3xx). */
function accepted(ctx: Context<unknown, Meta>, id: string): void {
  ctx.meta.$statusCode = 202;
  ctx.meta.$responseHeaders = { Location: `/api/reports/${id}` };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export default function reportsService(config: CampusConfig): CampusServiceSchema<ReportsThis> {
  const { leaseSeconds, sweepSeconds, rowDelayMs } = config.reports;

  return {
    name: "reports",
    mixins: [
      CourseAccessMixin,
      DbMixin("reports", config, {
        model: jobModel,
        migrations: reportsMigrations,
        uniqueViolations: {},
      }),
      DomainEventsMixin,
    ],
    settings: { ...reportsRoutes.settings },

    actions: {
      request: {
        ...NOT_RETRIED,
        ...reportsRoutes.actions.request,
        async handler(this: ReportsThis, ctx: Context<ReportRequest, Meta>): Promise<Report> {
          const user = ctx.meta.user!;
          const subject = reportSubject(ctx.params, user);
          if (Array.isArray(subject)) throw invalid(subject);
          await this.checkRequest(ctx, ctx.params.type, subject);
          const id = randomUUID();
          await this.enqueue(ctx, user.id, async (transaction) => {
            await this.sequelize.query(
              `INSERT INTO reports.jobs (id, requested_by, requester, type, format, course_id, student_id)
               VALUES (:id, :userId, CAST(:requester AS jsonb), :type, :format, :courseId, :studentId)`,
              {
                replacements: {
                  id,
                  userId: user.id,
                  requester: JSON.stringify({
                    id: user.id,
                    role: user.role,
                    studentId: user.studentId,
                  }),
                  type: ctx.params.type,
                  format: ctx.params.format,
                  ...subject,
                },
                transaction,
              },
            );
            return id;
          });
          accepted(ctx, id);
          return toReport(await this.findJob(id));
        },
      },

      list: {
        ...LONG_READ,
        ...reportsRoutes.actions.list,
        async handler(
          this: ReportsThis,
          ctx: Context<{ page?: number; pageSize?: number }, Meta>,
        ): Promise<Page<Report>> {
          const user = ctx.meta.user!;
          const request = pageRequest(ctx.params);
          // Admins see every report; everyone else the ones they asked for.
          const where = user.role === "admin" ? "" : "WHERE requested_by = :userId";
          const [rows, [{ count }]] = await Promise.all([
            this.sequelize.query<JobRow>(
              `SELECT ${JOB_COLUMNS} FROM reports.jobs ${where}
               ORDER BY created_at DESC, id LIMIT :limit OFFSET :offset`,
              {
                replacements: { userId: user.id, limit: request.pageSize, offset: request.offset },
                type: QueryTypes.SELECT,
              },
            ),
            this.sequelize.query<{ count: string }>(
              `SELECT count(*) AS count FROM reports.jobs ${where}`,
              { replacements: { userId: user.id }, type: QueryTypes.SELECT },
            ),
          ]);
          return toPage(rows.map(toReport), Number(count), request);
        },
      },

      get: {
        ...LONG_READ,
        ...reportsRoutes.actions.get,
        async handler(this: ReportsThis, ctx: Context<{ id: string }, Meta>): Promise<Report> {
          return toReport(await this.visibleJob(ctx, ctx.params.id));
        },
      },

      download: {
        ...LONG_READ,
        ...reportsRoutes.actions.download,
        async handler(this: ReportsThis, ctx: Context<{ id: string }, Meta>): Promise<Buffer> {
          const job = await this.visibleJob(ctx, ctx.params.id);
          if (job.status === "failed") {
            throw conflict(`The report failed: ${job.error ?? "unknown reason"}`, "REPORT_FAILED");
          }
          if (job.status !== "succeeded") {
            throw conflict(`The report is ${job.status} (${job.progress}%)`, "REPORT_NOT_READY");
          }
          const expired = () =>
            gone("The report's file was deleted after 7 days; regenerate it", "REPORT_EXPIRED");
          if (isExpired(job.finished_at)) throw expired();
          const [file] = await this.sequelize.query<{ content: Buffer }>(
            `SELECT content FROM reports.files WHERE job_id = :id`,
            { replacements: { id: job.id }, type: QueryTypes.SELECT },
          );
          if (!file) throw expired();
          ctx.meta.$responseType = CONTENT_TYPES[job.format];
          ctx.meta.$responseHeaders = {
            "Content-Disposition": `attachment; filename="${job.file_name ?? `report.${job.format}`}"`,
            "Cache-Control": "private, no-store",
          };
          return file.content;
        },
      },

      regenerate: {
        ...NOT_RETRIED,
        ...reportsRoutes.actions.regenerate,
        async handler(this: ReportsThis, ctx: Context<{ id: string }, Meta>): Promise<Report> {
          const job = await this.visibleJob(ctx, ctx.params.id);
          if (job.status === "queued" || job.status === "running") {
            throw conflict(`The report is already ${job.status}`, "REPORT_IN_PROGRESS");
          }
          // Made again as it was asked, for who asked (an admin regenerating acts for them).
          await this.enqueue(ctx, job.requested_by, async (transaction) => {
            const [restarted] = await this.sequelize.query<{ id: string }>(
              `UPDATE reports.jobs SET status = 'queued', progress = 0, error = NULL, attempt = 0,
                 worker = NULL, lease_until = NULL, file_name = NULL, size = NULL,
                 started_at = NULL, finished_at = NULL, queued_at = now()
               WHERE id = :id AND status IN ('succeeded', 'failed') RETURNING id`,
              { replacements: { id: job.id }, type: QueryTypes.SELECT, transaction },
            );
            if (!restarted)
              throw conflict("The report is already being made", "REPORT_IN_PROGRESS");
            await this.sequelize.query(`DELETE FROM reports.files WHERE job_id = :id`, {
              replacements: { id: job.id },
              transaction,
            });
            return job.id;
          });
          accepted(ctx, job.id);
          return toReport(await this.findJob(job.id));
        },
      },
    },

    channels: {
      /** The queue: any reports node takes a job; `ack_wait` a little over a lease. */
      "report.requested": {
        ...durableConsumer(async function (
          this: ReportsThis,
          ctx: EventContext<{ reportId: string }>,
        ) {
          if (!isUuid(ctx.params.reportId)) return;
          await this.makeReport(ctx, ctx.params.reportId.toLowerCase());
        }),
        nats: { consumerOptions: { config: { ack_wait: (leaseSeconds + 5) * 1e9 } } },
      },
    },

    methods: {
      async findJob(this: ReportsThis, id: string): Promise<JobRow> {
        if (!isUuid(id)) throw notFound("Report");
        const [row] = await this.sequelize.query<JobRow>(
          `SELECT ${JOB_COLUMNS} FROM reports.jobs WHERE id = :id`,
          { replacements: { id: id.toLowerCase() }, type: QueryTypes.SELECT },
        );
        if (!row) throw notFound("Report");
        return row;
      },

      /** The job, for who asked for it or an admin (anyone else: 403). */
      async visibleJob(this: ReportsThis, ctx: Context<unknown, Meta>, id: string) {
        const job = await this.findJob(id);
        if (!maySeeReport(ctx.meta.user!, job.requested_by)) {
          throw forbidden("Only who asked for a report (or an admin) may see it");
        }
        return job;
      },

      /**
       * Course reports: the course's staff, within the row bound. Student reports: that student
       * or staff, for a student who exists.
       */
      async checkRequest(
        this: ReportsThis,
        ctx: Context<unknown, Meta>,
        type: ReportType,
        subject: ReportSubject,
      ) {
        const user = ctx.meta.user!;
        if (subject.studentId !== null) {
          if (!mayRequestStudentReport(user, subject.studentId)) {
            throw forbidden("A student's report is only for that student or staff");
          }
          if (user.role !== "student") await ctx.call("students.byId", { id: subject.studentId });
          return;
        }
        const access = await this.courseAccess(ctx, subject.courseId);
        if (!access.staff) throw forbidden("Only the course's staff may request its reports");
        let lessons = 0;
        if (type === "attendance") {
          const page: Page<Lesson> = await ctx.call("schedule.lessonsPage", {
            courseIds: [access.course.id],
            from: new Date(0).toISOString(),
            to: new Date(Date.UTC(9999, 0)).toISOString(),
            pageSize: 1,
          });
          lessons = page.total;
        }
        assertRowBound(estimatedRows(type, access.course.enrolledCount, lessons));
      },

      /**
       * Writes a job change and its queue message in one transaction, under the user's limit of
       * queued and running jobs (a per-user lock makes the count and the write one step).
       */
      async enqueue(this: ReportsThis, ctx: Context<unknown, Meta>, userId: string, write) {
        return this.sequelize.transaction(async (transaction) => {
          await this.sequelize.query(`SELECT pg_advisory_xact_lock(hashtext(:userId))`, {
            replacements: { userId },
            transaction,
          });
          const [{ count }] = await this.sequelize.query<{ count: string }>(
            `SELECT count(*) AS count FROM reports.jobs
             WHERE requested_by = :userId AND status IN ('queued', 'running')`,
            { replacements: { userId }, type: QueryTypes.SELECT, transaction },
          );
          if (Number(count) >= MAX_ACTIVE_JOBS_PER_USER) {
            throw tooManyRequests(
              `At most ${MAX_ACTIVE_JOBS_PER_USER} reports may be queued or running per user; wait for one to finish`,
              10,
            );
          }
          const reportId = await write(transaction);
          await this.recordEvent(ctx, transaction, "report.requested", { reportId });
          return reportId;
        });
      },

      /** One delivery of the queue: claim, gather, write, store — or leave it to the claim holder. */
      async makeReport(this: ReportsThis, ctx: Context, reportId: string): Promise<void> {
        const job = await this.claimJob(reportId);
        if (!job) return; // Done, failed, or claimed by a live worker: nothing to do.
        const started = process.hrtime.bigint();
        this.logger.info("Making a report", { reportId, type: job.type, attempt: job.attempt });
        try {
          const document = await this.gatherDocument(ctx, job);
          assertRowBound(rowCount(document));
          await this.reportProgress(job, 10);
          if (rowDelayMs > 0) await this.paceRows(job, document);
          const file = await reportFile(document, job.format);
          await this.reportProgress(job, 95);
          const subject = document.title.split(": ").slice(1).join(": ") || job.id;
          const fileName = reportFileName(job.type, subject, job.format, document.generatedAt);
          await this.finishJob(ctx, job, file, fileName);
          observeReportDuration(
            this.broker,
            job.type,
            job.format,
            Number(process.hrtime.bigint() - started) / 1e9,
          );
        } catch (err) {
          if ((err as { type?: unknown }).type === LEASE_LOST) {
            this.logger.warn("Report claim lost to another worker; left to it", { reportId });
            return;
          }
          await this.giveUpOrRequeue(ctx, job, err);
        }
      },

      /** A queued job, or a running one whose worker's lease expired: one statement, one winner. */
      async claimJob(this: ReportsThis, id: string): Promise<JobRow | null> {
        const [row] = await this.sequelize.query<JobRow>(
          `UPDATE reports.jobs
           SET status = 'running', attempt = attempt + 1, worker = :worker, progress = 0,
               lease_until = now() + make_interval(secs => :lease), started_at = now()
           WHERE id = :id AND attempt < :maxAttempts
             AND (status = 'queued' OR (status = 'running' AND lease_until < now()))
           RETURNING ${JOB_COLUMNS}`,
          {
            replacements: {
              id,
              worker: this.broker.nodeID,
              lease: leaseSeconds,
              maxAttempts: MAX_ATTEMPTS,
            },
            type: QueryTypes.SELECT,
          },
        );
        return row ?? null;
      },

      /** Progress, and the lease renewed with it; a claim taken over stops this worker. */
      async reportProgress(this: ReportsThis, job: JobRow, progress: number): Promise<void> {
        const [held] = await this.sequelize.query(
          `UPDATE reports.jobs SET progress = :progress,
             lease_until = now() + make_interval(secs => :lease)
           WHERE id = :id AND status = 'running' AND attempt = :attempt RETURNING id`,
          {
            replacements: { id: job.id, attempt: job.attempt, progress, lease: leaseSeconds },
            type: QueryTypes.SELECT,
          },
        );
        if (!held) throw leaseLost();
      },

      /** Test-only pacing (REPORTS_ROW_DELAY_MS): a pause per table row, progress as rows pass. */
      async paceRows(this: ReportsThis, job: JobRow, document: ReportDocument): Promise<void> {
        const total = rowCount(document);
        const step = progressStep(total);
        for (let done = 1; done <= total; done += 1) {
          await sleep(rowDelayMs);
          if (done % step === 0) await this.reportProgress(job, rowProgress(done, total));
        }
      },

      /** Stores the file and marks the job done, only while this worker's claim holds. */
      async finishJob(
        this: ReportsThis,
        ctx: Context,
        job: JobRow,
        file: Buffer,
        fileName: string,
      ) {
        await this.sequelize.transaction(async (transaction) => {
          const [finished] = await this.sequelize.query(
            `UPDATE reports.jobs SET status = 'succeeded', progress = 100, error = NULL,
               lease_until = NULL, finished_at = now(), size = :size, file_name = :fileName
             WHERE id = :id AND status = 'running' AND attempt = :attempt RETURNING id`,
            {
              replacements: { id: job.id, attempt: job.attempt, size: file.length, fileName },
              type: QueryTypes.SELECT,
              transaction,
            },
          );
          if (!finished) throw leaseLost();
          await this.sequelize.query(
            `INSERT INTO reports.files (job_id, content) VALUES (:id, :content)
             ON CONFLICT (job_id) DO UPDATE SET content = EXCLUDED.content`,
            { replacements: { id: job.id, content: file }, transaction },
          );
          await this.recordEvent(ctx, transaction, "report.succeeded", {
            reportId: job.id,
            userId: job.requested_by,
            type: job.type,
            format: job.format,
          });
        });
        this.logger.info("Report made", { reportId: job.id, size: file.length });
      },

      /**
       * A refusal (403, 404, too large) fails the job at once; anything else is retried by a
       * new claim until MAX_ATTEMPTS, then fails. The requester is told either way.
       */
      async giveUpOrRequeue(this: ReportsThis, ctx: Context, job: JobRow, err: unknown) {
        const { permanent, reason } = failureReason(err);
        this.logger.warn("Report attempt failed", {
          reportId: job.id,
          attempt: job.attempt,
          error: (err as Error).message,
        });
        const giveUp = permanent || job.attempt >= MAX_ATTEMPTS;
        await this.releaseJob(ctx, job, giveUp ? reason : null, "mine");
      },

      /**
       * A running job back to the queue (with its message), or failed (with the requester's
       * notification) — only while the claim is still this worker's (`mine`) or still expired.
       */
      async releaseJob(
        this: ReportsThis,
        ctx: Context,
        job: JobRow,
        failure: string | null,
        claim: "mine" | "expired",
      ): Promise<boolean> {
        const claimed = claim === "mine" ? "attempt = :attempt" : "lease_until < now()";
        return this.sequelize.transaction(async (transaction) => {
          const [changed] = await this.sequelize.query(
            failure !== null
              ? `UPDATE reports.jobs SET status = 'failed', error = :failure, lease_until = NULL,
                   finished_at = now()
                 WHERE id = :id AND status = 'running' AND ${claimed} RETURNING id`
              : `UPDATE reports.jobs SET status = 'queued', worker = NULL, lease_until = NULL,
                   queued_at = now()
                 WHERE id = :id AND status = 'running' AND ${claimed} RETURNING id`,
            {
              replacements: { id: job.id, attempt: job.attempt, failure },
              type: QueryTypes.SELECT,
              transaction,
            },
          );
          if (!changed) return false;
          if (failure === null) {
            await this.recordEvent(ctx, transaction, "report.requested", { reportId: job.id });
          } else {
            await this.recordEvent(ctx, transaction, "report.failed", {
              reportId: job.id,
              userId: job.requested_by,
              type: job.type,
              format: job.format,
              error: failure,
            });
          }
          return true;
        });
      },

      /**
       * Every sweep (each reports node, on start and then every REPORTS_SWEEP_SECONDS): jobs whose
       * worker's lease expired are queued again (or failed after MAX_ATTEMPTS claims), jobs queued
       * for two leases without a claim get a new message, files older than the retention are
       * deleted, and the jobs are counted by status for the metrics.
       */
      async sweep(this: ReportsThis): Promise<void> {
        const expired = await this.sequelize.query<JobRow>(
          `SELECT ${JOB_COLUMNS} FROM reports.jobs
           WHERE status = 'running' AND lease_until < now() LIMIT 100`,
          { type: QueryTypes.SELECT },
        );
        // The sweep's own context: its events carry no request or caller.
        const ctx = this.broker.ContextFactory.create(
          this.broker,
          null as never,
          {},
          {},
        ) as Context;
        for (const job of expired) {
          const exhausted = job.attempt >= MAX_ATTEMPTS;
          const failure = exhausted ? `The workers making it stopped ${job.attempt} times` : null;
          if (await this.releaseJob(ctx, job, failure, "expired")) {
            this.logger.warn(exhausted ? "Report failed: workers stopped" : "Report requeued", {
              reportId: job.id,
              attempt: job.attempt,
            });
          }
        }
        // Queued for longer than two leases without a claim: its message may be gone (dead
        // lettered after failed deliveries); a second one is harmless (one claim wins).
        await this.sequelize.transaction(async (transaction) => {
          const stale = await this.sequelize.query<{ id: string }>(
            `UPDATE reports.jobs SET queued_at = now()
             WHERE id IN (SELECT id FROM reports.jobs WHERE status = 'queued'
                            AND queued_at < now() - make_interval(secs => :stale) LIMIT 100)
             RETURNING id`,
            { replacements: { stale: 2 * leaseSeconds }, type: QueryTypes.SELECT, transaction },
          );
          for (const { id } of stale) {
            await this.recordEvent(ctx, transaction, "report.requested", { reportId: id });
          }
        });
        await this.sequelize.query(
          `DELETE FROM reports.files f USING reports.jobs j
           WHERE f.job_id = j.id AND j.finished_at < now() - make_interval(days => :days)`,
          { replacements: { days: 7 } },
        );
        const counts = await this.sequelize.query<{ status: ReportStatus; count: string }>(
          `SELECT status, count(*) AS count FROM reports.jobs GROUP BY status`,
          { type: QueryTypes.SELECT },
        );
        recordReportJobs(
          this.broker,
          Object.fromEntries(counts.map((row) => [row.status, Number(row.count)])),
        );
      },

      /** The report's document, from the other services' data, read as the requester. */
      async gatherDocument(this: ReportsThis, ctx: Context, job: JobRow): Promise<ReportDocument> {
        if (job.type === "student_progress") return this.studentProgress(ctx, job, new Date());
        return this.courseReport(ctx, job, new Date());
      },

      /** A student's progress: their courses (a teacher: the ones they teach), grades, attendance, work. */
      async studentProgress(
        this: ReportsThis,
        ctx: Context,
        job: JobRow,
        now: Date,
      ): Promise<ReportDocument> {
        const studentId = job.student_id!;
        const requester = job.requester;
        const student: Person = await ctx.call("students.byId", { id: studentId });
        const enrolled: (Course & { status: string })[] = [];
        for (const status of ["active", "completed"]) {
          for (let page = 1; ; page += 1) {
            const result: Page<Course & { status: string }> = await ctx.call(
              "courses.coursesOfStudent",
              { studentId, status, page, pageSize: MAX_PAGE_SIZE },
            );
            enrolled.push(...result.rows);
            if (page >= result.totalPages) break;
          }
        }
        // A teacher's report shows the courses they teach (as the gradebook does).
        const courses = enrolled.filter(
          (course) => requester.role !== "teacher" || course.teacherIds.includes(requester.id),
        );
        const courseIds = courses.map((course) => course.id);
        const [grades, attendance, submissions] = await Promise.all([
          ctx.call<{ courses: ({ courseId: string } & StudentStanding)[] }, { id: string }>(
            "gradebook.studentGrades",
            { id: studentId },
            asRequester(job),
          ),
          ctx.call<{ courses: CourseAttendance[] }, { id: string }>(
            "schedule.studentAttendance",
            { id: studentId },
            asRequester(job),
          ),
          ctx.call<SubmissionOfStudent[], { studentId: string; courseIds: string[] }>(
            "assignments.submissionsOfStudent",
            { studentId, courseIds },
          ),
        ]);
        return studentProgressDocument(
          {
            student,
            courses: courses.map((course) => ({
              courseId: course.id,
              code: course.code,
              title: course.title,
              status: course.status,
            })),
            standings: new Map(grades.courses.map((c) => [c.courseId, c])),
            attendance: new Map<string, AttendanceCounts>(
              attendance.courses.map((c) => [c.courseId, c]),
            ),
            submissions: submissions.map((s) => ({
              ...s,
              dueAt: new Date(s.dueAt),
              submittedAt: s.submittedAt ? new Date(s.submittedAt) : null,
            })),
          },
          now,
        );
      },

      /** A course report: its heading and attendance, then the grades or the roster. */
      async courseReport(
        this: ReportsThis,
        ctx: Context,
        job: JobRow,
        now: Date,
      ): Promise<ReportDocument> {
        const courseId = job.course_id!;
        const access: CourseAccess = await ctx.call("courses.access", {
          courseId,
          user: job.requester,
        });
        if (!access.staff) throw forbidden("Only the course's staff may request its reports");
        const heading = { code: access.course.code, title: access.course.title };
        const schedule: {
          lessons: { id: string; title: string; startsAt: string; cancelled: boolean }[];
          records: { lessonId: string; studentId: string; status: AttendanceStatus }[];
        } = await ctx.call("schedule.attendanceOfCourse", { courseId });

        if (job.type === "course_performance") {
          const book: CourseGradebook = await ctx.call(
            "gradebook.courseGradebook",
            { id: courseId },
            asRequester(job),
          );
          assertRowBound(book.rows.length);
          // The schedule's per-course summary, keyed here by student.
          const byStudent = attendanceSummary(
            schedule.records.map((r) => ({ courseId: r.studentId, status: r.status })),
          );
          return coursePerformanceDocument(
            {
              course: heading,
              items: book.items,
              rows: book.rows,
              students: await this.peopleById(
                ctx,
                book.rows.map((row) => row.studentId),
              ),
              attendance: new Map(byStudent.map((s) => [s.courseId, s])),
            },
            now,
          );
        }

        const studentIds = await this.rosterOf(ctx, courseId);
        assertRowBound(estimatedRows("attendance", studentIds.length, schedule.lessons.length));
        return attendanceDocument(
          {
            course: heading,
            lessons: schedule.lessons.map((lesson) => ({
              ...lesson,
              startsAt: new Date(lesson.startsAt),
            })),
            studentIds,
            students: await this.peopleById(ctx, studentIds),
            records: new Map(
              schedule.records.map((r) => [`${r.lessonId}/${r.studentId}`, r.status]),
            ),
          },
          now,
        );
      },

      async peopleById(this: ReportsThis, ctx: Context, ids: string[]) {
        const people = new Map<string, Person>();
        for (let start = 0; start < ids.length; start += MAX_PAGE_SIZE) {
          const batch: Person[] = await ctx.call("students.byIds", {
            ids: ids.slice(start, start + MAX_PAGE_SIZE),
          });
          for (const person of batch) people.set(person.id, person);
        }
        return people;
      },
    },

    started(this: ReportsThis) {
      const run = () => {
        if (this.sweeping) return;
        this.sweeping = this.sweep()
          .catch((err: Error) => this.logger.warn("Report sweep failed; retrying:", err.message))
          .finally(() => {
            this.sweeping = null;
          });
      };
      run();
      this.sweepTimer = setInterval(run, sweepSeconds * 1000);
      this.sweepTimer.unref();
    },

    async stopped(this: ReportsThis) {
      if (this.sweepTimer) clearInterval(this.sweepTimer);
      await this.sweeping;
    },
  };
}
