/**
 * The database of one service: moleculer-db over the sequelize adapter, on the PostgreSQL the
 * environment names (`<SERVICE>_DATABASE_URL`, `DATABASE_URL`) or else on the process's embedded
 * PostgreSQL. Migrations run at connect (no `sync()`); database errors that a client caused
 * become Moleculer client errors here, at the source. With tracing on, each statement is a span
 * (lib/tracing.ts `traceQueries`).
 */
import type { Context, Service, ServiceBroker, ServiceSchema } from "moleculer";
import DbService from "moleculer-db";
import SequelizeAdapter from "moleculer-db-adapter-sequelize";
import type {
  ModelAttributes,
  ModelOptions,
  ModelStatic,
  Model,
  Sequelize,
  Transaction,
} from "sequelize";
import { QueryTypes, UniqueConstraintError } from "sequelize";
import type { CampusConfig, DatabaseOwner } from "../lib/config";
import { connectionOptions, migrate, type Migration } from "../lib/database";
import { acquireEmbeddedPostgres, releaseEmbeddedPostgres } from "../lib/embedded-postgres";
import { conflict, databaseUnavailable, isDatabaseUnavailable } from "../lib/errors";
import { traceQueries } from "../lib/tracing";
import { forgetOldWriteKeys, once, writeKeyOf } from "../lib/idempotency";

export interface ModelDefinition {
  name: string;
  define: ModelAttributes;
  options?: ModelOptions;
}

export interface DbMixinOptions {
  model: ModelDefinition;
  /** Further tables of the same service (e.g. enrollments beside courses). */
  extraModels?: ModelDefinition[];
  migrations: Migration[];
  /** Unique index name → the 409 it means. */
  uniqueViolations: Record<string, { message: string; type: string }>;
  /**
   * The service runs writes through `once()` (its migrations create `idempotent_writes`, see
   * lib/idempotency.ts): old keys are then forgotten hourly.
   */
  idempotentWrites?: boolean;
}

/** What the mixin adds to a service's `this`. */
export interface DbServiceThis {
  adapter: { db: Sequelize; model: ModelStatic<Model> };
  models: Record<string, ModelStatic<Model>>;
  sequelize: Sequelize;
  /** The main model's columns as `"column" AS "attribute"` and its schema-qualified table. */
  selectList: string;
  tableName: string;
  selectRows(name: string, text: string, values: unknown[]): Promise<Record<string, unknown>[]>;
  /** `selectRows` with each row as an array of its columns: no object per row. */
  selectArrays(name: string, text: string, values: unknown[]): Promise<unknown[][]>;
  /** Runs a write once per request (lib/idempotency.ts) inside `transaction`. */
  once<T>(ctx: Context, transaction: Transaction, write: () => Promise<T>): Promise<T>;
}

interface PooledClient {
  query(query: { name?: string; text: string; values: unknown[]; rowMode?: "array" }): Promise<{
    rows: Record<string, unknown>[];
  }>;
}
interface ConnectionPool {
  getConnection(options: { type: "read" }): Promise<PooledClient>;
  releaseConnection(client: PooledClient): Promise<void>;
}

/** `"first_name" AS "firstName", …`: plain rows keyed as the model's attributes. */
export function selectListOf(model: ModelStatic<Model>): string {
  return Object.entries(model.getAttributes())
    .map(([attribute, column]) => `"${column.field ?? attribute}" AS "${attribute}"`)
    .join(", ");
}

class CampusSequelizeAdapter extends SequelizeAdapter {
  declare db: Sequelize;
  declare opts: unknown[];
  declare broker: ServiceBroker;
  models: Record<string, ModelStatic<Model>> = {};

  constructor(
    private readonly owner: DatabaseOwner,
    private readonly config: CampusConfig,
    private readonly options: DbMixinOptions,
  ) {
    super({});
  }

  usesEmbedded = false;

  override async connect(): Promise<void> {
    let url = this.config.databaseUrls[this.owner];
    if (!url) {
      this.usesEmbedded = true;
      url = (await acquireEmbeddedPostgres(this.config.dataDir)).url;
    }
    this.opts = [connectionOptions(url, this.owner)];
    await super.connect();
    // Every statement of this service becomes a span under the action that made it (tracing
    // on only: otherwise `query` stays Sequelize's own, at no cost).
    if (this.broker.isTracingEnabled()) traceQueries(this.db as never, this.broker.nodeID);
    for (const extra of this.options.extraModels ?? []) {
      this.models[extra.name] = this.db.define(extra.name, extra.define, extra.options);
    }
    await migrate(this.db, url, this.owner, this.options.migrations);
  }

  override async disconnect(): Promise<void> {
    await super.disconnect();
    if (this.usesEmbedded) {
      this.usesEmbedded = false;
      await releaseEmbeddedPostgres();
    }
  }
}

/**
 * A hot read: a named (prepared once per connection) statement straight on a pooled connection,
 * plain rows out. Sequelize's query path and model instances cost most of an uncached read's CPU
 * (bench profile); writes keep Sequelize. Same pool, same type parsers. With tracing on, reads go
 * through Sequelize so that each statement stays a span.
 */
async function readRows(
  service: DbServiceThis & { broker: ServiceBroker },
  name: string,
  text: string,
  values: unknown[],
  arrays: boolean,
): Promise<Record<string, unknown>[] | unknown[][]> {
  if (service.broker.isTracingEnabled()) {
    const rows: Record<string, unknown>[] = await service.adapter.db.query(text, {
      bind: values,
      type: QueryTypes.SELECT,
    });
    // Columns in select order (each statement names its columns apart: an object keeps one).
    return arrays ? rows.map((row) => Object.values(row)) : rows;
  }
  const pool = service.adapter.db.connectionManager as unknown as ConnectionPool;
  const client = await pool.getConnection({ type: "read" });
  // The embedded database serves every pooled connection from one backend session, where a
  // statement name can be prepared only once: there the statement stays unnamed.
  const embedded = (service.adapter as unknown as CampusSequelizeAdapter).usesEmbedded;
  try {
    // An empty name: a statement not worth preparing (its text varies).
    const query = embedded || !name ? { text, values } : { name, text, values };
    return (await client.query(arrays ? { ...query, rowMode: "array" } : query)).rows;
  } finally {
    await pool.releaseConnection(client);
  }
}

export function DbMixin(
  owner: DatabaseOwner,
  config: CampusConfig,
  options: DbMixinOptions,
): Partial<ServiceSchema> {
  const uniqueViolations = options.uniqueViolations;

  return {
    mixins: [DbService as unknown as Partial<ServiceSchema>],
    adapter: new CampusSequelizeAdapter(owner, config, options),
    model: options.model,
    settings: { idField: "id" },

    // moleculer-db's generic actions would publish raw `query` filters and mass assignment:
    // every service defines its own actions instead.
    actions: {
      find: false,
      count: false,
      list: false,
      create: false,
      insert: false,
      get: false,
      update: false,
      remove: false,
    },

    hooks: {
      error: {
        "*"(this: { logger: Context["broker"]["logger"] }, _ctx: Context, err: Error) {
          if (err instanceof UniqueConstraintError) {
            const index = (err.parent as { constraint?: string } | undefined)?.constraint ?? "";
            const meaning = uniqueViolations[index];
            if (meaning) throw conflict(meaning.message, meaning.type);
          }
          // A database restart or outage is "retry later" (503), never a 500.
          if (isDatabaseUnavailable(err)) {
            this.logger.warn("Database unavailable:", err.message);
            throw databaseUnavailable();
          }
          throw err;
        },
      },
    },

    methods: {
      once<T>(
        this: DbServiceThis,
        ctx: Context,
        transaction: Transaction,
        write: () => Promise<T>,
      ): Promise<T> {
        return once(this.sequelize, owner, writeKeyOf(ctx as never), transaction, write);
      },

      /** Readiness: the database answers a trivial query. */
      async checkDatabase(this: DbServiceThis): Promise<void> {
        await this.adapter.db.query("SELECT 1");
      },

      /** A hot read as plain rows (`readRows`). */
      async selectRows(
        this: DbServiceThis & { broker: ServiceBroker },
        name: string,
        text: string,
        values: unknown[],
      ): Promise<Record<string, unknown>[]> {
        return readRows(this, name, text, values, false) as Promise<Record<string, unknown>[]>;
      },

      /** A hot read as arrays of columns: no object per row (`readRows`). */
      async selectArrays(
        this: DbServiceThis & { broker: ServiceBroker },
        name: string,
        text: string,
        values: unknown[],
      ): Promise<unknown[][]> {
        return readRows(this, name, text, values, true) as Promise<unknown[][]>;
      },
    },

    started(this: Service & { sequelize: Sequelize; writeKeyTimer?: NodeJS.Timeout }) {
      if (!options.idempotentWrites) return;
      const forget = () =>
        forgetOldWriteKeys(this.sequelize, owner).catch((err: Error) =>
          this.logger.warn("Could not forget old write keys:", err.message),
        );
      this.writeKeyTimer = setInterval(forget, 60 * 60 * 1000).unref();
    },

    stopped(this: Service & { writeKeyTimer?: NodeJS.Timeout }) {
      if (this.writeKeyTimer) clearInterval(this.writeKeyTimer);
    },

    afterConnected(this: DbServiceThis) {
      this.sequelize = this.adapter.db;
      // The schema is cloned when mixins merge: read the models from the adapter the service holds.
      this.models = (this.adapter as unknown as CampusSequelizeAdapter).models;
      const model = this.adapter.model;
      this.selectList = selectListOf(model);
      const table = model.getTableName() as string | { schema: string; tableName: string };
      this.tableName =
        typeof table === "string" ? `"${table}"` : `"${table.schema}"."${table.tableName}"`;
    },
    // Lifecycle handlers are typed with the service's own `this`; the broker takes any schema.
  } as unknown as Partial<ServiceSchema>;
}
