/**
 * api — the HTTP gateway (moleculer-web). Routes come from the services' static route tables
 * (restrict mapping: nothing else, `$node.*` included, is reachable); tokens are resolved by the
 * users service; every error leaves through one mapper.
 */
import type { IncomingMessage, Server, ServerResponse } from "http";
import type { Duplex } from "stream";
import type { Context, Service, ServiceSchema } from "moleculer";
import ApiGateway from "moleculer-web";
import { redisUrl, type CampusConfig } from "../../lib/config";
import { docsRoutes } from "./docs-route";
import { invalid, methodNotAllowed, toHttpError, unauthorized, uriTooLong } from "../../lib/errors";
import { decideMethod, requestPath, type AliasResolver } from "./method-routing";
import { bodyDecoder, type DecodableRequest } from "./body-decoding";
import { healthRoute, listenerSettings } from "../../lib/health";
import {
  countRateLimitedRequest,
  errorLogLevel,
  observeHttpRequest,
  type ObservedGateway,
} from "./http-observability";
import { openApiDocument } from "./openapi";
import { restAliases } from "../../lib/routes";
import { assignmentsRoutes } from "../assignments/assignments.routes";
import { coursesRoutes } from "../courses/courses.routes";
import { gradebookRoutes } from "../gradebook/gradebook.routes";
import { notificationsRoutes } from "../notifications/notifications.routes";
import { scheduleRoutes } from "../schedule/schedule.routes";
import { studentsRoutes } from "../students/students.routes";
import { usersRoutes } from "../users/users.routes";
import { quizzesRoutes } from "../quizzes/quizzes.routes";
import { profilesRoutes } from "../profiles/profiles.routes";
import { reportsRoutes } from "../reports/reports.routes";
import {
  acceptableRequestId,
  clientErrorResponse,
  MAX_URL_LENGTH,
  nonDecimalNumbers,
  sanitizeRequest,
} from "../../lib/http-input";
import { VOUCHED_IDENTITY } from "../../middlewares/permissions.middleware";
import { LiveSockets } from "./live";
import { countLiveMessage, setLiveConnections } from "../../lib/metrics";
import { CACHE_CLEAN_EVENT } from "../../mixins/cache-cleaner.mixin";
import { applySecurityHeaders, clientAddress, corsSettings } from "./http-security";
import {
  MemoryCounterStore,
  RateLimiter,
  rateLimitHeaders,
  RedisCounterStore,
  type Budget,
  type CounterStore,
} from "./rate-limit";
import { assertPermitted, type Identity, type Permission } from "../../lib/permissions";
import { bearerToken, identityFor, verifyAccessToken, type AccountState } from "../../lib/tokens";
import { isUuid, lowerCaseIds } from "../../lib/ids";

const gatewayHttpHandler = (
  ApiGateway as unknown as {
    methods: { httpHandler(req: IncomingMessage, res: ServerResponse, next?: unknown): unknown };
  }
).methods.httpHandler;

type GatewayRequest = IncomingMessage & { $ctx?: Context };

type Next = (err?: unknown) => void;

/**
 * Ids in one form (lower case) before any action sees them: path, query and body parameters
 * alike, so a cache key, a cache clean and a comparison never differ by the case of an id.
 */
function normaliseIds(_ctx: Context, _route: unknown, req: { $params?: Record<string, unknown> }) {
  if (req.$params) Object.assign(req.$params, lowerCaseIds(req.$params));
}

/** Ids normalised, and what the client accepts, for actions that answer in more than one format (CSV). */
function normaliseIdsAndAccept(
  ctx: Context,
  route: unknown,
  req: IncomingMessage & { $params?: Record<string, unknown> },
) {
  normaliseIds(ctx, route, req);
  const accept = req.headers.accept;
  if (typeof accept === "string") (ctx.meta as { accept?: string }).accept = accept.slice(0, 512);
}

/**
 * The /api/auth calls also carry the client's address (as the rate limiter sees it): the login
 * slow-down lets an address that logged in to an account before past others' failures.
 */
function withClientAddress(trustedProxies: readonly string[]) {
  return (
    ctx: Context,
    route: unknown,
    req: GatewayRequest & { $params?: Record<string, unknown> },
  ) => {
    normaliseIds(ctx, route, req);
    (ctx.meta as Record<string, unknown>).clientAddress = clientAddress(req, trustedProxies);
  };
}

/** Route middleware charging the client's budget; 429 with Retry-After once it is spent. */
function budgetMiddleware(limiter: RateLimiter | null, trustedProxies: readonly string[]) {
  return (req: IncomingMessage, res: ServerResponse, next: Next) => {
    if (!limiter) return next();
    const showBudget = (budget: Budget) => {
      for (const [name, value] of Object.entries(rateLimitHeaders(budget)))
        res.setHeader(name, value);
    };
    limiter.consume(clientAddress(req, trustedProxies)).then(
      (budget) => {
        if (budget) showBudget(budget);
        next();
      },
      (refusal: { data?: { retryAfter?: number } }) => {
        // The 429 shows the spent budget too; its Retry-After is the window's reset.
        const resetSeconds = refusal.data?.retryAfter;
        if (resetSeconds !== undefined)
          showBudget({ limit: limiter.limit, remaining: 0, resetSeconds });
        next(refusal);
      },
    );
  };
}

/** The one error writer, for route errors and for everything before a route matched. */
function sendHttpError(
  this: ObservedGateway,
  req: GatewayRequest,
  res: ServerResponse,
  err: Error,
) {
  const http = toHttpError(err);
  if (http.status === 429) countRateLimitedRequest(this, req);
  const level = errorLogLevel(http.status);
  if (level) this.logger[level](`${req.method} ${req.url} failed`, err);
  if (res.headersSent) {
    res.end();
    return;
  }
  res.statusCode = http.status;
  res.setHeader("Content-Type", "application/json; charset=utf-8");
  for (const [name, value] of Object.entries(http.headers)) res.setHeader(name, value);
  res.end(JSON.stringify(http.body));
}

/** The routes under /api/auth that are not a service's `rest` declaration. */
const AUTH_ALIASES = { "POST login": "users.login", "POST register": "users.register" };

export default function apiService(config: CampusConfig): ServiceSchema {
  // The published services' static route tables (no service is built here): the gateway's
  // aliases and the OpenAPI document both come from them, so the documentation cannot drift.
  const published = [
    studentsRoutes,
    coursesRoutes,
    usersRoutes,
    notificationsRoutes,
    scheduleRoutes,
    assignmentsRoutes,
    gradebookRoutes,
    quizzesRoutes,
    profilesRoutes,
    reportsRoutes,
  ];
  const apiAliases = restAliases(published);
  const document = openApiDocument(
    [
      { path: "/api/auth", aliases: AUTH_ALIASES },
      { path: "/api", aliases: apiAliases },
    ],
    published,
  );
  // Shared by every gateway pod through Redis when there is one; per process otherwise.
  const redis = redisUrl(config);
  const counters: CounterStore = redis
    ? new RedisCounterStore(redis, `${config.namespace}:ratelimit`)
    : new MemoryCounterStore();
  let logger: { warn(...args: unknown[]): void } = console;
  const warn = (message: string) => logger.warn(message);
  let gateway: AliasResolver | null = null;
  let live: LiveSockets | null = null;
  // Bodies are decoded by the route's own middleware, after its rate limiter, and only for a
  // request that matched an alias (moleculer-web's body parsers would run before both).
  const decodeBody = bodyDecoder({
    limit: config.bodyLimit,
    routed: (req: DecodableRequest) =>
      Boolean(gateway?.resolveAlias(requestPath(req.parsedUrl ?? req.url), req.method)),
    warn,
  });
  const limiter = (name: string, perMinute: number) =>
    perMinute === 0 ? null : new RateLimiter(counters, name, perMinute, warn);
  const trusted = config.http.trustedProxies;
  const corsEnabled = config.http.corsOrigins.length > 0;
  // Paths are case-sensitive (contract): `/API/USERS` is no route.
  const pathToRegexpOptions = { sensitive: true };
  return {
    name: "api",
    mixins: [ApiGateway as unknown as Partial<ServiceSchema>],
    settings: {
      // One access line per request instead (http-observability.ts, from httpHandler).
      ...listenerSettings(config.port),
      logRequestParams: null,
      logResponseData: null,
      log4XXResponses: false,
      onError: sendHttpError,
      cors: corsSettings(config.http.corsOrigins),
      routes: [
        healthRoute(),
        ...docsRoutes(document),
        {
          path: "/api/auth",
          mappingPolicy: "restrict",
          pathToRegexpOptions,
          aliases: AUTH_ALIASES,
          bodyParsers: false,
          use: [
            budgetMiddleware(limiter("auth", config.authRateLimitPerMinute), trusted),
            decodeBody,
            sanitizeRequest,
          ],
          onBeforeCall: withClientAddress(trusted),
          onError: sendHttpError,
        },
        {
          path: "/api",
          mappingPolicy: "restrict",
          pathToRegexpOptions,
          aliases: apiAliases,
          authentication: true,
          authorization: true,
          bodyParsers: false,
          use: [
            budgetMiddleware(limiter("api", config.rateLimitPerMinute), trusted),
            decodeBody,
            sanitizeRequest,
          ],
          onBeforeCall: normaliseIdsAndAccept,
          onError: sendHttpError,
        },
      ],
    },

    actions: {
      // The broker must never retry the HTTP handler itself: a retry would replay the whole
      // request (a write included) on a request object the first attempt already consumed.
      // Retries happen one level down, on the service calls, where they are safe. Nor does the
      // handler get a circuit breaker: it is this node's own endpoint, and an open breaker on it
      // would refuse every HTTP request the gateway receives; each service call below has its
      // own breaker (and the wrapper cost a share of every request's CPU in the bench profile).
      rest: { retryPolicy: { enabled: false }, circuitBreaker: { enabled: false } },
    },

    methods: {
      /**
       * The action's declared roles, checked before its parameters are validated, so a caller
       * without the right token learns 401/403 rather than the shape of the input. The
       * permissions middleware checks again where the action runs.
       */
      authorize(
        ctx: Context<unknown, { user?: Identity | null }>,
        _route: unknown,
        req: IncomingMessage & {
          $action?: { permissions?: readonly Permission[]; params?: Record<string, unknown> };
          $params?: Record<string, unknown>;
        },
      ): void {
        const permissions = req.$action?.permissions;
        if (permissions) assertPermitted(ctx.meta.user ?? undefined, permissions);
        // Numbers sent as text (query strings) only in plain decimal: `0x10`, `1e2` → 422.
        const problems = nonDecimalNumbers(req.$params ?? {}, req.$action?.params);
        if (problems.length > 0) throw invalid(problems);
      },

      /**
       * Bearer token → identity: the signature and claims checked here, the account's state
       * (disabled, token version) from `users.account`, which this node keeps in its near cache
       * until a change to that account cleans it.
       */
      async authenticate(
        ctx: Context,
        _route: unknown,
        req: IncomingMessage,
      ): Promise<Identity | null> {
        const header = req.headers.authorization;
        if (!header) return null;
        const token = bearerToken(header);
        if (!token) throw unauthorized("Invalid or expired token", "INVALID_TOKEN");
        const claims = verifyAccessToken(token, config.jwt);
        if (!claims || !isUuid(claims.sub)) {
          throw unauthorized("Invalid or expired token", "INVALID_TOKEN");
        }
        const account: AccountState | null = await ctx.call("users.account", { id: claims.sub });
        const identity = identityFor(claims, account);
        if (!identity) throw unauthorized("Invalid or expired token", "INVALID_TOKEN");
        // Services believe this identity only with the gateway's mark, which becomes a signature
        // if the call leaves this process (zero trust on the bus; permissions.middleware.ts).
        (ctx.meta as Record<symbol, unknown>)[VOUCHED_IDENTITY] = identity;
        return identity;
      },

      /**
       * moleculer-web logs every 5xx at error here before answering; the one error writer
       * (sendHttpError) already logs at the right level (a 503 — busy, or a service down — at
       * warn), so this only answers.
       */
      errorHandler(req: IncomingMessage, res: ServerResponse, err: Error) {
        (this as unknown as { sendError(...args: unknown[]): void }).sendError(req, res, err);
      },

      /** Accept a well-formed X-Request-ID (moleculer-web turns it into ctx.requestID), drop others. */
      httpHandler(req: IncomingMessage, res: ServerResponse, next?: unknown) {
        const requestId = acceptableRequestId(req.headers["x-request-id"]);
        delete req.headers["x-correlation-id"];
        if (requestId) req.headers["x-request-id"] = requestId;
        else delete req.headers["x-request-id"];
        applySecurityHeaders(res);
        observeHttpRequest(this as unknown as ObservedGateway, req, res);
        if ((req.url?.length ?? 0) > MAX_URL_LENGTH) {
          const observed = this as unknown as ObservedGateway;
          return sendHttpError.call(observed, req, res, uriTooLong(MAX_URL_LENGTH));
        }
        const method = req.method ?? "GET";
        const decision = decideMethod(this as unknown as AliasResolver, req, corsEnabled);
        if (decision.kind !== "route") {
          res.setHeader("Allow", decision.allow);
          if (decision.kind === "options") {
            res.statusCode = 204;
            return res.end();
          }
          const observed = this as unknown as ObservedGateway;
          return sendHttpError.call(observed, req, res, methodNotAllowed(method));
        }
        return gatewayHttpHandler.call(this, req, res, next);
      },
    },

    created(this: { logger: typeof logger }) {
      logger = this.logger;
      gateway = this as unknown as AliasResolver;
    },

    events: {
      /** A new notification, from whichever node made it: to this gateway's sockets of its user. */
      "notifications.created"(
        ctx: Context<{
          notifications: { userId: string }[];
          unread?: { userId: string; count: number }[];
        }>,
      ) {
        for (const notification of ctx.params.notifications ?? [])
          live?.push(notification.userId, { type: "notification", notification });
        for (const { userId, count } of ctx.params.unread ?? [])
          live?.push(userId, { type: "unread", count });
      },
      /** A user's unread count changed (read on any node, HTTP or socket). */
      "notifications.unread"(ctx: Context<{ counts: { userId: string; count: number }[] }>) {
        for (const { userId, count } of ctx.params.counts ?? [])
          live?.push(userId, { type: "unread", count });
      },
      /** An account changed (disabled, deleted, password): its sockets are checked again at once. */
      [CACHE_CLEAN_EVENT](ctx: Context<{ patterns: string[] }>) {
        for (const pattern of ctx.params.patterns ?? []) {
          const match = /^users\.account:"([0-9a-f-]{36})"$/.exec(pattern);
          if (match) void live?.recheck(match[1]);
        }
      },
    },

    started(this: Service) {
      // Socket messages arrive outside any request: calls are made from a context of this
      // service, so the callee sees a service's call (zero trust on the bus).
      const serviceContext = (): Context => {
        const ctx = this.broker.ContextFactory.create(this.broker, null as never, {}, {});
        (ctx as unknown as { service: Service }).service = this;
        return ctx;
      };
      const identityOf = async (token: string): Promise<Identity | null> => {
        const claims = verifyAccessToken(token, config.jwt);
        if (!claims || !isUuid(claims.sub)) return null;
        const account: AccountState | null = await serviceContext().call("users.account", {
          id: claims.sub,
        });
        return identityFor(claims, account);
      };
      live = new LiveSockets((this as unknown as { server: Server }).server, {
        authenticate: identityOf,
        async markRead(token, id) {
          const user = await identityOf(token);
          if (!user) throw new Error("The token is no longer valid");
          await serviceContext().call(
            "notifications.markRead",
            { id },
            {
              meta: { user, [VOUCHED_IDENTITY]: user },
            },
          );
        },
        logger,
        metrics: {
          connections: (count) => setLiveConnections(this.broker, count),
          message: (direction) => countLiveMessage(this.broker, direction),
        },
      });
      // Requests Node's parser refuses never reach a route: answer them in the contract's shape.
      const server = (this as unknown as { server: Server }).server;
      server.on("clientError", (err: Error & { code?: string }, socket: Duplex) => {
        if (err.code === "ECONNRESET" || !socket.writable) {
          socket.destroy();
          return;
        }
        socket.end(clientErrorResponse(err));
      });
    },

    async stopped() {
      await live?.close();
      live = null;
      return counters.close();
    },
  } as ServiceSchema;
}
