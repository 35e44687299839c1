import {
  MemoryCounterStore,
  RATE_WINDOW_MS,
  RateLimiter,
  rateLimitHeaders,
  type CounterStore,
} from "../../services/api/rate-limit";

const windowStart = 1_700_000_040_000 - (1_700_000_040_000 % RATE_WINDOW_MS);

function limiter(limit: number, store: CounterStore = new MemoryCounterStore()) {
  const warnings: string[] = [];
  return { limiter: new RateLimiter(store, "api", limit, (m) => warnings.push(m)), warnings };
}

describe("RateLimiter", () => {
  it("lets a client through up to its limit and counts down the remaining budget", async () => {
    const { limiter: budget } = limiter(3);

    const results = [];
    for (let i = 0; i < 3; i += 1)
      results.push(await budget.consume("10.0.0.1", windowStart + 1000));

    expect(results.map((r) => r?.remaining)).toEqual([2, 1, 0]);
  });

  it("answers 429 with the seconds until the window resets once the budget is spent", async () => {
    const { limiter: budget } = limiter(1);
    await budget.consume("10.0.0.1", windowStart + 15_000);

    await expect(budget.consume("10.0.0.1", windowStart + 15_000)).rejects.toMatchObject({
      code: 429,
      data: { retryAfter: 45 },
    });
  });

  it("counts each client separately", async () => {
    const { limiter: budget } = limiter(1);
    await budget.consume("10.0.0.1", windowStart);

    await expect(budget.consume("10.0.0.2", windowStart)).resolves.toMatchObject({ remaining: 0 });
  });

  it("gives a fresh budget in the next window", async () => {
    const { limiter: budget } = limiter(1);
    await budget.consume("10.0.0.1", windowStart);

    await expect(budget.consume("10.0.0.1", windowStart + RATE_WINDOW_MS)).resolves.not.toBeNull();
  });

  it("lets requests through and warns when the store is unavailable (fail-open)", async () => {
    const broken: CounterStore = {
      hit: () => Promise.reject(new Error("connection refused")),
      close: async () => undefined,
    };
    const { limiter: budget, warnings } = limiter(1, broken);

    await expect(budget.consume("10.0.0.1", windowStart)).resolves.toBeNull();
    expect(warnings).toEqual(["Rate limit store unavailable, request allowed: connection refused"]);
  });
});

describe("rateLimitHeaders", () => {
  it("gives the RateLimit-* headers, never a negative remaining", () => {
    expect(rateLimitHeaders({ limit: 10, remaining: -1, resetSeconds: 30 })).toEqual({
      "RateLimit-Limit": "10",
      "RateLimit-Remaining": "0",
      "RateLimit-Reset": "30",
    });
  });
});
