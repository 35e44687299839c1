/**
 * Transactional outbox: a service writes its domain events into its own database in the same
 * transaction as the change they describe, and a relay publishes them afterwards. A change is
 * never committed without its event, and an event is never published for a change that rolled
 * back; a publish that fails is retried until the broker takes it. Each row keeps the request id
 * and trace position of the change, so the event's handlers log under the same id and their
 * spans join the same trace.
 */
import type { Migration } from "./database";

/** Rows one relay pass claims; a claim older than this many seconds is taken over. */
export const OUTBOX_BATCH = 100;
export const OUTBOX_CLAIM_SECONDS = 30;

export function outboxMigration(name: string): Migration {
  return {
    name,
    sql: (schema) => `
        CREATE TABLE "${schema}".outbox (
          id uuid PRIMARY KEY,
          seq bigserial NOT NULL,
          name varchar(100) NOT NULL,
          payload jsonb NOT NULL,
          request_id varchar(128),
          meta jsonb NOT NULL DEFAULT '{}',
          claimed_at timestamptz,
          created_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX outbox_seq_idx ON "${schema}".outbox (seq);
      `,
  };
}

export const insertOutboxSql = (schema: string) =>
  `INSERT INTO "${schema}".outbox (id, name, payload, request_id, meta)
   VALUES (:id, :name, CAST(:payload AS jsonb), :requestId, CAST(:meta AS jsonb))`;

/** Claims the oldest unpublished events in one statement, so two relays never share a row. */
export const claimOutboxSql = (schema: string) =>
  `UPDATE "${schema}".outbox SET claimed_at = now()
   WHERE id IN (
     SELECT id FROM "${schema}".outbox
     WHERE claimed_at IS NULL OR claimed_at < now() - make_interval(secs => ${OUTBOX_CLAIM_SECONDS})
     ORDER BY seq LIMIT ${OUTBOX_BATCH}
     FOR UPDATE SKIP LOCKED)
   RETURNING id, seq, name, payload, request_id, meta`;

export interface OutboxRow {
  id: string;
  seq: string;
  name: string;
  payload: Record<string, unknown>;
  request_id: string | null;
  meta: Record<string, unknown>;
}

/**
 * Where the recording request stood in its trace: the span that recorded the event and whether
 * the trace is sampled. The trace id is the request id (Moleculer's rule), kept in `request_id`.
 */
export interface OutboxTrace {
  parentID: string;
  tracing: boolean;
}

/** The key under which a row's `meta` keeps its trace position; it never reaches consumers. */
export const OUTBOX_TRACE_KEY = "$trace";

/** The `meta` stored with an event: the caller (the message's `ctx.meta`) and the trace position. */
export function outboxMeta(user: unknown, trace: OutboxTrace | null): Record<string, unknown> {
  return trace ? { user: user ?? null, [OUTBOX_TRACE_KEY]: trace } : { user: user ?? null };
}

/** A stored `meta` split back into the message's meta and the trace position (if any). */
export function splitOutboxMeta(stored: Record<string, unknown> | null | undefined): {
  meta: Record<string, unknown>;
  trace: OutboxTrace | null;
} {
  const { [OUTBOX_TRACE_KEY]: raw, ...meta } = stored ?? {};
  const candidate = raw as Partial<OutboxTrace> | undefined;
  const trace =
    candidate && typeof candidate.parentID === "string" && candidate.parentID
      ? { parentID: candidate.parentID, tracing: candidate.tracing === true }
      : null;
  return { meta, trace };
}
