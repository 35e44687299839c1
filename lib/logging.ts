/**
 * Structured logs that follow a request: every line written while an action or event handler
 * runs carries the request's id, the action and the caller's user id (never an email, a password
 * or a token). The scope is set by the request-scope middleware.
 */
import { AsyncLocalStorage } from "async_hooks";
import type { LoggerConfig, LogLevels } from "moleculer";
import { inspect } from "util";
import { BatchedConsoleLogger } from "./log-writer";

export interface RequestScope {
  requestID: string | null;
  action: string;
  userId: string | null;
}

export const requestScope = new AsyncLocalStorage<RequestScope>();

type Bindings = { nodeID: string; ns: string; mod: string; svc?: string };

/**
 * A line with structured fields beside its message, e.g. the gateway's access line:
 * `logger.info(new LogFields("GET /api/courses 200 12 ms", { status: 200 }))`. JSON lines carry
 * the fields as top-level keys; pretty lines show the message only.
 */
export class LogFields {
  constructor(
    readonly msg: string,
    readonly fields: Record<string, unknown>,
  ) {}
}

function message(args: unknown[]): string {
  if (args.length === 1 && args[0] instanceof LogFields) return args[0].msg;
  return args
    .map((arg) =>
      typeof arg === "string" ? arg : inspect(arg, { depth: 4, breakLength: Infinity }),
    )
    .join(" ");
}

export function jsonLine(level: string, args: unknown[], bindings: Bindings): string {
  const scope = requestScope.getStore();
  return JSON.stringify({
    time: new Date().toISOString(),
    level,
    nodeID: bindings.nodeID,
    module: bindings.svc ?? bindings.mod,
    requestID: scope?.requestID ?? undefined,
    action: scope?.action,
    userId: scope?.userId ?? undefined,
    msg: message(args),
    ...(args.length === 1 && args[0] instanceof LogFields ? args[0].fields : {}),
  });
}

export function prettyLine(level: string, args: unknown[], bindings: Bindings): string {
  const scope = requestScope.getStore();
  const request = scope?.requestID ? ` [${scope.requestID}]` : "";
  return `[${new Date().toISOString()}] ${level.toUpperCase().padEnd(5)} ${bindings.nodeID}/${(bindings.svc ?? bindings.mod).toUpperCase()}${request}: ${message(args)}`;
}

export function loggerConfig(level: string, format: "json" | "pretty"): LoggerConfig {
  const line = format === "json" ? jsonLine : prettyLine;
  // An instance: Moleculer takes a logger object as it is (see lib/log-writer.ts for why).
  return new BatchedConsoleLogger({
    level: level as LogLevels,
    formatter: ((type: string, args: unknown[], bindings: Bindings) => [
      line(type, args, bindings),
    ]) as never,
  }) as unknown as LoggerConfig;
}
