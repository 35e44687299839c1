/**
 * Per-client request budgets, counted in fixed one-minute windows. With Redis (CACHER=redis://…)
 * every gateway pod shares the same counters; without it each process counts alone. A limiter
 * that cannot reach Redis lets the request through (fail-open) and says so in the log: an outage
 * of the cache must not take the API down.
 */
import Redis from "ioredis";
import { tooManyRequests } from "../../lib/errors";
import { redisOptions } from "../../lib/resilient-redis-cacher";

export const RATE_WINDOW_MS = 60 * 1000;

export interface Budget {
  limit: number;
  remaining: number;
  /** Seconds until the window resets. */
  resetSeconds: number;
}

export interface CounterStore {
  /** Adds one hit to `key` in the window that ends at `windowEnd`; resolves with the count. */
  hit(key: string, windowEnd: number): Promise<number>;
  close(): Promise<void>;
}

export class MemoryCounterStore implements CounterStore {
  private counts = new Map<string, { count: number; windowEnd: number }>();

  async hit(key: string, windowEnd: number): Promise<number> {
    const entry = this.counts.get(key);
    if (!entry || entry.windowEnd !== windowEnd) {
      // Drop expired windows as we go so the map stays as large as the active clients.
      if (this.counts.size > 10000) {
        for (const [k, v] of this.counts) if (v.windowEnd < Date.now()) this.counts.delete(k);
      }
      this.counts.set(key, { count: 1, windowEnd });
      return 1;
    }
    entry.count += 1;
    return entry.count;
  }

  async close(): Promise<void> {
    this.counts.clear();
  }
}

export class RedisCounterStore implements CounterStore {
  private readonly client: Redis;

  constructor(
    url: string,
    private readonly prefix: string,
  ) {
    this.client = new Redis({ ...redisOptions(url), lazyConnect: false });
    // Connection errors surface as failed hits (fail-open); nothing else to do here.
    this.client.on("error", () => undefined);
  }

  async hit(key: string, windowEnd: number): Promise<number> {
    const redisKey = `${this.prefix}:${key}:${windowEnd}`;
    const results = await this.client
      .multi()
      .incr(redisKey)
      .pexpireat(redisKey, windowEnd + 1000)
      .exec();
    const [error, count] = results?.[0] ?? [new Error("no reply"), 0];
    if (error) throw error;
    return Number(count);
  }

  async close(): Promise<void> {
    this.client.disconnect();
  }
}

export class RateLimiter {
  private lastWarning = 0;

  constructor(
    private readonly store: CounterStore,
    private readonly name: string,
    readonly limit: number,
    private readonly warn: (message: string) => void,
  ) {}

  /** Counts one request of `client`; throws 429 (with Retry-After) once over the budget. */
  async consume(client: string, now = Date.now()): Promise<Budget | null> {
    const windowEnd = Math.floor(now / RATE_WINDOW_MS) * RATE_WINDOW_MS + RATE_WINDOW_MS;
    const resetSeconds = Math.max(1, Math.ceil((windowEnd - now) / 1000));
    let count: number;
    try {
      count = await this.store.hit(`${this.name}:${client}`, windowEnd);
    } catch (err) {
      if (now - this.lastWarning > 1000) {
        this.lastWarning = now;
        this.warn(`Rate limit store unavailable, request allowed: ${(err as Error).message}`);
      }
      return null;
    }
    if (count > this.limit) {
      throw tooManyRequests("Too many requests; slow down", resetSeconds);
    }
    return { limit: this.limit, remaining: this.limit - count, resetSeconds };
  }
}

/** The standard RateLimit-* headers (IETF draft) for a budget. */
export function rateLimitHeaders(budget: Budget): Record<string, string> {
  return {
    "RateLimit-Limit": String(budget.limit),
    "RateLimit-Remaining": String(Math.max(0, budget.remaining)),
    "RateLimit-Reset": String(budget.resetSeconds),
  };
}
