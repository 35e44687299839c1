/**
 * One resource pattern: from a small declaration (entity, routes, row mapping, sort whitelist,
 * search columns, read/write checks) a service gets its published list/get/create/replace/
 * update/remove and its cached internal byId/byIds/page. The service adds only its real rules:
 * `createResource`, `writeResource` and `removeResource` (the writes differ: events, rosters,
 * capacity checks), and any action of its own.
 */
import type { Context, Service, ServiceSchema } from "moleculer";
import { forbidden, notFound } from "../lib/errors";
import { created, noContent } from "../lib/responses";
import { rowLoader, type Row } from "../lib/row-loader";
import type DataLoader from "dataloader";
import { FAST_FAILOVER, IDEMPOTENT_WRITE, NOT_RETRIED } from "../lib/fault-tolerance";
import { idParam, isUuid, uuidListParam } from "../lib/ids";
import {
  containsPattern,
  pageParams,
  pageRequest,
  parseSort,
  searchParams,
  toPage,
  type Page,
  type SortOrder,
} from "../lib/paging";
import type { Identity } from "../lib/permissions";
import type { RouteAction, RouteTable } from "../lib/routes";
import { cacheKeys, type CacheCleanerThis } from "./cache-cleaner.mixin";
import type { DbServiceThis } from "./db.mixin";
import type { CampusMeta } from "../types/service";

type Params = Record<string, unknown>;
type Meta = CampusMeta;
type ResourceActions = "list" | "create" | "get" | "replace" | "update" | "remove";

export interface ResourceDeclaration<T extends { id: string }> {
  /** The entity's name in a 404 ("Student not found"). */
  entity: string;
  /** The published actions' routes, permissions and params (the service's route table). */
  routes: RouteTable<Record<ResourceActions, RouteAction>>;
  /** A database row (plain object) as the API shows it. */
  toResource(row: Record<string, unknown>): T;
  /** The columns `sort` may name, and the order without one. */
  sort: { fields: readonly string[]; default: SortOrder };
  /** The columns `search` matches (case-insensitive, anywhere in the text). */
  search: readonly string[];
  /** The changes a PUT makes (every field) and a PATCH makes (the fields given). */
  replacement(params: Params): Partial<T>;
  changes(params: Params): Partial<T>;
  /** Whether the caller may read this one resource; absent: the route's permissions suffice. */
  readable?(user: Identity, id: string): boolean;
  /** Why the caller may not make this write (a 403's message), or null. */
  writeDenial?(user: Identity, current: T, params: Params): string | null;
  /**
   * The service's `createResource` and `writeResource` run their write through `once()`
   * (lib/idempotency.ts): create, replace and update may then be retried by the broker.
   * Otherwise they are never retried.
   */
  idempotentWrites?: boolean;
}

/** What the service itself provides: its writes, with their real rules. */
export interface ResourceThis<T> {
  findResource(ctx: Context, id: string): Promise<T>;
  createResource(ctx: Context, params: Params): Promise<T>;
  writeResource(ctx: Context, current: T, changes: Partial<T>): Promise<T>;
  removeResource(ctx: Context, current: T): Promise<void>;
  /** The cache entries a change to this resource makes stale. */
  resourceKeys(id: string): string[];
}

type This<T> = Service &
  DbServiceThis &
  CacheCleanerThis &
  ResourceThis<T> & {
    /** Single-row reads by (lower-case) id, batched (lib/row-loader.ts). */
    rowById: DataLoader<string, Row | null>;
    selectByIds(ids: string[]): Promise<Row[]>;
  };

export function ResourceMixin<T extends { id: string }>(
  declaration: ResourceDeclaration<T>,
): Partial<ServiceSchema> {
  const { routes, entity, toResource } = declaration;
  const name = routes.name;
  const writeRetries = declaration.idempotentWrites ? IDEMPOTENT_WRITE : NOT_RETRIED;

  async function write(this: This<T>, ctx: Context<Params, Meta>, changes: Partial<T>) {
    // A record the caller may not even read is refused before it is looked up: the same 403
    // whether it exists or not.
    if (declaration.readable && !declaration.readable(ctx.meta.user!, ctx.params.id as string))
      throw forbidden();
    const current = await this.findResource(ctx, ctx.params.id as string);
    const denial = declaration.writeDenial?.(ctx.meta.user!, current, ctx.params);
    if (denial) throw forbidden(denial);
    return this.writeResource(ctx, current, changes);
  }

  return {
    settings: { ...routes.settings },
    actions: {
      // ---- Published: access control, then the cached internal actions below ----

      list: {
        ...FAST_FAILOVER,
        ...routes.actions.list,
        handler(ctx: Context<Params>): Promise<Page<T>> {
          return ctx.call(`${name}.page`, ctx.params);
        },
      },

      create: {
        ...writeRetries,
        ...routes.actions.create,
        async handler(this: This<T>, ctx: Context<Params, Meta>): Promise<T> {
          const resource = await this.createResource(ctx, ctx.params);
          return created(ctx, `/api/${name}/${resource.id}`, resource);
        },
      },

      get: {
        ...FAST_FAILOVER,
        ...routes.actions.get,
        handler(this: This<T>, ctx: Context<{ id: string }, Meta>): Promise<T> {
          if (declaration.readable && !declaration.readable(ctx.meta.user!, ctx.params.id))
            throw forbidden();
          return this.findResource(ctx, ctx.params.id);
        },
      },

      replace: {
        ...writeRetries,
        ...routes.actions.replace,
        handler(this: This<T>, ctx: Context<Params, Meta>): Promise<T> {
          return write.call(this, ctx, declaration.replacement(ctx.params));
        },
      },

      update: {
        ...writeRetries,
        ...routes.actions.update,
        handler(this: This<T>, ctx: Context<Params, Meta>): Promise<T> {
          return write.call(this, ctx, declaration.changes(ctx.params));
        },
      },

      remove: {
        ...NOT_RETRIED,
        ...routes.actions.remove,
        async handler(this: This<T>, ctx: Context<{ id: string }, Meta>): Promise<null> {
          await this.removeResource(ctx, await this.findResource(ctx, ctx.params.id));
          return noContent(ctx);
        },
      },

      // ---- Internal: called by other services; not published over HTTP ----

      byId: {
        ...FAST_FAILOVER,
        visibility: "public",
        params: { id: idParam },
        cache: { keys: ["id"] },
        nearCache: true,
        async handler(this: This<T>, ctx: Context<{ id: string }>): Promise<T> {
          if (!isUuid(ctx.params.id)) throw notFound(entity);
          const row = await this.rowById.load(ctx.params.id.toLowerCase());
          if (!row) throw notFound(entity);
          return toResource(row);
        },
      },

      byIds: {
        ...FAST_FAILOVER,
        visibility: "public",
        params: { ids: uuidListParam(100) },
        cache: { keys: ["ids"] },
        nearCache: true,
        async handler(this: This<T>, ctx: Context<{ ids: string[] }>): Promise<T[]> {
          if (ctx.params.ids.length === 0) return [];
          const rows = await this.selectByIds(ctx.params.ids);
          const byId = new Map(rows.map((row) => [row.id as string, toResource(row)]));
          // In the order asked for; ids of deleted resources are left out.
          return ctx.params.ids.flatMap((id) => byId.get(id) ?? []);
        },
      },

      page: {
        ...FAST_FAILOVER,
        visibility: "public",
        params: { ...pageParams, ...searchParams },
        cache: { keys: ["page", "pageSize", "search", "sort"] },
        async handler(
          this: This<T>,
          ctx: Context<{ page?: number; pageSize?: number; search?: string; sort?: string }>,
        ): Promise<Page<T>> {
          const order = parseSort(
            ctx.params.sort,
            declaration.sort.fields,
            declaration.sort.default,
          );
          // Plain rows and the count, two statements side by side (no model instances). A
          // window count beside each row would make PostgreSQL read every matching row before
          // the LIMIT; the page alone walks an index. Prepared (named) for the default order
          // only: other orders are a whitelist's permutations, too many to keep per connection.
          const attributes = this.adapter.model.getAttributes();
          const column = (attribute: string) => `"${attributes[attribute].field ?? attribute}"`;
          const filter: unknown[] = [];
          let where = "";
          if (ctx.params.search) {
            filter.push(containsPattern(ctx.params.search));
            where = `WHERE ${declaration.search.map((a) => `${column(a)} ILIKE $1`).join(" OR ")}`;
          }
          const request = pageRequest(ctx.params);
          const named = (statement: string) =>
            ctx.params.sort ? "" : `${name}.${statement}${where ? ".search" : ""}`;
          const [rows, [count]] = await Promise.all([
            this.selectRows(
              named("page"),
              `SELECT ${this.selectList} FROM ${this.tableName} ${where}
               ORDER BY ${order.map(([a, direction]) => `${column(a)} ${direction}`).join(", ")}
               LIMIT $${filter.length + 1} OFFSET $${filter.length + 2}`,
              [...filter, request.pageSize, request.offset],
            ),
            this.selectRows(
              named("count"),
              `SELECT count(*) AS total FROM ${this.tableName} ${where}`,
              filter,
            ),
          ]);
          return toPage(rows.map(toResource), Number(count.total), request);
        },
      },
    },

    created(this: This<T>) {
      this.rowById = rowLoader((ids) => this.selectByIds(ids));
    },

    methods: {
      /** The rows of these ids, in no particular order; unknown ids have none. */
      selectByIds(this: This<T>, ids: string[]): Promise<Row[]> {
        return this.selectRows(
          `${name}.byIds`,
          `SELECT ${this.selectList} FROM ${this.tableName} WHERE id = ANY($1::uuid[])`,
          [ids],
        );
      },

      findResource(ctx: Context, id: string): Promise<T> {
        return ctx.call(`${name}.byId`, { id });
      },

      resourceKeys(id: string): string[] {
        return [
          cacheKeys.exact(`${name}.byId`, id),
          cacheKeys.containing(`${name}.byIds`, id),
          cacheKeys.all(`${name}.page`),
        ];
      },
    },
    // Handlers are typed with the service's own `this`; the broker takes any schema.
  } as unknown as Partial<ServiceSchema>;
}
