/**
 * One rate budget for the whole cluster: two gateway processes count a client's requests in the
 * same Redis (the machine's, under this run's own NAMESPACE), so a client that alternates between
 * them gets the budget once, not once per gateway — for the general budget on `/api` and for the
 * strict one on `POST /api/auth/login`.
 */
import { Cluster, http, sleep, type HttpResult } from "./harness";

jest.setTimeout(120000);

const API_LIMIT = 6;
const AUTH_LIMIT = 4;
const RATE_WINDOW_MS = 60 * 1000;

const cluster = new Cluster();
let gateways: string[];

beforeAll(async () => {
  await cluster.createDatabases();
  const limits = {
    RATE_LIMIT_PER_MINUTE: String(API_LIMIT),
    AUTH_RATE_LIMIT_PER_MINUTE: String(AUTH_LIMIT),
  };
  // The services the gateways need to be ready, in one process; then two gateways.
  const workers = await cluster.start("workers", "students,courses,users");
  const apis = await Promise.all([
    cluster.start("api-1", "api", limits),
    cluster.start("api-2", "api", limits),
  ]);
  await Promise.all([workers, ...apis].map((node) => cluster.ready(node)));
  gateways = [cluster.gateway("api-1"), cluster.gateway("api-2")];
});

afterAll(async () => {
  await cluster.stopAll();
  await cluster.dropDatabases();
  await cluster.deleteStreams();
});

/**
 * Budgets are counted in fixed one-minute windows: start a burst early enough in a window that
 * it ends in the same one, so a reset in the middle cannot hand out a second budget.
 */
async function awaitRoomInWindow(neededMs: number): Promise<void> {
  const left = RATE_WINDOW_MS - (Date.now() % RATE_WINDOW_MS);
  if (left < neededMs) await sleep(left + 100);
}

interface Answer {
  gateway: number;
  result: HttpResult;
}

/** `count` requests from this client, one at a time, alternating between the two gateways. */
async function alternate(
  count: number,
  send: (base: string) => Promise<HttpResult>,
): Promise<Answer[]> {
  const answers: Answer[] = [];
  for (let i = 0; i < count; i += 1) {
    const gateway = i % 2;
    answers.push({ gateway, result: await send(gateways[gateway]) });
  }
  return answers;
}

function header(answer: Answer, name: string): number {
  return Number(answer.result.headers.get(name));
}

/** What the budget shows: who was admitted where, and what the refusals carried. */
function expectOneSharedBudget(answers: Answer[], limit: number): void {
  const admitted = answers.filter((answer) => answer.result.status !== 429);
  const refused = answers.filter((answer) => answer.result.status === 429);

  // Exactly one budget in total, the first `limit` requests, half through each gateway.
  expect(admitted.length).toBe(limit);
  expect(answers.slice(0, limit).every((answer) => answer.result.status !== 429)).toBe(true);
  expect(admitted.filter((answer) => answer.gateway === 0).length).toBe(limit / 2);
  // One counter: each gateway reports what the other already spent.
  expect(admitted.map((answer) => header(answer, "ratelimit-remaining"))).toEqual(
    Array.from({ length: limit }, (_, i) => limit - 1 - i),
  );

  // Then both gateways refuse, with the headers a client needs to back off.
  expect(new Set(refused.map((answer) => answer.gateway))).toEqual(new Set([0, 1]));
  for (const answer of refused) {
    expect(answer.result.body).toMatchObject({ code: 429, type: "TOO_MANY_REQUESTS" });
    expect(header(answer, "retry-after")).toBeGreaterThanOrEqual(1);
    expect(header(answer, "retry-after")).toBeLessThanOrEqual(60);
    expect(header(answer, "ratelimit-limit")).toBe(limit);
    expect(header(answer, "ratelimit-remaining")).toBe(0);
    expect(header(answer, "ratelimit-reset")).toBeGreaterThanOrEqual(1);
    expect(header(answer, "ratelimit-reset")).toBeLessThanOrEqual(60);
  }
}

describe("rate limits shared by two gateway processes through Redis", () => {
  it("admits one general budget in total to a client alternating between the gateways, then both answer 429", async () => {
    await awaitRoomInWindow(15000);

    // Without a token: charged to the budget first, then 401 — no account needed.
    const answers = await alternate(2 * API_LIMIT + 4, (base) => http(base, "GET", "/api/courses"));

    expect(answers.slice(0, API_LIMIT).map((answer) => answer.result.status)).toEqual(
      Array(API_LIMIT).fill(401),
    );
    expectOneSharedBudget(answers, API_LIMIT);
  });

  it("admits one login budget in total to a client alternating between the gateways, then both answer 429", async () => {
    await awaitRoomInWindow(15000);
    const credentials = { email: `nobody.${cluster.runId}@campus.test`, password: "not-a-pass-42" };

    const answers = await alternate(2 * AUTH_LIMIT + 4, (base) =>
      http(base, "POST", "/api/auth/login", undefined, credentials),
    );

    expect(answers.slice(0, AUTH_LIMIT).map((answer) => answer.result.status)).toEqual(
      Array(AUTH_LIMIT).fill(401),
    );
    expectOneSharedBudget(answers, AUTH_LIMIT);
  });
});
