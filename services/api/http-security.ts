/**
 * HTTP-level protections of the gateway: who the client is (socket address unless the request
 * came through a trusted proxy), the security headers every response carries, and CORS.
 */
import type { IncomingMessage, ServerResponse } from "http";

/** Headers on every response; `/docs` adds its own Content-Security-Policy. */
export const SECURITY_HEADERS: Record<string, string> = {
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "X-Frame-Options": "DENY",
  "Cross-Origin-Resource-Policy": "same-origin",
  "Cache-Control": "no-store",
};

export function applySecurityHeaders(res: ServerResponse): void {
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
  res.removeHeader("X-Powered-By");
}

function normalize(address: string): string {
  return address.startsWith("::ffff:") ? address.slice(7) : address;
}

/**
 * The client's address for rate limiting and logs. `X-Forwarded-For` is believed only when the
 * socket peer is one of `trustedProxies`; then the right-most address not itself a trusted proxy
 * is the client (entries further left are whatever the client chose to send).
 */
export function clientAddress(req: IncomingMessage, trustedProxies: readonly string[]): string {
  const peer = normalize(req.socket.remoteAddress ?? "unknown");
  if (!trustedProxies.includes(peer)) return peer;
  const header = req.headers["x-forwarded-for"];
  const chain = (Array.isArray(header) ? header.join(",") : (header ?? ""))
    .split(",")
    .map((part) => normalize(part.trim()))
    .filter(Boolean);
  for (let i = chain.length - 1; i >= 0; i -= 1) {
    if (!trustedProxies.includes(chain[i])) return chain[i];
  }
  return peer;
}

/** moleculer-web `cors` settings for an allowlist; none at all when the list is empty. */
export function corsSettings(origins: readonly string[]) {
  if (origins.length === 0) return undefined;
  return {
    origin: [...origins],
    methods: ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
    allowedHeaders: ["Authorization", "Content-Type", "X-Request-ID"],
    exposedHeaders: [
      "X-Request-ID",
      "Retry-After",
      "RateLimit-Limit",
      "RateLimit-Remaining",
      "RateLimit-Reset",
      "Location",
    ],
    credentials: !origins.includes("*"),
    maxAge: 600,
  };
}
