/**
 * The in-memory cache (no CACHER set): Moleculer's LRU cacher with a size bound, so clients who
 * choose cache keys (search text, sort, page size) cannot grow the process without limit, and
 * with a fixed time to live — Moleculer's MemoryLRU renews an entry's TTL on every read, which
 * would keep a hot entry (and a stale answer, if a clean were missed) forever.
 */
import { Cachers } from "moleculer";
import { LRUCache } from "lru-cache";

/** Entries held at most; the least recently used goes first. */
export const MEMORY_CACHE_MAX_ENTRIES = 2000;

/** A clock for the TTL (lru-cache's `perf`); tests pass their own. */
export interface CacheClock {
  now(): number;
}

export class BoundedMemoryCacher extends Cachers.MemoryLRU {
  constructor(ttlSeconds: number, max = MEMORY_CACHE_MAX_ENTRIES, clock?: CacheClock) {
    super({ ttl: ttlSeconds, max });
    (this as unknown as { cache: LRUCache<string, object> }).cache = new LRUCache<string, object>({
      max,
      ttl: ttlSeconds * 1000,
      updateAgeOnGet: false,
      ...(clock ? { perf: clock, ttlResolution: 0 } : {}),
    });
  }
}
