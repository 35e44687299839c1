/**
 * Quizzes: the quiz and question rules (shape, limits, cross-field checks), the answers a student
 * may submit, the scoring of each question type, the time limit, and the public shapes (a
 * student's view never carries the correct answers before they submit).
 */
import { randomInt, randomUUID } from "crypto";
import type { FieldError } from "../../lib/errors";

// ---- Limits (documented in docs/api.md "Quizzes") ----
export const MAX_QUESTIONS = 200;
export const MAX_PROMPT_LENGTH = 10_000;
export const MAX_CHOICES = 20;
export const MAX_CHOICE_TEXT_LENGTH = 1_000;
export const MAX_TEXT_ANSWER_LENGTH = 1_000;
export const MAX_POINTS_PER_QUESTION = 1_000;
export const MAX_ATTEMPTS_LIMIT = 100;
/** At most one week per attempt. */
export const MAX_TIME_LIMIT_SECONDS = 7 * 24 * 3600;
/** A submit this long after the time limit is still accepted (network, clock skew). */
export const SUBMIT_GRACE_MS = 5_000;

export const QUESTION_TYPES = ["single_choice", "multiple_choice", "number", "text"] as const;
export type QuestionType = (typeof QUESTION_TYPES)[number];

// ---- Input rules (fastest-validator; the cross-field rules are `quizProblems` below) ----

const questionId = {
  type: "string",
  min: 1,
  max: 64,
  pattern: /^[A-Za-z0-9_-]+$/,
  optional: true,
} as const;

const choiceRule = {
  type: "object",
  strict: "remove",
  props: {
    id: questionId,
    text: { type: "string", trim: true, min: 1, max: MAX_CHOICE_TEXT_LENGTH },
    correct: { type: "boolean", optional: true, default: false },
  },
} as const;

const questionRule = {
  type: "object",
  strict: "remove",
  props: {
    id: questionId,
    type: { type: "enum", values: [...QUESTION_TYPES] },
    prompt: { type: "string", trim: true, min: 1, max: MAX_PROMPT_LENGTH },
    points: { type: "number", positive: true, max: MAX_POINTS_PER_QUESTION, optional: true },
    choices: { type: "array", items: choiceRule, max: MAX_CHOICES, optional: true },
    answer: {
      type: "multi",
      optional: true,
      rules: [
        { type: "number" },
        { type: "string", trim: true, min: 1, max: MAX_TEXT_ANSWER_LENGTH },
      ],
    },
    tolerance: { type: "number", min: 0, optional: true },
    caseSensitive: { type: "boolean", optional: true },
  },
} as const;

const isoTime = { type: "string", max: 40, nullable: true, optional: true } as const;

/** POST: a title and the questions are required; the rest default (see `quizDefaults`). */
export const quizFields = {
  title: { type: "string", trim: true, min: 1, max: 200 },
  questions: { type: "array", items: questionRule, min: 1, max: MAX_QUESTIONS },
  timeLimitSeconds: {
    type: "number",
    integer: true,
    min: 10,
    max: MAX_TIME_LIMIT_SECONDS,
    nullable: true,
    optional: true,
  },
  maxAttempts: { type: "number", integer: true, min: 1, max: MAX_ATTEMPTS_LIMIT, optional: true },
  opensAt: isoTime,
  closesAt: isoTime,
  shuffle: { type: "boolean", optional: true },
} as const;

/** PATCH: only the fields to change. */
export const quizPatchFields = {
  ...quizFields,
  title: { ...quizFields.title, optional: true },
  questions: { ...quizFields.questions, optional: true },
} as const;

/** `POST …/submit`: one answer per question at most; the kind of answer fits the question. */
export const answersField = {
  type: "array",
  max: MAX_QUESTIONS,
  items: {
    type: "object",
    strict: "remove",
    props: {
      questionId: { type: "string", min: 1, max: 64 },
      choiceIds: {
        type: "array",
        items: { type: "string", min: 1, max: 64 },
        max: MAX_CHOICES,
        optional: true,
      },
      value: { type: "number", optional: true },
      text: { type: "string", max: MAX_TEXT_ANSWER_LENGTH, optional: true },
    },
  },
} as const;

// ---- Shapes ----

export interface Choice {
  id: string;
  text: string;
  correct: boolean;
}

export interface Question {
  id: string;
  type: QuestionType;
  prompt: string;
  points: number;
  choices?: Choice[];
  answer?: number | string;
  tolerance?: number;
  caseSensitive?: boolean;
}

/** A question as a client writes it: ids, points and correct flags may be left out. */
export type QuestionInput = Omit<Partial<Question>, "choices"> & {
  choices?: { id?: string; text: string; correct?: boolean }[];
};

/** A question as a student sees it before submitting: no answer, no correct flags. */
export interface PublicQuestion {
  id: string;
  type: QuestionType;
  prompt: string;
  points: number;
  choices?: { id: string; text: string }[];
}

export interface QuizSettings {
  title: string;
  questions: QuestionInput[];
  timeLimitSeconds: number | null;
  maxAttempts: number;
  opensAt: string | null;
  closesAt: string | null;
  shuffle: boolean;
}

export interface Quiz extends Omit<QuizSettings, "questions"> {
  questions: Question[];
  id: string;
  courseId: string;
  published: boolean;
  maxPoints: number;
  createdAt: string;
  updatedAt: string;
}

export type StudentQuiz = Omit<Quiz, "questions"> & { questions: PublicQuestion[] };

export interface QuizRow {
  id: string;
  courseId: string;
  title: string;
  questions: Question[];
  timeLimitSeconds: number | null;
  maxAttempts: number;
  opensAt: Date | null;
  closesAt: Date | null;
  shuffle: boolean;
  published: boolean;
  maxPoints: string | number;
  createdAt: Date;
  updatedAt: Date;
}

export interface Answer {
  questionId: string;
  choiceIds?: string[];
  value?: number;
  text?: string;
}

/** The order one attempt shows: its questions, and each question's choices. */
export type AttemptOrder = { questionId: string; choiceIds?: string[] }[];

export interface QuestionResult {
  questionId: string;
  points: number;
  maxPoints: number;
}

export type AttemptState = "in_progress" | "submitted" | "expired";

export interface AttemptRow {
  id: string;
  quizId: string;
  studentId: string;
  number: number;
  questionOrder: AttemptOrder;
  startedAt: Date;
  deadline: Date | null;
  submittedAt: Date | null;
  expired: boolean;
  answers: Answer[] | null;
  score: string | number | null;
  results: QuestionResult[] | null;
}

/** An attempt in a list: no questions. */
export interface AttemptSummary {
  id: string;
  quizId: string;
  studentId: string;
  number: number;
  state: AttemptState;
  startedAt: string;
  deadline: string | null;
  submittedAt: string | null;
  score: number | null;
  maxPoints: number;
}

/** One attempt: its questions in its own order; once scored, the answers and per-question points. */
export interface Attempt extends AttemptSummary {
  questions: (PublicQuestion | Question)[];
  answers: Answer[] | null;
  results: QuestionResult[] | null;
}

// ---- Rules ----

/** Rounds to hundredths (points are stored as numeric(10,2)). */
export function roundPoints(value: number): number {
  return Math.round(value * 100) / 100;
}

export function maxPointsOf(questions: readonly Question[]): number {
  return roundPoints(questions.reduce((sum, question) => sum + question.points, 0));
}

function isChoiceType(type: QuestionType): boolean {
  return type === "single_choice" || type === "multiple_choice";
}

/** A time given as ISO 8601 with an offset (or `Z`); null when absent or unreadable. */
export function parseTime(value: string | null | undefined): Date | null {
  if (value === null || value === undefined) return null;
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})$/.test(value))
    return null;
  const time = new Date(value);
  return Number.isNaN(time.getTime()) ? null : time;
}

/** Problems of the times (real ISO 8601 with an offset, closes after opens), as field errors. */
export function windowProblems(opensAt: string | null, closesAt: string | null): FieldError[] {
  const problems: FieldError[] = [];
  for (const [field, value] of [
    ["opensAt", opensAt],
    ["closesAt", closesAt],
  ] as const) {
    if (value !== null && parseTime(value) === null) {
      problems.push({ field, message: "is not an ISO 8601 time with an offset", type: "date" });
    }
  }
  if (problems.length === 0 && opensAt && closesAt && parseTime(closesAt)! <= parseTime(opensAt)!)
    problems.push({ field: "closesAt", message: "must be after opensAt", type: "dateOrder" });
  return problems;
}

/**
 * The cross-field rules of a question list (the validator has checked each field's type and
 * length): unique ids, choices only on choice questions and 2..20 of them with unique ids, exactly
 * one correct choice for single choice and at least one for multiple choice, a numeric answer for
 * number questions and a text answer for text questions.
 */
export function questionProblems(questions: readonly QuestionInput[]): FieldError[] {
  const problems: FieldError[] = [];
  const problem = (field: string, message: string, type: string) =>
    problems.push({ field, message, type });
  const ids = new Set<string>();
  questions.forEach((question, index) => {
    const at = `questions[${index}]`;
    if (question.id !== undefined) {
      if (ids.has(question.id)) problem(`${at}.id`, "is used by another question", "unique");
      ids.add(question.id);
    }
    const type = question.type as QuestionType;
    if (isChoiceType(type)) {
      const choices = question.choices ?? [];
      if (choices.length < 2) problem(`${at}.choices`, "needs at least 2 choices", "arrayMin");
      const choiceIds = new Set<string>();
      choices.forEach((choice, choiceIndex) => {
        if (choice.id === undefined) return;
        if (choiceIds.has(choice.id))
          problem(`${at}.choices[${choiceIndex}].id`, "is used by another choice", "unique");
        choiceIds.add(choice.id);
      });
      const correct = choices.filter((choice) => choice.correct).length;
      if (type === "single_choice" && correct !== 1)
        problem(`${at}.choices`, `needs exactly one correct choice (has ${correct})`, "correct");
      if (type === "multiple_choice" && correct < 1)
        problem(`${at}.choices`, "needs at least one correct choice", "correct");
      for (const field of ["answer", "tolerance", "caseSensitive"] as const) {
        if (question[field] !== undefined)
          problem(`${at}.${field}`, `is not used by ${type} questions`, "forbidden");
      }
    } else {
      if (question.choices !== undefined)
        problem(`${at}.choices`, `is not used by ${type} questions`, "forbidden");
      if (type === "number") {
        if (typeof question.answer !== "number" || !Number.isFinite(question.answer))
          problem(`${at}.answer`, "must be a number for a number question", "number");
        if (question.caseSensitive !== undefined)
          problem(`${at}.caseSensitive`, "is not used by number questions", "forbidden");
      }
      if (type === "text") {
        if (typeof question.answer !== "string")
          problem(`${at}.answer`, "must be a text for a text question", "string");
        if (question.tolerance !== undefined)
          problem(`${at}.tolerance`, "is not used by text questions", "forbidden");
      }
    }
  });
  return problems;
}

/** Questions as stored: ids given where absent, defaults filled in, only the fields of their type. */
export function normaliseQuestions(
  questions: readonly QuestionInput[],
  newId: () => string = randomUUID,
): Question[] {
  return questions.map((question) => {
    const type = question.type as QuestionType;
    const base = {
      id: question.id ?? newId(),
      type,
      prompt: question.prompt ?? "",
      points: roundPoints(question.points ?? 1),
    };
    if (isChoiceType(type)) {
      return {
        ...base,
        choices: (question.choices ?? []).map((choice) => ({
          id: choice.id ?? newId(),
          text: choice.text,
          correct: choice.correct === true,
        })),
      };
    }
    if (type === "number") {
      return { ...base, answer: question.answer, tolerance: question.tolerance ?? 0 };
    }
    return { ...base, answer: question.answer, caseSensitive: question.caseSensitive === true };
  });
}

/** A quiz's settings on POST: defaults for what was left out. */
export function quizDefaults(input: Partial<QuizSettings>): Omit<QuizSettings, "questions"> {
  return {
    title: input.title ?? "",
    timeLimitSeconds: input.timeLimitSeconds ?? null,
    maxAttempts: input.maxAttempts ?? 1,
    opensAt: input.opensAt ?? null,
    closesAt: input.closesAt ?? null,
    shuffle: input.shuffle ?? false,
  };
}

/** Only the settings present in a PATCH (questions are handled apart: they may be frozen). */
export function quizChanges(
  input: Partial<QuizSettings>,
): Partial<Omit<QuizSettings, "questions">> {
  const changes: Record<string, unknown> = {};
  for (const key of [
    "title",
    "timeLimitSeconds",
    "maxAttempts",
    "opensAt",
    "closesAt",
    "shuffle",
  ] as const) {
    if (input[key] !== undefined) changes[key] = input[key];
  }
  return changes;
}

/** Why a student may not start an attempt now (the 409's type), or null. */
export function startDenial(
  quiz: Pick<Quiz, "opensAt" | "closesAt">,
  attemptsMade: number,
  maxAttempts: number,
  now: Date,
): "QUIZ_CLOSED" | "NO_ATTEMPTS_LEFT" | null {
  if (quiz.opensAt && now < new Date(quiz.opensAt)) return "QUIZ_CLOSED";
  if (quiz.closesAt && now >= new Date(quiz.closesAt)) return "QUIZ_CLOSED";
  if (attemptsMade >= maxAttempts) return "NO_ATTEMPTS_LEFT";
  return null;
}

/** When an attempt started now must be submitted: the time limit, or the quiz's close, if sooner. */
export function attemptDeadline(
  startedAt: Date,
  timeLimitSeconds: number | null,
  closesAt: string | null,
): Date | null {
  const candidates: number[] = [];
  if (timeLimitSeconds !== null) candidates.push(startedAt.getTime() + timeLimitSeconds * 1000);
  if (closesAt !== null) candidates.push(new Date(closesAt).getTime());
  return candidates.length === 0 ? null : new Date(Math.min(...candidates));
}

/** Past the deadline plus the grace: a submit is refused, and the attempt is scored as it stands. */
export function isExpired(deadline: Date | null, now: Date): boolean {
  return deadline !== null && now.getTime() > deadline.getTime() + SUBMIT_GRACE_MS;
}

/** A uniform random permutation (Fisher–Yates with a cryptographic source). */
export function shuffled<T>(items: readonly T[], random: (n: number) => number = randomInt): T[] {
  const result = [...items];
  for (let i = result.length - 1; i > 0; i -= 1) {
    const j = random(i + 1);
    [result[i], result[j]] = [result[j], result[i]];
  }
  return result;
}

/** The order of a new attempt: as written, or shuffled (questions and their choices) once. */
export function attemptOrder(
  questions: readonly Question[],
  shuffle: boolean,
  random?: (n: number) => number,
): AttemptOrder {
  const order = questions.map((question) => ({
    questionId: question.id,
    ...(question.choices
      ? {
          choiceIds: shuffle
            ? shuffled(
                question.choices.map((choice) => choice.id),
                random,
              )
            : question.choices.map((choice) => choice.id),
        }
      : {}),
  }));
  return shuffle ? shuffled(order, random) : order;
}

/**
 * Problems of a submitted answer list: each question of the attempt answered at most once, no
 * question outside it, choice ids of that very question (one for single choice), and the kind of
 * answer the question takes (choices, a number `value`, or a `text`).
 */
export function answerProblems(
  answers: readonly Answer[],
  questions: readonly Question[],
): FieldError[] {
  const problems: FieldError[] = [];
  const problem = (field: string, message: string, type: string) =>
    problems.push({ field, message, type });
  const byId = new Map(questions.map((question) => [question.id, question]));
  const seen = new Set<string>();
  answers.forEach((answer, index) => {
    const at = `answers[${index}]`;
    const question = byId.get(answer.questionId);
    if (!question) {
      problem(`${at}.questionId`, "is not a question of this attempt", "unknownQuestion");
      return;
    }
    if (seen.has(question.id)) problem(`${at}.questionId`, "is answered twice", "unique");
    seen.add(question.id);
    if (isChoiceType(question.type)) {
      if (answer.value !== undefined || answer.text !== undefined)
        problem(at, "a choice question takes choiceIds only", "answerKind");
      const choiceIds = answer.choiceIds ?? [];
      const known = new Set(question.choices!.map((choice) => choice.id));
      choiceIds.forEach((id, choiceIndex) => {
        if (!known.has(id))
          problem(`${at}.choiceIds[${choiceIndex}]`, "is not a choice of this question", "choice");
      });
      if (new Set(choiceIds).size !== choiceIds.length)
        problem(`${at}.choiceIds`, "names a choice twice", "unique");
      if (question.type === "single_choice" && choiceIds.length > 1)
        problem(`${at}.choiceIds`, "a single-choice question takes one choice", "arrayMax");
    } else if (question.type === "number") {
      if (answer.choiceIds !== undefined || answer.text !== undefined)
        problem(at, "a number question takes a numeric value only", "answerKind");
      if (answer.value !== undefined && !Number.isFinite(answer.value))
        problem(`${at}.value`, "must be a finite number", "number");
    } else {
      if (answer.choiceIds !== undefined || answer.value !== undefined)
        problem(at, "a text question takes a text only", "answerKind");
    }
  });
  return problems;
}

/** Single choice: the correct choice alone earns the points. */
export function scoreSingleChoice(question: Question, choiceIds: readonly string[]): number {
  const correct = question.choices!.find((choice) => choice.correct)!;
  return choiceIds.length === 1 && choiceIds[0] === correct.id ? question.points : 0;
}

/**
 * Multiple choice, partial credit: with k correct choices, each correct choice chosen earns +1/k
 * of the points and each wrong choice chosen costs 1/k; the total is floored at 0.
 */
export function scoreMultipleChoice(question: Question, choiceIds: readonly string[]): number {
  const chosen = new Set(choiceIds);
  const choices = question.choices!;
  const k = choices.filter((choice) => choice.correct).length;
  let net = 0;
  for (const choice of choices) {
    if (chosen.has(choice.id)) net += choice.correct ? 1 : -1;
  }
  return roundPoints(Math.min(Math.max(0, (net / k) * question.points), question.points));
}

/** Number: within the tolerance of the answer (a tiny epsilon absorbs binary rounding). */
export function scoreNumber(question: Question, value: number | undefined): number {
  if (value === undefined || !Number.isFinite(value)) return 0;
  const tolerance = question.tolerance ?? 0;
  return Math.abs(value - (question.answer as number)) <= tolerance + 1e-9 ? question.points : 0;
}

/** Text: equal after trimming, case-insensitive unless the question is case-sensitive. */
export function scoreText(question: Question, text: string | undefined): number {
  if (text === undefined) return 0;
  const expected = String(question.answer).trim();
  const given = text.trim();
  const equal = question.caseSensitive
    ? given === expected
    : given.toLocaleLowerCase() === expected.toLocaleLowerCase();
  return equal ? question.points : 0;
}

export function scoreQuestion(question: Question, answer: Answer | undefined): number {
  if (!answer) return 0;
  switch (question.type) {
    case "single_choice":
      return scoreSingleChoice(question, answer.choiceIds ?? []);
    case "multiple_choice":
      return scoreMultipleChoice(question, answer.choiceIds ?? []);
    case "number":
      return scoreNumber(question, answer.value);
    case "text":
      return scoreText(question, answer.text);
  }
}

/** Every question of the attempt scored (unanswered: 0), in the attempt's order, and the total. */
export function scoreAttempt(
  questions: readonly Question[],
  order: AttemptOrder,
  answers: readonly Answer[],
): { score: number; results: QuestionResult[] } {
  const byId = new Map(questions.map((question) => [question.id, question]));
  const answerOf = new Map(answers.map((answer) => [answer.questionId, answer]));
  const results = order.flatMap(({ questionId }) => {
    const question = byId.get(questionId);
    if (!question) return [];
    return [
      {
        questionId,
        points: scoreQuestion(question, answerOf.get(questionId)),
        maxPoints: question.points,
      },
    ];
  });
  return { score: roundPoints(results.reduce((sum, r) => sum + r.points, 0)), results };
}

// ---- Public shapes ----

export function toQuiz(row: QuizRow): Quiz {
  return {
    id: row.id,
    courseId: row.courseId,
    title: row.title,
    questions: row.questions,
    timeLimitSeconds: row.timeLimitSeconds,
    maxAttempts: row.maxAttempts,
    opensAt: row.opensAt ? row.opensAt.toISOString() : null,
    closesAt: row.closesAt ? row.closesAt.toISOString() : null,
    shuffle: row.shuffle,
    published: row.published,
    maxPoints: Number(row.maxPoints),
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

/** A question without what would give the answer away. */
export function publicQuestion(
  question: Question,
  choiceOrder?: readonly string[],
): PublicQuestion {
  const result: PublicQuestion = {
    id: question.id,
    type: question.type,
    prompt: question.prompt,
    points: question.points,
  };
  if (question.choices) {
    const byId = new Map(question.choices.map((choice) => [choice.id, choice]));
    const ids = choiceOrder ?? question.choices.map((choice) => choice.id);
    result.choices = ids.flatMap((id) => {
      const choice = byId.get(id);
      return choice ? [{ id: choice.id, text: choice.text }] : [];
    });
  }
  return result;
}

export function studentQuiz(quiz: Quiz): StudentQuiz {
  return { ...quiz, questions: quiz.questions.map((question) => publicQuestion(question)) };
}

export function attemptState(row: Pick<AttemptRow, "submittedAt" | "expired">): AttemptState {
  if (row.submittedAt === null) return "in_progress";
  return row.expired ? "expired" : "submitted";
}

export function toAttemptSummary(row: AttemptRow, maxPoints: number): AttemptSummary {
  return {
    id: row.id,
    quizId: row.quizId,
    studentId: row.studentId,
    number: row.number,
    state: attemptState(row),
    startedAt: row.startedAt.toISOString(),
    deadline: row.deadline ? row.deadline.toISOString() : null,
    submittedAt: row.submittedAt ? row.submittedAt.toISOString() : null,
    score: row.score === null ? null : Number(row.score),
    maxPoints,
  };
}

/**
 * One attempt in its own order. Until it is scored nobody sees the answers through it (not even
 * staff: they read them on the quiz); once scored it shows the questions with their answers, the
 * student's answers and the points per question.
 */
export function toAttempt(row: AttemptRow, quiz: Quiz): Attempt {
  const byId = new Map(quiz.questions.map((question) => [question.id, question]));
  const scored = row.submittedAt !== null;
  const questions = row.questionOrder.flatMap(({ questionId, choiceIds }) => {
    const question = byId.get(questionId);
    if (!question) return [];
    if (!scored) return [publicQuestion(question, choiceIds)];
    const order = choiceIds ?? question.choices?.map((choice) => choice.id);
    const choices = order?.flatMap((id) => question.choices!.filter((choice) => choice.id === id));
    return [{ ...question, ...(choices ? { choices } : {}) }];
  });
  return {
    ...toAttemptSummary(row, quiz.maxPoints),
    questions,
    answers: scored ? (row.answers ?? []) : null,
    results: scored ? (row.results ?? []) : null,
  };
}
