import { toHttpError } from "../../lib/errors";
import { WorkPool } from "../../services/users/work-pool";
import { hashingPool, HASHING_CONCURRENCY, HASHING_QUEUE } from "../../services/users/passwords";

/** A task that finishes when the test says so. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, task: () => opened.then(() => "done") };
}

describe("WorkPool", () => {
  it("runs at most `concurrency` tasks and queues the next ones", async () => {
    const pool = new WorkPool(2, 2);
    const gates = [gate(), gate(), gate()];
    const results = gates.map((g) => pool.run(g.task));

    expect(pool.load).toEqual({ running: 2, queued: 1 });
    gates.forEach((g) => g.open());
    expect(await Promise.all(results)).toEqual(["done", "done", "done"]);
    expect(pool.load).toEqual({ running: 0, queued: 0 });
  });

  it("refuses a task beyond the running and queued ones with 503 and Retry-After", async () => {
    const pool = new WorkPool(1, 1);
    const gates = [gate(), gate()];
    const accepted = gates.map((g) => pool.run(g.task));

    const refused = await pool.run(async () => "never").catch((err: unknown) => err);

    const http = toHttpError(refused);
    expect(http.status).toBe(503);
    expect(Number(http.headers["Retry-After"])).toBeGreaterThan(0);
    expect((refused as { retryable?: boolean }).retryable).toBe(false);
    gates.forEach((g) => g.open());
    await Promise.all(accepted);
  });

  it("frees the slot of a task that failed", async () => {
    const pool = new WorkPool(1, 0);
    await expect(pool.run(() => Promise.reject(new Error("boom")))).rejects.toThrow("boom");

    expect(await pool.run(async () => "next")).toBe("next");
  });

  it("bounds password hashing at 2 running and 16 queued", () => {
    expect([HASHING_CONCURRENCY, HASHING_QUEUE]).toEqual([2, 16]);
    expect([hashingPool.concurrency, hashingPool.maxQueued]).toEqual([2, 16]);
  });
});
