/**
 * The only place that reads the environment. Every other module receives values from here,
 * so the README's configuration table and this file describe the same knobs.
 */
import { randomBytes } from "crypto";

export const ALL_SERVICES = [
  "api",
  "students",
  "courses",
  "users",
  "notifications",
  "schedule",
  "assignments",
  "gradebook",
  "quizzes",
  "profiles",
  "reports",
] as const;
export type ServiceName = (typeof ALL_SERVICES)[number];

/** Services that own a database; each may get its own `<NAME>_DATABASE_URL`. */
export type DatabaseOwner = Exclude<ServiceName, "api">;
export const DATABASE_OWNERS = ALL_SERVICES.filter((name): name is DatabaseOwner => name !== "api");

/** The development administrator, documented in the README; refused in production. */
export const DEV_ADMIN_EMAIL = "admin@campus.local";
export const DEV_ADMIN_PASSWORD = "campus-admin-dev";

export type Balancer = "nats" | "moleculer";

/** `BALANCER`: `nats` only means something over a NATS transporter; elsewhere Moleculer balances. */
function parseBalancer(value: string | undefined, transporter: string | null): Balancer {
  const overNats = transporter?.startsWith("nats://") ?? false;
  const wanted = value?.trim() || (overNats ? "nats" : "moleculer");
  if (wanted !== "nats" && wanted !== "moleculer") {
    throw new ConfigError(`BALANCER must be "nats" or "moleculer", got "${wanted}"`);
  }
  if (wanted === "nats" && !overNats) {
    throw new ConfigError("BALANCER=nats needs a NATS transporter (TRANSPORTER=nats://…)");
  }
  return wanted;
}

export interface CampusConfig {
  nodeEnv: string;
  port: number;
  services: ServiceName[];
  transporter: string | null;
  /**
   * Who picks the node for a call: `nats` (NATS queue groups; the default over NATS, see the README's
   * fault tolerance) or `moleculer` (Moleculer's registry and RoundRobin strategy).
   */
  balancer: Balancer;
  cacher: CacherConfig;
  /** Seconds a node keeps other services' internal reads in its near cache; 0 turns it off. */
  nearCacheTtlSeconds: number;
  /** How packets are encoded on the transporter: every node of a cluster must agree. */
  serializer: Serializer;
  namespace: string;
  nodeID: string | null;
  databaseUrls: Record<DatabaseOwner, string | null>;
  /**
   * Where clients reach the API from outside (`PUBLIC_URL`, no trailing slash), for links the
   * API hands out (the calendar-feed URL); null: the URL is built from the request's Host.
   */
  publicUrl: string | null;
  /** Where the embedded database keeps its files; null keeps it in memory (`DATA_DIR=:memory:`). */
  dataDir: string | null;
  jwt: {
    secret: string;
    /** Earlier signing secrets still accepted for verification while their tokens live. */
    previousSecrets: string[];
    issuer: string;
    audience: string;
    expiresInSeconds: number;
  };
  http: { corsOrigins: string[]; trustedProxies: string[] };
  admin: { email: string; password: string };
  log: { level: string; format: "json" | "pretty" };
  tracing: TracingConfig;
  metricsPort: number;
  bodyLimit: string;
  rateLimitPerMinute: number;
  authRateLimitPerMinute: number;
  /** First delay of the per-account login backoff, doubled per further failure; 0 turns it off. */
  loginBackoffMs: number;
  requestTimeoutMs: number;
  shutdownTimeoutMs: number;
  reports: ReportsConfig;
}

/** The report workers (services/reports). */
export interface ReportsConfig {
  /** How long a worker's claim on a job holds without progress before another may take it. */
  leaseSeconds: number;
  /** How often each reports node looks for expired claims and expired files. */
  sweepSeconds: number;
  /** Test-only: a pause before each table row, so a test can stop a worker mid-report. */
  rowDelayMs: number;
}

/** A configuration mistake the operator must fix; the entry point prints it and exits 1. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

type Env = Record<string, string | undefined>;

function intFrom(
  env: Env,
  key: string,
  fallback: number,
  min = 0,
  max = Number.MAX_SAFE_INTEGER,
): number {
  const raw = env[key];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${key} must be an integer from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}

export function parseServices(raw: string | undefined): ServiceName[] {
  if (raw === undefined || raw.trim() === "") return [...ALL_SERVICES];
  const names = raw
    .split(",")
    .map((name) => name.trim())
    .filter(Boolean);
  const unknown = names.filter((name) => !(ALL_SERVICES as readonly string[]).includes(name));
  if (unknown.length > 0) {
    throw new ConfigError(
      `SERVICES has unknown service(s): ${unknown.join(", ")}; known: ${ALL_SERVICES.join(", ")}`,
    );
  }
  return [...new Set(names)] as ServiceName[];
}

/** A comma list from the environment, blanks dropped. */
function listFrom(raw: string | undefined): string[] {
  return (raw ?? "")
    .split(",")
    .map((item) => item.trim())
    .filter(Boolean);
}

/** Placeholders from our own examples and documentation: never a real secret. */
const KNOWN_PLACEHOLDER_SECRETS = ["changeme", "secret", "jwt-secret", "campus"];

function assertProductionSecret(secret: string): void {
  if (Buffer.byteLength(secret) < 32) {
    throw new ConfigError("JWT_SECRET must be at least 32 bytes in production");
  }
  const lowered = secret.toLowerCase();
  if (lowered.startsWith("change-me") || KNOWN_PLACEHOLDER_SECRETS.includes(lowered)) {
    throw new ConfigError(
      "JWT_SECRET is a placeholder; generate one (e.g. openssl rand -base64 48)",
    );
  }
}

export const SERIALIZERS = ["JSON", "Notepack"] as const;
export type Serializer = (typeof SERIALIZERS)[number];

/** `SERIALIZER`: `JSON` (default) or `Notepack` (MessagePack, binary), any letter case. */
export function parseSerializer(raw: string | undefined): Serializer {
  const value = raw?.trim() ?? "";
  if (value === "") return "JSON";
  const known = SERIALIZERS.find((name) => name.toLowerCase() === value.toLowerCase());
  if (!known) throw new ConfigError(`SERIALIZER must be JSON or Notepack, got "${value}"`);
  return known;
}

export type CacherConfig = { type: "memory" } | { type: "off" } | { type: "redis"; url: string };

/**
 * `CACHER`: unset or `memory` → per-node memory cache; `redis://…` → shared Redis; `off` → no
 * cacher and no near cache (every read reaches the database: the bench's uncached cases).
 */
export function parseCacher(raw: string | undefined): CacherConfig {
  const value = raw?.trim() ?? "";
  const lower = value.toLowerCase();
  if (value === "" || lower === "memory") return { type: "memory" };
  if (lower === "off") return { type: "off" };
  if (!/^rediss?:\/\//.test(value)) {
    throw new ConfigError(`CACHER must be "memory", "off" or a redis:// URL, got "${value}"`);
  }
  return { type: "redis", url: value };
}

/** The Redis URL, when the cache (and with it the rate-limit counters) is shared in Redis. */
export function redisUrl(config: Pick<CampusConfig, "cacher">): string | null {
  return config.cacher.type === "redis" ? config.cacher.url : null;
}

/** `PUBLIC_URL`: an http(s) origin (and optional path prefix), kept without a trailing slash. */
export function parsePublicUrl(raw: string | undefined): string | null {
  const value = raw?.trim() ?? "";
  if (value === "") return null;
  if (!/^https?:\/\/[^/]/.test(value)) {
    throw new ConfigError(`PUBLIC_URL must be an http(s):// URL, got "${value}"`);
  }
  return value.replace(/\/+$/, "");
}

export function loadConfig(env: Env = process.env): CampusConfig {
  const nodeEnv = env.NODE_ENV ?? "development";
  const production = nodeEnv === "production";
  const transporter = env.TRANSPORTER?.trim() || null;

  const jwtSecret = env.JWT_SECRET ?? "";
  if (!jwtSecret && (transporter || production)) {
    throw new ConfigError(
      "JWT_SECRET is required when TRANSPORTER is set or NODE_ENV=production " +
        "(every node must verify the same tokens)",
    );
  }

  if (production) assertProductionSecret(jwtSecret);
  const corsOrigins = listFrom(env.CORS_ORIGINS);
  if (production && corsOrigins.includes("*")) {
    throw new ConfigError("CORS_ORIGINS must list the allowed origins in production, not *");
  }

  const adminEmail = env.ADMIN_EMAIL ?? "";
  const adminPassword = env.ADMIN_PASSWORD ?? "";
  if (production && adminPassword === DEV_ADMIN_PASSWORD) {
    throw new ConfigError("ADMIN_PASSWORD must not be the development password in production");
  }
  if (production && (!adminEmail || !adminPassword)) {
    throw new ConfigError("ADMIN_EMAIL and ADMIN_PASSWORD are required when NODE_ENV=production");
  }

  const sharedUrl = env.DATABASE_URL?.trim() || null;
  const logFormat = env.LOG_FORMAT ?? (process.stdout.isTTY ? "pretty" : "json");
  if (logFormat !== "json" && logFormat !== "pretty") {
    throw new ConfigError(`LOG_FORMAT must be "json" or "pretty", got "${logFormat}"`);
  }

  return {
    nodeEnv,
    port: intFrom(env, "PORT", 3000, 0, 65535),
    services: parseServices(env.SERVICES),
    transporter,
    balancer: parseBalancer(env.BALANCER, transporter),
    cacher: parseCacher(env.CACHER),
    nearCacheTtlSeconds: intFrom(env, "NEAR_CACHE_TTL", 10, 0, 3600),
    serializer: parseSerializer(env.SERIALIZER),
    namespace: env.NAMESPACE ?? "campus",
    nodeID: env.NODE_ID?.trim() || null,
    databaseUrls: {
      students: env.STUDENTS_DATABASE_URL?.trim() || sharedUrl,
      courses: env.COURSES_DATABASE_URL?.trim() || sharedUrl,
      users: env.USERS_DATABASE_URL?.trim() || sharedUrl,
      notifications: env.NOTIFICATIONS_DATABASE_URL?.trim() || sharedUrl,
      schedule: env.SCHEDULE_DATABASE_URL?.trim() || sharedUrl,
      assignments: env.ASSIGNMENTS_DATABASE_URL?.trim() || sharedUrl,
      gradebook: env.GRADEBOOK_DATABASE_URL?.trim() || sharedUrl,
      quizzes: env.QUIZZES_DATABASE_URL?.trim() || sharedUrl,
      profiles: env.PROFILES_DATABASE_URL?.trim() || sharedUrl,
      reports: env.REPORTS_DATABASE_URL?.trim() || sharedUrl,
    },
    publicUrl: parsePublicUrl(env.PUBLIC_URL),
    dataDir: env.DATA_DIR === ":memory:" ? null : (env.DATA_DIR ?? "./data"),
    jwt: {
      // A random per-start secret keeps single-process development safe without setup;
      // tokens simply stop working after a restart.
      secret: jwtSecret || randomBytes(48).toString("base64url"),
      previousSecrets: listFrom(env.JWT_PREVIOUS_SECRETS),
      issuer: env.JWT_ISSUER ?? "campus",
      audience: env.JWT_AUDIENCE ?? "campus-api",
      expiresInSeconds: intFrom(env, "JWT_EXPIRES_IN", 3600, 60),
    },
    http: { corsOrigins, trustedProxies: listFrom(env.TRUST_PROXY) },
    admin: {
      email: (adminEmail || DEV_ADMIN_EMAIL).toLowerCase(),
      password: adminPassword || DEV_ADMIN_PASSWORD,
    },
    log: { level: env.LOG_LEVEL ?? "info", format: logFormat },
    tracing: parseTracing(env),
    metricsPort: intFrom(env, "METRICS_PORT", 3030, 0, 65535),
    bodyLimit: env.BODY_LIMIT ?? "100kb",
    rateLimitPerMinute: intFrom(env, "RATE_LIMIT_PER_MINUTE", 600),
    authRateLimitPerMinute: intFrom(env, "AUTH_RATE_LIMIT_PER_MINUTE", 20),
    loginBackoffMs: intFrom(env, "LOGIN_BACKOFF_MS", 1000, 0, 60000),
    requestTimeoutMs: intFrom(env, "REQUEST_TIMEOUT", 10000),
    shutdownTimeoutMs: intFrom(env, "SHUTDOWN_TIMEOUT", 10000),
    reports: {
      leaseSeconds: intFrom(env, "REPORTS_LEASE_SECONDS", 60, 1, 3600),
      sweepSeconds: intFrom(env, "REPORTS_SWEEP_SECONDS", 30, 1, 3600),
      rowDelayMs: intFrom(env, "REPORTS_ROW_DELAY_MS", 0, 0, 10000),
    },
  };
}

// ---- Tracing (observability) ----

/**
 * `TRACING_EXPORTER`: unset → tracing off; `console` → spans printed by each node; `zipkin` →
 * spans posted to `TRACING_ZIPKIN_URL` (a Zipkin server, or Jaeger's Zipkin collector port 9411).
 */
export interface TracingConfig {
  exporter: "console" | "zipkin" | null;
  zipkinUrl: string | null;
}

export function parseTracing(env: Env): TracingConfig {
  const exporter = env.TRACING_EXPORTER?.trim().toLowerCase() || null;
  const zipkinUrl = env.TRACING_ZIPKIN_URL?.trim() || null;
  if (exporter !== null && exporter !== "console" && exporter !== "zipkin") {
    throw new ConfigError(`TRACING_EXPORTER must be "console" or "zipkin", got "${exporter}"`);
  }
  if (exporter === "zipkin" && !zipkinUrl) {
    throw new ConfigError("TRACING_ZIPKIN_URL is required when TRACING_EXPORTER=zipkin");
  }
  if (zipkinUrl && !/^https?:\/\/[^/]/.test(zipkinUrl)) {
    throw new ConfigError(`TRACING_ZIPKIN_URL must be an http(s):// URL, got "${zipkinUrl}"`);
  }
  return { exporter, zipkinUrl: exporter === "zipkin" ? zipkinUrl : null };
}
