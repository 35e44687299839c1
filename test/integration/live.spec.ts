/**
 * `/ws` live notifications with a real `ws` client: authentication in the first message, pushes
 * made by the notifications service, JSON and MessagePack, bad input, bounds, disabled accounts.
 */
import { decode, encode } from "notepack.io";
import WebSocket from "ws";
import { METRICS } from "../../lib/metrics";
import {
  eventually,
  startCampus,
  registerStudent,
  uniqueEmail,
  type Campus,
} from "../helpers/campus";

let campus: Campus;
let admin: string;

beforeAll(async () => {
  campus = await startCampus();
  admin = await campus.adminToken();
});
afterAll(() => campus.stop());

interface Socket {
  ws: WebSocket;
  next(predicate?: (message: any) => boolean): Promise<any>;
  closed: Promise<{ code: number; at: number }>;
}

/** Opens `/ws` and collects what it receives (JSON text or MessagePack binary). */
async function connect(): Promise<Socket> {
  const ws = new WebSocket(`${campus.baseUrl.replace("http", "ws")}/ws`);
  const received: any[] = [];
  const waiters: { predicate: (message: any) => boolean; resolve(message: any): void }[] = [];
  ws.on("message", (data, isBinary) => {
    const message = isBinary
      ? { ...decode(data as Buffer), binary: true }
      : JSON.parse(String(data));
    const waiter = waiters.findIndex((entry) => entry.predicate(message));
    if (waiter >= 0) waiters.splice(waiter, 1)[0].resolve(message);
    else received.push(message);
  });
  const closed = new Promise<{ code: number; at: number }>((resolve) =>
    ws.on("close", (code) => resolve({ code, at: Date.now() })),
  );
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  return {
    ws,
    closed,
    next(predicate = () => true) {
      const index = received.findIndex(predicate);
      if (index >= 0) return Promise.resolve(received.splice(index, 1)[0]);
      return new Promise((resolve, reject) => {
        waiters.push({ predicate, resolve });
        setTimeout(() => reject(new Error("no such message within 5 s")), 5000).unref();
      });
    },
  };
}

async function authenticated(token: string): Promise<Socket> {
  const socket = await connect();
  socket.ws.send(JSON.stringify({ type: "auth", token }));
  expect(await socket.next()).toMatchObject({ type: "authenticated" });
  return socket;
}

describe("authentication", () => {
  it("closes with 4401 a socket that does not authenticate within 5 s", async () => {
    const started = Date.now();
    const socket = await connect();
    const { code, at } = await socket.closed;
    expect(code).toBe(4401);
    expect(at - started).toBeGreaterThanOrEqual(4500);
  });

  it("closes with 4401 a bad token, and a first message that is not auth", async () => {
    const bad = await connect();
    bad.ws.send(JSON.stringify({ type: "auth", token: "not.a.token" }));
    expect((await bad.closed).code).toBe(4401);
    const early = await connect();
    early.ws.send(JSON.stringify({ type: "ping" }));
    expect((await early.closed).code).toBe(4401);
  });

  it("closes a disabled account's socket with 4401 at once", async () => {
    const student = await registerStudent(campus);
    const socket = await authenticated(student.token);
    const disabled = await campus.request("PATCH", `/api/users/${student.userId}`, {
      token: admin,
      body: { disabled: true },
    });
    expect(disabled.status).toBe(200);
    expect((await socket.closed).code).toBe(4401);
  });
});

describe("messages", () => {
  it("answers ping, and an error (socket kept) for unknown or malformed messages", async () => {
    const student = await registerStudent(campus);
    const socket = await authenticated(student.token);
    socket.ws.send(JSON.stringify({ type: "ping" }));
    expect(await socket.next()).toEqual({ type: "pong" });
    socket.ws.send("{not json");
    expect(await socket.next()).toMatchObject({ type: "error", code: "MALFORMED" });
    socket.ws.send(JSON.stringify({ type: "dance" }));
    expect(await socket.next()).toMatchObject({ type: "error", code: "UNKNOWN_TYPE" });
    socket.ws.send(JSON.stringify([1, 2]));
    expect(await socket.next()).toMatchObject({ type: "error", code: "MALFORMED" });
    socket.ws.send(JSON.stringify({ type: "ping" }));
    expect(await socket.next()).toEqual({ type: "pong" });
    socket.ws.close();
  });

  it("speaks MessagePack to a client that authenticates in binary", async () => {
    const student = await registerStudent(campus);
    const socket = await connect();
    socket.ws.send(encode({ type: "auth", token: student.token }));
    expect(await socket.next()).toMatchObject({ type: "authenticated", binary: true });
    socket.ws.send(encode({ type: "ping" }));
    expect(await socket.next()).toEqual({ type: "pong", binary: true });
    socket.ws.send(Buffer.from([0xc1]));
    expect(await socket.next()).toMatchObject({ type: "error", code: "MALFORMED", binary: true });
    socket.ws.close();
  });

  it("closes only the socket that sends a frame over 16 KiB (1009)", async () => {
    const student = await registerStudent(campus);
    const other = await authenticated(student.token);
    const socket = await authenticated(student.token);
    socket.ws.send(JSON.stringify({ type: "ping", pad: "x".repeat(20000) }));
    expect((await socket.closed).code).toBe(1009);
    other.ws.send(JSON.stringify({ type: "ping" }));
    expect(await other.next()).toEqual({ type: "pong" });
    other.ws.close();
  });

  it("rate-limits a flood on one socket: errors, then a close, the other socket unaffected", async () => {
    const student = await registerStudent(campus);
    const other = await authenticated(student.token);
    const socket = await authenticated(student.token);
    for (let i = 0; i < 60; i += 1) socket.ws.send(JSON.stringify({ type: "ping" }));
    expect(await socket.next((message) => message.type === "error")).toMatchObject({
      code: "RATE_LIMITED",
    });
    expect((await socket.closed).code).toBe(1008);
    other.ws.send(JSON.stringify({ type: "ping" }));
    expect(await other.next()).toEqual({ type: "pong" });
    other.ws.close();
  });
});

describe("monitoring", () => {
  const value = (name: string, labels: Record<string, string> = {}) =>
    (
      (campus.broker.metrics.getMetric(name)?.snapshot() ?? []) as {
        labels: Record<string, unknown>;
        value?: number;
      }[]
    )
      .filter((item) => Object.entries(labels).every(([k, v]) => String(item.labels[k]) === v))
      .reduce((sum, item) => sum + (item.value ?? 0), 0);

  it("counts the open sockets and the messages each way", async () => {
    const student = await registerStudent(campus);
    const before = value(METRICS.liveConnections);
    const sentIn = value(METRICS.liveMessages, { direction: "in" });
    const sentOut = value(METRICS.liveMessages, { direction: "out" });
    const socket = await authenticated(student.token);
    expect(value(METRICS.liveConnections)).toBe(before + 1);
    socket.ws.send(JSON.stringify({ type: "ping" }));
    await socket.next((message) => message.type === "pong");
    expect(value(METRICS.liveMessages, { direction: "in" })).toBe(sentIn + 2);
    expect(value(METRICS.liveMessages, { direction: "out" })).toBe(sentOut + 2);
    socket.ws.close();
    await socket.closed;
    await eventually(async () => expect(value(METRICS.liveConnections)).toBe(before));
  });
});

describe("pushes", () => {
  it("pushes a notification made from an event, and marks it read on request", async () => {
    const student = await registerStudent(campus);
    await eventually(async () => {
      const unread = await campus.request("GET", "/api/notifications/unread-count", {
        token: student.token,
      });
      expect(unread.body.count).toBe(1); // the welcome
    });
    const socket = await authenticated(student.token);
    const course = await campus.request("POST", "/api/courses", {
      token: admin,
      body: { code: `LIVE-${uniqueEmail("c").slice(0, 20)}`, title: "Live" },
    });
    expect(course.status).toBe(201);

    await campus.request("POST", `/api/courses/${course.body.id}/students`, {
      token: admin,
      body: { studentId: student.studentId },
    });

    const pushed = await socket.next(
      (message) => message.type === "notification" && message.notification.type === "enrolled",
    );
    expect(pushed.notification).toMatchObject({
      userId: student.userId,
      data: { courseId: course.body.id },
      readAt: null,
    });
    // The welcome and this one are unread.
    expect(await socket.next((message) => message.type === "unread")).toEqual({
      type: "unread",
      count: 2,
    });
    socket.ws.send(JSON.stringify({ type: "read", id: pushed.notification.id }));
    expect(await socket.next((message) => message.type === "read")).toEqual({
      type: "read",
      id: pushed.notification.id,
    });
    expect(await socket.next((message) => message.type === "unread")).toEqual({
      type: "unread",
      count: 1,
    });
    const page = await campus.request("GET", "/api/notifications?unread=true&pageSize=100", {
      token: student.token,
    });
    expect(page.body.rows.map((row: { id: string }) => row.id)).not.toContain(
      pushed.notification.id,
    );
    socket.ws.close();
  });
});
