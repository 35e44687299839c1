/**
 * Embedded PostgreSQL for `npm start` and `npm test`: one PGlite instance per process (a schema
 * per service keeps the first start fast), served over a loopback socket so that `pg` and
 * sequelize talk to it exactly as they talk to a real server.
 */
import { mkdirSync } from "fs";
import { resolve } from "path";
import { PGlite } from "@electric-sql/pglite";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";

export interface EmbeddedPostgres {
  url: string;
  stop(): Promise<void>;
}

/** Enough connections for every service's pool in one process. */
const MAX_CONNECTIONS = 32;

let running: Promise<EmbeddedPostgres> | null = null;
let users = 0;

async function startEmbedded(dataDir: string | null): Promise<EmbeddedPostgres> {
  let location: string | undefined;
  if (dataDir) {
    location = resolve(dataDir, "pglite");
    mkdirSync(location, { recursive: true });
  }
  const db = await PGlite.create(location);
  const server = new PGLiteSocketServer({
    db,
    host: "127.0.0.1",
    port: 0,
    maxConnections: MAX_CONNECTIONS,
  });
  await server.start();
  return {
    url: `postgres://postgres@${server.getServerConn()}/postgres`,
    async stop() {
      await server.stop();
      await db.close();
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
