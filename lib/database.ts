/**
 * Connections and migrations for every service database. A service owns one PostgreSQL schema
 * (named after it) in the database its URL points at, so services never share tables even when
 * an operator gives them one database.
 */
import { createHash } from "crypto";
import { Client } from "pg";
import { DataTypes, Sequelize } from "sequelize";
import { SequelizeStorage, Umzug } from "umzug";

/** One step of a service's schema: the SQL it runs, written for the service's own schema. */
export interface Migration {
  name: string;
  sql(schema: string): string;
}

/** The first column of every table of a service's own records: a generated uuid. */
export const RECORD_ID = "id uuid PRIMARY KEY DEFAULT gen_random_uuid()";
/** The model attribute of that `id` column: a new object per model (sequelize writes into it). */
export function recordIdAttribute() {
  return { type: DataTypes.UUID, primaryKey: true, defaultValue: DataTypes.UUIDV4 };
}
/** The last columns of such a table, which the models' timestamps fill. */
export const RECORD_TIMESTAMPS = `created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()`;

export interface SequelizeConnectionOptions {
  dialect: "postgres";
  host: string;
  port: number;
  database: string;
  username: string;
  password?: string;
  logging: false;
  pool: { max: number; min: number; idle: number; acquire: number };
  define: { schema: string; underscored: true; timestamps: true };
  dialectOptions: { application_name: string };
  /** Read by moleculer-db-adapter-sequelize: never `sync()`, migrations own the schema. */
  noSync: true;
}

/** Connections each service's pool opens at most. */
export const POOL_MAX = 5;

export function connectionOptions(url: string, schema: string): SequelizeConnectionOptions {
  const parsed = new URL(url);
  if (parsed.protocol !== "postgres:" && parsed.protocol !== "postgresql:") {
    throw new Error(`unsupported database URL scheme "${parsed.protocol}"`);
  }
  return {
    dialect: "postgres",
    // `?host=/a/directory` (libpq's form) names a Unix socket directory, as the embedded server uses.
    host: parsed.searchParams.get("host") ?? parsed.hostname,
    port: Number(parsed.port || 5432),
    database: decodeURIComponent(parsed.pathname.slice(1)) || "postgres",
    username: decodeURIComponent(parsed.username) || "postgres",
    password: parsed.password ? decodeURIComponent(parsed.password) : undefined,
    logging: false,
    pool: { max: POOL_MAX, min: 0, idle: 10000, acquire: 10000 },
    define: { schema, underscored: true, timestamps: true },
    dialectOptions: { application_name: `campus-${schema}` },
    noSync: true,
  };
}

/** A stable 63-bit key per schema for `pg_advisory_lock`. */
export function advisoryLockKey(schema: string): string {
  const digest = createHash("sha256").update(`campus:migrations:${schema}`).digest();
  return digest.readBigInt64BE(0).toString();
}

/**
 * Applies the pending migrations of one schema. Two nodes starting at once serialize on a
 * session-level advisory lock held by a dedicated connection; the second then finds nothing to do.
 */
export async function migrate(
  sequelize: Sequelize,
  url: string,
  schema: string,
  migrations: Migration[],
): Promise<string[]> {
  const lockClient = new Client({ connectionString: url });
  await lockClient.connect();
  const key = advisoryLockKey(schema);
  try {
    await lockClient.query("SELECT pg_advisory_lock($1::bigint)", [key]);
    await sequelize.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
    const umzug = new Umzug({
      migrations: migrations.map((migration) => ({
        name: migration.name,
        up: async () => {
          await sequelize.query(migration.sql(schema));
        },
      })),
      storage: new SequelizeStorage({ sequelize, schema, tableName: "migrations" }),
      logger: undefined,
    });
    const applied = await umzug.up();
    return applied.map((migration) => migration.name);
  } finally {
    await lockClient.query("SELECT pg_advisory_unlock($1::bigint)", [key]).catch(() => undefined);
    await lockClient.end();
  }
}
