/**
 * What the gateway records about each HTTP request: one access line (method, route template,
 * status, duration, request id, user id — never a URL, a token, an email or a password), the
 * `campus_http_*` series, and `campus_rate_limited_total` for 429 answers. The route is always the
 * alias template (`/api/students/:id`), so ids never become labels or log fields.
 */
import type { IncomingMessage, ServerResponse } from "http";
import type { ServiceBroker } from "moleculer";
import { LogFields, requestScope } from "../../lib/logging";
import { countRateLimited, recordHttpRequest } from "../../lib/metrics";

interface Alias {
  fullPath?: string;
  action?: string | null;
  route?: { logging?: boolean };
}

export type ObservedRequest = IncomingMessage & {
  $ctx?: { requestID?: string | null; meta?: { user?: { id?: string } | null } };
  $route?: { logging?: boolean };
  $alias?: Alias;
  parsedUrl?: string;
  originalUrl?: string;
};

/** The gateway service as these functions use it (moleculer-web's `resolveAlias` included). */
export interface ObservedGateway {
  broker: ServiceBroker;
  logger: ServiceBroker["logger"];
  resolveAlias?(url: string, method?: string): { alias: Alias } | undefined | null;
}

/** The label of a request that matched no route: one value, whatever the URL was. */
export const UNMATCHED_ROUTE = "unmatched";

/** The matched alias; resolved again when the request stopped before moleculer-web set it. */
function aliasOf(gateway: ObservedGateway, req: ObservedRequest): Alias | null {
  if (req.$alias) return req.$alias;
  if (typeof gateway.resolveAlias !== "function") return null;
  let url = req.parsedUrl ?? (req.originalUrl ?? req.url ?? "/").split("?")[0];
  if (url.length > 1 && url.endsWith("/")) url = url.slice(0, -1);
  try {
    return gateway.resolveAlias(url, req.method)?.alias ?? null;
  } catch {
    return null; // a parameter that does not decode (`%E0%A4`): the route answered 400 anyway
  }
}

/** `/api/students/:id`, `unmatched`, or null for routes that are not logged (`/health/*`). */
export function routeTemplate(gateway: ObservedGateway, req: ObservedRequest): string | null {
  const alias = aliasOf(gateway, req);
  if (req.$route?.logging === false || alias?.route?.logging === false) return null;
  return alias?.fullPath ?? UNMATCHED_ROUTE;
}

/** Counts a 429 answer under its route template (called by the gateway's error writer). */
export function countRateLimitedRequest(gateway: ObservedGateway, req: ObservedRequest): void {
  const route = routeTemplate(gateway, req);
  if (route) countRateLimited(gateway.broker, route);
}

/**
 * The level at which the gateway logs an error answer: a 503 (a service it needs is down or its
 * circuit is open; the client is told to retry) is expected in an outage and logged at warn, any
 * other 5xx is a fault and logged at error; below 500 the access line is enough (null).
 */
export function errorLogLevel(status: number): "error" | "warn" | null {
  if (status === 503) return "warn";
  return status >= 500 ? "error" : null;
}

/** Status of a response that was closed before it finished (nginx's "client closed request"). */
export const CLIENT_CLOSED = 499;

/**
 * Watches one request: when its response finishes (or the connection closes first) it writes
 * the access line and records the HTTP series, once. Routes with `logging: false` are skipped.
 */
export function observeHttpRequest(
  gateway: ObservedGateway,
  req: ObservedRequest,
  res: ServerResponse,
): void {
  const started = process.hrtime.bigint();
  // As the client sent it (the gateway answers HEAD as GET).
  const method = req.method ?? "GET";
  let recorded = false;
  const record = () => {
    if (recorded) return;
    recorded = true;
    try {
      write();
    } catch (err) {
      // Observing a request must never break the process that answered it.
      gateway.logger.warn("Access log or HTTP metrics failed:", (err as Error).message);
    }
  };
  const write = () => {
    const route = routeTemplate(gateway, req);
    if (!route) return;
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const status = res.writableFinished ? res.statusCode : CLIENT_CLOSED;
    recordHttpRequest(gateway.broker, { method, route, status, seconds });

    const header = res.getHeader("X-Request-ID");
    const requestID = req.$ctx?.requestID ?? (typeof header === "string" ? header : null);
    const userId = req.$ctx?.meta?.user?.id ?? null;
    const durationMs = Math.round(seconds * 10000) / 10;
    const action = req.$alias?.action ?? "http";
    requestScope.run({ requestID, action, userId }, () =>
      gateway.logger.info(
        new LogFields(`${method} ${route} ${status} ${durationMs} ms`, {
          method,
          route,
          status,
          durationMs,
        }),
      ),
    );
  };
  res.once("finish", record);
  res.once("close", record);
}
