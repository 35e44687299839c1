import { randomUUID } from "crypto";
import { Context, type Service } from "moleculer";
import {
  startCampus,
  createCourse,
  registerStudent,
  uniqueEmail,
  eventually,
  type Campus,
} from "../helpers/campus";

let campus: Campus;
let admin: string;

beforeAll(async () => {
  campus = await startCampus();
  admin = await campus.adminToken();
});
afterAll(() => campus.stop());

async function enroll(courseId: string, studentId: string) {
  const result = await campus.request("POST", `/api/courses/${courseId}/students`, {
    token: admin,
    body: { studentId },
  });
  expect(result.status).toBe(201);
}

async function notificationsOf(token: string, query = "") {
  const result = await campus.request("GET", `/api/notifications${query}`, { token });
  expect(result.status).toBe(200);
  return result.body;
}

/** Polls until the caller has a notification of `type` (and, if given, for `courseId`). */
async function awaitNotification(token: string, type: string, courseId?: string) {
  let found: any;
  await eventually(async () => {
    const page = await notificationsOf(token, "?pageSize=100");
    found = page.rows.find(
      (row: any) => row.type === type && (courseId === undefined || row.data.courseId === courseId),
    );
    expect(found).toBeDefined();
  });
  return found;
}

/** A registered student whose welcome notification has arrived (so later counts are settled). */
async function welcomedStudent() {
  const student = await registerStudent(campus);
  const welcome = await awaitNotification(student.token, "welcome");
  return { ...student, welcome };
}

/**
 * Hands one event to the notifications service's consumer directly, as a redelivery would: the
 * channels middleware's local trigger runs the handler declared under `channels:`.
 */
function deliver(channel: string, payload: Record<string, unknown>) {
  const service = campus.broker.getLocalService("notifications") as Service & {
    emitLocalChannelHandler(name: string, ctx: Context): Promise<void>;
  };
  // The consumers take a Context (context: true), as the middleware builds for each message.
  return service.emitLocalChannelHandler(
    channel,
    Context.create(campus.broker, null as never, payload),
  );
}

describe("notifications made from events", () => {
  it("welcomes a newly registered student", async () => {
    const student = await registerStudent(campus, { firstName: "Grace" });

    const welcome = await awaitNotification(student.token, "welcome");

    expect(welcome).toEqual({
      id: expect.any(String),
      userId: student.userId,
      type: "welcome",
      title: "Welcome to Campus",
      body: expect.stringContaining("Hello Grace"),
      data: { studentId: student.studentId },
      readAt: null,
      createdAt: expect.any(String),
    });
  });

  it("tells a student they were enrolled and then dropped", async () => {
    const course = await createCourse(campus, admin, {
      code: "NTF-ENR",
      title: "Enrollment Notices",
    });
    const student = await welcomedStudent();

    await enroll(course.id, student.studentId);
    const enrolled = await awaitNotification(student.token, "enrolled", course.id);
    const dropped = await campus.request(
      "DELETE",
      `/api/students/${student.studentId}/courses/${course.id}`,
      { token: admin },
    );
    const droppedNotice = await awaitNotification(student.token, "dropped", course.id);

    expect(dropped.status).toBe(204);
    expect(enrolled.title).toBe("Enrolled in NTF-ENR Enrollment Notices");
    expect(droppedNotice.title).toBe("Dropped from a course");
    const page = await notificationsOf(student.token);
    expect(page.rows.map((row: any) => row.type)).toEqual(["dropped", "enrolled", "welcome"]);
  });

  it("notifies every enrolled student of a course update and of its deletion", async () => {
    const course = await createCourse(campus, admin);
    const first = await welcomedStudent();
    const second = await welcomedStudent();
    const bystander = await welcomedStudent();
    await enroll(course.id, first.studentId);
    await enroll(course.id, second.studentId);

    const updated = await campus.request("PATCH", `/api/courses/${course.id}`, {
      token: admin,
      body: { title: "Renamed course" },
    });
    for (const student of [first, second]) {
      const notice = await awaitNotification(student.token, "course_updated", course.id);
      expect(notice.title).toBe(`Course ${course.code} updated`);
    }
    const deleted = await campus.request("DELETE", `/api/courses/${course.id}`, { token: admin });
    for (const student of [first, second]) {
      const notice = await awaitNotification(student.token, "course_cancelled", course.id);
      expect(notice.body).toContain("Renamed course");
    }

    expect([updated.status, deleted.status]).toEqual([200, 204]);
    const others = await notificationsOf(bystander.token);
    expect(others.rows.map((row: any) => row.type)).toEqual(["welcome"]);
  });

  it("still notifies the students with an account when an enrolled student has none", async () => {
    const course = await createCourse(campus, admin);
    const withAccount = await welcomedStudent();
    const record = await campus.request("POST", "/api/students", {
      token: admin,
      body: { firstName: "No", lastName: "Account", email: uniqueEmail("noaccount") },
    });
    await enroll(course.id, record.body.id);
    await enroll(course.id, withAccount.studentId);

    await campus.request("PATCH", `/api/courses/${course.id}`, {
      token: admin,
      body: { title: "Changed for both" },
    });

    await awaitNotification(withAccount.token, "course_updated", course.id);
  });
});

describe("reading notifications", () => {
  it("filters unread ones, counts them, and marks one read keeping the first readAt", async () => {
    const course = await createCourse(campus, admin);
    const student = await welcomedStudent();
    await enroll(course.id, student.studentId);
    const enrolled = await awaitNotification(student.token, "enrolled", course.id);

    const before = await campus.request("GET", "/api/notifications/unread-count", {
      token: student.token,
    });
    const first = await campus.request("POST", `/api/notifications/${student.welcome.id}/read`, {
      token: student.token,
    });
    const second = await campus.request("POST", `/api/notifications/${student.welcome.id}/read`, {
      token: student.token,
    });
    const after = await campus.request("GET", "/api/notifications/unread-count", {
      token: student.token,
    });
    const unread = await notificationsOf(student.token, "?unread=true");
    const read = await notificationsOf(student.token, "?unread=false");

    expect(before.body).toEqual({ count: 2 });
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ ...student.welcome, readAt: expect.any(String) });
    expect(second.status).toBe(200);
    expect(second.body.readAt).toBe(first.body.readAt);
    expect(after.body).toEqual({ count: 1 });
    expect(unread).toEqual({ rows: [enrolled], total: 1, page: 1, pageSize: 20, totalPages: 1 });
    expect(read.rows.map((row: any) => row.id)).toEqual([student.welcome.id]);
  });

  it("pages newest first", async () => {
    const student = await welcomedStudent();
    for (let i = 0; i < 2; i += 1) {
      const course = await createCourse(campus, admin);
      await enroll(course.id, student.studentId);
      await awaitNotification(student.token, "enrolled", course.id);
    }

    const page1 = await notificationsOf(student.token, "?pageSize=2");
    const page2 = await notificationsOf(student.token, "?page=2&pageSize=2");

    expect(page1).toMatchObject({ total: 3, page: 1, pageSize: 2, totalPages: 2 });
    expect(page1.rows.map((row: any) => row.type)).toEqual(["enrolled", "enrolled"]);
    expect(page1.rows[0].createdAt >= page1.rows[1].createdAt).toBe(true);
    expect(page2.rows.map((row: any) => row.type)).toEqual(["welcome"]);
  });

  it("marks every unread notification read and says how many", async () => {
    const course = await createCourse(campus, admin);
    const student = await welcomedStudent();
    await enroll(course.id, student.studentId);
    await awaitNotification(student.token, "enrolled", course.id);

    const all = await campus.request("POST", "/api/notifications/read-all", {
      token: student.token,
    });
    const again = await campus.request("POST", "/api/notifications/read-all", {
      token: student.token,
    });

    expect(all.status).toBe(200);
    expect(all.body).toEqual({ updated: 2 });
    expect(again.body).toEqual({ updated: 0 });
    const count = await campus.request("GET", "/api/notifications/unread-count", {
      token: student.token,
    });
    expect(count.body).toEqual({ count: 0 });
  });

  it("rejects a bad unread filter with 422", async () => {
    const student = await registerStudent(campus);

    const result = await campus.request("GET", "/api/notifications?unread=maybe", {
      token: student.token,
    });

    expect(result.status).toBe(422);
  });
});

describe("who may reach which notifications", () => {
  it("answers 404 for someone else's notification and leaves it unread", async () => {
    const owner = await welcomedStudent();
    const other = await welcomedStudent();

    const attempt = await campus.request("POST", `/api/notifications/${owner.welcome.id}/read`, {
      token: other.token,
    });
    const byAdmin = await campus.request("POST", `/api/notifications/${owner.welcome.id}/read`, {
      token: admin,
    });

    expect([attempt.status, byAdmin.status]).toEqual([404, 404]);
    expect(attempt.body.type).toBe("NOT_FOUND");
    const mine = await notificationsOf(owner.token);
    expect(mine.rows[0].readAt).toBeNull();
    const theirs = await notificationsOf(other.token);
    expect(theirs.rows.map((row: any) => row.id)).not.toContain(owner.welcome.id);
  });

  it("answers 404 for an unknown or malformed id", async () => {
    const student = await registerStudent(campus);

    const unknown = await campus.request("POST", `/api/notifications/${randomUUID()}/read`, {
      token: student.token,
    });
    const malformed = await campus.request("POST", "/api/notifications/not-an-id/read", {
      token: student.token,
    });

    expect([unknown.status, malformed.status]).toEqual([404, 404]);
  });

  it("answers 401 without a token", async () => {
    const results = await Promise.all([
      campus.request("GET", "/api/notifications"),
      campus.request("GET", "/api/notifications/unread-count"),
      campus.request("POST", `/api/notifications/${randomUUID()}/read`),
      campus.request("POST", "/api/notifications/read-all"),
    ]);

    expect(results.map((result) => result.status)).toEqual([401, 401, 401, 401]);
  });
});

describe("exactly once per notification", () => {
  it("creates one notification when the same event is delivered twice", async () => {
    const student = await welcomedStudent();
    const courseId = randomUUID();
    const event = {
      courseId,
      studentId: student.studentId,
      courseCode: "ONCE-1",
      courseTitle: "Delivered twice",
      eventId: randomUUID(),
      occurredAt: new Date().toISOString(),
    };

    await deliver("enrollment.created", event);
    await deliver("enrollment.created", { ...event });

    const page = await notificationsOf(student.token);
    const forCourse = page.rows.filter((row: any) => row.data.courseId === courseId);
    expect(forCourse).toHaveLength(1);
    expect(forCourse[0].title).toBe("Enrolled in ONCE-1 Delivered twice");
  });

  it("creates one notification per student for a course event delivered twice at once", async () => {
    const first = await welcomedStudent();
    const second = await welcomedStudent();
    const courseId = randomUUID();
    const event = {
      courseId,
      code: "ONCE-2",
      title: "Raced",
      studentIds: [first.studentId, second.studentId],
      eventId: randomUUID(),
      occurredAt: new Date().toISOString(),
    };

    await Promise.all([deliver("course.updated", event), deliver("course.updated", { ...event })]);

    for (const student of [first, second]) {
      const page = await notificationsOf(student.token);
      expect(page.rows.filter((row: any) => row.data.courseId === courseId)).toHaveLength(1);
    }
  });

  it("treats the same change published as a new event as a new notification", async () => {
    const student = await welcomedStudent();
    const base = { userId: student.userId, studentId: student.studentId, firstName: "Again" };

    await deliver("user.registered", { ...base, eventId: randomUUID() });
    await deliver("user.registered", { ...base, eventId: randomUUID() });

    const page = await notificationsOf(student.token);
    expect(page.rows.filter((row: any) => row.type === "welcome")).toHaveLength(3);
  });
});
