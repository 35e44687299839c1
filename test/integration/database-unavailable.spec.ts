/**
 * Which database failures answer 503 + Retry-After (the database is out of reach: retry later)
 * and which stay what they are. The errors are real ones, from the machine's PostgreSQL (a
 * backend terminated under a running query, as a restart does) and from a port where nothing
 * listens, through pg and through Sequelize.
 */
import { Client } from "pg";
import { Sequelize } from "sequelize";
import { ADMIN_DB_URL } from "../cluster/harness";
import { loadConfig } from "../../lib/config";
import { isDatabaseUnavailable, toHttpError } from "../../lib/errors";
import { DbMixin } from "../../mixins/db.mixin";

const CLOSED_PORT_URL = "postgres://postgres@127.0.0.1:1/postgres";

async function errorOf(work: () => Promise<unknown>): Promise<unknown> {
  try {
    await work();
  } catch (err) {
    return err;
  }
  throw new Error("expected a failure");
}

describe("database unavailable → 503", () => {
  it("a refused connection (pg and Sequelize) is unavailability", async () => {
    const viaPg = await errorOf(() => new Client({ connectionString: CLOSED_PORT_URL }).connect());
    const sequelize = new Sequelize(CLOSED_PORT_URL, { logging: false });
    const viaSequelize = await errorOf(() => sequelize.query("SELECT 1"));
    await sequelize.close();

    expect(isDatabaseUnavailable(viaPg)).toBe(true);
    expect(isDatabaseUnavailable(viaSequelize)).toBe(true);
  });

  it("a backend terminated under a running query (a server restart) is unavailability", async () => {
    const sequelize = new Sequelize(ADMIN_DB_URL, {
      logging: false,
      dialectOptions: { application_name: "campus-unavailable-test" },
    });
    const admin = new Client({ connectionString: ADMIN_DB_URL });
    await admin.connect();
    try {
      const running = errorOf(() => sequelize.query("SELECT pg_sleep(10)"));
      for (let i = 0; i < 50; i += 1) {
        const { rowCount } = await admin.query(
          `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
           WHERE application_name = 'campus-unavailable-test' AND query LIKE '%pg_sleep%'`,
        );
        if (rowCount) break;
        await new Promise((done) => setTimeout(done, 50));
      }
      const err = await running;

      expect(isDatabaseUnavailable(err)).toBe(true);
    } finally {
      await admin.end();
      await sequelize.close();
    }
  });

  it("a wrong statement, a constraint and a bad value stay what they are", async () => {
    const sequelize = new Sequelize(ADMIN_DB_URL, { logging: false });
    try {
      const syntax = await errorOf(() => sequelize.query("SELEC 1"));
      const badValue = await errorOf(() => sequelize.query("SELECT 'x'::int"));
      const constraint = await errorOf(() =>
        sequelize.query("CREATE TEMP TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1), (1)"),
      );

      for (const err of [syntax, badValue, constraint])
        expect(isDatabaseUnavailable(err)).toBe(false);
      expect(isDatabaseUnavailable(new Error("boom"))).toBe(false);
      expect(isDatabaseUnavailable(undefined)).toBe(false);
    } finally {
      await sequelize.close();
    }
  });

  it("a service's action that meets it answers 503 with Retry-After, telling nothing of the database", async () => {
    const mixin = DbMixin("students", loadConfig({ LOG_FORMAT: "json" }), {
      model: { name: "probe", define: {}, options: {} },
      migrations: [],
      uniqueViolations: {},
    });
    const errorHook = (
      mixin.hooks as { error: Record<string, (ctx: object, err: unknown) => unknown> }
    ).error["*"];
    const logger = { warn: jest.fn() };
    const refused = await errorOf(() =>
      new Client({ connectionString: CLOSED_PORT_URL }).connect(),
    );
    const thrown = await errorOf(async () => errorHook.call({ logger }, {}, refused));
    const answer = toHttpError(thrown);

    expect(answer.status).toBe(503);
    expect(answer.headers["Retry-After"]).toBeDefined();
    expect(JSON.stringify(answer.body)).not.toMatch(/5432|ECONNREFUSED|postgres|sequelize/i);
    // Anything else goes through unchanged.
    const other = new Error("boom");
    expect(await errorOf(async () => errorHook.call({ logger }, {}, other))).toBe(other);
  });
});
