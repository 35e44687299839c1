/**
 * Measuring: autocannon against one URL per case, a warm-up that is thrown away, then several
 * rounds of the same length; the report uses the median of the rounds for each figure. Cases
 * that are compared with each other (a request with and without its cache) are measured
 * interleaved — A B, B A, A B … — so that whatever else the machine does at that moment falls on
 * both alike.
 */
import autocannon from "autocannon";
import { sleep } from "../test/cluster/harness";
import { combine, cpuBetween, snapshot, type CpuShare } from "./cpu";

export interface LoadSettings {
  connections: number;
  warmupSeconds: number;
  rounds: number;
  roundSeconds: number;
}

export interface Round {
  /** Mean responses per second over the round (autocannon's "Req/Sec avg"). */
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
  /** Responses received in the round, whatever their status. */
  responses: number;
  /** Responses with a status outside 200–299. */
  non2xx: number;
  /** Connection errors and timeouts (no response at all). */
  socketErrors: number;
}

export interface Measured {
  rounds: Round[];
  /** Rates and latencies: the median over the rounds; counts: the sum over the rounds. */
  summary: Round;
}

export interface Target {
  url: string;
  headers?: Record<string, string>;
  /** When set, each request asks for one of these paths, picked at random (e.g. 2,000 ids). */
  paths?: string[];
}

/** autocannon stops with requests still in flight on the server: let them finish first. */
const SETTLE_MS = 300;

export function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

export function summarize(rounds: Round[]): Round {
  return {
    reqPerSec: median(rounds.map((r) => r.reqPerSec)),
    p50Ms: median(rounds.map((r) => r.p50Ms)),
    p99Ms: median(rounds.map((r) => r.p99Ms)),
    responses: rounds.reduce((sum, r) => sum + r.responses, 0),
    non2xx: rounds.reduce((sum, r) => sum + r.non2xx, 0),
    socketErrors: rounds.reduce((sum, r) => sum + r.socketErrors, 0),
  };
}

export async function round(target: Target, connections: number, seconds: number): Promise<Round> {
  const paths = target.paths;
  const result = await autocannon({
    url: target.url,
    method: "GET",
    headers: target.headers,
    connections,
    duration: seconds,
    timeout: 10,
    ...(paths && paths.length > 0
      ? {
          requests: [
            {
              setupRequest: (request: autocannon.Request) => ({
                ...request,
                path: paths[Math.floor(Math.random() * paths.length)],
              }),
            },
          ],
        }
      : {}),
  });
  return {
    reqPerSec: result.requests.average,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    responses: result.requests.total,
    non2xx: result.non2xx,
    socketErrors: result.errors,
  };
}

export interface CaseMeasurement {
  measured: Measured;
  /** CPU use while this case's warm-up and rounds ran (see cpu.ts). */
  cpu: CpuShare;
}

/**
 * Measures the targets together: a warm-up of each, then `rounds` rounds of each, alternating
 * the order every round so neither always goes first. `ownPids` are the bench's processes.
 */
export async function measureInterleaved(
  targets: Target[],
  settings: LoadSettings,
  ownPids: () => number[],
): Promise<CaseMeasurement[]> {
  const rounds: Round[][] = targets.map(() => []);
  const windows: CpuShare[][] = targets.map(() => []);
  const timed = async (index: number, seconds: number): Promise<Round> => {
    const before = snapshot();
    const result = await round(targets[index], settings.connections, seconds);
    windows[index].push(cpuBetween(before, snapshot(), ownPids()));
    await sleep(SETTLE_MS);
    return result;
  };
  const order = targets.map((_, i) => i);
  if (settings.warmupSeconds > 0) {
    for (const i of order) await timed(i, settings.warmupSeconds);
  }
  for (let r = 0; r < settings.rounds; r += 1) {
    for (const i of r % 2 === 0 ? order : [...order].reverse()) {
      rounds[i].push(await timed(i, settings.roundSeconds));
    }
  }
  return targets.map((_, i) => ({
    measured: { rounds: rounds[i], summary: summarize(rounds[i]) },
    cpu: combine(windows[i]),
  }));
}
