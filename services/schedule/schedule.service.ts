/**
 * schedule — lessons of courses (single or weekly series), attendance, the caller's schedule and
 * its calendar feed (own database). Room and teacher double-bookings are refused by exclusion
 * constraints in the database, so they hold under concurrency; who may do what comes from the
 * courses service (`courses.access`: course staff, enrolled student).
 */
import { randomUUID } from "crypto";
import ical, { ICalEventStatus } from "ical-generator";
import type { Context } from "moleculer";
import { DataTypes, QueryTypes, type Transaction } from "sequelize";
import type { CampusConfig } from "../../lib/config";
import { recordIdAttribute } from "../../lib/database";
import { conflict, forbidden, invalid, notFound, type FieldError } from "../../lib/errors";
import { created, noContent } from "../../lib/responses";
import { LONG_READ, NOT_RETRIED } from "../../lib/fault-tolerance";
import { isUuid, uuidListParam } from "../../lib/ids";
import { countScheduleConflict } from "../../lib/metrics";
import { pageParams, pageRequest, toPage, type Page } from "../../lib/paging";
import { canActForStudent, type Identity } from "../../lib/permissions";
import {
  CacheCleanerMixin,
  cacheKeys,
  type CacheCleanerThis,
} from "../../mixins/cache-cleaner.mixin";
import { DbMixin } from "../../mixins/db.mixin";
import { DomainEventsMixin, durableConsumer } from "../../mixins/domain-events.mixin";
import type { CourseAccess } from "../courses/courses";
import {
  attendanceSummary,
  defaultTitle,
  duplicateStudentProblems,
  feedTokenHash,
  feedUrl,
  isFeedToken,
  lessonUid,
  newFeedToken,
  normaliseRoom,
  notEnrolledProblems,
  parseSlot,
  scheduleRange,
  slotProblems,
  timeZoneProblems,
  toLesson,
  weeklySlots,
  type AttendanceRecord,
  type AttendanceStatus,
  type CourseAttendance,
  type Lesson,
  type LessonKind,
  type LessonRow,
  type TimeSlot,
} from "./schedule";
import { scheduleMigrations } from "./schedule.migrations";
import { scheduleRoutes } from "./schedule.routes";
import { CourseAccessMixin, type CourseAccessThis } from "../../mixins/course-access.mixin";
import type { CampusMeta, CampusServiceSchema, DbEventsThis } from "../../types/service";

type Meta = CampusMeta & { $responseType?: string; $responseHeaders?: Record<string, string> };

interface LessonValues {
  title: string;
  kind: LessonKind;
  room: string | null;
  teacherId: string | null;
}

/** Whose lessons a read lists: some courses' (a course, a student's courses) or a teacher's. */
type LessonScope = { courseIds: string[] } | { teacherId: string };

type ScheduleThis = DbEventsThis &
  CacheCleanerThis &
  CourseAccessThis & {
    attendanceOf(studentId: string, courseId?: string): Promise<CourseAttendance[]>;
    staffAccess(ctx: Context, courseId: string): Promise<CourseAccess>;
    findLesson(id: string, transaction?: Transaction): Promise<LessonRow>;
    courseIdsOfStudent(ctx: Context, studentId: string): Promise<string[]>;
    insertLessons(
      slots: TimeSlot[],
      courseId: string,
      seriesId: string | null,
      values: LessonValues,
    ): Promise<Lesson[]>;
    bookingConflict(
      err: unknown,
      slots: TimeSlot[],
      values: LessonValues,
      except?: string,
    ): Promise<never>;
    lessonsPage(
      ctx: Context,
      scope: LessonScope,
      params: { from?: string; to?: string; page?: number; pageSize?: number },
    ): Promise<Page<Lesson>>;
    lessonsChanged(ctx: Context): Promise<void>;
    lessonsFor(ctx: Context, user: Identity, range: { from: Date; to: Date }): Promise<LessonRow[]>;
  };

const lessonModel = {
  name: "lesson",
  define: {
    id: recordIdAttribute(),
    courseId: { type: DataTypes.UUID, allowNull: false },
    seriesId: { type: DataTypes.UUID, allowNull: true },
    title: { type: DataTypes.STRING(200), allowNull: false },
    kind: { type: DataTypes.STRING(16), allowNull: false },
    startsAt: { type: DataTypes.DATE, allowNull: false },
    endsAt: { type: DataTypes.DATE, allowNull: false },
    room: { type: DataTypes.STRING(64), allowNull: true },
    teacherId: { type: DataTypes.UUID, allowNull: true },
    cancelled: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: false },
    sequence: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
  },
  options: { tableName: "lessons" },
};

/** The exclusion constraints and the 409 each means. */
const BOOKING_CONSTRAINTS: Record<
  string,
  { type: string; kind: "room" | "teacher"; message: string; column: "room" | "teacherId" }
> = {
  lessons_room_overlap: {
    type: "ROOM_CONFLICT",
    kind: "room",
    message: "The room is booked at that time",
    column: "room",
  },
  lessons_teacher_overlap: {
    type: "TEACHER_CONFLICT",
    kind: "teacher",
    message: "The teacher has another lesson at that time",
    column: "teacherId",
  },
};

/** The most lessons a 409 names, and a calendar feed carries. */
const MAX_NAMED_CONFLICTS = 20;
const MAX_FEED_LESSONS = 2000;
/** A feed covers the last 30 days and the next year. */
const FEED_PAST_DAYS = 30;
const FEED_FUTURE_DAYS = 366;

const STAFF_ONLY = "Only an administrator or a teacher of this course may change its schedule";

/** The outcome of a failed statement: PostgreSQL's SQLSTATE and constraint, if any. */
function pgFailure(err: unknown): { code?: string; constraint?: string } {
  const parent = (err as { parent?: { code?: string; constraint?: string } }).parent;
  return parent ?? {};
}

function lessonValues(
  params: { title?: string; kind?: LessonKind; room?: string | null; teacherId?: string | null },
  user: Identity,
): LessonValues {
  const kind = params.kind ?? "lecture";
  return {
    title: params.title ?? defaultTitle(kind),
    kind,
    room: normaliseRoom(params.room),
    // A teacher booking a lesson teaches it unless they name someone else (or null).
    teacherId:
      params.teacherId !== undefined
        ? (params.teacherId?.toLowerCase() ?? null)
        : user.role === "teacher"
          ? user.id
          : null,
  };
}

/** The lesson's teacher must be one of the course's teachers. */
function teacherProblems(teacherId: string | null, access: CourseAccess): FieldError[] {
  if (teacherId === null || access.course.teacherIds.includes(teacherId)) return [];
  return [{ field: "teacherId", message: "is not a teacher of this course", type: "teacher" }];
}

export default function scheduleService(config: CampusConfig): CampusServiceSchema<ScheduleThis> {
  const publicBase = config.publicUrl ?? `http://localhost:${config.port}`;
  return {
    name: "schedule",
    mixins: [
      CourseAccessMixin,
      DbMixin("schedule", config, {
        model: lessonModel,
        migrations: scheduleMigrations,
        uniqueViolations: {},
      }),
      CacheCleanerMixin,
      DomainEventsMixin,
    ],
    settings: { ...scheduleRoutes.settings },

    actions: {
      // ---- Published ----

      createLesson: {
        ...NOT_RETRIED,
        ...scheduleRoutes.actions.createLesson,
        async handler(
          this: ScheduleThis,
          ctx: Context<
            {
              id: string;
              startsAt: string;
              endsAt: string;
              title?: string;
              kind?: LessonKind;
              room?: string | null;
              teacherId?: string | null;
            },
            Meta
          >,
        ): Promise<Lesson> {
          const access = await this.staffAccess(ctx, ctx.params.id);
          const values = lessonValues(ctx.params, ctx.meta.user!);
          const slot = parseSlot(ctx.params.startsAt, ctx.params.endsAt);
          const problems = [
            ...(Array.isArray(slot) ? slot : []),
            ...teacherProblems(values.teacherId, access),
          ];
          if (problems.length > 0 || Array.isArray(slot)) throw invalid(problems);
          const slots = [{ startsAt: slot.start.toJSDate(), endsAt: slot.end.toJSDate() }];
          const [lesson] = await this.insertLessons(slots, access.course.id, null, values);
          await this.lessonsChanged(ctx);
          return created(ctx, `/api/lessons/${lesson.id}`, lesson);
        },
      },

      createSeries: {
        ...NOT_RETRIED,
        ...scheduleRoutes.actions.createSeries,
        async handler(
          this: ScheduleThis,
          ctx: Context<
            {
              id: string;
              startsAt: string;
              endsAt: string;
              weeks: number;
              timeZone?: string;
              title?: string;
              kind?: LessonKind;
              room?: string | null;
              teacherId?: string | null;
            },
            Meta
          >,
        ): Promise<{ seriesId: string; lessons: Lesson[] }> {
          const access = await this.staffAccess(ctx, ctx.params.id);
          const values = lessonValues(ctx.params, ctx.meta.user!);
          const slot = parseSlot(ctx.params.startsAt, ctx.params.endsAt);
          const problems = [
            ...(Array.isArray(slot) ? slot : []),
            ...timeZoneProblems(ctx.params.timeZone),
            ...teacherProblems(values.teacherId, access),
          ];
          if (problems.length > 0 || Array.isArray(slot)) throw invalid(problems);
          const slots = weeklySlots(slot.start, slot.end, ctx.params.weeks, ctx.params.timeZone);
          // A lesson that straddles a DST change may come out longer than allowed: name it.
          const stretched = slots.flatMap(slotProblems);
          if (stretched.length > 0) throw invalid(stretched);
          const seriesId = randomUUID();
          const lessons = await this.insertLessons(slots, access.course.id, seriesId, values);
          await this.lessonsChanged(ctx);
          return created(ctx, `/api/lessons/${lessons[0].id}`, { seriesId, lessons });
        },
      },

      getLesson: {
        ...LONG_READ,
        ...scheduleRoutes.actions.getLesson,
        async handler(this: ScheduleThis, ctx: Context<{ id: string }, Meta>): Promise<Lesson> {
          const row = await this.findLesson(ctx.params.id);
          if (ctx.meta.user!.role === "student") {
            const access = await this.courseAccess(ctx, row.course_id);
            if (!access.enrolled)
              throw forbidden("Only students enrolled in its course may see it");
          }
          return toLesson(row);
        },
      },

      updateLesson: {
        ...NOT_RETRIED,
        ...scheduleRoutes.actions.updateLesson,
        async handler(
          this: ScheduleThis,
          ctx: Context<
            {
              id: string;
              startsAt?: string;
              endsAt?: string;
              title?: string;
              kind?: LessonKind;
              room?: string | null;
              teacherId?: string | null;
              cancelled?: boolean;
            },
            Meta
          >,
        ): Promise<Lesson> {
          const { params } = ctx;
          const current = await this.findLesson(params.id);
          const access = await this.staffAccess(ctx, current.course_id);
          const before = toLesson(current);
          const slot = parseSlot(
            params.startsAt ?? before.startsAt,
            params.endsAt ?? before.endsAt,
          );
          const teacherId =
            params.teacherId !== undefined
              ? (params.teacherId?.toLowerCase() ?? null)
              : current.teacher_id;
          const problems = [
            ...(Array.isArray(slot) ? slot : []),
            ...(params.teacherId !== undefined ? teacherProblems(teacherId, access) : []),
          ];
          if (problems.length > 0 || Array.isArray(slot)) throw invalid(problems);
          const next = {
            title: params.title ?? current.title,
            kind: params.kind ?? current.kind,
            room: params.room !== undefined ? normaliseRoom(params.room) : current.room,
            teacherId,
            cancelled: params.cancelled ?? current.cancelled,
            startsAt: slot.start.toJSDate(),
            endsAt: slot.end.toJSDate(),
          };
          const moved =
            next.startsAt.getTime() !== new Date(current.starts_at).getTime() ||
            next.endsAt.getTime() !== new Date(current.ends_at).getTime() ||
            (next.room ?? "").toLowerCase() !== (current.room ?? "").toLowerCase();
          const event = next.cancelled
            ? current.cancelled
              ? null
              : "lesson.cancelled"
            : moved
              ? "lesson.rescheduled"
              : null;
          const studentIds = event ? await this.rosterOf(ctx, current.course_id) : [];
          try {
            const updated = await this.sequelize.transaction(async (transaction) => {
              const [row] = await this.sequelize.query<LessonRow>(
                `UPDATE schedule.lessons SET title = :title, kind = :kind, room = :room,
                   teacher_id = :teacherId, cancelled = :cancelled, starts_at = :startsAt,
                   ends_at = :endsAt, sequence = sequence + 1, updated_at = now()
                 WHERE id = :id RETURNING *`,
                {
                  replacements: { ...next, id: current.id },
                  type: QueryTypes.SELECT,
                  transaction,
                },
              );
              if (!row) throw notFound("Lesson");
              const lesson = toLesson(row);
              if (event) {
                await this.recordEvent(ctx, transaction, event, {
                  lessonId: lesson.id,
                  courseId: lesson.courseId,
                  courseCode: access.course.code,
                  title: lesson.title,
                  startsAt: lesson.startsAt,
                  endsAt: lesson.endsAt,
                  room: lesson.room,
                  previousStartsAt: before.startsAt,
                  studentIds,
                });
              }
              return lesson;
            });
            await this.lessonsChanged(ctx);
            return updated;
          } catch (err) {
            return this.bookingConflict(err, [next], next, current.id);
          }
        },
      },

      removeLesson: {
        ...NOT_RETRIED,
        ...scheduleRoutes.actions.removeLesson,
        async handler(this: ScheduleThis, ctx: Context<{ id: string }, Meta>): Promise<null> {
          const current = await this.findLesson(ctx.params.id);
          const access = await this.staffAccess(ctx, current.course_id);
          const lesson = toLesson(current);
          // Removing a lesson that was still to happen tells its students it will not.
          const tellStudents = !current.cancelled && new Date(current.ends_at) > new Date();
          const studentIds = tellStudents ? await this.rosterOf(ctx, current.course_id) : [];
          await this.sequelize.transaction(async (transaction) => {
            await this.sequelize.query(`DELETE FROM schedule.lessons WHERE id = :id`, {
              replacements: { id: current.id },
              transaction,
            });
            if (tellStudents) {
              await this.recordEvent(ctx, transaction, "lesson.cancelled", {
                lessonId: lesson.id,
                courseId: lesson.courseId,
                courseCode: access.course.code,
                title: lesson.title,
                startsAt: lesson.startsAt,
                endsAt: lesson.endsAt,
                room: lesson.room,
                previousStartsAt: lesson.startsAt,
                studentIds,
              });
            }
          });
          await this.lessonsChanged(ctx);
          return noContent(ctx);
        },
      },

      courseSchedule: {
        ...LONG_READ,
        ...scheduleRoutes.actions.courseSchedule,
        async handler(
          this: ScheduleThis,
          ctx: Context<
            { id: string; from?: string; to?: string; page?: number; pageSize?: number },
            Meta
          >,
        ): Promise<Page<Lesson>> {
          const access = await this.courseAccess(ctx, ctx.params.id);
          if (ctx.meta.user!.role === "student" && !access.enrolled)
            throw forbidden("Only students enrolled in this course may see its schedule");
          return this.lessonsPage(ctx, { courseIds: [access.course.id] }, ctx.params);
        },
      },

      mySchedule: {
        ...LONG_READ,
        ...scheduleRoutes.actions.mySchedule,
        async handler(
          this: ScheduleThis,
          ctx: Context<{ from?: string; to?: string; page?: number; pageSize?: number }, Meta>,
        ): Promise<Page<Lesson>> {
          const user = ctx.meta.user!;
          if (user.role === "student") {
            const courseIds = user.studentId
              ? await this.courseIdsOfStudent(ctx, user.studentId)
              : [];
            if (courseIds.length === 0) {
              const range = scheduleRange(ctx.params);
              if (Array.isArray(range)) throw invalid(range);
              return toPage([], 0, pageRequest(ctx.params));
            }
            return this.lessonsPage(ctx, { courseIds }, ctx.params);
          }
          return this.lessonsPage(ctx, { teacherId: user.id }, ctx.params);
        },
      },

      recordAttendance: {
        ...NOT_RETRIED,
        ...scheduleRoutes.actions.recordAttendance,
        async handler(
          this: ScheduleThis,
          ctx: Context<
            {
              id: string;
              records: { studentId: string; status: AttendanceStatus; note?: string }[];
            },
            Meta
          >,
        ): Promise<{ rows: AttendanceRecord[] }> {
          const lesson = await this.findLesson(ctx.params.id);
          await this.staffAccess(ctx, lesson.course_id);
          const { records } = ctx.params;
          const enrolled = new Set(await this.rosterOf(ctx, lesson.course_id));
          const problems = [
            ...duplicateStudentProblems(records),
            ...notEnrolledProblems(records, enrolled),
          ];
          if (problems.length > 0) throw invalid(problems);
          // All records or none.
          await this.sequelize.transaction(async (transaction) => {
            for (const record of records) {
              await this.sequelize.query(
                `INSERT INTO schedule.attendance (lesson_id, student_id, course_id, status, note)
                 VALUES (:lessonId, :studentId, :courseId, :status, :note)
                 ON CONFLICT (lesson_id, student_id) DO UPDATE
                   SET status = EXCLUDED.status, note = EXCLUDED.note, recorded_at = now()`,
                {
                  replacements: {
                    lessonId: lesson.id,
                    studentId: record.studentId.toLowerCase(),
                    courseId: lesson.course_id,
                    status: record.status,
                    note: record.note ?? null,
                  },
                  transaction,
                },
              );
            }
          });
          return ctx.call("schedule.attendanceOfLesson", { lessonId: lesson.id });
        },
      },

      lessonAttendance: {
        ...LONG_READ,
        ...scheduleRoutes.actions.lessonAttendance,
        async handler(
          this: ScheduleThis,
          ctx: Context<{ id: string }, Meta>,
        ): Promise<{ rows: AttendanceRecord[] }> {
          const lesson = await this.findLesson(ctx.params.id);
          await this.staffAccess(ctx, lesson.course_id);
          return ctx.call("schedule.attendanceOfLesson", { lessonId: lesson.id });
        },
      },

      studentAttendance: {
        ...LONG_READ,
        ...scheduleRoutes.actions.studentAttendance,
        async handler(
          this: ScheduleThis,
          ctx: Context<{ id: string }, Meta>,
        ): Promise<{ courses: CourseAttendance[] }> {
          const studentId = ctx.params.id.toLowerCase();
          if (!canActForStudent(ctx.meta.user!, studentId))
            throw forbidden("You may only see your own attendance");
          if (!isUuid(studentId)) throw notFound("Student");
          await ctx.call("students.byId", { id: studentId });
          return { courses: await this.attendanceOf(studentId) };
        },
      },

      createFeed: {
        ...NOT_RETRIED,
        ...scheduleRoutes.actions.createFeed,
        async handler(this: ScheduleThis, ctx: Context<unknown, Meta>): Promise<{ url: string }> {
          const token = newFeedToken();
          // One feed per user: the new secret replaces (revokes) the old one.
          await this.sequelize.query(
            `INSERT INTO schedule.feed_tokens (user_id, token_hash) VALUES (:userId, :hash)
             ON CONFLICT (user_id) DO UPDATE SET token_hash = EXCLUDED.token_hash, created_at = now()`,
            { replacements: { userId: ctx.meta.user!.id, hash: feedTokenHash(token) } },
          );
          const url = feedUrl(publicBase, token);
          return created(ctx, url, { url });
        },
      },

      feed: {
        ...LONG_READ,
        ...scheduleRoutes.actions.feed,
        async handler(this: ScheduleThis, ctx: Context<{ token: string }, Meta>): Promise<string> {
          if (!isFeedToken(ctx.params.token)) throw notFound("Calendar feed");
          const [owner] = await this.sequelize.query<{ user_id: string }>(
            `SELECT user_id FROM schedule.feed_tokens WHERE token_hash = :hash`,
            { replacements: { hash: feedTokenHash(ctx.params.token) }, type: QueryTypes.SELECT },
          );
          if (!owner) throw notFound("Calendar feed");
          // The account as it is now: a disabled account's feed stops, a changed role follows.
          const account: (Identity & { disabled: boolean }) | null = await ctx.call(
            "users.account",
            {
              id: owner.user_id,
            },
          );
          if (!account || account.disabled) throw notFound("Calendar feed");
          const now = Date.now();
          const lessons = await this.lessonsFor(ctx, account, {
            from: new Date(now - FEED_PAST_DAYS * 86400000),
            to: new Date(now + FEED_FUTURE_DAYS * 86400000),
          });
          const calendar = ical({
            name: "Campus schedule",
            prodId: "//Campus//Schedule//EN",
            ttl: 3600,
          });
          for (const row of lessons) {
            calendar.createEvent({
              id: lessonUid(row.id),
              // No time zone: DTSTART/DTEND are written in UTC (…Z), which no client shifts.
              start: new Date(row.starts_at),
              end: new Date(row.ends_at),
              stamp: new Date(row.updated_at),
              lastModified: new Date(row.updated_at),
              created: new Date(row.created_at),
              sequence: row.sequence,
              summary: row.title,
              location: row.room,
              status: row.cancelled ? ICalEventStatus.CANCELLED : ICalEventStatus.CONFIRMED,
            });
          }
          ctx.meta.$responseType = "text/calendar; charset=utf-8";
          ctx.meta.$responseHeaders = { "Cache-Control": "private, no-store" };
          return calendar.toString();
        },
      },

      // ---- Internal ----

      /**
       * One page of lessons starting in [from, to), by `startsAt`: of some courses, or of a
       * teacher. Cached; every lesson write cleans it (`lessonsChanged`).
       */
      lessonsPage: {
        ...LONG_READ,
        visibility: "public",
        params: {
          courseIds: { ...uuidListParam(1000), optional: true },
          teacherId: { type: "uuid", optional: true },
          from: { type: "string" },
          to: { type: "string" },
          ...pageParams,
        },
        cache: { keys: ["courseIds", "teacherId", "from", "to", "page", "pageSize"] },
        async handler(
          this: ScheduleThis,
          ctx: Context<{
            courseIds?: string[];
            teacherId?: string;
            from: string;
            to: string;
            page?: number;
            pageSize?: number;
          }>,
        ): Promise<Page<Lesson>> {
          const { courseIds, teacherId, from, to } = ctx.params;
          const request = pageRequest(ctx.params);
          const where = courseIds ? "course_id IN (:courseIds)" : "teacher_id = :teacherId";
          const all = { courseIds: courseIds ?? [], teacherId: teacherId ?? null, from, to };
          const condition = `${where} AND starts_at >= :from AND starts_at < :to`;
          const [rows, [{ count }]] = await Promise.all([
            this.sequelize.query<LessonRow>(
              `SELECT * FROM schedule.lessons WHERE ${condition}
               ORDER BY starts_at, id LIMIT :limit OFFSET :offset`,
              {
                replacements: { ...all, limit: request.pageSize, offset: request.offset },
                type: QueryTypes.SELECT,
              },
            ),
            this.sequelize.query<{ count: string }>(
              `SELECT count(*) AS count FROM schedule.lessons WHERE ${condition}`,
              { replacements: all, type: QueryTypes.SELECT },
            ),
          ]);
          return toPage(rows.map(toLesson), Number(count), request);
        },
      },

      /**
       * One student's attendance in one course, summarised as `GET /students/:id/attendance`
       * does; null without a record (profiles' `full_attendance`).
       */
      courseAttendanceOf: {
        ...LONG_READ,
        visibility: "public",
        params: { studentId: { type: "uuid" }, courseId: { type: "uuid" } },
        async handler(
          this: ScheduleThis,
          ctx: Context<{ studentId: string; courseId: string }>,
        ): Promise<CourseAttendance | null> {
          const [summary] = await this.attendanceOf(
            ctx.params.studentId.toLowerCase(),
            ctx.params.courseId.toLowerCase(),
          );
          return summary ?? null;
        },
      },

      attendanceOfLesson: {
        ...LONG_READ,
        visibility: "public",
        params: { lessonId: { type: "uuid" } },
        async handler(
          this: ScheduleThis,
          ctx: Context<{ lessonId: string }>,
        ): Promise<{ rows: AttendanceRecord[] }> {
          const rows = await this.sequelize.query<{
            lesson_id: string;
            student_id: string;
            status: AttendanceStatus;
            note: string | null;
            recorded_at: Date;
          }>(
            `SELECT lesson_id, student_id, status, note, recorded_at FROM schedule.attendance
             WHERE lesson_id = :lessonId ORDER BY student_id`,
            { replacements: { lessonId: ctx.params.lessonId }, type: QueryTypes.SELECT },
          );
          return {
            rows: rows.map((row) => ({
              lessonId: row.lesson_id,
              studentId: row.student_id,
              status: row.status,
              note: row.note,
              recordedAt: new Date(row.recorded_at).toISOString(),
            })),
          };
        },
      },

      /** A course's lessons and every attendance record of them, for the reports service. */
      attendanceOfCourse: {
        ...LONG_READ,
        visibility: "public",
        params: { courseId: { type: "uuid" } },
        async handler(
          this: ScheduleThis,
          ctx: Context<{ courseId: string }>,
        ): Promise<{
          lessons: Pick<Lesson, "id" | "title" | "startsAt" | "cancelled">[];
          records: Pick<AttendanceRecord, "lessonId" | "studentId" | "status">[];
        }> {
          const courseId = ctx.params.courseId.toLowerCase();
          const [lessons, records] = await Promise.all([
            this.sequelize.query<{
              id: string;
              title: string;
              starts_at: Date;
              cancelled: boolean;
            }>(
              `SELECT id, title, starts_at, cancelled FROM schedule.lessons
               WHERE course_id = :courseId ORDER BY starts_at, id`,
              { replacements: { courseId }, type: QueryTypes.SELECT },
            ),
            this.sequelize.query<{
              lesson_id: string;
              student_id: string;
              status: AttendanceStatus;
            }>(
              `SELECT lesson_id, student_id, status FROM schedule.attendance
               WHERE course_id = :courseId`,
              { replacements: { courseId }, type: QueryTypes.SELECT },
            ),
          ]);
          return {
            lessons: lessons.map((row) => ({
              id: row.id,
              title: row.title,
              startsAt: new Date(row.starts_at).toISOString(),
              cancelled: row.cancelled,
            })),
            records: records.map((row) => ({
              lessonId: row.lesson_id,
              studentId: row.student_id,
              status: row.status,
            })),
          };
        },
      },

      /**
       * For courses.enroll: the future, non-cancelled lessons of `courseId` that overlap future,
       * non-cancelled lessons of `courseIds` (the student's other courses), in pairs.
       */
      enrollmentConflicts: {
        ...LONG_READ,
        visibility: "public",
        params: {
          courseId: { type: "uuid" },
          courseIds: uuidListParam(1000),
        },
        async handler(
          this: ScheduleThis,
          ctx: Context<{ courseId: string; courseIds: string[] }>,
        ): Promise<{ lesson: Lesson; clashesWith: Lesson }[]> {
          const courseIds = ctx.params.courseIds.filter((id) => id !== ctx.params.courseId);
          if (courseIds.length === 0) return [];
          const rows = await this.sequelize.query<Record<string, unknown>>(
            `SELECT to_jsonb(a) AS lesson, to_jsonb(b) AS other
             FROM schedule.lessons a
             JOIN schedule.lessons b
               ON b.course_id IN (:courseIds) AND NOT b.cancelled AND b.ends_at > now()
              AND tstzrange(a.starts_at, a.ends_at) && tstzrange(b.starts_at, b.ends_at)
             WHERE a.course_id = :courseId AND NOT a.cancelled AND a.ends_at > now()
             ORDER BY a.starts_at, b.starts_at LIMIT ${MAX_NAMED_CONFLICTS}`,
            {
              replacements: { courseId: ctx.params.courseId, courseIds },
              type: QueryTypes.SELECT,
            },
          );
          return rows.map((row) => ({
            lesson: toLesson(row.lesson as LessonRow),
            clashesWith: toLesson(row.other as LessonRow),
          }));
        },
      },
    },

    channels: {
      /** A deleted course's lessons (and their attendance) go with it. Idempotent. */
      "course.deleted": durableConsumer(async function (
        this: ScheduleThis,
        ctx: Context<{ courseId: string }>,
      ) {
        const removed = await this.sequelize.query(
          `DELETE FROM schedule.lessons WHERE course_id = :courseId RETURNING id`,
          { replacements: { courseId: ctx.params.courseId }, type: QueryTypes.SELECT },
        );
        if (removed.length > 0) await this.lessonsChanged(ctx);
        if (removed.length > 0)
          this.logger.info("Lessons of a deleted course removed", {
            courseId: ctx.params.courseId,
            lessons: removed.length,
          });
      }),
    },

    methods: {
      /** A student's attendance per course (of one course when given). */
      async attendanceOf(
        this: ScheduleThis,
        studentId: string,
        courseId?: string,
      ): Promise<CourseAttendance[]> {
        const rows = await this.sequelize.query<{ course_id: string; status: AttendanceStatus }>(
          `SELECT course_id, status FROM schedule.attendance
           WHERE student_id = :studentId ${courseId ? "AND course_id = :courseId" : ""}`,
          { replacements: { studentId, courseId: courseId ?? null }, type: QueryTypes.SELECT },
        );
        return attendanceSummary(
          rows.map((row) => ({ courseId: row.course_id, status: row.status })),
        );
      },

      async staffAccess(this: ScheduleThis, ctx: Context, courseId: string): Promise<CourseAccess> {
        const access = await this.courseAccess(ctx, courseId);
        if (!access.staff) throw forbidden(STAFF_ONLY);
        return access;
      },

      async findLesson(
        this: ScheduleThis,
        id: string,
        transaction?: Transaction,
      ): Promise<LessonRow> {
        if (!isUuid(id)) throw notFound("Lesson");
        const [row] = await this.sequelize.query<LessonRow>(
          `SELECT * FROM schedule.lessons WHERE id = :id`,
          { replacements: { id: id.toLowerCase() }, type: QueryTypes.SELECT, transaction },
        );
        if (!row) throw notFound("Lesson");
        return row;
      },

      async courseIdsOfStudent(
        this: ScheduleThis,
        ctx: Context,
        studentId: string,
      ): Promise<string[]> {
        const ids: string[] = [];
        for (let page = 1; ; page += 1) {
          const result: Page<{ id: string }> = await ctx.call("courses.coursesOfStudent", {
            studentId,
            page,
            pageSize: 100,
          });
          ids.push(...result.rows.map((course) => course.id));
          if (page >= result.totalPages) return ids;
        }
      },

      /** Inserts the lessons in one transaction: all of them, or none and the 409 that stopped them. */
      async insertLessons(
        this: ScheduleThis,
        slots: TimeSlot[],
        courseId: string,
        seriesId: string | null,
        values: LessonValues,
      ): Promise<Lesson[]> {
        try {
          return await this.sequelize.transaction(async (transaction) => {
            const lessons: Lesson[] = [];
            for (const slot of slots) {
              const [row] = await this.sequelize.query<LessonRow>(
                `INSERT INTO schedule.lessons
                   (course_id, series_id, title, kind, starts_at, ends_at, room, teacher_id)
                 VALUES (:courseId, :seriesId, :title, :kind, :startsAt, :endsAt, :room, :teacherId)
                 RETURNING *`,
                {
                  replacements: { courseId, seriesId, ...values, ...slot },
                  type: QueryTypes.SELECT,
                  transaction,
                },
              );
              lessons.push(toLesson(row));
            }
            return lessons;
          });
        } catch (err) {
          return this.bookingConflict(err, slots, values);
        }
      },

      /**
       * An exclusion-constraint violation (SQLSTATE 23P01) becomes 409 ROOM_CONFLICT or
       * TEACHER_CONFLICT naming the lessons in the way (read after the rollback); anything else
       * is rethrown as it is.
       */
      async bookingConflict(
        this: ScheduleThis,
        err: unknown,
        slots: TimeSlot[],
        values: LessonValues,
        except?: string,
      ): Promise<never> {
        const failure = pgFailure(err);
        const meaning =
          failure.code === "23P01" ? BOOKING_CONSTRAINTS[failure.constraint ?? ""] : undefined;
        if (!meaning) throw err;
        countScheduleConflict(this.broker, meaning.kind);
        const column =
          meaning.column === "room" ? "lower(room) = lower(:value)" : "teacher_id = :value";
        const ranges = slots.map(
          (_, index) => `tstzrange(:s${index}, :e${index}) && tstzrange(starts_at, ends_at)`,
        );
        const replacements: Record<string, unknown> = {
          value: values[meaning.column],
          except: except ?? null,
        };
        slots.forEach((slot, index) => {
          replacements[`s${index}`] = slot.startsAt;
          replacements[`e${index}`] = slot.endsAt;
        });
        const rows = await this.sequelize.query<LessonRow>(
          `SELECT * FROM schedule.lessons
           WHERE NOT cancelled AND ${column} AND (${ranges.join(" OR ")})
             AND (CAST(:except AS uuid) IS NULL OR id <> CAST(:except AS uuid))
           ORDER BY starts_at LIMIT ${MAX_NAMED_CONFLICTS}`,
          { replacements, type: QueryTypes.SELECT },
        );
        throw conflict(meaning.message, meaning.type, { lessons: rows.map(toLesson) });
      },

      /** Reads resolve their range first, so a cached page is keyed by real instants. */
      lessonsPage(
        this: ScheduleThis,
        ctx: Context,
        scope: LessonScope,
        params: { from?: string; to?: string; page?: number; pageSize?: number },
      ): Promise<Page<Lesson>> {
        const range = scheduleRange(params);
        if (Array.isArray(range)) throw invalid(range);
        return ctx.call("schedule.lessonsPage", {
          ...scope,
          from: range.from.toISOString(),
          to: range.to.toISOString(),
          page: params.page,
          pageSize: params.pageSize,
        });
      },

      /** Every cached schedule page may list a changed lesson. */
      lessonsChanged(this: ScheduleThis, ctx: Context): Promise<void> {
        return this.invalidate(ctx, [cacheKeys.all("schedule.lessonsPage")]);
      },

      /** A user's lessons in a range: a student's courses' lessons, or the lessons one teaches. */
      async lessonsFor(
        this: ScheduleThis,
        ctx: Context,
        user: Identity,
        range: { from: Date; to: Date },
      ): Promise<LessonRow[]> {
        let where = "teacher_id = :userId";
        let courseIds: string[] = [];
        if (user.role === "student") {
          courseIds = user.studentId ? await this.courseIdsOfStudent(ctx, user.studentId) : [];
          if (courseIds.length === 0) return [];
          where = "course_id IN (:courseIds)";
        }
        return this.sequelize.query<LessonRow>(
          `SELECT * FROM schedule.lessons
           WHERE ${where} AND starts_at >= :from AND starts_at < :to
           ORDER BY starts_at, id LIMIT ${MAX_FEED_LESSONS}`,
          {
            replacements: { userId: user.id, courseIds, from: range.from, to: range.to },
            type: QueryTypes.SELECT,
          },
        );
      },
    },
  };
}
