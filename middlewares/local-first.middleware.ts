/**
 * `preferLocal` for a broker whose balancer is NATS (`disableBalancer: true`). Moleculer then
 * sends every call, even one to a service of the same node, through a NATS queue group. This
 * middleware keeps a call to an action this node runs itself in the process, through Moleculer's
 * own balancer path (which, with `preferLocal`, picks the local endpoint); every other call still
 * goes to the queue group, where NATS picks a node that is subscribed — never one whose connection
 * is gone. A call aimed at another node (`nodeID`) keeps its target; a call given an endpoint (as
 * moleculer-web makes them) goes by the endpoint's action name unless the endpoint is local.
 *
 * It must be the first middleware of the list: its `call` hook is then the innermost one, right
 * around the broker's own call, so every other hook (signatures, near cache, write keys) still runs
 * on both paths.
 */
import { ServiceBroker, type Middleware } from "moleculer";

type Call = (target: unknown, params?: unknown, opts?: { nodeID?: string }) => Promise<unknown>;

interface EndpointList {
  hasLocal(): boolean;
  localEndpoints: { isAvailable: boolean }[];
}

/**
 * Moleculer's call interceptor stamps the promise a `call` hook returns with the context of the
 * last call that went through `next` — shared by every call. A local call did not go through
 * `next`: its promise keeps its own context.
 */
function keepingContext(promise: Promise<unknown>): Promise<unknown> {
  const ctx = (promise as unknown as { ctx?: unknown }).ctx;
  Object.defineProperty(promise, "ctx", { get: () => ctx, set: () => undefined });
  return promise;
}

interface ActionEndpoint {
  local: boolean;
  action: { name: string };
}

export function localFirstMiddleware(): Middleware {
  let broker: ServiceBroker | null = null;
  return {
    name: "LocalFirst",
    created(created: ServiceBroker) {
      broker = created;
    },
    call(next: Call): Call {
      return (target, params, opts = {}) => {
        if (!broker?.options.disableBalancer) return next(target, params, opts);
        // moleculer-web hands over the endpoint Moleculer's registry picked, which may be a
        // node that died a moment ago: a remote one is called by its action's name instead,
        // so that NATS picks among the nodes still subscribed.
        let actionName = target;
        if (typeof target === "object" && target !== null) {
          const endpoint = target as ActionEndpoint;
          if (endpoint.local) return keepingContext(balanced(broker, endpoint, params, opts));
          actionName = endpoint.action.name;
        }
        if (typeof actionName === "string" && (!opts.nodeID || opts.nodeID === broker.nodeID)) {
          const list = broker.registry.getActionEndpoints(actionName) as unknown as
            EndpointList | undefined;
          if (list?.hasLocal() && list.localEndpoints.some((ep) => ep.isAvailable)) {
            return keepingContext(balanced(broker, actionName, params, opts));
          }
        }
        return next(actionName, params, opts);
      };
    },
  } as unknown as Middleware;
}

/** Moleculer's own call (its registry and strategy, `preferLocal`), without the call hooks. */
function balanced(
  broker: ServiceBroker,
  target: unknown,
  params: unknown,
  opts: object,
): Promise<unknown> {
  return (ServiceBroker.prototype.call as unknown as Call).call(broker, target, params, opts);
}
