import { ServiceBroker } from "moleculer";
import { BoundedMemoryCacher, MEMORY_CACHE_MAX_ENTRIES } from "../../lib/memory-cacher";
import { brokerOptions } from "../../moleculer.config";
import { loadConfig } from "../../lib/config";

/** A clock the test moves by hand. */
function manualClock() {
  let now = 1_000_000;
  return {
    now: () => now,
    advance(ms: number) {
      now += ms;
    },
  };
}

async function startedCacher(cacher: BoundedMemoryCacher): Promise<ServiceBroker> {
  const broker = new ServiceBroker({ logger: false, metrics: false, cacher });
  await broker.start();
  return broker;
}

describe("BoundedMemoryCacher", () => {
  it("holds at most its size bound, dropping the least recently used entry", async () => {
    const cacher = new BoundedMemoryCacher(300, 3);
    const broker = await startedCacher(cacher);
    try {
      for (const key of ["a", "b", "c"]) await cacher.set(key, { key });
      await cacher.get("a"); // a is now more recent than b
      await cacher.set("d", { key: "d" });

      expect(await cacher.get("a")).toEqual({ key: "a" });
      expect(await cacher.get("b")).toBeUndefined();
      expect(await cacher.get("d")).toEqual({ key: "d" });
    } finally {
      await broker.stop();
    }
  });

  it("does not renew an entry's time to live when it is read", async () => {
    const clock = manualClock();
    const cacher = new BoundedMemoryCacher(10, 100, clock);
    const broker = await startedCacher(cacher);
    try {
      await cacher.set("hot", { value: 1 });
      clock.advance(6000);
      expect(await cacher.get("hot")).toEqual({ value: 1 });
      clock.advance(5000); // 11 s after it was written, 5 s after the last read

      expect(await cacher.get("hot")).toBeUndefined();
    } finally {
      await broker.stop();
    }
  });

  it("is the cacher of a node without CACHER, bounded at 2000 entries", () => {
    const options = brokerOptions(
      loadConfig({ JWT_SECRET: "unit-test-secret-that-is-long-enough", DATA_DIR: ":memory:" }),
    );

    expect(options.cacher).toBeInstanceOf(BoundedMemoryCacher);
    expect(MEMORY_CACHE_MAX_ENTRIES).toBe(2000);
    expect(
      (options.cacher as unknown as { cache: { max: number; updateAgeOnGet: boolean } }).cache,
    ).toMatchObject({ max: 2000, updateAgeOnGet: false });
  });
});
