/**
 * Campus as separate processes over the machine's NATS, PostgreSQL and Redis: two gateways,
 * two students and two courses nodes, users and notifications. Nodes are killed and stopped
 * under load; clients must not notice.
 */
import { Cluster, http, login, steadyLoad, eventually, sleep } from "./harness";

jest.setTimeout(300000);

const cluster = new Cluster();
let token: string;
let base: string;

async function createStudent(index: number) {
  const result = await http(base, "POST", "/api/students", token, {
    firstName: "Cluster",
    lastName: `Student${index}`,
    email: `cluster.${cluster.runId}.${index}.${Date.now()}@campus.test`,
  });
  expect(result.status).toBe(201);
  return result.body as { id: string };
}

async function createCourse(code: string, capacity: number | null = null) {
  const result = await http(base, "POST", "/api/courses", token, {
    code: `${code}-${cluster.runId}`,
    title: `Course ${code}`,
    capacity,
  });
  expect(result.status).toBe(201);
  return result.body as { id: string; code: string };
}

beforeAll(async () => {
  await cluster.createDatabases();
  // The database owners first (their migrations), then the gateways.
  const workers = await Promise.all([
    cluster.start("users", "users"),
    cluster.start("students-1", "students"),
    cluster.start("students-2", "students"),
    cluster.start("courses-1", "courses"),
    cluster.start("courses-2", "courses"),
    cluster.start("notifications", "notifications"),
  ]);
  const gateways = await Promise.all([cluster.start("api", "api"), cluster.start("api-2", "api")]);
  await Promise.all([...workers, ...gateways].map((node) => cluster.ready(node)));
  base = cluster.gateway("api");
  token = await login(base);
});

afterAll(async () => {
  await cluster.stopAll();
  await cluster.dropDatabases();
  await cluster.deleteStreams();
});

describe("services calling each other across processes", () => {
  it("answers both cross-service endpoints and spreads the calls over both replicas", async () => {
    const course = await createCourse("XS");
    const students = await Promise.all([1, 2, 3].map((i) => createStudent(i)));
    for (const student of students) {
      const enrolled = await http(base, "POST", `/api/students/${student.id}/courses`, token, {
        courseId: course.id,
      });
      expect(enrolled.status).toBe(201);
    }

    const before = {
      s1: await cluster.metric("students-1", "moleculer_request_total", {
        action: "students.courses",
      }),
      s2: await cluster.metric("students-2", "moleculer_request_total", {
        action: "students.courses",
      }),
      c1: await cluster.metric("courses-1", "moleculer_request_total", {
        action: "courses.students",
      }),
      c2: await cluster.metric("courses-2", "moleculer_request_total", {
        action: "courses.students",
      }),
    };
    for (let i = 0; i < 40; i += 1) {
      const courses = await http(base, "GET", `/api/students/${students[0].id}/courses`, token);
      expect(courses.status).toBe(200);
      expect(courses.body.rows.map((row: { id: string }) => row.id)).toEqual([course.id]);
      const roster = await http(base, "GET", `/api/courses/${course.id}/students`, token);
      expect(roster.status).toBe(200);
      expect(roster.body.total).toBe(3);
    }

    const served = {
      s1:
        (await cluster.metric("students-1", "moleculer_request_total", {
          action: "students.courses",
        })) - before.s1,
      s2:
        (await cluster.metric("students-2", "moleculer_request_total", {
          action: "students.courses",
        })) - before.s2,
      c1:
        (await cluster.metric("courses-1", "moleculer_request_total", {
          action: "courses.students",
        })) - before.c1,
      c2:
        (await cluster.metric("courses-2", "moleculer_request_total", {
          action: "courses.students",
        })) - before.c2,
    };
    expect(served.s1 + served.s2).toBe(40);
    expect(served.c1 + served.c2).toBe(40);
    // NATS queue groups pick a replica at random for each call: both take a share (fewer than 8
    // of 40 happens about once in 50,000 runs by chance).
    expect(Math.min(served.s1, served.s2)).toBeGreaterThanOrEqual(8);
    expect(Math.min(served.c1, served.c2)).toBeGreaterThanOrEqual(8);
  });

  it("serves repeated reads from the caches (near, then shared Redis) and shows a write made through another gateway", async () => {
    const course = await createCourse("CACHE");
    const nodes = ["courses-1", "courses-2"];
    const sum = async (metric: string, labels: Record<string, string> = {}) =>
      (await Promise.all(nodes.map((n) => cluster.metric(n, metric, labels)))).reduce(
        (a, b) => a + b,
        0,
      );
    const redisHits = () => sum("moleculer_cacher_found_total");
    const nearHits = () =>
      sum("campus_near_cache_requests_total", { action: "courses.byId", result: "hit" });
    const before = { redis: await redisHits(), near: await nearHits() };

    for (let i = 0; i < 6; i += 1) {
      expect((await http(base, "GET", `/api/courses/${course.id}`, token)).status).toBe(200);
    }
    const redis = (await redisHits()) - before.redis;
    const near = (await nearHits()) - before.near;
    // One database read in all: the other courses node's first read finds the entry the first
    // one left in Redis; every read after that is answered by the reading node's near cache.
    expect(redis).toBeGreaterThanOrEqual(1);
    expect(redis + near).toBeGreaterThanOrEqual(5);

    const other = cluster.gateway("api-2");
    const otherToken = await login(other);
    const patched = await http(other, "PATCH", `/api/courses/${course.id}`, otherToken, {
      title: "Renamed",
    });
    expect(patched.status).toBe(200);

    for (let i = 0; i < 4; i += 1) {
      const read = await http(base, "GET", `/api/courses/${course.id}`, token);
      expect(read.body.title).toBe("Renamed");
    }
  });

  it("keeps the seat limit exact when 20 enrollments race across two courses nodes", async () => {
    const course = await createCourse("RACE", 5);
    const students = await Promise.all(
      Array.from({ length: 20 }, (_, i) => createStudent(100 + i)),
    );
    const gateways = [cluster.gateway("api"), cluster.gateway("api-2")];

    const results = await Promise.all(
      students.map((student, i) =>
        http(gateways[i % 2], "POST", `/api/courses/${course.id}/students`, token, {
          studentId: student.id,
        }),
      ),
    );

    const statuses = results.map((result) => result.status);
    expect(statuses.filter((status) => status === 201)).toHaveLength(5);
    expect(statuses.filter((status) => status === 409)).toHaveLength(15);
    const after = await http(base, "GET", `/api/courses/${course.id}`, token);
    expect(after.body.enrolledCount).toBe(5);
  });
});

describe("near caches and read-after-write from any node", () => {
  // Each students node near-caches students.byId and courses.coursesOfStudent, each gateway
  // users.account; a write must be seen through the other gateway the moment it answers.
  it("a student's update and enrollment are read at once through the other gateway", async () => {
    const other = cluster.gateway("api-2");
    const student = await createStudent(900);
    for (let round = 0; round < 6; round++) {
      for (let i = 0; i < 4; i++) {
        // Warm both students nodes' near caches (round robin) through the other gateway.
        expect((await http(other, "GET", `/api/students/${student.id}`, token)).status).toBe(200);
        const courses = await http(other, "GET", `/api/students/${student.id}/courses`, token);
        expect(courses.status).toBe(200);
      }
      const firstName = `Round${round}`;
      const patched = await http(base, "PATCH", `/api/students/${student.id}`, token, {
        firstName,
      });
      expect(patched.status).toBe(200);
      const course = await createCourse(`NC${round}`);
      const enrolled = await http(base, "POST", `/api/students/${student.id}/courses`, token, {
        courseId: course.id,
      });
      expect(enrolled.status).toBe(201);

      const read = await http(other, "GET", `/api/students/${student.id}`, token);
      expect(read.body.firstName).toBe(firstName);
      const courses = await http(other, "GET", `/api/students/${student.id}/courses`, token);
      expect(courses.body.total).toBe(round + 1);
    }
  });

  it("a disabled account's token is refused at once by the gateway that had it cached", async () => {
    const email = `near.${cluster.runId}.${Date.now()}@campus.test`;
    const password = "a-long-enough-password-1";
    const created = await http(base, "POST", "/api/users", token, {
      email,
      password,
      role: "teacher",
    });
    expect(created.status).toBe(201);
    const other = cluster.gateway("api-2");
    const teacher = await login(other, { email, password });
    expect((await http(other, "GET", "/api/courses", teacher)).status).toBe(200);

    const disabled = await http(base, "PATCH", `/api/users/${created.body.id}`, token, {
      disabled: true,
    });
    expect(disabled.status).toBe(200);
    expect((await http(other, "GET", "/api/courses", teacher)).status).toBe(401);
  });
});

describe("nodes leaving under load", () => {
  it("loses no request when a students node is killed with SIGKILL at 100 req/s", async () => {
    const student = await createStudent(200);

    const report = await steadyLoad(
      () => http(base, "GET", `/api/students/${student.id}/courses`, token),
      100,
      10000,
      async () => {
        await sleep(2000);
        await cluster.stop("students-1", "SIGKILL");
      },
    );

    expect(report.failed).toEqual([]);
    expect(report.sent).toBeGreaterThanOrEqual(900);
    // Bring the replica back for the next tests.
    await cluster.ready(await cluster.start("students-1", "students"));
  });

  it("loses no request when a students node is stopped with SIGTERM at 100 req/s, and the node exits 0", async () => {
    const student = await createStudent(201);
    let exitCode: number | null = -1;

    const report = await steadyLoad(
      () => http(base, "GET", `/api/students/${student.id}`, token),
      100,
      8000,
      async () => {
        await sleep(2000);
        exitCode = await cluster.stop("students-2", "SIGTERM");
      },
    );

    expect(report.failed).toEqual([]);
    expect(exitCode).toBe(0);
    await cluster.ready(await cluster.start("students-2", "students"));
  });

  it("answers 503 with Retry-After while every students node is down, and recovers when one returns", async () => {
    const student = await createStudent(300);
    await Promise.all([
      cluster.stop("students-1", "SIGTERM"),
      cluster.stop("students-2", "SIGTERM"),
    ]);

    const started = Date.now();
    const down = await eventually(async () => {
      const result = await http(base, "GET", `/api/students/${student.id}`, token);
      if (result.status !== 503) throw new Error(`still ${result.status}`);
      return result;
    }, 15000);
    expect(Date.now() - started).toBeLessThan(15000);
    expect(down.headers.get("retry-after")).toMatch(/^\d+$/);
    expect(down.body.type).toBe("SERVICE_UNAVAILABLE");

    await cluster.ready(await cluster.start("students-1", "students"));
    await eventually(async () => {
      const result = await http(base, "GET", `/api/students/${student.id}`, token);
      if (result.status !== 200) throw new Error(`still ${result.status}`);
    }, 20000);
  });
});

describe("durable domain events", () => {
  it("delivers every notification exactly once to a notifications service that was down when the events were published", async () => {
    await cluster.stop("notifications", "SIGTERM");
    const email = `durable.${cluster.runId}@campus.test`;
    const registered = await http(base, "POST", "/api/auth/register", undefined, {
      email,
      password: "a-good-long-password",
      firstName: "Durable",
      lastName: "Reader",
    });
    expect(registered.status).toBe(201);
    const { accessToken, user } = registered.body as {
      accessToken: string;
      user: { studentId: string };
    };
    const course = await createCourse("EVT");
    const enrolled = await http(
      base,
      "POST",
      `/api/students/${user.studentId}/courses`,
      accessToken,
      {
        courseId: course.id,
      },
    );
    expect(enrolled.status).toBe(201);

    await cluster.ready(await cluster.start("notifications", "notifications"));

    const types = async () => {
      const page = await http(base, "GET", "/api/notifications?pageSize=100", accessToken);
      if (page.status !== 200) throw new Error(`notifications answered ${page.status}`);
      return (page.body.rows as { type: string }[]).map((row) => row.type).sort();
    };
    await eventually(async () => {
      const received = await types();
      if (received.length < 2) throw new Error(`only ${received.join(",")}`);
    }, 30000);
    // Redeliveries (if any) must not add copies: look again after the consumers settled.
    await sleep(2000);
    expect(await types()).toEqual(["enrolled", "welcome"]);
  });
});
