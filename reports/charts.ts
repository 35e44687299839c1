/**
 * Charts of the reports: Prometheus range queries drawn as SVG line charts by Vega-Lite (compiled
 * to Vega and rendered headless, no browser). Each chart is a file under docs/reports/<dir>/,
 * linked from its report; the data points are the query's own values.
 */
import { mkdirSync, writeFileSync } from "fs";
import { join } from "path";
import { REPORT_DIR } from "./common";

/** One Prometheus range query's answer: a series per label set, [unix seconds, value] points. */
export interface RangeSeries {
  metric: Record<string, string>;
  values: [number, string][];
}

export async function queryRange(
  url: string,
  expr: string,
  start: number,
  end: number,
  stepSeconds = 1,
): Promise<RangeSeries[]> {
  const params = new URLSearchParams({
    query: expr,
    start: (start / 1000).toFixed(3),
    end: (end / 1000).toFixed(3),
    step: String(stepSeconds),
  });
  const response = await fetch(`${url}/api/v1/query_range?${params}`);
  const body = (await response.json()) as {
    status: string;
    data: { result: RangeSeries[] };
    error?: string;
  };
  if (body.status !== "success") throw new Error(`${expr}: ${body.error}`);
  return body.data.result;
}

/** A chart's line: its name in the legend and its points (seconds since the origin, value). */
export interface Line {
  name: string;
  points: { t: number; value: number }[];
}

/** Range series → lines, named by `name(metric)`, time relative to `origin` (ms), scaled. */
export function toLines(
  series: RangeSeries[],
  origin: number,
  name: (metric: Record<string, string>) => string,
  scale = 1,
): Line[] {
  return series.map((s) => ({
    name: name(s.metric),
    points: s.values
      .map(([t, v]) => ({
        t: Math.round((t * 1000 - origin) / 100) / 10,
        value: Number(v) * scale,
      }))
      .filter((p) => Number.isFinite(p.value)),
  }));
}

/** A vertical rule with a label: an event of the run (a node killed, restarted…). */
export interface Marker {
  t: number;
  label: string;
}

export interface ChartSpec {
  file: string;
  title: string;
  yTitle: string;
  lines: Line[];
  markers?: Marker[];
  xTitle?: string;
  /** Points further apart than this (seconds) are not joined; 2.5 s by default (1 s steps). */
  gapSeconds?: number;
}

/**
 * A line's points with a null between two points further apart than `gap` seconds: the line
 * breaks there (a node that was down has no samples) instead of joining across the hole.
 */
export function withGaps(
  line: Line,
  gap: number,
): { t: number; value: number | null; series: string }[] {
  const out: { t: number; value: number | null; series: string }[] = [];
  line.points.forEach((point, index) => {
    const previous = line.points[index - 1];
    if (previous && point.t - previous.t > gap) {
      out.push({ t: (previous.t + point.t) / 2, value: null, series: line.name });
    }
    out.push({ t: point.t, value: point.value, series: line.name });
  });
  return out;
}

/** The Vega-Lite specification of a line chart with optional event markers. */
export function lineChartSpec(chart: ChartSpec): Record<string, unknown> {
  const values = chart.lines.flatMap((line) => withGaps(line, chart.gapSeconds ?? 2.5));
  const layers: Record<string, unknown>[] = [
    {
      data: { values },
      mark: { type: "line", interpolate: "linear", strokeWidth: 1.5 },
      encoding: {
        x: {
          field: "t",
          type: "quantitative",
          title: chart.xTitle ?? "seconds since the load started",
        },
        y: { field: "value", type: "quantitative", title: chart.yTitle },
        color: {
          field: "series",
          type: "nominal",
          title: null,
          legend: { orient: "bottom", columns: 4, labelLimit: 400 },
        },
      },
    },
  ];
  if (chart.markers?.length) {
    // Labels stacked in rows from the top of the plot, so markers close in time stay readable.
    const labels = chart.markers.map((marker, index) => ({ ...marker, row: 4 + (index % 3) * 13 }));
    layers.push(
      {
        data: { values: chart.markers },
        mark: { type: "rule", strokeDash: [4, 3], color: "#666" },
        encoding: { x: { field: "t", type: "quantitative" } },
      },
      {
        data: { values: labels },
        mark: { type: "text", align: "left", dx: 3, baseline: "top", color: "#333" },
        encoding: {
          x: { field: "t", type: "quantitative" },
          y: { field: "row", type: "quantitative", scale: null },
          text: { field: "label" },
        },
      },
    );
  }
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: chart.title,
    width: 640,
    height: 220,
    background: "white",
    layer: layers,
  };
}

/** Renders the chart to docs/reports/<file> and returns the Markdown image that links it. */
export async function renderChart(chart: ChartSpec): Promise<string> {
  // ESM-only packages, loaded from this CommonJS module at run time (vega-lite's typings need a
  // module resolution this project does not use: its one call is typed here).
  const vega = await import("vega");
  const vegaLite = "vega-lite";
  const vl = (await import(vegaLite)) as { compile(spec: unknown): { spec: unknown } };
  const compiled = vl.compile(lineChartSpec(chart)).spec;
  const view = new vega.View(vega.parse(compiled as never), { renderer: "none" });
  const svg = await view.toSVG();
  view.finalize();
  const path = join(REPORT_DIR, chart.file);
  mkdirSync(join(path, ".."), { recursive: true });
  writeFileSync(path, svg);
  return `![${chart.title}](${chart.file})`;
}

/** An instant query evaluated at `time` (ms): e.g. `increase(…[30s])` over one phase of a run. */
export async function queryAt(
  url: string,
  expr: string,
  time: number,
): Promise<{ metric: Record<string, string>; value: number }[]> {
  const params = new URLSearchParams({ query: expr, time: (time / 1000).toFixed(3) });
  const response = await fetch(`${url}/api/v1/query?${params}`);
  const body = (await response.json()) as {
    status: string;
    data: { result: { metric: Record<string, string>; value: [number, string] }[] };
    error?: string;
  };
  if (body.status !== "success") throw new Error(`${expr}: ${body.error}`);
  return body.data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
}
