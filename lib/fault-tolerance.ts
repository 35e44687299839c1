/**
 * Per-action fault-tolerance options (README "Fault tolerance"). The broker retries calls that
 * failed for transport reasons (the node died or left, the attempt timed out) — on the caller's
 * node, and over NATS queue groups the retry reaches a node that is still subscribed.
 *
 * - Reads are retried: asking again changes nothing.
 * - Writes that run once per request (`IDEMPOTENT_WRITE`: the service wraps the write in
 *   `once()`, lib/idempotency.ts) are retried too: a second attempt of the same request finds the
 *   first one's result in the database and answers it, and a first attempt that died with its
 *   node rolled back with its connection.
 * - Every other write is never retried by the broker (`NOT_RETRIED`): a write retried after a
 *   timeout may already have happened. The client decides, with a clear answer (e.g. 409
 *   ALREADY_ENROLLED) if it had.
 */
export const NOT_RETRIED = { retryPolicy: { enabled: false } } as const;

/**
 * How long one attempt of a read may take before it is given up and retried. A node killed
 * without notice takes its NATS subscriptions with it at once, but the requests it had already
 * received are lost: their callers learn it only from this timeout. Healthy answers take
 * milliseconds; the slowest seen while a node was killed under 100 requests/s on a busy 2-core
 * machine took about 0.7 s, so 750 ms cuts off only lost requests, and a timeout plus a retry
 * stays well under 2 s. Nested calls share the first call's budget (Moleculer's distributed
 * timeout): the gateway's call is the one that gives up and retries.
 */
export const READ_TIMEOUT_MS = 750;
export const FAST_FAILOVER = { timeout: READ_TIMEOUT_MS } as const;

/**
 * Reads that can take a second or more on a busy machine — a course's gradebook, a calendar, a
 * report's file, a quiz with its questions — keep the former 2 s attempt: their services were not
 * measured under the failover load, and a shorter attempt there would turn slow answers into
 * retries. A node lost under them costs up to 2 s more.
 */
export const LONG_READ_TIMEOUT_MS = 2000;
export const LONG_READ = { timeout: LONG_READ_TIMEOUT_MS } as const;

/** One attempt of an exactly-once write, then a retry (same budget as a read). */
export const WRITE_TIMEOUT_MS = 750;
export const IDEMPOTENT_WRITE = { timeout: WRITE_TIMEOUT_MS } as const;

/**
 * Retries a node may make, over any second: 20 % of the calls it made, and at least 10 a second.
 * A crashed node costs a few retries (the calls that were running on it); an outage of NATS or
 * of a whole service makes every call fail at once, and unbounded retries would then multiply
 * the load by up to four just when the cluster comes back — long enough, on a small machine,
 * to keep every answer slower than the timeout and every call retried again. Beyond the budget a
 * failure is answered at once (503 with Retry-After) instead of being retried.
 */
export const RETRY_BUDGET = { ratio: 0.2, minPerSecond: 10 } as const;

export class RetryBudget {
  private second = 0;
  private calls = [0, 0];
  private retries = [0, 0];

  constructor(
    private readonly ratio: number = RETRY_BUDGET.ratio,
    private readonly minPerSecond: number = RETRY_BUDGET.minPerSecond,
    private readonly now: () => number = Date.now,
  ) {}

  /** Two one-second buckets: this second's and the previous one's. */
  private roll(): void {
    const second = Math.floor(this.now() / 1000);
    if (second === this.second) return;
    const previousKept = second === this.second + 1;
    this.calls = [previousKept ? this.calls[1] : 0, 0];
    this.retries = [previousKept ? this.retries[1] : 0, 0];
    this.second = second;
  }

  recordCall(): void {
    this.roll();
    this.calls[1] += 1;
  }

  /** Takes one retry from the budget if there is one left. */
  allowRetry(): boolean {
    this.roll();
    const calls = this.calls[0] + this.calls[1];
    const retries = this.retries[0] + this.retries[1];
    if (retries >= Math.max(this.minPerSecond, calls * this.ratio)) return false;
    this.retries[1] += 1;
    return true;
  }
}
