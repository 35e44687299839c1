/** Record ids are UUIDs; anything else cannot name a record and is answered as "not found". */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: unknown): value is string {
  return typeof value === "string" && UUID.test(value);
}

/** Path ids: bounded strings, checked with `isUuid` by the action (→ 404, not 422). */
export const idParam = { type: "string", min: 1, max: 64 } as const;
