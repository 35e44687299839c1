/**
 * gradebook — the grades of every course (own database), built only from durable grade events
 * (`grade.recorded`, `grade.item.changed`) of assignments and quizzes, idempotently: each item and
 * grade row keeps the time of what it holds, and an event no newer than that changes nothing.
 * Reads compute percents and grades with the course's grading policy (gradebook.ts).
 */
import type { Context, Service } from "moleculer";
import { DataTypes, QueryTypes } from "sequelize";
import type { CampusConfig } from "../../lib/config";
import { csvTable } from "../../lib/csv";
import { forbidden, invalid, notFound } from "../../lib/errors";
import { LONG_READ, NOT_RETRIED } from "../../lib/fault-tolerance";
import { isUuid, uuidListParam } from "../../lib/ids";
import { countGrade } from "../../lib/metrics";
import { MAX_PAGE_SIZE } from "../../lib/paging";
import { isThatStudent, type Identity } from "../../lib/permissions";
import type { Course } from "../courses/courses";
import type { GradeItemChanged, GradeRecorded } from "../assignments/assignments";
import { DbMixin, type DbServiceThis } from "../../mixins/db.mixin";
import { durableConsumer, type EventContext } from "../../mixins/domain-events.mixin";
import {
  defaultPolicy,
  gradingProblems,
  standing,
  toPolicy,
  type GradebookItem,
  type GradingInput,
  type GradingPolicy,
  type StudentStanding,
} from "./gradebook";
import { gradebookMigrations } from "./gradebook.migrations";
import { gradebookRoutes } from "./gradebook.routes";
import { CourseAccessMixin, type CourseAccessThis } from "../../mixins/course-access.mixin";
import type { CampusServiceSchema } from "../../types/service";

type Meta = {
  user?: Identity;
  accept?: string;
  $responseType?: string;
  $responseHeaders?: Record<string, string>;
};

export interface CourseGradebook {
  items: GradebookItem[];
  rows: ({ studentId: string; scores: Record<string, number | null> } & StudentStanding)[];
}

export interface CourseGrades extends StudentStanding {
  courseId: string;
  items: (GradebookItem & { points: number | null })[];
}

type GradebookThis = Service &
  DbServiceThis &
  CourseAccessThis & {
    policyOf(courseId: string): Promise<GradingPolicy>;
    itemsOf(courseIds: string[]): Promise<Map<string, GradebookItem[]>>;
    courseBook(courseId: string): Promise<{
      policy: GradingPolicy;
      items: GradebookItem[];
      /** Per student: the ordinals (indexes in `items`) of their graded items and the points. */
      grades: GradesOfStudent[];
    }>;
  };

// The tables are written with plain SQL (upserts); the model only satisfies moleculer-db.
const gradeModel = {
  name: "grade",
  define: {
    itemId: { type: DataTypes.UUID, primaryKey: true },
    studentId: { type: DataTypes.UUID, primaryKey: true },
    courseId: { type: DataTypes.UUID, allowNull: false },
    points: { type: DataTypes.DOUBLE, allowNull: false },
    recordedAt: { type: DataTypes.DATE, allowNull: false },
    eventId: { type: DataTypes.UUID, allowNull: false },
  },
  options: { tableName: "grades", timestamps: false },
};

/** The CSV file: header row, then one row per student (UTF-8 with BOM, CRLF, RFC 4180 quoting). */
export function gradebookCsv(gradebook: CourseGradebook): string {
  const header = [
    "studentId",
    ...gradebook.items.map((item) => `${item.title} (${item.category}, /${item.maxPoints})`),
    "percent",
    "grade",
  ];
  const rows = gradebook.rows.map((row) => [
    row.studentId,
    ...gradebook.items.map((item) => row.scores[item.id] ?? ""),
    row.percent ?? "",
    row.grade ?? "",
  ]);
  return csvTable([header, ...rows]);
}

function wantsCsv(accept: string | undefined): boolean {
  return typeof accept === "string" && /(^|,)\s*text\/csv\s*(;|,|$)/i.test(accept);
}

/** One student's grades as the gradebook reads them: item ordinals and points, side by side. */
type GradesOfStudent = [studentId: string, ordinals: number[], points: number[]];

/**
 * Each student's points by item id, for `standing`: every student of `roster` (none graded
 * yet: an empty map) and every student with a grade.
 */
function pointsByStudent(
  items: readonly GradebookItem[],
  grades: readonly GradesOfStudent[],
  roster: readonly string[] = [],
): Map<string, Map<string, number>> {
  const byStudent = new Map<string, Map<string, number>>();
  for (const studentId of roster) byStudent.set(studentId, new Map());
  for (const [studentId, ordinals, given] of grades) {
    let points = byStudent.get(studentId);
    if (!points) byStudent.set(studentId, (points = new Map()));
    for (let k = 0; k < ordinals.length; k += 1) {
      points.set(items[ordinals[k]].id, Number(given[k]));
    }
  }
  return byStudent;
}

export default function gradebookService(config: CampusConfig): CampusServiceSchema<GradebookThis> {
  return {
    name: "gradebook",
    mixins: [
      CourseAccessMixin,
      DbMixin("gradebook", config, {
        model: gradeModel,
        migrations: gradebookMigrations,
        uniqueViolations: {},
      }),
    ],
    settings: { ...gradebookRoutes.settings },

    actions: {
      courseGradebook: {
        ...LONG_READ,
        ...gradebookRoutes.actions.courseGradebook,
        async handler(
          this: GradebookThis,
          ctx: Context<{ id: string }, Meta>,
        ): Promise<CourseGradebook | string> {
          const access = await this.courseAccess(ctx, ctx.params.id);
          if (!access.staff) throw forbidden("Only the course's staff see its gradebook");
          const courseId = access.course.id;
          const [{ policy, items, grades }, roster] = await Promise.all([
            this.courseBook(courseId),
            this.rosterOf(ctx, courseId),
          ]);
          const byStudent = pointsByStudent(items, grades, roster);
          const gradebook: CourseGradebook = {
            items,
            rows: [...byStudent.entries()]
              .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
              .map(([studentId, points]) => {
                const scores: Record<string, number | null> = {};
                for (const item of items) scores[item.id] = points.get(item.id) ?? null;
                return { studentId, scores, ...standing(items, points, policy) };
              }),
          };
          if (!wantsCsv(ctx.meta.accept)) return gradebook;
          ctx.meta.$responseType = "text/csv; charset=utf-8";
          ctx.meta.$responseHeaders = {
            "Content-Disposition": `attachment; filename="gradebook-${access.course.code.replace(/[^A-Za-z0-9_.-]/g, "_")}.csv"`,
            Vary: "Accept",
          };
          return gradebookCsv(gradebook);
        },
      },

      studentGrades: {
        ...LONG_READ,
        ...gradebookRoutes.actions.studentGrades,
        async handler(
          this: GradebookThis,
          ctx: Context<{ id: string; courseId?: string }, Meta>,
        ): Promise<{ courses: CourseGrades[] }> {
          const user = ctx.meta.user!;
          const studentId = ctx.params.id.toLowerCase();
          if (user.role === "student" && !isThatStudent(user, studentId)) {
            throw forbidden("You may only see your own grades");
          }
          if (!isUuid(studentId)) throw notFound("Student");
          if (user.role !== "student") await ctx.call("students.byId", { id: studentId });

          let courseIds: string[];
          if (ctx.params.courseId) {
            const courseId = ctx.params.courseId.toLowerCase();
            const access = await this.courseAccess(ctx, courseId);
            // That student sees their own grades of a course they are or were in; staff their courses.
            if (user.role !== "student" && !access.staff) {
              throw forbidden("Only the course's staff see its grades");
            }
            courseIds = [courseId];
          } else {
            const rows = await this.sequelize.query<{ course_id: string }>(
              `SELECT DISTINCT course_id FROM gradebook.grades WHERE student_id = :studentId
               ORDER BY course_id`,
              { replacements: { studentId }, type: QueryTypes.SELECT },
            );
            courseIds = rows.map((row) => row.course_id);
            if (user.role === "teacher" && courseIds.length > 0) {
              // A teacher sees only the courses they teach.
              const courses: Course[] = await ctx.call("courses.byIds", {
                ids: courseIds.slice(0, MAX_PAGE_SIZE),
              });
              const taught = new Set(
                courses.filter((course) => course.teacherIds.includes(user.id)).map((c) => c.id),
              );
              courseIds = courseIds.filter((id) => taught.has(id));
            }
          }
          if (courseIds.length === 0) return { courses: [] };

          const [itemsByCourse, grades, policies] = await Promise.all([
            this.itemsOf(courseIds),
            this.sequelize.query<{ item_id: string; points: number }>(
              `SELECT item_id, points FROM gradebook.grades
               WHERE student_id = :studentId AND course_id IN (:courseIds)`,
              { replacements: { studentId, courseIds }, type: QueryTypes.SELECT },
            ),
            Promise.all(courseIds.map((courseId) => this.policyOf(courseId))),
          ]);
          const points = new Map(grades.map((grade) => [grade.item_id, Number(grade.points)]));
          return {
            courses: courseIds.map((courseId, index) => {
              const items = itemsByCourse.get(courseId) ?? [];
              return {
                courseId,
                items: items.map((item) => ({ ...item, points: points.get(item.id) ?? null })),
                ...standing(items, points, policies[index]),
              };
            }),
          };
        },
      },

      setGrading: {
        ...NOT_RETRIED,
        ...gradebookRoutes.actions.setGrading,
        async handler(
          this: GradebookThis,
          ctx: Context<GradingInput & { id: string }, Meta>,
        ): Promise<GradingPolicy> {
          const access = await this.courseAccess(ctx, ctx.params.id);
          if (!access.staff) throw forbidden("Only the course's staff may set its grading");
          const courseId = access.course.id;
          const used = await this.sequelize.query<{ category: string }>(
            `SELECT DISTINCT category FROM gradebook.items WHERE course_id = :courseId AND NOT deleted`,
            { replacements: { courseId }, type: QueryTypes.SELECT },
          );
          // Items the gradebook knows (graded ones, quizzes included) and assignments not yet graded.
          const assigned: string[] = await ctx.call("assignments.categoriesOf", { courseId });
          const problems = gradingProblems(ctx.params, [
            ...new Set([...used.map((row) => row.category), ...assigned]),
          ]);
          if (problems.length > 0) throw invalid(problems);
          const policy = toPolicy(courseId, ctx.params);
          await this.sequelize.query(
            `INSERT INTO gradebook.policies (course_id, categories, scale, updated_at)
             VALUES (:courseId, CAST(:categories AS jsonb), CAST(:scale AS jsonb), now())
             ON CONFLICT (course_id) DO UPDATE
               SET categories = EXCLUDED.categories, scale = EXCLUDED.scale, updated_at = now()`,
            {
              replacements: {
                courseId,
                categories: JSON.stringify(policy.categories),
                scale: JSON.stringify(policy.scale),
              },
            },
          );
          return policy;
        },
      },

      // ---- Internal ----

      /** The category names of a course's grading policy, or null when it has none. */
      categories: {
        ...LONG_READ,
        visibility: "public",
        params: { courseId: { type: "uuid" } },
        async handler(
          this: GradebookThis,
          ctx: Context<{ courseId: string }>,
        ): Promise<string[] | null> {
          const policy = await this.policyOf(ctx.params.courseId.toLowerCase());
          return policy.custom ? policy.categories.map((category) => category.name) : null;
        },
      },

      /**
       * Each student's course percent and grade as the gradebook computes them now: what
       * `POST /api/courses/:id/complete` records on the completed enrollments.
       */
      finalGrades: {
        ...LONG_READ,
        visibility: "public",
        params: {
          courseId: { type: "uuid" },
          studentIds: uuidListParam(10000),
        },
        async handler(
          this: GradebookThis,
          ctx: Context<{ courseId: string; studentIds: string[] }>,
        ): Promise<{ studentId: string; percent: number | null; grade: string | null }[]> {
          const { policy, items, grades } = await this.courseBook(
            ctx.params.courseId.toLowerCase(),
          );
          const byStudent = pointsByStudent(items, grades);
          return ctx.params.studentIds.map((id) => {
            const studentId = id.toLowerCase();
            const { percent, grade } = standing(
              items,
              byStudent.get(studentId) ?? new Map(),
              policy,
            );
            return { studentId, percent, grade: grade === null ? null : String(grade) };
          });
        },
      },
    },

    // ---- Durable consumers (group "gradebook"): a replayed or duplicated event changes nothing ----

    channels: {
      "grade.recorded": durableConsumer(async function (
        this: GradebookThis,
        ctx: EventContext<GradeRecorded>,
      ) {
        const event = ctx.params;
        const recordedAt = new Date(event.recordedAt);
        if (
          ![event.courseId, event.studentId, event.itemId, event.eventId].every(isUuid) ||
          Number.isNaN(recordedAt.getTime())
        ) {
          this.logger.warn("Malformed grade.recorded ignored", { eventId: event.eventId });
          return;
        }
        const applied = await this.sequelize.transaction(async (transaction) => {
          // The item as the newest event describes it; a deleted item stays deleted.
          await this.sequelize.query(
            `INSERT INTO gradebook.items
               (item_id, course_id, source, title, category, max_points, version)
             VALUES (:itemId, :courseId, :source, :title, :category, :maxPoints, :recordedAt)
             ON CONFLICT (item_id) DO UPDATE
               SET title = EXCLUDED.title, category = EXCLUDED.category,
                   max_points = EXCLUDED.max_points, version = EXCLUDED.version
               WHERE items.version < EXCLUDED.version AND NOT items.deleted`,
            {
              replacements: {
                itemId: event.itemId.toLowerCase(),
                courseId: event.courseId.toLowerCase(),
                source: event.source,
                title: event.title,
                category: event.category,
                maxPoints: event.maxPoints,
                recordedAt,
              },
              transaction,
            },
          );
          const [changed] = await this.sequelize.query<{ item_id: string }>(
            `INSERT INTO gradebook.grades
               (item_id, student_id, course_id, points, recorded_at, event_id)
             VALUES (:itemId, :studentId, :courseId, :points, :recordedAt, :eventId)
             ON CONFLICT (item_id, student_id) DO UPDATE
               SET points = EXCLUDED.points, recorded_at = EXCLUDED.recorded_at,
                   event_id = EXCLUDED.event_id
               WHERE grades.recorded_at < EXCLUDED.recorded_at
             RETURNING item_id`,
            {
              replacements: {
                itemId: event.itemId.toLowerCase(),
                studentId: event.studentId.toLowerCase(),
                courseId: event.courseId.toLowerCase(),
                points: event.points,
                recordedAt,
                eventId: event.eventId,
              },
              type: QueryTypes.SELECT,
              transaction,
            },
          );
          return Boolean(changed);
        });
        countGrade(this.broker, event.source, applied ? "applied" : "unchanged");
        this.logger.info(applied ? "Grade recorded" : "Grade event already applied", {
          itemId: event.itemId,
          eventId: event.eventId,
        });
      }),

      /** A deleted course's gradebook goes with it. Idempotent. */
      "course.deleted": durableConsumer(async function (
        this: GradebookThis,
        ctx: EventContext<{ courseId: string }>,
      ) {
        if (!isUuid(ctx.params.courseId)) return;
        const courseId = ctx.params.courseId.toLowerCase();
        await this.sequelize.transaction(async (transaction) => {
          for (const table of ["grades", "items", "policies"]) {
            await this.sequelize.query(
              `DELETE FROM gradebook.${table} WHERE course_id = :courseId`,
              { replacements: { courseId }, transaction },
            );
          }
        });
      }),

      "grade.item.changed": durableConsumer(async function (
        this: GradebookThis,
        ctx: EventContext<GradeItemChanged>,
      ) {
        const event = ctx.params;
        const changedAt = new Date(event.changedAt);
        if (![event.courseId, event.itemId].every(isUuid) || Number.isNaN(changedAt.getTime())) {
          this.logger.warn("Malformed grade.item.changed ignored", { eventId: event.eventId });
          return;
        }
        await this.sequelize.query(
          `INSERT INTO gradebook.items
             (item_id, course_id, source, title, category, max_points, version, deleted)
           VALUES (:itemId, :courseId, :source, :title, :category, :maxPoints, :changedAt, :deleted)
           ON CONFLICT (item_id) DO UPDATE
             SET title = EXCLUDED.title, category = EXCLUDED.category,
                 max_points = EXCLUDED.max_points, version = EXCLUDED.version,
                 deleted = items.deleted OR EXCLUDED.deleted
             WHERE items.version < EXCLUDED.version AND NOT items.deleted`,
          {
            replacements: {
              itemId: event.itemId.toLowerCase(),
              courseId: event.courseId.toLowerCase(),
              source: event.source,
              title: event.title,
              category: event.category,
              maxPoints: event.maxPoints,
              changedAt,
              deleted: event.deleted === true,
            },
          },
        );
      }),
    },

    methods: {
      async policyOf(this: GradebookThis, courseId: string): Promise<GradingPolicy> {
        const [row] = await this.sequelize.query<{
          categories: GradingPolicy["categories"];
          scale: GradingPolicy["scale"];
        }>(`SELECT categories, scale FROM gradebook.policies WHERE course_id = :courseId`, {
          replacements: { courseId },
          type: QueryTypes.SELECT,
        });
        if (!row) return defaultPolicy(courseId);
        return { courseId, categories: row.categories, scale: row.scale, custom: true };
      },

      /**
       * A course's policy and live items (one small statement) and its grades (another, run
       * beside it), each a prepared statement on a pooled connection. The grades come one row
       * per student: the items' ordinals (their index in `items`, same order) and the points, as
       * two arrays — far cheaper to make and read than 2,000 rows of uuids, or than JSON built
       * by PostgreSQL (json_agg was most of the statement's time).
       */
      async courseBook(this: GradebookThis, courseId: string) {
        const [[book], grades] = await Promise.all([
          this.selectRows(
            "gradebook.courseBook",
            `SELECT
               (SELECT json_build_object('categories', p.categories, 'scale', p.scale)
                  FROM gradebook.policies p WHERE p.course_id = $1) AS policy,
               (SELECT coalesce(json_agg(json_build_object('id', i.item_id, 'source', i.source,
                         'title', i.title, 'category', i.category, 'maxPoints', i.max_points)
                         ORDER BY lower(i.category), i.title, i.item_id), '[]')
                  FROM gradebook.items i WHERE i.course_id = $1 AND NOT i.deleted) AS items`,
            [courseId],
          ),
          this.selectArrays(
            "gradebook.courseGradesByStudent",
            `SELECT g.student_id, array_agg(i.ordinal) AS ordinals, array_agg(g.points) AS points
             FROM gradebook.grades g
             JOIN (SELECT item_id, (row_number() OVER (
                            ORDER BY lower(category), title, item_id))::int - 1 AS ordinal
                     FROM gradebook.items WHERE course_id = $1 AND NOT deleted) i
               ON i.item_id = g.item_id
             WHERE g.course_id = $1
             GROUP BY g.student_id`,
            [courseId],
          ),
        ]);
        const policy = book.policy as Pick<GradingPolicy, "categories" | "scale"> | null;
        const items = book.items as GradebookItem[];
        return {
          policy: policy
            ? { courseId, categories: policy.categories, scale: policy.scale, custom: true }
            : defaultPolicy(courseId),
          items: items.map((item) => ({ ...item, maxPoints: Number(item.maxPoints) })),
          grades: grades as GradesOfStudent[],
        };
      },

      /** The live items of each course, by category then title. */
      async itemsOf(this: GradebookThis, courseIds: string[]) {
        const rows = await this.sequelize.query<{
          item_id: string;
          course_id: string;
          source: string;
          title: string;
          category: string;
          max_points: number;
        }>(
          `SELECT item_id, course_id, source, title, category, max_points FROM gradebook.items
           WHERE course_id IN (:courseIds) AND NOT deleted
           ORDER BY lower(category), title, item_id`,
          { replacements: { courseIds }, type: QueryTypes.SELECT },
        );
        const byCourse = new Map<string, GradebookItem[]>();
        for (const row of rows) {
          const list = byCourse.get(row.course_id) ?? [];
          list.push({
            id: row.item_id,
            source: row.source,
            title: row.title,
            category: row.category,
            maxPoints: Number(row.max_points),
          });
          byCourse.set(row.course_id, list);
        }
        return byCourse;
      },
    },
  };
}
