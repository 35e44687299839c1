/**
 * How an action answers something other than 200: the gateway sends `ctx.meta.$statusCode` and
 * `ctx.meta.$location` as the status and the Location header.
 */
import type { Context } from "moleculer";
import type { CampusMeta } from "../types/service";

/** 201 Created, with the address of what was created; returns the body unchanged. */
export function created<T>(ctx: Context<unknown, CampusMeta>, location: string, body: T): T {
  ctx.meta.$statusCode = 201;
  ctx.meta.$location = location;
  return body;
}

/** 204 No Content: the change is done and there is nothing to answer. */
export function noContent(ctx: Context<unknown, CampusMeta>): null {
  ctx.meta.$statusCode = 204;
  return null;
}
