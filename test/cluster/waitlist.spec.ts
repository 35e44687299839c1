/**
 * The waitlist's invariants across processes (issue 18): 50 simultaneous enrollments, drops and
 * capacity changes on one course, through two gateways to two courses nodes over NATS, on
 * PostgreSQL proper (where `SELECT … FOR UPDATE` really locks), then every invariant checked in
 * the courses database.
 */
import { Client } from "pg";
import { waitlistProblems } from "../helpers/waitlist-invariants";
import { Cluster, http, login } from "./harness";

jest.setTimeout(300000);

const cluster = new Cluster();
let token: string;
let gateways: string[];
let db: Client;

beforeAll(async () => {
  await cluster.createDatabases();
  const workers = await Promise.all([
    cluster.start("users", "users"),
    cluster.start("students", "students"),
    cluster.start("courses-1", "courses"),
    cluster.start("courses-2", "courses"),
  ]);
  const apis = await Promise.all([cluster.start("api", "api"), cluster.start("api-2", "api")]);
  await Promise.all([...workers, ...apis].map((node) => cluster.ready(node)));
  gateways = [cluster.gateway("api"), cluster.gateway("api-2")];
  token = await login(gateways[0]);
  db = new Client({
    connectionString: `postgres://postgres@127.0.0.1:5432/campus_${cluster.runId}_courses`,
  });
  await db.connect();
});

afterAll(async () => {
  await db?.end();
  await cluster.stopAll();
  await cluster.dropDatabases();
  await cluster.deleteStreams();
});

const query = async (sql: string, params: unknown[]) => (await db.query(sql, params)).rows;

it("keeps every waitlist invariant under 50 simultaneous changes spread over two courses nodes", async () => {
  const created = await http(gateways[0], "POST", "/api/courses", token, {
    code: `WAIT-${cluster.runId}`,
    title: "Waitlist race",
    capacity: 4,
    waitlistCapacity: 8,
  });
  expect(created.status).toBe(201);
  const courseId = created.body.id as string;
  const students: string[] = [];
  for (let i = 0; i < 16; i += 1) {
    const result = await http(gateways[i % 2], "POST", "/api/students", token, {
      firstName: "Race",
      lastName: `Waiter${i}`,
      email: `waiter.${cluster.runId}.${i}@campus.test`,
    });
    expect(result.status).toBe(201);
    students.push(result.body.id);
  }
  for (const id of students.slice(0, 8)) {
    const result = await http(gateways[0], "POST", `/api/courses/${courseId}/students`, token, {
      studentId: id,
    });
    expect([201, 202]).toContain(result.status);
  }

  const operations = Array.from({ length: 50 }, (_, i) => {
    const gateway = gateways[i % 2];
    const student = students[(i * 7) % students.length];
    if (i % 10 === 3 || i % 10 === 8) {
      const capacity = [3, 6, 4, 7, 5][Math.floor(i / 10)] - (i % 10 === 3 ? 1 : 0);
      return http(gateway, "PATCH", `/api/courses/${courseId}`, token, { capacity });
    }
    if (i % 3 === 0)
      return http(gateway, "DELETE", `/api/courses/${courseId}/students/${student}`, token);
    return http(gateway, "POST", `/api/courses/${courseId}/students`, token, {
      studentId: student,
    });
  });
  const results = await Promise.all(operations);

  for (const result of results)
    expect([200, 201, 202, 204, 404, 409, 422]).toContain(result.status);
  expect(await waitlistProblems(query, courseId)).toEqual([]);
  const promotions = await query(
    `SELECT count(*)::int AS n FROM courses.enrollment_history
     WHERE course_id = $1 AND from_status = 'waitlisted' AND to_status = 'active'`,
    [courseId],
  );
  expect(Number(promotions[0].n)).toBeGreaterThan(0);
  const after = await http(gateways[1], "GET", `/api/courses/${courseId}`, token);
  const [counts] = await query(
    `SELECT count(*) FILTER (WHERE status IN ('active', 'completed'))::int AS seated,
            count(*) FILTER (WHERE status = 'waitlisted')::int AS waiting
     FROM courses.enrollments WHERE course_id = $1`,
    [courseId],
  );
  expect(after.body.enrolledCount).toBe(Number(counts.seated));
  expect(after.body.waitlistedCount).toBe(Number(counts.waiting));
});
