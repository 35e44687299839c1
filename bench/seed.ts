/**
 * The bench's data, created through the HTTP API as an administrator: 200 students and 20
 * courses; the first student is enrolled in all 20 courses and the first course holds the first
 * 100 students, so the two cross-service endpoints answer full pages (20 courses, 100 students).
 * A registered student (an account, for `GET /api/schedule/me`) is enrolled in 8 of the courses,
 * each with 30 lessons that clash with nothing, all within the next 30 days (the default range).
 */
import { http } from "../test/cluster/harness";

export const STUDENTS = 200;
/** Students read at random in the random-id cases (STUDENTS of them are the ones above). */
export const RANDOM_POOL = 2000;
export const COURSES = 20;
export const ROSTER = 100;
export const SCHEDULE_COURSES = 8;
export const LESSONS_PER_COURSE = 30;

export interface Seed {
  studentIds: string[];
  courseIds: string[];
  /** RANDOM_POOL student ids, the first STUDENTS of them `studentIds`. */
  poolIds: string[];
  /** Enrolled in every course. */
  busyStudentId: string;
  /** Holds the first ROSTER students. */
  fullCourseId: string;
  /** A student account enrolled in SCHEDULE_COURSES courses with lessons. */
  scheduleStudentToken: string;
}

/** Runs `task` over `items` with at most `limit` in flight; rejects on the first failure. */
export async function inParallel<T, R>(
  items: T[],
  limit: number,
  task: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const index = next;
      next += 1;
      results[index] = await task(items[index], index);
    }
  });
  await Promise.all(workers);
  return results;
}

async function created(
  base: string,
  token: string,
  path: string,
  body: Record<string, unknown>,
): Promise<{ id: string }> {
  const result = await http(base, "POST", path, token, body);
  if (result.status !== 201) {
    throw new Error(`POST ${path} answered ${result.status}: ${JSON.stringify(result.body)}`);
  }
  return result.body as { id: string };
}

export async function seed(base: string, token: string, runId: string): Promise<Seed> {
  const indexes = (count: number) => Array.from({ length: count }, (_, i) => i);
  const students = await inParallel(indexes(STUDENTS), 10, (i) =>
    created(base, token, "/api/students", {
      firstName: "Bench",
      lastName: `Student${String(i).padStart(3, "0")}`,
      email: `bench.${runId}.${i}@campus.test`,
    }),
  );
  const more = await inParallel(indexes(RANDOM_POOL - STUDENTS), 10, (i) =>
    created(base, token, "/api/students", {
      firstName: "Bench",
      lastName: `Pool${String(i).padStart(4, "0")}`,
      email: `bench.${runId}.pool${i}@campus.test`,
    }),
  );
  const courses = await inParallel(indexes(COURSES), 10, (i) =>
    created(base, token, "/api/courses", {
      code: `B${runId}-${i}`,
      title: `Bench course ${i}`,
      description: "A course of the performance bench",
      capacity: null,
    }),
  );
  const busyStudentId = students[0].id;
  const fullCourseId = courses[0].id;
  const enrollments = [
    ...courses.map((course) => ({ courseId: course.id, studentId: busyStudentId })),
    ...students
      .slice(1, ROSTER)
      .map((student) => ({ courseId: fullCourseId, studentId: student.id })),
  ];
  await inParallel(enrollments, 10, (e) =>
    created(base, token, `/api/courses/${e.courseId}/students`, { studentId: e.studentId }),
  );
  // The schedule: one 45-minute lesson an hour from tomorrow 00:00 UTC, the courses in turn.
  const registered = await http(base, "POST", "/api/auth/register", undefined, {
    email: `bench.schedule.${runId}@campus.test`,
    password: "a-bench-password-long-enough",
    firstName: "Bench",
    lastName: "Scheduled",
  });
  if (registered.status !== 201) {
    throw new Error(`register answered ${registered.status}: ${JSON.stringify(registered.body)}`);
  }
  const scheduled = courses.slice(0, SCHEDULE_COURSES);
  await inParallel(scheduled, 4, (course) =>
    created(base, token, `/api/courses/${course.id}/students`, {
      studentId: registered.body.user.studentId,
    }),
  );
  const tomorrow = new Date();
  tomorrow.setUTCHours(24, 0, 0, 0);
  const lessons = scheduled.flatMap((course, c) =>
    Array.from({ length: LESSONS_PER_COURSE }, (_, l) => {
      const startsAt = new Date(tomorrow.getTime() + (l * SCHEDULE_COURSES + c) * 3600000);
      return {
        courseId: course.id,
        startsAt: startsAt.toISOString(),
        endsAt: new Date(startsAt.getTime() + 45 * 60000).toISOString(),
      };
    }),
  );
  await inParallel(lessons, 10, (lesson) =>
    created(base, token, `/api/courses/${lesson.courseId}/lessons`, {
      startsAt: lesson.startsAt,
      endsAt: lesson.endsAt,
    }),
  );
  return {
    scheduleStudentToken: registered.body.accessToken as string,
    studentIds: students.map((s) => s.id),
    poolIds: [...students, ...more].map((s) => s.id),
    courseIds: courses.map((c) => c.id),
    busyStudentId,
    fullCourseId,
  };
}

export const GRADEBOOK_STUDENTS = 100;
export const GRADEBOOK_ITEMS = 20;

/**
 * A course gradebook of GRADEBOOK_STUDENTS students × GRADEBOOK_ITEMS assignments, made as a
 * course really gets one: a grading policy, students registered and enrolled, assignments
 * published, each student submitting each one, the teacher (the admin) grading every
 * submission; then waits until the gradebook (built from the grade events) holds every grade.
 */
export async function seedGradebook(base: string, token: string, runId: string): Promise<string> {
  const indexes = (count: number) => Array.from({ length: count }, (_, i) => i);
  const course = await created(base, token, "/api/courses", {
    code: `G${runId}`,
    title: "Bench gradebook",
  });
  const policy = await http(base, "PUT", `/api/courses/${course.id}/grading`, token, {
    categories: [
      { name: "homework", weight: 40, dropLowest: 2 },
      { name: "exams", weight: 60 },
    ],
  });
  if (policy.status !== 200) throw new Error(`grading policy answered ${policy.status}`);
  const students = await inParallel(indexes(GRADEBOOK_STUDENTS), 10, async (i) => {
    const registered = await http(base, "POST", "/api/auth/register", undefined, {
      email: `graded.${runId}.${i}@campus.test`,
      password: `bench-password-${runId}-${i}`,
      firstName: "Graded",
      lastName: `Student${String(i).padStart(3, "0")}`,
    });
    if (registered.status !== 201) throw new Error(`register answered ${registered.status}`);
    const studentId = registered.body.user.studentId as string;
    await created(base, token, `/api/courses/${course.id}/students`, { studentId });
    return { studentId, token: registered.body.accessToken as string };
  });
  const items = await inParallel(indexes(GRADEBOOK_ITEMS), 5, (i) =>
    created(base, token, `/api/courses/${course.id}/assignments`, {
      title: `Task ${i + 1}`,
      dueAt: new Date(Date.now() + 30 * 24 * 3600 * 1000).toISOString(),
      maxPoints: 10 + (i % 3) * 5,
      category: i % 4 === 3 ? "exams" : "homework",
      published: true,
    }),
  );
  const work = items.flatMap((item, i) =>
    students.map((student, s) => ({ item: item.id, i, student, points: (s * 7 + i * 3) % 11 })),
  );
  await inParallel(work, 20, async ({ item, student }) => {
    const result = await http(
      base,
      "PUT",
      `/api/assignments/${item}/submissions/me`,
      student.token,
      { body: "Bench answer" },
    );
    if (result.status !== 200) throw new Error(`submit answered ${result.status}`);
  });
  await inParallel(work, 20, async ({ item, student, points }) => {
    const result = await http(
      base,
      "POST",
      `/api/assignments/${item}/submissions/${student.studentId}/grade`,
      token,
      { points },
    );
    if (result.status !== 200) throw new Error(`grade answered ${result.status}`);
  });
  const deadline = Date.now() + 120_000;
  for (;;) {
    const book = await http(base, "GET", `/api/courses/${course.id}/gradebook`, token);
    const rows = (book.body?.rows ?? []) as { scores: Record<string, number | null> }[];
    const graded = rows.reduce(
      (sum, row) => sum + Object.values(row.scores).filter((v) => v !== null).length,
      0,
    );
    if (graded === GRADEBOOK_STUDENTS * GRADEBOOK_ITEMS) return course.id;
    if (Date.now() > deadline) throw new Error(`the gradebook holds ${graded} grades`);
    await new Promise((done) => setTimeout(done, 250));
  }
}
