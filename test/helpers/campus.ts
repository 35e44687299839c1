/**
 * The one test helper that starts Campus: a real broker with the real services and gateway, on
 * an in-memory embedded PostgreSQL, listening on a free port. Tests talk to it over HTTP.
 */
import type { AddressInfo } from "net";
import type { Server } from "http";
import type { ServiceBroker } from "moleculer";
import { loadConfig } from "../../lib/config";
import { createNode } from "../../lib/node";
import { eventually } from "./eventually";

export { eventually };

export const ADMIN = { email: "admin@campus.test", password: "admin-password-for-tests" };
/** The password `registerStudent` gives every student it registers. */
export const STUDENT_PASSWORD = "a-good-long-password";
/** A well-formed id that no record has. */
export const UNKNOWN_ID = "00000000-0000-4000-8000-000000000001";
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** A timestamp as the API writes it: ISO 8601 in UTC, with milliseconds. */
export const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

export interface HttpResult<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export interface RequestOptions {
  token?: string;
  body?: unknown;
  rawBody?: string;
  headers?: Record<string, string>;
}

export interface Campus {
  broker: ServiceBroker;
  baseUrl: string;
  request<T = any>(method: string, path: string, options?: RequestOptions): Promise<HttpResult<T>>;
  adminToken(): Promise<string>;
  stop(): Promise<void>;
}

export async function startCampus(env: Record<string, string> = {}): Promise<Campus> {
  const config = loadConfig({
    PORT: "0",
    METRICS_PORT: "0",
    DATA_DIR: ":memory:",
    LOG_LEVEL: "warn",
    LOG_FORMAT: "json",
    JWT_SECRET: "integration-test-secret-that-is-long-enough",
    ADMIN_EMAIL: ADMIN.email,
    ADMIN_PASSWORD: ADMIN.password,
    RATE_LIMIT_PER_MINUTE: "0",
    AUTH_RATE_LIMIT_PER_MINUTE: "0",
    // Off like the rate limits: tests that send wrong passwords in a row are not slowed down;
    // the slow-down's own tests turn it on.
    LOGIN_BACKOFF_MS: "0",
    ...env,
  });
  const broker = createNode(config);
  await broker.start();
  await broker.waitForServices(["students", "courses", "users"]);
  const server = (broker.getLocalService("api") as unknown as { server: Server }).server;
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  await eventually(async () => {
    const ready = await fetch(`${baseUrl}/health/ready`);
    if (ready.status !== 200) throw new Error(`not ready: ${await ready.text()}`);
  }, 20000);

  async function request<T>(
    method: string,
    path: string,
    options: RequestOptions = {},
  ): Promise<HttpResult<T>> {
    const headers: Record<string, string> = { ...options.headers };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    let payload: string | undefined = options.rawBody;
    if (options.body !== undefined) {
      payload = JSON.stringify(options.body);
      headers["content-type"] ??= "application/json";
    }
    const response = await fetch(`${baseUrl}${path}`, { method, headers, body: payload });
    const text = await response.text();
    let body: unknown = undefined;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = text;
    }
    return { status: response.status, headers: response.headers, body: body as T, text };
  }

  let cachedAdminToken: string | null = null;
  return {
    broker,
    baseUrl,
    request,
    async adminToken() {
      if (!cachedAdminToken) {
        const login = await request<{ accessToken: string }>("POST", "/api/auth/login", {
          body: ADMIN,
        });
        cachedAdminToken = login.body.accessToken as string;
      }
      return cachedAdminToken;
    },
    stop: () => broker.stop(),
  };
}

let counter = 0;
/** A unique, valid email for one test. */
export function uniqueEmail(prefix = "student"): string {
  counter += 1;
  return `${prefix}.${process.pid}.${Date.now()}.${counter}@campus.test`;
}

/** Registers a student account; returns its token and ids. */
export async function registerStudent(campus: Campus, overrides: Record<string, string> = {}) {
  const email = overrides.email ?? uniqueEmail();
  const result = await campus.request("POST", "/api/auth/register", {
    body: {
      email,
      password: STUDENT_PASSWORD,
      firstName: "Test",
      lastName: "Student",
      ...overrides,
    },
  });
  if (result.status !== 201) throw new Error(`register failed: ${result.status} ${result.text}`);
  return {
    token: result.body.accessToken as string,
    userId: result.body.user.id as string,
    studentId: result.body.user.studentId as string,
    email,
  };
}

/** How many student records an admin's list search for `text` finds (first, last name or email). */
export async function studentsMatching(campus: Campus, text: string): Promise<number> {
  const result = await campus.request(
    "GET",
    `/api/students?search=${encodeURIComponent(text)}&pageSize=100`,
    { token: await campus.adminToken() },
  );
  if (result.status !== 200) throw new Error(`student search: ${result.status} ${result.text}`);
  return result.body.total as number;
}

/** Creates a teacher account as admin and logs it in; returns its access token. */
export async function createTeacher(campus: Campus): Promise<string> {
  const email = uniqueEmail("teacher");
  const password = "a-teacher-password-long-enough";
  const created = await campus.request("POST", "/api/users", {
    token: await campus.adminToken(),
    body: { email, password, role: "teacher" },
  });
  if (created.status !== 201) throw new Error(`create teacher: ${created.status} ${created.text}`);
  const login = await campus.request("POST", "/api/auth/login", { body: { email, password } });
  if (login.status !== 200) throw new Error(`teacher login: ${login.status} ${login.text}`);
  return login.body.accessToken as string;
}

/**
 * Creates a course as `token` (an admin's or a teacher's) with a code no other course has;
 * `fields` override the defaults. Fails the test unless the answer is 201; returns the course.
 */
export async function createCourse(
  campus: Campus,
  token: string,
  fields: Record<string, unknown> = {},
) {
  const result = await campus.request("POST", "/api/courses", {
    token,
    body: { code: courseCode(), title: "A course", ...fields },
  });
  expect(result.status).toBe(201);
  return result.body;
}

/**
 * A source of lower-case tokens no other test's data contains (`${prefix}${n}x${run}`): a unique
 * code, or a search term that scopes a list to one test's records.
 */
export function markers(prefix: string): () => string {
  const run = Date.now().toString(36);
  let count = 0;
  return () => {
    count += 1;
    return `${prefix}${count}x${run}`;
  };
}

/**
 * A stand-in consumer in a durable group of its own on `campus`: each message of the named
 * channels, as published, is pushed to that channel's list (filled as messages arrive).
 */
export async function recordChannels<Name extends string>(
  campus: Campus,
  group: string,
  names: readonly Name[],
): Promise<Record<Name, Record<string, unknown>[]>> {
  const received = Object.fromEntries(names.map((name) => [name, []])) as unknown as Record<
    Name,
    Record<string, unknown>[]
  >;
  await campus.broker.createService({
    name: group,
    channels: Object.fromEntries(
      names.map((name) => [
        name,
        {
          group,
          context: true,
          async handler(ctx: { params: Record<string, unknown> }) {
            received[name].push(ctx.params);
          },
        },
      ]),
    ),
  } as never);
  return received;
}

const courseCode = markers("course");

/** The contract's error body: name, message, code, type, and `data` only when given. */
export function errorBody(code: number, type: string, data?: unknown) {
  return {
    name: expect.any(String),
    message: expect.any(String),
    code,
    type,
    ...(data === undefined ? {} : { data }),
  };
}

/** One item of a 422 body's `data`: the field and why it was refused. */
export function fieldError(field: unknown) {
  return { field, message: expect.any(String), type: expect.any(String) };
}
