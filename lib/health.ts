/**
 * Liveness and readiness of a node. Ready means: the transporter (if any) is connected, every
 * local database answers, and every service the local services call has a live node.
 */
import type { IncomingMessage, ServerResponse } from "http";
import type { ServiceBroker } from "moleculer";
import { recordReadiness } from "./metrics";

/** Which services each service calls; a node is ready only when these are reachable. */
export const SERVICE_DEPENDENCIES: Record<string, string[]> = {
  // Not notifications: a gateway without it still serves everything else (its routes answer 503).
  api: ["students", "courses", "users"],
  students: ["courses"],
  courses: ["students"],
  users: ["students"],
  notifications: ["users"],
  // Every schedule request asks courses who the caller is to the course; feeds ask users.
  schedule: ["courses", "users"],
  assignments: ["courses", "gradebook"],
  gradebook: ["courses", "students"],
  // Who may do what with a quiz is the courses service's answer (`courses.access`).
  quizzes: ["courses"],
  // A profile's default name is the account's (`users.me`); awards resolve students to accounts.
  profiles: ["users"],
  // A request asks courses who the caller is; the workers' other calls fail softly (retried).
  reports: ["courses"],
};

const DATABASE_CHECK_TIMEOUT_MS = 2000;

export interface Readiness {
  status: "ready" | "not ready";
  checks: {
    transporter: boolean;
    databases: boolean;
    services: Record<string, boolean>;
  };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return Promise.race([
    promise,
    new Promise<T>((_, reject) => setTimeout(() => reject(new Error("timeout")), ms).unref()),
  ]);
}

export async function readiness(broker: ServiceBroker): Promise<Readiness> {
  const transit = (broker as unknown as { transit?: { connected: boolean } }).transit;
  const transporter = !transit || transit.connected;

  const local = broker.services as unknown as {
    name: string;
    checkDatabase?: () => Promise<void>;
  }[];
  const databaseChecks = local
    .filter((service) => typeof service.checkDatabase === "function")
    .map((service) => withTimeout(service.checkDatabase!(), DATABASE_CHECK_TIMEOUT_MS));
  const databases = (await Promise.allSettled(databaseChecks)).every(
    (r) => r.status === "fulfilled",
  );

  const needed = new Set(local.flatMap((service) => SERVICE_DEPENDENCIES[service.name] ?? []));
  const available = new Set(
    (broker.registry.getServiceList({ onlyAvailable: true }) as { name: string }[]).map(
      (s) => s.name,
    ),
  );
  const services: Record<string, boolean> = {};
  for (const name of needed) services[name] = available.has(name);
  const reachable = Object.values(services).every(Boolean);
  const ready = broker.started && transporter && databases && reachable;
  recordReadiness(broker, ready, { transporter, databases, services: reachable });
  return {
    status: ready ? "ready" : "not ready",
    checks: { transporter, databases, services },
  };
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, {
    "Content-Type": "application/json; charset=utf-8",
    "Cache-Control": "no-store",
  });
  res.end(JSON.stringify(body));
}

/** The `/health` route of moleculer-web, served by the gateway or by a node's health-only gateway. */
export function healthRoute() {
  return {
    path: "/health",
    mappingPolicy: "restrict" as const,
    bodyParsers: { json: false },
    logging: false,
    aliases: {
      "GET live"(_req: IncomingMessage, res: ServerResponse) {
        sendJson(res, 200, { status: "live" });
      },
      async "GET ready"(
        this: { broker: ServiceBroker },
        _req: IncomingMessage,
        res: ServerResponse,
      ) {
        const result = await readiness(this.broker);
        sendJson(res, result.status === "ready" ? 200 : 503, result);
      },
    },
  };
}

/**
 * The listener settings of every node's moleculer-web service (the gateway, or a node's
 * health-only one): PORT on every interface, and none of moleculer-web's own request logs.
 */
export function listenerSettings(port: number) {
  return { port, ip: "0.0.0.0", logRequest: null, logResponse: null };
}
