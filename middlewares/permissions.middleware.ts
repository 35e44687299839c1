/**
 * Access control on the node that runs an action (not only at the gateway):
 * - a published action checks the `permissions` it declares against the caller's identity, which
 *   counts only when the gateway signed it;
 * - an internal action (`visibility: "public"`, no `permissions`) runs only for a call another
 *   Campus service signed.
 * Outgoing calls made from inside a service are marked here (the `call` hook). A published
 * action also refuses `null` for a parameter whose rule is not `nullable` (422).
 *
 * Signatures are made only for a request that leaves the process (the `transitPublish` hook): in
 * one process a call carries symbol marks instead, which no serializer can write, so nothing
 * from the bus can forge them — and an in-process call costs no HMAC (bench profile: four per
 * request when the gateway and the service share a node).
 */
import type { ActionHandler, ActionSchema, Context, Middleware } from "moleculer";
import { forbidden, invalid, unauthorized } from "../lib/errors";
import { unexpectedNulls } from "../lib/http-input";
import { assertPermitted, type Identity } from "../lib/permissions";
import {
  signIdentity,
  sameIdentity,
  signServiceCall,
  verifyIdentity,
  verifyServiceCall,
  type TrustKeys,
} from "../lib/service-trust";

export const SERVICE_CALL_META = "$serviceCall";
export const IDENTITY_SIGNATURE_META = "$identitySignature";
/** In-process only: a Campus service made this call. */
export const SERVICE_CALL_MARK = Symbol("campus.serviceCall");
/** In-process only: the identity in `meta.user` that the gateway (or a verified signature) vouches for. */
export const VOUCHED_IDENTITY = Symbol("campus.vouchedIdentity");

type TrustMeta = {
  user?: Identity | null;
  [SERVICE_CALL_META]?: string;
  [IDENTITY_SIGNATURE_META]?: string;
  [SERVICE_CALL_MARK]?: true;
  [VOUCHED_IDENTITY]?: Identity;
};

interface RequestPacket {
  type: string;
  payload: { action?: string; meta?: TrustMeta };
}

type CallOptions =
  { parentCtx?: { service?: unknown }; meta?: Record<string, unknown> } | undefined;
type Call = (actionName: string, params?: unknown, opts?: CallOptions) => Promise<unknown>;

export function createPermissionsMiddleware(keys: TrustKeys): Middleware {
  return {
    name: "Permissions",

    call(next: Call): Call {
      return (actionName, params, opts) => {
        // Only a call made by a service's code is marked: not the REPL, not a bare broker.call.
        if (!opts?.parentCtx?.service) return next(actionName, params, opts);
        const meta = { ...opts.meta, [SERVICE_CALL_MARK]: true };
        return next(actionName, params, { ...opts, meta });
      };
    },

    // A request to another node: the marks become signatures the receiving node can check.
    transitPublish(next: (packet: RequestPacket) => Promise<void>) {
      return (packet: RequestPacket) => {
        const meta = packet.payload?.meta;
        if (packet.type !== "REQ" || !meta) return next(packet);
        const signed: TrustMeta = { ...meta };
        delete signed[SERVICE_CALL_META];
        delete signed[IDENTITY_SIGNATURE_META];
        if (meta[SERVICE_CALL_MARK] && packet.payload.action) {
          signed[SERVICE_CALL_META] = signServiceCall(keys, packet.payload.action);
        }
        // By value: a remote answer's meta is merged into the caller's, so after one call (and
        // for its retry) `meta.user` is an equal copy of the identity the gateway vouched for.
        const vouched = meta[VOUCHED_IDENTITY];
        if (meta.user && vouched && sameIdentity(meta.user, vouched)) {
          signed[IDENTITY_SIGNATURE_META] = signIdentity(keys, vouched);
        }
        packet.payload.meta = signed;
        return next(packet);
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
          const marked = ctx.meta[SERVICE_CALL_MARK] === true;
          if (!marked && !verifyServiceCall(keys, name, ctx.meta[SERVICE_CALL_META])) {
            throw forbidden("This action is internal to Campus services");
          }
          return next.call(this as never, ctx);
        };
      }
      return function (this: unknown, ctx: Context<unknown, TrustMeta>) {
        const user = ctx.meta.user ?? undefined;
        const vouched = ctx.meta[VOUCHED_IDENTITY];
        if (user && !(vouched && sameIdentity(vouched, user))) {
          if (!verifyIdentity(keys, user, ctx.meta[IDENTITY_SIGNATURE_META])) {
            throw unauthorized("Unverified caller identity", "INVALID_TOKEN");
          }
          // Verified once: the calls this action makes in this process inherit the mark.
          ctx.meta[VOUCHED_IDENTITY] = user;
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
