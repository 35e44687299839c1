/**
 * Domain errors (thrown by services) and the one mapping from any error to the HTTP error body of
 * the contract: `{name, message, code, type, data?}`. Nothing internal — stack, SQL, host, node or
 * action name, library name — ever leaves through `toHttpError`.
 */
import { Errors } from "moleculer";

const { MoleculerClientError, MoleculerError, ValidationError } = Errors;

export interface FieldError {
  field: string;
  message: string;
  type: string;
}

export const notFound = (what: string): Errors.MoleculerClientError =>
  new MoleculerClientError(`${what} not found`, 404, "NOT_FOUND");

/** 409; `data` (our own, e.g. the lessons in the way) is passed on to the client. */
export const conflict = (
  message: string,
  type: string,
  data?: Record<string, unknown>,
): Errors.MoleculerClientError => new MoleculerClientError(message, 409, type, data);

export const forbidden = (
  message = "You are not allowed to do this",
): Errors.MoleculerClientError => new MoleculerClientError(message, 403, "FORBIDDEN");

export const unauthorized = (
  message = "Authentication required",
  type = "UNAUTHORIZED",
): Errors.MoleculerClientError => new MoleculerClientError(message, 401, type);

export const tooManyRequests = (
  message: string,
  retryAfterSeconds: number,
): Errors.MoleculerClientError =>
  new MoleculerClientError(message, 429, "TOO_MANY_REQUESTS", { retryAfter: retryAfterSeconds });

export const uriTooLong = (maxLength: number): Errors.MoleculerClientError =>
  new MoleculerClientError(
    `The request URL is longer than ${maxLength} characters`,
    414,
    "URI_TOO_LONG",
  );

export const headersTooLarge = (): Errors.MoleculerClientError =>
  new MoleculerClientError("The request headers are too large", 431, "HEADERS_TOO_LARGE");

export const methodNotAllowed = (method: string): Errors.MoleculerClientError =>
  new MoleculerClientError(`${method} is not allowed on this path`, 405, "METHOD_NOT_ALLOWED");

export const malformedRequest = (): Errors.MoleculerClientError =>
  new MoleculerClientError("The request could not be parsed", 400, "MALFORMED_REQUEST");

/** 410: what was there is gone for good (an expired report's file). */
export const gone = (message: string, type: string): Errors.MoleculerClientError =>
  new MoleculerClientError(message, 410, type);

/** 422 for a well-formed request that cannot be served as asked (e.g. a report too large). */
export const unprocessable = (message: string, type: string): Errors.MoleculerClientError =>
  new MoleculerClientError(message, 422, type);

/**
 * 503: the database could not be reached or dropped the connection. Not retryable by the broker:
 * a write whose connection broke may or may not have committed, so the client (told Retry-After)
 * decides; reads fail over on their own.
 */
export const databaseUnavailable = (): Errors.MoleculerError =>
  new MoleculerError("The database is unavailable", 503, "DATABASE_UNAVAILABLE");

/** Node socket errors of a connection that could not be made or broke. */
const CONNECTION_ERRNOS = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "ENOTFOUND",
]);

/**
 * True when `err` says the database is out of reach, not that the statement was wrong: Sequelize's
 * connection errors (refused, timed out acquiring, host not found), PostgreSQL's connection
 * exceptions (SQLSTATE class 08) and shutdown codes (57P01-57P03), a socket error, or pg's
 * "Connection terminated" when the server went away mid-query.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  for (let e = err as Record<string, unknown> | undefined, depth = 0; e && depth < 3; depth += 1) {
    const name = typeof e.name === "string" ? e.name : "";
    const code = typeof e.code === "string" ? e.code : "";
    const message = typeof e.message === "string" ? e.message : "";
    if (
      /^Sequelize(Connection\w*|HostNotFound|HostNotReachable|InvalidConnection)Error$/.test(name)
    )
      return true;
    if (code.startsWith("08") || /^57P0[123]$/.test(code) || CONNECTION_ERRNOS.has(code))
      return true;
    if (
      /Connection terminated|connection is closed|Client has encountered a connection error/i.test(
        message,
      )
    )
      return true;
    e = (e.parent ?? e.original) as Record<string, unknown> | undefined;
  }
  return false;
}

export const invalid = (fields: FieldError[]): Errors.ValidationError =>
  new ValidationError("Validation failed", "VALIDATION_ERROR", fields);

export interface HttpError {
  status: number;
  headers: Record<string, string>;
  body: { name: string; message: string; code: number; type: string; data?: unknown };
}

const STATUS_NAMES: Record<number, string> = {
  400: "BadRequest",
  401: "Unauthorized",
  403: "Forbidden",
  404: "NotFound",
  405: "MethodNotAllowed",
  409: "Conflict",
  410: "Gone",
  413: "PayloadTooLarge",
  414: "URITooLong",
  415: "UnsupportedMediaType",
  422: "ValidationError",
  429: "TooManyRequests",
  431: "RequestHeaderFieldsTooLarge",
  500: "InternalServerError",
  503: "ServiceUnavailable",
};

/** Errors that mean "a service this request needs is not there right now": retry later. */
const UNAVAILABLE_TYPES = new Set([
  "SERVICE_NOT_FOUND",
  "SERVICE_NOT_AVAILABLE",
  "REQUEST_TIMEOUT",
  "REQUEST_SKIPPED",
  "REQUEST_REJECTED",
  "QUEUE_FULL",
  "BAD_GATEWAY",
  "DATABASE_UNAVAILABLE",
]);

/** moleculer-web and body-parser errors, renamed to the contract's UPPER_SNAKE types. */
const GATEWAY_TYPES: Record<string, { status: number; type: string; message: string }> = {
  "entity.parse.failed": { status: 400, type: "MALFORMED_JSON", message: "Malformed JSON body" },
  "entity.too.large": { status: 413, type: "PAYLOAD_TOO_LARGE", message: "Request body too large" },
  "encoding.unsupported": {
    status: 415,
    type: "UNSUPPORTED_ENCODING",
    message: "Unsupported content encoding",
  },
  "charset.unsupported": {
    status: 415,
    type: "UNSUPPORTED_CHARSET",
    message: "Unsupported charset",
  },
  NO_TOKEN: { status: 401, type: "UNAUTHORIZED", message: "Authentication required" },
  INVALID_TOKEN: { status: 401, type: "INVALID_TOKEN", message: "Invalid or expired token" },
  UNABLE_DECODE_PARAM: { status: 400, type: "BAD_REQUEST", message: "Malformed URL parameter" },
  ORIGIN_NOT_ALLOWED: { status: 403, type: "ORIGIN_NOT_ALLOWED", message: "Origin not allowed" },
  INVALID_REQUEST_BODY: { status: 400, type: "BAD_REQUEST", message: "Invalid request body" },
};

export const RETRY_AFTER_SECONDS = 5;

interface ErrorLike {
  name?: unknown;
  message?: unknown;
  code?: unknown;
  type?: unknown;
  data?: unknown;
  status?: unknown;
}

/** Keeps what a client may see of validation items: the field, why, and the rule. */
function publicFieldErrors(data: unknown): FieldError[] | undefined {
  if (!Array.isArray(data)) return undefined;
  return data.map((item: Record<string, unknown>) => ({
    field: String(item.field ?? ""),
    message: String(item.message ?? "is invalid"),
    type: String(item.type ?? "invalid"),
  }));
}

function body(status: number, type: string, message: string, data?: unknown): HttpError["body"] {
  const result: HttpError["body"] = {
    name: STATUS_NAMES[status] ?? (status >= 500 ? "InternalServerError" : "BadRequest"),
    message,
    code: status,
    type,
  };
  if (data !== undefined) result.data = data;
  return result;
}

export function toHttpError(err: unknown): HttpError {
  const e: ErrorLike = err && typeof err === "object" ? (err as ErrorLike) : {};
  const type = typeof e.type === "string" ? e.type : "";

  const gateway = GATEWAY_TYPES[type];
  if (gateway) {
    return {
      status: gateway.status,
      headers: {},
      body: body(gateway.status, gateway.type, gateway.message),
    };
  }

  // A corrupt gzip/deflate body: zlib's error code (Z_DATA_ERROR, …) reaches us in place of a status.
  if (typeof e.code === "string" && /^Z_[A-Z_]+$/.test(e.code)) {
    return {
      status: 400,
      headers: {},
      body: body(400, "MALFORMED_BODY", "The request body could not be decompressed"),
    };
  }

  const code = typeof e.code === "number" ? e.code : Number(e.status);
  if (UNAVAILABLE_TYPES.has(type) || code === 503 || code === 504) {
    return {
      status: 503,
      headers: { "Retry-After": String(RETRY_AFTER_SECONDS) },
      body: body(
        503,
        "SERVICE_UNAVAILABLE",
        "A service needed for this request is unavailable; retry later",
      ),
    };
  }

  // Only errors we raised on purpose (Moleculer client errors) keep their message and data.
  if (err instanceof MoleculerError && code >= 400 && code < 500) {
    const message = typeof e.message === "string" ? e.message : "Bad request";
    if (code === 404 && !type.startsWith("SERVICE_")) {
      return {
        status: 404,
        headers: {},
        body: body(404, type || "NOT_FOUND", type ? message : "Not found"),
      };
    }
    if (code === 422 && (err instanceof ValidationError || !type)) {
      return {
        status: 422,
        headers: {},
        body: body(422, "VALIDATION_ERROR", message, publicFieldErrors(e.data)),
      };
    }
    if (code === 429) {
      const retryAfter = Number((e.data as { retryAfter?: number } | undefined)?.retryAfter ?? 60);
      return {
        status: 429,
        headers: { "Retry-After": String(Math.max(1, Math.ceil(retryAfter))) },
        body: body(429, "TOO_MANY_REQUESTS", message),
      };
    }
    // A 409's data is what we put there (the records in the way); other data may be internal.
    const data = code === 409 && e.data && typeof e.data === "object" ? e.data : undefined;
    return { status: code, headers: {}, body: body(code, type || "BAD_REQUEST", message, data) };
  }

  // Routing 404 of moleculer-web (unknown route) arrives as NotFoundError with type NOT_FOUND.
  if (type === "NOT_FOUND")
    return { status: 404, headers: {}, body: body(404, "NOT_FOUND", "Not found") };

  return {
    status: 500,
    headers: {},
    body: body(500, "INTERNAL_ERROR", "Something went wrong on our side; it has been logged"),
  };
}
