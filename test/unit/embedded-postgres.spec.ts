import { statSync } from "fs";
import { connect, type Socket } from "net";
import { Client } from "pg";
import { serialize } from "pg-protocol";
import { ALL_SERVICES } from "../../lib/config";
import { POOL_MAX } from "../../lib/database";
import {
  MAX_CONNECTIONS,
  acquireEmbeddedPostgres,
  nextMessageIndex,
  releaseEmbeddedPostgres,
} from "../../lib/embedded-postgres";

describe("nextMessageIndex (whose message runs next on the one PGlite session)", () => {
  const queue = [{ handlerId: 1 }, { handlerId: 2 }, { handlerId: 1 }];

  it("takes the oldest message when no connection holds the session", () => {
    expect(nextMessageIndex(queue, null)).toBe(0);
  });

  it("takes only the holding connection's next message", () => {
    expect(nextMessageIndex(queue, 2)).toBe(1);
  });

  it("waits (-1) when the holder has sent nothing yet, or nothing is queued", () => {
    expect(nextMessageIndex(queue, 3)).toBe(-1);
    expect(nextMessageIndex([], null)).toBe(-1);
  });
});

/** A bare protocol connection: what a pooled client sends, split where TCP may split it. */
async function rawConnection(url: string): Promise<{ socket: Socket; received: () => Buffer }> {
  const parsed = new URL(url);
  const socket = connect(`${parsed.searchParams.get("host")}/.s.PGSQL.${parsed.port}`);
  let data = Buffer.alloc(0);
  socket.on("data", (chunk) => (data = Buffer.concat([data, chunk])));
  // The server closes its side when the test stops it: a reset then is expected.
  socket.on("error", () => undefined);
  await new Promise((done) => socket.once("connect", done));
  socket.write(serialize.startup({ user: "postgres", database: "postgres" }));
  await waitFor(() => data.includes(Buffer.from("Z")));
  data = Buffer.alloc(0);
  return { socket, received: () => data };
}

async function waitFor(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i += 1) await new Promise((r) => setTimeout(r, 10));
  if (!check()) throw new Error("timed out");
}

/** The ErrorResponse messages ('E') in a backend stream, as their text. */
function errors(stream: Buffer): string[] {
  const found: string[] = [];
  for (let at = 0; at + 5 <= stream.length;) {
    const length = stream.readInt32BE(at + 1);
    if (stream[at] === 0x45) found.push(stream.subarray(at + 5, at + 1 + length).toString());
    at += 1 + length;
  }
  return found;
}

describe("the embedded server with two connections' batches arriving interleaved", () => {
  it("runs each Parse/Bind/Execute/Sync batch whole (pglite-socket alone binds the other's statement)", async () => {
    const { url } = await acquireEmbeddedPostgres(null);
    const a = await rawConnection(url);
    const b = await rawConnection(url);
    try {
      // A's Parse arrives; B's whole batch arrives before A's Bind.
      a.socket.write(serialize.parse({ text: "SELECT $1::int + $2::int AS v" }));
      await new Promise((r) => setTimeout(r, 50));
      b.socket.write(
        Buffer.concat([
          serialize.parse({ text: "SELECT upper($1::text) AS v" }),
          serialize.bind({ values: ["b"] }),
          serialize.describe({ type: "P", name: "" }),
          serialize.execute({}),
          serialize.sync(),
        ]),
      );
      await new Promise((r) => setTimeout(r, 50));
      a.socket.write(
        Buffer.concat([
          serialize.bind({ values: ["1", "2"] }),
          serialize.describe({ type: "P", name: "" }),
          serialize.execute({}),
          serialize.sync(),
        ]),
      );
      await waitFor(() => a.received().includes(Buffer.from("Z")));
      await waitFor(() => b.received().includes(Buffer.from("Z")));

      expect(errors(a.received())).toEqual([]);
      expect(errors(b.received())).toEqual([]);
      expect(a.received().includes(Buffer.from("3"))).toBe(true);
      expect(b.received().includes(Buffer.from("B"))).toBe(true);
    } finally {
      const closed = [a, b].map((c) => new Promise((done) => c.socket.once("close", done)));
      a.socket.end(serialize.end());
      b.socket.end(serialize.end());
      await Promise.all(closed);
      await releaseEmbeddedPostgres();
    }
  });
});

describe("the embedded server under concurrent parameterized queries", () => {
  jest.setTimeout(60000);

  it("keeps each connection's Parse/Bind/Execute/Sync batch whole, and goes on after an error", async () => {
    const { url } = await acquireEmbeddedPostgres(null);
    const clients = Array.from({ length: 8 }, () => new Client({ connectionString: url }));
    try {
      await Promise.all(clients.map((client) => client.connect()));
      // Different shapes per connection: an interleaved Bind would fail or mix the answers.
      const rounds = await Promise.all(
        clients.map(async (client, i) => {
          const answers: unknown[] = [];
          for (let n = 0; n < 100; n += 1) {
            const text =
              i % 2 === 0 ? "SELECT $1::int + $2::int AS v" : "SELECT upper($1::text) AS v";
            const values: unknown[] = i % 2 === 0 ? [n, i] : [`c${i}-${n}`];
            answers.push((await client.query(text, values)).rows[0].v);
          }
          return answers;
        }),
      );
      rounds.forEach((answers, i) => {
        answers.forEach((v, n) => expect(v).toBe(i % 2 === 0 ? n + i : `C${i}-${n}`));
      });
      await expect(clients[0].query("SELECT $1::int", ["not a number"])).rejects.toThrow();
      expect((await clients[1].query("SELECT $1::int AS v", [7])).rows[0].v).toBe(7);
    } finally {
      await Promise.all(clients.map((client) => client.end()));
      await releaseEmbeddedPostgres();
    }
  });
});

describe("the embedded server's connection limit", () => {
  jest.setTimeout(60000);

  it("takes every service's full pool at once (a connection beyond the limit is reset: a 500)", async () => {
    const { url } = await acquireEmbeddedPostgres(null);
    const clients = Array.from(
      { length: ALL_SERVICES.length * POOL_MAX },
      () => new Client({ connectionString: url }),
    );
    try {
      await Promise.all(clients.map((client) => client.connect()));
      const answers = await Promise.all(
        clients.map(
          async (client, i) => (await client.query("SELECT $1::int AS v", [i])).rows[0].v,
        ),
      );
      expect(answers).toEqual(clients.map((_, i) => i));
      expect(MAX_CONNECTIONS).toBeGreaterThan(clients.length);
    } finally {
      await Promise.all(clients.map((client) => client.end().catch(() => undefined)));
      await releaseEmbeddedPostgres();
    }
  });
});

describe("where the embedded server listens (security round 2, finding 4)", () => {
  it("serves a Unix socket in a directory only this user may enter, no TCP port", async () => {
    const { url } = await acquireEmbeddedPostgres(null);
    try {
      const parsed = new URL(url);
      const socketDir = parsed.searchParams.get("host")!;
      const dir = statSync(socketDir);
      const socket = statSync(`${socketDir}/.s.PGSQL.${parsed.port}`);

      expect(socketDir.startsWith("/")).toBe(true);
      expect(dir.mode & 0o777).toBe(0o700);
      expect(dir.uid).toBe(process.getuid!());
      expect(socket.isSocket()).toBe(true);

      const client = new Client({ connectionString: url });
      await client.connect();
      const { rows } = await client.query("SELECT inet_server_port() AS port");
      await client.end();
      expect(rows).toEqual([{ port: null }]);
    } finally {
      await releaseEmbeddedPostgres();
    }
  });

  it("removes the socket directory when it stops", async () => {
    const { url } = await acquireEmbeddedPostgres(null);
    const socketDir = new URL(url).searchParams.get("host")!;
    await releaseEmbeddedPostgres();

    expect(() => statSync(socketDir)).toThrow(/ENOENT/);
  });
});
