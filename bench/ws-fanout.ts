/**
 * The WebSocket fan-out: 1,000 authenticated `/ws` clients on one gateway, then a lesson of their
 * course rescheduled, which notifies every enrolled student (`lesson.rescheduled` → the
 * notifications service → `notifications.created` → the gateway's sockets). Each client must
 * receive that notification once; the delay of each is measured from the start of the PATCH that
 * caused it, so it covers the whole path: the schedule write and its outbox, the durable event, the
 * notifications insert, the broadcast and the socket write. The gateway's resident memory is read
 * before the clients connect, once they are connected (growth per connection) and after the
 * rounds. `npm run bench` runs it on its one-process node; `npx tsx bench/ws-fanout.ts` runs it
 * alone (one process on the machine's PostgreSQL, then cleans up).
 *
 * Registration hashes a password with scrypt (about 0.3 s of CPU each), so the 1,000 clients are
 * 50 accounts with 20 sockets each — a user's tabs and devices — and a round delivers 50
 * notifications to 1,000 sockets.
 */
import { randomBytes } from "crypto";
import WebSocket from "ws";
import { http, login, type HttpResult } from "../test/cluster/harness";
import { memoryOf } from "./nodes";
import { inParallel } from "./seed";
import { runAlone } from "./standalone";

export const FANOUT_USERS = 50;
export const FANOUT_SOCKETS_PER_USER = 20;
/** The target of the issue: p99 delivery under this, 1,000 clients on one gateway. */
export const FANOUT_P99_TARGET_MS = 200;
const DELIVERY_TIMEOUT_MS = 15000;

export interface FanoutRound {
  clients: number;
  /** Clients that received the round's notification (once each). */
  delivered: number;
  /** Notifications received more than once by one socket. */
  duplicates: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** PATCH answered (ms after it started). */
  patchMs: number;
  correct: boolean;
}

export interface FanoutResult {
  clients: number;
  users: number;
  /** Time to open and authenticate every socket. */
  connectMs: number;
  rssBeforeMb: number | null;
  rssConnectedMb: number | null;
  rssAfterMb: number | null;
  /** Gateway RSS growth per open socket (KB). */
  rssPerConnectionKb: number | null;
  rounds: FanoutRound[];
}

interface Listener {
  socket: WebSocket;
  /** Arrival times (ms, performance clock) of notifications about a lesson, by round marker. */
  arrivals: Map<string, number[]>;
}

function expectStatus(result: HttpResult, status: number, what: string): void {
  if (result.status !== status)
    throw new Error(`${what} answered ${result.status}: ${JSON.stringify(result.body)}`);
}

/** A course with `FANOUT_USERS` students with accounts, and one lesson to reschedule. */
export async function prepareFanout(
  base: string,
  adminToken: string,
  runId: string,
): Promise<{ lessonId: string; tokens: string[] }> {
  const course = await http(base, "POST", "/api/courses", adminToken, {
    code: `WS-${runId}`,
    title: "WebSocket fan-out",
  });
  expectStatus(course, 201, "creating the fan-out course");
  const courseId = course.body.id as string;
  // Ten at a time: the gateway's scrypt pool answers 503 beyond its queue.
  const tokens = await inParallel(
    Array.from({ length: FANOUT_USERS }, (_, i) => i),
    10,
    async (i) => {
      const registered = await http(base, "POST", "/api/auth/register", undefined, {
        email: `ws.${runId}.${i}@bench.test`,
        password: randomBytes(18).toString("base64url"),
        firstName: "Socket",
        lastName: `Listener ${i}`,
      });
      expectStatus(registered, 201, "registering a fan-out listener");
      const enrolled = await http(base, "POST", `/api/courses/${courseId}/students`, adminToken, {
        studentId: registered.body.user.studentId,
      });
      expectStatus(enrolled, 201, "enrolling a fan-out listener");
      return registered.body.accessToken as string;
    },
  );
  const startsAt = new Date(Date.now() + 7 * 86400_000);
  const lesson = await http(base, "POST", `/api/courses/${courseId}/lessons`, adminToken, {
    startsAt: startsAt.toISOString(),
    endsAt: new Date(startsAt.getTime() + 3600_000).toISOString(),
    title: "Fan-out",
  });
  expectStatus(lesson, 201, "creating the fan-out lesson");
  return { lessonId: lesson.body.id as string, tokens };
}

/** Opens `perUser` sockets per token and authenticates each; resolves when all are accepted. */
async function connect(base: string, tokens: string[], perUser: number): Promise<Listener[]> {
  const url = `${base.replace(/^http/, "ws")}/ws`;
  const open = (token: string) =>
    new Promise<Listener>((resolve, reject) => {
      const socket = new WebSocket(url);
      const listener: Listener = { socket, arrivals: new Map() };
      const timer = setTimeout(() => reject(new Error("a socket was not authenticated")), 30000);
      socket.on("open", () => socket.send(JSON.stringify({ type: "auth", token })));
      socket.on("error", reject);
      socket.on("message", (data) => {
        const message = JSON.parse(String(data));
        if (message.type === "authenticated") {
          clearTimeout(timer);
          resolve(listener);
        } else if (
          message.type === "notification" &&
          message.notification.type === "lesson_rescheduled"
        ) {
          const marker = String(message.notification.body);
          const seen = listener.arrivals.get(marker) ?? [];
          seen.push(performance.now());
          listener.arrivals.set(marker, seen);
        }
      });
    });
  // Connect in waves so the handshakes do not all land in one tick.
  const listeners: Listener[] = [];
  for (let i = 0; i < perUser; i += 1) listeners.push(...(await Promise.all(tokens.map(open))));
  return listeners;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? NaN;
}

/** One reschedule; waits until every socket has its notification (or the timeout). */
async function fanoutRound(
  base: string,
  adminToken: string,
  lessonId: string,
  listeners: Listener[],
  round: number,
): Promise<FanoutRound> {
  // Each round moves the lesson to a new hour; the notification's body names the new time.
  const startsAt = new Date(Date.now() + (8 + round) * 86400_000);
  startsAt.setUTCHours(10, 0, 0, 0);
  const endsAt = new Date(startsAt.getTime() + 3600_000);
  const started = performance.now();
  const patched = await http(base, "PATCH", `/api/lessons/${lessonId}`, adminToken, {
    startsAt: startsAt.toISOString(),
    endsAt: endsAt.toISOString(),
  });
  const patchMs = performance.now() - started;
  expectStatus(patched, 200, "rescheduling the fan-out lesson");
  const marker = (key: string) => key.includes(patched.body.startsAt as string);
  const arrivalsOf = (l: Listener) =>
    [...l.arrivals.entries()].filter(([key]) => marker(key)).flatMap(([, times]) => times);
  const deadline = Date.now() + DELIVERY_TIMEOUT_MS;
  while (Date.now() < deadline && listeners.some((l) => arrivalsOf(l).length === 0)) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const firsts: number[] = [];
  let duplicates = 0;
  for (const listener of listeners) {
    const times = arrivalsOf(listener);
    if (times.length > 0) firsts.push(times[0] - started);
    duplicates += Math.max(0, times.length - 1);
  }
  firsts.sort((x, y) => x - y);
  return {
    clients: listeners.length,
    delivered: firsts.length,
    duplicates,
    p50Ms: percentile(firsts, 0.5),
    p99Ms: percentile(firsts, 0.99),
    maxMs: firsts.at(-1) ?? NaN,
    patchMs,
    correct: firsts.length === listeners.length && duplicates === 0,
  };
}

/** Connects the clients to the node (`pid`: its gateway's process), runs the rounds, closes. */
export async function wsFanout(
  base: string,
  adminToken: string,
  prepared: { lessonId: string; tokens: string[] },
  pid: number,
  rounds: number,
  onRound: (round: FanoutRound, index: number) => void = () => undefined,
): Promise<FanoutResult> {
  const rssBefore = memoryOf(pid)?.rssMb ?? null;
  const connectStarted = performance.now();
  const listeners = await connect(base, prepared.tokens, FANOUT_SOCKETS_PER_USER);
  const connectMs = performance.now() - connectStarted;
  const rssConnected = memoryOf(pid)?.rssMb ?? null;
  const result: FanoutResult = {
    clients: listeners.length,
    users: prepared.tokens.length,
    connectMs,
    rssBeforeMb: rssBefore,
    rssConnectedMb: rssConnected,
    rssAfterMb: null,
    rssPerConnectionKb:
      rssBefore === null || rssConnected === null
        ? null
        : ((rssConnected - rssBefore) * 1024) / listeners.length,
    rounds: [],
  };
  try {
    for (let i = 1; i <= rounds; i += 1) {
      const round = await fanoutRound(base, adminToken, prepared.lessonId, listeners, i);
      result.rounds.push(round);
      onRound(round, i);
    }
    result.rssAfterMb = memoryOf(pid)?.rssMb ?? null;
  } finally {
    for (const listener of listeners) listener.socket.terminate();
  }
  return result;
}

export function describeFanoutRound(r: FanoutRound, round: number): string {
  return (
    `  fan-out ${round}: ${r.delivered} of ${r.clients} sockets notified` +
    (r.duplicates ? `, ${r.duplicates} twice` : "") +
    ` (p50 ${r.p50Ms.toFixed(0)} ms, p99 ${r.p99Ms.toFixed(0)} ms, max ${r.maxMs.toFixed(0)} ms ` +
    `after the PATCH started; PATCH ${r.patchMs.toFixed(0)} ms) → ${r.correct ? "correct" : "WRONG"}`
  );
}

export function describeFanoutMemory(r: FanoutResult): string {
  const mb = (v: number | null) => (v === null ? "?" : `${v.toFixed(0)} MB`);
  return (
    `  ${r.clients} sockets (${r.users} accounts) connected in ${r.connectMs.toFixed(0)} ms; ` +
    `gateway RSS ${mb(r.rssBeforeMb)} → ${mb(r.rssConnectedMb)} connected ` +
    `(${r.rssPerConnectionKb === null ? "?" : r.rssPerConnectionKb.toFixed(1)} KB per socket) → ` +
    `${mb(r.rssAfterMb)} after the rounds`
  );
}

if (require.main === module) {
  runAlone("ws-fanout", "api,students,courses,users,notifications,schedule", async (node) => {
    const token = await login(node.base, node.admin);
    const prepared = await prepareFanout(node.base, token, node.runId);
    const result = await wsFanout(node.base, token, prepared, node.pid, 3, (round, i) =>
      console.log(describeFanoutRound(round, i)),
    );
    console.log(describeFanoutMemory(result));
    return result.rounds.every((r) => r.correct && r.p99Ms < FANOUT_P99_TARGET_MS);
  });
}
