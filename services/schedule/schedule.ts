/**
 * The schedule's rules as pure functions: lesson fields and times, weekly recurrence across
 * daylight-saving changes, overlap, date ranges of a schedule read, attendance summaries and the
 * calendar-feed secret. The service only wires them to the database and the other services.
 */
import { createHash, randomBytes } from "crypto";
import { DateTime, IANAZone } from "luxon";
import type { FieldError } from "../../lib/errors";

export const LESSON_KINDS = ["lecture", "seminar", "lab", "exam"] as const;
export type LessonKind = (typeof LESSON_KINDS)[number];
export const ATTENDANCE_STATUSES = ["present", "late", "absent", "excused"] as const;
export type AttendanceStatus = (typeof ATTENDANCE_STATUSES)[number];

export const MAX_LESSON_HOURS = 12;
export const MIN_WEEKS = 2;
export const MAX_WEEKS = 52;
export const MAX_RANGE_DAYS = 366;
export const DEFAULT_RANGE_DAYS = 30;
export const MAX_ROOM_LENGTH = 64;
export const MAX_TITLE_LENGTH = 200;
export const MAX_NOTE_LENGTH = 500;
/** Attendance records in one PUT (a large lecture hall). */
export const MAX_ATTENDANCE_RECORDS = 500;

// ---- Input rules (fastest-validator): shapes here, meaning (times, zones) in the functions ----

/** An ISO 8601 date-time; its offset is checked by `parseInstant`, so the 422 names the field. */
const instant = { type: "string", trim: true, min: 1, max: 64 } as const;
const title = {
  type: "string",
  trim: true,
  min: 1,
  max: MAX_TITLE_LENGTH,
  optional: true,
} as const;
const kind = { type: "enum", values: [...LESSON_KINDS], optional: true } as const;
const room = {
  type: "string",
  trim: true,
  max: MAX_ROOM_LENGTH,
  nullable: true,
  optional: true,
} as const;
const teacherId = { type: "uuid", nullable: true, optional: true } as const;

/** `POST /courses/:id/lessons`. */
export const lessonFields = { startsAt: instant, endsAt: instant, title, kind, room, teacherId };

/** `POST /courses/:id/lesson-series`: a lesson's fields, how many weeks, and the zone to keep. */
export const seriesFields = {
  ...lessonFields,
  weeks: { type: "number", integer: true, min: MIN_WEEKS, max: MAX_WEEKS },
  timeZone: { type: "string", trim: true, min: 1, max: 64, optional: true },
};

/** `PATCH /lessons/:id`: only the fields to change. */
export const lessonPatchFields = {
  startsAt: { ...instant, optional: true },
  endsAt: { ...instant, optional: true },
  title,
  kind,
  room,
  teacherId,
  cancelled: { type: "boolean", optional: true },
};

/** `from`/`to` of a schedule read: a date (YYYY-MM-DD, UTC) or a date-time with an offset. */
export const rangeFields = {
  from: { type: "string", trim: true, max: 64, optional: true },
  to: { type: "string", trim: true, max: 64, optional: true },
};

export const attendanceFields = {
  records: {
    type: "array",
    min: 1,
    max: MAX_ATTENDANCE_RECORDS,
    items: {
      type: "object",
      strict: "remove",
      props: {
        studentId: { type: "uuid" },
        status: { type: "enum", values: [...ATTENDANCE_STATUSES] },
        note: { type: "string", max: MAX_NOTE_LENGTH, optional: true },
      },
    },
  },
};

// ---- Shapes ----

export interface Lesson {
  id: string;
  courseId: string;
  seriesId: string | null;
  title: string;
  kind: LessonKind;
  startsAt: string;
  endsAt: string;
  room: string | null;
  teacherId: string | null;
  cancelled: boolean;
  createdAt: string;
  updatedAt: string;
}

/** A row of `schedule.lessons` as the database returns it (snake_case, raw query). */
export interface LessonRow {
  id: string;
  course_id: string;
  series_id: string | null;
  title: string;
  kind: LessonKind;
  starts_at: Date;
  ends_at: Date;
  room: string | null;
  teacher_id: string | null;
  cancelled: boolean;
  sequence: number;
  created_at: Date;
  updated_at: Date;
}

export function toLesson(row: LessonRow): Lesson {
  return {
    id: row.id,
    courseId: row.course_id,
    seriesId: row.series_id,
    title: row.title,
    kind: row.kind,
    startsAt: new Date(row.starts_at).toISOString(),
    endsAt: new Date(row.ends_at).toISOString(),
    room: row.room,
    teacherId: row.teacher_id,
    cancelled: row.cancelled,
    createdAt: new Date(row.created_at).toISOString(),
    updatedAt: new Date(row.updated_at).toISOString(),
  };
}

export interface TimeSlot {
  startsAt: Date;
  endsAt: Date;
}

// ---- Times ----

/** An explicit offset (`Z`, `+02:00`, `-0500`) at the end of a date-time. */
const HAS_OFFSET = /T.*(Z|[+-]\d{2}(:?\d{2})?)$/i;

/**
 * An ISO 8601 date-time with an offset, kept in that offset (so a series can repeat the input's
 * wall-clock time), or the field error saying why not. A time without an offset is refused: the
 * server would have to guess the zone, and a guess is what shifts lessons in calendar apps.
 */
export function parseInstant(value: string, field: string): DateTime | FieldError {
  if (!HAS_OFFSET.test(value)) {
    return {
      field,
      message: "must be an ISO 8601 date-time with an offset (e.g. 2026-09-07T09:00:00+02:00)",
      type: "dateTimeOffset",
    };
  }
  const parsed = DateTime.fromISO(value, { setZone: true });
  if (!parsed.isValid) {
    return { field, message: "is not a valid ISO 8601 date-time", type: "dateTime" };
  }
  return parsed;
}

function isFieldError(value: unknown): value is FieldError {
  return typeof value === "object" && value !== null && "field" in value && "type" in value;
}

/** `endsAt` after `startsAt`, and at most 12 hours later. */
export function slotProblems(slot: TimeSlot): FieldError[] {
  const minutes = (slot.endsAt.getTime() - slot.startsAt.getTime()) / 60000;
  if (minutes <= 0) {
    return [{ field: "endsAt", message: "must be after startsAt", type: "dateOrder" }];
  }
  if (minutes > MAX_LESSON_HOURS * 60) {
    return [
      {
        field: "endsAt",
        message: `must be at most ${MAX_LESSON_HOURS} hours after startsAt`,
        type: "duration",
      },
    ];
  }
  return [];
}

/** An IANA zone name (`Europe/Berlin`), or the field error. */
export function timeZoneProblems(timeZone: string | undefined): FieldError[] {
  if (timeZone === undefined || IANAZone.isValidZone(timeZone)) return [];
  return [{ field: "timeZone", message: "is not an IANA time zone name", type: "timeZone" }];
}

/**
 * Both times of a lesson parsed and checked: the slot (kept in the input's offsets) or every
 * problem found, each naming its field.
 */
export function parseSlot(
  startsAt: string,
  endsAt: string,
): { start: DateTime; end: DateTime } | FieldError[] {
  const start = parseInstant(startsAt, "startsAt");
  const end = parseInstant(endsAt, "endsAt");
  const problems = [start, end].filter(isFieldError);
  if (problems.length > 0) return problems;
  const [s, e] = [start as DateTime, end as DateTime];
  const order = slotProblems({ startsAt: s.toJSDate(), endsAt: e.toJSDate() });
  return order.length > 0 ? order : { start: s, end: e };
}

/**
 * One slot a week for `weeks` weeks. With `timeZone`, each lesson keeps the first one's local
 * wall-clock time in that zone (09:00 stays 09:00 across a daylight-saving change, so its UTC
 * time moves by the hour); without it, the input's own offset is kept (exactly 7 × 24 hours
 * apart). A local time that a DST gap skips moves forward to the next valid time (luxon's rule).
 */
export function weeklySlots(
  start: DateTime,
  end: DateTime,
  weeks: number,
  timeZone?: string,
): TimeSlot[] {
  const first = timeZone ? start.setZone(timeZone) : start;
  const firstEnd = timeZone ? end.setZone(timeZone) : end;
  return Array.from({ length: weeks }, (_, week) => ({
    startsAt: first.plus({ weeks: week }).toJSDate(),
    endsAt: firstEnd.plus({ weeks: week }).toJSDate(),
  }));
}

/** Half-open intervals: a lesson ending at 10:00 does not overlap one starting at 10:00. */
export function overlaps(a: TimeSlot, b: TimeSlot): boolean {
  return a.startsAt.getTime() < b.endsAt.getTime() && b.startsAt.getTime() < a.endsAt.getTime();
}

/** The pairs of slots of `a` and `b` that overlap (for the lessons named in a 409). */
export function overlappingPairs<A extends TimeSlot, B extends TimeSlot>(
  a: readonly A[],
  b: readonly B[],
): [A, B][] {
  return a.flatMap((x) => b.filter((y) => overlaps(x, y)).map((y): [A, B] => [x, y]));
}

/** Rooms are compared case-insensitively and stored as given; blank means no room. */
export function normaliseRoom(room: string | null | undefined): string | null {
  const trimmed = room?.trim() ?? "";
  return trimmed === "" ? null : trimmed;
}

/** A lesson without a title is called after its kind ("Lecture"). */
export function defaultTitle(kind: LessonKind): string {
  return kind.charAt(0).toUpperCase() + kind.slice(1);
}

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;

function parseRangeEnd(value: string, field: string): DateTime | FieldError {
  if (DATE_ONLY.test(value)) {
    const date = DateTime.fromISO(value, { zone: "utc" });
    return date.isValid ? date : { field, message: "is not a valid calendar date", type: "date" };
  }
  return parseInstant(value, field);
}

/**
 * The range of a schedule read: `from` defaults to the start of today (UTC), `to` to 30 days
 * after `from`; a date means its start (UTC). `to` must be after `from`, at most 366 days later.
 */
export function scheduleRange(
  params: { from?: string; to?: string },
  now: Date = new Date(),
): { from: Date; to: Date } | FieldError[] {
  const from = params.from
    ? parseRangeEnd(params.from, "from")
    : DateTime.fromJSDate(now, { zone: "utc" }).startOf("day");
  if (isFieldError(from)) return [from];
  const to = params.to ? parseRangeEnd(params.to, "to") : from.plus({ days: DEFAULT_RANGE_DAYS });
  if (isFieldError(to)) return [to];
  if (to <= from) return [{ field: "to", message: "must be after from", type: "dateOrder" }];
  if (to.diff(from, "days").days > MAX_RANGE_DAYS) {
    return [
      { field: "to", message: `must be at most ${MAX_RANGE_DAYS} days after from`, type: "range" },
    ];
  }
  return { from: from.toJSDate(), to: to.toJSDate() };
}

// ---- Attendance ----

export interface AttendanceRecord {
  lessonId: string;
  studentId: string;
  status: AttendanceStatus;
  note: string | null;
  recordedAt: string;
}

export interface CourseAttendance {
  courseId: string;
  lessons: number;
  present: number;
  late: number;
  absent: number;
  excused: number;
  /** (present + late) / (lessons − excused), two decimals; null when nothing counts yet. */
  rate: number | null;
}

/** The records' students that are not enrolled, as field errors naming each record (422). */
export function notEnrolledProblems(
  records: readonly { studentId: string }[],
  enrolled: ReadonlySet<string>,
): FieldError[] {
  return records.flatMap((record, index) =>
    enrolled.has(record.studentId.toLowerCase())
      ? []
      : [
          {
            field: `records[${index}].studentId`,
            message: "is not enrolled in this lesson's course",
            type: "notEnrolled",
          },
        ],
  );
}

/** A student named twice in one PUT: the second record is refused rather than guessed at. */
export function duplicateStudentProblems(records: readonly { studentId: string }[]): FieldError[] {
  const seen = new Set<string>();
  return records.flatMap((record, index) => {
    const id = record.studentId.toLowerCase();
    if (!seen.has(id)) {
      seen.add(id);
      return [];
    }
    return [
      { field: `records[${index}].studentId`, message: "is listed twice", type: "duplicate" },
    ];
  });
}

/** A student's attendance per course, from their records (one status per lesson). */
export function attendanceSummary(
  records: readonly { courseId: string; status: AttendanceStatus }[],
): CourseAttendance[] {
  const byCourse = new Map<string, CourseAttendance>();
  for (const record of records) {
    const course = byCourse.get(record.courseId) ?? {
      courseId: record.courseId,
      lessons: 0,
      present: 0,
      late: 0,
      absent: 0,
      excused: 0,
      rate: null,
    };
    course.lessons += 1;
    course[record.status] += 1;
    byCourse.set(record.courseId, course);
  }
  return [...byCourse.values()]
    .map((course) => {
      const counted = course.lessons - course.excused;
      const rate =
        counted > 0 ? Math.round(((course.present + course.late) / counted) * 100) / 100 : null;
      return { ...course, rate };
    })
    .sort((a, b) => a.courseId.localeCompare(b.courseId));
}

// ---- Calendar feed ----

/** A new feed secret: 256 random bits, URL-safe. */
export function newFeedToken(): string {
  return randomBytes(32).toString("base64url");
}

/** Only this is stored: a database leak does not reveal anyone's feed URL. */
export function feedTokenHash(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

/** A well-formed feed token (anything else is simply not found). */
export function isFeedToken(value: unknown): value is string {
  return typeof value === "string" && /^[A-Za-z0-9_-]{43}$/.test(value);
}

/** The feed's public URL under the API's public base. */
export function feedUrl(publicBase: string, token: string): string {
  return `${publicBase}/api/schedule/feed/${token}`;
}

/** A lesson's calendar UID: stable across changes, so calendar apps update it in place. */
export function lessonUid(lessonId: string): string {
  return `${lessonId}@campus`;
}
