import { targetRows, type BenchReport } from "../../bench/report";
import type { QuizBurstRound } from "../../bench/quiz-burst";
import type { FanoutResult } from "../../bench/ws-fanout";

function round(submitsPerSec: number, correct = true): QuizBurstRound {
  return {
    quizId: "q",
    questions: 20,
    submits: 200,
    scored: correct ? 200 : 199,
    other: correct ? [] : [{ status: 500 }],
    wallMs: 200_000 / submitsPerSec,
    submitsPerSec,
    p50Ms: 100,
    p99Ms: 200,
    readBackScored: correct ? 200 : 199,
    counterScored: correct ? 200 : 199,
    correct,
    windowUs: { fromUs: 0, toUs: 1 },
    cpu: null,
    cpuMsPerSubmit: null,
  };
}

function report(rounds: QuizBurstRound[]): BenchReport {
  return {
    stamp: undefined as never,
    ceilingReqPerSec: NaN,
    cases: [],
    burst: { topology: "t", rounds: [], notes: [] },
    quizBurst: { topology: "one process", rounds, notes: [] },
    nodes: [],
    profiles: [],
    findings: [],
    problems: [],
  };
}

const quizTarget = (r: BenchReport) => targetRows(r).find((row) => row.target.startsWith("quiz"));

describe("the bench report's quiz submit burst", () => {
  it("meets the target with a median of at least 300 submits/s and every round exact", () => {
    expect(quizTarget(report([round(280), round(320), round(350)]))).toEqual({
      target: expect.stringContaining("300 submits/s"),
      measured: "median 320 submits/s; 3 of 3 rounds exact",
      met: true,
    });
  });

  it("misses it when slower, or when one round was not exact", () => {
    expect(quizTarget(report([round(250), round(290), round(299)]))?.met).toBe(false);
    expect(quizTarget(report([round(400), round(400, false), round(400)]))?.met).toBe(false);
  });

  it("has no quiz target in a report without the burst", () => {
    const older = report([]);
    delete older.quizBurst;
    expect(quizTarget(older)).toBeUndefined();
  });
});

function fanout(p99s: number[], delivered = 1000): FanoutResult {
  return {
    clients: 1000,
    users: 50,
    connectMs: 800,
    rssBeforeMb: 140,
    rssConnectedMb: 144,
    rssAfterMb: 146,
    rssPerConnectionKb: 4.1,
    rounds: p99s.map((p99Ms) => ({
      clients: 1000,
      delivered,
      duplicates: 0,
      p50Ms: p99Ms / 2,
      p99Ms,
      maxMs: p99Ms + 5,
      patchMs: 20,
      correct: delivered === 1000,
    })),
  };
}

const fanoutTarget = (r: BenchReport) =>
  targetRows(r).find((row) => row.target.startsWith("WebSocket fan-out"));

describe("the bench report's WebSocket fan-out", () => {
  const withFanout = (result: FanoutResult | null) => ({
    ...report([]),
    wsFanout: { topology: "one process", result },
  });

  it("meets the target when every round's p99 is under 200 ms and every socket got it once", () => {
    expect(fanoutTarget(withFanout(fanout([70, 110, 64])))).toEqual({
      target: expect.stringContaining("p99 delivery < 200 ms"),
      measured:
        "1000 clients; worst round p99 110 ms; 3 of 3 rounds delivered exactly once; 4.1 KB RSS per socket",
      met: true,
    });
  });

  it("misses it when one round is slow, a socket missed its notification, or nothing ran", () => {
    expect(fanoutTarget(withFanout(fanout([70, 250, 64])))?.met).toBe(false);
    expect(fanoutTarget(withFanout(fanout([70, 80], 999)))?.met).toBe(false);
    expect(fanoutTarget(withFanout(null))?.met).toBe(false);
    expect(fanoutTarget(report([]))).toBeUndefined();
  });
});

describe("the bench report's enrollment bursts", () => {
  function burst(where: "1 process" | "NATS", perSec: number, correct = true) {
    return {
      where,
      courseId: "c",
      capacity: 50,
      requests: 200,
      created: correct ? 50 : 51,
      full: correct ? 150 : 149,
      other: [],
      wallMs: 200_000 / perSec,
      enrollmentsPerSec: perSec,
      p50Ms: 10,
      p99Ms: 20,
      enrolledCount: correct ? 50 : 51,
      rosterTotal: correct ? 50 : 51,
      correct,
    };
  }
  const burstTarget = (r: BenchReport, where: string) =>
    targetRows(r).find((row) => row.target.startsWith(`enrollment burst (${where})`));

  it("holds each topology to its own floor: 600/s in one process, 300/s over NATS", () => {
    const r = report([]);
    r.burst.rounds = [
      burst("1 process", 650),
      burst("1 process", 590),
      burst("1 process", 700),
      burst("NATS", 310),
      burst("NATS", 290),
      burst("NATS", 305),
    ];
    expect(burstTarget(r, "1 process")).toMatchObject({
      measured: "median 650 requests/s; 3 of 3 rounds exact",
      met: true,
    });
    expect(burstTarget(r, "NATS")).toMatchObject({ met: true });
    r.burst.rounds[4] = burst("NATS", 400, false);
    expect(burstTarget(r, "NATS")?.met).toBe(false);
  });

  it("says not measured, neither met nor missed, for a topology without rounds", () => {
    expect(burstTarget(report([]), "1 process")).toMatchObject({
      measured: "not measured",
      met: null,
    });
  });
});
