/**
 * The broker configuration of every Campus node — the only one. Values come from `lib/config.ts`
 * (the environment); the README explains each fault-tolerance number.
 */
import type { BrokerOptions, Errors, Middleware } from "moleculer";
import { RetryBudget } from "./lib/fault-tolerance";
import { Middleware as ChannelsMiddleware } from "@moleculer/channels";
import type { CacherConfig, CampusConfig, TracingConfig } from "./lib/config";
import { channelsAdapter } from "./lib/domain-events";
import { DomainStreamsMiddleware } from "./mixins/domain-events.mixin";
import { loggerConfig } from "./lib/logging";
import { ResilientRedisCacher } from "./lib/resilient-redis-cacher";
import { BoundedMemoryCacher } from "./lib/memory-cacher";
import { CampusZipkinExporter, traceScopeMiddleware } from "./lib/tracing";
import { createPermissionsMiddleware } from "./middlewares/permissions.middleware";
import { trustKeys } from "./lib/service-trust";
import RequestScopeMiddleware from "./middlewares/request-scope.middleware";
import { metricsMiddleware } from "./middlewares/metrics.middleware";
import { HOST_IDENTITY_METRICS } from "./lib/metrics";
import { createNearCacheMiddleware } from "./middlewares/near-cache.middleware";
import { localFirstMiddleware } from "./middlewares/local-first.middleware";
import { writeKeyMiddleware } from "./lib/write-key";
import { INTERNAL_MIDDLEWARES } from "./middlewares/request-metrics.middleware";

/** Worth retrying: the callee's node vanished or timed out, not "the client asked wrongly". */
function isRetryable(err: Error): boolean {
  return Boolean((err as Errors.MoleculerRetryableError).retryable);
}

/** Counts this node's calls for its retry budget (lib/fault-tolerance.ts). */
function retryBudgetMiddleware(budget: RetryBudget): Middleware {
  return {
    name: "RetryBudget",
    call(next: (...args: unknown[]) => Promise<unknown>) {
      return (...args: unknown[]) => {
        budget.recordCall();
        return next(...args);
      };
    },
  } as unknown as Middleware;
}

/**
 * Moleculer tracing, off unless TRACING_EXPORTER names an exporter. Spans carry names, nodes,
 * timings and error types — never action parameters or meta (a login's password, a token, the
 * caller's identity).
 */
function tracingOptions(tracing: TracingConfig): BrokerOptions["tracing"] {
  if (!tracing.exporter) return { enabled: false };
  return {
    enabled: true,
    exporter:
      tracing.exporter === "zipkin"
        ? // An exporter instance; the option's typings list only the built-in names.
          (new CampusZipkinExporter({
            baseURL: tracing.zipkinUrl ?? undefined,
            interval: 1,
          }) as never)
        : { type: "Console", options: { colors: false } },
    events: true,
    tags: { action: { params: false, meta: false }, event: { params: false, meta: false } },
    errorFields: ["name", "message", "code", "type"],
  };
}

/** Cache entries live 5 minutes at most, a bound on staleness if a clean is ever missed. */
const CACHE_TTL_SECONDS = 300;

function cacherOption(cacher: CacherConfig): BrokerOptions["cacher"] {
  if (cacher.type === "off") return undefined;
  if (cacher.type === "redis") return new ResilientRedisCacher(cacher.url, CACHE_TTL_SECONDS);
  return new BoundedMemoryCacher(CACHE_TTL_SECONDS);
}

export function brokerOptions(config: CampusConfig): BrokerOptions {
  const retryBudget = new RetryBudget();
  return {
    namespace: config.namespace,
    nodeID: config.nodeID ?? undefined,
    // A URL string such as nats://host:4222; Moleculer picks the transporter from the scheme.
    transporter: (config.transporter ?? undefined) as BrokerOptions["transporter"],
    serializer: config.serializer,
    cacher: cacherOption(config.cacher),

    logger: loggerConfig(config.log.level, config.log.format),

    // Fault tolerance (README "Fault tolerance"): over NATS, NATS queue groups pick the node of
    // each call — a node whose connection is gone (killed) has no subscription left, so no call
    // reaches it — and Moleculer's registry only says whether a service exists. Each attempt
    // is bounded (the actions' timeouts, lib/fault-tolerance.ts); reads and exactly-once writes
    // are retried, other writes never.
    disableBalancer: config.balancer === "nats",
    requestTimeout: config.requestTimeoutMs,
    retryPolicy: {
      enabled: true,
      retries: 3,
      delay: 100,
      maxDelay: 1000,
      factor: 2,
      // Retryable, and within the node's retry budget (no retry storm after an outage).
      check: (err: Error) => isRetryable(err) && retryBudget.allowRetry(),
    },
    // The breaker steers Moleculer's balancer away from failing endpoints; with NATS balancing
    // it would count failures against an endpoint that did not serve the call: off there.
    circuitBreaker: {
      enabled: config.balancer === "moleculer",
      threshold: 0.5,
      minRequestCount: 20,
      windowTime: 60,
      halfOpenTime: 10 * 1000,
      check: isRetryable,
    },
    bulkhead: { enabled: true, concurrency: 100, maxQueueSize: 1000 },
    registry: { strategy: "RoundRobin", preferLocal: true },
    heartbeatInterval: 2,
    heartbeatTimeout: 6,
    tracking: { enabled: true, shutdownTimeout: config.shutdownTimeoutMs },

    metrics: {
      enabled: true,
      // Process and OS series (memory, CPU) in every environment; Moleculer skips them under
      // NODE_ENV=test, which the cluster tests run with.
      collectProcessMetrics: true,
      reporter: {
        type: "Prometheus",
        options: {
          port: config.metricsPort,
          path: "/metrics",
          // Nothing that identifies the host or its user (docs/SECURITY.md, "Security round 2").
          excludes: [...HOST_IDENTITY_METRICS],
        },
      },
    },
    tracing: tracingOptions(config.tracing),

    validator: true,
    internalMiddlewares: false,
    middlewares: [
      // First, so its call hook is the innermost: a call to this node's own action stays here.
      localFirstMiddleware(),
      // Every call chain gets the write key that makes retried writes run once.
      writeKeyMiddleware(),
      retryBudgetMiddleware(retryBudget),
      RequestScopeMiddleware,
      createPermissionsMiddleware(trustKeys(config.jwt.secret, config.jwt.previousSecrets)),
      // Durable domain events; typings target Moleculer 0.14, hence the cast.
      ChannelsMiddleware({ adapter: channelsAdapter(config), context: true } as never) as never,
      DomainStreamsMiddleware,
      metricsMiddleware(),
      // Tracing on: database spans and durable-event handler spans (a no-op when off).
      traceScopeMiddleware(),
      // Last, so it runs first: a near-cache hit costs no signature, context or hop.
      createNearCacheMiddleware(config.nearCacheTtlSeconds * 1000),
      ...INTERNAL_MIDDLEWARES,
    ],
  };
}
