/**
 * Prometheus and Grafana files as the tests use them: the dashboards' queries (with Grafana's
 * variables made concrete), the metric names a query reads, a real `prometheus` server started on
 * a free port and stopped by its PID, and its HTTP query API. The binaries are Debian's
 * (`apt-get install prometheus`, see .ci/observability-tools.sh).
 */
import { spawn, spawnSync, type ChildProcess } from "child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "fs";
import { createServer } from "net";
import { tmpdir } from "os";
import { join, resolve } from "path";
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";

export const ROOT = resolve(__dirname, "../..");
export const DASHBOARD_DIR = join(ROOT, "grafana/dashboards");

export function hasBinary(name: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${name}`]).status === 0;
}

export const INSTALL_HINT =
  "install Debian's prometheus package (apt-get install -y prometheus, or bash .ci/observability-tools.sh)";

export interface PanelQuery {
  dashboard: string;
  panel: string;
  refId: string;
  expr: string;
}

type Panel = {
  title?: string;
  type?: string;
  panels?: Panel[];
  targets?: { refId?: string; expr?: string }[];
};

export function dashboards(): { file: string; json: any }[] {
  return readdirSync(DASHBOARD_DIR)
    .filter((file) => file.endsWith(".json"))
    .sort()
    .map((file) => ({ file, json: JSON.parse(readFileSync(join(DASHBOARD_DIR, file), "utf8")) }));
}

/** Every query target of every panel (rows' nested panels included) of every dashboard. */
export function panelQueries(): PanelQuery[] {
  const queries: PanelQuery[] = [];
  const visit = (dashboard: string, panels: Panel[]) => {
    for (const panel of panels) {
      if (panel.panels) visit(dashboard, panel.panels);
      for (const target of panel.targets ?? []) {
        queries.push({
          dashboard,
          panel: panel.title ?? "(untitled)",
          refId: target.refId ?? "?",
          expr: target.expr ?? "",
        });
      }
    }
  };
  for (const { file, json } of dashboards()) visit(file, json.panels ?? []);
  return queries;
}

/** Grafana's variables replaced by what "All" and a short range would give. */
export function concreteExpr(expr: string): string {
  return expr
    .replace(/\$__rate_interval|\$__interval|\$__range/g, "1m")
    .replace(/\$\{?node(:regex)?\}?/g, ".*");
}

/** Metric names a PromQL expression reads (Campus's, Moleculer's, process/os, `up`). */
export function metricNames(expr: string): string[] {
  const names = new Set<string>();
  for (const match of expr.matchAll(/\b(?:campus|moleculer|process|os)_[A-Za-z0-9_]+/g)) {
    names.add(match[0]);
  }
  if (/\bup\{/.test(expr)) names.add("up");
  return [...names];
}

/** Prometheus names of Moleculer's own metrics (`moleculer.circuit-breaker.opened.active` → …). */
export function moleculerMetricNames(): Set<string> {
  const sources = [
    "node_modules/moleculer/src/metrics/constants.js",
    "node_modules/@moleculer/channels/src/constants.js",
  ].map((path) => readFileSync(join(ROOT, path), "utf8"));
  const names = new Set<string>();
  for (const source of sources) {
    for (const match of source.matchAll(/"(moleculer\.[A-Za-z0-9.-]+)"/g)) {
      names.add(match[1].replace(/[.-]/g, "_"));
    }
  }
  return names;
}

export function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.on("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    });
  });
}

export interface PrometheusServer {
  url: string;
  pid: number;
  dir: string;
  stop(): Promise<void>;
}

/**
 * A real Prometheus on a free port with `config` (YAML text) and the given rule files copied
 * beside it. Resolves once `/-/ready` answers.
 */
export async function startPrometheus(
  config: string,
  files: Record<string, string> = {},
): Promise<PrometheusServer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "campus-prometheus-"));
  writeFileSync(join(dir, "prometheus.yml"), config);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  const child: ChildProcess = spawn(
    "prometheus",
    [
      `--config.file=${join(dir, "prometheus.yml")}`,
      `--storage.tsdb.path=${join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--log.level=warn",
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  child.stderr!.on("data", (chunk) => (stderr += chunk));
  const exited = new Promise<void>((done) => child.once("exit", () => done()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`prometheus exited: ${stderr}`);
    try {
      if ((await fetch(`${url}/-/ready`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`prometheus not ready within 30 s: ${stderr}`);
    }
    await new Promise((done) => setTimeout(done, 200));
  }
  return {
    url,
    pid: child.pid!,
    dir,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, "SIGTERM");
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface QueryResult {
  resultType: string;
  result: { metric: Record<string, string>; value?: [number, string] }[];
}

/** An instant query through /api/v1/query; throws with Prometheus's error on a bad query. */
export async function query(url: string, expr: string): Promise<QueryResult> {
  const response = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(expr)}`);
  const body = (await response.json()) as { status: string; data: QueryResult; error?: string };
  if (body.status !== "success") throw new Error(`${expr}: ${body.error}`);
  return body.data;
}

export async function apiGet<T = any>(url: string, path: string): Promise<T> {
  const body = (await (await fetch(`${url}${path}`)).json()) as { status: string; data: T };
  if (body.status !== "success") throw new Error(`${path}: ${JSON.stringify(body)}`);
  return body.data;
}

/** What the Kubernetes job needs to know of a node to scrape it as a pod. */
export interface ScrapedNode {
  name: string;
  /** The Campus service the node runs (the Deployment's component label). */
  service: string;
  port: number;
  metricsPort: number;
}

/**
 * A Prometheus configuration for nodes on this machine that uses the repository's own
 * `campus-pods` job — its relabelling unchanged — with Kubernetes discovery replaced by a file
 * listing each node as Kubernetes would describe its pod: the pod's address with the HTTP port,
 * and the `prometheus.io/*` annotations naming the metrics port and path. Two decoy pods (not
 * annotated for scraping, and another application) must be dropped by the job.
 */
export function clusterPrometheusConfig(
  nodes: ScrapedNode[],
  scrapeInterval = "1s",
): { config: string; files: Record<string, string> } {
  const repo = parseYaml(readFileSync(join(ROOT, "prometheus/prometheus.yml"), "utf8"));
  const job = repo.scrape_configs.find((j: any) => j.job_name === "campus-pods");
  const pod = (
    name: string,
    component: string,
    address: string,
    annotations: Record<string, string>,
    app = "campus",
  ) => ({
    targets: [address],
    labels: {
      __meta_kubernetes_namespace: "campus",
      __meta_kubernetes_pod_name: name,
      __meta_kubernetes_pod_label_app_kubernetes_io_name: app,
      __meta_kubernetes_pod_label_app_kubernetes_io_component: component,
      ...Object.fromEntries(
        Object.entries(annotations).map(([key, value]) => [
          `__meta_kubernetes_pod_annotation_prometheus_io_${key}`,
          value,
        ]),
      ),
    },
  });
  const targets = [
    ...nodes.map((node) =>
      pod(node.name, node.service, `127.0.0.1:${node.port}`, {
        scrape: "true",
        port: String(node.metricsPort),
        path: "/metrics",
      }),
    ),
    pod("not-annotated", "api", "127.0.0.1:9", { scrape: "false", port: "9" }),
    pod("other-app", "web", "127.0.0.1:9", { scrape: "true", port: "9" }, "other"),
  ];
  const config = {
    global: { scrape_interval: scrapeInterval, evaluation_interval: scrapeInterval },
    rule_files: repo.rule_files,
    scrape_configs: [
      {
        job_name: job.job_name,
        scrape_interval: scrapeInterval,
        scrape_timeout: scrapeInterval,
        file_sd_configs: [{ files: ["targets.json"], refresh_interval: "1s" }],
        relabel_configs: job.relabel_configs,
      },
    ],
  };
  const files: Record<string, string> = { "targets.json": JSON.stringify(targets, null, 2) };
  for (const file of repo.rule_files as string[]) {
    files[file] = readFileSync(join(ROOT, "prometheus", file), "utf8");
  }
  return { config: stringifyYaml(config), files };
}

/**
 * Waits until Prometheus scrapes `count` targets successfully. Its discovery hands new targets
 * to the scraper at most every 5 s, so the first scrapes come several seconds after start:
 * series that change before then are first seen with their later values.
 */
export async function waitForTargets(url: string, count: number, timeoutMs = 30000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const targets = await apiGet(url, "/api/v1/targets");
    const up = targets.activeTargets.filter((t: any) => t.health === "up").length;
    if (up >= count) return targets;
    if (Date.now() > deadline)
      throw new Error(`${up} of ${count} targets up after ${timeoutMs} ms`);
    await new Promise((done) => setTimeout(done, 250));
  }
}
