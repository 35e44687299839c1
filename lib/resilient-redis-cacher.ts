/**
 * Moleculer's Redis cacher, made to degrade instead of fail: with Redis down, a read is a cache
 * miss (answered from the database), a write to the cache is skipped, each with a warning and a
 * `campus_cache_errors_total` count; when Redis is back, everything cached before the outage is
 * dropped (writes made during it could not clean it) and caching resumes by itself.
 */
import { Cachers, type ServiceBroker } from "moleculer";

/** ioredis options from a `redis://[user:pass@]host:port[/db]` or `rediss://` URL. */
export function redisOptions(url: string) {
  const parsed = new URL(url);
  return {
    host: parsed.hostname,
    port: Number(parsed.port || 6379),
    username: parsed.username ? decodeURIComponent(parsed.username) : undefined,
    password: parsed.password ? decodeURIComponent(parsed.password) : undefined,
    db: parsed.pathname.length > 1 ? Number(parsed.pathname.slice(1)) : 0,
    tls: parsed.protocol === "rediss:" ? {} : undefined,
    // Fail fast while disconnected rather than queue commands behind a request.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    retryStrategy: (attempt: number) => Math.min(attempt * 200, 2000),
  };
}

export const CACHE_ERRORS_METRIC = "campus_cache_errors_total";

type RedisClient = { on(event: string, listener: (...args: unknown[]) => void): void };

export class ResilientRedisCacher extends Cachers.Redis {
  private lostConnection = false;
  private lastWarning = 0;

  constructor(url: string, ttlSeconds: number) {
    super({ redis: redisOptions(url), ttl: ttlSeconds } as never);
  }

  override init(broker: ServiceBroker): void {
    super.init(broker);
    if (broker.isMetricsEnabled() && !broker.metrics.getMetric(CACHE_ERRORS_METRIC)) {
      broker.metrics.register({
        type: "counter",
        name: CACHE_ERRORS_METRIC,
        labelNames: ["operation"],
        description: "Cache operations that failed because Redis was unavailable",
      });
      // Every operation starts at 0, so the error rate has data before the first outage.
      for (const operation of ["get", "set", "del", "clean"])
        broker.metrics.increment(CACHE_ERRORS_METRIC, { operation }, 0);
    }
    const client = (this as unknown as { client: RedisClient }).client;
    client.on("error", () => {
      this.lostConnection = true;
    });
    client.on("ready", () => {
      if (!this.lostConnection) return;
      this.lostConnection = false;
      this.logger.warn("Redis is back: dropping entries cached before the outage");
      void super.clean("**").catch(() => undefined);
    });
  }

  private degraded<T>(operation: string, err: unknown, fallback: T): T {
    this.broker.metrics.increment(CACHE_ERRORS_METRIC, { operation });
    // One warning a second at most: an outage under load would flood the log.
    if (Date.now() - this.lastWarning > 1000) {
      this.lastWarning = Date.now();
      this.logger.warn(`Cache ${operation} failed, serving without cache:`, (err as Error).message);
    }
    return fallback;
  }

  override get(key: string) {
    return super
      .get(key)
      .catch((err: unknown) => this.degraded("get", err, this.opts.missingResponse));
  }

  override set(key: string, data: unknown, ttl?: number) {
    return super.set(key, data, ttl).catch((err: unknown) => this.degraded("set", err, undefined));
  }

  override del(keys: string | string[]) {
    return super.del(keys).catch((err: unknown) => this.degraded("del", err, undefined));
  }

  override clean(match?: string | string[]) {
    return super
      .clean(match as string)
      .catch((err: unknown) => this.degraded("clean", err, undefined));
  }
}
