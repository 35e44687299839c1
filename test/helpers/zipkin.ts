/**
 * A Zipkin collector just big enough for tests and reports: it accepts `POST /api/v2/spans` (what
 * Moleculer's Zipkin exporter sends, and what Jaeger's Zipkin port accepts) and keeps the spans.
 * It refuses, like Zipkin, a batch with a non-hexadecimal trace or span id.
 */
import { createServer, type Server } from "http";
import type { AddressInfo } from "net";

export interface ZipkinSpan {
  traceId: string;
  id: string;
  parentId?: string | null;
  name: string;
  timestamp: number;
  duration: number;
  localEndpoint?: { serviceName?: string | null };
  tags: Record<string, string>;
}

export interface ZipkinCollector {
  url: string;
  spans: ZipkinSpan[];
  /** Batches refused for an invalid id (should stay 0). */
  refused: number;
  stop(): Promise<void>;
}

const HEX_ID = /^[0-9a-f]{16}([0-9a-f]{16})?$/;

export async function startZipkinCollector(): Promise<ZipkinCollector> {
  const collector = { spans: [] as ZipkinSpan[], refused: 0 } as ZipkinCollector;
  const server: Server = createServer((req, res) => {
    if (req.method !== "POST" || req.url !== "/api/v2/spans") {
      res.writeHead(404).end();
      return;
    }
    let body = "";
    req.on("data", (chunk) => (body += chunk));
    req.on("end", () => {
      let batch: ZipkinSpan[];
      try {
        batch = JSON.parse(body);
      } catch {
        res.writeHead(400).end();
        return;
      }
      const valid = batch.every(
        (span) =>
          HEX_ID.test(span.traceId) &&
          HEX_ID.test(span.id) &&
          (span.parentId == null || HEX_ID.test(span.parentId)),
      );
      if (!valid) {
        collector.refused += 1;
        res.writeHead(400).end();
        return;
      }
      collector.spans.push(...batch);
      res.writeHead(202).end();
    });
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  collector.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  collector.stop = () => new Promise<void>((done) => server.close(() => done()));
  return collector;
}
