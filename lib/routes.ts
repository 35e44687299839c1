/**
 * The gateway's REST aliases, built once from the services' static route tables
 * (services/<name>/<name>.routes.ts). Static aliases (rather than moleculer-web's autoAliases,
 * which follow the registry) keep every route known while a service is down, so its callers get
 * 503 "unavailable", not 404 "no such route".
 */
import type { ActionParams } from "moleculer";
import { idParam } from "./ids";
import { pageParams, searchParams } from "./paging";
import type { Permission } from "./permissions";

/** What the gateway and the OpenAPI document need of a published action. */
export interface RouteAction {
  rest?: string;
  /** A base path for this action instead of its service's (e.g. `/enrollments`). */
  restBase?: string;
  permissions?: readonly Permission[];
  params?: ActionParams;
}

/** One service's routes: its name, its base path and its published actions. */
export interface RouteTable<Actions extends Record<string, RouteAction>> {
  name: string;
  settings: { rest: string };
  actions: Actions;
}

/** Checks a route table's shape and keeps each action's own type, for the service to spread. */
export function routeTable<Actions extends Record<string, RouteAction>>(
  table: RouteTable<Actions>,
): RouteTable<Actions> {
  return table;
}

const PATH_PARAM = /:(\w+)/g;

/**
 * One route: its method and path, who may call it, and its params (unknown keys removed). Each
 * `:name` of the path is an id (`idParam`) unless `params` says otherwise: a path param left
 * undeclared would be removed before the action saw it.
 */
export function route(
  rest: string,
  permissions: readonly Permission[],
  params: ActionParams = {},
): RouteAction {
  const pathIds = Object.fromEntries(
    [...rest.matchAll(PATH_PARAM)].map(([, name]) => [name, idParam]),
  );
  return { rest, permissions, params: { $$strict: "remove", ...pathIds, ...params } };
}

type ResourceAction = "list" | "create" | "get" | "replace" | "update" | "remove";

/**
 * The six routes of a resource (list, create, get, replace, update, remove) under its base path:
 * who may call each, and the record's fields (all for POST and PUT, any for PATCH).
 */
export function resourceRoutes(
  permissions: Record<ResourceAction, readonly Permission[]>,
  fields: ActionParams,
  patchFields: ActionParams,
): Record<ResourceAction, RouteAction> {
  return {
    list: route("GET /", permissions.list, { ...pageParams, ...searchParams }),
    create: route("POST /", permissions.create, fields),
    get: route("GET /:id", permissions.get),
    replace: route("PUT /:id", permissions.replace, fields),
    update: route("PATCH /:id", permissions.update, patchFields),
    remove: route("DELETE /:id", permissions.remove),
  };
}

/** Every signed-in role, and a course's staff roles (the actions check whose course it is). */
export const EVERYONE = ["admin", "teacher", "student"] as const;
export const STAFF = ["admin", "teacher"] as const;

type CourseItemAction = "create" | "list" | "get" | "update" | "remove";

/**
 * The five routes of a course's items (assignments, quizzes): created and listed under their
 * course (`POST|GET /courses/:id/<plural>`), then read, changed and removed at `/<plural>/:id`.
 * Staff roles write, every role reads; the actions check course staff and enrollment.
 */
export function courseItemRoutes(
  plural: string,
  fields: ActionParams,
  patchFields: ActionParams,
): Record<CourseItemAction, RouteAction> {
  const items = `/courses/:id/${plural}`;
  return {
    create: route(`POST ${items}`, STAFF, fields),
    list: route(`GET ${items}`, EVERYONE, pageParams),
    get: route(`GET /${plural}/:id`, EVERYONE),
    update: route(`PATCH /${plural}/:id`, STAFF, patchFields),
    remove: route(`DELETE /${plural}/:id`, STAFF),
  };
}

interface RestSchema {
  name: string;
  settings?: { rest?: unknown };
  actions?: Record<string, unknown>;
}

function joinPath(base: string, path: string): string {
  const joined = `/${base}/${path}`.replace(/\/+/g, "/");
  return joined.length > 1 ? joined.replace(/\/$/, "") : joined;
}

/** `{"GET /students/:id": "students.get", …}` for every action that declares `rest`. */
export function restAliases(schemas: RestSchema[]): Record<string, string> {
  const aliases: Record<string, string> = {};
  for (const schema of schemas) {
    const base =
      typeof schema.settings?.rest === "string" ? schema.settings.rest : `/${schema.name}`;
    for (const [actionName, action] of Object.entries(schema.actions ?? {})) {
      const { rest, restBase } = (action ?? {}) as { rest?: unknown; restBase?: unknown };
      if (typeof rest !== "string") continue;
      const [method, path = "/"] = rest.trim().split(/\s+/);
      const key = `${method.toUpperCase()} ${joinPath(typeof restBase === "string" ? restBase : base, path)}`;
      if (aliases[key])
        throw new Error(`Two actions claim ${key}: ${aliases[key]}, ${schema.name}.${actionName}`);
      aliases[key] = `${schema.name}.${actionName}`;
    }
  }
  return aliases;
}
