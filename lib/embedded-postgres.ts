/**
 * Embedded PostgreSQL for `npm start` and `npm test`: one PGlite instance per process (a schema
 * per service keeps the first start fast), served over a socket so that `pg` and sequelize talk
 * to it exactly as they talk to a real server.
 *
 * PGlite checks no password, so the socket is the only guard: it is a Unix socket in a private
 * directory (mode 0700, made fresh for each start, removed at stop), never a TCP port — only
 * the user that runs Campus can reach it (docs/SECURITY.md, "Security round 2").
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from "fs";
import { tmpdir } from "os";
import { join, resolve } from "path";
import { PGlite } from "@electric-sql/pglite";
import { btree_gist } from "@electric-sql/pglite/contrib/btree_gist";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";
import { ALL_SERVICES } from "./config";
import { POOL_MAX } from "./database";

export interface EmbeddedPostgres {
  url: string;
  stop(): Promise<void>;
}

/**
 * Frontend messages that leave an extended-query batch open (Parse, Bind, Describe, Execute,
 * Close, Flush): the batch ends with Sync, and a simple Query is a whole batch by itself.
 */
const BATCH_CONTINUES = new Set([..."PBDECH"].map((c) => c.charCodeAt(0)));

interface QueuedMessage {
  handlerId: number;
  message: Uint8Array;
  resolve(bytes: number): void;
  reject(err: unknown): void;
  onData(data: Uint8Array): void;
}

/** pglite-socket's query queue (0.2.x), the parts this module replaces. */
interface QueryQueue {
  queue: QueuedMessage[];
  processing: boolean;
  lastHandlerId: number | null;
  db: PGlite;
  processQueue(): Promise<void>;
  clearQueueForHandler(handlerId: number): void;
}

/**
 * Which queued message runs next on the one PGlite session: while a connection is inside a
 * transaction or an unfinished extended-query batch, only that connection's next message (or
 * none yet: -1, wait for it); otherwise the oldest.
 */
export function nextMessageIndex(
  queue: readonly { handlerId: number }[],
  pinnedHandlerId: number | null,
): number {
  if (queue.length === 0) return -1;
  if (pinnedHandlerId === null) return 0;
  return queue.findIndex((item) => item.handlerId === pinnedHandlerId);
}

/**
 * pglite-socket serializes single messages across connections and keeps a connection's turn only
 * inside a transaction, so Parse/Bind/Execute/Sync batches of two pooled connections interleave on
 * the one session and one binds the other's unnamed statement ("unnamed prepared statement does
 * not exist", electric-sql/pglite#1046). Its loop also stops for good after one failed message.
 * This keeps a connection's turn to the end of its batch and goes on after a failure.
 */
function keepBatchesWhole(queue: QueryQueue): void {
  let batchOpen = false;
  queue.processQueue = async function processQueue(this: QueryQueue) {
    if (this.processing) return;
    this.processing = true;
    try {
      for (;;) {
        const pinned = batchOpen || this.db.isInTransaction() ? this.lastHandlerId : null;
        const index = nextMessageIndex(this.queue, pinned);
        if (index === -1) break;
        const [item] = this.queue.splice(index, 1);
        this.lastHandlerId = item.handlerId;
        batchOpen = BATCH_CONTINUES.has(item.message[0]);
        try {
          let bytes = 0;
          await this.db.runExclusive(() =>
            this.db.execProtocolRawStream(item.message, {
              onRawData: (data: Uint8Array) => {
                bytes += data.length;
                item.onData(data);
              },
            }),
          );
          item.resolve(bytes);
        } catch (err) {
          item.reject(err);
        }
      }
    } finally {
      this.processing = false;
    }
  };
  const clear = queue.clearQueueForHandler.bind(queue);
  queue.clearQueueForHandler = (handlerId: number) => {
    clear(handlerId);
    // A connection gone in the middle of a batch must not keep the others waiting.
    if (queue.lastHandlerId === handlerId) batchOpen = false;
    void queue.processQueue();
  };
}

/** libpq's socket naming: a client given the directory connects to `<dir>/.s.PGSQL.<port>`. */
const SOCKET_PORT = 5432;

/** A fresh directory only this user can enter (mkdtemp makes it 0700; set again to be sure). */
export function privateSocketDirectory(): string {
  const dir = mkdtempSync(join(tmpdir(), "campus-pg-"));
  chmodSync(dir, 0o700);
  return dir;
}

/** The connection URL of a server listening in `socketDir` (libpq's `?host=/dir` form). */
export function socketUrl(socketDir: string): string {
  return `postgres://postgres@localhost:${SOCKET_PORT}/postgres?host=${encodeURIComponent(socketDir)}`;
}

/**
 * Every service's full pool in one process, plus each one's migration-lock connection: the server
 * resets a connection beyond its limit, which reached a request as a 500 once eleven services
 * shared a limit of 32. Connections cost a socket each; the one session serializes their work.
 */
export const MAX_CONNECTIONS = ALL_SERVICES.length * (POOL_MAX + 1);

let running: Promise<EmbeddedPostgres> | null = null;
let users = 0;

async function startEmbedded(dataDir: string | null): Promise<EmbeddedPostgres> {
  let location: string | undefined;
  if (dataDir) {
    location = resolve(dataDir, "pglite");
    mkdirSync(location, { recursive: true });
  }
  // btree_gist: the schedule's exclusion constraints (room or teacher = , time range &&).
  const db = await PGlite.create(location, { extensions: { btree_gist } });
  const socketDir = privateSocketDirectory();
  const server = new PGLiteSocketServer({
    db,
    path: join(socketDir, `.s.PGSQL.${SOCKET_PORT}`),
    maxConnections: MAX_CONNECTIONS,
  });
  keepBatchesWhole((server as unknown as { queryQueue: QueryQueue }).queryQueue);
  try {
    await server.start();
  } catch (err) {
    rmSync(socketDir, { recursive: true, force: true });
    await db.close();
    throw err;
  }
  return {
    url: socketUrl(socketDir),
    async stop() {
      await server.stop();
      await db.close();
      rmSync(socketDir, { recursive: true, force: true });
    },
  };
}

/**
 * Returns the process's embedded server, starting it on first use. `dataDir` null keeps the
 * data in memory (tests). Each caller must `releaseEmbeddedPostgres()` once when it closes.
 */
export function acquireEmbeddedPostgres(dataDir: string | null): Promise<EmbeddedPostgres> {
  users += 1;
  running ??= startEmbedded(dataDir);
  return running;
}

export async function releaseEmbeddedPostgres(): Promise<void> {
  users -= 1;
  if (users > 0 || !running) return;
  const embedded = await running;
  running = null;
  await embedded.stop();
}
