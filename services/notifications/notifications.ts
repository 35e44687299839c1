/**
 * Notifications: what each domain event tells its recipients, and the public shape of a stored
 * notification. The service decides who receives a draft; these functions decide what it says.
 */
import { isUuid } from "../../lib/ids";

export const NOTIFICATION_TYPES = [
  "welcome",
  "enrolled",
  "dropped",
  "promoted",
  "course_updated",
  "course_cancelled",
  "lesson_rescheduled",
  "lesson_cancelled",
  "graded",
  "quiz_scored",
  "achievement",
  "report_ready",
  "report_failed",
] as const;
export type NotificationType = (typeof NOTIFICATION_TYPES)[number];

/** Column limits of `notifications.notifications`. */
export const MAX_TITLE_LENGTH = 200;

/** The part of a notification that depends on the event, not on the recipient. */
export interface NotificationDraft {
  type: NotificationType;
  title: string;
  body: string;
  data: Record<string, string>;
}

export interface Notification {
  id: string;
  userId: string;
  type: string;
  title: string;
  body: string;
  data: Record<string, unknown>;
  readAt: string | null;
  createdAt: string;
}

export interface NotificationRow {
  id: string;
  userId: string;
  type: string;
  title: string;
  body: string;
  data: Record<string, unknown> | null;
  readAt: Date | null;
  createdAt: Date;
}

/** Event payloads, as published (every one also carries `eventId` and `occurredAt`). */
export interface UserRegistered {
  userId: string;
  studentId: string;
  firstName: string;
}
export interface EnrollmentCreated {
  courseId: string;
  studentId: string;
  courseCode: string;
  courseTitle: string;
}
export interface EnrollmentDropped {
  courseId: string;
  studentId: string;
}
export interface CourseChanged {
  courseId: string;
  code: string;
  title: string;
  studentIds: string[];
}

/** `lesson.rescheduled` and `lesson.cancelled` (the schedule service). */
export interface LessonChanged {
  lessonId: string;
  courseId: string;
  courseCode: string;
  title: string;
  startsAt: string;
  endsAt: string;
  room: string | null;
  previousStartsAt: string;
  studentIds: string[];
}

/** `grade.recorded` (assignments, quizzes): the fields a notification shows. */
export interface GradeRecordedEvent {
  courseId: string;
  studentId: string;
  itemId: string;
  source: string;
  title: string;
  maxPoints: number;
  points: number;
  /** false: a recomputation (the item's policy changed), not a grading: nobody is told. */
  notify?: boolean;
}

export interface QuizScored {
  quizId: string;
  courseId: string;
  studentId: string;
  attemptId: string;
  title: string;
  score: number;
  maxPoints: number;
  expired?: boolean;
}

/** `report.succeeded` and `report.failed` (the reports service); `error` only when it failed. */
export interface ReportFinished {
  reportId: string;
  userId: string;
  type: string;
  format: string;
  error?: string;
}

/** Cuts text to `max` characters, marking the cut with an ellipsis. */
export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function draft(
  type: NotificationType,
  title: string,
  body: string,
  data: Record<string, string>,
): NotificationDraft {
  return { type, title: truncate(title, MAX_TITLE_LENGTH), body, data };
}

export function welcomeDraft(event: UserRegistered): NotificationDraft {
  return draft(
    "welcome",
    "Welcome to Campus",
    `Hello ${event.firstName}, your account is ready. Browse the courses and enroll in the ones you like.`,
    { studentId: event.studentId },
  );
}

export function enrolledDraft(event: EnrollmentCreated): NotificationDraft {
  const course = `${event.courseCode} ${event.courseTitle}`;
  return draft("enrolled", `Enrolled in ${course}`, `You are now enrolled in ${course}.`, {
    courseId: event.courseId,
  });
}

/** A waitlisted student got a seat (courses service, `enrollment.promoted`). */
export function promotedDraft(event: EnrollmentCreated): NotificationDraft {
  const course = `${event.courseCode} ${event.courseTitle}`;
  return draft(
    "promoted",
    `A seat in ${course}`,
    `A seat opened in ${course}: you are off the waitlist and enrolled.`,
    { courseId: event.courseId },
  );
}

/** The drop event names the course by id only. */
export function droppedDraft(event: EnrollmentDropped): NotificationDraft {
  return draft(
    "dropped",
    "Dropped from a course",
    "You are no longer enrolled in one of your courses.",
    { courseId: event.courseId },
  );
}

export function courseUpdatedDraft(event: CourseChanged): NotificationDraft {
  return draft(
    "course_updated",
    `Course ${event.code} updated`,
    `The details of ${event.code} ${event.title}, a course you are enrolled in, have changed.`,
    { courseId: event.courseId },
  );
}

export function courseCancelledDraft(event: CourseChanged): NotificationDraft {
  return draft(
    "course_cancelled",
    `Course ${event.code} cancelled`,
    `${event.code} ${event.title} has been cancelled; you are no longer enrolled in it.`,
    { courseId: event.courseId },
  );
}

/** Times in notifications are UTC, as everywhere in the API: apps show them in the reader's zone. */
export function lessonRescheduledDraft(event: LessonChanged): NotificationDraft {
  const where = event.room ? ` in ${event.room}` : "";
  return draft(
    "lesson_rescheduled",
    `${event.courseCode}: ${event.title} rescheduled`,
    `${event.courseCode} ${event.title} (was ${event.previousStartsAt}) now takes place from ${event.startsAt} to ${event.endsAt} (UTC)${where}.`,
    { courseId: event.courseId, lessonId: event.lessonId },
  );
}

export function lessonCancelledDraft(event: LessonChanged): NotificationDraft {
  return draft(
    "lesson_cancelled",
    `${event.courseCode}: ${event.title} cancelled`,
    `${event.courseCode} ${event.title} on ${event.startsAt} (UTC) is cancelled.`,
    { courseId: event.courseId, lessonId: event.lessonId },
  );
}

export function gradedDraft(event: GradeRecordedEvent): NotificationDraft {
  return draft(
    "graded",
    `Graded: ${event.title}`,
    `Your work "${event.title}" was graded: ${event.points} of ${event.maxPoints} points.`,
    { courseId: event.courseId, itemId: event.itemId, source: event.source },
  );
}

/** The student's result of one attempt (an expired attempt is scored as it stood). */
export function quizScoredDraft(event: QuizScored): NotificationDraft {
  const how = event.expired ? "Your time ran out on" : "You scored";
  const body = event.expired
    ? `${how} the quiz "${event.title}": it was scored as it stood, ${event.score} of ${event.maxPoints} points.`
    : `${how} ${event.score} of ${event.maxPoints} points on the quiz "${event.title}".`;
  return draft("quiz_scored", `Quiz result: ${event.title}`, body, {
    quizId: event.quizId,
    courseId: event.courseId,
    attemptId: event.attemptId,
  });
}

/** `achievement.awarded` (the profiles service): an achievement the user earned, once. */
export interface AchievementAwardedEvent {
  userId: string;
  code: string;
  title: string;
}

export function achievementDraft(event: AchievementAwardedEvent): NotificationDraft {
  return draft(
    "achievement",
    `Achievement: ${event.title}`,
    `You earned the achievement "${event.title}". It is on your profile.`,
    { code: event.code },
  );
}

const reportLabel = (event: ReportFinished) =>
  `${event.type.replace(/_/g, " ")} report (${event.format.toUpperCase()})`;

export function reportReadyDraft(event: ReportFinished): NotificationDraft {
  return draft(
    "report_ready",
    `Report ready: ${reportLabel(event)}`,
    `Your ${reportLabel(event)} is ready to download for 7 days.`,
    { reportId: event.reportId, download: `/api/reports/${event.reportId}/download` },
  );
}

export function reportFailedDraft(event: ReportFinished): NotificationDraft {
  return draft(
    "report_failed",
    `Report failed: ${reportLabel(event)}`,
    `Your ${reportLabel(event)} could not be made: ${event.error ?? "unknown reason"}.`,
    { reportId: event.reportId },
  );
}

/** Each valid id once, in the order given (a student listed twice is notified once). */
export function distinctIds(ids: readonly unknown[]): string[] {
  return [...new Set(ids.filter(isUuid))];
}

/** Splits a list into consecutive batches of at most `size` items. */
export function inBatches<T>(items: readonly T[], size: number): T[][] {
  const batches: T[][] = [];
  for (let start = 0; start < items.length; start += size) {
    batches.push(items.slice(start, start + size));
  }
  return batches;
}

/**
 * When the notification happened: the event's `occurredAt`, so notifications sort by when things
 * happened even if the event was handled late (a consumer that was down); now if it is missing.
 */
export function notificationTime(occurredAt: unknown, now: Date = new Date()): Date {
  if (typeof occurredAt !== "string") return now;
  const time = new Date(occurredAt);
  return Number.isNaN(time.getTime()) ? now : time;
}

export function toNotification(row: NotificationRow): Notification {
  return {
    id: row.id,
    userId: row.userId,
    type: row.type,
    title: row.title,
    body: row.body,
    data: row.data ?? {},
    readAt: row.readAt ? row.readAt.toISOString() : null,
    createdAt: row.createdAt.toISOString(),
  };
}
