/**
 * The invariants of a course's seats and waitlist, checked against the courses database after a
 * storm of concurrent changes. `query` runs SQL with `$1…` parameters (sequelize in one process,
 * `pg` against a cluster's database) and answers rows.
 */
export type Query = (sql: string, params: unknown[]) => Promise<Record<string, unknown>[]>;

interface HistoryRow {
  student_id: string;
  from_status: string | null;
  to_status: string;
}

/** Every invariant that does not hold, in words (empty: all hold). */
export async function waitlistProblems(query: Query, courseId: string): Promise<string[]> {
  const problems: string[] = [];
  const [course] = await query(
    `SELECT capacity, enrolled_count, waitlisted_count, waitlist_capacity
     FROM courses.courses WHERE id = $1`,
    [courseId],
  );
  if (!course) return [`course ${courseId} not found`];
  const rows = (await query(
    `SELECT student_id, status, position FROM courses.enrollments WHERE course_id = $1`,
    [courseId],
  )) as { student_id: string; status: string; position: number | null }[];
  const seated = rows.filter((row) => row.status === "active" || row.status === "completed");
  const waiting = rows
    .filter((row) => row.status === "waitlisted")
    .sort((a, b) => Number(a.position) - Number(b.position));

  const capacity = course.capacity === null ? null : Number(course.capacity);
  if (capacity !== null && seated.length > capacity)
    problems.push(`${seated.length} seated students over capacity ${capacity}`);
  if (Number(course.enrolled_count) !== seated.length)
    problems.push(`enrolled_count ${course.enrolled_count} but ${seated.length} seated rows`);
  if (Number(course.waitlisted_count) !== waiting.length)
    problems.push(`waitlisted_count ${course.waitlisted_count} but ${waiting.length} rows`);
  if (waiting.length > Number(course.waitlist_capacity))
    problems.push(`${waiting.length} waiting over waitlist capacity ${course.waitlist_capacity}`);
  const positions = waiting.map((row) => Number(row.position));
  if (positions.join() !== waiting.map((_, i) => i + 1).join())
    problems.push(`positions not dense 1..n: ${positions.join()}`);
  if (capacity !== null && seated.length < capacity && waiting.length > 0)
    problems.push(`a free seat (${seated.length}/${capacity}) while ${waiting.length} wait`);

  // Replay the history in commit order (each change ran under the course's row lock): every
  // row's chain must be unbroken, end at its current status, and promotions go to the head of
  // the line in the order students joined it.
  const history = (await query(
    `SELECT student_id, from_status, to_status FROM courses.enrollment_history
     WHERE course_id = $1 ORDER BY id`,
    [courseId],
  )) as unknown as HistoryRow[];
  const current = new Map<string, string | null>();
  const line: string[] = [];
  for (const change of history) {
    const before = current.get(change.student_id) ?? null;
    if (before !== change.from_status)
      problems.push(
        `history of ${change.student_id}: ${change.from_status}→${change.to_status} after ${before}`,
      );
    if (change.to_status === "waitlisted") line.push(change.student_id);
    if (change.from_status === "waitlisted") {
      const place = line.indexOf(change.student_id);
      if (change.to_status === "active" && place !== 0)
        problems.push(`${change.student_id} promoted from place ${place + 1}, out of turn`);
      if (place >= 0) line.splice(place, 1);
    }
    current.set(change.student_id, change.to_status);
  }
  for (const row of rows) {
    if (current.get(row.student_id) !== row.status)
      problems.push(
        `${row.student_id} is ${row.status} but its history ends at ${current.get(row.student_id)}`,
      );
  }
  if (line.join() !== waiting.map((row) => row.student_id).join())
    problems.push("the waitlist's order is not the order students joined it");
  return problems;
}
