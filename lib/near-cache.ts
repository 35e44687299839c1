/**
 * A caller-side cache of internal reads ("near cache"): a node keeps, for a few seconds, what it
 * last read from another service, so a repeated read skips the NATS hop and the callee's work —
 * which the shared Redis cache cannot do, since Moleculer looks it up on the callee's side.
 *
 * Entries use the cacher's own keys, so the patterns a write cleans from Redis (`cacheKeys` in
 * mixins/cache-cleaner.mixin.ts) clean them too; the writer cleans every node's near cache and
 * waits for each to answer before the write answers (read-after-write from any node). The TTL
 * bounds staleness only for a node that could not be reached at that moment.
 */
import { Utils } from "moleculer";

interface Entry {
  value: unknown;
  expiresAt: number;
}

export class NearCache {
  // A Map keeps insertion order: re-inserting on read makes the first key the least recent.
  private readonly entries = new Map<string, Entry>();
  hits = 0;
  misses = 0;

  constructor(
    readonly ttlMs: number,
    readonly maxEntries: number,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /** The live value under `key`, or undefined (expired entries are dropped on the way). */
  get(key: string): unknown {
    const entry = this.entries.get(key);
    if (entry === undefined) {
      this.misses++;
      return undefined;
    }
    if (entry.expiresAt <= this.now()) {
      this.entries.delete(key);
      this.misses++;
      return undefined;
    }
    this.entries.delete(key);
    this.entries.set(key, entry);
    this.hits++;
    return entry.value;
  }

  set(key: string, value: unknown): void {
    if (this.ttlMs <= 0 || value === undefined) return;
    this.entries.delete(key);
    this.entries.set(key, { value, expiresAt: this.now() + this.ttlMs });
    while (this.entries.size > this.maxEntries) {
      this.entries.delete(this.entries.keys().next().value as string);
    }
  }

  /** Drops every entry matching one of the cacher patterns (`*`, `**`, `?` as Moleculer's). */
  clean(patterns: readonly string[]): number {
    let removed = 0;
    for (const key of [...this.entries.keys()]) {
      if (patterns.some((pattern) => Utils.match(key, pattern))) {
        this.entries.delete(key);
        removed++;
      }
    }
    return removed;
  }
}
