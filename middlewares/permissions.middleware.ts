/**
 * Access control on the node that runs an action (not only at the gateway):
 * - a published action checks the `permissions` it declares against the caller's identity, which
 *   counts only when the gateway signed it;
 * - an internal action (`visibility: "public"`, no `permissions`) runs only for a call another
 *   Campus service signed.
 * Outgoing calls made from inside a service are signed here too (the `call` hook). A published
 * action also refuses `null` for a parameter whose rule is not `nullable` (422).
 */
import type { ActionHandler, ActionSchema, Context, Middleware } from "moleculer";
import { forbidden, invalid, unauthorized } from "../lib/errors";
import { unexpectedNulls } from "../lib/http-input";
import { assertPermitted, type Identity } from "../lib/permissions";
import {
  signServiceCall,
  verifyIdentity,
  verifyServiceCall,
  type TrustKeys,
} from "../lib/service-trust";

export const SERVICE_CALL_META = "$serviceCall";
export const IDENTITY_SIGNATURE_META = "$identitySignature";

type TrustMeta = {
  user?: Identity | null;
  [SERVICE_CALL_META]?: string;
  [IDENTITY_SIGNATURE_META]?: string;
};

type CallOptions =
  { parentCtx?: { service?: unknown }; meta?: Record<string, unknown> } | undefined;
type Call = (actionName: string, params?: unknown, opts?: CallOptions) => Promise<unknown>;

export function createPermissionsMiddleware(keys: TrustKeys): Middleware {
  return {
    name: "Permissions",

    call(next: Call): Call {
      return (actionName, params, opts) => {
        // Only a call made by a service's code is signed: not the REPL, not a bare broker.call.
        if (!opts?.parentCtx?.service) return next(actionName, params, opts);
        const meta = { ...opts.meta, [SERVICE_CALL_META]: signServiceCall(keys, actionName) };
        return next(actionName, params, { ...opts, meta });
      };
    },

    localAction(next: ActionHandler, action: ActionSchema): ActionHandler {
      const permissions = action.permissions;
      const rules = action.params as Record<string, unknown> | undefined;
      const name = action.name ?? "";
      // Campus's internal actions are `visibility: "public"` (callable by other nodes, never over
      // HTTP); private actions cannot be called from outside and Moleculer's own `$node.*` are
      // read-only introspection.
      if (!permissions && action.visibility !== "public") return next;
      if (!permissions) {
        return function (this: unknown, ctx: Context<unknown, TrustMeta>) {
          if (!verifyServiceCall(keys, name, ctx.meta[SERVICE_CALL_META])) {
            throw forbidden("This action is internal to Campus services");
          }
          return next.call(this as never, ctx);
        };
      }
      return function (this: unknown, ctx: Context<unknown, TrustMeta>) {
        const user = ctx.meta.user ?? undefined;
        if (user && !verifyIdentity(keys, user, ctx.meta[IDENTITY_SIGNATURE_META])) {
          throw unauthorized("Unverified caller identity", "INVALID_TOKEN");
        }
        assertPermitted(user, permissions);
        // fastest-validator lets null through any optional rule; the action would write it.
        const nulls = unexpectedNulls((ctx.params ?? {}) as Record<string, unknown>, rules);
        if (nulls.length > 0) throw invalid(nulls);
        return next.call(this as never, ctx);
      };
    },
  } as unknown as Middleware;
}
