/**
 * The processes of a bench run: Campus nodes (`node dist/server.js`, the compiled code the image
 * runs — `npm run bench` builds it first), the bare `http` ceiling server, start-up timing and resident memory. Everything is
 * stopped by its PID.
 */
import { spawn, type ChildProcess } from "child_process";
import { closeSync, mkdirSync, openSync, readFileSync } from "fs";
import { join } from "path";
import { Client } from "pg";
import {
  Cluster,
  ROOT,
  eventually,
  freePort,
  sleep,
  ADMIN_DB_URL,
  type CampusNode,
} from "../test/cluster/harness";
import { DATABASE_OWNERS } from "../lib/config";

/**
 * The cluster harness (run id, node map, metrics, stop) with what a bench needs differently: a
 * namespace prefix and databases of its own (`bench-<run id>`, `bench_<run id>_<service>`), and
 * nodes that write their output straight into a log file — not through a pipe into this
 * process, which is also the load generator. The caller gives each node its whole configuration.
 */
export class BenchCluster extends Cluster {
  override readonly namespace = `bench-${this.runId}`;
  private readonly databases: Record<string, string> = {};

  private databaseName(owner: string): string {
    return `bench_${this.runId}_${owner}`;
  }

  override async createDatabases(): Promise<void> {
    mkdirSync(this.logDir, { recursive: true });
    const admin = new Client({ connectionString: ADMIN_DB_URL });
    await admin.connect();
    try {
      for (const owner of DATABASE_OWNERS) {
        await admin.query(`CREATE DATABASE ${this.databaseName(owner)}`);
        this.databases[`${owner.toUpperCase()}_DATABASE_URL`] =
          `postgres://postgres@127.0.0.1:5432/${this.databaseName(owner)}`;
      }
    } finally {
      await admin.end();
    }
  }

  override async dropDatabases(): Promise<void> {
    const admin = new Client({ connectionString: ADMIN_DB_URL });
    await admin.connect();
    try {
      for (const owner of DATABASE_OWNERS) {
        await admin.query(`DROP DATABASE IF EXISTS ${this.databaseName(owner)} WITH (FORCE)`);
      }
    } finally {
      await admin.end();
    }
  }

  override async start(
    name: string,
    services: string,
    env: Record<string, string> = {},
    /** Options for node itself, e.g. `--cpu-prof` (not allowed in NODE_OPTIONS). */
    nodeArgs: string[] = [],
  ): Promise<CampusNode> {
    const port = await freePort();
    const metricsPort = await freePort();
    mkdirSync(this.logDir, { recursive: true });
    const log = openSync(join(this.logDir, `${name}.log`), "a");
    let child: ChildProcess;
    try {
      child = spawn(process.execPath, [...nodeArgs, "dist/server.js"], {
        cwd: ROOT,
        env: {
          PATH: process.env.PATH,
          HOME: process.env.HOME,
          SERVICES: services,
          NODE_ID: `${name}-${this.runId}`,
          PORT: String(port),
          METRICS_PORT: String(metricsPort),
          ...this.databases,
          ...env,
        },
        stdio: ["ignore", log, log],
      });
    } finally {
      closeSync(log);
    }
    const node: CampusNode = {
      name,
      services,
      port,
      metricsPort,
      process: child,
      exited: new Promise((done) => child.once("exit", (code) => done(code))),
    };
    this.nodes.set(name, node);
    return node;
  }
}

export interface Memory {
  /** Resident set size now, MB (VmRSS). */
  rssMb: number;
  /** Highest resident set size so far, MB (VmHWM). */
  peakMb: number;
}

/** VmRSS and VmHWM of a process, from /proc/<pid>/status (Linux). */
export function memoryOf(pid: number): Memory | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (field: string) =>
      Number(new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, "m").exec(status)?.[1] ?? NaN);
    return { rssMb: kb("VmRSS") / 1024, peakMb: kb("VmHWM") / 1024 };
  } catch {
    return null;
  }
}

export interface StartedNode {
  node: CampusNode;
  /** The topology this start belongs to and the node's role in it. */
  topology: string;
  role: string;
  /** Milliseconds from spawning the process to its first 200 on /health/ready. */
  startupMs: number;
  atReady: Memory | null;
  /** Filled in just before the node is stopped, after the load it took. */
  atEnd?: Memory | null;
}

/** Polls /health/ready every 50 ms (finer than the harness's 250 ms: start-up time is a figure here). */
export async function waitReady(node: CampusNode, timeoutMs: number): Promise<void> {
  try {
    await eventually(
      async () => {
        if (node.process.exitCode !== null) {
          throw new Error(`${node.name} exited with ${node.process.exitCode} before it was ready`);
        }
        const response = await fetch(`http://127.0.0.1:${node.port}/health/ready`, {
          signal: AbortSignal.timeout(2000),
        });
        await response.arrayBuffer();
        if (response.status !== 200)
          throw new Error(`${node.name} is not ready (${response.status})`);
      },
      timeoutMs,
      50,
    );
  } catch (err) {
    throw new Error(
      `${node.name} was not ready within ${timeoutMs / 1000} s (last: ${(err as Error).message})`,
    );
  }
}

/** Starts nodes together and waits until each answers ready, timing each one from its spawn. */
export async function startNodes(
  cluster: BenchCluster,
  topology: string,
  specs: {
    name: string;
    role: string;
    services: string;
    env: Record<string, string>;
    nodeArgs?: string[];
  }[],
  timeoutMs = 90000,
): Promise<StartedNode[]> {
  return Promise.all(
    specs.map(async (spec) => {
      const spawnedAt = performance.now();
      const node = await cluster.start(spec.name, spec.services, spec.env, spec.nodeArgs);
      await waitReady(node, timeoutMs);
      const startupMs = performance.now() - spawnedAt;
      return {
        node,
        topology,
        role: spec.role,
        startupMs,
        atReady: memoryOf(node.process.pid!),
      };
    }),
  );
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((done) => {
    if (child.exitCode !== null || child.signalCode !== null) done();
    else child.once("exit", () => done());
  });
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
export async function stopProcess(child: ChildProcess, graceMs = 15000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = exited(child);
  child.kill("SIGTERM");
  const timer = sleep(graceMs).then(() => "timeout" as const);
  if ((await Promise.race([gone.then(() => "gone" as const), timer])) === "timeout") {
    child.kill("SIGKILL");
    await gone;
  }
}

/** Stops the named nodes of the cluster by PID (SIGTERM, SIGKILL if one hangs). */
export async function stopNodes(cluster: BenchCluster, names: string[]): Promise<void> {
  await Promise.all(
    names.map(async (name) => {
      const node = cluster.nodes.get(name);
      if (!node) return;
      await stopProcess(node.process);
      await cluster.stop(name);
    }),
  );
}

export interface BareServer {
  url: string;
  process: ChildProcess;
}

/** The ceiling: a plain Node `http` server, in a process of its own, answering `body`. */
export async function startBareServer(body: string): Promise<BareServer> {
  const port = await freePort();
  const child = spawn(process.execPath, ["--import", "tsx", join(ROOT, "bench/bare-server.ts")], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, BARE_PORT: String(port), BARE_BODY: body },
    stdio: "ignore",
  });
  const url = `http://127.0.0.1:${port}/`;
  await eventually(
    async () => {
      if (child.exitCode !== null) throw new Error(`bare server exited with ${child.exitCode}`);
      const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await response.arrayBuffer();
      if (response.status !== 200) throw new Error(`bare server answered ${response.status}`);
    },
    20000,
    50,
  );
  return { url, process: child };
}
