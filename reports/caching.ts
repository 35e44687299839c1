/**
 * docs/reports/caching.md: the same reads measured without and with the cache, in one run, on a
 * small cluster (api, users, students, courses over NATS, Redis cache, PostgreSQL).
 *
 * Campus has no cache-off switch, so "without" means reads the cache cannot answer: each request
 * of a pass asks for a different student, none read before (a cold pass, every lookup a miss).
 * "With" is the very same requests again (a warm pass, answered from Redis). Students and their
 * enrollments are seeded with SQL, enough for every request of a pass to have its own id.
 */
import autocannon from "autocannon";
import Redis from "ioredis";
import { Client } from "pg";
import { Cluster, login } from "../test/cluster/harness";
import { log, round, stamp, table, writeReport } from "./common";

const CONNECTIONS = 20;
const PER_PASS = 3000;
const WARMUP = 400;
const ROUNDS = 3;
const COURSES_PER_STUDENT = 3;

interface Pass {
  reqPerSec: number;
  p50: number;
  p99: number;
  requests: number;
  non2xx: number;
  errors: number;
  gets: number;
  hits: number;
  dataGets: number;
  dataHits: number;
}

interface Endpoint {
  name: string;
  path: (studentId: string) => string;
  inner: string;
}

const ENDPOINTS: Endpoint[] = [
  {
    name: "GET /api/students/:id",
    path: (id) => `/api/students/${id}`,
    inner: "students.byId (students node)",
  },
  {
    name: "GET /api/students/:id/courses",
    path: (id) => `/api/students/${id}/courses`,
    inner: `students.byId, then courses.coursesOfStudent (${COURSES_PER_STUDENT} courses each)`,
  },
];

function dbUrl(cluster: Cluster, owner: string): string {
  return `postgres://postgres@127.0.0.1:5432/campus_${cluster.runId}_${owner}`;
}

/** `count` students with `courses` enrollments each, straight into the services' databases. */
async function seed(cluster: Cluster, count: number, courseIds: string[]): Promise<string[]> {
  const students = new Client({ connectionString: dbUrl(cluster, "students") });
  await students.connect();
  let ids: string[];
  try {
    const result = await students.query<{ id: string }>(
      `INSERT INTO students.students (first_name, last_name, email)
       SELECT 'Cache', 'Student' || n, 'cache.' || n || '.' || md5(random()::text) || '@campus.test'
       FROM generate_series(1, $1) AS n RETURNING id`,
      [count],
    );
    ids = result.rows.map((row) => row.id);
  } finally {
    await students.end();
  }
  const courses = new Client({ connectionString: dbUrl(cluster, "courses") });
  await courses.connect();
  try {
    await courses.query(
      `INSERT INTO courses.enrollments (course_id, student_id)
       SELECT c, s FROM unnest($1::uuid[]) AS s, unnest($2::uuid[]) AS c`,
      [ids, courseIds],
    );
    await courses.query(
      `UPDATE courses.courses SET enrolled_count = enrolled_count + $1 WHERE id = ANY($2::uuid[])`,
      [ids.length, courseIds],
    );
  } finally {
    await courses.end();
  }
  return ids;
}

async function cacherCounts(cluster: Cluster, nodes: string[]) {
  let gets = 0;
  let hits = 0;
  for (const node of nodes) {
    gets += await cluster.metric(node, "moleculer_cacher_get_total");
    hits += await cluster.metric(node, "moleculer_cacher_found_total");
  }
  return { gets, hits };
}

/** One pass: every path requested once, CONNECTIONS at a time. */
async function pass(cluster: Cluster, base: string, token: string, paths: string[]): Promise<Pass> {
  const all = ["api", "users", "students", "courses"];
  const data = ["students", "courses"];
  const before = await cacherCounts(cluster, all);
  const beforeData = await cacherCounts(cluster, data);
  let next = 0;
  // The pass's own clock, to its last response: with `amount`, autocannon stops on its
  // one-second tick, so its start/finish would round every pass up to whole seconds.
  const started = performance.now();
  let last = started;
  const result = await new Promise<autocannon.Result>((done, fail) => {
    const instance = autocannon(
      {
        url: base,
        connections: CONNECTIONS,
        amount: paths.length,
        timeout: 10,
        headers: { authorization: `Bearer ${token}` },
        requests: [{ method: "GET", setupRequest: (req) => ({ ...req, path: paths[next++] }) }],
      },
      (err, res) => (err ? fail(err) : done(res)),
    );
    instance.on("response", () => {
      last = performance.now();
    });
  });
  const after = await cacherCounts(cluster, all);
  const afterData = await cacherCounts(cluster, data);
  return {
    reqPerSec: result.requests.total / ((last - started) / 1000),
    p50: result.latency.p50,
    p99: result.latency.p99,
    requests: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors,
    gets: after.gets - before.gets,
    hits: after.hits - before.hits,
    dataGets: afterData.gets - beforeData.gets,
    dataHits: afterData.hits - beforeData.hits,
  };
}

const ratio = (hits: number, gets: number) =>
  gets === 0 ? "–" : `${round((100 * hits) / gets)} %`;
function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

export async function cachingReport(): Promise<void> {
  const cluster = new Cluster();
  const redis = new Redis(cluster.cacher, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    log(`caching: cluster ${cluster.namespace} (api, users, students, courses; Redis cache)`);
    await cluster.createDatabases();
    const workers = await Promise.all([
      cluster.start("users", "users"),
      cluster.start("students", "students"),
      cluster.start("courses", "courses"),
    ]);
    const api = await cluster.start("api", "api");
    await Promise.all([...workers, api].map((node) => cluster.ready(node)));
    const base = cluster.gateway("api");
    const token = await login(base);

    const courseIds: string[] = [];
    for (let i = 0; i < COURSES_PER_STUDENT; i += 1) {
      const response = await fetch(`${base}/api/courses`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ code: `CACHE-${i}`, title: `Cache course ${i}` }),
      });
      courseIds.push(((await response.json()) as { id: string }).id);
    }
    const perEndpoint = WARMUP + ROUNDS * PER_PASS;
    log(`caching: seeding ${perEndpoint * ENDPOINTS.length} students with SQL`);
    const results: { endpoint: Endpoint; rounds: { cold: Pass; warm: Pass }[] }[] = [];
    for (const endpoint of ENDPOINTS) {
      const ids = await seed(cluster, perEndpoint, courseIds);
      const paths = ids.map(endpoint.path);
      log(`caching: ${endpoint.name}: warm-up (${WARMUP} other students, discarded)`);
      await pass(cluster, base, token, paths.slice(0, WARMUP));
      const rounds: { cold: Pass; warm: Pass }[] = [];
      for (let r = 0; r < ROUNDS; r += 1) {
        const set = paths.slice(WARMUP + r * PER_PASS, WARMUP + (r + 1) * PER_PASS);
        log(
          `caching: ${endpoint.name}: round ${r + 1}, cold then warm (${set.length} requests each)`,
        );
        const cold = await pass(cluster, base, token, set);
        const warm = await pass(cluster, base, token, set);
        rounds.push({ cold, warm });
      }
      results.push({ endpoint, rounds });
    }

    const rows: (string | number)[][] = [];
    const ratios: (string | number)[][] = [];
    for (const { endpoint, rounds } of results) {
      rounds.forEach(({ cold, warm }, index) => {
        for (const [label, p] of [
          ["without cache (cold: ids never read)", cold],
          ["with cache (warm: the same requests again)", warm],
        ] as const) {
          rows.push([
            endpoint.name,
            index + 1,
            label,
            round(p.reqPerSec, 0),
            p.p50,
            p.p99,
            ratio(p.dataHits, p.dataGets),
            ratio(p.hits, p.gets),
            `${p.requests} / ${p.non2xx} / ${p.errors}`,
          ]);
        }
      });
      const speedUp = median(rounds.map((r) => r.warm.reqPerSec / r.cold.reqPerSec));
      ratios.push([
        endpoint.name,
        endpoint.inner,
        round(median(rounds.map((r) => r.cold.reqPerSec)), 0),
        round(median(rounds.map((r) => r.warm.reqPerSec)), 0),
        `**× ${round(speedUp, 2)}**`,
        `${round(median(rounds.map((r) => r.cold.p99)), 0)} → ${round(median(rounds.map((r) => r.warm.p99)), 0)} ms`,
      ]);
    }

    writeReport(
      "caching.md",
      [
        stamp("Caching report", "caching"),
        "The same reads measured without and with the cache, in this one run, on a cluster of four",
        "node processes on this machine: `api`, `users`, `students`, `courses` over NATS (JSON),",
        "PostgreSQL, Redis as the shared cache (`CACHER`). Rate limits off, `LOG_LEVEL=info`.",
        "",
        "**Method.** Campus has no cache-off switch, so _without cache_ means requests the cache",
        `cannot answer: in a cold pass every request names a different student, never read before`,
        `(${PER_PASS} requests, ${PER_PASS} students, seeded with SQL with ${COURSES_PER_STUDENT} enrollments each), so`,
        "every lookup of the student's data misses and goes to PostgreSQL (and, for the courses",
        "endpoint, across to the courses service and its database). _With cache_ is the warm pass:",
        "exactly the same requests again, now answered from Redis. Each pass is every request once,",
        `${CONNECTIONS} connections (autocannon), after a discarded warm-up of ${WARMUP} requests on other`,
        `students; ${ROUNDS} rounds of cold-then-warm per endpoint, each on fresh students. Every`,
        "request carries the administrator's token; its account lookup (`users.account`) is cached",
        "in both passes, so the _all cachers_ column never reaches 0 %.",
        "",
        "Hit ratios come from the nodes' own Moleculer cacher metrics, read from `/metrics` before",
        "and after each pass: `moleculer_cacher_found_total / moleculer_cacher_get_total`, on the",
        "students and courses nodes (the read data) and on all four nodes.",
        "",
        "## Speed-up",
        "",
        table(
          [
            "request",
            "cached calls inside",
            "req/s without",
            "req/s with",
            "speed-up",
            "p99 without → with",
          ],
          ratios,
        ),
        "",
        "## Every pass",
        "",
        table(
          [
            "request",
            "round",
            "pass",
            "req/s",
            "p50 ms",
            "p99 ms",
            "hit ratio (students, courses)",
            "hit ratio (all cachers)",
            "responses / non-2xx / errors",
          ],
          rows,
        ),
        "",
        "## Reading it",
        "",
        "- Only the ratios are claims: absolute rates depend on this machine at this minute, and",
        "  autocannon shares its cores with the five servers (four nodes, and Redis, NATS,",
        "  PostgreSQL). Cold and warm passes of a round run back to back on the same cluster.",
        "- p50 and p99 describe a saturated closed loop of 20 requests in flight, not an idle",
        "  server.",
        "- A cold pass also writes every entry it misses into Redis (the warm pass reads them):",
        "  its cost includes the cache's own write, as a first read in production does.",
        "- `npm run bench` (docs/reports/performance.md) measures the cache another way — nodes with",
        "  `CACHER=off` beside nodes with their cache — on repeated reads of one record.",
      ].join("\n"),
    );
  } finally {
    await cluster.stopAll();
    await cluster.dropDatabases().catch(() => undefined);
    await cluster.deleteStreams().catch(() => undefined);
    try {
      await redis.connect();
      const keys = await redis.keys(`MOL-${cluster.namespace}-*`);
      if (keys.length > 0) await redis.del(...keys);
    } catch {
      // the entries expire by themselves (TTL 300 s)
    }
    redis.disconnect();
  }
}
