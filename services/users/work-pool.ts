/**
 * A small bound on expensive work (password hashing): at most `concurrency` tasks run, at most
 * `maxQueued` wait, and a task beyond both is refused at once with 503 + Retry-After rather than
 * queued behind everyone — so a crowd of bad logins cannot delay a real one for seconds.
 */
import { Errors } from "moleculer";

/** Seconds a refused caller is told to wait. */
export const BUSY_RETRY_AFTER_SECONDS = 1;

/**
 * 503, not retried by the broker and not counted by the circuit breaker (it is not "retryable"):
 * the node is fine, only busy.
 */
export const workPoolBusy = (): Errors.MoleculerError =>
  new Errors.MoleculerError("Too many password checks in progress; retry shortly", 503, "BUSY", {
    retryAfter: BUSY_RETRY_AFTER_SECONDS,
  });

export class WorkPool {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    readonly concurrency: number,
    readonly maxQueued: number,
  ) {}

  /** Tasks running and waiting now. */
  get load(): { running: number; queued: number } {
    return { running: this.running, queued: this.waiting.length };
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running >= this.concurrency) {
      if (this.waiting.length >= this.maxQueued) throw workPoolBusy();
      // The finishing task hands its slot over: `running` stays as it is.
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.running += 1;
    }
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.running -= 1;
    }
  }
}
