/**
 * courses — the course records and the enrollments (own database), and the course's side of
 * enrollments, answered with student data from the students service in one call per page.
 */
import type { Context, Service } from "moleculer";
import { DataTypes, Op, QueryTypes, type Transaction } from "sequelize";
import type { CampusConfig } from "../../lib/config";
import { FAST_FAILOVER, NOT_RETRIED } from "../../lib/fault-tolerance";
import {
  COURSE_SORT_FIELDS,
  courseChanges,
  courseProblems,
  courseReplacement,
  courseStaffDenial,
  initialTeacherIds,
  isCourseStaff,
  normaliseTeacherIds,
  toCourse,
  unknownTeacherProblems,
  type Course,
  type CourseAccess,
  type CourseRow,
  type Enrollment,
} from "./courses";
import { conflict, forbidden, invalid, notFound } from "../../lib/errors";
import { idParam, isUuid } from "../../lib/ids";
import { countEnrollment, countScheduleConflict, outcomeHooks } from "../../lib/metrics";
import { pageParams, pageRequest, toPage, type Page } from "../../lib/paging";
import { canActForStudent, type Identity } from "../../lib/permissions";
import type { Student } from "../students/students";
import { coursesMigrations } from "./courses.migrations";
import {
  CacheCleanerMixin,
  cacheKeys,
  type CacheCleanerThis,
} from "../../mixins/cache-cleaner.mixin";
import { DbMixin, type DbServiceThis } from "../../mixins/db.mixin";
import {
  DomainEventsMixin,
  durableConsumer,
  type DomainEventsThis,
} from "../../mixins/domain-events.mixin";
import { coursesRoutes } from "./courses.routes";
import { KeyedQueue } from "./student-locks";
import { ResourceMixin, type ResourceThis } from "../../mixins/resource.mixin";
import type { CampusServiceSchema } from "../../types/service";

type Meta = { user?: Identity; $statusCode?: number; $location?: string };
type CoursesThis = Service &
  DbServiceThis &
  DomainEventsThis &
  CacheCleanerThis &
  ResourceThis<Course> & {
    enrolledStudentIds(courseId: string, transaction?: Transaction): Promise<string[]>;
    assertNoScheduleConflict(
      ctx: Context,
      courseId: string,
      studentId: string,
      transaction?: Transaction,
    ): Promise<void>;
  };

const courseModel = {
  name: "course",
  define: {
    id: { type: DataTypes.UUID, primaryKey: true, defaultValue: DataTypes.UUIDV4 },
    code: { type: DataTypes.STRING(32), allowNull: false },
    title: { type: DataTypes.STRING(200), allowNull: false },
    description: { type: DataTypes.TEXT, allowNull: false, defaultValue: "" },
    capacity: { type: DataTypes.INTEGER, allowNull: true },
    enrolledCount: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
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
  },
  options: { tableName: "enrollments", timestamps: false },
};

const DUPLICATE_CODE = {
  message: "A course with this code already exists",
  type: "DUPLICATE_COURSE_CODE",
};
const ALREADY_ENROLLED = {
  message: "The student is already enrolled in this course",
  type: "ALREADY_ENROLLED",
};

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

export default function coursesService(config: CampusConfig): CampusServiceSchema<CoursesThis> {
  const embedded = !config.databaseUrls.courses;
  const studentQueue = new KeyedQueue();
  return {
    name: "courses",
    mixins: [
      DbMixin("courses", config, {
        model: courseModel,
        extraModels: [enrollmentModel],
        migrations: coursesMigrations,
        uniqueViolations: { courses_code_key: DUPLICATE_CODE, enrollments_pkey: ALREADY_ENROLLED },
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
          const enrollment = await studentQueue.run(studentId.toLowerCase(), async () => {
            if (embedded) await this.assertNoScheduleConflict(ctx, course.id, studentId);
            return this.sequelize.transaction(async (transaction) => {
              if (!embedded) {
                await this.sequelize.query(
                  "SELECT pg_advisory_xact_lock(:lockClass, hashtext(lower(:studentId)))",
                  { replacements: { lockClass: ENROLLMENT_LOCK_CLASS, studentId }, transaction },
                );
                await this.assertNoScheduleConflict(ctx, course.id, studentId, transaction);
              }
              // One conditional update takes the seat: concurrent enrollments cannot oversell.
              const [taken] = await this.sequelize.query<{ id: string }>(
                `UPDATE courses.courses SET enrolled_count = enrolled_count + 1, updated_at = now()
               WHERE id = :courseId AND (capacity IS NULL OR enrolled_count < capacity) RETURNING id`,
                { replacements: { courseId }, type: QueryTypes.SELECT, transaction },
              );
              if (!taken) {
                // A student already in a full course is told so, not that the course is full.
                const [enrolled] = await this.sequelize.query(
                  `SELECT 1 FROM courses.enrollments
                 WHERE course_id = :courseId AND student_id = :studentId`,
                  { replacements: { courseId, studentId }, type: QueryTypes.SELECT, transaction },
                );
                if (enrolled) throw conflict(ALREADY_ENROLLED.message, ALREADY_ENROLLED.type);
                throw conflict("The course is full", "COURSE_FULL");
              }
              const row = await this.models.enrollment.create(
                { courseId, studentId },
                { transaction },
              );
              await this.recordEvent(ctx, transaction, "enrollment.created", {
                courseId,
                studentId,
                courseCode: course.code,
                courseTitle: course.title,
              });
              return row.get({ plain: true }) as {
                courseId: string;
                studentId: string;
                enrolledAt: Date;
              };
            });
          });

          await this.invalidate(ctx, enrollmentKeys(courseId, studentId));
          ctx.meta.$statusCode = 201;
          ctx.meta.$location = `/api/courses/${courseId}/students`;
          return { courseId, studentId, enrolledAt: enrollment.enrolledAt.toISOString() };
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
          const dropped = await this.sequelize.transaction(async (transaction) => {
            const removed = await this.models.enrollment.destroy({
              where: { courseId, studentId },
              transaction,
            });
            if (removed === 0) return false;
            await this.sequelize.query(
              `UPDATE courses.courses SET enrolled_count = enrolled_count - 1, updated_at = now() WHERE id = :courseId`,
              { replacements: { courseId }, transaction },
            );
            await this.recordEvent(ctx, transaction, "enrollment.dropped", { courseId, studentId });
            return true;
          });
          if (!dropped) throw notFound("Enrollment");
          await this.invalidate(ctx, enrollmentKeys(courseId, studentId));
          ctx.meta.$statusCode = 204;
          return null;
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
          user: {
            type: "object",
            props: {
              id: { type: "uuid" },
              role: { type: "string" },
              studentId: { type: "uuid", nullable: true, optional: true },
            },
          },
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
              `SELECT 1 FROM courses.enrollments WHERE course_id = :courseId AND student_id = :studentId`,
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
          const request = pageRequest(ctx.params);
          const { rows, count } = await this.models.enrollment.findAndCountAll({
            where: { courseId: ctx.params.courseId },
            order: [
              ["enrolledAt", "ASC"],
              ["studentId", "ASC"],
            ],
            limit: request.pageSize,
            offset: request.offset,
          });
          return toPage(
            rows.map((row) => row.get("studentId") as string),
            count,
            request,
          );
        },
      },

      coursesOfStudent: {
        ...FAST_FAILOVER,
        visibility: "public",
        params: { studentId: { type: "uuid" }, ...pageParams },
        cache: { keys: ["studentId", "page", "pageSize"] },
        nearCache: true,
        async handler(
          this: CoursesThis,
          ctx: Context<{ studentId: string; page?: number; pageSize?: number }>,
        ) {
          const request = pageRequest(ctx.params);
          const { rows, count } = await this.models.enrollment.findAndCountAll({
            where: { studentId: ctx.params.studentId },
            order: [
              ["enrolledAt", "ASC"],
              ["courseId", "ASC"],
            ],
            limit: request.pageSize,
            offset: request.offset,
          });
          const courseIds = rows.map((row) => row.get("courseId") as string);
          const courses = await this.adapter.model.findAll({ where: { id: courseIds } });
          const byId = new Map(
            courses.map((row) => [
              row.get("id") as string,
              toCourse(row.get({ plain: true }) as CourseRow),
            ]),
          );
          const enrolled = rows.flatMap((row) => {
            const course = byId.get(row.get("courseId") as string);
            return course
              ? [{ ...course, enrolledAt: (row.get("enrolledAt") as Date).toISOString() }]
              : [];
          });
          return toPage(enrolled, count, request);
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
        const courseIds = await this.sequelize.transaction(async (transaction) => {
          const rows = await this.sequelize.query<{ course_id: string }>(
            `DELETE FROM courses.enrollments WHERE student_id = :studentId RETURNING course_id`,
            { replacements: { studentId }, type: QueryTypes.SELECT, transaction },
          );
          const ids = rows.map((row) => row.course_id);
          if (ids.length > 0) {
            await this.sequelize.query(
              `UPDATE courses.courses SET enrolled_count = enrolled_count - 1, updated_at = now() WHERE id IN (:ids)`,
              { replacements: { ids }, transaction },
            );
          }
          return ids;
        });
        await this.invalidate(
          ctx,
          courseIds.flatMap((courseId) => enrollmentKeys(courseId, studentId)),
        );
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
        const row = await this.adapter.model.create({
          ...values,
          teacherIds: initialTeacherIds((ctx.meta as Meta).user!),
        });
        await this.invalidate(ctx, [cacheKeys.all("courses.page")]);
        return toCourse(row.get({ plain: true }) as CourseRow);
      },

      async removeResource(this: CoursesThis, ctx: Context, course: Course): Promise<void> {
        // The course and its enrollments go together or not at all.
        const studentIds = await this.sequelize.transaction(async (transaction) => {
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
        const rows = await this.models.enrollment.findAll({
          where: { studentId },
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

      async enrolledStudentIds(
        this: CoursesThis,
        courseId: string,
        transaction?: Transaction,
      ): Promise<string[]> {
        const rows = await this.models.enrollment.findAll({
          where: { courseId },
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
        const course = await this.sequelize.transaction(async (transaction) => {
          // The capacity check is repeated in SQL so a concurrent enrollment cannot slip under it.
          const [, rows] = await this.adapter.model.update(values, {
            where: {
              id: current.id,
              ...(values.capacity != null ? { enrolledCount: { [Op.lte]: values.capacity } } : {}),
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
          const updated = toCourse(rows[0].get({ plain: true }) as CourseRow);
          await this.recordEvent(ctx, transaction, "course.updated", {
            courseId: updated.id,
            code: updated.code,
            title: updated.title,
            studentIds: await this.enrolledStudentIds(updated.id, transaction),
          });
          return updated;
        });
        await this.invalidate(ctx, [
          ...this.resourceKeys(course.id),
          cacheKeys.all("courses.coursesOfStudent"),
        ]);
        return course;
      },
    },
  };
}
