/**
 * Enforces the `permissions` an action declares, on the node that runs the action (not only at
 * the gateway). Actions without `permissions` are internal: never published over HTTP.
 */
import type { ActionHandler, ActionSchema, Context, Middleware } from "moleculer";
import { assertPermitted, type Identity } from "../lib/permissions";

const PermissionsMiddleware: Middleware = {
  name: "Permissions",
  localAction(next: ActionHandler, action: ActionSchema): ActionHandler {
    const permissions = action.permissions;
    if (!permissions) return next;
    return function (this: unknown, ctx: Context<unknown, { user?: Identity | null }>) {
      assertPermitted(ctx.meta.user ?? undefined, permissions);
      return next.call(this as never, ctx);
    };
  },
};

export default PermissionsMiddleware;
