/**
 * The database of one service: moleculer-db over the sequelize adapter, on the PostgreSQL the
 * environment names (`<SERVICE>_DATABASE_URL`, `DATABASE_URL`) or else on the process's embedded
 * PostgreSQL. Migrations run at connect (no `sync()`); database errors that a client caused
 * become Moleculer client errors here, at the source. With tracing on, each statement is a span
 * (lib/tracing.ts `traceQueries`).
 */
import type { Context, ServiceBroker, ServiceSchema } from "moleculer";
import DbService from "moleculer-db";
import SequelizeAdapter from "moleculer-db-adapter-sequelize";
import type { ModelAttributes, ModelOptions, ModelStatic, Model, Sequelize } from "sequelize";
import { UniqueConstraintError } from "sequelize";
import type { CampusConfig, DatabaseOwner } from "../lib/config";
import { connectionOptions, migrate, type Migration } from "../lib/database";
import { acquireEmbeddedPostgres, releaseEmbeddedPostgres } from "../lib/embedded-postgres";
import { conflict } from "../lib/errors";
import { traceQueries } from "../lib/tracing";

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
}

/** What the mixin adds to a service's `this`. */
export interface DbServiceThis {
  adapter: { db: Sequelize; model: ModelStatic<Model> };
  models: Record<string, ModelStatic<Model>>;
  sequelize: Sequelize;
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

  private usesEmbedded = false;

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
        "*"(_ctx: Context, err: Error) {
          if (err instanceof UniqueConstraintError) {
            const index = (err.parent as { constraint?: string } | undefined)?.constraint ?? "";
            const meaning = uniqueViolations[index];
            if (meaning) throw conflict(meaning.message, meaning.type);
          }
          throw err;
        },
      },
    },

    methods: {
      /** Readiness: the database answers a trivial query. */
      async checkDatabase(this: DbServiceThis): Promise<void> {
        await this.adapter.db.query("SELECT 1");
      },
    },

    afterConnected(this: DbServiceThis) {
      this.sequelize = this.adapter.db;
      // The schema is cloned when mixins merge: read the models from the adapter the service holds.
      this.models = (this.adapter as unknown as CampusSequelizeAdapter).models;
    },
  } as Partial<ServiceSchema>;
}
