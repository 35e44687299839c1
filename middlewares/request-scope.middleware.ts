/** Opens the log scope (request id, action, caller) around every local action and event. */
import type { ActionHandler, ActionSchema, Context, EventSchema, Middleware } from "moleculer";
import { requestScope } from "../lib/logging";
import type { Identity } from "../lib/permissions";

type ScopedContext = Context<unknown, { user?: Identity | null }>;

function scopeOf(ctx: ScopedContext, action: string) {
  return { requestID: ctx.requestID ?? null, action, userId: ctx.meta.user?.id ?? null };
}

const RequestScopeMiddleware: Middleware = {
  name: "RequestScope",
  localAction(next: ActionHandler, action: ActionSchema): ActionHandler {
    const name = action.name ?? "action";
    return function (this: unknown, ctx: ScopedContext) {
      return requestScope.run(scopeOf(ctx, name), () => next.call(this as never, ctx));
    };
  },
  localEvent(next, event: EventSchema) {
    const name = `event:${event.name ?? ""}`;
    return function (this: unknown, ctx: ScopedContext) {
      return requestScope.run(scopeOf(ctx, name), () => next.call(this as never, ctx as never));
    } as typeof next;
  },
};

export default RequestScopeMiddleware;
