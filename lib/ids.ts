/** Record ids are UUIDs; anything else cannot name a record and is answered as "not found". */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: unknown): value is string {
  return typeof value === "string" && UUID.test(value);
}

/**
 * Path ids: any string (the URL bounds its length), checked with `isUuid` by the action, so a
 * malformed id is simply not found (404), never a validation error.
 */
export const idParam = { type: "string", min: 1 } as const;

/** A list of at most `max` uuids: the bound keeps one call's work (and its SQL `IN`) in check. */
export function uuidListParam(max: number) {
  return { type: "array", items: { type: "uuid" }, max } as const;
}

/** Parameter names that carry record ids: `id`, `…Id` and `…Ids` (lists). */
const ID_NAME = /^(id|.+Id)$/;
const ID_LIST_NAME = /^.+Ids$/;

function lowerCaseId(value: unknown): unknown {
  return isUuid(value) ? value.toLowerCase() : value;
}

/**
 * The request's parameters with every uuid-shaped id in lower case, applied once at the edge
 * (the gateway), so every cache key, cache clean and comparison behind it sees one form of an id.
 */
export function lowerCaseIds<T extends Record<string, unknown>>(params: T): T {
  const result: Record<string, unknown> = { ...params };
  for (const [name, value] of Object.entries(params)) {
    if (ID_NAME.test(name)) result[name] = lowerCaseId(value);
    else if (ID_LIST_NAME.test(name) && Array.isArray(value)) result[name] = value.map(lowerCaseId);
  }
  return result as T;
}
