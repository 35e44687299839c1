/**
 * courses — the course records and the enrollments (own database), and the course's side of
 * enrollments, answered with student data from the students service in one call per page.
 */
import type { Context } from "moleculer";
import { DataTypes, Op, QueryTypes, type Transaction } from "sequelize";
import type { CampusConfig } from "../../lib/config";
import { recordIdAttribute } from "../../lib/database";
import { FAST_FAILOVER, NOT_RETRIED } from "../../lib/fault-tolerance";
import {
  COURSE_SORT_FIELDS,
  ENROLLMENT_STATUSES,
  canTransition,
  compactPositions,
  courseChanges,
  courseProblems,
  courseReplacement,
  courseStaffDenial,
  enrollmentOutcome,
  freeSeats,
  initialTeacherIds,
  isCourseStaff,
  movedPositions,
  normaliseTeacherIds,
  promotionPlan,
  toCourse,
  unknownTeacherProblems,
  type Course,
  type CourseAccess,
  type CourseRow,
  type Enrollment,
  type EnrollmentCompleted,
  type EnrollmentStatus,
  type HistoryEntry,
  type Seats,
  type WaitlistEntry,
} from "./courses";
import { conflict, forbidden, invalid, notFound } from "../../lib/errors";
import { noContent } from "../../lib/responses";
import { idParam, isUuid } from "../../lib/ids";
import { countEnrollment, countScheduleConflict, outcomeHooks } from "../../lib/metrics";
import { findPage, mapPage, pageParams, pageRequest, toPage, type Page } from "../../lib/paging";
import { canActForStudent, identityParam, type Identity } from "../../lib/permissions";
import type { Student } from "../students/students";
import { coursesMigrations } from "./courses.migrations";
import {
  CacheCleanerMixin,
  cacheKeys,
  type CacheCleanerThis,
} from "../../mixins/cache-cleaner.mixin";
import { DbMixin } from "../../mixins/db.mixin";
import { DomainEventsMixin, durableConsumer } from "../../mixins/domain-events.mixin";
import { coursesRoutes } from "./courses.routes";
import { KeyedQueue } from "../../lib/keyed-queue";
import { ResourceMixin, type ResourceThis } from "../../mixins/resource.mixin";
import type { CampusMeta, CampusServiceSchema, DbEventsThis } from "../../types/service";

type Meta = CampusMeta;
type CoursesThis = DbEventsThis &
  CacheCleanerThis &
  ResourceThis<Course> & {
    enrolledStudentIds(courseId: string, transaction?: Transaction): Promise<string[]>;
    assertNoScheduleConflict(
      ctx: Context,
      courseId: string,
      studentId: string,
      transaction?: Transaction,
    ): Promise<void>;
    refuseIfFull(courseId: string, studentId: string): Promise<void>;
    lockCourse(transaction: Transaction, courseId: string): Promise<LockedCourse | null>;
    recordHistory(transaction: Transaction, changes: StatusChange[]): Promise<void>;
    lockedWaitlist(transaction: Transaction, courseId: string): Promise<WaitlistEntry[]>;
    writePositions(
      transaction: Transaction,
      courseId: string,
      positions: WaitlistEntry[],
    ): Promise<void>;
    promoteWaitlisted(
      ctx: Context,
      transaction: Transaction,
      courseId: string,
      reason: string,
    ): Promise<string[]>;
    leaveCourse(
      ctx: Context,
      transaction: Transaction,
      courseId: string,
      studentId: string,
      reason: string,
    ): Promise<{ promoted: string[] } | null>;
    finalGrades(
      ctx: Context,
      courseId: string,
      studentIds: string[],
    ): Promise<Map<string, { percent: number | null; grade: string | null }>>;
  };

/** The course row as a transaction that changes seats holds it (locked FOR UPDATE). */
type LockedCourse = Seats & { id: string; code: string; title: string; teacherIds: string[] };

/** One change of an enrollment's status, for the history table. */
interface StatusChange {
  courseId: string;
  studentId: string;
  from: EnrollmentStatus | null;
  to: EnrollmentStatus;
  by: string | null;
  reason: string;
}

/** The gradebook action `complete` asks for final results, when a node offers it. */
export const GRADEBOOK_FINAL_GRADES = "gradebook.finalGrades";

const courseModel = {
  name: "course",
  define: {
    id: recordIdAttribute(),
    code: { type: DataTypes.STRING(32), allowNull: false },
    title: { type: DataTypes.STRING(200), allowNull: false },
    description: { type: DataTypes.TEXT, allowNull: false, defaultValue: "" },
    capacity: { type: DataTypes.INTEGER, allowNull: true },
    enrolledCount: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
    waitlistCapacity: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
    waitlistedCount: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
    startDate: { type: DataTypes.DATEONLY, allowNull: true },
    endDate: { type: DataTypes.DATEONLY, allowNull: true },
    teacherIds: { type: DataTypes.ARRAY(DataTypes.UUID), allowNull: false, defaultValue: [] },
  },
  options: { tableName: "courses" },
};

const enrollmentModel = {
  name: "enrollment",
  define: {
    courseId: { type: DataTypes.UUID, primaryKey: true },
    studentId: { type: DataTypes.UUID, primaryKey: true },
    enrolledAt: { type: DataTypes.DATE, allowNull: false, defaultValue: DataTypes.NOW },
    status: { type: DataTypes.STRING(16), allowNull: false, defaultValue: "active" },
    position: { type: DataTypes.INTEGER, allowNull: true },
    finalPercent: { type: DataTypes.DECIMAL(5, 2), allowNull: true },
    finalGrade: { type: DataTypes.STRING(16), allowNull: true },
    statusChangedAt: { type: DataTypes.DATE, allowNull: false, defaultValue: DataTypes.NOW },
  },
  options: { tableName: "enrollments", timestamps: false },
};

/** An enrollments row as the model reads it (`numeric` arrives as a string). */
interface EnrollmentRow {
  courseId: string;
  studentId: string;
  enrolledAt: Date;
  status: EnrollmentStatus;
  position: number | null;
  finalPercent: string | null;
  finalGrade: string | null;
  statusChangedAt: Date;
}

const DUPLICATE_CODE = {
  message: "A course with this code already exists",
  type: "DUPLICATE_COURSE_CODE",
};
const ALREADY_ENROLLED = {
  message: "The student is already enrolled in this course",
  type: "ALREADY_ENROLLED",
};

/** Statuses that hold a seat (completed keeps it: the course is over, nobody takes it). */
const SEATED: EnrollmentStatus[] = ["active", "completed"];

/** Stale keys after an enrollment changes a course's roster and count. */
function enrollmentKeys(courseId: string, studentId: string): string[] {
  return [
    cacheKeys.exact("courses.byId", courseId),
    cacheKeys.all("courses.page"),
    cacheKeys.startingWith("courses.rosterIds", courseId),
    cacheKeys.startingWith("courses.coursesOfStudent", studentId),
  ];
}

/** `pg_advisory_xact_lock(class, key)`: the class of the per-student enrollment locks. */
const ENROLLMENT_LOCK_CLASS = 15;
/** numeric columns come back from pg as strings. */
function toPercent(value: unknown): number | null {
  return value === null || value === undefined ? null : Number(value);
}

export default function coursesService(config: CampusConfig): CampusServiceSchema<CoursesThis> {
  const embedded = !config.databaseUrls.courses;
  const studentQueue = new KeyedQueue();
  const courseQueue = new KeyedQueue();
  return {
    name: "courses",
    mixins: [
      DbMixin("courses", config, {
        model: courseModel,
        extraModels: [enrollmentModel],
        migrations: coursesMigrations,
        uniqueViolations: { courses_code_key: DUPLICATE_CODE, enrollments_pkey: ALREADY_ENROLLED },
        idempotentWrites: true,
      }),
      CacheCleanerMixin,
      DomainEventsMixin,
      ResourceMixin<Course>({
        entity: "Course",
        routes: coursesRoutes,
        toResource: (row) => toCourse(row as unknown as CourseRow),
        sort: { fields: COURSE_SORT_FIELDS, default: [["code", "ASC"]] },
        search: ["code", "title"],
        replacement: courseReplacement,
        changes: courseChanges,
        writeDenial: courseStaffDenial,
        idempotentWrites: true,
      }),
    ],
    // campus_enrollments_total{result}: ok, full, duplicate, not_found.
    hooks: outcomeHooks("enroll", countEnrollment),

    actions: {
      // ---- Published (list, get, create, replace, update, remove: ResourceMixin) ----

      setTeachers: {
        ...NOT_RETRIED,
        ...coursesRoutes.actions.setTeachers,
        async handler(
          this: CoursesThis,
          ctx: Context<{ id: string; teacherIds: string[] }, Meta>,
        ): Promise<Course> {
          const current = await this.findResource(ctx, ctx.params.id);
          const denial = courseStaffDenial(ctx.meta.user!, current);
          if (denial) throw forbidden(denial);
          const teacherIds = normaliseTeacherIds(ctx.params.teacherIds);
          const accounts: string[] = await ctx.call("users.teacherAccounts", { ids: teacherIds });
          const problems = unknownTeacherProblems(teacherIds, accounts);
          if (problems.length > 0) throw invalid(problems);
          const [, rows] = await this.adapter.model.update(
            { teacherIds },
            { where: { id: current.id }, returning: true },
          );
          if (rows.length === 0) throw notFound("Course");
          await this.invalidate(ctx, [
            ...this.resourceKeys(current.id),
            cacheKeys.all("courses.coursesOfStudent"),
          ]);
          return toCourse(rows[0].get({ plain: true }) as CourseRow);
        },
      },

      students: {
        ...FAST_FAILOVER,
        ...coursesRoutes.actions.students,
        async handler(
          this: CoursesThis,
          ctx: Context<{ id: string; page?: number; pageSize?: number }>,
        ): Promise<Page<Student>> {
          const course = await this.findResource(ctx, ctx.params.id);
          const ids: Page<string> = await ctx.call("courses.rosterIds", {
            courseId: course.id,
            page: ctx.params.page,
            pageSize: ctx.params.pageSize,
          });
          // One call for the whole page (no N+1).
          const students: Student[] = await ctx.call("students.byIds", { ids: ids.rows });
          return { ...ids, rows: students };
        },
      },

      enroll: {
        ...NOT_RETRIED,
        ...coursesRoutes.actions.enroll,
        async handler(
          this: CoursesThis,
          ctx: Context<{ id: string; studentId: string }, Meta>,
        ): Promise<Enrollment> {
          const { id: courseId, studentId } = ctx.params;
          if (!canActForStudent(ctx.meta.user!, studentId))
            throw forbidden("You may only enroll yourself");
          const course = await this.findResource(ctx, courseId);
          await ctx.call("students.byId", { id: studentId });

          // SCHEDULE_CONFLICT must hold when one student enrolls in two clashing courses at once:
          // a student's enrollments run one at a time. On PostgreSQL an advisory lock held by the
          // transaction serializes them across every courses node, and the check runs inside it;
          // the embedded database (one process, one shared session that the schedule service's
          // queries would wait behind) checks before its transaction, under the in-process queue.
          //
          // A course's enrollments also queue in this process before its transaction: the row
          // lock would serialize them anyway, but each waiter would hold a pooled connection
          // (five), starving every other read of the service. At its turn an enrollment into a
          // course already full is refused by one plain read, with no transaction or lock:
          // after the first 50 of a burst of 200 into 50 seats, the 150 others cost that read.
          const enrollment = await studentQueue.run(studentId.toLowerCase(), () =>
            courseQueue.run(course.id, async () => {
              await this.refuseIfFull(course.id, studentId);
              if (embedded) await this.assertNoScheduleConflict(ctx, course.id, studentId);
              return this.sequelize.transaction(async (transaction) => {
                if (!embedded) {
                  await this.sequelize.query(
                    "SELECT pg_advisory_xact_lock(:lockClass, hashtext(lower(:studentId)))",
                    { replacements: { lockClass: ENROLLMENT_LOCK_CLASS, studentId }, transaction },
                  );
                  await this.assertNoScheduleConflict(ctx, course.id, studentId, transaction);
                }
                // The course row is locked first by every change of seats (enroll, drop, capacity,
                // complete): concurrent changes queue on it, so counts and positions stay exact.
                const seats = await this.lockCourse(transaction, courseId);
                if (!seats) throw notFound("Course");
                const [existing] = await this.sequelize.query<{ status: EnrollmentStatus }>(
                  `SELECT status FROM courses.enrollments
                 WHERE course_id = :courseId AND student_id = :studentId FOR UPDATE`,
                  { replacements: { courseId, studentId }, type: QueryTypes.SELECT, transaction },
                );
                const from = existing?.status ?? null;
                if (from === "completed")
                  throw conflict("The student has completed this course", "ALREADY_COMPLETED");
                // A student already seated or waiting is told so, not that the course is full.
                if (!canTransition(from, "waitlisted"))
                  throw conflict(ALREADY_ENROLLED.message, ALREADY_ENROLLED.type);
                const outcome = enrollmentOutcome(seats);
                if (outcome === "full") throw conflict("The course is full", "COURSE_FULL");
                const position = outcome === "waitlisted" ? seats.waitlistedCount + 1 : null;
                // A dropped student's row comes back (one row per student and course).
                const [row] = await this.sequelize.query<{ enrolledAt: Date }>(
                  `INSERT INTO courses.enrollments
                   (course_id, student_id, status, position, enrolled_at, status_changed_at)
                 VALUES (:courseId, :studentId, :status, :position, now(), now())
                 ON CONFLICT (course_id, student_id) DO UPDATE SET status = EXCLUDED.status,
                   position = EXCLUDED.position, enrolled_at = EXCLUDED.enrolled_at,
                   status_changed_at = EXCLUDED.status_changed_at,
                   final_percent = NULL, final_grade = NULL
                 RETURNING enrolled_at AS "enrolledAt"`,
                  {
                    replacements: { courseId, studentId, status: outcome, position },
                    type: QueryTypes.SELECT,
                    transaction,
                  },
                );
                await this.sequelize.query(
                  outcome === "active"
                    ? `UPDATE courses.courses SET enrolled_count = enrolled_count + 1, updated_at = now() WHERE id = :courseId`
                    : `UPDATE courses.courses SET waitlisted_count = waitlisted_count + 1, updated_at = now() WHERE id = :courseId`,
                  { replacements: { courseId }, transaction },
                );
                await this.recordHistory(transaction, [
                  {
                    courseId,
                    studentId,
                    from,
                    to: outcome,
                    by: ctx.meta.user?.id ?? null,
                    reason: outcome === "active" ? "enrolled" : "course full: joined the waitlist",
                  },
                ]);
                if (outcome === "active") {
                  await this.recordEvent(ctx, transaction, "enrollment.created", {
                    courseId,
                    studentId,
                    courseCode: course.code,
                    courseTitle: course.title,
                  });
                }
                return { enrolledAt: row.enrolledAt, status: outcome, position };
              });
            }),
          );

          await this.invalidate(ctx, enrollmentKeys(courseId, studentId));
          ctx.meta.$statusCode = enrollment.status === "waitlisted" ? 202 : 201;
          ctx.meta.$location = `/api/courses/${courseId}/students`;
          return {
            courseId,
            studentId,
            enrolledAt: new Date(enrollment.enrolledAt).toISOString(),
            status: enrollment.status,
            position: enrollment.position,
          };
        },
      },

      drop: {
        ...NOT_RETRIED,
        ...coursesRoutes.actions.drop,
        async handler(
          this: CoursesThis,
          ctx: Context<{ id: string; studentId: string }, Meta>,
        ): Promise<null> {
          const { id: courseId, studentId } = ctx.params;
          if (!canActForStudent(ctx.meta.user!, studentId))
            throw forbidden("You may only drop your own enrollments");
          if (!isUuid(courseId) || !isUuid(studentId)) throw notFound("Enrollment");
          const self = ctx.meta.user?.studentId?.toLowerCase() === studentId.toLowerCase();
          const result = await this.sequelize.transaction((transaction) =>
            this.leaveCourse(
              ctx,
              transaction,
              courseId,
              studentId,
              self ? "dropped by the student" : "removed by staff",
            ),
          );
          if (!result) throw notFound("Enrollment");
          await this.invalidate(ctx, [
            ...enrollmentKeys(courseId, studentId),
            ...result.promoted.map((id) => cacheKeys.startingWith("courses.coursesOfStudent", id)),
          ]);
          return noContent(ctx);
        },
      },

      waitlist: {
        ...FAST_FAILOVER,
        ...coursesRoutes.actions.waitlist,
        async handler(
          this: CoursesThis,
          ctx: Context<{ id: string; page?: number; pageSize?: number }, Meta>,
        ): Promise<Page<{ studentId: string; position: number; waitlistedAt: string }>> {
          const course = await this.findResource(ctx, ctx.params.id);
          const denial = courseStaffDenial(ctx.meta.user!, course);
          if (denial) throw forbidden("Only the course's staff may see its waitlist");
          const page = await findPage<EnrollmentRow>(this.models.enrollment, ctx.params, {
            where: { courseId: course.id, status: "waitlisted" },
            order: [["position", "ASC"]],
          });
          return mapPage(page, (row) => ({
            studentId: row.studentId,
            position: row.position!,
            waitlistedAt: row.statusChangedAt.toISOString(),
          }));
        },
      },

      history: {
        ...FAST_FAILOVER,
        ...coursesRoutes.actions.history,
        async handler(
          this: CoursesThis,
          ctx: Context<{ courseId: string; studentId: string }, Meta>,
        ): Promise<{ rows: HistoryEntry[] }> {
          const { courseId, studentId } = ctx.params;
          const user = ctx.meta.user!;
          if (!isUuid(courseId) || !isUuid(studentId)) throw notFound("Enrollment");
          const course = await this.findResource(ctx, courseId);
          const own = user.role === "student" && canActForStudent(user, studentId);
          if (!own && !isCourseStaff(user, course))
            throw forbidden("Only the course's staff or the student may see this history");
          const rows = await this.sequelize.query<{
            from: EnrollmentStatus | null;
            to: EnrollmentStatus;
            at: Date;
            by: string | null;
            reason: string;
          }>(
            `SELECT from_status AS "from", to_status AS "to", at, by_user AS "by", reason
             FROM courses.enrollment_history
             WHERE course_id = :courseId AND student_id = :studentId ORDER BY id`,
            {
              replacements: { courseId: course.id, studentId: studentId.toLowerCase() },
              type: QueryTypes.SELECT,
            },
          );
          if (rows.length === 0) throw notFound("Enrollment");
          return { rows: rows.map((row) => ({ ...row, at: new Date(row.at).toISOString() })) };
        },
      },

      complete: {
        ...NOT_RETRIED,
        ...coursesRoutes.actions.complete,
        async handler(
          this: CoursesThis,
          ctx: Context<{ id: string }, Meta>,
        ): Promise<{ completed: number; waitlistDropped: number }> {
          const current = await this.findResource(ctx, ctx.params.id);
          const denial = courseStaffDenial(ctx.meta.user!, current);
          if (denial) throw forbidden(denial);
          const before = await this.sequelize.query<{ studentId: string }>(
            `SELECT student_id AS "studentId" FROM courses.enrollments
             WHERE course_id = :courseId AND status = 'active'`,
            { replacements: { courseId: current.id }, type: QueryTypes.SELECT },
          );
          // Asked before the transaction: a remote call must not hold the course's lock.
          const grades = await this.finalGrades(
            ctx,
            current.id,
            before.map((row) => row.studentId),
          );
          const by = ctx.meta.user?.id ?? null;
          const result = await this.sequelize.transaction(async (transaction) => {
            await this.lockCourse(transaction, current.id);
            const active = await this.sequelize.query<{ studentId: string }>(
              `SELECT student_id AS "studentId" FROM courses.enrollments
               WHERE course_id = :courseId AND status = 'active' FOR UPDATE`,
              { replacements: { courseId: current.id }, type: QueryTypes.SELECT, transaction },
            );
            for (const { studentId } of active) {
              const final = grades.get(studentId);
              await this.sequelize.query(
                `UPDATE courses.enrollments SET status = 'completed', status_changed_at = now(),
                   final_percent = :percent, final_grade = :grade
                 WHERE course_id = :courseId AND student_id = :studentId`,
                {
                  replacements: {
                    courseId: current.id,
                    studentId,
                    percent: final?.percent ?? null,
                    grade: final?.grade ?? null,
                  },
                  transaction,
                },
              );
              const completed: EnrollmentCompleted = {
                courseId: current.id,
                studentId,
                finalPercent: final?.percent ?? null,
                finalGrade: final?.grade ?? null,
              };
              await this.recordEvent(ctx, transaction, "enrollment.completed", completed);
            }
            // Nobody can take a seat in a finished course: the waitlist is let go.
            const waiting = await this.lockedWaitlist(transaction, current.id);
            if (waiting.length > 0) {
              await this.sequelize.query(
                `UPDATE courses.enrollments SET status = 'dropped', position = NULL,
                   status_changed_at = now()
                 WHERE course_id = :courseId AND status = 'waitlisted'`,
                { replacements: { courseId: current.id }, transaction },
              );
              await this.sequelize.query(
                `UPDATE courses.courses SET waitlisted_count = 0, updated_at = now() WHERE id = :courseId`,
                { replacements: { courseId: current.id }, transaction },
              );
            }
            await this.recordHistory(transaction, [
              ...active.map(({ studentId }) => ({
                courseId: current.id,
                studentId,
                from: "active" as const,
                to: "completed" as const,
                by,
                reason: "course completed",
              })),
              ...waiting.map(({ studentId }) => ({
                courseId: current.id,
                studentId,
                from: "waitlisted" as const,
                to: "dropped" as const,
                by,
                reason: "course completed: the waitlist was closed",
              })),
            ]);
            return { completed: active.length, waitlistDropped: waiting.length };
          });
          await this.invalidate(ctx, [
            ...this.resourceKeys(current.id),
            cacheKeys.startingWith("courses.rosterIds", current.id),
            cacheKeys.all("courses.coursesOfStudent"),
          ]);
          return result;
        },
      },

      // ---- Internal (byId, byIds, page: ResourceMixin) ----

      /**
       * What the caller is to a course (its staff, an enrolled student, or neither), for the
       * services whose records belong to a course. 404 for an unknown course.
       */
      access: {
        ...FAST_FAILOVER,
        visibility: "public",
        params: {
          courseId: idParam,
          user: identityParam,
        },
        async handler(
          this: CoursesThis,
          ctx: Context<{ courseId: string; user: Identity }>,
        ): Promise<CourseAccess> {
          const { user } = ctx.params;
          const course = await this.findResource(ctx, ctx.params.courseId);
          const staff = isCourseStaff(user, course);
          let enrolled = false;
          if (user.role === "student" && user.studentId) {
            const [row] = await this.sequelize.query(
              `SELECT 1 FROM courses.enrollments WHERE course_id = :courseId AND student_id = :studentId
               AND status IN ('active', 'completed')`,
              {
                replacements: { courseId: course.id, studentId: user.studentId.toLowerCase() },
                type: QueryTypes.SELECT,
              },
            );
            enrolled = Boolean(row);
          }
          return { course, staff, enrolled };
        },
      },

      rosterIds: {
        ...FAST_FAILOVER,
        visibility: "public",
        params: { courseId: { type: "uuid" }, ...pageParams },
        cache: { keys: ["courseId", "page", "pageSize"] },
        nearCache: true,
        async handler(
          this: CoursesThis,
          ctx: Context<{ courseId: string; page?: number; pageSize?: number }>,
        ): Promise<Page<string>> {
          // Plain rows and the total in one statement: every course-scoped read of another
          // service (gradebook, reports, schedule) pages through this roster.
          const request = pageRequest(ctx.params);
          const rows = await this.selectRows(
            "courses.rosterIds",
            `SELECT student_id, count(*) OVER () AS total FROM courses.enrollments
             WHERE course_id = $1 AND status = ANY($2::text[])
             ORDER BY enrolled_at, student_id LIMIT $3 OFFSET $4`,
            [ctx.params.courseId, SEATED, request.pageSize, request.offset],
          );
          const total =
            rows.length > 0 || request.offset === 0
              ? Number(rows[0]?.total ?? 0)
              : // A page past the end: its rows say nothing of the total.
                await this.models.enrollment.count({
                  where: { courseId: ctx.params.courseId, status: SEATED },
                });
          return toPage(
            rows.map((row) => row.student_id as string),
            total,
            request,
          );
        },
      },

      coursesOfStudent: {
        ...FAST_FAILOVER,
        visibility: "public",
        params: {
          studentId: { type: "uuid" },
          status: { type: "enum", values: [...ENROLLMENT_STATUSES], default: "active" },
          ...pageParams,
        },
        cache: { keys: ["studentId", "status", "page", "pageSize"] },
        nearCache: true,
        async handler(
          this: CoursesThis,
          ctx: Context<{
            studentId: string;
            status: EnrollmentStatus;
            page?: number;
            pageSize?: number;
          }>,
        ) {
          const page = await findPage<EnrollmentRow>(this.models.enrollment, ctx.params, {
            where: { studentId: ctx.params.studentId, status: ctx.params.status },
            order: [
              ["enrolledAt", "ASC"],
              ["courseId", "ASC"],
            ],
          });
          const courseIds = page.rows.map((row) => row.courseId);
          const courses = await this.adapter.model.findAll({ where: { id: courseIds } });
          const byId = new Map(
            courses.map((row) => [
              row.get("id") as string,
              toCourse(row.get({ plain: true }) as CourseRow),
            ]),
          );
          const enrolled = page.rows.flatMap((row) => {
            const course = byId.get(row.courseId);
            return course
              ? [
                  {
                    ...course,
                    enrolledAt: row.enrolledAt.toISOString(),
                    status: row.status,
                    position: row.position,
                    finalPercent: toPercent(row.finalPercent),
                    finalGrade: row.finalGrade,
                  },
                ]
              : [];
          });
          return { ...page, rows: enrolled };
        },
      },
    },

    channels: {
      /** A deleted student leaves every roster; seat counts follow. Idempotent. */
      "student.deleted": durableConsumer(async function (
        this: CoursesThis,
        ctx: Context<{ studentId: string }>,
      ) {
        const { studentId } = ctx.params;
        const held = await this.sequelize.query<{ courseId: string }>(
          `SELECT course_id AS "courseId" FROM courses.enrollments
           WHERE student_id = :studentId AND status IN ('active', 'waitlisted') ORDER BY course_id`,
          { replacements: { studentId }, type: QueryTypes.SELECT },
        );
        // One transaction per course (each frees a seat and promotes its waitlist); a redelivery
        // finds nothing left to drop.
        const courseIds: string[] = [];
        const promoted: string[] = [];
        for (const { courseId } of held) {
          const result = await this.sequelize.transaction((transaction) =>
            this.leaveCourse(ctx, transaction, courseId, studentId, "student deleted"),
          );
          if (result) {
            courseIds.push(courseId);
            promoted.push(...result.promoted);
          }
        }
        await this.invalidate(ctx, [
          ...courseIds.flatMap((courseId) => enrollmentKeys(courseId, studentId)),
          ...promoted.map((id) => cacheKeys.startingWith("courses.coursesOfStudent", id)),
        ]);
        if (courseIds.length > 0)
          this.logger.info("Student left rosters", { studentId, courses: courseIds.length });
      }),
    },

    methods: {
      async createResource(
        this: CoursesThis,
        ctx: Context,
        params: Record<string, unknown>,
      ): Promise<Course> {
        const values = courseReplacement(params);
        const problems = courseProblems({ ...values, enrolledCount: 0 });
        if (problems.length > 0) throw invalid(problems);
        const course = await this.sequelize.transaction((transaction) =>
          this.once(ctx, transaction, async () => {
            const row = await this.adapter.model.create(
              { ...values, teacherIds: initialTeacherIds((ctx.meta as Meta).user!) },
              { transaction },
            );
            return toCourse(row.get({ plain: true }) as CourseRow);
          }),
        );
        await this.invalidate(ctx, [cacheKeys.all("courses.page")]);
        return course;
      },

      async removeResource(this: CoursesThis, ctx: Context, course: Course): Promise<void> {
        // The course and its enrollments go together or not at all.
        const studentIds = await this.sequelize.transaction(async (transaction) => {
          // The course row first, like every change of seats: no lock-order deadlock.
          await this.lockCourse(transaction, course.id);
          const ids = await this.enrolledStudentIds(course.id, transaction);
          await this.models.enrollment.destroy({ where: { courseId: course.id }, transaction });
          await this.adapter.model.destroy({ where: { id: course.id }, transaction });
          await this.recordEvent(ctx, transaction, "course.deleted", {
            courseId: course.id,
            code: course.code,
            title: course.title,
            studentIds: ids,
          });
          return ids;
        });
        await this.invalidate(ctx, [
          ...this.resourceKeys(course.id),
          cacheKeys.startingWith("courses.rosterIds", course.id),
          ...studentIds.map((studentId) =>
            cacheKeys.startingWith("courses.coursesOfStudent", studentId),
          ),
        ]);
      },

      /**
       * SCHEDULE_CONFLICT: the course's future lessons must not overlap those of the student's
       * other courses (asked of the schedule service). A cluster that runs no schedule service
       * has no lessons, so there is nothing to check. `enroll` serializes a student's
       * enrollments around this check, so two simultaneous ones cannot both pass it.
       */
      async assertNoScheduleConflict(
        this: CoursesThis,
        ctx: Context,
        courseId: string,
        studentId: string,
        transaction?: Transaction,
      ): Promise<void> {
        const registry = this.broker.registry as unknown as { hasService(name: string): boolean };
        if (!registry.hasService("schedule")) return;
        // Seated and waiting courses both count: a promotion from the waitlist cannot be refused.
        const rows = await this.models.enrollment.findAll({
          where: { studentId, status: ["active", "waitlisted"] },
          attributes: ["courseId"],
          transaction,
        });
        const courseIds = rows
          .map((row) => row.get("courseId") as string)
          .filter((id) => id !== courseId);
        if (courseIds.length === 0) return;
        const conflicts: { lesson: { id: string }; clashesWith: { id: string } }[] = await ctx.call(
          "schedule.enrollmentConflicts",
          {
            courseId,
            courseIds,
          },
        );
        if (conflicts.length === 0) return;
        // Every lesson in the way once, as the other 409s name them, and the pairs that clash.
        const lessons = new Map(
          conflicts.flatMap((pair) => [pair.lesson, pair.clashesWith]).map((l) => [l.id, l]),
        );
        countScheduleConflict(this.broker, "schedule");
        throw conflict(
          "A lesson of this course overlaps a lesson of a course the student is enrolled in",
          "SCHEDULE_CONFLICT",
          { lessons: [...lessons.values()], conflicts },
        );
      },

      /**
       * 409 COURSE_FULL, read without a lock, when the course has neither a free seat nor room
       * on its waitlist and the student holds no place in it (one already seated or waiting is
       * told so by the locked path). A course read as not full goes on to the locked check,
       * which decides; one read as full was full at that instant, as the locked check would
       * have found had it run then.
       */
      async refuseIfFull(this: CoursesThis, courseId: string, studentId: string): Promise<void> {
        const [row] = await this.selectRows(
          "courses.seatsFor",
          `SELECT c.capacity, c.enrolled_count AS "enrolledCount",
             c.waitlist_capacity AS "waitlistCapacity", c.waitlisted_count AS "waitlistedCount",
             (SELECT e.status FROM courses.enrollments e
               WHERE e.course_id = c.id AND e.student_id = $2) AS status
           FROM courses.courses c WHERE c.id = $1`,
          [courseId, studentId],
        );
        if (!row || (row.status !== null && row.status !== "dropped")) return;
        if (enrollmentOutcome(row as unknown as Seats) === "full")
          throw conflict("The course is full", "COURSE_FULL");
      },

      async lockCourse(
        this: CoursesThis,
        transaction: Transaction,
        courseId: string,
      ): Promise<LockedCourse | null> {
        const [row] = await this.sequelize.query<LockedCourse>(
          `SELECT id, code, title, teacher_ids AS "teacherIds", capacity,
             enrolled_count AS "enrolledCount", waitlist_capacity AS "waitlistCapacity",
             waitlisted_count AS "waitlistedCount"
           FROM courses.courses WHERE id = :courseId FOR UPDATE`,
          { replacements: { courseId }, type: QueryTypes.SELECT, transaction },
        );
        return row ?? null;
      },

      async recordHistory(
        this: CoursesThis,
        transaction: Transaction,
        changes: StatusChange[],
      ): Promise<void> {
        if (changes.length === 0) return;
        const replacements: Record<string, unknown> = {};
        const values = changes.map((change, i) => {
          replacements[`c${i}`] = change.courseId;
          replacements[`s${i}`] = change.studentId;
          replacements[`f${i}`] = change.from;
          replacements[`t${i}`] = change.to;
          replacements[`b${i}`] = change.by;
          replacements[`r${i}`] = change.reason;
          return `(:c${i}, :s${i}, :f${i}, :t${i}, CAST(:b${i} AS uuid), :r${i})`;
        });
        await this.sequelize.query(
          `INSERT INTO courses.enrollment_history
             (course_id, student_id, from_status, to_status, by_user, reason)
           VALUES ${values.join(", ")}`,
          { replacements, transaction },
        );
      },

      async lockedWaitlist(
        this: CoursesThis,
        transaction: Transaction,
        courseId: string,
      ): Promise<WaitlistEntry[]> {
        return this.sequelize.query<WaitlistEntry>(
          `SELECT student_id AS "studentId", position FROM courses.enrollments
           WHERE course_id = :courseId AND status = 'waitlisted' ORDER BY position FOR UPDATE`,
          { replacements: { courseId }, type: QueryTypes.SELECT, transaction },
        );
      },

      async writePositions(
        this: CoursesThis,
        transaction: Transaction,
        courseId: string,
        positions: WaitlistEntry[],
      ): Promise<void> {
        if (positions.length === 0) return;
        const replacements: Record<string, unknown> = { courseId };
        const values = positions.map((entry, i) => {
          replacements[`s${i}`] = entry.studentId;
          replacements[`p${i}`] = entry.position;
          return `(CAST(:s${i} AS uuid), CAST(:p${i} AS integer))`;
        });
        await this.sequelize.query(
          `UPDATE courses.enrollments AS e SET position = v.position
           FROM (VALUES ${values.join(", ")}) AS v (student_id, position)
           WHERE e.course_id = :courseId AND e.student_id = v.student_id`,
          { replacements, transaction },
        );
      },

      /**
       * Seats the first waitlisted students while seats are free, in the caller's transaction
       * (the course row locked), and keeps the rest of the line dense. Returns who was promoted.
       */
      async promoteWaitlisted(
        this: CoursesThis,
        ctx: Context,
        transaction: Transaction,
        courseId: string,
        reason: string,
      ): Promise<string[]> {
        const course = await this.lockCourse(transaction, courseId);
        if (!course || course.waitlistedCount === 0 || freeSeats(course) === 0) return [];
        const waitlist = await this.lockedWaitlist(transaction, courseId);
        const plan = promotionPlan(waitlist, freeSeats(course));
        if (plan.promoted.length === 0) return [];
        await this.sequelize.query(
          `UPDATE courses.enrollments SET status = 'active', position = NULL,
             status_changed_at = now()
           WHERE course_id = :courseId AND student_id IN (:ids)`,
          { replacements: { courseId, ids: plan.promoted }, transaction },
        );
        await this.writePositions(transaction, courseId, movedPositions(waitlist, plan.remaining));
        await this.sequelize.query(
          `UPDATE courses.courses SET enrolled_count = enrolled_count + :n,
             waitlisted_count = waitlisted_count - :n, updated_at = now() WHERE id = :courseId`,
          { replacements: { courseId, n: plan.promoted.length }, transaction },
        );
        const by = (ctx.meta as Meta).user?.id ?? null;
        await this.recordHistory(
          transaction,
          plan.promoted.map((studentId) => ({
            courseId,
            studentId,
            from: "waitlisted" as const,
            to: "active" as const,
            by,
            reason,
          })),
        );
        for (const studentId of plan.promoted) {
          await this.recordEvent(ctx, transaction, "enrollment.promoted", {
            courseId,
            studentId,
            courseCode: course.code,
            courseTitle: course.title,
          });
        }
        return plan.promoted;
      },

      /**
       * A student leaves a course (active or waitlisted → dropped) in the caller's transaction:
       * a freed seat goes to the waitlist at once; a freed place in line closes up. Null when
       * the student holds no seat or place in this course.
       */
      async leaveCourse(
        this: CoursesThis,
        ctx: Context,
        transaction: Transaction,
        courseId: string,
        studentId: string,
        reason: string,
      ): Promise<{ promoted: string[] } | null> {
        const course = await this.lockCourse(transaction, courseId);
        if (!course) return null;
        const [existing] = await this.sequelize.query<{ status: EnrollmentStatus }>(
          `SELECT status FROM courses.enrollments
           WHERE course_id = :courseId AND student_id = :studentId FOR UPDATE`,
          { replacements: { courseId, studentId }, type: QueryTypes.SELECT, transaction },
        );
        if (!existing || !canTransition(existing.status, "dropped")) return null;
        await this.sequelize.query(
          `UPDATE courses.enrollments SET status = 'dropped', position = NULL,
             status_changed_at = now()
           WHERE course_id = :courseId AND student_id = :studentId`,
          { replacements: { courseId, studentId }, transaction },
        );
        if (existing.status === "active") {
          await this.sequelize.query(
            `UPDATE courses.courses SET enrolled_count = enrolled_count - 1, updated_at = now() WHERE id = :courseId`,
            { replacements: { courseId }, transaction },
          );
        } else {
          await this.sequelize.query(
            `UPDATE courses.courses SET waitlisted_count = waitlisted_count - 1, updated_at = now() WHERE id = :courseId`,
            { replacements: { courseId }, transaction },
          );
          const waitlist = await this.lockedWaitlist(transaction, courseId);
          await this.writePositions(
            transaction,
            courseId,
            movedPositions(waitlist, compactPositions(waitlist)),
          );
        }
        await this.recordHistory(transaction, [
          {
            courseId,
            studentId,
            from: existing.status,
            to: "dropped",
            by: (ctx.meta as Meta).user?.id ?? null,
            reason,
          },
        ]);
        await this.recordEvent(ctx, transaction, "enrollment.dropped", { courseId, studentId });
        const promoted = await this.promoteWaitlisted(
          ctx,
          transaction,
          courseId,
          "a seat opened: a student left",
        );
        return { promoted };
      },

      /**
       * Final percent and grade per student from the gradebook service, when a node offers
       * `gradebook.finalGrades`; otherwise (or if it fails) none: the results stay null.
       */
      async finalGrades(
        this: CoursesThis,
        ctx: Context,
        courseId: string,
        studentIds: string[],
      ): Promise<Map<string, { percent: number | null; grade: string | null }>> {
        const grades = new Map<string, { percent: number | null; grade: string | null }>();
        if (studentIds.length === 0) return grades;
        if (!this.broker.registry.actions.isAvailable(GRADEBOOK_FINAL_GRADES)) return grades;
        try {
          const rows: { studentId: string; percent: number | null; grade: string | null }[] =
            await ctx.call(GRADEBOOK_FINAL_GRADES, { courseId, studentIds });
          for (const row of rows)
            grades.set(row.studentId, { percent: row.percent, grade: row.grade });
        } catch (err) {
          this.logger.warn("The gradebook did not answer: final results recorded as null", {
            courseId,
            error: (err as Error).message,
          });
        }
        return grades;
      },

      async enrolledStudentIds(
        this: CoursesThis,
        courseId: string,
        transaction?: Transaction,
      ): Promise<string[]> {
        const rows = await this.models.enrollment.findAll({
          where: { courseId, status: ["active", "waitlisted"] },
          attributes: ["studentId"],
          transaction,
        });
        return rows.map((row) => row.get("studentId") as string);
      },

      async writeResource(
        this: CoursesThis,
        ctx: Context,
        current: Course,
        values: Partial<Course>,
      ): Promise<Course> {
        const next = { ...current, ...values };
        const problems = courseProblems(next);
        if (problems.length > 0) throw invalid(problems);
        if (Object.keys(values).length === 0) return current;
        const course = await this.sequelize.transaction((transaction) =>
          this.once(ctx, transaction, async () => {
            // The capacity check is repeated in SQL so a concurrent enrollment cannot slip under it.
            const [, rows] = await this.adapter.model.update(values, {
              where: {
                id: current.id,
                ...(values.capacity != null
                  ? { enrolledCount: { [Op.lte]: values.capacity } }
                  : {}),
              },
              returning: true,
              transaction,
            });
            if (rows.length === 0) {
              throw invalid([
                {
                  field: "capacity",
                  message: "must not be below the students already enrolled",
                  type: "capacityBelowEnrolled",
                },
              ]);
            }
            // A raised capacity (or none) seats the first waitlisted students, in this transaction.
            const promoted = await this.promoteWaitlisted(
              ctx,
              transaction,
              current.id,
              "a seat opened: the capacity was raised",
            );
            const updated =
              promoted.length === 0
                ? toCourse(rows[0].get({ plain: true }) as CourseRow)
                : toCourse(
                    (await this.adapter.model.findByPk(current.id, { transaction }))!.get({
                      plain: true,
                    }) as CourseRow,
                  );
            await this.recordEvent(ctx, transaction, "course.updated", {
              courseId: updated.id,
              code: updated.code,
              title: updated.title,
              studentIds: await this.enrolledStudentIds(updated.id, transaction),
            });
            return updated;
          }),
        );
        await this.invalidate(ctx, [
          ...this.resourceKeys(course.id),
          cacheKeys.startingWith("courses.rosterIds", course.id),
          cacheKeys.all("courses.coursesOfStudent"),
        ]);
        return course;
      },
    },
  };
}
