/**
 * The observed run's load, request by request: each request's send time, latency and status are
 * kept, so the report can state for any window of the run (before a node was killed, while it
 * was down, after it came back) how many requests were sent, failed, and how long they took.
 */

export interface Sample {
  /** Send time, ms since the load started. */
  at: number;
  /** Time to the complete response, ms. */
  ms: number;
  /** HTTP status; 0 when no response came (connection error, timeout). */
  status: number;
}

export interface LoadRun {
  startedAt: number;
  endedAt: number;
  samples: Sample[];
}

/**
 * Sends `perSecond` requests a second, each awaited on its own, until `done()` says so (checked
 * before every send) or `maxMs` passed; resolves once every request answered.
 */
export async function timedLoad(
  request: () => Promise<{ status: number }>,
  perSecond: number,
  done: () => boolean,
  maxMs: number,
): Promise<LoadRun> {
  const samples: Sample[] = [];
  const inFlight: Promise<void>[] = [];
  const interval = 1000 / perSecond;
  const startedAt = Date.now();
  let sent = 0;
  while (!done() && Date.now() - startedAt < maxMs) {
    const sentAt = Date.now();
    sent += 1;
    inFlight.push(
      request()
        .then(
          (result) => result.status,
          () => 0,
        )
        .then((status) => {
          samples.push({ at: sentAt - startedAt, ms: Date.now() - sentAt, status });
        }),
    );
    const next = startedAt + sent * interval;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, next - Date.now())));
  }
  const endedAt = Date.now();
  await Promise.all(inFlight);
  return { startedAt, endedAt, samples: samples.sort((a, b) => a.at - b.at) };
}

/** The q-quantile (0–1) of `values` by the nearest-rank method; NaN when empty. */
export function quantile(values: number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1];
}

export interface WindowStats {
  sent: number;
  failed: number;
  /** Failed requests by status ("0" = no response). */
  failures: Record<string, number>;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** A failure: no answer, or an error status (every request of the load is a valid read). */
export const isFailure = (sample: Sample) => sample.status === 0 || sample.status >= 400;

/** Figures of the requests sent in [from, to) ms since the load started. */
export function windowStats(samples: Sample[], from: number, to: number): WindowStats {
  const inside = samples.filter((s) => s.at >= from && s.at < to);
  const failures: Record<string, number> = {};
  for (const sample of inside.filter(isFailure)) {
    failures[String(sample.status)] = (failures[String(sample.status)] ?? 0) + 1;
  }
  const latencies = inside.map((s) => s.ms);
  return {
    sent: inside.length,
    failed: Object.values(failures).reduce((a, b) => a + b, 0),
    failures,
    p50: quantile(latencies, 0.5),
    p95: quantile(latencies, 0.95),
    p99: quantile(latencies, 0.99),
    max: latencies.length ? Math.max(...latencies) : Number.NaN,
  };
}

/** Per whole second since the start: requests sent, failed, and the slowest latency. */
export function perSecond(samples: Sample[]): {
  t: number;
  sent: number;
  failed: number;
  maxMs: number;
}[] {
  const seconds = new Map<number, { t: number; sent: number; failed: number; maxMs: number }>();
  for (const sample of samples) {
    const t = Math.floor(sample.at / 1000);
    const bucket = seconds.get(t) ?? { t, sent: 0, failed: 0, maxMs: 0 };
    bucket.sent += 1;
    if (isFailure(sample)) bucket.failed += 1;
    bucket.maxMs = Math.max(bucket.maxMs, sample.ms);
    seconds.set(t, bucket);
  }
  return [...seconds.values()].sort((a, b) => a.t - b.t);
}
