/**
 * The Kubernetes manifests without a cluster: each overlay is rendered with `kubectl kustomize`
 * (the prod overlay with its secrets.env made from the committed example), every object is
 * validated against the Kubernetes schemas (kubernetes-models: each object built with its class,
 * then `.validate()`), and the wiring is checked: selectors, ports, probes, ConfigMap and Secret
 * keys, autoscaler targets, the SERVICES of each Deployment, and every Campus container's
 * environment through the real configuration loader.
 */
import { spawnSync } from "child_process";
import { copyFileSync, cpSync, mkdtempSync, rmSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { parseAllDocuments } from "yaml";
import { ConfigMap, Namespace, Secret, Service } from "kubernetes-models/v1";
import { Deployment, StatefulSet } from "kubernetes-models/apps/v1";
import { HorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1";
import { Ingress } from "kubernetes-models/networking.k8s.io/v1";
import { ALL_SERVICES, parseServices } from "../../lib/config";
import { ROOT, configProblem, imageEnvironment, repoFile, runCommand } from "../helpers/delivery";

type Json = any;

const MODELS: Record<string, new (data: Json) => { validate(): void }> = {
  "v1/Namespace": Namespace,
  "v1/ConfigMap": ConfigMap,
  "v1/Secret": Secret,
  "v1/Service": Service,
  "apps/v1/Deployment": Deployment,
  "apps/v1/StatefulSet": StatefulSet,
  "autoscaling/v2/HorizontalPodAutoscaler": HorizontalPodAutoscaler,
  "policy/v1/PodDisruptionBudget": PodDisruptionBudget,
  "networking.k8s.io/v1/Ingress": Ingress,
};

const NAMESPACE = "campus";

class Rendered {
  constructor(readonly objects: Json[]) {}

  ofKind(kind: string): Json[] {
    return this.objects.filter((object) => object.kind === kind);
  }

  find(kind: string, name: string): Json | undefined {
    return this.ofKind(kind).find((object) => object.metadata.name === name);
  }

  /** Deployments and StatefulSets: everything that makes pods. */
  workloads(): Json[] {
    return [...this.ofKind("Deployment"), ...this.ofKind("StatefulSet")];
  }

  /** The Deployments that run the Campus image. */
  campusDeployments(): Json[] {
    return this.ofKind("Deployment").filter((d) =>
      d.spec.template.spec.containers.some((c: Json) =>
        c.env?.some((e: Json) => e.name === "SERVICES"),
      ),
    );
  }

  /** The environment a Campus container starts with: image ENV, envFrom, then env. */
  environmentOf(container: Json, podName: string): Record<string, string> {
    const env: Record<string, string> = { ...imageEnvironment() };
    for (const source of container.envFrom ?? []) {
      const ref = source.configMapRef ?? source.secretRef;
      Object.assign(env, this.dataOf(source.configMapRef ? "ConfigMap" : "Secret", ref.name));
    }
    for (const { name, value, valueFrom } of container.env ?? []) {
      if (value !== undefined) env[name] = value;
      else if (valueFrom.fieldRef) env[name] = podName;
      else if (valueFrom.secretKeyRef) {
        env[name] = this.dataOf("Secret", valueFrom.secretKeyRef.name)[valueFrom.secretKeyRef.key];
      } else if (valueFrom.configMapKeyRef) {
        env[name] = this.dataOf("ConfigMap", valueFrom.configMapKeyRef.name)[
          valueFrom.configMapKeyRef.key
        ];
      }
    }
    return env;
  }

  /** A ConfigMap's data, or a Secret's data decoded. */
  dataOf(kind: "ConfigMap" | "Secret", name: string): Record<string, string> {
    const object = this.find(kind, name);
    if (!object) throw new Error(`${kind} ${name} does not exist`);
    if (kind === "ConfigMap") return object.data ?? {};
    return Object.fromEntries(
      Object.entries<string>(object.data ?? {}).map(([key, value]) => [
        key,
        Buffer.from(value, "base64").toString("utf8"),
      ]),
    );
  }
}

/**
 * kustomize wraps a Secret's long base64 values at 70 columns. The API server decodes them with
 * Go's base64 decoder, which skips line breaks; kubernetes-models' "byte" format does not.
 */
function asSentToTheApiServer(object: Json): Json {
  if (object.kind !== "Secret" || !object.data) return object;
  const data = Object.fromEntries(
    Object.entries<string>(object.data).map(([key, value]) => [key, value.replace(/[\r\n]/g, "")]),
  );
  return { ...object, data };
}

function matches(selector: Record<string, string>, labels: Record<string, string> = {}): boolean {
  return Object.entries(selector).every(([key, value]) => labels[key] === value);
}

function declaresPort(container: Json, port: number | string): boolean {
  return (container.ports ?? []).some((p: Json) =>
    typeof port === "number" ? p.containerPort === port : p.name === port,
  );
}

function podsSelectedBy(rendered: Rendered, selector: Record<string, string>): Json[] {
  return rendered.workloads().filter((w) => matches(selector, w.spec.template.metadata.labels));
}

async function render(directory: string): Promise<Rendered> {
  const result = await runCommand("kubectl", ["kustomize", directory]);
  if (result.code !== 0)
    throw new Error(`kubectl kustomize ${directory} failed:\n${result.stderr}`);
  const documents = parseAllDocuments(result.stdout);
  if (!Array.isArray(documents)) throw new Error("no documents rendered");
  for (const document of documents) {
    if (document.errors.length) throw new Error(document.errors.map((e) => e.message).join("\n"));
  }
  return new Rendered(documents.map((document) => document.toJS()));
}

const hasKubectl = spawnSync("sh", ["-c", "command -v kubectl"]).status === 0;

const renders: Record<"dev" | "prod" | "contract", Rendered> = {} as never;
let prodCopy: string;

beforeAll(async () => {
  if (!hasKubectl) {
    throw new Error(
      "kubectl is required to render the Kubernetes manifests: install it (apt-get install " +
        "kubernetes-client, or the Kubernetes release) — these tests do not skip",
    );
  }
  const version = await runCommand("kubectl", ["version", "--client"]);
  const kustomize = /Kustomize Version: v(\d+)\.(\d+)/.exec(version.stdout);
  if (!kustomize || Number(kustomize[1]) < 5) {
    throw new Error(
      `kubectl's kustomize is ${kustomize?.[0] ?? "missing"}: the overlays need kustomize v5 ` +
        "(kubectl 1.27 or newer)",
    );
  }
  renders.dev = await render(join(ROOT, "k8s/overlays/dev"));
  renders.contract = await render(join(ROOT, "k8s"));
  // The prod overlay reads secrets.env, which is never committed: render a copy with the example.
  prodCopy = mkdtempSync(join(tmpdir(), "campus-k8s-"));
  cpSync(join(ROOT, "k8s"), join(prodCopy, "k8s"), { recursive: true });
  rmSync(join(prodCopy, "k8s/overlays/prod/secrets.env"), { force: true });
  copyFileSync(
    join(prodCopy, "k8s/overlays/prod/secrets.env.example"),
    join(prodCopy, "k8s/overlays/prod/secrets.env"),
  );
  renders.prod = await render(join(prodCopy, "k8s/overlays/prod"));
}, 60000);

afterAll(() => {
  if (prodCopy) rmSync(prodCopy, { recursive: true, force: true });
});

describe.each(["dev", "prod"] as const)("the %s overlay", (overlay) => {
  const rendered = () => renders[overlay];

  it("renders only objects valid against the Kubernetes schemas (kubernetes-models)", () => {
    expect(rendered().objects.length).toBeGreaterThan(0);
    for (const object of rendered().objects) {
      const Model = MODELS[`${object.apiVersion}/${object.kind}`];
      const name = `${object.apiVersion}/${object.kind} ${object.metadata?.name}`;
      expect({ name, known: Boolean(Model) }).toEqual({ name, known: true });
      expect(() => new Model(asSentToTheApiServer(object)).validate()).not.toThrow();
    }
  });

  it("puts every object in the namespace campus, which it creates", () => {
    expect(rendered().find("Namespace", NAMESPACE)).toBeDefined();
    for (const object of rendered().objects.filter((o) => o.kind !== "Namespace")) {
      expect([object.kind, object.metadata.name, object.metadata.namespace]).toEqual([
        object.kind,
        object.metadata.name,
        NAMESPACE,
      ]);
    }
  });

  it("runs every Campus service in a Deployment whose SERVICES names it", () => {
    const running = rendered()
      .campusDeployments()
      .flatMap((deployment) =>
        parseServices(
          rendered().environmentOf(deployment.spec.template.spec.containers[0], "pod").SERVICES,
        ),
      );
    expect([...running].sort()).toEqual([...ALL_SERVICES].sort());
  });

  it("gives every Campus container an environment the configuration loader accepts", () => {
    for (const deployment of rendered().campusDeployments()) {
      for (const container of deployment.spec.template.spec.containers) {
        const env = rendered().environmentOf(container, `${deployment.metadata.name}-pod`);
        expect({ deployment: deployment.metadata.name, problem: configProblem(env) }).toEqual({
          deployment: deployment.metadata.name,
          problem: null,
        });
      }
    }
  });

  it("has every ConfigMap and Secret a pod refers to, with every key it names", () => {
    for (const workload of rendered().workloads()) {
      const pod = workload.spec.template.spec;
      for (const container of pod.containers) {
        for (const source of container.envFrom ?? []) {
          const ref = source.configMapRef ?? source.secretRef;
          expect(
            rendered().find(source.configMapRef ? "ConfigMap" : "Secret", ref.name),
          ).toBeDefined();
        }
        for (const { name, valueFrom } of container.env ?? []) {
          const ref = valueFrom?.secretKeyRef ?? valueFrom?.configMapKeyRef;
          if (!ref) continue;
          const data = rendered().dataOf(valueFrom.secretKeyRef ? "Secret" : "ConfigMap", ref.name);
          expect({ env: name, key: ref.key, present: ref.key in data }).toEqual({
            env: name,
            key: ref.key,
            present: true,
          });
        }
      }
      for (const volume of pod.volumes ?? []) {
        if (volume.configMap)
          expect(rendered().find("ConfigMap", volume.configMap.name)).toBeDefined();
        if (volume.secret)
          expect(rendered().find("Secret", volume.secret.secretName)).toBeDefined();
      }
    }
  });

  it("has every Service select pods whose containers declare its target ports", () => {
    for (const service of rendered().ofKind("Service")) {
      const pods = podsSelectedBy(rendered(), service.spec.selector);
      expect({ service: service.metadata.name, selects: pods.length > 0 }).toEqual({
        service: service.metadata.name,
        selects: true,
      });
      for (const { targetPort, port } of service.spec.ports) {
        for (const workload of pods) {
          const declared = workload.spec.template.spec.containers.some((c: Json) =>
            declaresPort(c, targetPort ?? port),
          );
          expect({ service: service.metadata.name, targetPort, declared }).toEqual({
            service: service.metadata.name,
            targetPort,
            declared: true,
          });
        }
      }
    }
  });

  it("has every HTTP probe target a port its container declares", () => {
    for (const workload of rendered().workloads()) {
      for (const container of workload.spec.template.spec.containers) {
        for (const probe of ["startupProbe", "readinessProbe", "livenessProbe"]) {
          const port = container[probe]?.httpGet?.port;
          if (port === undefined) continue;
          expect({
            container: container.name,
            probe,
            port,
            declared: declaresPort(container, port),
          }).toEqual({ container: container.name, probe, port, declared: true });
        }
      }
    }
  });

  it("has every autoscaler scale a Deployment of the render, and every disruption budget select pods", () => {
    for (const hpa of rendered().ofKind("HorizontalPodAutoscaler")) {
      const { kind, name } = hpa.spec.scaleTargetRef;
      expect({ hpa: hpa.metadata.name, target: Boolean(rendered().find(kind, name)) }).toEqual({
        hpa: hpa.metadata.name,
        target: true,
      });
      expect(hpa.spec.metrics).toEqual([
        {
          type: "Resource",
          resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 70 } },
        },
      ]);
    }
    for (const pdb of rendered().ofKind("PodDisruptionBudget")) {
      expect(pdb.spec.minAvailable).toBe(1);
      expect(podsSelectedBy(rendered(), pdb.spec.selector.matchLabels).length).toBe(1);
    }
  });

  it("routes the Ingress over TLS to a port of the api Service", () => {
    const [ingress] = rendered().ofKind("Ingress");
    const hosts = ingress.spec.rules.map((rule: Json) => rule.host);
    expect(ingress.spec.tls[0].hosts).toEqual(hosts);
    expect(ingress.spec.tls[0].secretName).toBeTruthy();
    for (const rule of ingress.spec.rules) {
      for (const path of rule.http.paths) {
        const { name, port } = path.backend.service;
        const service = rendered().find("Service", name);
        expect(name).toBe("api");
        expect(
          service.spec.ports.some((p: Json) => p.name === port.name || p.port === port.number),
        ).toBe(true);
      }
    }
  });

  it("runs Campus pods as uid 10001, read-only, unprivileged, probed, bounded and scraped", () => {
    const shutdownSeconds =
      Number(rendered().dataOf("ConfigMap", configMapName(rendered())).SHUTDOWN_TIMEOUT) / 1000;
    const metricsPort = rendered().dataOf("ConfigMap", configMapName(rendered())).METRICS_PORT;
    for (const deployment of rendered().campusDeployments()) {
      const pod = deployment.spec.template.spec;
      const [container] = pod.containers;
      const tmp = pod.volumes.find(
        (v: Json) =>
          v.emptyDir &&
          container.volumeMounts.some((m: Json) => m.name === v.name && m.mountPath === "/tmp"),
      );
      expect({
        name: deployment.metadata.name,
        pod: pod.securityContext,
        container: container.securityContext,
        tmpIsEmptyDir: Boolean(tmp),
        graceLongerThanShutdown: pod.terminationGracePeriodSeconds === 30 && 30 > shutdownSeconds,
        probes: [
          container.startupProbe?.httpGet,
          container.readinessProbe?.httpGet,
          container.livenessProbe?.httpGet,
        ],
        requests: Object.keys(container.resources.requests).sort(),
        limits: Object.keys(container.resources.limits).sort(),
        scrape: deployment.spec.template.metadata.annotations,
        metricsPortDeclared: declaresPort(container, Number(metricsPort)),
      }).toEqual({
        name: deployment.metadata.name,
        pod: expect.objectContaining({
          runAsNonRoot: true,
          runAsUser: 10001,
          seccompProfile: { type: "RuntimeDefault" },
        }),
        container: {
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          runAsNonRoot: true,
          runAsUser: 10001,
          capabilities: { drop: ["ALL"] },
          seccompProfile: { type: "RuntimeDefault" },
        },
        tmpIsEmptyDir: true,
        graceLongerThanShutdown: true,
        probes: [
          { path: "/health/live", port: "http" },
          { path: "/health/ready", port: "http" },
          { path: "/health/live", port: "http" },
        ],
        requests: ["cpu", "memory"],
        limits: ["cpu", "memory"],
        scrape: {
          "prometheus.io/scrape": "true",
          "prometheus.io/port": metricsPort,
          "prometheus.io/path": "/metrics",
        },
        metricsPortDeclared: true,
      });
      expect(container.ports.find((p: Json) => p.name === "http").containerPort).toBe(
        Number(rendered().dataOf("ConfigMap", configMapName(rendered())).PORT),
      );
    }
  });

  it("gives every container resources and drops its privileges, NATS, PostgreSQL and Redis included", () => {
    for (const workload of rendered().workloads()) {
      const pod = workload.spec.template.spec;
      expect(pod.automountServiceAccountToken).toBe(false);
      expect(pod.securityContext).toEqual(
        expect.objectContaining({ runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } }),
      );
      for (const container of pod.containers) {
        expect({
          name: container.name,
          requests: Boolean(container.resources?.requests),
          limits: Boolean(container.resources?.limits),
          security: container.securityContext,
        }).toEqual({
          name: container.name,
          requests: true,
          limits: true,
          security: expect.objectContaining({
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            capabilities: { drop: ["ALL"] },
          }),
        });
      }
    }
  });

  it("points every URL a Campus container gets at a Service of the render, on a port it serves, or at an outside host", () => {
    for (const deployment of rendered().campusDeployments()) {
      const env = rendered().environmentOf(deployment.spec.template.spec.containers[0], "pod");
      for (const [key, value] of Object.entries(env)) {
        if (!/^(TRANSPORTER|CACHER|([A-Z]+_)?DATABASE_URL)$/.test(key)) continue;
        const url = new URL(value);
        if (url.hostname.includes(".")) continue; // outside the namespace: a managed service
        const service = rendered().find("Service", url.hostname);
        expect({
          key,
          service: service?.metadata.name,
          port: service?.spec.ports.some((p: Json) => p.port === Number(url.port)),
        }).toEqual({
          key,
          service: url.hostname,
          port: true,
        });
      }
    }
  });

  it("runs NATS with JetStream on a PersistentVolumeClaim", () => {
    const nats = rendered().find("StatefulSet", "nats");
    const [container] = nats.spec.template.spec.containers;
    expect(container.args).toContain("-js");
    const store = container.args[container.args.indexOf("-sd") + 1];
    const mount = container.volumeMounts.find((m: Json) => m.mountPath === store);
    expect(nats.spec.volumeClaimTemplates.map((c: Json) => c.metadata.name)).toContain(mount.name);
  });
});

function configMapName(rendered: Rendered): string {
  const [deployment] = rendered.campusDeployments();
  return deployment.spec.template.spec.containers[0].envFrom[0].configMapRef.name;
}

describe("differences between the overlays", () => {
  it("dev: one pod per service, no autoscalers or budgets, the in-cluster PostgreSQL and Redis", () => {
    const dev = renders.dev;
    expect(dev.campusDeployments().map((d) => d.spec.replicas)).toEqual(ALL_SERVICES.map(() => 1));
    expect(dev.ofKind("HorizontalPodAutoscaler")).toEqual([]);
    expect(dev.ofKind("PodDisruptionBudget")).toEqual([]);
    expect(dev.find("StatefulSet", "postgres")).toBeDefined();
    expect(dev.find("StatefulSet", "redis")).toBeDefined();
    const secrets = dev.dataOf(
      "Secret",
      dev
        .find("StatefulSet", "postgres")
        .spec.template.spec.containers[0].env.find((e: Json) => e.name === "POSTGRES_PASSWORD")
        .valueFrom.secretKeyRef.name,
    );
    const created = [
      ...repoFile("k8s/base/postgres/init.sql").matchAll(/CREATE DATABASE (\w+)/g),
    ].map((m) => m[1]);
    for (const owner of ALL_SERVICES.filter((name) => name !== "api")) {
      const url = new URL(secrets[`${owner.toUpperCase()}_DATABASE_URL`]);
      expect([url.hostname, url.username, url.password, url.pathname.slice(1)]).toEqual([
        "postgres",
        "campus",
        secrets.POSTGRES_PASSWORD,
        owner,
      ]);
      expect(created).toContain(owner);
    }
  });

  it("prod: managed PostgreSQL and Redis, at least three pods of everything, more than dev", () => {
    const prod = renders.prod;
    expect(prod.find("StatefulSet", "postgres")).toBeUndefined();
    expect(prod.find("StatefulSet", "redis")).toBeUndefined();
    expect(prod.find("Service", "postgres")).toBeUndefined();
    expect(prod.find("Service", "redis")).toBeUndefined();
    const hpaMinimum = new Map(
      prod
        .ofKind("HorizontalPodAutoscaler")
        .map((h) => [h.spec.scaleTargetRef.name, h.spec.minReplicas]),
    );
    expect([...hpaMinimum.keys()].sort()).toEqual(["api", "courses", "students"]);
    for (const deployment of prod.campusDeployments()) {
      const name = deployment.metadata.name;
      const minimum = hpaMinimum.get(name) ?? deployment.spec.replicas;
      expect({ name, minimum }).toEqual({ name, minimum: expect.any(Number) });
      expect(minimum).toBeGreaterThanOrEqual(3);
      expect(deployment.spec.template.spec.containers[0].image).toMatch(
        /^[\w.-]+\/campus:\d+\.\d+\.\d+$/,
      );
    }
    for (const deployment of prod.campusDeployments()) {
      const env = prod.environmentOf(deployment.spec.template.spec.containers[0], "pod");
      for (const key of Object.keys(env).filter((k) => /^(CACHER|[A-Z]+_DATABASE_URL)$/.test(k))) {
        expect(new URL(env[key]).hostname).toMatch(/\./);
      }
    }
  });

  it("prod refuses to render without its secrets.env, so no committed value reaches production", async () => {
    const copy = mkdtempSync(join(tmpdir(), "campus-k8s-nosecret-"));
    try {
      cpSync(join(ROOT, "k8s"), join(copy, "k8s"), { recursive: true });
      rmSync(join(copy, "k8s/overlays/prod/secrets.env"), { force: true });
      const result = await runCommand("kubectl", ["kustomize", join(copy, "k8s/overlays/prod")]);
      expect(result.code).not.toBe(0);
      expect(result.stderr).toContain("secrets.env");
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });

  it("k8s/ itself (the contract's `kubectl apply -k k8s/`) renders the dev overlay", () => {
    expect(renders.contract.objects).toEqual(renders.dev.objects);
  });

  it("commits placeholders only, and git ignores the prod secrets.env", () => {
    for (const file of ["k8s/base/secrets.env.example", "k8s/overlays/prod/secrets.env.example"]) {
      const secretLines = repoFile(file)
        .split("\n")
        .filter((line) => /^(JWT_SECRET|ADMIN_PASSWORD|POSTGRES_PASSWORD)=/.test(line));
      expect(secretLines.length).toBeGreaterThan(0);
      for (const line of secretLines) expect(line).toMatch(/=CHANGE-ME/);
    }
    expect(repoFile(".gitignore").split("\n")).toContain("k8s/overlays/prod/secrets.env");
  });
});
