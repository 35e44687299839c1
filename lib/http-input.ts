/**
 * What the gateway accepts of a request before it reaches an action: keys that could reach an
 * object's prototype are dropped, each request contributes one source of parameters (query
 * for reads, body for writes) so a query string cannot override a body field, a write's JSON
 * body must be an object, and no text may carry what PostgreSQL cannot store as sent.
 */
import { STATUS_CODES } from "http";
import { headersTooLarge, invalid, malformedRequest, toHttpError, type FieldError } from "./errors";

/** The longest request target (path and query string) the gateway reads; longer answers 414. */
export const MAX_URL_LENGTH = 2048;

/**
 * The raw answer to a request Node's HTTP parser refused before the gateway saw it (headers over
 * Node's 16 KiB limit, a malformed request line): the contract's error body, then the connection
 * closes — instead of Node's bare status line.
 */
export function clientErrorResponse(err: { code?: string }): string {
  const http = toHttpError(
    err.code === "HPE_HEADER_OVERFLOW" ? headersTooLarge() : malformedRequest(),
  );
  const body = JSON.stringify(http.body);
  return (
    `HTTP/1.1 ${http.status} ${STATUS_CODES[http.status]}\r\n` +
    "Content-Type: application/json; charset=utf-8\r\n" +
    `Content-Length: ${Buffer.byteLength(body)}\r\n` +
    "Connection: close\r\n\r\n" +
    body
  );
}

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

// NUL (PostgreSQL text cannot hold it) and UTF-16 halves without their pair (not encodable as
// UTF-8): stored, either would come back as something other than what the client sent.
// eslint-disable-next-line no-control-regex -- NUL is exactly what this looks for
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** One 422 item per string value (at any depth) that contains NUL or a lone surrogate. */
export function unstorableText(value: unknown, field = ""): FieldError[] {
  if (typeof value === "string") {
    return UNSTORABLE.test(value)
      ? [
          {
            field: field || "body",
            message: "must not contain NUL or unpaired surrogate characters",
            type: "stringCharacters",
          },
        ]
      : [];
  }
  if (value === null || typeof value !== "object") return [];
  return Object.entries(value).flatMap(([key, item]) =>
    unstorableText(
      item,
      Array.isArray(value) ? `${field}[${key}]` : field ? `${field}.${key}` : key,
    ),
  );
}

/**
 * Parameters sent as `null` whose rule does not say `nullable: true`. fastest-validator lets null
 * through every `optional` rule, and an action would then write it (NOT NULL → 500) or trip on it.
 */
export function unexpectedNulls(
  params: Record<string, unknown>,
  rules: Record<string, unknown> | undefined,
): FieldError[] {
  return Object.entries(rules ?? {})
    .filter(
      ([name, rule]) =>
        !name.startsWith("$$") &&
        params[name] === null &&
        typeof rule === "object" &&
        rule !== null &&
        !Array.isArray(rule) &&
        (rule as { nullable?: unknown }).nullable !== true,
    )
    .map(([name]) => ({ field: name, message: "must not be null", type: "nullable" }));
}

const PLAIN_INTEGER = /^-?\d+$/;
const PLAIN_DECIMAL = /^-?\d+(\.\d+)?$/;

/**
 * Numbers sent as text (query strings) that are not plain decimal: fastest-validator's `convert`
 * uses `Number()`, which reads `0x10` as 16, `1e2` as 100 and ` 5` as 5. One 422 item each.
 */
export function nonDecimalNumbers(
  params: Record<string, unknown>,
  rules: Record<string, unknown> | undefined,
): FieldError[] {
  return Object.entries(rules ?? {})
    .filter(([name, rule]) => {
      const value = params[name];
      if (typeof value !== "string" || typeof rule !== "object" || rule === null) return false;
      const { type, integer } = rule as { type?: unknown; integer?: unknown };
      if (type !== "number") return false;
      return !(integer === true ? PLAIN_INTEGER : PLAIN_DECIMAL).test(value);
    })
    .map(([name]) => ({
      field: name,
      message: "must be a plain decimal number",
      type: "numberDecimal",
    }));
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
export function sanitizeRequest(
  req: MutableRequest,
  _res: unknown,
  next: (err?: Error) => void,
): void {
  const reads = req.method === "GET" || req.method === "HEAD" || req.method === "DELETE";
  const body = req.body === undefined ? {} : req.body;
  if (!reads && (typeof body !== "object" || body === null || Array.isArray(body))) {
    // `[…]`, `"…"`, `1` or `null` where an object is expected: not silently read as `{}`.
    next(invalid([{ field: "body", message: "must be a JSON object", type: "object" }]));
    return;
  }
  req.body = reads ? {} : withoutPrototypeKeys(body);
  req.query = reads ? (withoutPrototypeKeys(req.query ?? {}) as Record<string, unknown>) : {};
  const problems = unstorableText(reads ? req.query : req.body);
  if (problems.length > 0) {
    next(invalid(problems));
    return;
  }
  next();
}
