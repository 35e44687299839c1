import {
  courseCancelledDraft,
  courseUpdatedDraft,
  distinctIds,
  droppedDraft,
  enrolledDraft,
  promotedDraft,
  reportFailedDraft,
  reportReadyDraft,
  inBatches,
  lessonCancelledDraft,
  lessonRescheduledDraft,
  MAX_TITLE_LENGTH,
  notificationTime,
  toNotification,
  truncate,
  welcomeDraft,
  type NotificationRow,
} from "../../services/notifications/notifications";

const COURSE_ID = "0c6f2a51-0000-4000-8000-000000000001";
const STUDENT_ID = "5d1e8b22-0000-4000-8000-000000000002";
const OTHER_STUDENT_ID = "5d1e8b22-0000-4000-8000-000000000003";
const USER_ID = "9a7c4d33-0000-4000-8000-000000000004";

describe("notification drafts", () => {
  it("welcomes a registered user by first name", () => {
    expect(welcomeDraft({ userId: USER_ID, studentId: STUDENT_ID, firstName: "Ada" })).toEqual({
      type: "welcome",
      title: "Welcome to Campus",
      body: "Hello Ada, your account is ready. Browse the courses and enroll in the ones you like.",
      data: { studentId: STUDENT_ID },
    });
  });

  it("names the course code and title of an enrollment", () => {
    const draft = enrolledDraft({
      courseId: COURSE_ID,
      studentId: STUDENT_ID,
      courseCode: "CS101",
      courseTitle: "Introduction to Programming",
    });

    expect(draft).toEqual({
      type: "enrolled",
      title: "Enrolled in CS101 Introduction to Programming",
      body: "You are now enrolled in CS101 Introduction to Programming.",
      data: { courseId: COURSE_ID },
    });
  });

  it("tells a dropped student which course by id only (the event carries no code)", () => {
    expect(droppedDraft({ courseId: COURSE_ID, studentId: STUDENT_ID })).toEqual({
      type: "dropped",
      title: "Dropped from a course",
      body: "You are no longer enrolled in one of your courses.",
      data: { courseId: COURSE_ID },
    });
  });

  it("announces a course update with its code", () => {
    const draft = courseUpdatedDraft({
      courseId: COURSE_ID,
      code: "CS101",
      title: "Programming I",
      studentIds: [STUDENT_ID],
    });

    expect(draft).toEqual({
      type: "course_updated",
      title: "Course CS101 updated",
      body: "The details of CS101 Programming I, a course you are enrolled in, have changed.",
      data: { courseId: COURSE_ID },
    });
  });

  it("announces a deleted course as cancelled", () => {
    const draft = courseCancelledDraft({
      courseId: COURSE_ID,
      code: "CS101",
      title: "Programming I",
      studentIds: [STUDENT_ID],
    });

    expect(draft).toEqual({
      type: "course_cancelled",
      title: "Course CS101 cancelled",
      body: "CS101 Programming I has been cancelled; you are no longer enrolled in it.",
      data: { courseId: COURSE_ID },
    });
  });

  const lesson = {
    lessonId: "7e0b5c44-0000-4000-8000-000000000005",
    courseId: COURSE_ID,
    courseCode: "CS101",
    title: "Lecture",
    startsAt: "2027-10-05T07:00:00.000Z",
    endsAt: "2027-10-05T08:00:00.000Z",
    room: "B-201",
    previousStartsAt: "2027-10-04T07:00:00.000Z",
    studentIds: [STUDENT_ID],
  };

  it("tells a rescheduled lesson's new time (UTC), room and old time", () => {
    expect(lessonRescheduledDraft(lesson)).toEqual({
      type: "lesson_rescheduled",
      title: "CS101: Lecture rescheduled",
      body: "CS101 Lecture (was 2027-10-04T07:00:00.000Z) now takes place from 2027-10-05T07:00:00.000Z to 2027-10-05T08:00:00.000Z (UTC) in B-201.",
      data: { courseId: COURSE_ID, lessonId: lesson.lessonId },
    });
  });

  it("announces a cancelled lesson", () => {
    expect(lessonCancelledDraft({ ...lesson, room: null })).toEqual({
      type: "lesson_cancelled",
      title: "CS101: Lecture cancelled",
      body: "CS101 Lecture on 2027-10-05T07:00:00.000Z (UTC) is cancelled.",
      data: { courseId: COURSE_ID, lessonId: lesson.lessonId },
    });
  });

  it("tells a waitlisted student they got a seat", () => {
    const draft = promotedDraft({
      courseId: COURSE_ID,
      studentId: STUDENT_ID,
      courseCode: "CS101",
      courseTitle: "Programming I",
    });

    expect(draft).toEqual({
      type: "promoted",
      title: "A seat in CS101 Programming I",
      body: "A seat opened in CS101 Programming I: you are off the waitlist and enrolled.",
      data: { courseId: COURSE_ID },
    });
    const long = promotedDraft({
      courseId: COURSE_ID,
      studentId: STUDENT_ID,
      courseCode: "C".repeat(32),
      courseTitle: "T".repeat(200),
    });
    expect(long.title).toHaveLength(MAX_TITLE_LENGTH);
  });

  it("tells who asked that their report is ready, with its download path, or why it failed", () => {
    const event = { reportId: "r-1", userId: "u-1", type: "course_performance", format: "pdf" };
    expect(reportReadyDraft(event)).toEqual({
      type: "report_ready",
      title: "Report ready: course performance report (PDF)",
      body: "Your course performance report (PDF) is ready to download for 7 days.",
      data: { reportId: "r-1", download: "/api/reports/r-1/download" },
    });
    expect(reportFailedDraft({ ...event, error: "Course not found" })).toEqual({
      type: "report_failed",
      title: "Report failed: course performance report (PDF)",
      body: "Your course performance report (PDF) could not be made: Course not found.",
      data: { reportId: "r-1" },
    });
  });

  it("keeps a title within the column's 200 characters for the longest code and title", () => {
    const draft = enrolledDraft({
      courseId: COURSE_ID,
      studentId: STUDENT_ID,
      courseCode: "C".repeat(32),
      courseTitle: "T".repeat(200),
    });

    expect(draft.title).toHaveLength(MAX_TITLE_LENGTH);
    expect(draft.title.endsWith("…")).toBe(true);
    expect(draft.body).toContain("T".repeat(200));
  });
});

describe("truncate", () => {
  it("leaves text within the limit unchanged", () => {
    expect(truncate("abc", 3)).toBe("abc");
  });

  it("cuts longer text to the limit, ending with an ellipsis", () => {
    expect(truncate("abcdef", 4)).toBe("abc…");
  });
});

describe("distinctIds", () => {
  it("keeps each uuid once, in order", () => {
    expect(distinctIds([STUDENT_ID, OTHER_STUDENT_ID, STUDENT_ID])).toEqual([
      STUDENT_ID,
      OTHER_STUDENT_ID,
    ]);
  });

  it("drops values that are not uuids", () => {
    expect(distinctIds([STUDENT_ID, "not-a-uuid", 42, null])).toEqual([STUDENT_ID]);
  });
});

describe("inBatches", () => {
  it("splits into batches of at most the given size", () => {
    expect(inBatches([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
  });

  it("gives no batch for an empty list", () => {
    expect(inBatches([], 1000)).toEqual([]);
  });
});

describe("notificationTime", () => {
  const now = new Date("2026-01-01T00:00:00.000Z");

  it("is the event's occurredAt", () => {
    expect(notificationTime("2025-06-07T08:09:10.011Z", now)).toEqual(
      new Date("2025-06-07T08:09:10.011Z"),
    );
  });

  it("is now when occurredAt is missing or not a date", () => {
    expect([notificationTime(undefined, now), notificationTime("yesterday", now)]).toEqual([
      now,
      now,
    ]);
  });
});

describe("toNotification", () => {
  const row: NotificationRow = {
    id: "7e3b9f44-0000-4000-8000-000000000005",
    userId: USER_ID,
    type: "enrolled",
    title: "Enrolled in CS101 Programming I",
    body: "You are now enrolled in CS101 Programming I.",
    data: { courseId: COURSE_ID },
    readAt: null,
    createdAt: new Date("2025-01-02T03:04:05.006Z"),
  };

  it("exposes the public fields with ISO timestamps and readAt null when unread", () => {
    expect(toNotification(row)).toEqual({
      id: "7e3b9f44-0000-4000-8000-000000000005",
      userId: USER_ID,
      type: "enrolled",
      title: "Enrolled in CS101 Programming I",
      body: "You are now enrolled in CS101 Programming I.",
      data: { courseId: COURSE_ID },
      readAt: null,
      createdAt: "2025-01-02T03:04:05.006Z",
    });
  });

  it("gives readAt as an ISO timestamp once read", () => {
    const read = { ...row, readAt: new Date("2025-01-03T00:00:00.000Z") };

    expect(toNotification(read).readAt).toBe("2025-01-03T00:00:00.000Z");
  });

  it("never exposes the event id", () => {
    const withEvent = {
      ...row,
      eventId: "3f000000-0000-4000-8000-000000000006",
    } as NotificationRow;

    expect(toNotification(withEvent)).not.toHaveProperty("eventId");
  });
});
