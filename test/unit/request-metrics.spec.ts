/**
 * The lean request metrics record exactly what Moleculer's built-in "Metrics" middleware
 * records: the same calls on two brokers, one with each, give the same series.
 */
import { ServiceBroker, Errors } from "moleculer";
import { INTERNAL_MIDDLEWARES } from "../../middlewares/request-metrics.middleware";
import { BoundSeries } from "../../lib/metrics";

function brokerWith(lean: boolean): ServiceBroker {
  return new ServiceBroker({
    logger: false,
    metrics: { enabled: true, reporter: [] },
    ...(lean
      ? {
          internalMiddlewares: false,
          middlewares: INTERNAL_MIDDLEWARES,
        }
      : {}),
  });
}

async function exercise(broker: ServiceBroker): Promise<void> {
  broker.createService({
    name: "courses",
    actions: {
      get: async (ctx) => ctx.call("rooms.find", { n: 1 }),
      fail: () => {
        throw new Errors.MoleculerClientError("no", 422, "NOPE");
      },
    },
  });
  broker.createService({ name: "rooms", actions: { find: () => ({ ok: true }) } });
  await broker.start();
  for (let i = 0; i < 7; i += 1) await broker.call("courses.get");
  for (let i = 0; i < 3; i += 1) await broker.call("courses.fail").catch(() => undefined);
}

/** Every series of the request metrics: labels and values, without times. */
function requestSeries(broker: ServiceBroker) {
  const names = [
    "moleculer.request.total",
    "moleculer.request.active",
    "moleculer.request.error.total",
    "moleculer.request.levels",
    "moleculer.request.time",
  ];
  return names.map((name) => {
    const metric = broker.metrics.getMetric(name) as unknown as {
      snapshot(): { labels: unknown; value?: number; count?: number }[];
    };
    return [
      name,
      metric
        .snapshot()
        .filter((item) => (item.labels as { service?: string }).service !== "$node")
        .map((item) => ({ labels: item.labels, value: item.value, count: item.count }))
        .sort((a, b) => JSON.stringify(a.labels).localeCompare(JSON.stringify(b.labels))),
    ];
  });
}

it("records the same request series as Moleculer's built-in metrics middleware", async () => {
  const builtIn = brokerWith(false);
  const lean = brokerWith(true);
  try {
    await exercise(builtIn);
    await exercise(lean);
    const expected = requestSeries(builtIn);
    expect(requestSeries(lean)).toEqual(expected);
    // Not vacuous: 7 gets (each calling rooms.find at level 2) and 3 failures.
    const total = expected[0][1] as { labels: { action: string }; value: number }[];
    expect(total.map((item) => [item.labels.action, item.value])).toEqual(
      expect.arrayContaining([
        ["courses.get", 7],
        ["courses.fail", 3],
        ["rooms.find", 7],
      ]),
    );
  } finally {
    await Promise.all([builtIn.stop(), lean.stop()]);
  }
});

it("counts an observation in every bucket at or above it, as the histogram does", () => {
  const broker = new ServiceBroker({ logger: false, metrics: { enabled: true, reporter: [] } });
  broker.metrics.register({
    name: "test.time",
    type: "histogram",
    labelNames: ["route"],
    buckets: [1, 5, 10],
    quantiles: true,
  });
  const series = BoundSeries.of(broker, "test.time", { route: "/a" });
  for (const value of [0.5, 5, 7]) series.observe(value);
  // A second binding of the same labels is the same series.
  BoundSeries.of(broker, "test.time", { route: "/a" }).observe(12);
  broker.metrics.observe("test.time", 5, { route: "/b" });
  const [a, b] = (
    broker.metrics.getMetric("test.time") as unknown as {
      snapshot(): { count: number; sum: number; buckets: Record<string, number>; max: number }[];
    }
  ).snapshot();
  expect(a).toMatchObject({ count: 4, sum: 24.5, buckets: { 1: 1, 5: 2, 10: 3 }, max: 12 });
  expect(b).toMatchObject({ count: 1, buckets: { 1: 0, 5: 1, 10: 1 } });
});

it("shows every update in the next snapshot (Moleculer reuses a snapshot until a change)", async () => {
  const broker = brokerWith(true);
  try {
    await exercise(broker);
    const total = () =>
      (
        broker.metrics.getMetric("moleculer.request.total") as unknown as {
          snapshot(): { labels: { action: string }; value: number }[];
        }
      )
        .snapshot()
        .find((item) => item.labels.action === "courses.get")?.value;
    expect(total()).toBe(7);
    await broker.call("courses.get");
    expect(total()).toBe(8);
  } finally {
    await broker.stop();
  }
});
