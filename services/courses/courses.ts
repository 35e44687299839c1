/** The course record: its fields, input rules (dates, capacity), its teachers and public shape. */
import { uuidListParam } from "../../lib/ids";
import type { FieldError } from "../../lib/errors";
import type { Identity } from "../../lib/permissions";

export const COURSE_SORT_FIELDS = [
  "code",
  "title",
  "capacity",
  "enrolledCount",
  "startDate",
  "endDate",
  "createdAt",
  "updatedAt",
] as const;

const code = { type: "string", trim: true, min: 1, max: 32 } as const;
const title = { type: "string", trim: true, min: 1, max: 200 } as const;
const description = { type: "string", max: 5000, optional: true } as const;
const capacity = {
  type: "number",
  integer: true,
  min: 1,
  max: 100000,
  nullable: true,
  optional: true,
} as const;
/** How many students may wait for a seat (0: no waitlist). */
const waitlistCapacity = {
  type: "number",
  integer: true,
  min: 0,
  max: 10000,
  optional: true,
} as const;
const isoDate = {
  type: "string",
  pattern: /^\d{4}-\d{2}-\d{2}$/,
  nullable: true,
  optional: true,
} as const;

/** POST and PUT: code and title required; the others default to empty / no limit / no date. */
export const courseFields = {
  code,
  title,
  description,
  capacity,
  waitlistCapacity,
  startDate: isoDate,
  endDate: isoDate,
} as const;

/** PATCH: only the fields to change. */
export const coursePatchFields = {
  ...courseFields,
  code: { ...code, optional: true },
  title: { ...title, optional: true },
} as const;

export interface CourseInput {
  code?: string;
  title?: string;
  description?: string;
  capacity?: number | null;
  waitlistCapacity?: number;
  startDate?: string | null;
  endDate?: string | null;
}

export interface Course {
  id: string;
  code: string;
  title: string;
  description: string;
  capacity: number | null;
  enrolledCount: number;
  /** How many may wait for a seat (0: no waitlist), and how many are waiting. */
  waitlistCapacity: number;
  waitlistedCount: number;
  startDate: string | null;
  endDate: string | null;
  /** User ids of the course's teachers (accounts with role `teacher`). */
  teacherIds: string[];
  createdAt: string;
  updatedAt: string;
}

export interface CourseRow extends Omit<Course, "createdAt" | "updatedAt"> {
  createdAt: Date;
  updatedAt: Date;
}

export function toCourse(row: CourseRow): Course {
  return {
    id: row.id,
    code: row.code,
    title: row.title,
    description: row.description,
    capacity: row.capacity,
    enrolledCount: row.enrolledCount,
    waitlistCapacity: row.waitlistCapacity,
    waitlistedCount: row.waitlistedCount,
    startDate: row.startDate,
    endDate: row.endDate,
    teacherIds: row.teacherIds,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

/** True for a real calendar day written as YYYY-MM-DD (rejects 2025-02-30 and year 0000). */
export function isCalendarDate(value: string): boolean {
  const date = new Date(`${value}T00:00:00Z`);
  const real = !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 10) === value;
  return real && value >= "0001-01-01";
}

/** The full set of values a PUT writes: absent optional fields are reset. */
export function courseReplacement(input: CourseInput): Required<CourseInput> {
  return {
    code: input.code ?? "",
    title: input.title ?? "",
    description: input.description ?? "",
    capacity: input.capacity ?? null,
    waitlistCapacity: input.waitlistCapacity ?? 0,
    startDate: input.startDate ?? null,
    endDate: input.endDate ?? null,
  };
}

/** Only the editable fields present in `input`: id, enrolledCount and timestamps never pass. */
export function courseChanges(input: CourseInput): CourseInput {
  const changes: CourseInput = {};
  for (const key of [
    "code",
    "title",
    "description",
    "capacity",
    "waitlistCapacity",
    "startDate",
    "endDate",
  ] as const) {
    if (input[key] !== undefined) (changes as Record<string, unknown>)[key] = input[key];
  }
  return changes;
}

/**
 * Rules over the course as it will be after the change: real dates, end not before start, and a
 * capacity not below the students already enrolled.
 */
export function courseProblems(course: {
  capacity: number | null;
  enrolledCount: number;
  startDate: string | null;
  endDate: string | null;
}): FieldError[] {
  const problems: FieldError[] = [];
  for (const field of ["startDate", "endDate"] as const) {
    const value = course[field];
    if (value !== null && !isCalendarDate(value)) {
      problems.push({ field, message: "is not a valid calendar date (YYYY-MM-DD)", type: "date" });
    }
  }
  if (
    problems.length === 0 &&
    course.startDate &&
    course.endDate &&
    course.endDate < course.startDate
  ) {
    problems.push({ field: "endDate", message: "must not be before startDate", type: "dateOrder" });
  }
  if (course.capacity !== null && course.capacity < course.enrolledCount) {
    problems.push({
      field: "capacity",
      message: `must not be below the ${course.enrolledCount} students already enrolled`,
      type: "capacityBelowEnrolled",
    });
  }
  return problems;
}

// ---- The enrollment lifecycle ----------------------------------------------------------------

export const ENROLLMENT_STATUSES = ["active", "waitlisted", "dropped", "completed"] as const;
export type EnrollmentStatus = (typeof ENROLLMENT_STATUSES)[number];

export interface Enrollment {
  courseId: string;
  studentId: string;
  enrolledAt: string;
  status: EnrollmentStatus;
  /** 1-based place on the waitlist; null unless waitlisted. */
  position: number | null;
}

/** `enrollment.completed`: the course was completed with the student in it (final results). */
export interface EnrollmentCompleted {
  courseId: string;
  studentId: string;
  finalPercent: number | null;
  finalGrade: string | null;
}

/**
 * The changes of status an enrollment may make (`null`: no enrollment yet). A dropped student may
 * enroll again (the same row comes back); a completed enrollment is final.
 */
const TRANSITIONS: Record<EnrollmentStatus | "none", readonly EnrollmentStatus[]> = {
  none: ["active", "waitlisted"],
  dropped: ["active", "waitlisted"],
  waitlisted: ["active", "dropped"],
  active: ["dropped", "completed"],
  completed: [],
};

export function canTransition(from: EnrollmentStatus | null, to: EnrollmentStatus): boolean {
  return TRANSITIONS[from ?? "none"].includes(to);
}

export interface Seats {
  capacity: number | null;
  enrolledCount: number;
  waitlistCapacity: number;
  waitlistedCount: number;
}

/** Free seats of a course (Infinity without a capacity). */
export function freeSeats(course: Pick<Seats, "capacity" | "enrolledCount">): number {
  return course.capacity === null
    ? Number.POSITIVE_INFINITY
    : Math.max(0, course.capacity - course.enrolledCount);
}

/**
 * Where a new enrollment goes: a seat if one is free and nobody waits for it (the waitlist is
 * served first), else the waitlist if it has room, else nowhere (409 COURSE_FULL).
 */
export function enrollmentOutcome(course: Seats): "active" | "waitlisted" | "full" {
  if (freeSeats(course) > 0 && course.waitlistedCount === 0) return "active";
  if (course.waitlistedCount < course.waitlistCapacity) return "waitlisted";
  return "full";
}

export interface WaitlistEntry {
  studentId: string;
  position: number;
}

/** The waitlist in order, renumbered 1..n (ties, which should not happen, by student id). */
export function compactPositions(waitlist: readonly WaitlistEntry[]): WaitlistEntry[] {
  return [...waitlist]
    .sort((a, b) => a.position - b.position || a.studentId.localeCompare(b.studentId))
    .map((entry, index) => ({ studentId: entry.studentId, position: index + 1 }));
}

/**
 * Who is promoted when `seats` seats are free: the first in line, in order; the others keep
 * their order with dense positions from 1.
 */
export function promotionPlan(
  waitlist: readonly WaitlistEntry[],
  seats: number,
): { promoted: string[]; remaining: WaitlistEntry[] } {
  const ordered = compactPositions(waitlist);
  const count = Math.max(0, Math.min(seats, ordered.length));
  return {
    promoted: ordered.slice(0, count).map((entry) => entry.studentId),
    remaining: compactPositions(ordered.slice(count)),
  };
}

/** The rows whose position changes between two numberings (the only ones to write). */
export function movedPositions(
  before: readonly WaitlistEntry[],
  after: readonly WaitlistEntry[],
): WaitlistEntry[] {
  const old = new Map(before.map((entry) => [entry.studentId, entry.position]));
  return after.filter((entry) => old.get(entry.studentId) !== entry.position);
}

/** One change of an enrollment's status: who made it, when and why. */
export interface HistoryEntry {
  from: EnrollmentStatus | null;
  to: EnrollmentStatus;
  at: string;
  by: string | null;
  reason: string;
}

/** The most teachers one course may have. */
export const MAX_TEACHERS = 20;

/** `PUT /courses/:id/teachers`: the whole list, replacing the old one. */
export const teacherIdsField = uuidListParam(MAX_TEACHERS);

/** Ids in one (lower-case) form, each once, in the order given. */
export function normaliseTeacherIds(ids: readonly string[]): string[] {
  return [...new Set(ids.map((id) => id.toLowerCase()))];
}

/** A course's first teacher is the teacher who creates it; an admin's course starts with none. */
export function initialTeacherIds(creator: Identity): string[] {
  return creator.role === "teacher" ? [creator.id] : [];
}

/** Course staff: an admin, or a teacher of that course. */
export function isCourseStaff(identity: Identity, course: Pick<Course, "teacherIds">): boolean {
  if (identity.role === "admin") return true;
  return identity.role === "teacher" && course.teacherIds.includes(identity.id);
}

/** Why the caller may not change this course (a 403's message), or null for course staff. */
export function courseStaffDenial(
  identity: Identity,
  course: Pick<Course, "teacherIds">,
): string | null {
  return isCourseStaff(identity, course)
    ? null
    : "Only an administrator or a teacher of this course may change it";
}

/** The ids of a teacher list that are not teacher accounts, as field errors (422). */
export function unknownTeacherProblems(
  requested: readonly string[],
  teacherAccounts: readonly string[],
): FieldError[] {
  const known = new Set(teacherAccounts);
  return requested.flatMap((id, index) =>
    known.has(id)
      ? []
      : [{ field: `teacherIds[${index}]`, message: "is not a teacher account", type: "teacher" }],
  );
}

/** What a caller is to a course: its staff, a student enrolled in it, or neither. */
export interface CourseAccess {
  course: Course;
  staff: boolean;
  enrolled: boolean;
}
