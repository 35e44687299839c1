/**
 * What the gateway accepts of a request before it reaches an action: keys that could reach an
 * object's prototype are dropped, and each request contributes one source of parameters (query
 * for reads, body for writes) so a query string cannot override a body field.
 */
const FORBIDDEN_KEYS = new Set(["__proto__", "constructor", "prototype"]);
const MAX_DEPTH = 20;

/** A copy of parsed JSON without `__proto__`/`constructor`/`prototype` keys at any depth. */
export function withoutPrototypeKeys(value: unknown, depth = 0): unknown {
  if (value === null || typeof value !== "object") return value;
  // Deeper than any Campus body: dropped rather than passed on unchecked.
  if (depth > MAX_DEPTH) return null;
  if (Array.isArray(value)) return value.map((item) => withoutPrototypeKeys(item, depth + 1));
  const clean: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    if (!FORBIDDEN_KEYS.has(key)) clean[key] = withoutPrototypeKeys(item, depth + 1);
  }
  return clean;
}

/** Request ids we echo and log: short and printable, or we generate our own. */
export function acceptableRequestId(value: string | string[] | undefined): string | undefined {
  if (typeof value !== "string") return undefined;
  return /^[A-Za-z0-9._:-]{1,128}$/.test(value) ? value : undefined;
}

interface MutableRequest {
  method?: string;
  body?: unknown;
  query?: Record<string, unknown>;
}

/** moleculer-web route middleware (connect style). */
export function sanitizeRequest(req: MutableRequest, _res: unknown, next: () => void): void {
  const reads = req.method === "GET" || req.method === "HEAD" || req.method === "DELETE";
  req.body = reads ? {} : withoutPrototypeKeys(req.body ?? {});
  req.query = reads ? (withoutPrototypeKeys(req.query ?? {}) as Record<string, unknown>) : {};
  next();
}
