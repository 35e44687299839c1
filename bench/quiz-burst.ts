/**
 * The quiz submit burst: 200 attempts of a 20-question quiz submitted all at once to one Campus
 * process. Every submit must be scored (200) exactly once — the quizzes service's counter of
 * scored submits grows by exactly the number of attempts, and each attempt reads back submitted
 * with the expected score. `npm run bench` runs it on its one-process node; `npx tsx
 * bench/quiz-burst.ts` runs it alone (one process on the machine's PostgreSQL, then cleans up).
 */
import { randomBytes } from "crypto";
import { http, login, type HttpResult } from "../test/cluster/harness";
import { cpuBetween, snapshot, type CpuShare } from "./cpu";
import { runAlone } from "./standalone";

/** 10 students × 20 attempts each = 200 attempts, submitted at once. */
export const QUIZ_BURST_STUDENTS = 10;
export const QUIZ_BURST_ATTEMPTS_PER_STUDENT = 20;
export const QUIZ_BURST_QUESTIONS = 20;
/** The target of the issue, in one process. */
export const QUIZ_BURST_TARGET_PER_SEC = 300;

export interface QuizBurstRound {
  quizId: string;
  questions: number;
  submits: number;
  scored: number;
  other: { status: number; type?: string }[];
  wallMs: number;
  submitsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  /** Attempts read back submitted, with the expected score. */
  readBackScored: number;
  /** Growth of `campus_quiz_submissions_total{result="scored"}` on the node during the round. */
  counterScored: number | null;
  correct: boolean;
  /** The burst on the machine's monotonic clock (µs), for a CPU profile of the node. */
  windowUs: { fromUs: number; toUs: number };
  /** Cores used during the burst: the node, the database and message servers, everything else. */
  cpu: CpuShare | null;
  /** CPU of the node and the servers per submit (ms): what a submit costs, whatever the load. */
  cpuMsPerSubmit: number | null;
}

interface Taker {
  token: string;
  studentId: string;
}

/** 20 questions of the four types, each worth 1 point; `ANSWERS` gets 17 of 20 right. */
function quizQuestions() {
  return Array.from({ length: QUIZ_BURST_QUESTIONS }, (_, i) => {
    const id = `q${i}`;
    switch (i % 4) {
      case 0:
        return {
          id,
          type: "single_choice",
          prompt: `Question ${i}: pick the first`,
          choices: [
            { id: "a", text: "First", correct: true },
            { id: "b", text: "Second" },
            { id: "c", text: "Third" },
          ],
        };
      case 1:
        return {
          id,
          type: "multiple_choice",
          prompt: `Question ${i}: pick the even ones`,
          choices: [
            { id: "two", text: "2", correct: true },
            { id: "three", text: "3" },
            { id: "four", text: "4", correct: true },
            { id: "five", text: "5" },
          ],
        };
      case 2:
        return { id, type: "number", prompt: `Question ${i}: ${i} × 2?`, answer: i * 2 };
      default:
        return { id, type: "text", prompt: `Question ${i}: say "yes"`, answer: "Yes" };
    }
  });
}

/** Every question answered; the multiple-choice ones half right (one of two correct choices). */
const ANSWERS = Array.from({ length: QUIZ_BURST_QUESTIONS }, (_, i) => {
  const questionId = `q${i}`;
  switch (i % 4) {
    case 0:
      return { questionId, choiceIds: ["a"] };
    case 1:
      return { questionId, choiceIds: ["two"] };
    case 2:
      return { questionId, value: i * 2 };
    default:
      return { questionId, text: " yes " };
  }
});
/** 15 questions fully right, 5 multiple-choice ones half right. */
const EXPECTED_SCORE = 15 + 5 * 0.5;

function expectStatus(result: HttpResult, status: number, what: string): void {
  if (result.status !== status)
    throw new Error(`${what} answered ${result.status}: ${JSON.stringify(result.body)}`);
}

/** A course and its students with accounts (registration hashes a password: done once). */
export async function prepareQuizBurst(
  base: string,
  adminToken: string,
  runId: string,
): Promise<{ courseId: string; takers: Taker[] }> {
  const course = await http(base, "POST", "/api/courses", adminToken, {
    code: `QUIZ-${runId}`,
    title: "Quiz burst",
  });
  expectStatus(course, 201, "creating the quiz burst course");
  const courseId = course.body.id as string;
  const takers = await Promise.all(
    Array.from({ length: QUIZ_BURST_STUDENTS }, async (_, i) => {
      const registered = await http(base, "POST", "/api/auth/register", undefined, {
        email: `quiz.${runId}.${i}@bench.test`,
        password: randomBytes(18).toString("base64url"),
        firstName: "Quiz",
        lastName: `Taker ${i}`,
      });
      expectStatus(registered, 201, "registering a quiz taker");
      const taker: Taker = {
        token: registered.body.accessToken,
        studentId: registered.body.user.studentId,
      };
      const enrolled = await http(base, "POST", `/api/courses/${courseId}/students`, adminToken, {
        studentId: taker.studentId,
      });
      expectStatus(enrolled, 201, "enrolling a quiz taker");
      return taker;
    }),
  );
  return { courseId, takers };
}

/** The node's count of scored submits (its /metrics), or null when it cannot be read. */
export type ScoredCounter = () => Promise<number | null>;

export async function quizSubmitBurst(
  base: string,
  adminToken: string,
  prepared: { courseId: string; takers: Taker[] },
  round: number,
  scoredCounter: ScoredCounter,
  /** The node's process ids, to measure what the burst costs in CPU. */
  nodePids: number[] = [],
): Promise<QuizBurstRound> {
  const created = await http(
    base,
    "POST",
    `/api/courses/${prepared.courseId}/quizzes`,
    adminToken,
    {
      title: `Burst quiz ${round}`,
      questions: quizQuestions(),
      maxAttempts: QUIZ_BURST_ATTEMPTS_PER_STUDENT,
      shuffle: true,
    },
  );
  expectStatus(created, 201, "creating the burst quiz");
  const quizId = created.body.id as string;
  expectStatus(
    await http(base, "POST", `/api/quizzes/${quizId}/publish`, adminToken),
    200,
    "publishing the burst quiz",
  );
  // Each student starts their attempts one after another (students side by side).
  const attempts = (
    await Promise.all(
      prepared.takers.map(async (taker) => {
        const started: { taker: Taker; attemptId: string }[] = [];
        for (let i = 0; i < QUIZ_BURST_ATTEMPTS_PER_STUDENT; i += 1) {
          const attempt = await http(base, "POST", `/api/quizzes/${quizId}/attempts`, taker.token);
          expectStatus(attempt, 201, "starting a burst attempt");
          started.push({ taker, attemptId: attempt.body.id });
        }
        return started;
      }),
    )
  ).flat();

  const counterBefore = await scoredCounter();
  const cpuBefore = nodePids.length > 0 ? snapshot() : null;
  const fromUs = Number(process.hrtime.bigint() / 1000n);
  const started = performance.now();
  const outcomes = await Promise.all(
    attempts.map(async ({ taker, attemptId }) => {
      const sent = performance.now();
      try {
        const result = await http(
          base,
          "POST",
          `/api/quizzes/${quizId}/attempts/${attemptId}/submit`,
          taker.token,
          { answers: ANSWERS },
        );
        return {
          status: result.status,
          type: result.body?.type as string | undefined,
          score: result.body?.score as number | undefined,
          ms: performance.now() - sent,
        };
      } catch (err) {
        return {
          status: 0,
          type: (err as Error).message,
          score: undefined,
          ms: performance.now() - sent,
        };
      }
    }),
  );
  const wallMs = performance.now() - started;
  const toUs = Number(process.hrtime.bigint() / 1000n);
  const cpu = cpuBefore ? cpuBetween(cpuBefore, snapshot(), nodePids) : null;
  const counterAfter = await scoredCounter();

  // Read every attempt back (staff list, 100 a page).
  let readBackScored = 0;
  for (let page = 1; page <= Math.ceil(attempts.length / 100); page += 1) {
    const list = await http(
      base,
      "GET",
      `/api/quizzes/${quizId}/attempts?page=${page}&pageSize=100`,
      adminToken,
    );
    expectStatus(list, 200, "reading the burst attempts");
    readBackScored += (list.body.rows as { state: string; score: number | null }[]).filter(
      (row) => row.state === "submitted" && row.score === EXPECTED_SCORE,
    ).length;
  }

  const scored = outcomes.filter((o) => o.status === 200 && o.score === EXPECTED_SCORE).length;
  const other = outcomes
    .filter((o) => !(o.status === 200 && o.score === EXPECTED_SCORE))
    .map((o) => ({ status: o.status, type: o.type }));
  const latencies = outcomes.map((o) => o.ms).sort((x, y) => x - y);
  const counterScored =
    counterBefore === null || counterAfter === null ? null : counterAfter - counterBefore;
  return {
    quizId,
    questions: QUIZ_BURST_QUESTIONS,
    submits: outcomes.length,
    scored,
    other,
    wallMs,
    submitsPerSec: (outcomes.length * 1000) / wallMs,
    p50Ms: latencies[Math.floor(latencies.length * 0.5)],
    p99Ms: latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * 0.99))],
    readBackScored,
    counterScored,
    correct:
      scored === attempts.length &&
      other.length === 0 &&
      readBackScored === attempts.length &&
      (counterScored === null || counterScored === attempts.length),
    windowUs: { fromUs, toUs },
    cpu,
    cpuMsPerSubmit: cpu ? ((cpu.bench + cpu.servers) * cpu.seconds * 1000) / outcomes.length : null,
  };
}

/** `campus_quiz_submissions_total{result="scored"}` from a node's /metrics. */
export async function readScoredCounter(metricsUrl: string): Promise<number | null> {
  try {
    const text = await (await fetch(metricsUrl, { signal: AbortSignal.timeout(5000) })).text();
    let total = 0;
    for (const line of text.split("\n")) {
      if (line.startsWith("campus_quiz_submissions_total{") && line.includes('result="scored"'))
        total += Number(line.slice(line.lastIndexOf(" ") + 1));
    }
    return total;
  } catch {
    return null;
  }
}

export function describeQuizRound(r: QuizBurstRound, round: number): string {
  return (
    `  quiz burst ${round}: ${r.scored} of ${r.submits} submits scored in ${r.wallMs.toFixed(0)} ms ` +
    `(${r.submitsPerSec.toFixed(0)}/s, p50 ${r.p50Ms.toFixed(0)} ms, p99 ${r.p99Ms.toFixed(0)} ms); ` +
    `read back ${r.readBackScored}, counter +${r.counterScored ?? "?"} → ${r.correct ? "correct" : "WRONG"}` +
    (r.cpu
      ? `; CPU ${r.cpuMsPerSubmit!.toFixed(2)} ms/submit (node ${r.cpu.bench.toFixed(2)}, servers ` +
        `${r.cpu.servers.toFixed(2)}, others ${r.cpu.other.toFixed(2)} cores)`
      : "")
  );
}

if (require.main === module) {
  // Alone: one all-in-one process on the machine's PostgreSQL, three rounds, then cleanup.
  runAlone("quiz-burst", "api,students,courses,users,notifications,quizzes", async (node) => {
    const token = await login(node.base, node.admin);
    const prepared = await prepareQuizBurst(node.base, token, node.runId);
    let allCorrect = true;
    for (let round = 1; round <= 3; round += 1) {
      const result = await quizSubmitBurst(
        node.base,
        token,
        prepared,
        round,
        () => readScoredCounter(node.metricsUrl),
        [node.pid],
      );
      console.log(describeQuizRound(result, round));
      if (process.env.QUIZ_BURST_CPU_PROF)
        console.log(`  window ${JSON.stringify(result.windowUs)}`);
      allCorrect &&= result.correct && result.submitsPerSec >= QUIZ_BURST_TARGET_PER_SEC;
    }
    return allCorrect;
  });
}
