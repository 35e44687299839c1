/**
 * `/ws` across processes (issue 18): a client connected to one gateway receives, within 1 s, a
 * notification created by an event handled on the notifications node, for a change made
 * through the other gateway.
 */
import WebSocket from "ws";
import { Cluster, http, login } from "./harness";

jest.setTimeout(300000);

const cluster = new Cluster();
let token: string;
let gateways: string[];

beforeAll(async () => {
  await cluster.createDatabases();
  const workers = await Promise.all([
    cluster.start("users", "users"),
    cluster.start("students", "students"),
    cluster.start("courses", "courses"),
    cluster.start("notifications", "notifications"),
  ]);
  const apis = await Promise.all([cluster.start("api", "api"), cluster.start("api-2", "api")]);
  await Promise.all([...workers, ...apis].map((node) => cluster.ready(node)));
  gateways = [cluster.gateway("api"), cluster.gateway("api-2")];
  token = await login(gateways[0]);
});

afterAll(async () => {
  await cluster.stopAll();
  await cluster.dropDatabases();
  await cluster.deleteStreams();
});

it("delivers a notification made on another node to a socket on the other gateway within 1 s", async () => {
  const registered = await http(gateways[0], "POST", "/api/auth/register", undefined, {
    email: `live.${cluster.runId}@campus.test`,
    password: "a-good-long-password",
    firstName: "Live",
    lastName: "Client",
  });
  expect(registered.status).toBe(201);
  const { accessToken, user } = registered.body;
  const course = await http(gateways[0], "POST", "/api/courses", token, {
    code: `LIVE-${cluster.runId}`,
    title: "Live across nodes",
  });
  expect(course.status).toBe(201);

  const ws = new WebSocket(`${gateways[1].replace("http", "ws")}/ws`);
  const messages: { at: number; message: any }[] = [];
  let arrived: (() => void) | null = null;
  ws.on("message", (data) => {
    messages.push({ at: Date.now(), message: JSON.parse(String(data)) });
    arrived?.();
  });
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  const until = (predicate: (message: any) => boolean) =>
    new Promise<{ at: number; message: any }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("not delivered within 5 s")), 5000);
      const check = () => {
        const found = messages.find((entry) => predicate(entry.message));
        if (found) {
          clearTimeout(timer);
          arrived = null;
          resolve(found);
        }
      };
      arrived = check;
      check();
    });
  ws.send(JSON.stringify({ type: "auth", token: accessToken }));
  await until((message) => message.type === "authenticated");

  const enrolled = await http(
    gateways[0],
    "POST",
    `/api/courses/${course.body.id}/students`,
    token,
    {
      studentId: user.studentId,
    },
  );
  expect(enrolled.status).toBe(201);
  const answeredAt = Date.now();
  const pushed = await until(
    (message) => message.type === "notification" && message.notification.type === "enrolled",
  );
  expect(pushed.message.notification).toMatchObject({
    userId: user.id,
    data: { courseId: course.body.id },
  });
  expect(pushed.at - answeredAt).toBeLessThan(1000);
  ws.close();
});
