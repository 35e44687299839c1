/**
 * Exactly-once writes under retries (README "Fault tolerance"). Every call chain carries a write
 * key in its meta, minted by the first call of the chain (the gateway's call for an HTTP request)
 * and kept by the broker's retries, which reuse the call's meta; nested calls inherit it. A write
 * wrapped in `once()` records, in its own transaction, the key of (that chain, the action, its
 * params) with its result:
 *
 * - the first attempt inserts the key and commits it with the write — or rolls both back;
 * - a retry whose first attempt committed finds the key and answers the stored result, writing
 *   nothing;
 * - a retry that overlaps an attempt still running (a slow node, not a dead one) waits on the
 *   key's unique index until that attempt commits (then answers its result) or rolls back (then
 *   writes itself);
 * - an attempt on a node killed mid-write loses its connection, so PostgreSQL rolls it back.
 *
 * The key is never chosen by a client (X-Request-ID is not used): a client reusing a request id
 * must not see a later write answered from an earlier one. Keys are kept a day.
 */
import { QueryTypes, type Sequelize, type Transaction } from "sequelize";
import type { Migration } from "./database";

export { WRITE_KEY_META, writeKeyMiddleware, writeKeyOf } from "./write-key";

/** How long a write's key (and result) is kept: far beyond any retry. */
export const WRITE_KEY_RETENTION_HOURS = 24;

export function idempotencyMigration(name: string): Migration {
  return {
    name,
    sql: (schema) => `
        CREATE TABLE "${schema}".idempotent_writes (
          key char(64) PRIMARY KEY,
          result jsonb,
          created_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX idempotent_writes_created_at_idx ON "${schema}".idempotent_writes (created_at);
      `,
  };
}

/**
 * Runs `write` once per key inside `transaction`: the first time it runs and its result is stored
 * with the key; after that the stored result is answered and `write` does not run. Without a key
 * (a call with no chain key) `write` simply runs.
 */
export async function once<T>(
  sequelize: Sequelize,
  schema: string,
  key: string | null,
  transaction: Transaction,
  write: () => Promise<T>,
): Promise<T> {
  if (!key) return write();
  const table = `"${schema}".idempotent_writes`;
  // Waits for an attempt that holds the same key uncommitted; nothing inserted: it committed.
  const inserted = await sequelize.query(
    `INSERT INTO ${table} (key) VALUES (:key) ON CONFLICT (key) DO NOTHING RETURNING key`,
    { replacements: { key }, transaction, type: QueryTypes.SELECT },
  );
  if (inserted.length === 0) {
    const [row] = await sequelize.query<{ result: T }>(
      `SELECT result FROM ${table} WHERE key = :key`,
      { replacements: { key }, transaction, type: QueryTypes.SELECT },
    );
    return row.result;
  }
  const result = await write();
  await sequelize.query(`UPDATE ${table} SET result = CAST(:result AS jsonb) WHERE key = :key`, {
    replacements: { key, result: JSON.stringify(result ?? null) },
    transaction,
  });
  return result;
}

/** Forgets keys older than the retention (run now and then by each service that keeps them). */
export async function forgetOldWriteKeys(sequelize: Sequelize, schema: string): Promise<void> {
  await sequelize.query(
    `DELETE FROM "${schema}".idempotent_writes
     WHERE created_at < now() - make_interval(hours => ${WRITE_KEY_RETENTION_HOURS})`,
  );
}
