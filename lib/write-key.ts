/**
 * The write key of a call chain (lib/idempotency.ts explains its use): minted by the chain's first
 * call, kept by the broker's retries, inherited by nested calls. No database code here: every node
 * (the gateway included) runs this middleware.
 */
import { createHash, randomUUID } from "crypto";
import type { Middleware } from "moleculer";

/** The meta entry carrying a call chain's write key. */
export const WRITE_KEY_META = "writeKey";

type CallOptions = {
  ctx?: unknown;
  parentCtx?: { meta?: Record<string, unknown> };
  meta?: Record<string, unknown>;
};
type Call = (actionName: string, params?: unknown, opts?: CallOptions) => Promise<unknown>;

/**
 * Gives every call chain a write key: a call made with no parent (the gateway's call for a
 * request, a timer's call) or under a parent without one gets a fresh random key. A retry reuses
 * its first attempt's context (`opts.ctx`), meta and key included.
 */
export function writeKeyMiddleware(): Middleware {
  return {
    name: "WriteKey",
    call(next: Call): Call {
      return (actionName, params, opts) => {
        if (opts?.ctx) return next(actionName, params, opts);
        if (typeof opts?.meta?.[WRITE_KEY_META] === "string") return next(actionName, params, opts);
        if (typeof opts?.parentCtx?.meta?.[WRITE_KEY_META] === "string")
          return next(actionName, params, opts);
        return next(actionName, params, {
          ...opts,
          meta: { ...opts?.meta, [WRITE_KEY_META]: randomUUID() },
        });
      };
    },
  } as unknown as Middleware;
}

/** The key of one write: the chain's key, the action and its params. Null without a chain key. */
export function writeKeyOf(ctx: {
  meta: Record<string, unknown>;
  action?: { name: string } | null;
  params: unknown;
}): string | null {
  const chain = ctx.meta?.[WRITE_KEY_META];
  if (typeof chain !== "string") return null;
  return createHash("sha256")
    .update(JSON.stringify([chain, ctx.action?.name ?? null, ctx.params ?? null]))
    .digest("hex");
}
