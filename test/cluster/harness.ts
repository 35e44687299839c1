/**
 * Starts Campus as separate node processes over the machine's NATS (JetStream), PostgreSQL and
 * Redis — or over a NATS or Redis server the test starts itself — and stops every process it
 * started by its PID. Only 127.0.0.1; every wait is bounded.
 */
import { execFileSync, spawn, type ChildProcess } from "child_process";
import { randomBytes } from "crypto";
import {
  chownSync,
  createWriteStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
} from "fs";
import { connect as connectTcp, createServer } from "net";
import { tmpdir } from "os";
import { join, resolve } from "path";
import { Client } from "pg";
import { eventually } from "../helpers/eventually";
import { DATABASE_OWNERS } from "../../lib/config";

export { eventually };

export const ROOT = resolve(__dirname, "../..");
export const ADMIN = { email: "admin@cluster.test", password: "cluster-admin-password" };
export const JWT_SECRET = "cluster-test-secret-that-is-long-enough-0123456789";
export const ADMIN_DB_URL = "postgres://postgres@127.0.0.1:5432/postgres";

/**
 * Ports below Linux's ephemeral range (32768–60999): a port picked there could be taken by one of
 * the nodes' own outgoing connections (to NATS, PostgreSQL, Redis) before the node listens on it.
 */
const PORT_RANGE = { first: 20000, last: 32000 };
/** Ports this process has handed out: two nodes started together never get the same one. */
const handedOut = new Set<number>();

function bindable(port: number): Promise<boolean> {
  return new Promise((answer) => {
    const server = createServer();
    server.unref();
    server.once("error", () => answer(false));
    server.listen(port, "127.0.0.1", () => server.close(() => answer(true)));
  });
}

export async function freePort(): Promise<number> {
  for (;;) {
    const port =
      PORT_RANGE.first + Math.floor(Math.random() * (PORT_RANGE.last - PORT_RANGE.first));
    if (handedOut.has(port)) continue;
    handedOut.add(port);
    if (await bindable(port)) return port;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}

export interface CampusNode {
  name: string;
  services: string;
  port: number;
  metricsPort: number;
  process: ChildProcess;
  exited: Promise<number | null>;
}

/** An external server process the test owns (its own NATS or Redis). */
export interface OwnedServer {
  port: number;
  url: string;
  /** Its working directory (data, sockets), removable once it is stopped. */
  dir: string;
  stop(): Promise<void>;
  start(): Promise<void>;
}

function waitForExit(child: ChildProcess): Promise<number | null> {
  return new Promise((done) => {
    if (child.exitCode !== null || child.signalCode !== null) done(child.exitCode);
    else child.once("exit", (code) => done(code));
  });
}

async function waitForPort(port: number, timeoutMs = 10000): Promise<void> {
  await eventually(
    () =>
      new Promise<void>((ok, fail) => {
        const socket = connectTcp(port, "127.0.0.1");
        socket.once("connect", () => {
          socket.destroy();
          ok();
        });
        socket.once("error", fail);
      }),
    timeoutMs,
  );
}

/** A server binary started on a free port, restartable on the same port. */
async function ownedServer(
  command: string,
  args: (port: number, dir: string) => string[],
  scheme: string,
  options: {
    stopSignal?: NodeJS.Signals;
    prepare?: (dir: string) => void;
    /** Beyond the port accepting connections: when the server serves (e.g. a query answers). */
    ready?: (url: string) => Promise<void>;
    /** Credentials in the URL (`user@`). */
    userinfo?: string;
    /** Run as this user and group (PostgreSQL refuses to run as root). */
    user?: { uid: number; gid: number };
  } = {},
): Promise<OwnedServer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), `campus-${command.split("/").pop()}-`));
  options.prepare?.(dir);
  let child: ChildProcess | null = null;
  const server: OwnedServer = {
    port,
    dir,
    url: `${scheme}://${options.userinfo ?? ""}127.0.0.1:${port}`,
    async start() {
      child = spawn(command, args(port, dir), { stdio: "ignore", ...options.user });
      await waitForPort(port);
      if (options.ready) await options.ready(server.url);
    },
    async stop() {
      if (!child) return;
      const exited = waitForExit(child);
      child.kill(options.stopSignal ?? "SIGTERM");
      await exited;
      child = null;
    },
  };
  await server.start();
  return server;
}

export function startOwnedRedis(): Promise<OwnedServer> {
  return ownedServer(
    "redis-server",
    (port, dir) => [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--save",
      "",
      "--appendonly",
      "no",
      "--dir",
      dir,
    ],
    "redis",
  );
}

export function startOwnedNats(): Promise<OwnedServer> {
  const binary = existsSync("/usr/sbin/nats-server") ? "/usr/sbin/nats-server" : "nats-server";
  return ownedServer(
    binary,
    (port, dir) => ["-a", "127.0.0.1", "-p", String(port), "-js", "-sd", dir],
    "nats",
  );
}

/** The newest PostgreSQL server binaries installed (Debian's layout). */
function postgresBin(name: string): string {
  const root = "/usr/lib/postgresql";
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(join(root, v, "bin", name)))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  return versions.length > 0 ? join(root, versions[0], "bin", name) : name;
}

/**
 * A private PostgreSQL (initdb in a temp dir, trust auth for 127.0.0.1, user postgres) that the
 * test may stop and restart. Stopped with SIGINT, PostgreSQL's fast shutdown: open connections are
 * ended (as in a real restart) and everything committed is on disk.
 */
export function startOwnedPostgres(): Promise<OwnedServer> {
  // As root, run it as the machine's `postgres` user, which then owns the data directory.
  const user =
    process.getuid?.() === 0
      ? (() => {
          const [uid, gid] = execFileSync("id", ["-u", "postgres"], { encoding: "utf8" })
            .trim()
            .concat(" ", execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim())
            .split(" ")
            .map(Number);
          return { uid, gid };
        })()
      : undefined;
  return ownedServer(
    postgresBin("postgres"),
    (port, dir) => [
      "-D",
      join(dir, "data"),
      "-p",
      String(port),
      "-k",
      dir,
      "-c",
      "listen_addresses=127.0.0.1",
      "-c",
      "max_connections=300",
      "-c",
      "shared_buffers=32MB",
    ],
    "postgres",
    {
      stopSignal: "SIGINT",
      userinfo: "postgres@",
      // The port opens before recovery ends ("the database system is starting up").
      ready: (url) =>
        eventually(async () => {
          const client = new Client({ connectionString: `${url}/postgres` });
          await client.connect();
          await client.query("SELECT 1").finally(() => client.end());
        }, 20000),
      user,
      prepare: (dir) => {
        if (user) chownSync(dir, user.uid, user.gid);
        execFileSync(
          postgresBin("initdb"),
          ["-D", join(dir, "data"), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"],
          { stdio: "ignore", ...user },
        );
      },
    },
  );
}

export interface ClusterOptions {
  transporter?: string;
  cacher?: string;
  /** The PostgreSQL server (`postgres://postgres@host:port`) the run's databases live on. */
  postgres?: string;
  /** Further environment for every node (e.g. BALANCER). */
  env?: Record<string, string>;
}

/** One run: its own databases and namespace, and the node processes started in it. */
export class Cluster {
  readonly runId = randomBytes(4).toString("hex");
  readonly namespace = `cluster-${this.runId}`;
  readonly logDir = join(tmpdir(), `campus-cluster-${this.runId}`);
  readonly nodes = new Map<string, CampusNode>();
  private databaseUrls: Record<string, string> = {};

  constructor(private readonly options: ClusterOptions = {}) {}

  get transporter(): string {
    return this.options.transporter ?? "nats://127.0.0.1:4222";
  }

  get cacher(): string {
    return this.options.cacher ?? "redis://127.0.0.1:6379";
  }

  get postgres(): string {
    return this.options.postgres ?? "postgres://postgres@127.0.0.1:5432";
  }

  private get adminUrl(): string {
    return this.options.postgres ? `${this.options.postgres}/postgres` : ADMIN_DB_URL;
  }

  /** A fresh PostgreSQL database per service for this run. */
  async createDatabases(): Promise<void> {
    mkdirSync(this.logDir, { recursive: true });
    const admin = new Client({ connectionString: this.adminUrl });
    await admin.connect();
    try {
      for (const owner of DATABASE_OWNERS) {
        const name = `campus_${this.runId}_${owner}`;
        await admin.query(`CREATE DATABASE ${name}`);
        this.databaseUrls[`${owner.toUpperCase()}_DATABASE_URL`] = `${this.postgres}/${name}`;
      }
    } finally {
      await admin.end();
    }
  }

  /** The URL of this run's database of one owner (e.g. `students`). */
  databaseUrl(owner: string): string {
    return `${this.postgres}/campus_${this.runId}_${owner}`;
  }

  async dropDatabases(): Promise<void> {
    const admin = new Client({ connectionString: this.adminUrl });
    await admin.connect();
    try {
      for (const owner of DATABASE_OWNERS) {
        await admin.query(`DROP DATABASE IF EXISTS campus_${this.runId}_${owner} WITH (FORCE)`);
      }
    } finally {
      await admin.end();
    }
  }

  /** Starts a node process running `services` (comma list) and returns once it is spawned. */
  async start(
    name: string,
    services: string,
    extraEnv: Record<string, string> = {},
  ): Promise<CampusNode> {
    const port = await freePort();
    const metricsPort = await freePort();
    const log = createWriteStream(join(this.logDir, `${name}.log`), { flags: "a" });
    const child = spawn(process.execPath, ["--import", "tsx", "server.ts"], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        NODE_ENV: "test",
        SERVICES: services,
        NODE_ID: `${name}-${this.runId}`,
        NAMESPACE: this.namespace,
        TRANSPORTER: this.transporter,
        CACHER: this.cacher,
        PORT: String(port),
        METRICS_PORT: String(metricsPort),
        JWT_SECRET,
        ADMIN_EMAIL: ADMIN.email,
        ADMIN_PASSWORD: ADMIN.password,
        LOG_FORMAT: "json",
        LOG_LEVEL: "info",
        RATE_LIMIT_PER_MINUTE: "0",
        AUTH_RATE_LIMIT_PER_MINUTE: "0",
        // Off like the rate limits: a test that wants the login backoff turns it on.
        LOGIN_BACKOFF_MS: "0",
        ...this.databaseUrls,
        ...this.options.env,
        ...extraEnv,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    // Both streams share one file: neither may end it, or the other's next write throws.
    child.stdout?.pipe(log, { end: false });
    child.stderr?.pipe(log, { end: false });
    child.once("close", () => log.end());
    const node: CampusNode = {
      name,
      services,
      port,
      metricsPort,
      process: child,
      exited: waitForExit(child),
    };
    this.nodes.set(name, node);
    return node;
  }

  /** Waits until the node answers /health/ready with 200. */
  async ready(node: CampusNode, timeoutMs = 60000): Promise<void> {
    await eventually(
      async () => {
        if (node.process.exitCode !== null)
          throw new Error(`${node.name} exited with ${node.process.exitCode}`);
        const response = await fetch(`http://127.0.0.1:${node.port}/health/ready`);
        if (response.status !== 200)
          throw new Error(`${node.name} not ready: ${await response.text()}`);
      },
      timeoutMs,
      250,
    );
  }

  /** SIGKILL (crash) or SIGTERM (orderly stop); resolves with the exit code once it is gone. */
  async stop(name: string, signal: NodeJS.Signals = "SIGTERM"): Promise<number | null> {
    const node = this.nodes.get(name);
    if (!node) return null;
    this.nodes.delete(name);
    if (node.process.exitCode === null && node.process.signalCode === null)
      node.process.kill(signal);
    return node.exited;
  }

  /** SIGSTOP: the node hangs — its process and connections stay, it answers nothing. */
  freeze(name: string): void {
    this.nodes.get(name)?.process.kill("SIGSTOP");
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.nodes.keys()].map((name) => this.stop(name, "SIGTERM")));
  }

  /** Removes this run's JetStream streams from the shared NATS server. */
  async deleteStreams(): Promise<void> {
    const { connect } = await import("nats");
    const connection = await connect({ servers: new URL(this.transporter).host });
    try {
      const manager = await connection.jetstreamManager();
      const prefix = `${this.namespace}_`;
      for await (const stream of manager.streams.list()) {
        if (stream.config.name.startsWith(prefix)) await manager.streams.delete(stream.config.name);
      }
    } finally {
      await connection.close();
    }
  }

  /** Every message of this run's JetStream stream for an event (e.g. `grade_recorded`), decoded. */
  async streamMessages(event: string): Promise<Record<string, unknown>[]> {
    const { connect } = await import("nats");
    const connection = await connect({ servers: new URL(this.transporter).host });
    try {
      const manager = await connection.jetstreamManager();
      const messages: Record<string, unknown>[] = [];
      for await (const stream of manager.streams.list()) {
        const name = stream.config.name;
        if (!name.startsWith(`${this.namespace}_`) || !name.endsWith(event)) continue;
        for (let seq = stream.state.first_seq; seq <= stream.state.last_seq; seq += 1) {
          const message = await manager.streams.getMessage(name, { seq });
          messages.push(JSON.parse(new TextDecoder().decode(message.data)));
        }
      }
      return messages;
    } finally {
      await connection.close();
    }
  }

  gateway(name = "api"): string {
    const node = this.nodes.get(name);
    if (!node) throw new Error(`no node ${name}`);
    return `http://127.0.0.1:${node.port}`;
  }

  /** The value of one Prometheus series on a node, summed over the series that match `labels`. */
  async metric(
    name: string,
    metricName: string,
    labels: Record<string, string> = {},
  ): Promise<number> {
    const node = this.nodes.get(name);
    if (!node) throw new Error(`no node ${name}`);
    const text = await (await fetch(`http://127.0.0.1:${node.metricsPort}/metrics`)).text();
    let total = 0;
    for (const line of text.split("\n")) {
      if (!line.startsWith(`${metricName}{`) && !line.startsWith(`${metricName} `)) continue;
      if (Object.entries(labels).every(([key, value]) => line.includes(`${key}="${value}"`))) {
        total += Number(line.slice(line.lastIndexOf(" ") + 1));
      }
    }
    return total;
  }
}

export interface HttpResult {
  status: number;
  headers: Headers;
  body: any;
}

export async function http(
  base: string,
  method: string,
  path: string,
  token?: string,
  body?: unknown,
): Promise<HttpResult> {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  const response = await fetch(`${base}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(30000),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON
  }
  return { status: response.status, headers: response.headers, body: parsed };
}

export async function login(base: string, credentials = ADMIN): Promise<string> {
  const result = await http(base, "POST", "/api/auth/login", undefined, credentials);
  if (result.status !== 200)
    throw new Error(`login failed: ${result.status} ${JSON.stringify(result.body)}`);
  return result.body.accessToken as string;
}

export interface LoadReport {
  sent: number;
  failed: { status: number; body: unknown }[];
  maxLatencyMs: number;
}

/**
 * Steady load: `perSecond` requests a second for `durationMs`, each one awaited independently.
 * `during` runs while the load is on (e.g. killing a node).
 */
export async function steadyLoad(
  request: () => Promise<HttpResult>,
  perSecond: number,
  durationMs: number,
  during: () => Promise<void> = async () => undefined,
): Promise<LoadReport> {
  const report: LoadReport = { sent: 0, failed: [], maxLatencyMs: 0 };
  const inFlight: Promise<void>[] = [];
  const interval = 1000 / perSecond;
  const started = Date.now();
  const action = during();
  while (Date.now() - started < durationMs) {
    const sentAt = Date.now();
    report.sent += 1;
    inFlight.push(
      request()
        .then((result) => {
          if (result.status >= 400)
            report.failed.push({ status: result.status, body: result.body });
        })
        .catch((err: Error) => {
          report.failed.push({ status: 0, body: err.message });
        })
        .finally(() => {
          report.maxLatencyMs = Math.max(report.maxLatencyMs, Date.now() - sentAt);
        }),
    );
    const next = started + report.sent * interval;
    await sleep(Math.max(0, next - Date.now()));
  }
  await action;
  await Promise.all(inFlight);
  return report;
}

export function cleanupDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
