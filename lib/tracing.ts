/**
 * Tracing: database spans under the running action, durable-event handlers in the trace of the
 * request that caused them, and the Zipkin export.
 *
 * Zipkin export of Moleculer spans (Jaeger's Zipkin collector takes the same payload). A span's
 * trace id is the request id, which a client may choose (X-Request-ID, e.g. `order-17`); Zipkin
 * accepts only hexadecimal ids and refuses a whole batch for one bad id. Ids that are not hex
 * are therefore hashed — the same on every node, so the trace stays whole — and the request id
 * itself stays readable in each span's `requestID` tag. The gateway's span names and URL tag
 * lose their query string (a search may hold an email).
 */
import { AsyncLocalStorage } from "async_hooks";
import { createHash } from "crypto";
import {
  TracerExporters,
  type ActionHandler,
  type Context,
  type Middleware,
  type ServiceBroker,
} from "moleculer";

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

// ------------------------------------------------------------------------- database spans

/**
 * The context whose handler is running, so that a database call made anywhere below it (a
 * method, a Sequelize model, a raw query) knows which span it belongs to. Filled by
 * `traceScopeMiddleware` only when tracing is on.
 */
export const traceScope = new AsyncLocalStorage<Context>();

/** What a span may say about a statement: its operation and table — never its values. */
export interface SqlStatement {
  operation: string;
  table: string | null;
}

const OPERATIONS = new Set([
  "SELECT",
  "INSERT",
  "UPDATE",
  "DELETE",
  "WITH",
  "BEGIN",
  "COMMIT",
  "ROLLBACK",
  "SAVEPOINT",
  "RELEASE",
  "SET",
  "CREATE",
  "ALTER",
  "DROP",
]);
const IDENTIFIER = String.raw`(?:"[^"]+"|[A-Za-z_][A-Za-z0-9_$]*)`;
const QUALIFIED_NAME = new RegExp(String.raw`^(${IDENTIFIER}(?:\s*\.\s*${IDENTIFIER})?)`);
/** Where the statement's table is named, by operation (the first match wins). */
const TABLE_AFTER: Record<string, RegExp> = {
  SELECT: /\bFROM\s+(?!\()/i,
  INSERT: /\bINTO\s+/i,
  UPDATE: /^UPDATE\s+(?:ONLY\s+)?/i,
  DELETE: /\bFROM\s+(?:ONLY\s+)?/i,
  WITH: /\b(?:INTO|UPDATE|FROM)\s+(?!\()/i,
};

/**
 * The operation (first keyword; `START TRANSACTION` is BEGIN, anything unexpected OTHER) and the
 * table (`schema.table`, unquoted) of a SQL statement. Only identifiers are read: a literal or a
 * bound value can never end up in a span.
 */
export function describeSql(sql: string): SqlStatement {
  const text = sql
    .replace(/--[^\n]*/g, " ")
    .replace(/\/\*[\s\S]*?\*\//g, " ")
    .trim();
  const keyword = (/^[A-Za-z]+/.exec(text)?.[0] ?? "").toUpperCase();
  const operation = keyword === "START" ? "BEGIN" : OPERATIONS.has(keyword) ? keyword : "OTHER";
  const marker = TABLE_AFTER[operation]?.exec(text);
  if (!marker) return { operation, table: null };
  const name = QUALIFIED_NAME.exec(text.slice(marker.index + marker[0].length))?.[1];
  return { operation, table: name ? name.replace(/"/g, "").replace(/\s+/g, "") : null };
}

/**
 * What a failed database span records: the error's class and SQLSTATE. A driver message may
 * quote the offending value (`invalid input syntax for type uuid: "…"`), so it is left out.
 */
export function databaseSpanError(err: unknown): Error {
  const name = (err as Error | undefined)?.name ?? "Error";
  const code =
    (err as { parent?: { code?: string } }).parent?.code ?? (err as { code?: string }).code;
  const safe = new Error(code ? `${name} (SQLSTATE ${code})` : name);
  safe.name = name;
  if (code) (safe as Error & { code: string }).code = code;
  return safe;
}

type QueryFunction = (sql: unknown, options?: unknown) => Promise<unknown>;

/**
 * Makes every statement of a Sequelize instance — model methods, transactions and raw queries
 * all go through `sequelize.query` — a child span of the span running in `traceScope`. Install
 * it only where tracing is on; a query made outside any traced context runs untouched.
 */
export function traceQueries(sequelize: { query: QueryFunction }, nodeID: string): void {
  const query = sequelize.query.bind(sequelize) as QueryFunction;
  sequelize.query = function tracedQuery(sql: unknown, options?: unknown) {
    const ctx = traceScope.getStore();
    const parent = ctx?.tracing ? ctx.span : null;
    if (!parent) return query(sql, options);
    const text = typeof sql === "string" ? sql : ((sql as { query?: string })?.query ?? "");
    const { operation, table } = describeSql(text);
    const span = parent.startSpan(`db ${operation}${table ? ` ${table}` : ""}`, {
      type: "db",
      tags: {
        db: { system: "postgresql", operation, table },
        nodeID,
        requestID: ctx!.requestID,
      },
    });
    return query(sql, options).then(
      (result) => {
        span.finish();
        return result;
      },
      (err: unknown) => {
        span.setError(databaseSpanError(err));
        span.finish();
        throw err;
      },
    );
  } as QueryFunction;
}

/** `prefix.enrollment.created` → `enrollment.created` (the channel adapter adds the namespace). */
function channelName(name: string, namespace: string): string {
  return namespace && name.startsWith(`${namespace}.`) ? name.slice(namespace.length + 1) : name;
}

/**
 * Broker middleware (a no-op unless tracing is on): keeps the running context in `traceScope`
 * around every local action, event and channel handler, and gives each durable-event (channel)
 * handler its span. The span continues the trace the message carries (`$requestID`, `$parentID`,
 * `$tracing` headers: the request that recorded the event), so a request's trace holds the
 * handlers of the events it caused. @moleculer/channels' own tracing middleware would do the
 * latter without a service name on the span; this one names the consumer group's service.
 */
export function traceScopeMiddleware(): Middleware & Record<string, unknown> {
  let enabled = false;
  let namespace = "";
  let nodeID = "";
  const scoped = (next: (ctx: Context, ...rest: unknown[]) => unknown) =>
    function (this: unknown, ctx: Context, ...rest: unknown[]) {
      return traceScope.run(ctx, () => next.call(this, ctx, ...rest));
    };
  return {
    name: "TraceScope",
    created(broker: ServiceBroker) {
      enabled = broker.isTracingEnabled();
      namespace = broker.namespace;
      nodeID = broker.nodeID;
    },
    localAction(next: ActionHandler) {
      return enabled ? (scoped(next as never) as ActionHandler) : next;
    },
    localEvent(next: Parameters<NonNullable<Middleware["localEvent"]>>[0]) {
      return enabled ? (scoped(next as never) as typeof next) : next;
    },
    localChannel(
      next: (ctx: Context, raw?: unknown) => Promise<unknown>,
      chan: { name: string; group: string; context?: boolean },
    ) {
      if (!enabled || !chan.context) return next;
      const name = channelName(chan.name, namespace);
      return function (this: unknown, ctx: Context, raw?: unknown) {
        const span = ctx.startSpan(`channel '${name}'`, {
          id: ctx.id,
          type: "channel",
          traceID: ctx.requestID,
          parentID: ctx.parentID,
          service: chan.group,
          sampled: ctx.tracing,
          tags: {
            channel: { name, group: chan.group },
            callingLevel: ctx.level,
            nodeID,
            requestID: ctx.requestID,
          },
        });
        ctx.tracing = span.sampled;
        return traceScope
          .run(ctx, () => next.call(this, ctx, raw))
          .then(
            (result) => {
              ctx.finishSpan(span);
              return result;
            },
            (err: Error) => {
              span.setError(err);
              ctx.finishSpan(span);
              throw err;
            },
          );
      };
    },
  };
}
