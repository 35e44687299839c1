/**
 * api — the HTTP gateway (moleculer-web). Routes come from the services' `rest` declarations
 * (restrict mapping: nothing else, `$node.*` included, is reachable); tokens are resolved by the
 * users service; every error leaves through one mapper.
 */
import type { IncomingMessage, ServerResponse } from "http";
import type { Context, ServiceSchema } from "moleculer";
import ApiGateway from "moleculer-web";
import type { CampusConfig } from "../lib/config";
import { toHttpError, unauthorized } from "../lib/errors";
import { healthRoute } from "../lib/health";
import { restAliases } from "../lib/routes";
import coursesService from "./courses.service";
import notificationsService from "./notifications.service";
import studentsService from "./students.service";
import usersService from "./users.service";
import { acceptableRequestId, sanitizeRequest } from "../lib/http-input";
import { assertPermitted, type Identity, type Permission } from "../lib/permissions";
import { bearerToken } from "../lib/tokens";

const gatewayHttpHandler = (
  ApiGateway as unknown as {
    methods: { httpHandler(req: IncomingMessage, res: ServerResponse, next?: unknown): unknown };
  }
).methods.httpHandler;

type GatewayRequest = IncomingMessage & { $ctx?: Context };

/** Per-address budget of a route (moleculer-web's store counts per gateway process). */
function rateLimit(perMinute: number) {
  if (perMinute === 0) return undefined;
  return {
    window: 60 * 1000,
    limit: perMinute,
    headers: true,
    // The socket's address: a client-sent X-Forwarded-For must not buy a fresh budget.
    key: (req: IncomingMessage) => req.socket.remoteAddress ?? "unknown",
  };
}

/** The one error writer, for route errors and for everything before a route matched. */
function sendHttpError(
  this: { logger: Context["broker"]["logger"] },
  req: GatewayRequest,
  res: ServerResponse,
  err: Error,
) {
  const http = toHttpError(err);
  if (http.status >= 500) {
    this.logger.error(`${req.method} ${req.url} failed`, err);
  }
  if (res.headersSent) {
    res.end();
    return;
  }
  res.statusCode = http.status;
  res.setHeader("Content-Type", "application/json; charset=utf-8");
  for (const [name, value] of Object.entries(http.headers)) res.setHeader(name, value);
  res.end(JSON.stringify(http.body));
}

export default function apiService(config: CampusConfig): ServiceSchema {
  const jsonBody = { json: { strict: false, limit: config.bodyLimit }, urlencoded: false };
  return {
    name: "api",
    mixins: [ApiGateway as unknown as Partial<ServiceSchema>],
    settings: {
      port: config.port,
      ip: "0.0.0.0",
      logRequest: "debug",
      logResponse: "info",
      logRequestParams: null,
      logResponseData: null,
      log4XXResponses: false,
      onError: sendHttpError,
      routes: [
        healthRoute(),
        {
          path: "/api/auth",
          mappingPolicy: "restrict",
          aliases: { "POST login": "users.login", "POST register": "users.register" },
          bodyParsers: jsonBody,
          use: [sanitizeRequest],
          rateLimit: rateLimit(config.authRateLimitPerMinute),
          onError: sendHttpError,
        },
        {
          path: "/api",
          mappingPolicy: "restrict",
          aliases: restAliases(
            [studentsService, coursesService, usersService, notificationsService].map((service) =>
              service(config),
            ) as never,
          ),
          authentication: true,
          authorization: true,
          bodyParsers: jsonBody,
          use: [sanitizeRequest],
          rateLimit: rateLimit(config.rateLimitPerMinute),
          onError: sendHttpError,
        },
      ],
    },

    actions: {
      // The broker must never retry the HTTP handler itself: a retry would replay the whole
      // request (a write included) on a request object the first attempt already consumed.
      // Retries happen one level down, on the service calls, where they are safe.
      rest: { retryPolicy: { enabled: false } },
    },

    methods: {
      /** Bearer token → identity via the users service (which also knows disabled accounts). */
      /**
       * The action's declared roles, checked before its parameters are validated, so a caller
       * without the right token learns 401/403 rather than the shape of the input. The
       * permissions middleware checks again where the action runs.
       */
      authorize(
        ctx: Context<unknown, { user?: Identity | null }>,
        _route: unknown,
        req: IncomingMessage & { $action?: { permissions?: readonly Permission[] } },
      ): void {
        const permissions = req.$action?.permissions;
        if (permissions) assertPermitted(ctx.meta.user ?? undefined, permissions);
      },

      async authenticate(
        ctx: Context,
        _route: unknown,
        req: IncomingMessage,
      ): Promise<Identity | null> {
        const header = req.headers.authorization;
        if (!header) return null;
        const token = bearerToken(header);
        if (!token) throw unauthorized("Invalid or expired token", "INVALID_TOKEN");
        const identity: Identity | null = await ctx.call("users.resolveToken", { token });
        if (!identity) throw unauthorized("Invalid or expired token", "INVALID_TOKEN");
        return identity;
      },

      /** Accept a well-formed X-Request-ID (moleculer-web turns it into ctx.requestID), drop others. */
      httpHandler(req: IncomingMessage, res: ServerResponse, next?: unknown) {
        const requestId = acceptableRequestId(req.headers["x-request-id"]);
        delete req.headers["x-correlation-id"];
        if (requestId) req.headers["x-request-id"] = requestId;
        else delete req.headers["x-request-id"];
        return gatewayHttpHandler.call(this, req, res, next);
      },
    },
  } as ServiceSchema;
}
