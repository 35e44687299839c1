/**
 * grafana/ without Grafana: the dashboards are provisioned from the folder Compose mounts, use
 * the provisioned Prometheus data source, every panel has a query, every query is valid PromQL
 * (checked by promtool as recording rules) and reads only metrics that exist — Campus's own
 * (lib/metrics.ts and the cacher and outbox series) or Moleculer's. The cluster suite
 * (test/cluster/observability.spec.ts) then runs every query against a real Prometheus.
 */
import { mkdtempSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { parseDocument, stringify } from "yaml";
import { METRIC_DEFINITIONS } from "../../lib/metrics";
import { CACHE_ERRORS_METRIC } from "../../lib/resilient-redis-cacher";
import { PUBLISH_FAILURES_METRIC } from "../../mixins/domain-events.mixin";
import { repoFile, runCommand } from "../helpers/delivery";
import {
  concreteExpr,
  dashboards,
  hasBinary,
  INSTALL_HINT,
  metricNames,
  moleculerMetricNames,
  panelQueries,
} from "../helpers/prometheus";

type Json = any;

const compose: Json = parseDocument(repoFile("docker-compose.yml"), { merge: true }).toJS({
  maxAliasCount: -1,
});
const provisioning: Json = parseDocument(
  repoFile("grafana/provisioning/dashboards/dashboards.yml"),
).toJS();
const datasources: Json = parseDocument(
  repoFile("grafana/provisioning/datasources/datasources.yml"),
).toJS();

/** Moleculer's process and OS series are not in its constants file: the ones the panels use. */
const PROCESS_METRICS = ["process_memory_rss", "up"];

describe("grafana/dashboards", () => {
  it("are provisioned from the folder Compose mounts into Grafana", () => {
    const [provider] = provisioning.providers;
    expect(provider.type).toBe("file");
    expect(compose.services.grafana.volumes).toContain(
      `./grafana/dashboards:${provider.options.path}:ro`,
    );
    expect(compose.services.grafana.volumes).toContain(
      "./grafana/provisioning:/etc/grafana/provisioning:ro",
    );
  });

  it("are the four dashboards of the issue, each with its own uid", () => {
    const list = dashboards();
    expect(list.map((d) => d.json.uid).sort()).toEqual([
      "campus-business",
      "campus-cache",
      "campus-interaction",
      "campus-overview",
    ]);
    expect(new Set(list.map((d) => d.json.title)).size).toBe(list.length);
  });

  it("query the provisioned Prometheus data source, and every panel has a query", () => {
    const prometheus = datasources.datasources.find((d: Json) => d.type === "prometheus");
    for (const { file, json } of dashboards()) {
      for (const panel of json.panels.filter((p: Json) => p.type !== "row")) {
        expect({ file, panel: panel.title, uid: panel.datasource?.uid }).toEqual({
          file,
          panel: panel.title,
          uid: prometheus.uid,
        });
        expect({ file, panel: panel.title, targets: panel.targets?.length > 0 }).toEqual({
          file,
          panel: panel.title,
          targets: true,
        });
      }
      const usesNode = JSON.stringify(json.panels).includes("$node");
      const variables = json.templating.list.map((v: Json) => v.name);
      if (usesNode) expect(variables).toContain("node");
    }
  });

  it("read only metrics that exist: Campus's own, or Moleculer's", () => {
    const known = new Set([
      ...METRIC_DEFINITIONS.map((d) => d.name),
      CACHE_ERRORS_METRIC,
      PUBLISH_FAILURES_METRIC,
      ...moleculerMetricNames(),
      ...PROCESS_METRICS,
    ]);
    const withSuffixes = (name: string) => [name, name.replace(/_(bucket|sum|count)$/, "")];
    const unknown = panelQueries().flatMap((q) =>
      metricNames(q.expr)
        .filter((name) => !withSuffixes(name).some((n) => known.has(n)))
        .map((name) => `${q.dashboard} / ${q.panel}: ${name}`),
    );
    expect(unknown).toEqual([]);
  });

  it("never group or filter by an id-like label (only bounded labels reach the panels)", () => {
    for (const q of panelQueries()) {
      expect({ panel: q.panel, expr: q.expr }).not.toEqual({
        panel: q.panel,
        expr: expect.stringMatching(/\b(userId|studentId|courseId|requestID|url)\b/),
      });
    }
  });

  it("are valid PromQL once Grafana's variables are replaced (promtool check rules)", async () => {
    if (!hasBinary("promtool")) throw new Error(`promtool is required: ${INSTALL_HINT}`);
    const queries = panelQueries();
    const rules = {
      groups: [
        {
          name: "dashboard-queries",
          rules: queries.map((q, index) => ({
            record: `campus:dashboard_query:${index}`,
            expr: concreteExpr(q.expr),
          })),
        },
      ],
    };
    const dir = mkdtempSync(join(tmpdir(), "campus-dashboards-"));
    try {
      writeFileSync(join(dir, "queries.yml"), stringify(rules));
      const result = await runCommand("promtool", ["check", "rules", "queries.yml"], {
        cwd: dir,
      });
      expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: "" });
      expect(result.stdout).toContain(`SUCCESS: ${queries.length} rules found`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
