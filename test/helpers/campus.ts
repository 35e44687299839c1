/**
 * The one test helper that starts Campus: a real broker with the real services and gateway, on
 * an in-memory embedded PostgreSQL, listening on a free port. Tests talk to it over HTTP.
 */
import type { AddressInfo } from "net";
import type { Server } from "http";
import type { ServiceBroker } from "moleculer";
import { loadConfig } from "../../lib/config";
import { createNode } from "../../lib/node";

export const ADMIN = { email: "admin@campus.test", password: "admin-password-for-tests" };

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
      password: "a-good-long-password",
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

/** Polls until `check` passes (for effects of events, which complete after the response). */
export async function eventually(check: () => Promise<void>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}
