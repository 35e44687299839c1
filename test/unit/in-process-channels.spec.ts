/**
 * The in-process channel adapter on a real broker: no message lost under a burst far beyond the
 * old event bulkhead's queue, failed deliveries tried again, a poisoned message dead-lettered
 * after the last attempt, and each consumer group served once.
 */
import { ServiceBroker, type Context } from "moleculer";
import { Middleware as ChannelsMiddleware } from "@moleculer/channels";
import { MAX_DELIVERIES } from "../../lib/domain-events";
import { IN_PROCESS_ADAPTER, redeliveryDelayMs, Slots } from "../../lib/in-process-channels";

function broker(maxInFlight = 10): ServiceBroker {
  return new ServiceBroker({
    logger: false,
    // The broker-wide event bulkhead that used to reject channel messages under load.
    bulkhead: { enabled: true, concurrency: 100, maxQueueSize: 1000 },
    middlewares: [
      ChannelsMiddleware({
        adapter: { type: IN_PROCESS_ADAPTER, options: { maxRetries: MAX_DELIVERIES, maxInFlight } },
        context: true,
      } as never) as never,
    ],
  });
}

type ChannelBroker = ServiceBroker & {
  sendToChannel(name: string, payload: object, opts?: object): Promise<void>;
};

describe("in-process channel adapter", () => {
  let node: ChannelBroker;
  afterEach(() => node?.stop());

  it("delivers all of 5,000 messages published at once, each once, never more than maxInFlight at a time", async () => {
    node = broker(10) as ChannelBroker;
    const seen = new Map<number, number>();
    let running = 0;
    let peak = 0;
    node.createService({
      name: "grades",
      channels: {
        "grade.recorded": {
          context: true,
          async handler(ctx: Context<{ n: number }>) {
            running += 1;
            peak = Math.max(peak, running);
            await new Promise((done) => setImmediate(done));
            seen.set(ctx.params.n, (seen.get(ctx.params.n) ?? 0) + 1);
            running -= 1;
          },
        },
      },
    } as never);
    await node.start();
    await Promise.all(
      Array.from({ length: 5000 }, (_, n) => node.sendToChannel("grade.recorded", { n })),
    );
    await node.stop();
    expect(seen.size).toBe(5000);
    expect([...seen.values()].every((count) => count === 1)).toBe(true);
    expect(peak).toBeLessThanOrEqual(10);
  });

  it("redelivers a failed message and dead-letters one that never succeeds", async () => {
    node = broker() as ChannelBroker;
    const attempts = new Map<string, number>();
    node.createService({
      name: "profiles",
      channels: {
        "quiz.scored": {
          context: true,
          async handler(ctx: Context<{ key: string; failures: number }>) {
            const tried = (attempts.get(ctx.params.key) ?? 0) + 1;
            attempts.set(ctx.params.key, tried);
            if (tried <= ctx.params.failures) throw new Error("database busy");
          },
        },
      },
    } as never);
    await node.start();
    await node.sendToChannel("quiz.scored", { key: "flaky", failures: 2 });
    await node.sendToChannel("quiz.scored", { key: "poison", failures: 99 });
    await node.stop(); // waits for the deliveries in flight, retries included
    expect(attempts.get("flaky")).toBe(3);
    expect(attempts.get("poison")).toBe(MAX_DELIVERIES);
  });

  it("gives every consumer group its own copy, and the request's meta travels with it", async () => {
    node = broker() as ChannelBroker;
    const got: Array<{ group: string; params: { list: number[] }; user: unknown }> = [];
    for (const name of ["gradebook", "notifications"]) {
      node.createService({
        name,
        channels: {
          "grade.recorded": {
            context: true,
            async handler(ctx: Context<{ list: number[] }, { user?: unknown }>) {
              ctx.params.list.push(1);
              got.push({ group: name, params: ctx.params, user: ctx.meta.user });
            },
          },
        },
      } as never);
    }
    await node.start();
    await node.sendToChannel(
      "grade.recorded",
      { list: [] },
      {
        ctx: { id: "p1", requestID: "r1", level: 1, tracing: false, meta: { user: { id: "u1" } } },
      },
    );
    await node.stop();
    expect(got.map((g) => g.group).sort()).toEqual(["gradebook", "notifications"]);
    for (const delivery of got) {
      expect(delivery.params.list).toEqual([1]);
      expect(delivery.user).toEqual({ id: "u1" });
    }
  });
});

describe("Slots", () => {
  it("hands a released slot to the longest waiter", async () => {
    const slots = new Slots(1);
    await slots.acquire();
    const order: string[] = [];
    const first = slots.acquire().then(() => order.push("first"));
    const second = slots.acquire().then(() => order.push("second"));
    slots.release();
    await first;
    slots.release();
    await second;
    expect(order).toEqual(["first", "second"]);
  });
});

describe("redeliveryDelayMs", () => {
  it("doubles from 100 ms and stops at 2 s", () => {
    expect([1, 2, 3, 4, 5, 6, 9].map(redeliveryDelayMs)).toEqual([
      100, 200, 400, 800, 1600, 2000, 2000,
    ]);
  });
});
