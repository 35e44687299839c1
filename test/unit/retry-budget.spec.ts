import { RetryBudget } from "../../lib/fault-tolerance";

describe("RetryBudget (retries a node may make over any second)", () => {
  let now = 10_000;
  const budget = () => new RetryBudget(0.2, 10, () => now);

  it("allows at least 10 retries a second, however few calls were made", () => {
    const b = budget();
    const allowed = Array.from({ length: 15 }, () => b.allowRetry()).filter(Boolean);
    expect(allowed).toHaveLength(10);
  });

  it("allows 20 % of the calls of the last second when that is more", () => {
    const b = budget();
    for (let i = 0; i < 200; i += 1) b.recordCall();
    const allowed = Array.from({ length: 60 }, () => b.allowRetry()).filter(Boolean);
    expect(allowed).toHaveLength(40);
  });

  it("counts the previous second too, and forgets what is older", () => {
    const b = budget();
    for (let i = 0; i < 10; i += 1) expect(b.allowRetry()).toBe(true);
    now += 1000;
    expect(b.allowRetry()).toBe(false); // the previous second's 10 still count
    now += 1000;
    expect(b.allowRetry()).toBe(true);
    now += 5000;
    for (let i = 0; i < 10; i += 1) expect(b.allowRetry()).toBe(true);
  });
});
