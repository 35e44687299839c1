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
