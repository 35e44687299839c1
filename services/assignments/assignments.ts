/**
 * Assignments and submissions: the fields and their input rules, the late policy (days late,
 * penalty, final points), the submission window, and the public shapes. Pure functions; the
 * service only wires them.
 */
import type { FieldError } from "../../lib/errors";

export const DEFAULT_CATEGORY = "assignments";
export const MAX_BODY_LENGTH = 100_000;
export const MAX_FEEDBACK_LENGTH = 20_000;
export const MAX_POINTS = 100_000;
const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * ISO 8601 date-time with an explicit offset (`Z` or `±hh:mm`); seconds and fractions optional.
 * A local time without an offset is ambiguous, so it is refused like any unparseable date.
 */
const ISO_WITH_OFFSET =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-](\d{2}):(\d{2}))$/;

/** The instant an ISO 8601 date-time with an offset names, or null for anything else. */
export function parseInstant(value: string): Date | null {
  const match = ISO_WITH_OFFSET.exec(value);
  if (!match) return null;
  const [, year, month, day, hour, minute, second = "0", , offsetHour, offsetMinute] = match;
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return null;
  // The calendar parts must exist as written (no 2026-02-30, 24:00 or 10:75).
  const calendar = new Date(Date.UTC(+year, +month - 1, +day, +hour, +minute, +second));
  const sameCalendar =
    calendar.getUTCFullYear() === +year &&
    calendar.getUTCMonth() === +month - 1 &&
    calendar.getUTCDate() === +day &&
    calendar.getUTCHours() === +hour &&
    calendar.getUTCMinutes() === +minute &&
    calendar.getUTCSeconds() === +second;
  const offsetOk = offsetHour === undefined || (+offsetHour <= 23 && +offsetMinute <= 59);
  return sameCalendar && offsetOk && +year >= 1 ? date : null;
}

const title = { type: "string", trim: true, min: 1, max: 200 } as const;
const description = { type: "string", max: 20_000, optional: true } as const;
const dueAt = { type: "string", max: 40 } as const;
const maxPoints = { type: "number", positive: true, max: MAX_POINTS } as const;
const category = { type: "string", trim: true, min: 1, max: 50, optional: true } as const;
const published = { type: "boolean", optional: true } as const;
const latePenaltyPercentPerDay = { type: "number", min: 0, max: 100, optional: true } as const;
const lateDaysAllowed = { type: "number", integer: true, min: 0, max: 30, optional: true } as const;

/** POST: title, dueAt and maxPoints required. */
export const assignmentFields = {
  title,
  description,
  dueAt,
  maxPoints,
  category,
  published,
  latePenaltyPercentPerDay,
  lateDaysAllowed,
} as const;

/** PATCH: only the fields to change. */
export const assignmentPatchFields = {
  ...assignmentFields,
  title: { ...title, optional: true },
  dueAt: { ...dueAt, optional: true },
  maxPoints: { ...maxPoints, optional: true },
} as const;

export const submissionBodyField = {
  type: "string",
  min: 1,
  max: MAX_BODY_LENGTH,
} as const;

export const gradeFields = {
  points: { type: "number", min: 0, max: MAX_POINTS },
  feedback: { type: "string", max: MAX_FEEDBACK_LENGTH, optional: true, nullable: true },
} as const;

export interface AssignmentInput {
  title?: string;
  description?: string;
  dueAt?: string;
  maxPoints?: number;
  category?: string;
  published?: boolean;
  latePenaltyPercentPerDay?: number;
  lateDaysAllowed?: number;
}

export interface Assignment {
  id: string;
  courseId: string;
  title: string;
  description: string;
  dueAt: string;
  maxPoints: number;
  category: string;
  published: boolean;
  latePenaltyPercentPerDay: number;
  lateDaysAllowed: number;
  createdAt: string;
  updatedAt: string;
}

export interface AssignmentRow extends Omit<Assignment, "dueAt" | "createdAt" | "updatedAt"> {
  dueAt: Date;
  createdAt: Date;
  updatedAt: Date;
}

/** Stored values of an assignment (the columns a write sets). */
export interface AssignmentValues {
  title: string;
  description: string;
  dueAt: Date;
  maxPoints: number;
  category: string;
  published: boolean;
  latePenaltyPercentPerDay: number;
  lateDaysAllowed: number;
}

export function toAssignment(row: AssignmentRow): Assignment {
  return {
    id: row.id,
    courseId: row.courseId,
    title: row.title,
    description: row.description,
    dueAt: row.dueAt.toISOString(),
    maxPoints: Number(row.maxPoints),
    category: row.category,
    published: row.published,
    latePenaltyPercentPerDay: Number(row.latePenaltyPercentPerDay),
    lateDaysAllowed: row.lateDaysAllowed,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

const badDueAt: FieldError = {
  field: "dueAt",
  message: "is not an ISO 8601 date-time with an offset (e.g. 2026-12-24T23:59:00+01:00)",
  type: "dateTime",
};

/** A new assignment's values with defaults, or the field errors that refuse it. */
export function newAssignmentValues(
  input: AssignmentInput,
): { values: AssignmentValues } | { problems: FieldError[] } {
  const due = parseInstant(input.dueAt ?? "");
  if (!due) return { problems: [badDueAt] };
  return {
    values: {
      title: input.title ?? "",
      description: input.description ?? "",
      dueAt: due,
      maxPoints: input.maxPoints ?? 0,
      category: input.category ?? DEFAULT_CATEGORY,
      published: input.published ?? false,
      latePenaltyPercentPerDay: input.latePenaltyPercentPerDay ?? 0,
      lateDaysAllowed: input.lateDaysAllowed ?? 0,
    },
  };
}

/** Only the editable fields present in a PATCH, as stored values, or the field errors. */
export function assignmentChanges(
  input: AssignmentInput,
): { values: Partial<AssignmentValues> } | { problems: FieldError[] } {
  const values: Partial<AssignmentValues> = {};
  for (const key of [
    "title",
    "description",
    "maxPoints",
    "category",
    "published",
    "latePenaltyPercentPerDay",
    "lateDaysAllowed",
  ] as const) {
    if (input[key] !== undefined) (values as Record<string, unknown>)[key] = input[key];
  }
  if (input.dueAt !== undefined) {
    const due = parseInstant(input.dueAt);
    if (!due) return { problems: [badDueAt] };
    values.dueAt = due;
  }
  return { values };
}

/** Whole days late, rounded up: one second after the due time is one day late. */
export function daysLate(submittedAt: Date, dueAt: Date): number {
  const late = submittedAt.getTime() - dueAt.getTime();
  return late <= 0 ? 0 : Math.ceil(late / DAY_MS);
}

/** Money-style rounding to hundredths, so 3 × 10 % of 7 is 2.1, not 2.1000000000000005. */
export function roundPoints(value: number): number {
  return Math.round((value + Number.EPSILON) * 100) / 100;
}

/** The points a late submission loses: days late × percent per day of maxPoints, at most maxPoints. */
export function penaltyPoints(
  days: number,
  percentPerDay: number,
  assignmentMaxPoints: number,
): number {
  const penalty = (days * percentPerDay * assignmentMaxPoints) / 100;
  return roundPoints(Math.min(assignmentMaxPoints, Math.max(0, penalty)));
}

/** What counts in the gradebook: the points less the penalty, never below 0. */
export function finalPoints(points: number, penalty: number): number {
  return roundPoints(Math.max(0, points - penalty));
}

export type SubmissionState = "turned_in" | "graded";

export interface SubmissionRow {
  assignmentId: string;
  studentId: string;
  body: string;
  state: SubmissionState;
  submittedAt: Date;
  late: boolean;
  daysLate: number;
  points: number | null;
  penaltyPoints: number;
  finalPoints: number | null;
  feedback: string | null;
  gradedAt: Date | null;
}

export interface Submission {
  assignmentId: string;
  studentId: string;
  body: string;
  state: SubmissionState;
  submittedAt: string;
  late: boolean;
  daysLate: number;
  points: number | null;
  penaltyPoints: number;
  finalPoints: number | null;
  feedback: string | null;
  gradedAt: string | null;
}

export function toSubmission(row: SubmissionRow): Submission {
  const numberOrNull = (value: number | null) => (value === null ? null : Number(value));
  return {
    assignmentId: row.assignmentId,
    studentId: row.studentId,
    body: row.body,
    state: row.state,
    submittedAt: row.submittedAt.toISOString(),
    late: row.late,
    daysLate: row.daysLate,
    points: numberOrNull(row.points),
    penaltyPoints: Number(row.penaltyPoints),
    finalPoints: numberOrNull(row.finalPoints),
    feedback: row.feedback,
    gradedAt: row.gradedAt ? row.gradedAt.toISOString() : null,
  };
}

/** The late policy of an assignment, as the window and penalty rules need it. */
export type LatePolicy = Pick<AssignmentValues, "dueAt" | "lateDaysAllowed">;

/**
 * Why a student may not (re)submit now (the 409's message), or null: once graded the work is
 * closed, and after the late window (due + lateDaysAllowed days) nothing more is taken.
 */
export function submissionClosedReason(
  now: Date,
  policy: LatePolicy,
  existing: { state: SubmissionState } | null,
): string | null {
  if (existing?.state === "graded")
    return "The submission has been graded and can no longer change";
  if (daysLate(now, policy.dueAt) > policy.lateDaysAllowed) {
    return policy.lateDaysAllowed === 0
      ? "The assignment was due and takes no late submissions"
      : `The late window (${policy.lateDaysAllowed} day(s) after the due time) has closed`;
  }
  return null;
}

/** A submission's late fields at `submittedAt`. */
export function lateness(submittedAt: Date, dueAt: Date): { late: boolean; daysLate: number } {
  const days = daysLate(submittedAt, dueAt);
  return { late: days > 0, daysLate: days };
}

/** The grade fields of a submission given `points` under the assignment's policy. */
export function gradeOf(
  points: number,
  submission: { daysLate: number },
  assignment: { latePenaltyPercentPerDay: number; maxPoints: number },
): { points: number; penaltyPoints: number; finalPoints: number } {
  const penalty = penaltyPoints(
    submission.daysLate,
    assignment.latePenaltyPercentPerDay,
    assignment.maxPoints,
  );
  return { points, penaltyPoints: penalty, finalPoints: finalPoints(points, penalty) };
}

/** `points` must fit the assignment: 0..maxPoints. */
export function pointsProblems(points: number, assignmentMaxPoints: number): FieldError[] {
  if (points > assignmentMaxPoints) {
    return [
      {
        field: "points",
        message: `must not exceed the assignment's maxPoints (${assignmentMaxPoints})`,
        type: "numberMax",
      },
    ];
  }
  return [];
}

/**
 * A new maxPoints must still hold the points already given (a lower one would leave grades
 * over the maximum): the field error, or none.
 */
export function maxPointsProblems(newMaxPoints: number, highestGivenPoints: number): FieldError[] {
  if (newMaxPoints < highestGivenPoints) {
    return [
      {
        field: "maxPoints",
        message: `must not be below points already given (${highestGivenPoints})`,
        type: "maxPointsBelowGraded",
      },
    ];
  }
  return [];
}

/** A category the course's grading policy does not name (422), when the course has a policy. */
export function categoryProblems(
  assignmentCategory: string,
  policyCategories: readonly string[] | null,
): FieldError[] {
  if (policyCategories === null) return [];
  const known = policyCategories.map((name) => name.toLowerCase());
  if (known.includes(assignmentCategory.toLowerCase())) return [];
  return [
    {
      field: "category",
      message: `is not a category of the course's grading policy (${policyCategories.join(", ")})`,
      type: "category",
    },
  ];
}

/**
 * The generic `grade.recorded` event (assignments and quizzes): the final points of one item for
 * one student at `recordedAt`. The gradebook keeps, per item and student, the newest recordedAt.
 */
export interface GradeRecorded {
  courseId: string;
  studentId: string;
  itemId: string;
  source: "assignment" | "quiz";
  title: string;
  category: string;
  maxPoints: number;
  points: number;
  recordedAt: string;
  /** false when the grade was recomputed (a policy change), not given: no notification. */
  notify?: boolean;
}

/** `submission.turned_in`: a student turned in (or replaced) their work (profiles' achievements). */
export interface SubmissionTurnedIn {
  assignmentId: string;
  courseId: string;
  studentId: string;
  submittedAt: string;
  late: boolean;
}

/** `grade.item.changed`: an item's title, category or maxPoints changed, or it was deleted. */
export interface GradeItemChanged {
  courseId: string;
  itemId: string;
  source: "assignment" | "quiz";
  title: string;
  category: string;
  maxPoints: number;
  deleted: boolean;
  changedAt: string;
}
