/**
 * quizzes — quizzes of a course (own database), students' timed attempts and their automatic
 * scoring. Who may do what comes from the courses service (`courses.access`: staff, enrolled).
 * The database holds the concurrency rules: a unique (quiz, student, number) lets one of two
 * simultaneous starts of the last attempt win; a conditional UPDATE scores an attempt once.
 * Scores leave as durable events: `grade.recorded` (the student's best attempt, to the gradebook)
 * and `quiz.scored` (to the student's notifications).
 */
import type { Context } from "moleculer";
import { DataTypes, QueryTypes, UniqueConstraintError, type Transaction } from "sequelize";
import type { CampusConfig } from "../../lib/config";
import { recordIdAttribute } from "../../lib/database";
import { conflict, forbidden, invalid, notFound } from "../../lib/errors";
import { created, noContent } from "../../lib/responses";
import { LONG_READ, NOT_RETRIED } from "../../lib/fault-tolerance";
import { isUuid } from "../../lib/ids";
import { countQuizSubmission, outcomeHooks } from "../../lib/metrics";
import { findPage, mapPage, type Page } from "../../lib/paging";
import type { CourseAccess } from "../courses/courses";
import { DbMixin } from "../../mixins/db.mixin";
import { DomainEventsMixin, outboxRecord } from "../../mixins/domain-events.mixin";
import { traceScope } from "../../lib/tracing";
import { CourseAccessMixin, type CourseAccessThis } from "../../mixins/course-access.mixin";
import type { CampusMeta, CampusServiceSchema, DbEventsThis } from "../../types/service";
import {
  answerProblems,
  attemptDeadline,
  attemptOrder,
  isExpired,
  MAX_ATTEMPTS_LIMIT,
  maxPointsOf,
  normaliseQuestions,
  questionProblems,
  quizChanges,
  quizDefaults,
  scoreAttempt,
  startDenial,
  studentQuiz,
  toAttempt,
  toAttemptSummary,
  toQuiz,
  windowProblems,
  type Answer,
  type Attempt,
  type AttemptRow,
  type AttemptSummary,
  type Quiz,
  type QuizRow,
  type QuizSettings,
  type StudentQuiz,
} from "./quizzes";
import { quizzesMigrations } from "./quizzes.migrations";
import { quizzesRoutes } from "./quizzes.routes";
import { KeyedQueue } from "../../lib/keyed-queue";

type Meta = CampusMeta;
type QuizzesThis = DbEventsThis &
  CourseAccessThis & {
    loadQuiz(id: string, transaction?: Transaction, lock?: "UPDATE" | "SHARE"): Promise<Quiz>;
    attemptCount(quizId: string, transaction?: Transaction): Promise<number>;
    closeExpired(ctx: Context, quiz: Quiz, rows: AttemptRow[]): Promise<AttemptRow[]>;
    scoreOnce(
      ctx: Context,
      quiz: Quiz,
      attempt: AttemptRow,
      answers: Answer[],
      expired: boolean,
    ): Promise<AttemptRow | null>;
    recordItemChange(
      ctx: Context,
      transaction: Transaction,
      quiz: Quiz,
      deleted?: boolean,
    ): Promise<void>;
  };

const quizModel = {
  name: "quiz",
  define: {
    id: recordIdAttribute(),
    courseId: { type: DataTypes.UUID, allowNull: false },
    title: { type: DataTypes.STRING(200), allowNull: false },
    questions: { type: DataTypes.JSONB, allowNull: false },
    maxPoints: { type: DataTypes.DECIMAL(12, 2), allowNull: false },
    timeLimitSeconds: { type: DataTypes.INTEGER, allowNull: true },
    maxAttempts: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 1 },
    opensAt: { type: DataTypes.DATE, allowNull: true },
    closesAt: { type: DataTypes.DATE, allowNull: true },
    shuffle: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: false },
    published: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: false },
  },
  options: { tableName: "quizzes" },
};

const attemptModel = {
  name: "attempt",
  define: {
    id: recordIdAttribute(),
    quizId: { type: DataTypes.UUID, allowNull: false },
    studentId: { type: DataTypes.UUID, allowNull: false },
    number: { type: DataTypes.INTEGER, allowNull: false },
    questionOrder: { type: DataTypes.JSONB, allowNull: false },
    startedAt: { type: DataTypes.DATE, allowNull: false, defaultValue: DataTypes.NOW },
    deadline: { type: DataTypes.DATE, allowNull: true },
    submittedAt: { type: DataTypes.DATE, allowNull: true },
    expired: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: false },
    answers: { type: DataTypes.JSONB, allowNull: true },
    score: { type: DataTypes.DECIMAL(12, 2), allowNull: true },
    results: { type: DataTypes.JSONB, allowNull: true },
  },
  options: { tableName: "attempts", timestamps: false },
};

const QUIZ_HAS_ATTEMPTS = "QUIZ_HAS_ATTEMPTS";
const NO_ATTEMPTS_LEFT = "NO_ATTEMPTS_LEFT";
/**
 * A start that lost the race for an attempt number counts again. Each lost race means another
 * attempt was inserted, so after at most `MAX_ATTEMPTS_LIMIT` of them the limit is reached.
 */
const START_TRIES = MAX_ATTEMPTS_LIMIT + 1;

/** The 409 messages of the attempt rules. */
const DENIALS = {
  QUIZ_CLOSED: "The quiz is not open for attempts now",
  NO_ATTEMPTS_LEFT: "No attempts left on this quiz",
} as const;

/** The SQL row of an attempt (raw queries), as the model's attributes. */
interface AttemptSqlRow {
  id: string;
  quiz_id: string;
  student_id: string;
  number: number;
  question_order: AttemptRow["questionOrder"];
  started_at: Date;
  deadline: Date | null;
  submitted_at: Date | null;
  expired: boolean;
  answers: Answer[] | null;
  score: string | number | null;
  results: AttemptRow["results"];
}

function fromSql(row: AttemptSqlRow): AttemptRow {
  return {
    id: row.id,
    quizId: row.quiz_id,
    studentId: row.student_id,
    number: row.number,
    questionOrder: row.question_order,
    startedAt: new Date(row.started_at),
    deadline: row.deadline ? new Date(row.deadline) : null,
    submittedAt: row.submitted_at ? new Date(row.submitted_at) : null,
    expired: row.expired,
    answers: row.answers,
    score: row.score,
    results: row.results,
  };
}

/**
 * Scores an attempt and records its two events in ONE statement (no transaction round trips).
 * - `mine` locks the student's attempts at this quiz in id order: two submits of the same student
 *   run one after the other (ordered locks: no deadlock), and the second reads the first's score
 *   as committed, so the best score is never computed without it;
 * - the conditional UPDATE lets only one of two submits of an attempt find it unscored;
 * - the outbox rows are inserted only when the update matched; `grade.recorded` gets the best
 *   score as `points` and the statement's own clock as `recordedAt` (later for the later submit).
 */
const SCORE_ATTEMPT_SQL = `
  WITH mine AS (
    SELECT id, score FROM quizzes.attempts
    WHERE quiz_id = :quizId AND student_id = :studentId
    ORDER BY id
    FOR UPDATE),
  scored AS (
    UPDATE quizzes.attempts
    SET submitted_at = now(), expired = :expired, answers = CAST(:answers AS jsonb),
        score = :score, results = CAST(:results AS jsonb)
    WHERE id = :id AND submitted_at IS NULL AND id IN (SELECT id FROM mine)
    RETURNING *),
  best AS (
    SELECT scored.*,
           GREATEST(scored.score, (SELECT max(mine.score) FROM mine WHERE mine.id <> scored.id))
             AS best,
           to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
             AS recorded_at
    FROM scored),
  events AS (
    INSERT INTO quizzes.outbox (id, name, payload, request_id, meta)
    SELECT CAST(:scoredId AS uuid), :scoredName, CAST(:scoredPayload AS jsonb), :requestId,
           CAST(:meta AS jsonb)
    FROM best
    UNION ALL
    SELECT CAST(:gradeId AS uuid), :gradeName,
           CAST(:gradePayload AS jsonb)
             || jsonb_build_object('points', best.best, 'recordedAt', best.recorded_at),
           :requestId, CAST(:meta AS jsonb)
    FROM best
    RETURNING id)
  SELECT best.* FROM best`;

/** An attempt and its quiz in one read (the submit's hot path), as JSON rows. */
const ATTEMPT_WITH_QUIZ_SQL = `
  SELECT to_jsonb(a) AS attempt, to_jsonb(q) AS quiz
  FROM quizzes.attempts a JOIN quizzes.quizzes q ON q.id = a.quiz_id
  WHERE a.id = :attemptId AND a.quiz_id = :quizId AND a.student_id = :studentId`;

/** A quiz row read as JSON (snake_case keys, times as text). */
interface QuizJson {
  id: string;
  course_id: string;
  title: string;
  questions: QuizRow["questions"];
  time_limit_seconds: number | null;
  max_attempts: number;
  opens_at: string | null;
  closes_at: string | null;
  shuffle: boolean;
  published: boolean;
  max_points: number;
  created_at: string;
  updated_at: string;
}

function quizFromJson(row: QuizJson): Quiz {
  const time = (value: string | null) => (value === null ? null : new Date(value));
  return toQuiz({
    id: row.id,
    courseId: row.course_id,
    title: row.title,
    questions: row.questions,
    timeLimitSeconds: row.time_limit_seconds,
    maxAttempts: row.max_attempts,
    opensAt: time(row.opens_at),
    closesAt: time(row.closes_at),
    shuffle: row.shuffle,
    published: row.published,
    maxPoints: row.max_points,
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
  });
}

function staffOnly(access: CourseAccess): void {
  if (!access.staff)
    throw forbidden("Only an administrator or a teacher of this course may manage its quizzes");
}

export default function quizzesService(config: CampusConfig): CampusServiceSchema<QuizzesThis> {
  // A student's submits at one quiz are serialized by the scoring statement's row locks; here
  // they queue first, so that a burst of them occupies one pooled connection, not all of them.
  const scoringQueue = new KeyedQueue();
  return {
    name: "quizzes",
    mixins: [
      CourseAccessMixin,
      DbMixin("quizzes", config, {
        model: quizModel,
        extraModels: [attemptModel],
        migrations: quizzesMigrations,
        uniqueViolations: {},
      }),
      DomainEventsMixin,
    ],
    settings: { ...quizzesRoutes.settings },
    // campus_quiz_submissions_total{result}: scored, expired, duplicate, invalid.
    hooks: outcomeHooks("submitAttempt", countQuizSubmission),

    actions: {
      create: {
        ...NOT_RETRIED,
        ...quizzesRoutes.actions.create,
        async handler(
          this: QuizzesThis,
          ctx: Context<Partial<QuizSettings> & { id: string }, Meta>,
        ): Promise<Quiz> {
          staffOnly(await this.courseAccess(ctx, ctx.params.id));
          const settings = quizDefaults(ctx.params);
          const input = ctx.params.questions ?? [];
          const problems = [
            ...questionProblems(input),
            ...windowProblems(settings.opensAt, settings.closesAt),
          ];
          if (problems.length > 0) throw invalid(problems);
          const questions = normaliseQuestions(input);
          const row = await this.adapter.model.create({
            ...settings,
            courseId: ctx.params.id.toLowerCase(),
            questions,
            maxPoints: maxPointsOf(questions),
          });
          const quiz = toQuiz(row.get({ plain: true }) as QuizRow);
          return created(ctx, `/api/quizzes/${quiz.id}`, quiz);
        },
      },

      listOfCourse: {
        ...LONG_READ,
        ...quizzesRoutes.actions.listOfCourse,
        async handler(
          this: QuizzesThis,
          ctx: Context<{ id: string; page?: number; pageSize?: number }, Meta>,
        ): Promise<Page<Quiz | StudentQuiz>> {
          const { access, page } = await this.visibleCourseItems<QuizRow>(
            ctx,
            [
              ["createdAt", "ASC"],
              ["id", "ASC"],
            ],
            "Only the course's staff and enrolled students see its quizzes",
          );
          const quizzes = mapPage(page, toQuiz);
          return access.staff ? quizzes : mapPage(quizzes, studentQuiz);
        },
      },

      get: {
        ...LONG_READ,
        ...quizzesRoutes.actions.get,
        async handler(
          this: QuizzesThis,
          ctx: Context<{ id: string }, Meta>,
        ): Promise<Quiz | StudentQuiz> {
          const quiz = await this.loadQuiz(ctx.params.id);
          const access = await this.courseAccess(ctx, quiz.courseId);
          if (access.staff) return quiz;
          // A draft does not exist for students; a course's quiz is nothing to outsiders.
          if (!access.enrolled) throw forbidden("Only the course's staff and enrolled students");
          if (!quiz.published) throw notFound("Quiz");
          return studentQuiz(quiz);
        },
      },

      update: {
        ...NOT_RETRIED,
        ...quizzesRoutes.actions.update,
        async handler(
          this: QuizzesThis,
          ctx: Context<Partial<QuizSettings> & { id: string }, Meta>,
        ): Promise<Quiz> {
          const current = await this.loadQuiz(ctx.params.id);
          staffOnly(await this.courseAccess(ctx, current.courseId));
          const settings = quizChanges(ctx.params);
          const input = ctx.params.questions;
          // The window as it will be: a changed bound is checked against the one kept.
          const next = { ...current, ...settings };
          const problems = [
            ...(input ? questionProblems(input) : []),
            ...windowProblems(next.opensAt, next.closesAt),
          ];
          if (problems.length > 0) throw invalid(problems);
          const questions = input ? normaliseQuestions(input) : null;
          const changes = {
            ...settings,
            ...(questions ? { questions, maxPoints: maxPointsOf(questions) } : {}),
          };
          if (Object.keys(changes).length === 0) return current;
          const quiz = await this.sequelize.transaction(async (transaction) => {
            // The row lock orders this change after any start holding the quiz (FOR SHARE).
            const locked = await this.loadQuiz(current.id, transaction, "UPDATE");
            if (input && (await this.attemptCount(locked.id, transaction)) > 0)
              throw conflict(
                "The quiz has attempts: its questions can no longer change",
                QUIZ_HAS_ATTEMPTS,
              );
            const [, rows] = await this.adapter.model.update(changes, {
              where: { id: locked.id },
              returning: true,
              transaction,
            });
            const updated = toQuiz(rows[0].get({ plain: true }) as QuizRow);
            if (updated.title !== locked.title || updated.maxPoints !== locked.maxPoints)
              await this.recordItemChange(ctx, transaction, updated);
            return updated;
          });
          return quiz;
        },
      },

      remove: {
        ...NOT_RETRIED,
        ...quizzesRoutes.actions.remove,
        async handler(this: QuizzesThis, ctx: Context<{ id: string }, Meta>): Promise<null> {
          const current = await this.loadQuiz(ctx.params.id);
          staffOnly(await this.courseAccess(ctx, current.courseId));
          await this.sequelize.transaction(async (transaction) => {
            const locked = await this.loadQuiz(current.id, transaction, "UPDATE");
            if ((await this.attemptCount(locked.id, transaction)) > 0)
              throw conflict(
                "The quiz has attempts and cannot be deleted; its scores are in the gradebook",
                QUIZ_HAS_ATTEMPTS,
              );
            await this.adapter.model.destroy({ where: { id: locked.id }, transaction });
            await this.recordItemChange(ctx, transaction, locked, true);
          });
          return noContent(ctx);
        },
      },

      publish: {
        ...NOT_RETRIED,
        ...quizzesRoutes.actions.publish,
        async handler(this: QuizzesThis, ctx: Context<{ id: string }, Meta>): Promise<Quiz> {
          const current = await this.loadQuiz(ctx.params.id);
          staffOnly(await this.courseAccess(ctx, current.courseId));
          if (current.published) return current;
          return this.sequelize.transaction(async (transaction) => {
            const [, rows] = await this.adapter.model.update(
              { published: true },
              { where: { id: current.id }, returning: true, transaction },
            );
            if (rows.length === 0) throw notFound("Quiz");
            const quiz = toQuiz(rows[0].get({ plain: true }) as QuizRow);
            await this.recordItemChange(ctx, transaction, quiz);
            return quiz;
          });
        },
      },

      startAttempt: {
        ...NOT_RETRIED,
        ...quizzesRoutes.actions.startAttempt,
        async handler(this: QuizzesThis, ctx: Context<{ id: string }, Meta>): Promise<Attempt> {
          const quiz = await this.loadQuiz(ctx.params.id);
          const access = await this.courseAccess(ctx, quiz.courseId);
          const studentId = ctx.meta.user!.studentId;
          if (!access.enrolled || !studentId)
            throw forbidden("Only students enrolled in the course may take its quizzes");
          if (!quiz.published) throw notFound("Quiz");

          for (let tries = 0; tries < START_TRIES; tries += 1) {
            try {
              const row = await this.sequelize.transaction(async (transaction) => {
                // Shares the quiz row with other starts; a question change waits for it.
                const locked = await this.loadQuiz(quiz.id, transaction, "SHARE");
                const [{ made }] = await this.sequelize.query<{ made: number }>(
                  `SELECT count(*)::int AS made FROM quizzes.attempts
                   WHERE quiz_id = :quizId AND student_id = :studentId`,
                  {
                    replacements: { quizId: locked.id, studentId },
                    type: QueryTypes.SELECT,
                    transaction,
                  },
                );
                const now = new Date();
                const denial = startDenial(locked, made, locked.maxAttempts, now);
                if (denial) throw conflict(DENIALS[denial], denial);
                const attempt = await this.models.attempt.create(
                  {
                    quizId: locked.id,
                    studentId,
                    number: made + 1,
                    questionOrder: attemptOrder(locked.questions, locked.shuffle),
                    startedAt: now,
                    deadline: attemptDeadline(now, locked.timeLimitSeconds, locked.closesAt),
                  },
                  { transaction },
                );
                return attempt.get({ plain: true }) as AttemptRow;
              });
              return created(
                ctx,
                `/api/quizzes/${quiz.id}/attempts/${row.id}`,
                toAttempt(row, quiz),
              );
            } catch (err) {
              // Another start took this number first: count again (the limit may now be reached).
              if (!(err instanceof UniqueConstraintError)) throw err;
            }
          }
          throw conflict(DENIALS.NO_ATTEMPTS_LEFT, NO_ATTEMPTS_LEFT);
        },
      },

      submitAttempt: {
        ...NOT_RETRIED,
        ...quizzesRoutes.actions.submitAttempt,
        async handler(
          this: QuizzesThis,
          ctx: Context<{ id: string; attemptId: string; answers: Answer[] }, Meta>,
        ): Promise<Attempt> {
          const studentId = ctx.meta.user!.studentId;
          if (!isUuid(ctx.params.id) || !isUuid(ctx.params.attemptId) || !studentId)
            throw notFound("Attempt");
          // Someone else's attempt (or an unknown quiz) matches no row: 404, as an unknown id.
          const [found] = await this.sequelize.query<{ attempt: AttemptSqlRow; quiz: QuizJson }>(
            ATTEMPT_WITH_QUIZ_SQL,
            {
              replacements: {
                attemptId: ctx.params.attemptId.toLowerCase(),
                quizId: ctx.params.id.toLowerCase(),
                studentId,
              },
              type: QueryTypes.SELECT,
            },
          );
          if (!found) throw notFound("Attempt");
          const quiz = quizFromJson(found.quiz);
          const attempt = fromSql(found.attempt);
          if (attempt.submittedAt !== null)
            throw conflict("The attempt has already been submitted", "ALREADY_SUBMITTED");
          if (isExpired(attempt.deadline, new Date())) {
            await this.closeExpired(ctx, quiz, [attempt]);
            throw conflict(
              "The attempt's time is over; it was scored as it stood",
              "ATTEMPT_EXPIRED",
            );
          }
          const problems = answerProblems(ctx.params.answers, quiz.questions);
          if (problems.length > 0) throw invalid(problems);
          const scored = await this.scoreOnce(ctx, quiz, attempt, ctx.params.answers, false);
          if (!scored)
            throw conflict("The attempt has already been submitted", "ALREADY_SUBMITTED");
          return toAttempt(scored, quiz);
        },
      },

      attempts: {
        ...LONG_READ,
        ...quizzesRoutes.actions.attempts,
        async handler(
          this: QuizzesThis,
          ctx: Context<{ id: string; page?: number; pageSize?: number }, Meta>,
        ): Promise<Page<AttemptSummary>> {
          const quiz = await this.loadQuiz(ctx.params.id);
          const user = ctx.meta.user!;
          let where: Record<string, unknown>;
          if (user.role === "student") {
            // A student's own attempts only (none without a student record).
            where = { quizId: quiz.id, studentId: user.studentId ?? null };
          } else {
            staffOnly(await this.courseAccess(ctx, quiz.courseId));
            where = { quizId: quiz.id };
          }
          const page = await findPage<AttemptRow>(this.models.attempt, ctx.params, {
            where: where as never,
            order: [
              ["startedAt", "ASC"],
              ["id", "ASC"],
            ],
          });
          const attempts = { ...page, rows: await this.closeExpired(ctx, quiz, page.rows) };
          return mapPage(attempts, (row) => toAttemptSummary(row, quiz.maxPoints));
        },
      },

      attempt: {
        ...LONG_READ,
        ...quizzesRoutes.actions.attempt,
        async handler(
          this: QuizzesThis,
          ctx: Context<{ id: string; attemptId: string }, Meta>,
        ): Promise<Attempt> {
          const quiz = await this.loadQuiz(ctx.params.id);
          const user = ctx.meta.user!;
          if (!isUuid(ctx.params.attemptId)) throw notFound("Attempt");
          const found = await this.models.attempt.findOne({
            where: { id: ctx.params.attemptId.toLowerCase(), quizId: quiz.id },
          });
          if (user.role === "student") {
            // Another student's attempt is answered as an unknown one.
            if (!found || found.get("studentId") !== user.studentId) throw notFound("Attempt");
          } else {
            staffOnly(await this.courseAccess(ctx, quiz.courseId));
            if (!found) throw notFound("Attempt");
          }
          const [attempt] = await this.closeExpired(ctx, quiz, [
            found.get({ plain: true }) as AttemptRow,
          ]);
          return toAttempt(attempt, quiz);
        },
      },
    },

    methods: {
      async loadQuiz(
        this: QuizzesThis,
        id: string,
        transaction?: Transaction,
        lock?: "UPDATE" | "SHARE",
      ): Promise<Quiz> {
        if (!isUuid(id)) throw notFound("Quiz");
        const row = await this.adapter.model.findByPk(id.toLowerCase(), {
          transaction,
          ...(lock ? { lock: lock === "UPDATE" ? true : ("SHARE" as never) } : {}),
        });
        if (!row) throw notFound("Quiz");
        return toQuiz(row.get({ plain: true }) as QuizRow);
      },

      async attemptCount(
        this: QuizzesThis,
        quizId: string,
        transaction?: Transaction,
      ): Promise<number> {
        return this.models.attempt.count({ where: { quizId }, transaction });
      },

      /**
       * Attempts past their deadline (plus the grace) that were never submitted are scored as
       * they stand — nothing was answered, so 0 — once, by the same conditional statement a
       * submit uses. Returns the rows as they now are.
       */
      async closeExpired(
        this: QuizzesThis,
        ctx: Context,
        quiz: Quiz,
        rows: AttemptRow[],
      ): Promise<AttemptRow[]> {
        const now = new Date();
        const result: AttemptRow[] = [];
        for (const row of rows) {
          if (row.submittedAt !== null || !isExpired(row.deadline, now)) {
            result.push(row);
            continue;
          }
          const closed = await this.scoreOnce(ctx, quiz, row, [], true);
          if (closed) {
            result.push(closed);
          } else {
            // Closed meanwhile by another request: read it as it now is.
            const again = await this.models.attempt.findByPk(row.id);
            result.push(again!.get({ plain: true }) as AttemptRow);
          }
        }
        return result;
      },

      /**
       * Scores the attempt with these answers (unanswered questions: 0) unless it is scored
       * already (null), recording `quiz.scored` and `grade.recorded` (the student's best score)
       * in the same statement, then publishes them.
       */
      async scoreOnce(
        this: QuizzesThis,
        ctx: Context,
        quiz: Quiz,
        attempt: AttemptRow,
        answers: Answer[],
        expired: boolean,
      ): Promise<AttemptRow | null> {
        const { score, results } = scoreAttempt(quiz.questions, attempt.questionOrder, answers);
        const scoredEvent = outboxRecord(ctx, "quiz.scored", {
          quizId: quiz.id,
          courseId: quiz.courseId,
          studentId: attempt.studentId,
          attemptId: attempt.id,
          title: quiz.title,
          score,
          maxPoints: quiz.maxPoints,
          expired,
        });
        // `points` (the best attempt's score) and `recordedAt` are added by the statement.
        const gradeEvent = outboxRecord(ctx, "grade.recorded", {
          courseId: quiz.courseId,
          studentId: attempt.studentId,
          itemId: quiz.id,
          source: "quiz",
          title: quiz.title,
          category: "quizzes",
          maxPoints: quiz.maxPoints,
          // The student hears of the result through quiz.scored, not as a grading too.
          notify: false,
        });
        const run = () =>
          this.sequelize.query<AttemptSqlRow>(SCORE_ATTEMPT_SQL, {
            replacements: {
              id: attempt.id,
              quizId: attempt.quizId,
              studentId: attempt.studentId,
              expired,
              answers: JSON.stringify(answers),
              score,
              results: JSON.stringify(results),
              scoredId: scoredEvent.id,
              scoredName: scoredEvent.name,
              scoredPayload: scoredEvent.payload,
              gradeId: gradeEvent.id,
              gradeName: gradeEvent.name,
              gradePayload: gradeEvent.payload,
              requestId: scoredEvent.requestId,
              meta: scoredEvent.meta,
            },
            type: QueryTypes.SELECT,
          });
        const rows = await scoringQueue.run(`${attempt.quizId} ${attempt.studentId}`, run);
        if (rows.length === 0) return null;
        // Committed with the change: publish now (the relay's timer would catch it too).
        traceScope.exit(() => void this.relayEvents());
        return fromSql(rows[0]);
      },

      async recordItemChange(
        this: QuizzesThis,
        ctx: Context,
        transaction: Transaction,
        quiz: Quiz,
        deleted = false,
      ): Promise<void> {
        await this.recordEvent(ctx, transaction, "grade.item.changed", {
          courseId: quiz.courseId,
          itemId: quiz.id,
          source: "quiz",
          title: quiz.title,
          category: "quizzes",
          maxPoints: quiz.maxPoints,
          deleted,
          // The gradebook keeps the newest description of an item (by this time).
          changedAt: new Date().toISOString(),
        });
      },
    },
  };
}
