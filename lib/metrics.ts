/**
 * Campus's own Prometheus series, next to Moleculer's built-in `moleculer_*` ones: their names,
 * their registration (once per broker) and the one-line helpers the services call. Every label
 * takes a bounded set of values — a result, a type, a route template — never an id, an email or
 * a raw URL, so the number of series stays fixed however much traffic arrives.
 */
import type { ServiceBroker, ServiceHooks } from "moleculer";
import { NOTIFICATION_TYPES } from "../services/notifications/notifications";
import { ACHIEVEMENT_CODES } from "../services/profiles/profiles";

export const METRICS = {
  enrollments: "campus_enrollments_total",
  logins: "campus_logins_total",
  loginFailures: "campus_login_failures_total",
  notificationsCreated: "campus_notifications_created_total",
  eventLag: "campus_event_lag_seconds",
  rateLimited: "campus_rate_limited_total",
  httpRequests: "campus_http_requests_total",
  httpDuration: "campus_http_request_duration_seconds",
  ready: "campus_ready",
  readyCheck: "campus_ready_check",
  nearCache: "campus_near_cache_requests_total",
  scheduleConflicts: "campus_schedule_conflicts_total",
  grades: "campus_grades_total",
  quizSubmissions: "campus_quiz_submissions_total",
  liveConnections: "campus_live_connections",
  liveMessages: "campus_live_messages_total",
  achievementsAwarded: "campus_achievements_awarded_total",
  reportJobs: "campus_report_jobs",
  reportDuration: "campus_report_duration_seconds",
} as const;

export const ENROLLMENT_RESULTS = ["ok", "full", "duplicate", "not_found"] as const;
export type EnrollmentResult = (typeof ENROLLMENT_RESULTS)[number];
export const LOGIN_RESULTS = ["ok", "invalid", "locked"] as const;
export type LoginResult = (typeof LOGIN_RESULTS)[number];
/** Bookings and enrollments refused for a clash: room, teacher, or a student's own schedule. */
export const SCHEDULE_CONFLICT_KINDS = ["room", "teacher", "schedule"] as const;
export type ScheduleConflictKind = (typeof SCHEDULE_CONFLICT_KINDS)[number];
/** A grade event at the gradebook: applied, or unchanged (a replay, a duplicate, an older one). */
export const GRADE_RESULTS = ["applied", "unchanged"] as const;
export const GRADE_SOURCES = ["assignment", "quiz"] as const;
export const QUIZ_SUBMISSION_RESULTS = ["scored", "expired", "duplicate", "invalid"] as const;
export type QuizSubmissionResult = (typeof QUIZ_SUBMISSION_RESULTS)[number];
export const READINESS_CHECKS = ["transporter", "databases", "services"] as const;

export const REPORT_JOB_STATUSES = ["queued", "running", "succeeded", "failed"] as const;
/** Seconds; from a small CSV to a PDF of thousands of rows. */
const REPORT_BUCKETS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

/** Seconds; from a fast cached read to a request that hit a timeout. */
const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Seconds; from an event handled at once to one that waited for a consumer to come back. */
const LAG_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];

type MetricDefinition = {
  name: string;
  type: "counter" | "gauge" | "histogram";
  labelNames: string[];
  description: string;
  buckets?: number[];
  quantiles?: boolean;
};

export const METRIC_DEFINITIONS: MetricDefinition[] = [
  {
    name: METRICS.reportJobs,
    type: "gauge",
    labelNames: ["status"],
    description: "Report jobs in the database by status (counted by the reports nodes' sweep)",
  },
  {
    name: METRICS.reportDuration,
    type: "histogram",
    labelNames: ["type", "format"],
    description: "Seconds a worker took to make a report, from its claim to the stored file",
    buckets: REPORT_BUCKETS,
    // Moleculer writes _sum and _count only for histograms with quantiles.
    quantiles: true,
  },
  {
    name: METRICS.nearCache,
    type: "counter",
    labelNames: ["action", "result"],
    description:
      "Calls to near-cached internal actions answered from the caller's memory (hit) or not (miss)",
  },
  {
    name: METRICS.enrollments,
    type: "counter",
    labelNames: ["result"],
    description: "Enrollment attempts by result: ok, full, duplicate, not_found",
  },
  {
    name: METRICS.scheduleConflicts,
    type: "counter",
    labelNames: ["kind"],
    description:
      "Lessons and enrollments refused for a clash: room (ROOM_CONFLICT), teacher (TEACHER_CONFLICT), schedule (SCHEDULE_CONFLICT)",
  },
  {
    name: METRICS.logins,
    type: "counter",
    labelNames: ["result"],
    description: "Login attempts by result: ok, invalid (wrong credentials), locked",
  },
  {
    name: METRICS.loginFailures,
    type: "counter",
    labelNames: [],
    description: "Logins refused: wrong credentials or a locked account",
  },
  {
    name: METRICS.notificationsCreated,
    type: "counter",
    labelNames: ["type"],
    description: "Notifications stored, by type",
  },
  {
    name: METRICS.grades,
    type: "counter",
    labelNames: ["source", "result"],
    description:
      "grade.recorded events at the gradebook by source and result: applied, or unchanged (already applied)",
  },
  {
    name: METRICS.eventLag,
    type: "histogram",
    labelNames: ["consumer"],
    description: "Seconds from a domain event's occurredAt to its handling, by consuming service",
    buckets: LAG_BUCKETS,
    // Moleculer writes _sum and _count only for histograms with quantiles.
    quantiles: true,
  },
  {
    name: METRICS.quizSubmissions,
    type: "counter",
    labelNames: ["result"],
    description:
      "Quiz attempt submits by result: scored, expired (past the time limit), duplicate, invalid",
  },
  {
    name: METRICS.achievementsAwarded,
    type: "counter",
    labelNames: ["code"],
    description:
      "Achievements awarded by code (once per user and code; a replayed event awards none)",
  },
  {
    name: METRICS.rateLimited,
    type: "counter",
    labelNames: ["route"],
    description: "Requests answered 429 at the gateway, by route template",
  },
  {
    name: METRICS.httpRequests,
    type: "counter",
    labelNames: ["method", "route", "status"],
    description: "HTTP requests answered by the gateway, by method, route template and status",
  },
  {
    name: METRICS.httpDuration,
    type: "histogram",
    labelNames: ["method", "route"],
    description: "Seconds from a request's arrival at the gateway to its response",
    buckets: HTTP_BUCKETS,
    quantiles: true,
  },
  {
    name: METRICS.ready,
    type: "gauge",
    labelNames: [],
    description: "1 when this node is ready (as /health/ready answers), else 0",
  },
  {
    name: METRICS.readyCheck,
    type: "gauge",
    labelNames: ["check"],
    description: "Each readiness check of this node: transporter, databases, services (1 passes)",
  },
  {
    name: METRICS.liveConnections,
    type: "gauge",
    labelNames: [],
    description: "Open /ws sockets on this gateway (authenticated or not)",
  },
  {
    name: METRICS.liveMessages,
    type: "counter",
    labelNames: ["direction"],
    description: "/ws messages on this gateway: received from clients (in), sent to them (out)",
  },
];

/** The live sockets' series: the open sockets, and one message received or sent. */
export function setLiveConnections(broker: ServiceBroker, count: number): void {
  registry(broker)?.set(METRICS.liveConnections, count);
}

export function countLiveMessage(broker: ServiceBroker, direction: "in" | "out"): void {
  registry(broker)?.increment(METRICS.liveMessages, { direction });
}

/** Registers Campus's series on this broker, each once (a second register would reset it). */
export function registerCampusMetrics(broker: ServiceBroker): void {
  if (!broker.isMetricsEnabled()) return;
  for (const definition of METRIC_DEFINITIONS) {
    if (!broker.metrics.getMetric(definition.name))
      broker.metrics.register({ ...definition } as Parameters<typeof broker.metrics.register>[0]);
  }
}

/**
 * The series a service owns start at 0 for every known label value, so a rate or a ratio has
 * data (and an alert can tell "none yet" from "not scraped") before the first event happens.
 */
const OWNED_SERIES: Record<string, [string, Record<string, string>[]][]> = {
  courses: [[METRICS.enrollments, ENROLLMENT_RESULTS.map((result) => ({ result }))]],
  users: [
    [METRICS.logins, LOGIN_RESULTS.map((result) => ({ result }))],
    [METRICS.loginFailures, [{}]],
  ],
  schedule: [[METRICS.scheduleConflicts, SCHEDULE_CONFLICT_KINDS.map((kind) => ({ kind }))]],
  notifications: [[METRICS.notificationsCreated, NOTIFICATION_TYPES.map((type) => ({ type }))]],
  gradebook: [
    [
      METRICS.grades,
      GRADE_SOURCES.flatMap((source) => GRADE_RESULTS.map((result) => ({ source, result }))),
    ],
  ],
  quizzes: [[METRICS.quizSubmissions, QUIZ_SUBMISSION_RESULTS.map((result) => ({ result }))]],
  profiles: [[METRICS.achievementsAwarded, ACHIEVEMENT_CODES.map((code) => ({ code }))]],
};

export function initialiseOwnedSeries(broker: ServiceBroker, serviceName: string): void {
  const metrics = registry(broker);
  if (!metrics) return;
  for (const [name, labelSets] of OWNED_SERIES[serviceName] ?? []) {
    for (const labels of labelSets) metrics.increment(name, labels, 0);
  }
}

// ---- What the services call, one line each ----

/** The broker's registry with Campus's series in it; null when metrics are off. */
function registry(broker: ServiceBroker): ServiceBroker["metrics"] | null {
  if (!broker.isMetricsEnabled()) return null;
  if (!broker.metrics.getMetric(METRICS.httpRequests)) registerCampusMetrics(broker);
  return broker.metrics;
}

type ErrorLike = { type?: unknown; code?: unknown; name?: unknown } | undefined;

/** `enroll`'s outcome; null for the rest (forbidden, unavailable), which the HTTP series count. */
export function enrollmentResult(err?: unknown): EnrollmentResult | null {
  if (err === undefined) return "ok";
  const e = err as ErrorLike;
  if (e?.type === "COURSE_FULL") return "full";
  // The raw unique violation: this hook runs before the DB mixin's "*" hook renames it.
  if (e?.type === "ALREADY_ENROLLED" || e?.name === "SequelizeUniqueConstraintError")
    return "duplicate";
  // A missing course or student; not a missing service (SERVICE_NOT_FOUND is a 503 for clients).
  if (e?.code === 404 && !String(e.type ?? "").startsWith("SERVICE_")) return "not_found";
  return null;
}

export function loginResult(err?: unknown): LoginResult | null {
  if (err === undefined) return "ok";
  const e = err as ErrorLike;
  if (e?.type === "INVALID_CREDENTIALS") return "invalid";
  if (e?.type === "TOO_MANY_REQUESTS") return "locked";
  return null;
}

export function countEnrollment(broker: ServiceBroker, err?: unknown): void {
  const result = enrollmentResult(err);
  if (result) registry(broker)?.increment(METRICS.enrollments, { result });
}

export function countLogin(broker: ServiceBroker, err?: unknown): void {
  const result = loginResult(err);
  const metrics = registry(broker);
  if (!result || !metrics) return;
  metrics.increment(METRICS.logins, { result });
  if (result !== "ok") metrics.increment(METRICS.loginFailures);
}

/** A submit's outcome; null for the rest (not found, forbidden, unavailable). */
export function quizSubmissionResult(err?: unknown): QuizSubmissionResult | null {
  if (err === undefined) return "scored";
  const e = err as ErrorLike;
  if (e?.type === "ATTEMPT_EXPIRED") return "expired";
  if (e?.type === "ALREADY_SUBMITTED") return "duplicate";
  if (e?.code === 422) return "invalid";
  return null;
}

export function countQuizSubmission(broker: ServiceBroker, err?: unknown): void {
  const result = quizSubmissionResult(err);
  if (result) registry(broker)?.increment(METRICS.quizSubmissions, { result });
}

/**
 * Service hooks that count one action's outcome, success or error, and change nothing else:
 * `hooks: outcomeHooks("enroll", countEnrollment)`.
 */
export function outcomeHooks(
  action: string,
  count: (broker: ServiceBroker, err?: unknown) => void,
): ServiceHooks {
  return {
    after: {
      [action](this: { broker: ServiceBroker }, _ctx: unknown, result: unknown) {
        count(this.broker);
        return result;
      },
    },
    error: {
      [action](this: { broker: ServiceBroker }, _ctx: unknown, err: Error) {
        count(this.broker, err);
        throw err;
      },
    },
  };
}

export function countScheduleConflict(broker: ServiceBroker, kind: ScheduleConflictKind): void {
  registry(broker)?.increment(METRICS.scheduleConflicts, { kind });
}

export function countNotifications(broker: ServiceBroker, type: string, created: number): void {
  if (created > 0) registry(broker)?.increment(METRICS.notificationsCreated, { type }, created);
}

export function countGrade(
  broker: ServiceBroker,
  source: string,
  result: (typeof GRADE_RESULTS)[number],
): void {
  // `source` comes from an event: only the known ones become a label value.
  if (!(GRADE_SOURCES as readonly string[]).includes(source)) return;
  registry(broker)?.increment(METRICS.grades, { source, result });
}

export function countAchievement(broker: ServiceBroker, code: string): void {
  registry(broker)?.increment(METRICS.achievementsAwarded, { code });
}

/** Lag of a domain event at its consumer: now − occurredAt (skipped when that is missing). */
export function observeEventLag(
  service: { broker: ServiceBroker; name: string },
  event: { occurredAt?: unknown } | null | undefined,
): void {
  const occurredAt = Date.parse(String(event?.occurredAt ?? ""));
  if (Number.isNaN(occurredAt)) return;
  const seconds = Math.max(0, (Date.now() - occurredAt) / 1000);
  registry(service.broker)?.observe(METRICS.eventLag, seconds, { consumer: service.name });
}

/** One call to a near-cached action, answered from the caller's memory or not. */
export function countNearCacheLookup(broker: ServiceBroker, action: string, hit: boolean): void {
  // `action` is one of the few near-cached action names: a bounded label.
  registry(broker)?.increment(METRICS.nearCache, { action, result: hit ? "hit" : "miss" });
}

export function countRateLimited(broker: ServiceBroker, route: string): void {
  registry(broker)?.increment(METRICS.rateLimited, { route });
}

/** The HTTP series of each broker, by `method route status` and `method route`. */
const httpSeries = new WeakMap<ServiceBroker, Map<string, BoundSeries>>();

export function recordHttpRequest(
  broker: ServiceBroker,
  request: { method: string; route: string; status: number; seconds: number },
): void {
  const metrics = registry(broker);
  if (!metrics) return;
  const { method, route, status, seconds } = request;
  let series = httpSeries.get(broker);
  if (!series) httpSeries.set(broker, (series = new Map()));
  // Bounded keys: methods × route templates × statuses, like the series themselves.
  const countKey = `${method} ${route} ${status}`;
  let count = series.get(countKey);
  if (!count) {
    count = BoundSeries.of(broker, METRICS.httpRequests, { method, route, status: String(status) });
    series.set(countKey, count);
  }
  count.add();
  const timeKey = `${method} ${route}`;
  let time = series.get(timeKey);
  if (!time)
    series.set(timeKey, (time = BoundSeries.of(broker, METRICS.httpDuration, { method, route })));
  time.observe(seconds);
}

/** What this file uses of a Moleculer metric and of one labelled series (an "item") of it. */
interface SeriesItem {
  value: number;
  sum: number;
  count: number;
  lastValue: number | null;
  bucketValues?: Record<number, number>;
  quantileValues?: { add(value: number): void };
}
interface MetricInternals {
  type: string;
  labelNames: string[];
  buckets?: number[];
  values: Map<string, SeriesItem>;
  hashingLabels(labels: Record<string, unknown>): string;
  resetItem(item: { labels: Record<string, unknown> }, timestamp: number | null): SeriesItem;
  setDirty(): void;
}
type Labels = Record<string, string | number | null>;

/**
 * One labelled series of a Moleculer metric, looked up (and created, as Moleculer would create
 * it) once, then updated without hashing its labels again. Every update marks the metric dirty,
 * as Moleculer's own updates do: the Prometheus reporter reuses a metric's last snapshot until
 * then.
 */
export class BoundSeries {
  private constructor(
    private readonly metric: MetricInternals,
    private readonly item: SeriesItem,
  ) {}

  static of(broker: ServiceBroker, name: string, labels: Labels): BoundSeries {
    const metric = broker.metrics.getMetric(name) as unknown as MetricInternals;
    const hash = metric.hashingLabels(labels);
    let item = metric.values.get(hash);
    if (!item) {
      const picked: Labels = {};
      for (const label of metric.labelNames) picked[label] = labels[label] ?? null;
      item =
        metric.type === "histogram"
          ? metric.resetItem({ labels: picked }, null)
          : ({ value: 0, labels: picked, timestamp: Date.now() } as unknown as SeriesItem);
      metric.values.set(hash, item);
    }
    return new BoundSeries(metric, item);
  }

  /** A counter or gauge: adds `by` (a negative `by` lowers a gauge). */
  add(by = 1): void {
    this.item.value += by;
    this.metric.setDirty();
  }

  /** A histogram: one observation (what `HistogramMetric.observe` does). */
  observe(value: number): void {
    const item = this.item;
    item.sum += value;
    item.count += 1;
    item.lastValue = value;
    const buckets = this.metric.buckets;
    const bucketValues = item.bucketValues;
    if (buckets && bucketValues) {
      for (let i = buckets.length - 1; i >= 0 && value <= buckets[i]; i -= 1) {
        bucketValues[buckets[i]] += 1;
      }
    }
    item.quantileValues?.add(value);
    this.metric.setDirty();
  }
}

export function recordReadiness(
  broker: ServiceBroker,
  ready: boolean,
  checks: Record<(typeof READINESS_CHECKS)[number], boolean>,
): void {
  const metrics = registry(broker);
  if (!metrics) return;
  metrics.set(METRICS.ready, ready ? 1 : 0);
  for (const check of READINESS_CHECKS) {
    metrics.set(METRICS.readyCheck, checks[check] ? 1 : 0, { check });
  }
}

/**
 * Moleculer's process and OS series that would publish who and where the host is — its user,
 * uid/gid and home directory, network interface addresses and MACs, host name, and the process's
 * command line — left out of `/metrics` (the Prometheus reporter's `excludes`).
 */
export const HOST_IDENTITY_METRICS = [
  "process.arguments",
  "os.user.*",
  "os.network.*",
  "os.hostname",
] as const;

/** The sweep's count of report jobs by status (a status without jobs is 0). */
export function recordReportJobs(
  broker: ServiceBroker,
  counts: Partial<Record<(typeof REPORT_JOB_STATUSES)[number], number>>,
): void {
  const metrics = registry(broker);
  if (!metrics) return;
  for (const status of REPORT_JOB_STATUSES) {
    metrics.set(METRICS.reportJobs, counts[status] ?? 0, { status });
  }
}

export function observeReportDuration(
  broker: ServiceBroker,
  type: string,
  format: string,
  seconds: number,
): void {
  registry(broker)?.observe(METRICS.reportDuration, seconds, { type, format });
}
