/**
 * The schedule service over HTTP, on the embedded database: lessons and series, conflicts
 * (database-enforced, under concurrency), reads by role, attendance, the calendar feed, the
 * enrollment conflict check and the notifications of a rescheduled or cancelled lesson.
 */
import * as ical from "node-ical";
import {
  createTeacher,
  errorBody,
  eventually,
  fieldError,
  ISO_TIME,
  markers,
  registerStudent,
  startCampus,
  UNKNOWN_ID,
  UUID,
  type Campus,
} from "../helpers/campus";

let campus: Campus;
let admin: string;
let teacher: string;
let teacherId: string;

beforeAll(async () => {
  campus = await startCampus({ PUBLIC_URL: "https://campus.example.org/" });
  admin = await campus.adminToken();
  teacher = await createTeacher(campus);
  teacherId = (await campus.request("GET", "/api/auth/me", { token: teacher })).body.id;
});
afterAll(() => campus.stop());

const marker = markers("sch");

async function createCourse(token = teacher): Promise<string> {
  const result = await campus.request("POST", "/api/courses", {
    token,
    body: { code: marker(), title: "Scheduled course" },
  });
  expect(result.status).toBe(201);
  return result.body.id;
}

/** A registered student enrolled in the courses given. */
async function enrolledStudent(...courseIds: string[]) {
  const student = await registerStudent(campus);
  for (const courseId of courseIds) {
    const enrolled = await campus.request("POST", `/api/courses/${courseId}/students`, {
      token: admin,
      body: { studentId: student.studentId },
    });
    expect(enrolled.status).toBe(201);
  }
  return student;
}

function addLesson(courseId: string, body: Record<string, unknown>, token = admin) {
  return campus.request("POST", `/api/courses/${courseId}/lessons`, { token, body });
}

let day = 0;
/** A fresh future day (UTC) per test, so rooms and teachers of different tests never meet. */
function nextDay(): string {
  day += 1;
  return new Date(Date.UTC(2027, 0, 4 + day)).toISOString().slice(0, 10);
}

describe("POST /api/courses/:id/lessons", () => {
  it("creates a lesson from times with any offset and answers them in UTC", async () => {
    const courseId = await createCourse();
    const date = nextDay();

    const result = await addLesson(
      courseId,
      {
        startsAt: `${date}T09:00:00+02:00`,
        endsAt: `${date}T10:30:00+02:00`,
        room: "  B-201 ",
        kind: "seminar",
      },
      teacher,
    );

    expect(result.status).toBe(201);
    expect(result.headers.get("location")).toBe(`/api/lessons/${result.body.id}`);
    expect(result.body).toEqual({
      id: expect.stringMatching(UUID),
      courseId,
      seriesId: null,
      title: "Seminar",
      kind: "seminar",
      startsAt: `${date}T07:00:00.000Z`,
      endsAt: `${date}T08:30:00.000Z`,
      room: "B-201",
      teacherId,
      cancelled: false,
      createdAt: expect.stringMatching(ISO_TIME),
      updatedAt: expect.stringMatching(ISO_TIME),
    });
  });

  it.each([
    ["endsAt before startsAt", { endsAt: "T08:00:00Z" }, "endsAt"],
    ["a 13-hour lesson", { endsAt: "T22:00:00Z" }, "endsAt"],
    ["a time without an offset", { startsAt: "T09:00:00" }, "startsAt"],
    ["a date that does not exist", { startsAt: "-02-30T09:00:00Z" }, "startsAt"],
    ["an unknown kind", { kind: "party" }, "kind"],
    ["a room over 64 characters", { room: "r".repeat(65) }, "room"],
    ["a teacher who does not teach the course", { teacherId: UNKNOWN_ID }, "teacherId"],
  ])("answers 422 naming the field for %s, and writes nothing", async (_, change, field) => {
    const courseId = await createCourse();
    const date = nextDay();
    const body: Record<string, unknown> = {
      startsAt: `${date}T09:00:00Z`,
      endsAt: `${date}T10:00:00Z`,
    };
    for (const [key, value] of Object.entries(change)) {
      body[key] =
        typeof value === "string" && (value.startsWith("T") || value.startsWith("-02"))
          ? value.startsWith("-02")
            ? `${date.slice(0, 4)}${value}`
            : `${date}${value}`
          : value;
    }

    const result = await addLesson(courseId, body);

    expect(result.status).toBe(422);
    expect(result.body).toEqual(
      errorBody(422, "VALIDATION_ERROR", expect.arrayContaining([fieldError(field)])),
    );
    const schedule = await campus.request(
      "GET",
      `/api/courses/${courseId}/schedule?from=2027-01-01&to=2027-12-31`,
      { token: admin },
    );
    expect(schedule.body.total).toBe(0);
  });

  it("refuses a teacher who does not teach the course (403) and an unknown course (404)", async () => {
    const otherTeacher = await createTeacher(campus);
    const courseId = await createCourse();
    const date = nextDay();
    const body = { startsAt: `${date}T09:00:00Z`, endsAt: `${date}T10:00:00Z` };

    expect((await addLesson(courseId, body, otherTeacher)).status).toBe(403);
    expect((await addLesson(UNKNOWN_ID, body)).status).toBe(404);
  });
});

describe("conflicts", () => {
  it("refuses a second lesson in the same room (any letter case) with 409 ROOM_CONFLICT naming the first", async () => {
    const [courseA, courseB] = [await createCourse(), await createCourse()];
    const date = nextDay();
    const first = await addLesson(courseA, {
      startsAt: `${date}T09:00:00Z`,
      endsAt: `${date}T11:00:00Z`,
      room: "Aula",
    });
    expect(first.status).toBe(201);

    const second = await addLesson(courseB, {
      startsAt: `${date}T10:00:00+00:00`,
      endsAt: `${date}T12:00:00+00:00`,
      room: "AULA",
    });

    expect(second.status).toBe(409);
    expect(second.body).toEqual(errorBody(409, "ROOM_CONFLICT", { lessons: [first.body] }));
  });

  it("lets lessons that only touch share a room, and a cancelled lesson frees it", async () => {
    const courseId = await createCourse();
    const date = nextDay();
    const first = await addLesson(courseId, {
      startsAt: `${date}T09:00:00Z`,
      endsAt: `${date}T10:00:00Z`,
      room: "Lab 1",
    });
    const touching = await addLesson(courseId, {
      startsAt: `${date}T10:00:00Z`,
      endsAt: `${date}T11:00:00Z`,
      room: "lab 1",
    });
    expect([first.status, touching.status]).toEqual([201, 201]);

    const cancel = await campus.request("PATCH", `/api/lessons/${first.body.id}`, {
      token: admin,
      body: { cancelled: true },
    });
    const replacement = await addLesson(courseId, {
      startsAt: `${date}T09:00:00Z`,
      endsAt: `${date}T10:00:00Z`,
      room: "Lab 1",
    });

    expect(cancel.status).toBe(200);
    expect(replacement.status).toBe(201);
  });

  it("refuses the same teacher twice at once with 409 TEACHER_CONFLICT", async () => {
    const [courseA, courseB] = [await createCourse(), await createCourse()];
    const date = nextDay();
    const first = await addLesson(
      courseA,
      { startsAt: `${date}T09:00:00Z`, endsAt: `${date}T10:00:00Z` },
      teacher,
    );

    const second = await addLesson(
      courseB,
      { startsAt: `${date}T09:30:00Z`, endsAt: `${date}T10:30:00Z` },
      teacher,
    );

    expect(second.status).toBe(409);
    expect(second.body).toEqual(errorBody(409, "TEACHER_CONFLICT", { lessons: [first.body] }));
  });

  it("of 20 simultaneous bookings of one room and hour, exactly one wins", async () => {
    const courses = await Promise.all(Array.from({ length: 4 }, () => createCourse()));
    const date = nextDay();

    const results = await Promise.all(
      Array.from({ length: 20 }, (_, index) =>
        addLesson(courses[index % courses.length], {
          startsAt: `${date}T13:00:00Z`,
          endsAt: `${date}T14:00:00Z`,
          room: "Race hall",
        }),
      ),
    );

    const statuses = results.map((result) => result.status).sort();
    expect(statuses).toEqual([201, ...Array(19).fill(409)]);
    expect(
      results.filter((r) => r.status === 409).every((r) => r.body.type === "ROOM_CONFLICT"),
    ).toBe(true);
  });
});

describe("POST /api/courses/:id/lesson-series", () => {
  it("keeps the local wall-clock time across a daylight-saving change when given a timeZone", async () => {
    const courseId = await createCourse();

    // Europe/Berlin moves from +01:00 to +02:00 on 2027-03-28.
    const result = await campus.request("POST", `/api/courses/${courseId}/lesson-series`, {
      token: teacher,
      body: {
        startsAt: "2027-03-22T09:00:00+01:00",
        endsAt: "2027-03-22T10:00:00+01:00",
        weeks: 3,
        timeZone: "Europe/Berlin",
        title: "Weekly lecture",
      },
    });

    expect(result.status).toBe(201);
    expect(result.body.seriesId).toMatch(UUID);
    expect(result.body.lessons.map((l: { startsAt: string }) => l.startsAt)).toEqual([
      "2027-03-22T08:00:00.000Z",
      "2027-03-29T07:00:00.000Z",
      "2027-04-05T07:00:00.000Z",
    ]);
    expect(
      result.body.lessons.every((l: { seriesId: string }) => l.seriesId === result.body.seriesId),
    ).toBe(true);
  });

  it("keeps the input's offset without a timeZone (exactly a week apart)", async () => {
    const courseId = await createCourse();

    const result = await campus.request("POST", `/api/courses/${courseId}/lesson-series`, {
      token: admin,
      body: {
        startsAt: "2027-03-23T09:00:00+01:00",
        endsAt: "2027-03-23T10:00:00+01:00",
        weeks: 2,
      },
    });

    expect(result.status).toBe(201);
    expect(result.body.lessons.map((l: { startsAt: string }) => l.startsAt)).toEqual([
      "2027-03-23T08:00:00.000Z",
      "2027-03-30T08:00:00.000Z",
    ]);
  });

  it("writes nothing when one week of the series clashes (all or nothing)", async () => {
    const [courseA, courseB] = [await createCourse(), await createCourse()];
    const blocker = await addLesson(courseA, {
      startsAt: "2027-05-17T09:30:00Z",
      endsAt: "2027-05-17T10:30:00Z",
      room: "Series room",
    });
    expect(blocker.status).toBe(201);

    const result = await campus.request("POST", `/api/courses/${courseB}/lesson-series`, {
      token: admin,
      body: {
        startsAt: "2027-05-03T09:00:00Z",
        endsAt: "2027-05-03T10:00:00Z",
        weeks: 4,
        room: "series room",
      },
    });

    expect(result.status).toBe(409);
    expect(result.body).toEqual(errorBody(409, "ROOM_CONFLICT", { lessons: [blocker.body] }));
    const schedule = await campus.request(
      "GET",
      `/api/courses/${courseB}/schedule?from=2027-01-01&to=2027-12-31`,
      { token: admin },
    );
    expect(schedule.body.total).toBe(0);
  });

  it.each([
    ["weeks 0", { weeks: 0 }, "weeks"],
    ["weeks 53", { weeks: 53 }, "weeks"],
    ["an unknown time zone", { weeks: 2, timeZone: "Mars/Olympus" }, "timeZone"],
  ])("answers 422 for %s", async (_, change, field) => {
    const courseId = await createCourse();
    const result = await campus.request("POST", `/api/courses/${courseId}/lesson-series`, {
      token: admin,
      body: { startsAt: "2027-06-01T09:00:00Z", endsAt: "2027-06-01T10:00:00Z", ...change },
    });

    expect(result.status).toBe(422);
    expect(result.body.data).toEqual(expect.arrayContaining([fieldError(field)]));
  });
});

describe("reading schedules", () => {
  it("shows a course's schedule by date range, in order, to staff and enrolled students only", async () => {
    const courseId = await createCourse();
    const student = await enrolledStudent(courseId);
    const outsider = await registerStudent(campus);
    const later = await addLesson(courseId, {
      startsAt: "2027-07-02T09:00:00Z",
      endsAt: "2027-07-02T10:00:00Z",
    });
    const earlier = await addLesson(courseId, {
      startsAt: "2027-07-01T09:00:00Z",
      endsAt: "2027-07-01T10:00:00Z",
    });
    await addLesson(courseId, { startsAt: "2027-09-01T09:00:00Z", endsAt: "2027-09-01T10:00:00Z" });
    const path = `/api/courses/${courseId}/schedule?from=2027-07-01&to=2027-07-31T00:00:00Z`;

    const [asStudent, asOutsider, asTeacher] = await Promise.all([
      campus.request("GET", path, { token: student.token }),
      campus.request("GET", path, { token: outsider.token }),
      campus.request("GET", path, { token: teacher }),
    ]);

    const page = {
      rows: [earlier.body, later.body],
      total: 2,
      page: 1,
      pageSize: 20,
      totalPages: 1,
    };
    expect(asStudent.body).toEqual(page);
    expect(asTeacher.body).toEqual(page);
    expect(asOutsider.status).toBe(403);
    const lesson = await campus.request("GET", `/api/lessons/${earlier.body.id}`, {
      token: outsider.token,
    });
    expect(lesson.status).toBe(403);
  });

  it("never answers a stale page: every lesson write cleans the cached schedules", async () => {
    const courseId = await createCourse();
    const student = await enrolledStudent(courseId);
    const path = "/api/schedule/me?from=2027-06-01&to=2027-06-30";
    const read = async () =>
      (await campus.request("GET", path, { token: student.token })).body.rows.map(
        (l: { id: string; cancelled: boolean; startsAt: string }) =>
          `${l.id}:${l.startsAt}:${l.cancelled}`,
      );
    expect(await read()).toEqual([]);

    const lesson = await addLesson(courseId, {
      startsAt: "2027-06-10T09:00:00Z",
      endsAt: "2027-06-10T10:00:00Z",
    });
    expect(await read()).toEqual([`${lesson.body.id}:2027-06-10T09:00:00.000Z:false`]);
    await campus.request("PATCH", `/api/lessons/${lesson.body.id}`, {
      token: admin,
      body: { startsAt: "2027-06-11T09:00:00Z", endsAt: "2027-06-11T10:00:00Z", cancelled: true },
    });
    expect(await read()).toEqual([`${lesson.body.id}:2027-06-11T09:00:00.000Z:true`]);
    await campus.request("DELETE", `/api/lessons/${lesson.body.id}`, { token: admin });
    expect(await read()).toEqual([]);
  });

  it.each([
    ["a range over 366 days", "from=2027-01-01&to=2028-01-03", "to"],
    ["to before from", "from=2027-02-01&to=2027-01-01", "to"],
    ["a malformed from", "from=yesterday", "from"],
  ])("answers 422 for %s", async (_, query, field) => {
    const courseId = await createCourse();
    const result = await campus.request("GET", `/api/courses/${courseId}/schedule?${query}`, {
      token: admin,
    });
    expect(result.status).toBe(422);
    expect(result.body.data).toEqual([fieldError(field)]);
  });

  it("GET /api/schedule/me: a student's courses' lessons; a teacher's own lessons", async () => {
    const [courseA, courseB, courseC] = [
      await createCourse(),
      await createCourse(),
      await createCourse(admin),
    ];
    const student = await enrolledStudent(courseA, courseB);
    const a = await addLesson(courseA, {
      startsAt: "2027-08-02T09:00:00Z",
      endsAt: "2027-08-02T10:00:00Z",
    });
    const b = await addLesson(courseB, {
      startsAt: "2027-08-03T09:00:00Z",
      endsAt: "2027-08-03T10:00:00Z",
    });
    await addLesson(courseC, { startsAt: "2027-08-04T09:00:00Z", endsAt: "2027-08-04T10:00:00Z" });
    const taught = await addLesson(
      courseA,
      { startsAt: "2027-08-05T09:00:00Z", endsAt: "2027-08-05T10:00:00Z" },
      teacher,
    );
    const range = "from=2027-08-01&to=2027-08-31";

    const mine = await campus.request("GET", `/api/schedule/me?${range}`, { token: student.token });
    const teaching = await campus.request("GET", `/api/schedule/me?${range}`, { token: teacher });

    expect(mine.body.rows).toEqual([a.body, b.body, taught.body]);
    expect(teaching.body.rows).toEqual([taught.body]);
  });
});

describe("changing lessons", () => {
  it("notifies every enrolled student when a lesson is rescheduled, then when it is cancelled", async () => {
    const courseId = await createCourse();
    const student = await enrolledStudent(courseId);
    const lesson = await addLesson(courseId, {
      startsAt: "2027-10-04T09:00:00Z",
      endsAt: "2027-10-04T10:00:00Z",
      title: "Moved talk",
    });

    const moved = await campus.request("PATCH", `/api/lessons/${lesson.body.id}`, {
      token: teacher,
      body: { startsAt: "2027-10-05T09:00:00+02:00", endsAt: "2027-10-05T10:00:00+02:00" },
    });
    expect(moved.status).toBe(200);
    expect(moved.body).toMatchObject({
      startsAt: "2027-10-05T07:00:00.000Z",
      endsAt: "2027-10-05T08:00:00.000Z",
    });
    const cancelled = await campus.request("PATCH", `/api/lessons/${lesson.body.id}`, {
      token: teacher,
      body: { cancelled: true },
    });
    expect(cancelled.body.cancelled).toBe(true);

    const types = await eventually(async () => {
      const page = await campus.request("GET", "/api/notifications", { token: student.token });
      const found = page.body.rows
        .filter((n: { data: { lessonId?: string } }) => n.data.lessonId === lesson.body.id)
        .map((n: { type: string }) => n.type)
        .sort();
      if (found.length < 2) throw new Error(`notifications so far: ${found}`);
      return found;
    }, 10000);
    expect(types).toEqual(["lesson_cancelled", "lesson_rescheduled"]);
  });

  it("refuses a change into a clash (409) and leaves the lesson as it was", async () => {
    const courseId = await createCourse();
    const date = nextDay();
    await addLesson(courseId, {
      startsAt: `${date}T09:00:00Z`,
      endsAt: `${date}T10:00:00Z`,
      room: "Fixed",
    });
    const other = await addLesson(courseId, {
      startsAt: `${date}T11:00:00Z`,
      endsAt: `${date}T12:00:00Z`,
      room: "Fixed",
    });

    const result = await campus.request("PATCH", `/api/lessons/${other.body.id}`, {
      token: admin,
      body: { startsAt: `${date}T09:30:00Z` },
    });

    expect(result.status).toBe(409);
    expect(result.body.type).toBe("ROOM_CONFLICT");
    const after = await campus.request("GET", `/api/lessons/${other.body.id}`, { token: admin });
    expect(after.body).toEqual(other.body);
  });

  it("DELETE removes a lesson (204, then 404); another teacher may not (403)", async () => {
    const courseId = await createCourse();
    const lesson = await addLesson(courseId, {
      startsAt: "2027-11-02T09:00:00Z",
      endsAt: "2027-11-02T10:00:00Z",
    });
    const otherTeacher = await createTeacher(campus);

    const refused = await campus.request("DELETE", `/api/lessons/${lesson.body.id}`, {
      token: otherTeacher,
    });
    const removed = await campus.request("DELETE", `/api/lessons/${lesson.body.id}`, {
      token: teacher,
    });
    const after = await campus.request("GET", `/api/lessons/${lesson.body.id}`, { token: admin });

    expect([refused.status, removed.status, after.status]).toEqual([403, 204, 404]);
  });
});

describe("attendance", () => {
  it("records attendance of enrolled students and summarises it per course with rates", async () => {
    const courseId = await createCourse();
    const [alice, bob] = [await enrolledStudent(courseId), await enrolledStudent(courseId)];
    const lessons = [];
    for (const date of ["2027-02-01", "2027-02-02", "2027-02-03"]) {
      lessons.push(
        (await addLesson(courseId, { startsAt: `${date}T09:00:00Z`, endsAt: `${date}T10:00:00Z` }))
          .body,
      );
    }
    const statuses = ["present", "late", "excused"];

    for (const [index, lesson] of lessons.entries()) {
      const result = await campus.request("PUT", `/api/lessons/${lesson.id}/attendance`, {
        token: teacher,
        body: {
          records: [
            { studentId: alice.studentId, status: statuses[index] },
            { studentId: bob.studentId, status: "absent", note: "ill" },
          ],
        },
      });
      expect(result.status).toBe(200);
    }

    const listed = await campus.request("GET", `/api/lessons/${lessons[0].id}/attendance`, {
      token: teacher,
    });
    expect(listed.body.rows).toEqual(
      expect.arrayContaining([
        {
          lessonId: lessons[0].id,
          studentId: alice.studentId,
          status: "present",
          note: null,
          recordedAt: expect.stringMatching(ISO_TIME),
        },
        {
          lessonId: lessons[0].id,
          studentId: bob.studentId,
          status: "absent",
          note: "ill",
          recordedAt: expect.stringMatching(ISO_TIME),
        },
      ]),
    );
    const summary = await campus.request("GET", `/api/students/${alice.studentId}/attendance`, {
      token: alice.token,
    });
    expect(summary.body).toEqual({
      courses: [{ courseId, lessons: 3, present: 1, late: 1, absent: 0, excused: 1, rate: 1 }],
    });
    const bobs = await campus.request("GET", `/api/students/${bob.studentId}/attendance`, {
      token: admin,
    });
    expect(bobs.body.courses[0]).toMatchObject({ lessons: 3, absent: 3, rate: 0 });
    const someoneElse = await campus.request("GET", `/api/students/${bob.studentId}/attendance`, {
      token: alice.token,
    });
    expect(someoneElse.status).toBe(403);
  });

  it("answers 422 naming a student who is not enrolled, and records nobody", async () => {
    const courseId = await createCourse();
    const enrolled = await enrolledStudent(courseId);
    const outsider = await registerStudent(campus);
    const lesson = await addLesson(courseId, {
      startsAt: "2027-02-10T09:00:00Z",
      endsAt: "2027-02-10T10:00:00Z",
    });

    const result = await campus.request("PUT", `/api/lessons/${lesson.body.id}/attendance`, {
      token: admin,
      body: {
        records: [
          { studentId: enrolled.studentId, status: "present" },
          { studentId: outsider.studentId, status: "present" },
        ],
      },
    });

    expect(result.status).toBe(422);
    expect(result.body.data).toEqual([fieldError("records[1].studentId")]);
    const listed = await campus.request("GET", `/api/lessons/${lesson.body.id}/attendance`, {
      token: admin,
    });
    expect(listed.body).toEqual({ rows: [] });
  });
});

describe("the calendar feed", () => {
  function events(text: string) {
    return Object.values(ical.sync.parseICS(text)).filter(
      (item): item is ical.VEvent => item?.type === "VEVENT",
    );
  }

  async function feed(url: string) {
    const path = new URL(url).pathname;
    return campus.request("GET", path);
  }

  it("serves the caller's lessons as RFC 5545 with stable UIDs, UTC times and rising SEQUENCE", async () => {
    const courseId = await createCourse();
    const otherCourse = await createCourse();
    const student = await enrolledStudent(courseId);
    const start = new Date(Date.now() + 3 * 86400000);
    start.setUTCHours(15, 0, 0, 0);
    const end = new Date(start.getTime() + 3600000);
    const lesson = await addLesson(courseId, {
      startsAt: start.toISOString(),
      endsAt: end.toISOString(),
      title: "Feed lesson",
      room: "F1",
    });
    await addLesson(otherCourse, {
      startsAt: start.toISOString(),
      endsAt: end.toISOString(),
      title: "Not theirs",
    });
    const created = await campus.request("POST", "/api/schedule/feed", { token: student.token });
    expect(created.status).toBe(201);
    expect(created.body.url).toMatch(
      /^https:\/\/campus\.example\.org\/api\/schedule\/feed\/[A-Za-z0-9_-]{43}$/,
    );

    const first = await feed(created.body.url);
    expect(first.status).toBe(200);
    expect(first.headers.get("content-type")).toMatch(/^text\/calendar/);
    expect(first.text).toContain(`DTSTART:${start.toISOString().replace(/[-:]|\.\d{3}/g, "")}`);
    const [event] = events(first.text);
    expect(events(first.text)).toHaveLength(1);
    expect(event.uid).toBe(`${lesson.body.id}@campus`);
    expect(event.summary).toBe("Feed lesson");
    expect(event.start.toISOString()).toBe(start.toISOString());
    expect(event.end?.toISOString()).toBe(end.toISOString());
    expect(Number(event.sequence)).toBe(0);

    await campus.request("PATCH", `/api/lessons/${lesson.body.id}`, {
      token: admin,
      body: { cancelled: true },
    });
    const second = events((await feed(created.body.url)).text)[0];
    expect(second.uid).toBe(event.uid);
    expect(Number(second.sequence)).toBe(1);
    expect(second.status).toBe("CANCELLED");
  });

  it("a new feed URL revokes the old one; unknown tokens answer 404", async () => {
    const student = await registerStudent(campus);
    const old = await campus.request("POST", "/api/schedule/feed", { token: student.token });
    const fresh = await campus.request("POST", "/api/schedule/feed", { token: student.token });

    expect((await feed(old.body.url)).status).toBe(404);
    expect((await feed(fresh.body.url)).status).toBe(200);
    expect((await campus.request("GET", `/api/schedule/feed/${"x".repeat(43)}`)).status).toBe(404);
    expect((await campus.request("GET", "/api/schedule/feed/short")).status).toBe(404);
    expect((await campus.request("GET", `/api/schedule/feed/${"y".repeat(500)}`)).status).toBe(404);
  });
});

describe("a deleted course", () => {
  it("takes its lessons with it", async () => {
    const courseId = await createCourse(admin);
    const lesson = await addLesson(courseId, {
      startsAt: "2027-11-20T09:00:00Z",
      endsAt: "2027-11-20T10:00:00Z",
      room: "Gone",
    });

    const removed = await campus.request("DELETE", `/api/courses/${courseId}`, { token: admin });

    expect(removed.status).toBe(204);
    await eventually(async () => {
      const after = await campus.request("GET", `/api/lessons/${lesson.body.id}`, { token: admin });
      expect(after.status).toBe(404);
    });
  });
});

describe("enrollment conflicts", () => {
  it("refuses enrolling a student whose courses' future lessons overlap (409 SCHEDULE_CONFLICT)", async () => {
    const [courseA, courseB, courseC] = [
      await createCourse(),
      await createCourse(admin),
      await createCourse(admin),
    ];
    const student = await enrolledStudent(courseA);
    const mine = await addLesson(courseA, {
      startsAt: "2027-12-06T09:00:00Z",
      endsAt: "2027-12-06T11:00:00Z",
    });
    const clash = await addLesson(courseB, {
      startsAt: "2027-12-06T10:00:00Z",
      endsAt: "2027-12-06T12:00:00Z",
    });
    await addLesson(courseC, { startsAt: "2027-12-06T11:00:00Z", endsAt: "2027-12-06T12:00:00Z" });

    const refused = await campus.request("POST", `/api/courses/${courseB}/students`, {
      token: student.token,
      body: { studentId: student.studentId },
    });
    const allowed = await campus.request("POST", `/api/students/${student.studentId}/courses`, {
      token: student.token,
      body: { courseId: courseC },
    });

    expect(refused.status).toBe(409);
    expect(refused.body).toEqual(
      errorBody(409, "SCHEDULE_CONFLICT", {
        lessons: [clash.body, mine.body],
        conflicts: [{ lesson: clash.body, clashesWith: mine.body }],
      }),
    );
    expect(allowed.status).toBe(201);
    const roster = await campus.request("GET", `/api/courses/${courseB}/students`, {
      token: admin,
    });
    expect(roster.body.total).toBe(0);
  });

  it("of two simultaneous enrollments of one student into clashing courses, exactly one wins", async () => {
    const [courseA, courseB] = [await createCourse(admin), await createCourse(admin)];
    await addLesson(courseA, { startsAt: "2027-12-13T09:00:00Z", endsAt: "2027-12-13T10:00:00Z" });
    await addLesson(courseB, { startsAt: "2027-12-13T09:30:00Z", endsAt: "2027-12-13T10:30:00Z" });
    const student = await registerStudent(campus);

    const results = await Promise.all(
      [courseA, courseB].map((courseId) =>
        campus.request("POST", `/api/courses/${courseId}/students`, {
          token: student.token,
          body: { studentId: student.studentId },
        }),
      ),
    );

    expect(results.map((result) => result.status).sort()).toEqual([201, 409]);
    expect(results.find((result) => result.status === 409)!.body.type).toBe("SCHEDULE_CONFLICT");
  });
});
