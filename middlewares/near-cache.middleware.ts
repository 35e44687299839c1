/**
 * The near cache (lib/near-cache.ts) wired into the broker: a call made by a service's code to an
 * action that declares `nearCache: true` (with `cache.keys`) is answered from this node's memory
 * when it can be, before any context, middleware, serializer or NATS hop. Each node also runs a
 * small `nearCache` service whose `clean` action writers call on every node (`cleanNearCaches`).
 */
import type { Context, Middleware, ServiceBroker, ServiceSchema } from "moleculer";
import { countNearCacheLookup } from "../lib/metrics";
import { NearCache } from "../lib/near-cache";

export const NEAR_CACHE_SERVICE = "nearCache";
/**
 * How long a writer waits for one node to clean its near cache before it answers anyway. A
 * healthy node answers in milliseconds; a killed one never does, and Moleculer's registry lists
 * it until the heartbeat timeout (6–10 s), so this bounds what the writes right after a crash pay.
 */
export const CLEAN_TIMEOUT_MS = 300;
/**
 * A node that missed a clean is not waited for during this long (its cleans are still sent): the
 * writes after the first miss do not each pay CLEAN_TIMEOUT_MS for a node that is gone. Any
 * answer from it ends the wait-free period; by its end the registry has dropped a dead node.
 */
export const UNRESPONSIVE_MS = 10_000;
/** Per broker: node → until when its cleans are not waited for. */
const unresponsiveNodes = new WeakMap<object, Map<string, number>>();

type CallOptions =
  | { parentCtx?: { service?: unknown }; meta?: Record<string, unknown>; nodeID?: string }
  | undefined;
type Call = (actionName: string, params?: unknown, opts?: CallOptions) => Promise<unknown>;

interface NearCacheable {
  nearCache?: boolean;
  cache?: boolean | { keys?: string[] };
}
interface KeyMaker {
  getCacheKey(action: { name: string }, opts: { keys: string[] }, ctx: object): string;
}

/** The cacher keys of an action that asks to be near-cached, from its definition in the registry. */
function nearCacheKeys(broker: ServiceBroker, actionName: string): string[] | null {
  const endpoints = broker.registry.getActionEndpoints(actionName) as unknown as
    { endpoints: { action: NearCacheable }[] } | undefined;
  const action = endpoints?.endpoints[0]?.action;
  if (!action?.nearCache || typeof action.cache !== "object" || !action.cache.keys) return null;
  return action.cache.keys;
}

function nearCacheService(cache: NearCache): ServiceSchema {
  return {
    name: NEAR_CACHE_SERVICE,
    actions: {
      clean: {
        visibility: "public",
        params: { patterns: { type: "array", items: "string", max: 1000 } },
        handler(ctx: Context<{ patterns: string[] }>): number {
          return cache.clean(ctx.params.patterns);
        },
      },
    },
  };
}

/**
 * Moleculer's call interceptor stamps the promise a `call` hook returns with the context of the
 * last call that went through `next` — a closure shared by every call — and `ctx.call` then
 * merges that context's meta (another request's `$statusCode`, say) into the caller's. A hit made
 * no call, so its promise keeps no context.
 */
function withoutContext<T>(promise: Promise<T>): Promise<T> {
  Object.defineProperty(promise, "ctx", { get: () => undefined, set: () => undefined });
  return promise;
}

export function createNearCacheMiddleware(ttlMs: number, maxEntries = 10_000): Middleware {
  const cache = new NearCache(ttlMs, maxEntries);
  let broker: ServiceBroker;
  return {
    name: "NearCache",

    created(created: ServiceBroker) {
      broker = created;
      // Without a near cache there is nothing to clean: writers then skip this node.
      if (ttlMs > 0) broker.createService(nearCacheService(cache));
    },

    call(next: Call): Call {
      if (ttlMs <= 0) return next;
      return (actionName, params, opts) => {
        // Only calls made by service code (what the permissions middleware signs), never one
        // aimed at a node, and only while the broker has a cacher to make the keys.
        if (!opts?.parentCtx?.service || opts.nodeID || !broker.cacher) {
          return next(actionName, params, opts);
        }
        const keys = nearCacheKeys(broker, actionName);
        if (!keys) return next(actionName, params, opts);
        const key = (broker.cacher as unknown as KeyMaker).getCacheKey(
          { name: actionName },
          { keys },
          { params, meta: opts.meta ?? {} },
        );
        const hit = cache.get(key);
        countNearCacheLookup(broker, actionName, hit !== undefined);
        if (hit !== undefined) return withoutContext(Promise.resolve(hit));
        return next(actionName, params, opts).then((value) => {
          cache.set(key, value);
          return value;
        });
      };
    },
  } as unknown as Middleware;
}

/**
 * Cleans these cacher patterns from the near cache of every node that has one, and waits for
 * each (a node that does not answer within CLEAN_TIMEOUT_MS is logged; its entries expire).
 */
export async function cleanNearCaches(ctx: Context, patterns: string[]): Promise<void> {
  const broker = ctx.broker;
  let unresponsive = unresponsiveNodes.get(broker);
  if (!unresponsive) unresponsiveNodes.set(broker, (unresponsive = new Map()));
  const nodeIDs = (
    broker.registry.getServiceList({ onlyAvailable: true }) as { name: string; nodeID: string }[]
  )
    .filter((service) => service.name === NEAR_CACHE_SERVICE)
    .map((service) => service.nodeID);
  const now = Date.now();
  const awaited: Promise<void>[] = [];
  for (const nodeID of nodeIDs) {
    const clean = ctx
      .call(
        `${NEAR_CACHE_SERVICE}.clean`,
        { patterns },
        { nodeID, timeout: CLEAN_TIMEOUT_MS, retries: 0 },
      )
      .then(
        () => {
          unresponsive.delete(nodeID);
        },
        (err: Error) => {
          if (!unresponsive.has(nodeID)) {
            broker.logger.warn(
              `Near cache of node ${nodeID} not cleaned (${err.message}); its entries expire by themselves, and its cleans are not waited for during ${UNRESPONSIVE_MS} ms`,
            );
          }
          unresponsive.set(nodeID, Date.now() + UNRESPONSIVE_MS);
        },
      );
    const skipUntil = unresponsive.get(nodeID);
    if (skipUntil === undefined || skipUntil <= now) awaited.push(clean);
  }
  await Promise.all(awaited);
}
