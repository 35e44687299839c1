/** The course record: its fields, input rules (dates, capacity) and public shape. */
import type { FieldError } from "../../lib/errors";

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
  startDate: string | null;
  endDate: string | null;
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
    startDate: row.startDate,
    endDate: row.endDate,
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
    startDate: input.startDate ?? null,
    endDate: input.endDate ?? null,
  };
}

/** Only the editable fields present in `input`: id, enrolledCount and timestamps never pass. */
export function courseChanges(input: CourseInput): CourseInput {
  const changes: CourseInput = {};
  for (const key of ["code", "title", "description", "capacity", "startDate", "endDate"] as const) {
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

export interface Enrollment {
  courseId: string;
  studentId: string;
  enrolledAt: string;
}
