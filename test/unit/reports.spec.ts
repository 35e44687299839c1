/**
 * The arithmetic of the monitoring report: the load client's per-request figures (quantiles,
 * failures per window and per second), and how Prometheus range results become chart lines and
 * a Vega-Lite specification.
 */
import { lineChartSpec, toLines, withGaps } from "../../reports/charts";
import { perSecond, quantile, timedLoad, windowStats, type Sample } from "../../reports/load";

const samples: Sample[] = [
  { at: 0, ms: 10, status: 200 },
  { at: 400, ms: 30, status: 200 },
  { at: 1200, ms: 20, status: 200 },
  { at: 1500, ms: 900, status: 0 },
  { at: 1800, ms: 500, status: 503 },
  { at: 2500, ms: 15, status: 200 },
];

describe("the load client's figures", () => {
  it("takes quantiles by nearest rank", () => {
    const values = [5, 1, 4, 2, 3, 10, 9, 8, 7, 6];
    expect(quantile(values, 0.5)).toBe(5);
    expect(quantile(values, 0.95)).toBe(10);
    expect(quantile(values, 0.1)).toBe(1);
    expect(quantile([42], 0.99)).toBe(42);
    expect(quantile([], 0.5)).toBeNaN();
  });

  it("counts what was sent in a window, what failed by status, and its latencies", () => {
    expect(windowStats(samples, 1000, 2000)).toEqual({
      sent: 3,
      failed: 2,
      failures: { "0": 1, "503": 1 },
      p50: 500,
      p95: 900,
      p99: 900,
      max: 900,
    });
    expect(windowStats(samples, 0, 1000)).toEqual(
      expect.objectContaining({ sent: 2, failed: 0, failures: {}, max: 30 }),
    );
    expect(windowStats(samples, 5000, 6000).sent).toBe(0);
    expect(windowStats(samples, 5000, 6000).max).toBeNaN();
  });

  it("buckets requests by the second they were sent", () => {
    expect(perSecond(samples)).toEqual([
      { t: 0, sent: 2, failed: 0, maxMs: 30 },
      { t: 1, sent: 3, failed: 2, maxMs: 900 },
      { t: 2, sent: 1, failed: 0, maxMs: 15 },
    ]);
  });

  it("paces requests, keeps each one's status, and stops when told", async () => {
    let calls = 0;
    const run = await timedLoad(
      async () => {
        calls += 1;
        if (calls === 3) throw new Error("connection refused");
        return { status: calls === 4 ? 500 : 200 };
      },
      100,
      () => calls >= 10,
      5000,
    );
    expect(run.samples).toHaveLength(10);
    expect(run.samples.map((s) => s.status)).toEqual([
      200, 200, 0, 500, 200, 200, 200, 200, 200, 200,
    ]);
    // 10 requests at 100/s: about 100 ms, and never faster than the pace.
    expect(run.endedAt - run.startedAt).toBeGreaterThanOrEqual(90);
    expect(run.samples[9].at).toBeGreaterThanOrEqual(85);
  });
});

describe("charts from Prometheus range results", () => {
  it("turns series into lines with time relative to the origin, scaled, dropping NaN", () => {
    const origin = 1_700_000_000_000;
    const lines = toLines(
      [
        {
          metric: { nodeID: "students-1" },
          values: [
            [1_700_000_001, "0.25"],
            [1_700_000_002, "NaN"],
            [1_700_000_003.5, "0.5"],
          ],
        },
      ],
      origin,
      (m) => m.nodeID,
      1000,
    );
    expect(lines).toEqual([
      {
        name: "students-1",
        points: [
          { t: 1, value: 250 },
          { t: 3.5, value: 500 },
        ],
      },
    ]);
  });

  it("layers the lines and the event markers in one Vega-Lite specification", () => {
    const spec = lineChartSpec({
      file: "x.svg",
      title: "Latency",
      yTitle: "ms",
      lines: [{ name: "p99", points: [{ t: 0, value: 12 }] }],
      markers: [{ t: 30, label: "students-1 killed" }],
    }) as { title: string; layer: { data: { values: unknown[] }; mark: unknown }[] };
    expect(spec.title).toBe("Latency");
    expect(spec.layer).toHaveLength(3);
    expect(spec.layer[0].data.values).toEqual([{ t: 0, value: 12, series: "p99" }]);
    expect(spec.layer[2].data.values).toEqual([{ t: 30, label: "students-1 killed", row: 4 }]);
    const plain = lineChartSpec({ file: "y.svg", title: "T", yTitle: "y", lines: [] }) as {
      layer: unknown[];
    };
    expect(plain.layer).toHaveLength(1);
  });

  it("breaks a line where samples are missing (a node down) instead of joining the hole", () => {
    const line = {
      name: "students-1",
      points: [
        { t: 1, value: 7 },
        { t: 2, value: 7.5 },
        { t: 30, value: 6 },
      ],
    };
    expect(withGaps(line, 2.5)).toEqual([
      { t: 1, value: 7, series: "students-1" },
      { t: 2, value: 7.5, series: "students-1" },
      { t: 16, value: null, series: "students-1" },
      { t: 30, value: 6, series: "students-1" },
    ]);
  });
});
