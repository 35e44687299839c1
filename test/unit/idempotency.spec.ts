import { Sequelize, type Transaction } from "sequelize";
import { acquireEmbeddedPostgres, releaseEmbeddedPostgres } from "../../lib/embedded-postgres";
import {
  WRITE_KEY_META,
  idempotencyMigration,
  once,
  writeKeyMiddleware,
  writeKeyOf,
} from "../../lib/idempotency";

type Opts = Record<string, any> | undefined;
type Call = (action: string, params?: unknown, opts?: Opts) => Promise<unknown>;

/** The call hook of the middleware around a recording `next`. */
function hooked() {
  const seen: Opts[] = [];
  const middleware = writeKeyMiddleware() as unknown as { call(next: Call): Call };
  const call = middleware.call(async (_action, _params, opts) => {
    seen.push(opts);
    return undefined;
  });
  return { call, seen };
}

describe("writeKeyMiddleware (every call chain carries a write key)", () => {
  it("gives a call without a parent a fresh random key, a different one per call", async () => {
    const { call, seen } = hooked();
    await call("students.create", {}, { meta: { accept: "json" } });
    await call("students.create", {}, {});
    const [first, second] = seen.map((opts) => opts?.meta?.[WRITE_KEY_META]);
    expect(first).toMatch(/^[0-9a-f-]{36}$/);
    expect(second).toMatch(/^[0-9a-f-]{36}$/);
    expect(first).not.toBe(second);
    expect(seen[0]?.meta?.accept).toBe("json");
  });

  it("leaves a nested call (parent has a key) and a retry (reused context) as they are", async () => {
    const { call, seen } = hooked();
    const nested = { parentCtx: { meta: { [WRITE_KEY_META]: "chain-1" } } };
    const retry = { ctx: { meta: { [WRITE_KEY_META]: "chain-2" } } };
    await call("students.createRecord", {}, nested);
    await call("students.create", {}, retry);
    expect(seen).toEqual([nested, retry]);
  });
});

describe("writeKeyOf", () => {
  const ctx = (chain: unknown, action: string, params: unknown) => ({
    meta: { [WRITE_KEY_META]: chain },
    action: { name: action },
    params,
  });

  it("is the same for the same chain, action and params (a retry), different otherwise", () => {
    const key = writeKeyOf(ctx("c1", "courses.update", { id: "a", title: "T" }));
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    expect(writeKeyOf(ctx("c1", "courses.update", { id: "a", title: "T" }))).toBe(key);
    expect(writeKeyOf(ctx("c2", "courses.update", { id: "a", title: "T" }))).not.toBe(key);
    expect(writeKeyOf(ctx("c1", "courses.replace", { id: "a", title: "T" }))).not.toBe(key);
    expect(writeKeyOf(ctx("c1", "courses.update", { id: "a", title: "U" }))).not.toBe(key);
  });

  it("is null for a call that carries no chain key", () => {
    expect(writeKeyOf({ meta: {}, action: { name: "x.y" }, params: {} })).toBeNull();
  });
});

describe("once (a write runs once per key, in its transaction)", () => {
  let sequelize: Sequelize;

  beforeAll(async () => {
    const { url } = await acquireEmbeddedPostgres(null);
    sequelize = new Sequelize(url, { logging: false, dialect: "postgres" });
    await sequelize.query(`CREATE SCHEMA IF NOT EXISTS once_test`);
    await sequelize.query(idempotencyMigration("001").sql("once_test"));
    await sequelize.query(`CREATE TABLE once_test.items (name text NOT NULL)`);
  });

  afterAll(async () => {
    await sequelize.close();
    await releaseEmbeddedPostgres();
  });

  // Every query of the transaction names it: the embedded database has one session, where a
  // query outside the open transaction would wait for it forever.
  const insert = (name: string, runs: string[], transaction: Transaction) => async () => {
    runs.push(name);
    await sequelize.query(`INSERT INTO once_test.items (name) VALUES ('${name}')`, {
      transaction,
    });
    return { name, at: runs.length };
  };
  const count = async (name: string) =>
    Number(
      (
        (await sequelize.query(`SELECT count(*) AS n FROM once_test.items WHERE name = '${name}'`, {
          plain: true,
        })) as { n: string }
      ).n,
    );

  it("runs the first time and answers the stored result after that, writing nothing", async () => {
    const runs: string[] = [];
    const first = await sequelize.transaction((t) =>
      once(sequelize, "once_test", "k".repeat(64), t, insert("a", runs, t)),
    );
    const again = await sequelize.transaction((t) =>
      once(sequelize, "once_test", "k".repeat(64), t, insert("a", runs, t)),
    );
    expect(first).toEqual({ name: "a", at: 1 });
    expect(again).toEqual(first);
    expect(runs).toEqual(["a"]);
    expect(await count("a")).toBe(1);
  });

  it("keeps no key for a write that failed (rolled back): the retry writes", async () => {
    const runs: string[] = [];
    const failing = sequelize.transaction((t) =>
      once(sequelize, "once_test", "f".repeat(64), t, async () => {
        await insert("b", runs, t)();
        throw new Error("the node died");
      }),
    );
    await expect(failing).rejects.toThrow("the node died");
    const retried = await sequelize.transaction((t) =>
      once(sequelize, "once_test", "f".repeat(64), t, insert("b", runs, t)),
    );
    expect(retried).toEqual({ name: "b", at: 2 });
    expect(await count("b")).toBe(1);
  });

  it("simply runs a write that has no key, every time", async () => {
    const runs: string[] = [];
    for (let i = 0; i < 2; i += 1) {
      await sequelize.transaction((t) =>
        once(sequelize, "once_test", null, t, insert("c", runs, t)),
      );
    }
    expect(await count("c")).toBe(2);
  });
});
