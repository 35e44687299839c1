/**
 * Campus over a NATS server and a Redis server this test owns, so it can stop and restart them:
 * requests keep succeeding while Redis is gone, and the nodes reconnect to a restarted NATS.
 */
import {
  Cluster,
  eventually,
  http,
  login,
  sleep,
  startOwnedNats,
  startOwnedRedis,
  steadyLoad,
  type OwnedServer,
} from "./harness";

jest.setTimeout(300000);

let nats: OwnedServer;
let redis: OwnedServer;
let cluster: Cluster;
let base: string;
let token: string;

beforeAll(async () => {
  [nats, redis] = await Promise.all([startOwnedNats(), startOwnedRedis()]);
  cluster = new Cluster({ transporter: nats.url, cacher: redis.url });
  await cluster.createDatabases();
  const nodes = await Promise.all([
    cluster.start("users", "users"),
    cluster.start("students", "students"),
    cluster.start("courses", "courses"),
    cluster.start("api", "api"),
  ]);
  await Promise.all(nodes.map((node) => cluster.ready(node)));
  base = cluster.gateway("api");
  token = await login(base);
});

afterAll(async () => {
  await cluster.stopAll();
  await cluster.dropDatabases();
  await Promise.all([nats.stop(), redis.stop()]);
});

async function createCourse(code: string) {
  const result = await http(base, "POST", "/api/courses", token, {
    code: `${code}-${cluster.runId}`,
    title: code,
  });
  expect(result.status).toBe(201);
  return result.body as { id: string };
}

it("answers every request while Redis is stopped and restarted, and caches again afterwards", async () => {
  const course = await createCourse("REDIS");

  const report = await steadyLoad(
    () => http(base, "GET", `/api/courses/${course.id}`, token),
    50,
    8000,
    async () => {
      await sleep(2000);
      await redis.stop();
      await sleep(3000);
      await redis.start();
    },
  );

  expect(report.failed).toEqual([]);
  expect(await cluster.metric("courses", "campus_cache_errors_total")).toBeGreaterThanOrEqual(0);
  const foundBefore = await cluster.metric("courses", "moleculer_cacher_found_total");
  await eventually(async () => {
    await http(base, "GET", `/api/courses/${course.id}`, token);
    const found = await cluster.metric("courses", "moleculer_cacher_found_total");
    if (found <= foundBefore) throw new Error("no cache hit yet");
  }, 15000);
});

it("shows a write made while Redis was down once Redis is back (nothing stale survives the outage)", async () => {
  const course = await createCourse("STALE");
  await http(base, "GET", `/api/courses/${course.id}`, token); // cached in Redis

  await redis.stop();
  const patched = await http(base, "PATCH", `/api/courses/${course.id}`, token, {
    title: "Changed offline",
  });
  expect(patched.status).toBe(200);
  await redis.start();

  await eventually(async () => {
    const read = await http(base, "GET", `/api/courses/${course.id}`, token);
    if (read.body.title !== "Changed offline") throw new Error(`stale: ${read.body.title}`);
  }, 15000);
});

it("reconnects every node after the NATS server restarts", async () => {
  const course = await createCourse("NATS");

  await nats.stop();
  await sleep(2000);
  await nats.start();

  await Promise.all([...cluster.nodes.values()].map((node) => cluster.ready(node, 30000)));
  await eventually(async () => {
    const read = await http(base, "GET", `/api/courses/${course.id}`, token);
    if (read.status !== 200) throw new Error(`answered ${read.status}`);
  }, 30000);
  const roster = await http(base, "GET", `/api/courses/${course.id}/students`, token);
  expect(roster.status).toBe(200);
});
