/**
 * HTTP method handling the gateway adds in front of moleculer-web: a known path asked with a
 * method it does not serve answers 405 with `Allow` (moleculer-web would say 404), `HEAD` is
 * answered like `GET` without a body, and `OPTIONS` (other than a CORS preflight) answers 204
 * with `Allow`.
 */
import type { IncomingMessage } from "http";

/** The methods a gateway route can serve, in the order `Allow` lists them. */
const ROUTABLE_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"] as const;

/** The part of moleculer-web's gateway these functions use. */
export interface AliasResolver {
  resolveAlias(url: string, method?: string): unknown;
}

/** The request's path as moleculer-web matches it: no query string, no trailing slash. */
export function requestPath(url: string | undefined): string {
  const path = (url ?? "/").split("?")[0];
  return path.length > 1 && path.endsWith("/") ? path.slice(0, -1) : path;
}

function resolves(gateway: AliasResolver, path: string, method: string): boolean {
  try {
    return Boolean(gateway.resolveAlias(path, method));
  } catch {
    return false; // a path parameter that does not decode: moleculer-web answers it (400)
  }
}

/**
 * The `Allow` list of a path (HEAD with GET, OPTIONS always), or an empty list when no route
 * has the path at all (then the answer is 404, whatever the method).
 */
export function allowedMethods(gateway: AliasResolver, path: string): string[] {
  const served = ROUTABLE_METHODS.filter((method) => resolves(gateway, path, method));
  if (served.length === 0) return [];
  const allow: string[] = [];
  for (const method of served) {
    allow.push(method);
    if (method === "GET") allow.push("HEAD");
  }
  return [...allow, "OPTIONS"];
}

/** What the gateway does with a request before moleculer-web routes it. */
export type MethodDecision =
  { kind: "route" } | { kind: "options"; allow: string } | { kind: "notAllowed"; allow: string };

/**
 * Decides 405/OPTIONS for a request. A `HEAD` request is routed as `GET` (its method is changed
 * on the request; Node already keeps the body out of a HEAD answer). A CORS preflight is left to
 * moleculer-web's CORS handling when CORS is configured.
 */
export function decideMethod(
  gateway: AliasResolver,
  req: IncomingMessage,
  corsEnabled: boolean,
): MethodDecision {
  if (req.method === "HEAD") req.method = "GET";
  const method = req.method ?? "GET";
  const preflight =
    method === "OPTIONS" &&
    corsEnabled &&
    req.headers["access-control-request-method"] !== undefined;
  if (preflight) return { kind: "route" };
  const path = requestPath(req.url);
  if (method !== "OPTIONS" && resolves(gateway, path, method)) return { kind: "route" };
  const allow = allowedMethods(gateway, path);
  if (allow.length === 0) return { kind: "route" }; // unknown path: moleculer-web's 404
  return method === "OPTIONS"
    ? { kind: "options", allow: allow.join(", ") }
    : { kind: "notAllowed", allow: allow.join(", ") };
}
