/**
 * Reads of one row by id that arrive together reach the database as one statement. Under load an
 * uncached read costs little in PostgreSQL and much in the round trip (a socket write each side,
 * a parse, a wake-up): the bench profile put a third of an uncached read's CPU in the query's
 * socket write. DataLoader (GraphQL's kept batching library) collects the ids asked for until the
 * event loop's check phase, so every request parsed in one turn shares one `id = ANY($1)`
 * statement, and the requests whose rows arrive together move on together. No memo across calls
 * (`cache: false`): each read sees the database as it is.
 */
import DataLoader from "dataloader";

export type Row = Record<string, unknown>;

/** At most this many ids per statement (the internal byIds actions' own bound). */
export const MAX_BATCH = 100;

export function rowLoader(
  select: (ids: string[]) => Promise<Row[]>,
): DataLoader<string, Row | null> {
  return new DataLoader<string, Row | null>(
    async (ids) => {
      const rows = await select([...ids]);
      const byId = new Map(rows.map((row) => [String(row.id), row]));
      return ids.map((id) => byId.get(id) ?? null);
    },
    {
      cache: false,
      maxBatchSize: MAX_BATCH,
      batchScheduleFn: (dispatch) => setImmediate(dispatch),
    },
  );
}
