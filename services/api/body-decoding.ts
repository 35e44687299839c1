/**
 * Request bodies decoded by the gateway itself, as a route middleware placed after the rate
 * limiter and only for a request that matched a route: a client over its budget, or asking for a
 * path that does not exist, costs no decompression or parsing. Every decoding failure (corrupt
 * gzip/deflate/brotli, an unknown encoding or charset, malformed JSON, a body over the limit) is a
 * 4xx in the contract's shape, logged at warn — never a 500.
 */
import type { IncomingMessage, ServerResponse } from "http";
import bodyParser from "body-parser";
import { Errors } from "moleculer";

type Next = (err?: unknown) => void;

/** The request as moleculer-web hands it to route middlewares. */
export type DecodableRequest = IncomingMessage & { parsedUrl?: string; body?: unknown };

/** What a body-parser failure becomes: status, contract type and message. */
export function bodyError(err: { type?: unknown; status?: unknown }): Errors.MoleculerClientError {
  const refuse = (message: string, status: number, type: string) =>
    new Errors.MoleculerClientError(message, status, type);
  switch (err.type) {
    case "entity.parse.failed":
      return refuse("Malformed JSON body", 400, "MALFORMED_JSON");
    case "entity.too.large":
      return refuse("Request body too large", 413, "PAYLOAD_TOO_LARGE");
    case "encoding.unsupported":
      return refuse("Unsupported content encoding", 415, "UNSUPPORTED_ENCODING");
    case "charset.unsupported":
      return refuse("Unsupported charset", 415, "UNSUPPORTED_CHARSET");
    default:
      // Corrupt compressed data, a length that does not match, an aborted upload …
      return refuse("The request body could not be decoded", 400, "MALFORMED_BODY");
  }
}

/** Methods whose body the API reads; a GET, HEAD or DELETE body is never decoded. */
const WRITES = new Set(["POST", "PUT", "PATCH"]);

export function bodyDecoder(options: {
  limit: number | string;
  /** Whether the request matched one of the route's aliases (method and path). */
  routed(req: DecodableRequest): boolean;
  warn(message: string): void;
}) {
  const json = bodyParser.json({ strict: false, limit: options.limit });
  return (req: DecodableRequest, res: ServerResponse, next: Next) => {
    if (!WRITES.has(req.method ?? "") || !options.routed(req)) return next();
    json(req, res, (err?: unknown) => {
      if (!err) return next();
      const refusal = bodyError(err as { type?: unknown });
      // Never the parser's message: it may quote the body (a password included).
      const encoding = String(req.headers["content-encoding"] ?? "identity").slice(0, 40);
      options.warn(`Request body refused: ${refusal.type} (content-encoding ${encoding})`);
      next(refusal);
    });
  };
}
