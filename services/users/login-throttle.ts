/**
 * Per-account login throttling. State lives on the account row, so every node of the cluster
 * sees the same count.
 * - Backoff: from the 3rd failed login on, the next attempt must wait a delay that doubles with
 *   each further failure (1 s, 2 s, 4 s … by default), capped at LOGIN_BACKOFF_MAX_MS. An attempt
 *   inside the delay answers 429 without the password being checked, so it does not count.
 * - Lock (contract): after 10 failed logins within 15 minutes, every login to that account
 *   answers 429 until the window passes — the right password included. Never turned off.
 * A successful login clears both.
 */
export const LOGIN_FAILURE_LIMIT = 10;
export const LOGIN_WINDOW_MS = 15 * 60 * 1000;
/** Failures that cost nothing: a user who mistypes twice is not slowed down. */
export const LOGIN_BACKOFF_FREE_FAILURES = 2;
export const LOGIN_BACKOFF_MAX_MS = 60 * 1000;

/** The account's failed-login state, as stored on its row. */
export interface LoginFailures {
  failedLogins: number;
  /** When the 15-minute window of `failedLogins` began. */
  windowStart: Date | null;
  /** When the last failure was counted. */
  lastFailedAt: Date | null;
}

export interface LoginRefusal {
  reason: "locked" | "backoff";
  retryAfterSeconds: number;
}

function windowOpen(windowStart: Date | null, now: number): windowStart is Date {
  return windowStart !== null && now - windowStart.getTime() < LOGIN_WINDOW_MS;
}

/** Whole seconds, rounded up and at least 1 (Retry-After has no fractions). */
function retryAfter(untilMs: number, now: number): number {
  return Math.max(1, Math.ceil((untilMs - now) / 1000));
}

/** The lock in force, or null when the account may try to log in. */
export function loginLockout(
  failedLogins: number,
  windowStart: Date | null,
  now: number,
): { retryAfterSeconds: number } | null {
  if (failedLogins < LOGIN_FAILURE_LIMIT || !windowOpen(windowStart, now)) return null;
  return { retryAfterSeconds: Math.ceil((windowStart.getTime() + LOGIN_WINDOW_MS - now) / 1000) };
}

/**
 * How long the next attempt must wait after `failedLogins` failures: 0 for the free ones, then
 * `baseMs` doubled per further failure, never more than LOGIN_BACKOFF_MAX_MS. `baseMs` 0: off.
 */
export function loginBackoffDelayMs(failedLogins: number, baseMs: number): number {
  if (baseMs <= 0 || failedLogins <= LOGIN_BACKOFF_FREE_FAILURES) return 0;
  const doublings = failedLogins - LOGIN_BACKOFF_FREE_FAILURES - 1;
  return Math.min(LOGIN_BACKOFF_MAX_MS, baseMs * 2 ** doublings);
}

/** Why this login must be refused now (the lock before the backoff), or null to check it. */
export function loginRefusal(
  state: LoginFailures,
  now: number,
  backoffBaseMs: number,
): LoginRefusal | null {
  const lock = loginLockout(state.failedLogins, state.windowStart, now);
  if (lock) return { reason: "locked", retryAfterSeconds: lock.retryAfterSeconds };
  // Failures from a window that has passed no longer count, nor does their backoff.
  if (!windowOpen(state.windowStart, now) || state.lastFailedAt === null) return null;
  const waitUntil =
    state.lastFailedAt.getTime() + loginBackoffDelayMs(state.failedLogins, backoffBaseMs);
  if (now >= waitUntil) return null;
  return { reason: "backoff", retryAfterSeconds: retryAfter(waitUntil, now) };
}

/**
 * Counts one failed login in a single statement (concurrent failures all count): a window older
 * than LOGIN_WINDOW_MS restarts at 1. `SET` expressions read the row as it was before the update.
 */
export const RECORD_LOGIN_FAILURE_SQL = `
  UPDATE users.users SET
    failed_logins = CASE WHEN failed_window_start IS NULL
      OR failed_window_start <= now() - make_interval(secs => :windowSeconds)
      THEN 1 ELSE failed_logins + 1 END,
    failed_window_start = CASE WHEN failed_window_start IS NULL
      OR failed_window_start <= now() - make_interval(secs => :windowSeconds)
      THEN now() ELSE failed_window_start END,
    last_failed_login_at = now()
  WHERE id = :id
  RETURNING failed_logins`;
