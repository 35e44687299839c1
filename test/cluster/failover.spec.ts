/**
 * Failover under load (issue 13): a gateway in front of two replicas of students, courses, users
 * and notifications, over a NATS, a Redis and a PostgreSQL this test owns. 100 requests/s of
 * mixed reads and writes over many distinct records run while a students node and a courses node
 * are SIGKILLed (and restarted), a node is stopped with SIGTERM, and NATS, Redis and PostgreSQL
 * are each restarted. Afterwards every write is checked against the database.
 */
import { writeFileSync } from "fs";
import { join } from "path";
import { Client } from "pg";
import {
  Cluster,
  cleanupDir,
  http,
  login,
  sleep,
  startOwnedNats,
  startOwnedPostgres,
  startOwnedRedis,
  type HttpResult,
  type OwnedServer,
} from "./harness";

jest.setTimeout(600000);

const RATE = 100;
const STUDENTS = 80;
const COURSES = 40;
/** Issue 13's figures. */
const P99_LIMIT_MS = 500;
const MAX_LIMIT_MS = 2000;
const REJOIN_LIMIT_MS = 5000;
const RECOVERY_LIMIT_MS = 10000;

let nats: OwnedServer;
let redis: OwnedServer;
let postgres: OwnedServer;
let cluster: Cluster;
let base: string;
let token: string;

interface Sample {
  op: string;
  sentAt: number;
  latencyMs: number;
  status: number;
  retryAfter: string | null;
  body: unknown;
}

interface PhaseReport {
  samples: Sample[];
  failed: Sample[];
  p50: number;
  p99: number;
  max: number;
}

/** Every write the load made, to check against the database at the end. */
const written = {
  students: [] as { email: string; status: number; id?: string }[],
  courses: [] as { code: string; status: number; id?: string }[],
  /** Per record: each PATCH in the order it was sent, with its answer. */
  studentPatches: new Map<string, Patch[]>(),
  coursePatches: new Map<string, Patch[]>(),
};
let patches = 0;

/** One PATCH: the value it set, when it was sent and answered (ms since the epoch), its status. */
interface Patch {
  value: string;
  sentAt: number;
  answeredAt: number;
  status: number;
}

/** Sends a PATCH and records it in `log` (per record). */
function patchRequest(path: string, field: string, value: string, log: Patch[]) {
  const patch: Patch = { value, sentAt: Date.now(), answeredAt: Infinity, status: -1 };
  log.push(patch);
  return async () => {
    patch.sentAt = Date.now();
    const result = await http(base, "PATCH", path, token, { [field]: value });
    patch.status = result.status;
    patch.answeredAt = Date.now();
    return result;
  };
}
let studentIds: string[] = [];
let courseIds: string[] = [];
let sequence = 0;
const figures: Record<string, unknown> = {};

function pick<T>(list: T[]): T {
  return list[Math.floor(Math.random() * list.length)];
}

/** One request of the mix: reads of random records, and every kind of retried write. */
function mixedRequest(): { op: string; run: () => Promise<HttpResult> } {
  const n = (sequence += 1);
  const roll = Math.random();
  if (roll < 0.3)
    return {
      op: "GET student",
      run: () => http(base, "GET", `/api/students/${pick(studentIds)}`, token),
    };
  if (roll < 0.45)
    return {
      op: "GET course",
      run: () => http(base, "GET", `/api/courses/${pick(courseIds)}`, token),
    };
  if (roll < 0.6)
    return {
      op: "GET student courses",
      run: () => http(base, "GET", `/api/students/${pick(studentIds)}/courses`, token),
    };
  if (roll < 0.75) {
    // Round robin over the records: the same one is patched again only seconds later.
    const id = studentIds[(patches += 1) % studentIds.length];
    const log = written.studentPatches.get(id) ?? [];
    written.studentPatches.set(id, log);
    return {
      op: "PATCH student",
      run: patchRequest(`/api/students/${id}`, "firstName", `V${n}`, log),
    };
  }
  if (roll < 0.85) {
    const id = courseIds[(patches += 1) % courseIds.length];
    const log = written.coursePatches.get(id) ?? [];
    written.coursePatches.set(id, log);
    return {
      op: "PATCH course",
      run: patchRequest(`/api/courses/${id}`, "title", `Title ${n}`, log),
    };
  }
  if (roll < 0.93) {
    const record: { email: string; status: number; id?: string } = {
      email: `fo.${cluster.runId}.${n}@campus.test`,
      status: -1,
    };
    written.students.push(record);
    return {
      op: "POST student",
      run: async () => {
        const result = await http(base, "POST", "/api/students", token, {
          firstName: "Fail",
          lastName: `Over${n}`,
          email: record.email,
        });
        record.status = result.status;
        record.id = (result.body as { id?: string } | undefined)?.id;
        return result;
      },
    };
  }
  const record: { code: string; status: number; id?: string } = {
    code: `FO${n}-${cluster.runId}`,
    status: -1,
  };
  written.courses.push(record);
  return {
    op: "POST course",
    run: async () => {
      const result = await http(base, "POST", "/api/courses", token, {
        code: record.code,
        title: `Course ${n}`,
      });
      record.status = result.status;
      record.id = (result.body as { id?: string } | undefined)?.id;
      return result;
    },
  };
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/**
 * RATE requests a second, each awaited on its own (open loop: a slow answer does not slow the
 * load), from the start until `during` has finished and at least `minMs` have passed.
 */
async function underLoad(
  name: string,
  minMs: number,
  during: (started: number) => Promise<void>,
): Promise<PhaseReport> {
  const samples: Sample[] = [];
  const inFlight: Promise<void>[] = [];
  const started = Date.now();
  let done = false;
  const action = during(started).finally(() => {
    done = true;
  });
  let sent = 0;
  while (!done || Date.now() - started < minMs) {
    const { op, run } = mixedRequest();
    const sentAt = Date.now();
    sent += 1;
    inFlight.push(
      run()
        .then(
          (result) => ({
            status: result.status,
            retryAfter: result.headers.get("retry-after"),
            body: result.body,
          }),
          (err: Error) => ({ status: 0, retryAfter: null, body: err.message }),
        )
        .then((answer) => {
          samples.push({ op, sentAt: sentAt - started, latencyMs: Date.now() - sentAt, ...answer });
        }),
    );
    await sleep(Math.max(0, started + (sent * 1000) / RATE - Date.now()));
  }
  await action;
  await Promise.all(inFlight);
  samples.sort((a, b) => a.sentAt - b.sentAt);
  const latencies = samples.map((s) => s.latencyMs).sort((a, b) => a - b);
  const report = {
    samples,
    failed: samples.filter((s) => s.status === 0 || s.status >= 400),
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    max: latencies[latencies.length - 1] ?? 0,
  };
  // Every request of the phase (time sent, operation, status, latency), next to the nodes' logs.
  writeFileSync(
    join(cluster.logDir, `load-${name.replace(/\W+/g, "-")}.json`),
    JSON.stringify({ started, samples: samples.map(({ body: _body, ...s }) => s) }),
  );
  figures[name] = {
    requests: samples.length,
    seconds: Math.round((Date.now() - started) / 100) / 10,
    failed: report.failed.length,
    failedStatuses: [...new Set(report.failed.map((s) => s.status))],
    p50: report.p50,
    p99: report.p99,
    max: report.max,
    ...((figures[name] as object) ?? {}),
  };
  return report;
}

/** The requests answered 200 or 201 — everything else is a failure in a node-loss phase. */
function expectNoFailure(report: PhaseReport): void {
  expect(report.failed.map((s) => `${s.op}: ${s.status} ${JSON.stringify(s.body)}`)).toEqual([]);
  expect(report.p99).toBeLessThan(P99_LIMIT_MS);
  expect(report.max).toBeLessThan(MAX_LIMIT_MS);
}

/**
 * Kills (or stops) a node under load — 2 000 requests in all, the kill 3 s in — and keeps the
 * load on well past the heartbeat timeout (6 s, checked every 2 s), when the other nodes'
 * registries drop a killed node.
 */
async function lose(name: string, signal: NodeJS.Signals) {
  let exitCode: number | null = -1;
  const report = await underLoad(`${signal} ${name}`, 20000, async () => {
    await sleep(3000);
    exitCode = await cluster.stop(name, signal);
  });
  return { report, exitCode };
}

/**
 * Starts the node again under load and measures how long after it answered ready it served its
 * first request (the requests its services ran, from its own metrics).
 */
async function rejoin(name: string, services: string) {
  let rejoinMs = -1;
  const report = await underLoad(`restart ${name}`, 0, async () => {
    const node = await cluster.start(name, services);
    await cluster.ready(node);
    const ready = Date.now();
    const served = () =>
      cluster.metric(name, "moleculer_request_total", { service: services }).catch(() => 0);
    const before = await served();
    while (Date.now() - ready < 15000) {
      if ((await served()) > before) break;
      await sleep(100);
    }
    rejoinMs = Date.now() - ready;
    figures[`restart ${name}`] = { rejoinMs };
    await sleep(2000);
  });
  expect(report.failed.map((s) => `${s.op}: ${s.status} ${JSON.stringify(s.body)}`)).toEqual([]);
  expect(report.max).toBeLessThan(MAX_LIMIT_MS);
  expect(rejoinMs).toBeLessThan(REJOIN_LIMIT_MS);
}

/**
 * Restarts a server under load: `down` stops it, `up` starts it again. Failures may only be 503
 * with Retry-After, no answer may take long, and from RECOVERY_LIMIT_MS after it is back every
 * request succeeds.
 */
async function restartUnderLoad(name: string, server: OwnedServer, downMs: number) {
  let backAt = 0;
  const report = await underLoad(`restart ${name}`, 0, async (started) => {
    await sleep(2000);
    await server.stop();
    await sleep(downMs);
    await server.start();
    backAt = Date.now() - started;
    await sleep(RECOVERY_LIMIT_MS + 2000);
  });
  const unexpected = report.failed.filter(
    (s) => s.status !== 503 || !/^\d+$/.test(s.retryAfter ?? ""),
  );
  expect(unexpected.map((s) => `${s.op}: ${s.status} ${JSON.stringify(s.body)}`)).toEqual([]);
  const lastFailure = report.failed.reduce((last, s) => Math.max(last, s.sentAt), -Infinity);
  // The last failed request was sent this long after the server was back (0: none after).
  const servingAgainMs = report.failed.length === 0 ? 0 : Math.max(0, lastFailure - backAt);
  Object.assign(figures[`restart ${name}`] as object, {
    downAtMs: 2000,
    backAtMs: backAt,
    lastFailureSentAtMs: report.failed.length === 0 ? null : lastFailure,
    servingAgainMs,
  });
  expect(servingAgainMs).toBeLessThan(RECOVERY_LIMIT_MS);
  // Never a hang: every request was answered within the broker's bounded attempts.
  expect(report.max).toBeLessThan(RECOVERY_LIMIT_MS);
  return report;
}

beforeAll(async () => {
  [nats, redis, postgres] = await Promise.all([
    startOwnedNats(),
    startOwnedRedis(),
    startOwnedPostgres(),
  ]);
  cluster = new Cluster({
    transporter: nats.url,
    cacher: redis.url,
    postgres: postgres.url,
    // FAILOVER_BALANCER=moleculer measures the other design with the same load.
    env: process.env.FAILOVER_BALANCER ? { BALANCER: process.env.FAILOVER_BALANCER } : {},
  });
  await cluster.createDatabases();
  const workers = await Promise.all(
    ["users", "students", "courses", "notifications"].flatMap((service) => [
      cluster.start(`${service}-1`, service),
      cluster.start(`${service}-2`, service),
    ]),
  );
  const gateway = await cluster.start("api", "api");
  await Promise.all([...workers, gateway].map((node) => cluster.ready(node)));
  base = cluster.gateway("api");
  token = await login(base);

  for (let i = 0; i < STUDENTS; i += 10) {
    const batch = await Promise.all(
      Array.from({ length: 10 }, (_, j) =>
        http(base, "POST", "/api/students", token, {
          firstName: "Seed",
          lastName: `Student${i + j}`,
          email: `seed.${cluster.runId}.${i + j}@campus.test`,
        }),
      ),
    );
    studentIds.push(...batch.map((r) => (r.body as { id: string }).id));
  }
  for (let i = 0; i < COURSES; i += 10) {
    const batch = await Promise.all(
      Array.from({ length: 10 }, (_, j) =>
        http(base, "POST", "/api/courses", token, {
          code: `SEED${i + j}-${cluster.runId}`,
          title: `Seed ${i + j}`,
        }),
      ),
    );
    courseIds.push(...batch.map((r) => (r.body as { id: string }).id));
  }
  studentIds = studentIds.filter(Boolean);
  courseIds = courseIds.filter(Boolean);
  expect([studentIds.length, courseIds.length]).toEqual([STUDENTS, COURSES]);
  // Warm-up, not measured: every node has run each path of the load (JIT, pools, caches).
  const warmUp = await underLoad("warm-up", 4000, async () => undefined);
  expect(warmUp.failed).toEqual([]);
});

afterAll(async () => {
  // The measured figures, for the report (docs/reports/monitoring.md).
  console.log(`failover figures ${JSON.stringify(figures, null, 2)}`);
  await cluster?.stopAll();
  await cluster?.dropDatabases().catch(() => undefined);
  await Promise.all([nats?.stop(), redis?.stop(), postgres?.stop()]);
  for (const server of [nats, redis, postgres]) if (server) cleanupDir(server.dir);
});

describe("a replica lost under 100 requests/s of reads and writes", () => {
  it("SIGKILL of a students node: no failed request, p99 < 500 ms, max < 2 s", async () => {
    const { report } = await lose("students-1", "SIGKILL");
    expect(report.samples.length).toBeGreaterThanOrEqual(1900);
    expectNoFailure(report);
  });

  it("the killed students node, restarted under load, takes traffic within 5 s of ready", async () => {
    await rejoin("students-1", "students");
  });

  it("SIGKILL of a courses node: the same", async () => {
    const { report } = await lose("courses-1", "SIGKILL");
    expectNoFailure(report);
    await rejoin("courses-1", "courses");
  });

  it("SIGTERM of a node (rolling update): no failed request, the node exits 0, p99 < 500 ms", async () => {
    const { report, exitCode } = await lose("students-2", "SIGTERM");
    expectNoFailure(report);
    expect(exitCode).toBe(0);
    await rejoin("students-2", "students");
  });
});

describe("infrastructure restarted under load", () => {
  it("Redis: serving again within 10 s, failures only 503 with Retry-After", async () => {
    await restartUnderLoad("Redis", redis, 2000);
  });

  it("PostgreSQL: serving again within 10 s, failures only 503 with Retry-After", async () => {
    await restartUnderLoad("PostgreSQL", postgres, 2000);
  });

  it("NATS: serving again within 10 s, failures only 503 with Retry-After", async () => {
    await restartUnderLoad("NATS", nats, 2000);
  });
});

describe("every write, checked against the database afterwards", () => {
  let students: Client;
  let courses: Client;

  beforeAll(async () => {
    students = new Client({ connectionString: cluster.databaseUrl("students") });
    courses = new Client({ connectionString: cluster.databaseUrl("courses") });
    await Promise.all([students.connect(), courses.connect()]);
  });

  afterAll(async () => {
    await Promise.all([students.end(), courses.end()]);
  });

  it("each accepted create exists exactly once, with the id it was answered with", async () => {
    const { rows } = await students.query<{ id: string; email: string }>(
      `SELECT id, email FROM students.students WHERE email LIKE $1`,
      [`fo.${cluster.runId}.%`],
    );
    const byEmail = new Map(rows.map((row) => [row.email, row.id]));
    expect(rows).toHaveLength(byEmail.size);
    const accepted = written.students.filter((s) => s.status === 201);
    expect(accepted.length).toBeGreaterThan(100);
    for (const student of accepted) expect(byEmail.get(student.email)).toBe(student.id);
    // Created but answered 503 (an infrastructure restart) may exist; nothing else may.
    const known = new Set(written.students.map((s) => s.email));
    expect(rows.filter((row) => !known.has(row.email))).toEqual([]);

    const courseRows = await courses.query<{ id: string; code: string }>(
      `SELECT id, code FROM courses.courses WHERE code LIKE $1`,
      [`FO%-${cluster.runId}`],
    );
    const byCode = new Map(courseRows.rows.map((row) => [row.code, row.id]));
    const acceptedCourses = written.courses.filter((c) => c.status === 201);
    expect(acceptedCourses.length).toBeGreaterThan(50);
    for (const course of acceptedCourses) expect(byCode.get(course.code)).toBe(course.id);
  });

  it("each record holds the value of an accepted PATCH that no later accepted one followed (or of one answered 503)", async () => {
    // Linearizability: the value left must come from a write that was not over before another
    // accepted write to the same record began. A write answered 503 may or may not have happened.
    const check = (log: Patch[], actual: string, seed: string) => {
      const accepted = log.filter((p) => p.status === 200);
      const candidates = log.filter(
        (p) =>
          (p.status === 200 || p.status === 503) &&
          !accepted.some((later) => later.sentAt > p.answeredAt),
      );
      const allowed = new Set(candidates.map((p) => p.value));
      if (accepted.length === 0) allowed.add(seed);
      return allowed.has(actual) ? "ok" : `${actual} not in ${[...allowed].join(",")}`;
    };
    const { rows } = await students.query<{ id: string; first_name: string }>(
      `SELECT id, first_name FROM students.students WHERE id = ANY($1::uuid[])`,
      [studentIds],
    );
    const studentChecks = rows.map((row) =>
      check(written.studentPatches.get(row.id) ?? [], row.first_name, "Seed"),
    );
    expect(studentChecks.filter((c) => c !== "ok")).toEqual([]);
    const courseRows = await courses.query<{ id: string; title: string; code: string }>(
      `SELECT id, title, code FROM courses.courses WHERE id = ANY($1::uuid[])`,
      [courseIds],
    );
    const courseChecks = courseRows.rows.map((row) =>
      check(
        written.coursePatches.get(row.id) ?? [],
        row.title,
        `Seed ${row.code.replace(/^SEED(\d+)-.*$/, "$1")}`,
      ),
    );
    expect(courseChecks.filter((c) => c !== "ok")).toEqual([]);
    expect(rows).toHaveLength(STUDENTS);
    expect(courseRows.rows).toHaveLength(COURSES);
  });
});
