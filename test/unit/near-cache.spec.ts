import { NearCache } from "../../lib/near-cache";
import { cacheKeys } from "../../mixins/cache-cleaner.mixin";

function clock(start = 1_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

describe("NearCache", () => {
  it("answers a value until its TTL passes, then forgets it", () => {
    const time = clock();
    const cache = new NearCache(1000, 10, time.now);
    cache.set("a", { id: "a" });

    time.advance(999);
    expect(cache.get("a")).toEqual({ id: "a" });
    time.advance(1);
    expect(cache.get("a")).toBeUndefined();
    expect(cache.size).toBe(0);
    expect({ hits: cache.hits, misses: cache.misses }).toEqual({ hits: 1, misses: 1 });
  });

  it("keeps null (an absent account is an answer) but not undefined", () => {
    const cache = new NearCache(1000, 10);
    cache.set("none", null);
    cache.set("nothing", undefined);
    expect(cache.get("none")).toBeNull();
    expect(cache.get("nothing")).toBeUndefined();
  });

  it("stores nothing when its TTL is 0 (turned off)", () => {
    const cache = new NearCache(0, 10);
    cache.set("a", 1);
    expect(cache.get("a")).toBeUndefined();
  });

  it("evicts the least recently used entry beyond its size", () => {
    const cache = new NearCache(1000, 2);
    cache.set("a", 1);
    cache.set("b", 2);
    cache.get("a");
    cache.set("c", 3);
    expect(cache.get("b")).toBeUndefined();
    expect(cache.get("a")).toBe(1);
    expect(cache.get("c")).toBe(3);
  });

  it("is cleaned by the same patterns a write cleans from the shared cache", () => {
    const cache = new NearCache(60_000, 100);
    const id = "0b0e6f4e-3c55-4d0c-9d39-2c8b3a4d5e6f";
    const other = "5f4d3c2b-1a09-4876-b5a4-93827161504f";
    cache.set(`students.byId:"${id}"`, "mine");
    cache.set(`students.byId:"${other}"`, "other's");
    cache.set(`students.byIds:["${other}"|"${id}"]`, "list with mine");
    cache.set(`courses.coursesOfStudent:"${id}"|1|20`, "page 1");
    cache.set(`courses.coursesOfStudent:"${id}"|2|20`, "page 2");
    cache.set(`courses.coursesOfStudent:"${other}"|1|20`, "other's page");

    const removed = cache.clean([
      cacheKeys.exact("students.byId", id),
      cacheKeys.containing("students.byIds", id),
      cacheKeys.startingWith("courses.coursesOfStudent", id),
    ]);

    expect(removed).toBe(4);
    expect(cache.get(`students.byId:"${other}"`)).toBe("other's");
    expect(cache.get(`courses.coursesOfStudent:"${other}"|1|20`)).toBe("other's page");
    expect(cache.size).toBe(2);
  });
});
