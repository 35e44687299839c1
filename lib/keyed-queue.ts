/**
 * One run per key at a time within this process: each run for a key waits for the previous one
 * of that key to settle, without holding anything meanwhile (no pooled database connection).
 * courses: one enrollment of a student at a time (the embedded PostgreSQL has one session and
 * cannot serialize them itself; see `enroll`). quizzes: one scoring per student and quiz, so
 * submits that the database would serialize on a row lock wait here instead of each holding a
 * pooled connection while blocked.
 */
export class KeyedQueue {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.then(task, task);
    const tail = result.catch(() => undefined);
    this.tails.set(key, tail);
    // The last run of a key removes its entry, so the map holds only keys in use.
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }

  /** Keys with a run pending or in progress (for tests). */
  get size(): number {
    return this.tails.size;
  }
}
