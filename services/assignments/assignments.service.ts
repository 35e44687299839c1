/**
 * assignments — a course's assignments and the students' submissions (own database). Course
 * staff and enrollment come from `courses.access` on every call, so no route can reach another
 * course's work (BOLA by construction: every query is bound to the assignment the access was
 * checked for). Grades leave as durable `grade.recorded` events (gradebook, notifications).
 */
import type { Context } from "moleculer";
import { DataTypes, QueryTypes, type Transaction } from "sequelize";
import type { CampusConfig } from "../../lib/config";
import { recordIdAttribute } from "../../lib/database";
import { conflict, forbidden, invalid, notFound } from "../../lib/errors";
import { created, noContent } from "../../lib/responses";
import { LONG_READ, NOT_RETRIED } from "../../lib/fault-tolerance";
import { isUuid, uuidListParam } from "../../lib/ids";
import { findPage, mapPage, type Page } from "../../lib/paging";
import { isThatStudent } from "../../lib/permissions";
import type { CourseAccess } from "../courses/courses";
import { DbMixin } from "../../mixins/db.mixin";
import { DomainEventsMixin, durableConsumer } from "../../mixins/domain-events.mixin";
import {
  assignmentChanges,
  categoryProblems,
  gradeOf,
  lateness,
  maxPointsProblems,
  newAssignmentValues,
  pointsProblems,
  submissionClosedReason,
  toAssignment,
  toSubmission,
  type Assignment,
  type AssignmentInput,
  type AssignmentRow,
  type AssignmentValues,
  type GradeItemChanged,
  type GradeRecorded,
  type Submission,
  type SubmissionRow,
  type SubmissionTurnedIn,
} from "./assignments";
import { assignmentsMigrations } from "./assignments.migrations";
import { assignmentsRoutes } from "./assignments.routes";
import { CourseAccessMixin, type CourseAccessThis } from "../../mixins/course-access.mixin";
import type { CampusMeta, CampusServiceSchema, DbEventsThis } from "../../types/service";

type Meta = CampusMeta;
type AssignmentsThis = DbEventsThis &
  CourseAccessThis & {
    loadAssignment(id: string, transaction?: Transaction): Promise<Assignment>;
    readableAssignment(
      ctx: Context,
      id: string,
    ): Promise<{ assignment: Assignment; access: CourseAccess }>;
    staffAssignment(ctx: Context, id: string): Promise<Assignment>;
    checkCategory(ctx: Context, courseId: string, category: string): Promise<void>;
    recordGrade(
      ctx: Context,
      transaction: Transaction,
      assignment: Assignment,
      submission: Submission,
      notify: boolean,
    ): Promise<void>;
  };

const assignmentModel = {
  name: "assignment",
  define: {
    id: recordIdAttribute(),
    courseId: { type: DataTypes.UUID, allowNull: false },
    title: { type: DataTypes.STRING(200), allowNull: false },
    description: { type: DataTypes.TEXT, allowNull: false, defaultValue: "" },
    dueAt: { type: DataTypes.DATE, allowNull: false },
    maxPoints: { type: DataTypes.DOUBLE, allowNull: false },
    category: { type: DataTypes.STRING(50), allowNull: false },
    published: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: false },
    latePenaltyPercentPerDay: { type: DataTypes.DOUBLE, allowNull: false, defaultValue: 0 },
    lateDaysAllowed: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
  },
  options: { tableName: "assignments" },
};

const submissionModel = {
  name: "submission",
  define: {
    assignmentId: { type: DataTypes.UUID, primaryKey: true },
    studentId: { type: DataTypes.UUID, primaryKey: true },
    body: { type: DataTypes.TEXT, allowNull: false },
    state: { type: DataTypes.STRING(16), allowNull: false },
    submittedAt: { type: DataTypes.DATE, allowNull: false },
    late: { type: DataTypes.BOOLEAN, allowNull: false },
    daysLate: { type: DataTypes.INTEGER, allowNull: false },
    points: { type: DataTypes.DOUBLE, allowNull: true },
    penaltyPoints: { type: DataTypes.DOUBLE, allowNull: false, defaultValue: 0 },
    finalPoints: { type: DataTypes.DOUBLE, allowNull: true },
    feedback: { type: DataTypes.TEXT, allowNull: true },
    gradedAt: { type: DataTypes.DATE, allowNull: true },
  },
  options: { tableName: "submissions", timestamps: false },
};

const SUBMISSION_CLOSED = "SUBMISSION_CLOSED";
const NOT_SUBMITTED = "NOT_SUBMITTED";

/** A raw `RETURNING *` row (snake_case) as the model's attributes. */
function submissionFromSql(row: Record<string, unknown>): SubmissionRow {
  return {
    assignmentId: row.assignment_id as string,
    studentId: row.student_id as string,
    body: row.body as string,
    state: row.state as SubmissionRow["state"],
    submittedAt: new Date(row.submitted_at as string),
    late: row.late as boolean,
    daysLate: row.days_late as number,
    points: row.points as number | null,
    penaltyPoints: row.penalty_points as number,
    finalPoints: row.final_points as number | null,
    feedback: row.feedback as string | null,
    gradedAt: row.graded_at ? new Date(row.graded_at as string) : null,
  };
}

export default function assignmentsService(
  config: CampusConfig,
): CampusServiceSchema<AssignmentsThis> {
  return {
    name: "assignments",
    mixins: [
      CourseAccessMixin,
      DbMixin("assignments", config, {
        model: assignmentModel,
        extraModels: [submissionModel],
        migrations: assignmentsMigrations,
        uniqueViolations: {},
      }),
      DomainEventsMixin,
    ],
    settings: { ...assignmentsRoutes.settings },

    actions: {
      create: {
        ...NOT_RETRIED,
        ...assignmentsRoutes.actions.create,
        async handler(
          this: AssignmentsThis,
          ctx: Context<AssignmentInput & { id: string }, Meta>,
        ): Promise<Assignment> {
          const access = await this.courseAccess(ctx, ctx.params.id);
          if (!access.staff) throw forbidden("Only the course's staff may add assignments");
          const result = newAssignmentValues(ctx.params);
          if ("problems" in result) throw invalid(result.problems);
          await this.checkCategory(ctx, access.course.id, result.values.category);
          const row = await this.adapter.model.create({
            ...result.values,
            courseId: access.course.id,
          });
          const assignment = toAssignment(row.get({ plain: true }) as AssignmentRow);
          return created(ctx, `/api/assignments/${assignment.id}`, assignment);
        },
      },

      list: {
        ...LONG_READ,
        ...assignmentsRoutes.actions.list,
        async handler(
          this: AssignmentsThis,
          ctx: Context<{ id: string; page?: number; pageSize?: number }, Meta>,
        ): Promise<Page<Assignment>> {
          const { page } = await this.visibleCourseItems<AssignmentRow>(
            ctx,
            [
              ["dueAt", "ASC"],
              ["id", "ASC"],
            ],
            "Only the course's staff and students see its assignments",
          );
          return mapPage(page, toAssignment);
        },
      },

      get: {
        ...LONG_READ,
        ...assignmentsRoutes.actions.get,
        async handler(this: AssignmentsThis, ctx: Context<{ id: string }, Meta>) {
          return (await this.readableAssignment(ctx, ctx.params.id)).assignment;
        },
      },

      update: {
        ...NOT_RETRIED,
        ...assignmentsRoutes.actions.update,
        async handler(
          this: AssignmentsThis,
          ctx: Context<AssignmentInput & { id: string }, Meta>,
        ): Promise<Assignment> {
          const current = await this.staffAssignment(ctx, ctx.params.id);
          const result = assignmentChanges(ctx.params);
          if ("problems" in result) throw invalid(result.problems);
          const changes = result.values;
          if (Object.keys(changes).length === 0) return current;
          if (changes.category !== undefined && changes.category !== current.category) {
            await this.checkCategory(ctx, current.courseId, changes.category);
          }
          // Anything a final grade or a gradebook item depends on: graded work is re-recorded.
          const regrade = (
            ["dueAt", "maxPoints", "latePenaltyPercentPerDay", "title", "category"] as const
          ).some((key) => changes[key] !== undefined);
          const itemChanged = (["maxPoints", "title", "category"] as const).some(
            (key) => changes[key] !== undefined && changes[key] !== current[key],
          );

          return this.sequelize.transaction(async (transaction) => {
            if (changes.maxPoints !== undefined) {
              const [highest] = await this.sequelize.query<{ max: number | null }>(
                `SELECT max(points) AS max FROM assignments.submissions
                 WHERE assignment_id = :id AND state = 'graded'`,
                { replacements: { id: current.id }, type: QueryTypes.SELECT, transaction },
              );
              const problems = maxPointsProblems(changes.maxPoints, Number(highest?.max ?? 0));
              if (problems.length > 0) throw invalid(problems);
            }
            const [, rows] = await this.adapter.model.update(changes as Partial<AssignmentValues>, {
              where: { id: current.id },
              returning: true,
              transaction,
            });
            if (rows.length === 0) throw notFound("Assignment");
            const updated = toAssignment(rows[0].get({ plain: true }) as AssignmentRow);
            if (regrade) {
              const submissions = await this.models.submission.findAll({
                where: { assignmentId: updated.id },
                transaction,
              });
              for (const row of submissions) {
                const stored = toSubmission(row.get({ plain: true }) as SubmissionRow);
                const late = lateness(new Date(stored.submittedAt), new Date(updated.dueAt));
                const grade = stored.points === null ? null : gradeOf(stored.points, late, updated);
                await row.update(
                  {
                    ...late,
                    ...(grade
                      ? { penaltyPoints: grade.penaltyPoints, finalPoints: grade.finalPoints }
                      : {}),
                  },
                  { transaction },
                );
                if (stored.state === "graded") {
                  const regraded = toSubmission(row.get({ plain: true }) as SubmissionRow);
                  await this.recordGrade(ctx, transaction, updated, regraded, false);
                }
              }
            }
            if (itemChanged) {
              const event: GradeItemChanged = {
                courseId: updated.courseId,
                itemId: updated.id,
                source: "assignment",
                title: updated.title,
                category: updated.category,
                maxPoints: updated.maxPoints,
                deleted: false,
                changedAt: updated.updatedAt,
              };
              await this.recordEvent(ctx, transaction, "grade.item.changed", event);
            }
            return updated;
          });
        },
      },

      remove: {
        ...NOT_RETRIED,
        ...assignmentsRoutes.actions.remove,
        async handler(this: AssignmentsThis, ctx: Context<{ id: string }, Meta>): Promise<null> {
          const current = await this.staffAssignment(ctx, ctx.params.id);
          await this.sequelize.transaction(async (transaction) => {
            // Its submissions go with it (ON DELETE CASCADE); the gradebook drops the item.
            const removed = await this.adapter.model.destroy({
              where: { id: current.id },
              transaction,
            });
            if (removed === 0) throw notFound("Assignment");
            const event: GradeItemChanged = {
              courseId: current.courseId,
              itemId: current.id,
              source: "assignment",
              title: current.title,
              category: current.category,
              maxPoints: current.maxPoints,
              deleted: true,
              changedAt: new Date().toISOString(),
            };
            await this.recordEvent(ctx, transaction, "grade.item.changed", event);
          });
          return noContent(ctx);
        },
      },

      submit: {
        ...NOT_RETRIED,
        ...assignmentsRoutes.actions.submit,
        async handler(
          this: AssignmentsThis,
          ctx: Context<{ id: string; body: string }, Meta>,
        ): Promise<Submission> {
          const { assignment, access } = await this.readableAssignment(ctx, ctx.params.id);
          const studentId = ctx.meta.user!.studentId;
          if (!access.enrolled || !studentId) {
            throw forbidden("Only students enrolled in the course may submit");
          }
          const now = new Date();
          const dueAt = new Date(assignment.dueAt);
          const closed = submissionClosedReason(now, { ...assignment, dueAt }, null);
          if (closed) throw conflict(closed, SUBMISSION_CLOSED);
          const late = lateness(now, dueAt);
          const row = await this.sequelize.transaction(async (transaction) => {
            // One statement: a submission graded in the meantime is not replaced (no row back).
            const [turnedIn] = await this.sequelize.query<Record<string, unknown>>(
              `INSERT INTO assignments.submissions
                 (assignment_id, student_id, body, state, submitted_at, late, days_late)
               VALUES (:assignmentId, :studentId, :body, 'turned_in', :now, :late, :daysLate)
               ON CONFLICT (assignment_id, student_id) DO UPDATE
                 SET body = EXCLUDED.body, submitted_at = EXCLUDED.submitted_at,
                     late = EXCLUDED.late, days_late = EXCLUDED.days_late
                 WHERE submissions.state = 'turned_in'
               RETURNING *`,
              {
                replacements: {
                  assignmentId: assignment.id,
                  studentId: studentId.toLowerCase(),
                  body: ctx.params.body,
                  now,
                  ...late,
                },
                type: QueryTypes.SELECT,
                transaction,
              },
            );
            if (turnedIn) {
              const event: SubmissionTurnedIn = {
                assignmentId: assignment.id,
                courseId: assignment.courseId,
                studentId: studentId.toLowerCase(),
                submittedAt: now.toISOString(),
                late: late.late,
              };
              await this.recordEvent(ctx, transaction, "submission.turned_in", event);
            }
            return turnedIn;
          });
          if (!row) {
            throw conflict(
              submissionClosedReason(now, { ...assignment, dueAt }, { state: "graded" })!,
              SUBMISSION_CLOSED,
            );
          }
          return toSubmission(submissionFromSql(row));
        },
      },

      submissions: {
        ...LONG_READ,
        ...assignmentsRoutes.actions.submissions,
        async handler(
          this: AssignmentsThis,
          ctx: Context<{ id: string; page?: number; pageSize?: number }, Meta>,
        ): Promise<Page<Submission>> {
          const assignment = await this.staffAssignment(ctx, ctx.params.id);
          const page = await findPage<SubmissionRow>(this.models.submission, ctx.params, {
            where: { assignmentId: assignment.id },
            order: [
              ["submittedAt", "ASC"],
              ["studentId", "ASC"],
            ],
          });
          return mapPage(page, toSubmission);
        },
      },

      submission: {
        ...LONG_READ,
        ...assignmentsRoutes.actions.submission,
        async handler(
          this: AssignmentsThis,
          ctx: Context<{ id: string; studentId: string }, Meta>,
        ): Promise<Submission> {
          const user = ctx.meta.user!;
          const studentId = ctx.params.studentId.toLowerCase();
          // A student reaches only their own: refused before anything about the assignment shows.
          if (user.role === "student" && !isThatStudent(user, studentId)) {
            throw forbidden("You may only see your own submissions");
          }
          const { assignment } = await this.readableAssignment(ctx, ctx.params.id);
          if (!isUuid(studentId)) throw notFound("Submission");
          const row = await this.models.submission.findOne({
            where: { assignmentId: assignment.id, studentId },
          });
          if (!row) throw notFound("Submission");
          return toSubmission(row.get({ plain: true }) as SubmissionRow);
        },
      },

      grade: {
        ...NOT_RETRIED,
        ...assignmentsRoutes.actions.grade,
        async handler(
          this: AssignmentsThis,
          ctx: Context<
            { id: string; studentId: string; points: number; feedback?: string | null },
            Meta
          >,
        ): Promise<Submission> {
          const assignment = await this.staffAssignment(ctx, ctx.params.id);
          const problems = pointsProblems(ctx.params.points, assignment.maxPoints);
          if (problems.length > 0) throw invalid(problems);
          const studentId = ctx.params.studentId.toLowerCase();
          if (!isUuid(studentId)) throw notFound("Submission");
          return this.sequelize.transaction(async (transaction) => {
            const row = await this.models.submission.findOne({
              where: { assignmentId: assignment.id, studentId },
              lock: true,
              transaction,
            });
            if (!row) {
              throw conflict(
                "The student has not submitted this assignment; only submitted work is graded",
                NOT_SUBMITTED,
              );
            }
            const stored = row.get({ plain: true }) as SubmissionRow;
            const grade = gradeOf(ctx.params.points, stored, assignment);
            await row.update(
              {
                ...grade,
                state: "graded",
                feedback: ctx.params.feedback ?? null,
                gradedAt: new Date(),
              },
              { transaction },
            );
            const submission = toSubmission(row.get({ plain: true }) as SubmissionRow);
            await this.recordGrade(ctx, transaction, assignment, submission, true);
            return submission;
          });
        },
      },

      // ---- Internal ----

      /** The categories a course's assignments use (a grading policy must name each). */
      categoriesOf: {
        ...LONG_READ,
        visibility: "public",
        params: { courseId: { type: "uuid" } },
        async handler(this: AssignmentsThis, ctx: Context<{ courseId: string }>) {
          const rows = await this.sequelize.query<{ category: string }>(
            `SELECT DISTINCT category FROM assignments.assignments WHERE course_id = :courseId
             ORDER BY category`,
            {
              replacements: { courseId: ctx.params.courseId.toLowerCase() },
              type: QueryTypes.SELECT,
            },
          );
          return rows.map((row) => row.category);
        },
      },
      /**
       * The published assignments of some courses with one student's submission of each (null:
       * not submitted), for the reports service.
       */
      submissionsOfStudent: {
        ...LONG_READ,
        visibility: "public",
        params: {
          studentId: { type: "uuid" },
          courseIds: uuidListParam(1000),
        },
        async handler(
          this: AssignmentsThis,
          ctx: Context<{ studentId: string; courseIds: string[] }>,
        ): Promise<
          {
            courseId: string;
            title: string;
            dueAt: string;
            maxPoints: number;
            submittedAt: string | null;
            state: string | null;
            finalPoints: number | null;
          }[]
        > {
          if (ctx.params.courseIds.length === 0) return [];
          const rows = await this.sequelize.query<{
            course_id: string;
            title: string;
            due_at: Date;
            max_points: number;
            submitted_at: Date | null;
            state: string | null;
            final_points: number | null;
          }>(
            `SELECT a.course_id, a.title, a.due_at, a.max_points, s.submitted_at, s.state, s.final_points
             FROM assignments.assignments a
             LEFT JOIN assignments.submissions s
               ON s.assignment_id = a.id AND s.student_id = :studentId
             WHERE a.course_id IN (:courseIds) AND a.published
             ORDER BY a.course_id, a.due_at, a.id`,
            {
              replacements: {
                studentId: ctx.params.studentId.toLowerCase(),
                courseIds: ctx.params.courseIds.map((id) => id.toLowerCase()),
              },
              type: QueryTypes.SELECT,
            },
          );
          return rows.map((row) => ({
            courseId: row.course_id,
            title: row.title,
            dueAt: new Date(row.due_at).toISOString(),
            maxPoints: Number(row.max_points),
            submittedAt: row.submitted_at ? new Date(row.submitted_at).toISOString() : null,
            state: row.state,
            finalPoints: row.final_points === null ? null : Number(row.final_points),
          }));
        },
      },
    },

    channels: {
      /** A deleted course takes its assignments and their submissions with it. Idempotent. */
      "course.deleted": durableConsumer(async function (
        this: AssignmentsThis,
        ctx: Context<{ courseId: string }>,
      ) {
        if (!isUuid(ctx.params.courseId)) return;
        const removed = await this.adapter.model.destroy({
          where: { courseId: ctx.params.courseId.toLowerCase() },
        });
        if (removed > 0) this.logger.info("Assignments of a deleted course removed", { removed });
      }),
    },

    methods: {
      async loadAssignment(
        this: AssignmentsThis,
        id: string,
        transaction?: Transaction,
      ): Promise<Assignment> {
        if (!isUuid(id)) throw notFound("Assignment");
        const row = await this.adapter.model.findByPk(id.toLowerCase(), { transaction });
        if (!row) throw notFound("Assignment");
        return toAssignment(row.get({ plain: true }) as AssignmentRow);
      },

      /** Staff see every assignment of their courses; enrolled students the published ones. */
      async readableAssignment(this: AssignmentsThis, ctx: Context, id: string) {
        const assignment = await this.loadAssignment(id);
        const access = await this.courseAccess(ctx, assignment.courseId);
        if (access.staff) return { assignment, access };
        if (!access.enrolled) {
          throw forbidden("Only the course's staff and students see its assignments");
        }
        // A draft is not there for students: 404, as an unknown id.
        if (!assignment.published) throw notFound("Assignment");
        return { assignment, access };
      },

      async staffAssignment(this: AssignmentsThis, ctx: Context, id: string) {
        const assignment = await this.loadAssignment(id);
        const access = await this.courseAccess(ctx, assignment.courseId);
        if (!access.staff) throw forbidden("Only the course's staff may do this");
        return assignment;
      },

      /** With a grading policy, an assignment's category must be one of the policy's. */
      async checkCategory(this: AssignmentsThis, ctx: Context, courseId: string, category: string) {
        const categories: string[] | null = await ctx.call("gradebook.categories", { courseId });
        const problems = categoryProblems(category, categories);
        if (problems.length > 0) throw invalid(problems);
      },

      async recordGrade(
        this: AssignmentsThis,
        ctx: Context,
        transaction: Transaction,
        assignment: Assignment,
        submission: Submission,
        notify: boolean,
      ) {
        const event: GradeRecorded = {
          courseId: assignment.courseId,
          studentId: submission.studentId,
          itemId: assignment.id,
          source: "assignment",
          title: assignment.title,
          category: assignment.category,
          maxPoints: assignment.maxPoints,
          points: submission.finalPoints ?? 0,
          // A recomputation is newer than the grading it revises.
          recordedAt: notify ? submission.gradedAt! : new Date().toISOString(),
          notify,
        };
        await this.recordEvent(ctx, transaction, "grade.recorded", event);
      },
    },
  };
}
