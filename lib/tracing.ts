/**
 * Zipkin export of Moleculer spans (Jaeger's Zipkin collector takes the same payload). A span's
 * trace id is the request id, which a client may choose (X-Request-ID, e.g. `order-17`); Zipkin
 * accepts only hexadecimal ids and refuses a whole batch for one bad id. Ids that are not hex
 * are therefore hashed — the same on every node, so the trace stays whole — and the request id
 * itself stays readable in each span's `requestID` tag. The gateway's span names and URL tag
 * lose their query string (a search may hold an email).
 */
import { createHash } from "crypto";
import { TracerExporters } from "moleculer";

/** 16 hex characters: a UUID's first half (as Moleculer does), or a hash of anything else. */
export function zipkinId(id: string | null | undefined): string | null {
  if (!id) return null;
  const hex = id.replace(/-/g, "");
  if (/^[0-9a-fA-F]{16,}$/.test(hex)) return hex.slice(0, 16).toLowerCase();
  return createHash("sha256").update(id).digest("hex").slice(0, 16);
}

const withoutQuery = (value: unknown) =>
  typeof value === "string" ? value.replace(/\?.*$/, "") : value;

export class CampusZipkinExporter extends TracerExporters.Zipkin {
  override convertID(id: string): string {
    return zipkinId(id) as string;
  }

  override makePayload(
    span: Parameters<TracerExporters.Zipkin["makePayload"]>[0],
  ): ReturnType<TracerExporters.Zipkin["makePayload"]> {
    const payload = super.makePayload(span);
    payload.name = withoutQuery(payload.name) as string;
    for (const key of Object.keys(payload.tags)) {
      if (key.endsWith("req.url")) payload.tags[key] = withoutQuery(payload.tags[key]);
    }
    return payload;
  }
}
