/**
 * The bench's report: `performance.json` holds every figure (each round of each case, every
 * node start), `performance.md` the same results as tables plus the ratios worth reading.
 * Only ratios between cases of one run are claims; absolute numbers depend on the machine.
 */
import { mkdirSync, writeFileSync } from "fs";
import { join } from "path";
import type { CpuShare } from "./cpu";
import { median, type LoadSettings, type Measured } from "./load";
import type { ProfileSummary } from "./profile";
import { QUIZ_BURST_TARGET_PER_SEC, type QuizBurstRound } from "./quiz-burst";
import { FANOUT_P99_TARGET_MS, describeFanoutMemory, type FanoutResult } from "./ws-fanout";
import type { ReportPdfRound } from "./report-pdf";

export interface Stamp {
  date: string;
  command: string;
  commit: string;
  /** Paths changed but not committed at the end of the run (none: the commit is what ran). */
  uncommittedPaths: string[];
  /** The working tree the nodes ran from. */
  directory: string;
  machine: {
    cores: number;
    cpuModel: string;
    memoryGb: number;
    node: string;
    os: string;
    loadAverageAtStart: number[];
    loadAverageAtEnd: number[];
  };
  services: Record<string, string>;
  /** Cores other processes used during 2 s before the run started. */
  otherCoresBeforeStart: number;
  settings: LoadSettings & {
    logLevel: string;
    deadlineSeconds: number;
    retrySeconds: number;
    retrySecondsLeft: number;
  };
  durationSeconds: number;
}

export interface CaseResult {
  id: string;
  title: string;
  /** What runs where, e.g. "gateway + students, one process, memory cache". */
  topology: string;
  request: string;
  /** The case measured the same way with the cache off. */
  twin?: string;
  /** Another case this one is meant to be compared with, and why. */
  reference?: { id: string; label: string };
  measured?: Measured;
  /** Why the case was not measured. */
  skipped?: string;
  /** Cache lookups and hits on the nodes of the topology while the case ran. */
  cache?: { lookups: number; hits: number };
  /** Cores used on average while the case ran: the bench's processes, the shared servers, others. */
  cpu?: CpuShare;
  /** Every measurement, when the case was measured more than once (it was disturbed). */
  attempts?: Attempt[];
  notes: string[];
}

export interface Attempt {
  measured: Measured;
  cpu: CpuShare;
  cache?: { lookups: number; hits: number };
}

export interface BurstRound {
  /** Where it ran: one process (cache off) or the NATS cluster. */
  where: "1 process" | "NATS";
  courseId: string;
  capacity: number;
  requests: number;
  created: number;
  full: number;
  other: { status: number; type?: string }[];
  wallMs: number;
  enrollmentsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  enrolledCount: number | null;
  rosterTotal: number | null;
  correct: boolean;
}

export interface NodeRecord {
  topology: string;
  name: string;
  role: string;
  services: string;
  startupMs: number;
  /** The first start on the fresh databases: it also ran every migration. */
  firstStart: boolean;
  joinedRunningCluster: boolean;
  rssAtReadyMb: number | null;
  rssAtEndMb: number | null;
  peakRssMb: number | null;
}

export interface BenchReport {
  stamp: Stamp;
  ceilingReqPerSec: number;
  cases: CaseResult[];
  burst: { topology: string; rounds: BurstRound[]; notes: string[] };
  /** Quizzes (issue 17): 200 simultaneous submits in one process. Absent in older reports. */
  quizBurst?: { topology: string; rounds: QuizBurstRound[]; notes: string[] };
  /** Live notifications (issue 18): 1,000 sockets on one gateway. Absent in older reports. */
  wsFanout?: { topology: string; result: FanoutResult | null };
  /** Reports (issue 19): the time and cost of one course_performance PDF. Absent in older reports. */
  reportPdf?: { topology: string; rounds: ReportPdfRound[]; notes: string[] };
  nodes: NodeRecord[];
  profiles: ProfileSummary[];
  findings: string[];
  problems: string[];
}

const fmt = (value: number | null | undefined, digits = 0): string =>
  value == null || Number.isNaN(value) ? "—" : value.toFixed(digits);

const ratio = (value: number | null | undefined): string =>
  value == null || !Number.isFinite(value) ? "—" : `${value.toFixed(2)}×`;

export function reqPerSec(report: { cases: CaseResult[] }, id: string): number | null {
  return report.cases.find((c) => c.id === id)?.measured?.summary.reqPerSec ?? null;
}

/** a / b of two cases' median req/s, or null when either was not measured. */
export function caseRatio(report: { cases: CaseResult[] }, a: string, b: string): number | null {
  const x = reqPerSec(report, a);
  const y = reqPerSec(report, b);
  return x == null || y == null || y === 0 ? null : x / y;
}

const percent = (value: number): string =>
  Number.isFinite(value) ? `${(100 * value).toFixed(value < 0.1 ? 2 : 1)} %` : "—";

function cacheCell(c: CaseResult): string {
  if (!c.cache) return "—";
  if (c.cache.lookups === 0) return "off (0 lookups)";
  return `${((100 * c.cache.hits) / c.cache.lookups).toFixed(1)} % of ${c.cache.lookups}`;
}

function summaryTable(report: BenchReport): string[] {
  const lines = [
    "| case | request | req/s | p50 ms | p99 ms | errors | of ceiling | × uncached twin | vs reference | cache hits |",
    "| ---- | ------- | ----: | -----: | -----: | -----: | --------: | --------------: | ------------ | ---------- |",
  ];
  for (const c of report.cases) {
    if (!c.measured) {
      lines.push(
        `| ${c.title} | \`${c.request}\` | not measured: ${c.skipped ?? "?"} | | | | | | | |`,
      );
      continue;
    }
    const s = c.measured.summary;
    const twin = c.twin ? ratio(caseRatio(report, c.id, c.twin)) : "—";
    const reference = c.reference
      ? `${ratio(caseRatio(report, c.id, c.reference.id))} ${c.reference.label}`
      : "—";
    lines.push(
      `| ${c.title} | \`${c.request}\` | ${fmt(s.reqPerSec)} | ${fmt(s.p50Ms)} | ${fmt(s.p99Ms)} | ` +
        `${s.non2xx + s.socketErrors} | ${percent(s.reqPerSec / report.ceilingReqPerSec)} | ${twin} | ${reference} | ${cacheCell(c)} |`,
    );
  }
  return lines;
}

function roundsTable(report: BenchReport): string[] {
  const lines = [
    "| case | topology | round req/s | round p99 ms | responses | non-2xx | socket errors | CPU cores: bench / servers / other | notes |",
    "| ---- | -------- | ----------- | ------------ | --------: | ------: | ------------: | ---------------------------------- | ----- |",
  ];
  for (const c of report.cases) {
    if (!c.measured) continue;
    const r = c.measured.rounds;
    lines.push(
      `| ${c.title} | ${c.topology} | ${r.map((x) => fmt(x.reqPerSec)).join(" / ")} | ` +
        `${r.map((x) => fmt(x.p99Ms)).join(" / ")} | ${c.measured.summary.responses} | ` +
        `${c.measured.summary.non2xx} | ${c.measured.summary.socketErrors} | ` +
        `${c.cpu ? `${fmt(c.cpu.bench, 2)} / ${fmt(c.cpu.servers, 2)} / ${fmt(c.cpu.other, 2)}` : "—"} | ` +
        `${c.notes.join("; ") || "—"} |`,
    );
  }
  return lines;
}

function burstTable(report: BenchReport): string[] {
  const lines = [
    "| where | round | requests | capacity | 201 | 409 full | other | wall ms | enrollments/s | p50 ms | p99 ms | enrolledCount | roster total | correct |",
    "| ----- | ----: | -------: | -------: | --: | -------: | ----: | ------: | ------------: | -----: | -----: | ------------: | -----------: | ------- |",
  ];
  report.burst.rounds.forEach((r) => {
    const round = report.burst.rounds.filter((o) => o.where === r.where).indexOf(r) + 1;
    lines.push(
      `| ${r.where} | ${round} | ${r.requests} | ${r.capacity} | ${r.created} | ${r.full} | ${r.other.length} | ` +
        `${fmt(r.wallMs)} | ${fmt(r.enrollmentsPerSec)} | ${fmt(r.p50Ms)} | ${fmt(r.p99Ms)} | ` +
        `${fmt(r.enrolledCount)} | ${fmt(r.rosterTotal)} | ${r.correct ? "yes" : "**NO**"} |`,
    );
  });
  return lines;
}

function quizBurstTable(rounds: QuizBurstRound[]): string[] {
  const lines = [
    "| round | submits | questions | scored | other | wall ms | submits/s | p50 ms | p99 ms | read back scored | counter | CPU ms/submit | other processes (cores) | correct |",
    "| ----: | ------: | --------: | -----: | ----: | ------: | --------: | -----: | -----: | ---------------: | ------: | ------------: | ----------------------: | ------- |",
  ];
  rounds.forEach((r, i) => {
    lines.push(
      `| ${i + 1} | ${r.submits} | ${r.questions} | ${r.scored} | ${r.other.length} | ${fmt(r.wallMs)} | ` +
        `${fmt(r.submitsPerSec)} | ${fmt(r.p50Ms)} | ${fmt(r.p99Ms)} | ${r.readBackScored} | ` +
        `${fmt(r.counterScored)} | ${fmt(r.cpuMsPerSubmit, 2)} | ${fmt(r.cpu?.other, 2)} | ` +
        `${r.correct ? "yes" : "**NO**"} |`,
    );
  });
  return lines;
}

function wsFanoutSection(report: BenchReport): string[] {
  const result = report.wsFanout?.result;
  if (!report.wsFanout || !result) return [];
  return [
    "## WebSocket fan-out",
    "",
    `${report.wsFanout.topology}.`,
    "",
    `${result.users} student accounts open ${result.clients / result.users} \`/ws\` sockets each`,
    `(${result.clients} clients, each authenticated with its first message) on the one gateway;`,
    "each round reschedules a lesson of their course, which notifies every enrolled student through",
    "the durable event, the notifications service and the broker, so every socket must receive",
    "that notification exactly once. The delay of each socket's notification is measured from the",
    "start of the `PATCH /api/lessons/:id` that caused it (the whole path, not only the push).",
    "",
    "| round | sockets | notified | twice | p50 ms | p99 ms | max ms | PATCH ms | correct |",
    "| ----: | ------: | -------: | ----: | -----: | -----: | -----: | -------: | ------- |",
    ...result.rounds.map(
      (r, i) =>
        `| ${i + 1} | ${r.clients} | ${r.delivered} | ${r.duplicates} | ${fmt(r.p50Ms)} | ` +
        `${fmt(r.p99Ms)} | ${fmt(r.maxMs)} | ${fmt(r.patchMs)} | ${r.correct ? "yes" : "**NO**"} |`,
    ),
    "",
    `Memory:${describeFanoutMemory(result).replace(/^ +/, " ")}.`,
    "",
  ];
}

function quizBurstSection(report: BenchReport): string[] {
  if (!report.quizBurst) return [];
  return [
    "## Quiz submit burst",
    "",
    `${report.quizBurst.topology}.`,
    "",
    "Each round publishes a 20-question quiz (every question type, shuffled), lets 10 students",
    "start 20 attempts each, then submits all 200 attempts at once. Every submit must answer 200",
    "with the expected score, every attempt must read back submitted with that score, and the",
    'node\'s `campus_quiz_submissions_total{result="scored"}` must grow by exactly 200 (each',
    "attempt scored once). Submits/s: submits over the round's wall time. CPU ms/submit: what the",
    "node and the PostgreSQL/NATS/Redis servers used during the round, per submit; other",
    "processes: cores the rest of the machine used meanwhile (a busy machine lowers submits/s).",
    "",
    ...quizBurstTable(report.quizBurst.rounds),
    "",
    ...report.quizBurst.notes.map((n) => `- ${n}`),
    "",
  ];
}

/** The report case: a table of rounds (issue 19). */
function reportPdfSection(report: BenchReport): string[] {
  if (!report.reportPdf) return [];
  return [
    "## Report: a course_performance PDF",
    "",
    `${report.reportPdf.topology}.`,
    "",
    "Each round requests the report (202), polls it every 25 ms until it succeeded, and reads",
    "the node's CPU (from /proc, over the round) and resident memory after it. Job ms: the job's",
    "own created → finished time (queue wait included); wall ms: request to the poll that saw it.",
    "",
    "| round | students | succeeded | wall ms | job ms | PDF bytes | node CPU ms | node cores | RSS MB | peak RSS MB |",
    "| ----: | -------: | --------- | ------: | -----: | --------: | ----------: | ---------: | -----: | ----------: |",
    ...report.reportPdf.rounds.map(
      (r, i) =>
        `| ${i + 1} | ${r.students} | ${r.succeeded ? "yes" : "**NO**"} | ${fmt(r.wallMs)} | ` +
        `${fmt(r.jobMs)} | ${fmt(r.bytes)} | ${fmt(r.nodeCpuMs)} | ${fmt(r.nodeCores, 2)} | ` +
        `${fmt(r.rssMb)} | ${fmt(r.peakRssMb)} |`,
    ),
    "",
    ...report.reportPdf.notes.map((n) => `- ${n}`),
    "",
  ];
}

function nodesTables(report: BenchReport): string[] {
  const startedWith = (n: NodeRecord) => {
    const count = report.nodes.filter(
      (o) => o.topology === n.topology && !o.joinedRunningCluster,
    ).length;
    return count === 1 ? "alone" : `with its topology (${count} nodes at once)`;
  };
  const roles = [...new Set(report.nodes.map((n) => n.role))];
  const lines = [
    "Per role (median over every start of this run; min–max in brackets):",
    "",
    "| role | starts | start-up to ready, ms | RSS at ready, MB | RSS after load, MB | peak RSS, MB |",
    "| ---- | -----: | --------------------- | ---------------: | -----------------: | -----------: |",
  ];
  for (const role of roles) {
    const nodes = report.nodes.filter((n) => n.role === role);
    const startups = nodes.map((n) => n.startupMs);
    const values = (pick: (n: NodeRecord) => number | null) =>
      nodes.map(pick).filter((v): v is number => v != null && !Number.isNaN(v));
    lines.push(
      `| ${role} | ${nodes.length} | ${fmt(median(startups))} (${fmt(Math.min(...startups))}–${fmt(Math.max(...startups))}) | ` +
        `${fmt(median(values((n) => n.rssAtReadyMb)))} | ${fmt(median(values((n) => n.rssAtEndMb)))} | ` +
        `${fmt(Math.max(...values((n) => n.peakRssMb)))} |`,
    );
  }
  lines.push(
    "",
    "Every start:",
    "",
    "| topology | node | services | start-up ms | how it started | RSS ready MB | RSS end MB | peak MB |",
    "| -------- | ---- | -------- | ----------: | -------------- | -----------: | ---------: | ------: |",
  );
  for (const n of report.nodes) {
    const how = n.firstStart
      ? "first start, fresh databases (migrations)"
      : n.joinedRunningCluster
        ? "alone, joining a running cluster"
        : startedWith(n);
    lines.push(
      `| ${n.topology} | ${n.name} | ${n.services} | ${fmt(n.startupMs)} | ${how} | ` +
        `${fmt(n.rssAtReadyMb)} | ${fmt(n.rssAtEndMb)} | ${fmt(n.peakRssMb)} |`,
    );
  }
  return lines;
}

export function renderMarkdown(report: BenchReport): string {
  const { stamp } = report;
  const m = stamp.machine;
  const s = stamp.settings;
  const lines = [
    "# Campus performance report",
    "",
    "Generated by `npm run bench` (see `bench/README.md` for what each case measures and how to",
    "read this). Every figure is also in `performance.json`. Absolute numbers belong to this machine",
    "and this moment; the claims are the **ratios** between cases measured side by side in this run.",
    "",
    `- **Date:** ${stamp.date} (run took ${fmt(stamp.durationSeconds)} s)`,
    `- **Command:** \`${stamp.command}\``,
    `- **Commit:** \`${stamp.commit}\`` +
      (stamp.uncommittedPaths.length === 0
        ? " (no uncommitted changes)"
        : stamp.uncommittedPaths.length <= 5
          ? ` plus uncommitted changes to ${stamp.uncommittedPaths.map((p) => `\`${p}\``).join(", ")}`
          : ` plus ${stamp.uncommittedPaths.length} uncommitted paths (listed in performance.json)`) +
      ` — run from \`${stamp.directory}\``,
    `- **Machine:** ${m.cores} cores (${m.cpuModel}), ${fmt(m.memoryGb, 1)} GB memory, Node ${m.node}, ${m.os}; ` +
      `load average ${m.loadAverageAtStart.map((v) => v.toFixed(2)).join(" / ")} at start, ` +
      `${m.loadAverageAtEnd.map((v) => v.toFixed(2)).join(" / ")} at end; other processes used ` +
      `${fmt(stamp.otherCoresBeforeStart, 2)} cores just before the run`,
    `- **Services (all 127.0.0.1):** ${Object.entries(stamp.services)
      .map(([k, v]) => `${k} ${v}`)
      .join(", ")}`,
    `- **Load:** autocannon, ${s.connections} connections, ${s.warmupSeconds} s warm-up (discarded), then ` +
      `${s.rounds} × ${s.roundSeconds} s rounds; req/s, p50 and p99 are the median over the rounds, ` +
      `errors the sum. Load generator and servers share the ${m.cores} cores. Node log level \`${s.logLevel}\`.`,
    "",
    "## Summary",
    "",
    `Ceiling (bare Node \`http\`, median of every bare round): **${fmt(report.ceilingReqPerSec)} req/s**.`,
    "",
    ...summaryTable(report),
    "",
    "Of ceiling: median req/s as a share of the bare `http` ceiling. × uncached twin: median req/s",
    "over the same request with the cache off. vs reference: over the case named. Errors: non-2xx",
    "responses plus connection errors, summed over the rounds. Cache hits: lookups that found an",
    "entry — in a caller's near cache or in the cacher — on every node of the topology, while the",
    "case ran (warm-up included). Cache off means",
    "`CACHER=off`: the nodes have no cacher and so no near cache, every handler runs, and `off (0 lookups)`",
    "confirms that nothing was looked up. Cached cases have both the cacher (memory or Redis) and",
    "the callers' near cache (README, Caching).",
    "",
    "## What the ratios say",
    "",
    ...report.findings.map((f) => `- ${f}`),
    "",
    "## Targets",
    "",
    "The targets of the issues that asked for this bench (8, then 12, 16 and 17), against this run's ratios.",
    "",
    ...targetsTable(report),
    "",
    ...whyMissed(report),
    "## Where the CPU goes",
    "",
    ...profileSections(report.profiles),
    "## Enrollment burst",
    "",
    `${report.burst.topology}.`,
    "",
    "Each round creates a course and sends one enrollment per student, all at once; exactly",
    "`capacity` must succeed (201), the rest must be refused as full (409 `COURSE_FULL`), and the",
    "course must then say so (`enrolledCount` and the roster's `total`). Enrollments/s: requests",
    "over the round's wall time; p50/p99: per-request latency within the burst.",
    "",
    ...burstTable(report),
    "",
    ...report.burst.notes.map((n) => `- ${n}`),
    "",
    ...quizBurstSection(report),
    ...wsFanoutSection(report),
    ...reportPdfSection(report),
    "## Start-up and memory per node",
    "",
    "Start-up: from spawning `node dist/server.js` to the first 200 from `/health/ready`",
    "(polled every 50 ms), so it includes loading the compiled code, connecting to PostgreSQL,",
    "NATS and Redis, and — for a node started with its topology — waiting for the services it",
    "depends on. RSS: `VmRSS` from `/proc/<pid>/status` when ready and after the topology's load;",
    "peak: `VmHWM`.",
    "",
    ...nodesTables(report),
    "",
    "## Every round",
    "",
    "CPU cores: average cores used while the case ran (warm-up included) by the bench's own",
    "processes (load generator, Campus nodes, bare server), by the PostgreSQL, NATS and Redis",
    "servers (shared with anything else on the machine), and by everything else.",
    "",
    ...roundsTable(report),
    "",
  ];
  if (report.problems.length > 0) {
    lines.push("## Problems during the run", "", ...report.problems.map((p) => `- ${p}`), "");
  }
  return lines.join("\n");
}

function spread(report: BenchReport, id: string): number {
  const rounds =
    report.cases.find((c) => c.id === id)?.measured?.rounds.map((r) => r.reqPerSec) ?? [];
  if (rounds.length < 2) return 0;
  return (Math.max(...rounds) - Math.min(...rounds)) / median(rounds);
}

/**
 * The ratios worth a sentence; each says whether it is larger than the run's noise: the spread
 * of the two cases' rounds and — for cases not measured interleaved — the drift of the ceiling
 * between the start and the end of the run.
 */
export function findingsOf(report: BenchReport, disturbedCores: number): string[] {
  const out: string[] = [];
  const byId = (id: string) => report.cases.find((c) => c.id === id);
  const drift = caseRatio(report, "bare.end", "bare.start");
  // A ceiling disturbed by other processes measures them, not the machine's drift.
  const bareDisturbed = ["bare.start", "bare.end"].some(
    (id) => (byId(id)?.cpu?.other ?? 0) >= disturbedCores,
  );
  const driftNoise = drift == null || bareDisturbed ? 0 : Math.abs(drift - 1);
  const claim = (text: string, a: string, b: string) => {
    const value = caseRatio(report, a, b);
    if (value == null) return;
    const interleaved = byId(a)?.twin === b || byId(b)?.twin === a;
    const noise = Math.max(spread(report, a), spread(report, b), interleaved ? 0 : driftNoise);
    const verdict =
      Math.abs(value - 1) <= noise
        ? `within this run's noise (±${(100 * noise).toFixed(0)} %)`
        : `${value > 1 ? "faster" : "slower"}, beyond this run's noise (±${(100 * noise).toFixed(0)} %)`;
    out.push(
      `${text}: **${value.toFixed(2)}×** (${reqPerSec(report, a)?.toFixed(0)} vs ` +
        `${reqPerSec(report, b)?.toFixed(0)} req/s${interleaved ? ", interleaved" : ""}) — ${verdict}.`,
    );
  };
  if (drift != null) {
    out.push(
      `Noise: the bare ceiling measured ${drift.toFixed(2)}× at the end of what it measured at the ` +
        "start" +
        (bareDisturbed
          ? " — but other processes disturbed a ceiling measurement, so that is not taken as drift"
          : "") +
        ". A ratio closer to 1 than the spread of its two cases' rounds (plus, for cases not " +
        "measured interleaved, the drift) is not a finding.",
    );
  }
  claim(
    "Memory cache vs cache off, one process, one student",
    "inproc.student.cached",
    "inproc.student.uncached",
  );
  claim(
    "Redis cache vs cache off, over NATS, one student",
    "nats.student.cached",
    "nats.student.uncached",
  );
  claim(
    "Student's 20 courses: Redis cache vs cache off",
    "nats.studentCourses.cached",
    "nats.studentCourses.uncached",
  );
  claim(
    "Course's 100 students: Redis cache vs cache off",
    "nats.courseStudents.cached",
    "nats.courseStudents.uncached",
  );
  claim(
    "Two students nodes: Redis cache vs cache off",
    "nats2.student.cached",
    "nats2.student.uncached",
  );
  claim(
    "Notepack: Redis cache vs cache off",
    "notepack.student.cached",
    "notepack.student.uncached",
  );
  claim("Over NATS vs one process, cache off", "nats.student.uncached", "inproc.student.uncached");
  claim("Over NATS vs one process, cached", "nats.student.cached", "inproc.student.cached");
  claim(
    "Notepack vs JSON over NATS, cache off",
    "notepack.student.uncached",
    "nats.student.uncached",
  );
  claim("Notepack vs JSON over NATS, cached", "notepack.student.cached", "nats.student.cached");
  claim("Two students nodes vs one, cache off", "nats2.student.uncached", "nats.student.uncached");
  claim("Two students nodes vs one, cached", "nats2.student.cached", "nats.student.cached");
  claim(
    "Student's 20 courses vs one student record, cache off",
    "nats.studentCourses.uncached",
    "nats.student.uncached",
  );
  claim(
    "Course's 100 students vs one student record, cache off",
    "nats.courseStudents.uncached",
    "nats.student.uncached",
  );
  claim(
    "Student's schedule (8 courses × 30 lessons) vs student's 20 courses, cache off",
    "nats.mySchedule.uncached",
    "nats.studentCourses.uncached",
  );
  const best = report.cases
    .filter((c) => c.measured && !c.id.startsWith("bare."))
    .map((c) => ({ c, value: c.measured!.summary.reqPerSec / report.ceilingReqPerSec }))
    .sort((x, y) => y.value - x.value)[0];
  if (best) {
    out.push(
      `The fastest Campus case (${best.c.title}, \`${best.c.request}\`) reaches ` +
        `${(100 * best.value).toFixed(1)} % of the bare \`http\` ceiling.`,
    );
  }
  for (const where of ["1 process", "NATS"] as const) {
    const burst = report.burst.rounds.filter((r) => r.where === where);
    if (burst.length === 0) continue;
    const exact = burst.filter((r) => r.correct).length;
    out.push(
      `Enrollment burst (${where}): ${exact} of ${burst.length} rounds exact (capacity held, every other request refused as full); ` +
        `median ${median(burst.map((r) => r.enrollmentsPerSec)).toFixed(0)} enrollment requests/s.`,
    );
  }
  const disturbed = report.cases.filter((c) => c.cpu && c.cpu.other >= disturbedCores);
  if (disturbed.length > 0) {
    out.push(
      `Disturbed: while ${disturbed.map((c) => `_${c.title}_`).join(", ")} ran, other processes on ` +
        `the machine used ${disturbedCores} cores or more even in the least disturbed attempt ` +
        "(see _Every round_); read their ratios with extra caution.",
    );
  } else {
    out.push(`No case was disturbed by other processes using ${disturbedCores} cores or more.`);
  }
  for (const c of report.cases.filter((x) => x.skipped)) {
    out.push(`Not measured — ${c.title}: ${c.skipped}.`);
  }
  return out;
}

export function writeReport(report: BenchReport, outDir: string): { md: string; json: string } {
  mkdirSync(outDir, { recursive: true });
  const json = join(outDir, "performance.json");
  const md = join(outDir, "performance.md");
  writeFileSync(json, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(md, renderMarkdown(report));
  return { md, json };
}

/** Issue 16: the course gradebook of 100 students × 20 items, uncached, in one process. */
export const GRADEBOOK_TARGET_REQ_PER_SEC = 200;
/** Issue 12: 200 simultaneous enrollments into 50 seats. */
export const BURST_TARGET_PER_SEC = { "1 process": 600, NATS: 300 } as const;

interface TargetRow {
  target: string;
  measured: string;
  met: boolean | null;
}

/** Each target of the bench's issue, with the ratio of this run that decides it. */
export function targetRows(report: BenchReport): TargetRow[] {
  const ceiling = report.ceilingReqPerSec;
  const share = (id: string) => {
    const v = reqPerSec(report, id);
    return v == null || !Number.isFinite(ceiling) || ceiling <= 0 ? null : v / ceiling;
  };
  const atLeast = (
    target: string,
    value: number | null,
    bound: number,
    show: (v: number) => string,
  ): TargetRow => ({
    target,
    measured: value == null ? "not measured" : show(value),
    met: value == null ? null : value >= bound,
  });
  const times = (v: number) => `${v.toFixed(2)}×`;
  const rows = [
    atLeast(
      "in-process `GET /api/students/:id` (cached) ≥ 45 % of bare http",
      share("inproc.student.cached"),
      0.45,
      percent,
    ),
    atLeast(
      "in-process `GET /api/students/:id`, cache off, random over 2,000 students ≥ 20 % of bare http",
      share("inproc.random.uncached"),
      0.2,
      percent,
    ),
    atLeast(
      "over NATS, cache off, random over 2,000 students ≥ 50 % of in-process",
      caseRatio(report, "nats.random.uncached", "inproc.random.uncached"),
      0.5,
      percent,
    ),
    atLeast(
      "in-process `GET /api/students?pageSize=20` (cache off) ≥ 10 % of bare http",
      share("inproc.page.uncached"),
      0.1,
      percent,
    ),
    atLeast(
      `course gradebook (JSON, cache off) ≥ ${GRADEBOOK_TARGET_REQ_PER_SEC} req/s in one process`,
      reqPerSec(report, "inproc.gradebook.json"),
      GRADEBOOK_TARGET_REQ_PER_SEC,
      (v) => `${v.toFixed(0)} req/s`,
    ),
    atLeast(
      `course gradebook (CSV, cache off) ≥ ${GRADEBOOK_TARGET_REQ_PER_SEC} req/s in one process`,
      reqPerSec(report, "inproc.gradebook.csv"),
      GRADEBOOK_TARGET_REQ_PER_SEC,
      (v) => `${v.toFixed(0)} req/s`,
    ),
    ...(["1 process", "NATS"] as const).map((where) => {
      const rounds = report.burst.rounds.filter((r) => r.where === where);
      const floor = BURST_TARGET_PER_SEC[where];
      const perSec = rounds.length > 0 ? median(rounds.map((r) => r.enrollmentsPerSec)) : NaN;
      return {
        target: `enrollment burst (${where}): ≥ ${floor} requests/s, exactly capacity × 201 and the rest × 409`,
        measured:
          rounds.length > 0
            ? `median ${fmt(perSec)} requests/s; ${rounds.filter((r) => r.correct).length} of ${rounds.length} rounds exact`
            : "not measured",
        met: rounds.length > 0 ? perSec >= floor && rounds.every((r) => r.correct) : null,
      };
    }),
    atLeast(
      "over NATS ≥ 30 % of in-process (cached)",
      caseRatio(report, "nats.student.cached", "inproc.student.cached"),
      0.3,
      percent,
    ),
    atLeast(
      "over NATS ≥ 30 % of in-process (cache off)",
      caseRatio(report, "nats.student.uncached", "inproc.student.uncached"),
      0.3,
      percent,
    ),
    atLeast(
      "cached `GET /api/students/:id/courses` ≥ 3× its uncached twin",
      caseRatio(report, "nats.studentCourses.cached", "nats.studentCourses.uncached"),
      3,
      times,
    ),
    atLeast(
      "cached `GET /api/courses/:id/students` ≥ 3× its uncached twin",
      caseRatio(report, "nats.courseStudents.cached", "nats.courseStudents.uncached"),
      3,
      times,
    ),
    atLeast(
      "`GET /api/schedule/me` (cache off) within 2× of `GET /api/students/:id/courses` (cache off)",
      caseRatio(report, "nats.mySchedule.uncached", "nats.studentCourses.uncached"),
      0.5,
      times,
    ),
    atLeast(
      "`GET /api/schedule/me` (Redis cache) within 2× of `GET /api/students/:id/courses` (cache off)",
      caseRatio(report, "nats.mySchedule.cached", "nats.studentCourses.uncached"),
      0.5,
      times,
    ),
    // "Not slower" within the run's noise: the spread of the two cases' rounds.
    atLeast(
      "two students nodes not slower than one (cached)",
      caseRatio(report, "nats2.student.cached", "nats.student.cached"),
      1 - Math.max(spread(report, "nats2.student.cached"), spread(report, "nats.student.cached")),
      times,
    ),
    atLeast(
      "two students nodes not slower than one (cache off)",
      caseRatio(report, "nats2.student.uncached", "nats.student.uncached"),
      1 -
        Math.max(spread(report, "nats2.student.uncached"), spread(report, "nats.student.uncached")),
      times,
    ),
  ];
  const measured = report.cases.filter((c) => c.measured);
  const errors = measured.reduce(
    (sum, c) => sum + c.measured!.summary.non2xx + c.measured!.summary.socketErrors,
    0,
  );
  const quizRounds = report.quizBurst?.rounds ?? [];
  if (report.quizBurst) {
    const perSec = quizRounds.length > 0 ? median(quizRounds.map((r) => r.submitsPerSec)) : NaN;
    rows.push({
      target: `quiz burst: ≥ ${QUIZ_BURST_TARGET_PER_SEC} submits/s in one process, every attempt scored exactly once`,
      measured: `median ${fmt(perSec)} submits/s; ${quizRounds.filter((r) => r.correct).length} of ${quizRounds.length} rounds exact`,
      met:
        quizRounds.length > 0 &&
        perSec >= QUIZ_BURST_TARGET_PER_SEC &&
        quizRounds.every((r) => r.correct),
    });
  }
  const fanout = report.wsFanout?.result;
  if (report.wsFanout) {
    const p99 =
      fanout && fanout.rounds.length > 0 ? Math.max(...fanout.rounds.map((r) => r.p99Ms)) : NaN;
    rows.push({
      target: `WebSocket fan-out: 1,000 clients on one gateway, a notification to each, p99 delivery < ${FANOUT_P99_TARGET_MS} ms`,
      measured: fanout
        ? `${fanout.clients} clients; worst round p99 ${fmt(p99)} ms; ${fanout.rounds.filter((r) => r.correct).length} of ${fanout.rounds.length} rounds delivered exactly once; ${fmt(fanout.rssPerConnectionKb, 1)} KB RSS per socket`
        : "not measured",
      met:
        !!fanout &&
        fanout.clients >= 1000 &&
        fanout.rounds.length > 0 &&
        p99 < FANOUT_P99_TARGET_MS &&
        fanout.rounds.every((r) => r.correct),
    });
  }
  const burst = report.burst.rounds;
  rows.push({
    target: "zero errors in every case, no oversell in the enrollment burst",
    measured: `${errors} errors over ${measured.length} cases; ${burst.filter((r) => r.correct).length} of ${burst.length} burst rounds exact`,
    met: errors === 0 && burst.length > 0 && burst.every((r) => r.correct),
  });
  return rows;
}

function targetsTable(report: BenchReport): string[] {
  return [
    "| target | this run | met |",
    "| ------ | -------- | --- |",
    ...targetRows(report).map(
      (r) => `| ${r.target} | ${r.measured} | ${r.met == null ? "—" : r.met ? "yes" : "**no**"} |`,
    ),
  ];
}

function profileSections(profiles: ProfileSummary[]): string[] {
  if (profiles.length === 0) return ["No CPU profile was taken in this run.", ""];
  const lines = [
    "One more node like the bottleneck of a topology was started with `node --cpu-prof`, warmed",
    "up, loaded for one round and stopped; its profile is summed over the load window only (the",
    "profiler itself costs some throughput). Shares are of the busy time (idle left out), by area",
    "(where the code lives) and by function (self time).",
    "",
  ];
  for (const p of profiles) {
    lines.push(
      `### ${p.label}`,
      "",
      `Node \`${p.node}\`: ${fmt(p.reqPerSec)} req/s under the profiler, ${fmt(p.responses)} responses; ` +
        `${fmt(p.windowMs)} ms sampled, ${fmt(p.idlePercent)} % idle; ` +
        `**${fmt(p.cpuMsPerRequest * 1000)} µs of this process's CPU per request**.`,
      "",
      "| area | share of busy time |",
      "| ---- | -----------------: |",
      ...p.areas.map((a) => `| ${a.name} | ${a.percent.toFixed(1)} % |`),
      "",
      "| function (self time) | where | share |",
      "| -------------------- | ----- | ----: |",
      ...p.functions.map((f) => `| \`${f.name}\` | \`${f.where}\` | ${f.percent.toFixed(1)} % |`),
      "",
    );
  }
  return lines;
}

/** What each area of a profile stands for, and what would make it cheaper. */
const AREA_REMEDIES: [RegExp, string][] = [
  [
    /^socket and file writes/,
    "system calls — the HTTP response (the bare server pays it too), each NATS packet, each " +
      "batch of log lines; on loopback the kernel runs the receiver's TCP path inside the " +
      "sender's call. Fewer hops per request (the near cache) and fewer, larger writes reduce it",
  ],
  [
    /^moleculer \(/,
    "the broker's work per action call: a context, then the middleware chain (metrics, " +
      "bulkhead, timeout, retry, circuit breaker, validator, Campus's permissions and request " +
      "scope). It grows with the calls a request makes; the near cache removes the inner ones",
  ],
  [
    /^Node internals/,
    "promises, events and async hooks: AsyncLocalStorage (the log scope that carries the " +
      "request id) turns on a promise hook for every promise; a logger bound to the context " +
      "instead would remove it, at the price of passing the context to every log call",
  ],
  [/^Node http/, "Node's HTTP parser and response writing, which the bare server pays too"],
  [/^moleculer-web/, "the gateway's routing, body parsing and response encoding"],
  [/^jsonwebtoken/, "token verification (remembered per token after the first)"],
  [/^Campus logging/, "the access line and HTTP metrics of every request"],
  [/^garbage collection/, "garbage collection of the objects each request allocates"],
];

/**
 * The missed targets, then — once per profile of a process that bounds them — the per-request CPU
 * and the largest areas, each with what it is and what would make it cheaper.
 */
export function whyMissed(report: BenchReport): string[] {
  const missed = targetRows(report).filter((r) => r.met === false);
  if (missed.length === 0) return [];
  const lines = [
    "### Why the missed targets are missed",
    "",
    `Missed: ${missed.map((r) => `${r.target} (${r.measured})`).join("; ")}.`,
    "",
  ];
  if (missed.some((r) => /cache off/.test(r.target))) {
    lines.push(
      "With the cache off every request also reads PostgreSQL (a round trip and the driver's " +
        "work per request); the profiles below are of the cached cases, where the framework is " +
        "what remains.",
      "",
    );
  }
  if (missed.some((r) => /students nodes/.test(r.target))) {
    lines.push(
      "Two students nodes: the gateway, the load generator, NATS and every node share the " +
        "machine's cores; a second students node adds a process, not a core, while the gateway " +
        "stays the busiest process.",
      "",
    );
  }
  const wanted = [
    missed.some((r) => /in-process/.test(r.target) && !/over NATS/.test(r.target))
      ? "1 process"
      : null,
    missed.some((r) => /over NATS/.test(r.target)) ? "NATS" : null,
  ].filter((x): x is string => x !== null);
  for (const prefix of wanted) {
    const profile = report.profiles.find((p) => p.label.startsWith(prefix));
    if (!profile) continue;
    lines.push(
      `- **${profile.label}** (\`${profile.node}\`): **${fmt(profile.cpuMsPerRequest * 1000)} µs of CPU per request** under the profiler; its largest areas:`,
    );
    for (const area of profile.areas.slice(0, 4)) {
      const remedy = AREA_REMEDIES.find(([pattern]) => pattern.test(area.name))?.[1];
      lines.push(`  - ${area.name}, ${area.percent.toFixed(1)} %${remedy ? `: ${remedy}.` : "."}`);
    }
  }
  lines.push("");
  return lines;
}
