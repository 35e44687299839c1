/**
 * Publishing and consuming durable domain events. A publisher records an event with
 * `recordEvent(ctx, transaction, name, payload)` inside the transaction of its change (the
 * transactional outbox, lib/outbox.ts); the relay here publishes it on @moleculer/channels after
 * the commit. Consumers declare `channels: { "student.deleted": durableConsumer(handler) }`.
 * The outbox keeps the request id, caller and trace position of the change: the message carries
 * them, so a handler logs under the request's id and, with tracing on, its span (opened by
 * `traceScopeMiddleware`, lib/tracing.ts) sits in the request's trace under a `publish` span.
 */
import type { Context, ServiceSchema } from "moleculer";
// Types only: every node loads this module (moleculer.config.ts), a gateway-only node no database code.
import type { QueryTypes, Transaction } from "sequelize";
import {
  DOMAIN_EVENTS,
  envelope,
  type DomainEventEnvelope,
  type DomainEventName,
} from "../lib/domain-events";
import { requestScope } from "../lib/logging";
import { observeEventLag } from "../lib/metrics";
import { traceScope } from "../lib/tracing";
import {
  claimOutboxSql,
  insertOutboxSql,
  OUTBOX_BATCH,
  outboxMeta,
  splitOutboxMeta,
  type OutboxRow,
} from "../lib/outbox";
import type { DbServiceThis } from "./db.mixin";

/** How often the relay looks for events that an earlier pass could not publish. */
const RELAY_INTERVAL_MS = 1000;
export const PUBLISH_FAILURES_METRIC = "campus_events_publish_failures_total";

interface ChannelAdapter {
  addPrefixTopic(name: string): string;
  createStream?(name: string, subjects: string[], options: object): Promise<unknown>;
}

type ChannelBroker = {
  channelAdapter?: ChannelAdapter;
  sendToChannel(name: string, payload: object, opts?: { ctx?: object }): Promise<void>;
};

export interface DomainEventsThis {
  recordEvent(
    ctx: Context,
    transaction: Transaction,
    name: DomainEventName,
    payload: object,
  ): Promise<void>;
  relayEvents(): Promise<void>;
}

type RelayThis = DbServiceThis &
  DomainEventsThis & {
    name: string;
    broker: Context["broker"];
    logger: Context["broker"]["logger"];
    relayTimer?: NodeJS.Timeout;
    relaying?: Promise<void> | null;
    relayAgain?: boolean;
  };

/** What a channel consumer receives: the event's payload and (when it was enveloped) its envelope. */
export type EventContext<T> = Context<T & Partial<DomainEventEnvelope>>;

/** A channel consumer run inside the request's log scope (its id travels with the message). */
export function durableConsumer<TThis, TParams>(
  handler: (this: TThis, ctx: Context<TParams>) => Promise<void>,
) {
  return {
    context: true,
    handler(this: TThis, ctx: Context<TParams, { user?: { id: string } | null }>) {
      observeEventLag(this as never, ctx.params as { occurredAt?: string });
      // The consumer's own calls are made by this service (and signed as such).
      (ctx as unknown as { service: TThis }).service = this;
      return requestScope.run(
        { requestID: ctx.requestID ?? null, action: "channel", userId: ctx.meta.user?.id ?? null },
        () => handler.call(this, ctx),
      );
    },
  };
}

/**
 * Broker middleware: JetStream refuses a publish to a stream that no consumer created yet, so
 * every node creates the streams of all domain events once its channel adapter is connected.
 */
export const DomainStreamsMiddleware = {
  name: "DomainStreams",
  async started(broker: unknown) {
    const adapter = (broker as ChannelBroker).channelAdapter;
    if (!adapter?.createStream) return;
    for (const name of DOMAIN_EVENTS) {
      const subject = adapter.addPrefixTopic(name);
      await adapter.createStream(subject.split(".").join("_"), [subject], {});
    }
  },
};

/** An outbox row's values for one event of this request (the replacements of `insertOutboxSql`). */
export interface OutboxRecord {
  id: string;
  name: DomainEventName;
  payload: string;
  requestId: string | null;
  meta: string;
}

/**
 * The outbox row of one event recorded by `ctx`: the event with its id and time, the request id,
 * the caller, and the span that records it (which becomes the parent of its publish and handlers).
 * For a service that writes its change and its events in one statement; `recordEvent` uses it too.
 */
export function outboxRecord(ctx: Context, name: DomainEventName, payload: object): OutboxRecord {
  const event = envelope(payload);
  return {
    id: event.eventId,
    name,
    payload: JSON.stringify(event),
    requestId: ctx.requestID ?? null,
    meta: JSON.stringify(
      outboxMeta(
        (ctx.meta as { user?: unknown }).user,
        ctx.span ? { parentID: ctx.span.id, tracing: Boolean(ctx.tracing) } : null,
      ),
    ),
  };
}

// Typed loosely: its handlers need the DB mixin's members on `this`, which ServiceSchema cannot express.
export const DomainEventsMixin = {
  methods: {
    async recordEvent(
      this: RelayThis,
      ctx: Context,
      transaction: Transaction,
      name: DomainEventName,
      payload: object,
    ): Promise<void> {
      await this.sequelize.query(insertOutboxSql(this.name), {
        replacements: { ...outboxRecord(ctx, name, payload) },
        transaction,
      });
      // Publish as soon as the change is committed; the timer catches anything missed. The pass
      // is the relay's work, not this action's: its statements are no spans of the request.
      transaction.afterCommit(() => {
        traceScope.exit(() => void this.relayEvents());
      });
    },

    /** Publishes pending events in order; one pass at a time per node, repeated while busy. */
    relayEvents(this: RelayThis): Promise<void> {
      if (this.relaying) {
        this.relayAgain = true;
        return this.relaying;
      }
      const pass = async () => {
        do {
          this.relayAgain = false;
          const published = await relayBatch(this);
          if (published === OUTBOX_BATCH) this.relayAgain = true;
        } while (this.relayAgain);
      };
      this.relaying = pass()
        .catch((err: Error) =>
          this.logger.warn("Event relay pass failed; retrying soon:", err.message),
        )
        .finally(() => {
          this.relaying = null;
        });
      return this.relaying;
    },
  },

  created(this: RelayThis) {
    if (!this.broker.isMetricsEnabled()) return;
    if (!this.broker.metrics.getMetric(PUBLISH_FAILURES_METRIC)) {
      this.broker.metrics.register({
        type: "counter",
        name: PUBLISH_FAILURES_METRIC,
        labelNames: ["event"],
        description: "Domain events whose publish failed (they stay in the outbox and are retried)",
      });
    }
    // Every event starts at 0, so the failure rate has data before the first failure.
    for (const event of DOMAIN_EVENTS)
      this.broker.metrics.increment(PUBLISH_FAILURES_METRIC, { event }, 0);
  },

  started(this: RelayThis) {
    this.relayTimer = setInterval(() => void this.relayEvents(), RELAY_INTERVAL_MS);
    this.relayTimer.unref();
  },

  async stopped(this: RelayThis) {
    if (this.relayTimer) clearInterval(this.relayTimer);
    await this.relaying;
  },
} as unknown as Partial<ServiceSchema>;

/** Deletes the outbox rows whose events the broker took, in one statement. */
async function deletePublished(service: RelayThis, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  await service.sequelize.query(`DELETE FROM "${service.name}".outbox WHERE id IN (:ids)`, {
    replacements: { ids },
  });
}

/**
 * One claimed batch: publish each event in order, then delete the published ones together (one
 * statement per batch, not per event). A process that dies in between leaves them claimed: they
 * are published again once the claim expires, which consumers already take as a redelivery.
 */
async function relayBatch(service: RelayThis): Promise<number> {
  const broker = service.broker as unknown as ChannelBroker & { started: boolean };
  if (!broker.started) return 0;
  const rows = await service.sequelize.query<OutboxRow>(claimOutboxSql(service.name), {
    type: "SELECT" as QueryTypes.SELECT,
  });
  rows.sort((a, b) => Number(a.seq) - Number(b.seq));
  const published: string[] = [];
  for (const [index, row] of rows.entries()) {
    const { meta, trace } = splitOutboxMeta(row.meta);
    const requestID = row.request_id ?? row.id;
    // With tracing on, the publish is a span of the recording request's trace (its start shows
    // the outbox delay), and the handlers' spans its children.
    const span =
      trace?.tracing && service.broker.isTracingEnabled()
        ? service.broker.tracer.startSpan(`publish '${row.name}'`, {
            type: "publish",
            traceID: requestID,
            parentID: trace.parentID,
            sampled: true,
            service: service.name,
            tags: { event: row.name, nodeID: service.broker.nodeID, requestID },
          })
        : null;
    try {
      // The message carries the request id, trace and caller of the change, as a direct publish would.
      const origin = {
        id: span?.id ?? trace?.parentID ?? row.id,
        requestID,
        tracing: trace?.tracing ?? false,
        level: 1,
        service: { fullName: service.name },
        meta,
      };
      await broker.sendToChannel(row.name, row.payload, { ctx: origin });
      span?.finish();
      published.push(row.id);
    } catch (err) {
      if (span?.isActive()) span.setError(err as Error).finish();
      service.broker.metrics.increment(PUBLISH_FAILURES_METRIC, { event: row.name });
      service.logger.warn(
        `Publishing ${row.name} failed; it stays in the outbox:`,
        (err as Error).message,
      );
      await deletePublished(service, published);
      // Release this and the later rows of the batch so the next pass retries them in order.
      const unpublished = rows.slice(index).map((r) => r.id);
      await service.sequelize.query(
        `UPDATE "${service.name}".outbox SET claimed_at = NULL WHERE id IN (:ids)`,
        { replacements: { ids: unpublished } },
      );
      return 0;
    }
  }
  await deletePublished(service, published);
  return rows.length;
}
