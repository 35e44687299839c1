/**
 * prometheus/ with Prometheus's own tool: `promtool check config` (the scrape configuration and
 * the rule file it loads), `promtool check rules` and `promtool test rules` (alerts.test.yml).
 * Then the wiring: every alert has a test where it fires and one where it stays silent, the
 * Kubernetes scrape job keeps exactly the pods k8s/base annotates, and Compose mounts the rules
 * where prometheus.yml looks for them. These tests do not skip: without promtool they fail.
 */
import { ALL_SERVICES } from "../../lib/config";
import { cpSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { parseAllDocuments, parseDocument, stringify } from "yaml";
import { repoFile, runCommand } from "../helpers/delivery";
import { METRIC_DEFINITIONS } from "../../lib/metrics";
import { CACHE_ERRORS_METRIC } from "../../lib/resilient-redis-cacher";
import { PUBLISH_FAILURES_METRIC } from "../../mixins/domain-events.mixin";
import {
  hasBinary,
  INSTALL_HINT,
  metricNames,
  moleculerMetricNames,
  ROOT,
} from "../helpers/prometheus";

type Json = any;

const prometheusConfig: Json = parseDocument(repoFile("prometheus/prometheus.yml")).toJS();
const alertGroups: Json[] = parseDocument(repoFile("prometheus/alerts.yml")).toJS().groups;
const alertTests: Json = parseDocument(repoFile("prometheus/alerts.test.yml")).toJS();
const alerts: Json[] = alertGroups.flatMap((group) => group.rules.filter((r: Json) => r.alert));

async function promtool(...args: string[]) {
  return runCommand("promtool", args, { cwd: join(ROOT, "prometheus"), timeoutMs: 60000 });
}

beforeAll(() => {
  if (!hasBinary("promtool")) {
    throw new Error(
      `promtool is required to check prometheus/: ${INSTALL_HINT} — these tests do not skip`,
    );
  }
});

describe("prometheus/prometheus.yml", () => {
  it("passes `promtool check config`, which also checks the rule file it loads", async () => {
    const result = await promtool("check", "config", "prometheus.yml");
    if (result.code === 0) {
      expect(result.stdout).toContain("SUCCESS: 1 rule files found");
      return;
    }
    // Debian and Ubuntu build Prometheus without Kubernetes discovery. Then the same file is
    // checked with each kubernetes_sd_configs replaced by a static target: every relabelling
    // rule, regex and label is still checked by promtool; the discovery block by the next test.
    expect(result.stderr).toContain("field kubernetes_sd_configs not found");
    const dir = mkdtempSync(join(tmpdir(), "campus-promtool-"));
    try {
      const copy = structuredClone(prometheusConfig);
      for (const job of copy.scrape_configs) {
        if (job.kubernetes_sd_configs) {
          delete job.kubernetes_sd_configs;
          job.static_configs = [{ targets: ["pod.invalid:3030"] }];
        }
      }
      writeFileSync(join(dir, "prometheus.yml"), stringify(copy));
      cpSync(join(ROOT, "prometheus/alerts.yml"), join(dir, "alerts.yml"));
      const checked = await runCommand("promtool", ["check", "config", "prometheus.yml"], {
        cwd: dir,
      });
      expect({ code: checked.code, stderr: checked.stderr }).toEqual({ code: 0, stderr: "" });
      expect(checked.stdout).toContain("SUCCESS: 1 rule files found");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("discovers the pods of the campus namespace and keeps only annotated Campus pods", () => {
    const job = prometheusConfig.scrape_configs.find((j: Json) => j.kubernetes_sd_configs);
    expect(job.job_name).toBe("campus-pods");
    const kustomization: Json = parseDocument(repoFile("k8s/base/kustomization.yaml")).toJS();
    expect(job.kubernetes_sd_configs).toEqual([
      { role: "pod", namespaces: { names: [kustomization.namespace] } },
    ]);
    const keeps = job.relabel_configs.filter((r: Json) => r.action === "keep");
    const keep = (label: string) => keeps.find((r: Json) => r.source_labels[0] === label)?.regex;
    expect(keep("__meta_kubernetes_pod_annotation_prometheus_io_scrape")).toBe("true");

    // Every Campus Deployment of k8s/base carries what the job keeps and reads.
    const base = join(ROOT, "k8s/base");
    const deployments = readdirSync(base)
      .filter((f) => f.endsWith(".yaml"))
      .flatMap((f) => parseAllDocuments(repoFile(`k8s/base/${f}`)).map((d) => d.toJS()))
      .filter((d: Json) => d?.kind === "Deployment");
    // One per service, the gateway included.
    expect(deployments.length).toBe(ALL_SERVICES.length);
    const nameRegex = new RegExp(
      `^(?:${keep("__meta_kubernetes_pod_label_app_kubernetes_io_name")})$`,
    );
    for (const deployment of deployments) {
      const { labels, annotations } = deployment.spec.template.metadata;
      const container = deployment.spec.template.spec.containers[0];
      const metricsPort = container.ports.find((p: Json) => p.name === "metrics").containerPort;
      expect({
        name: deployment.metadata.name,
        app: nameRegex.test(labels["app.kubernetes.io/name"]),
        component: labels["app.kubernetes.io/component"],
        scrape: annotations["prometheus.io/scrape"],
        port: annotations["prometheus.io/port"],
        path: annotations["prometheus.io/path"],
      }).toEqual({
        name: deployment.metadata.name,
        app: true,
        component: deployment.metadata.name,
        scrape: "true",
        port: String(metricsPort),
        path: "/metrics",
      });
    }
  });

  it("is mounted by Compose beside the rule file, at the path rule_files names", () => {
    const compose: Json = parseDocument(repoFile("docker-compose.yml"), { merge: true }).toJS({
      maxAliasCount: -1,
    });
    const volumes: string[] = compose.services.prometheus.volumes;
    for (const file of prometheusConfig.rule_files) {
      expect(volumes).toContain(`./prometheus/${file}:/etc/prometheus/${file}:ro`);
    }
  });
});

describe("prometheus/alerts.yml", () => {
  it("passes `promtool check rules`", async () => {
    const result = await promtool("check", "rules", "alerts.yml");
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: "" });
    expect(result.stdout).toContain(`SUCCESS: ${alerts.length} rules found`);
  });

  it("passes its unit tests: `promtool test rules alerts.test.yml`", async () => {
    const result = await promtool("test", "rules", "alerts.test.yml");
    expect({ code: result.code, output: result.stdout + result.stderr }).toEqual({
      code: 0,
      output: expect.stringContaining("SUCCESS"),
    });
  });

  it("has, for every alert, a test case where it fires and one where it stays silent", () => {
    const cases = alertTests.tests.flatMap((test: Json) => test.alert_rule_test ?? []);
    const untested = alerts
      .map((rule) => rule.alert)
      .filter((name) => {
        const own = cases.filter((c: Json) => c.alertname === name);
        const fires = own.some((c: Json) => (c.exp_alerts ?? []).length > 0);
        const silent = own.some((c: Json) => (c.exp_alerts ?? []).length === 0);
        return !(fires && silent);
      });
    expect(untested).toEqual([]);
    expect(alerts.length).toBeGreaterThanOrEqual(12);
  });

  it("covers the failures the issue names", () => {
    const names = alerts.map((rule) => rule.alert);
    expect(names).toEqual(
      expect.arrayContaining([
        "CampusHighErrorRatio",
        "CampusHighLatencyP99",
        "CampusNodeDown",
        "CampusCircuitBreakerOpen",
        "CampusTransporterDisconnected",
        "CampusEventConsumerLag",
        "CampusEventPublishFailures",
        "CampusDatabaseNotReady",
        "CampusCacheErrors",
      ]),
    );
  });

  it("reads only metrics that exist: Campus's own, Moleculer's (0.15 names), or `up`", () => {
    const known = new Set([
      ...METRIC_DEFINITIONS.map((d) => d.name),
      CACHE_ERRORS_METRIC,
      PUBLISH_FAILURES_METRIC,
      ...moleculerMetricNames(),
      "up",
    ]);
    const unknown = alerts.flatMap((rule) =>
      metricNames(rule.expr)
        .filter((name) => !known.has(name) && !known.has(name.replace(/_(bucket|sum|count)$/, "")))
        .map((name) => `${rule.alert}: ${name}`),
    );
    expect(unknown).toEqual([]);
    // The breaker and transporter series under their Moleculer 0.15 names.
    expect(known).toContain("moleculer_circuit_breaker_opened_active");
    expect(known).toContain("moleculer_transit_connected");
  });

  it("gives every alert a severity (page or ticket), a summary and a description", () => {
    for (const rule of alerts) {
      expect({
        alert: rule.alert,
        severity: ["page", "ticket"].includes(rule.labels?.severity),
        summary: typeof rule.annotations?.summary,
        description: typeof rule.annotations?.description,
      }).toEqual({ alert: rule.alert, severity: true, summary: "string", description: "string" });
    }
  });
});
