/**
 * The one cache-cleaning path: a write names the cache key patterns it made stale; they are
 * cleaned from the cacher, then from the near cache of every node (each answering before the
 * write does), then from other nodes' memory cachers through a broadcast.
 */
import type { Context, ServiceSchema } from "moleculer";
import { cleanNearCaches } from "../middlewares/near-cache.middleware";

export const CACHE_CLEAN_EVENT = "cache.clean";

/**
 * Key patterns in Moleculer 0.15's key format (`action:<JSON value>|<JSON value>…`): the entry
 * of a one-key action, every entry whose first key is `value`, every entry of the action, and
 * every entry whose array key contains `value`.
 */
export const cacheKeys = {
  exact: (action: string, value: string) => `${action}:${JSON.stringify(value)}`,
  // `**`: Moleculer's single `*` stops at a dot, and emails in keys have dots.
  startingWith: (action: string, value: string) => `${action}:${JSON.stringify(value)}|**`,
  all: (action: string) => `${action}:**`,
  containing: (action: string, value: string) => `${action}:**${JSON.stringify(value)}**`,
};

export interface CacheCleanerThis {
  invalidate(ctx: Context, patterns: string[]): Promise<void>;
}

export const CacheCleanerMixin: Partial<ServiceSchema> = {
  events: {
    [CACHE_CLEAN_EVENT]: {
      params: { patterns: { type: "array", items: "string", max: 1000 } },
      async handler(
        this: { broker: { cacher?: { clean(p: string): Promise<unknown> } } },
        ctx: Context<{ patterns: string[] }>,
      ) {
        const cacher = this.broker.cacher;
        if (!cacher) return;
        await Promise.all(ctx.params.patterns.map((pattern) => cacher.clean(pattern)));
      },
    },
  },
  methods: {
    async invalidate(ctx: Context, patterns: string[]): Promise<void> {
      const cacher = (
        this as unknown as { broker: { cacher?: { clean(p: string): Promise<unknown> } } }
      ).broker.cacher;
      if (patterns.length === 0) return;
      if (cacher) await Promise.all(patterns.map((pattern) => cacher.clean(pattern)));
      // After the shared cache, so a near cache refilled meanwhile reads the new data.
      await cleanNearCaches(ctx, patterns);
      if (cacher) await ctx.broadcast(CACHE_CLEAN_EVENT, { patterns });
    },
  },
};
