/**
 * Failed-login slow-down, per email named in the login — whether or not an account has that
 * email, so the answer never tells which emails exist (contract: Limits). State lives in the
 * users database (users.login_failures), so every node of the cluster sees the same count.
 * - Backoff: from the 3rd failed login within 15 minutes, the next attempt for that email must
 *   wait a delay that doubles with each further failure (1 s, 2 s, 4 s … by default), capped at
 *   LOGIN_BACKOFF_MAX_MS. An attempt inside the delay answers 429 without the password being
 *   checked, so it does not count.
 * - No hard lock that a stranger can trigger: failures are counted per (email, client address).
 *   An address that logged in successfully to the account before (users.login_addresses) is
 *   slowed down only by its own failures; any other address by the failures from every address.
 * Emails and addresses are stored as SHA-256 digests: the tables never hold a typed email that
 * has no account, nor a client's address.
 */
import { createHash } from "crypto";

export const LOGIN_WINDOW_MS = 15 * 60 * 1000;
/** Failures that cost nothing: a user who mistypes twice is not slowed down. */
export const LOGIN_BACKOFF_FREE_FAILURES = 2;
export const LOGIN_BACKOFF_MAX_MS = 60 * 1000;

/** Failed-login state of an email, as the slow-down sees it (from one or from every address). */
export interface LoginFailures {
  failedLogins: number;
  /** When the 15-minute window of `failedLogins` began. */
  windowStart: Date | null;
  /** When the last failure was counted. */
  lastFailedAt: Date | null;
}

export interface LoginRefusal {
  retryAfterSeconds: number;
}

/** The stored form of an email or a client address: a SHA-256 digest, hex. */
export function throttleKey(value: string): string {
  return createHash("sha256").update(value.trim().toLowerCase()).digest("hex");
}

function windowOpen(windowStart: Date | null, now: number): windowStart is Date {
  return windowStart !== null && now - windowStart.getTime() < LOGIN_WINDOW_MS;
}

/** Whole seconds, rounded up and at least 1 (Retry-After has no fractions). */
function retryAfter(untilMs: number, now: number): number {
  return Math.max(1, Math.ceil((untilMs - now) / 1000));
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

/** Whether this login must wait (429 + Retry-After) before its password is checked. */
export function loginRefusal(
  state: LoginFailures,
  now: number,
  backoffBaseMs: number,
): LoginRefusal | null {
  // Failures from a window that has passed no longer count, nor does their backoff.
  if (!windowOpen(state.windowStart, now) || state.lastFailedAt === null) return null;
  const waitUntil =
    state.lastFailedAt.getTime() + loginBackoffDelayMs(state.failedLogins, backoffBaseMs);
  if (now >= waitUntil) return null;
  return { retryAfterSeconds: retryAfter(waitUntil, now) };
}

/**
 * The failures that slow down a login for `:emailKey` inside the window: from `:addressKey`
 * alone when `:trusted` (an address that logged in to the account before), else from every
 * address.
 */
export const LOGIN_FAILURES_SQL = `
  SELECT COALESCE(SUM(failures), 0)::int AS "failedLogins",
         MIN(window_start) AS "windowStart",
         MAX(last_failed_at) AS "lastFailedAt"
  FROM users.login_failures
  WHERE email_key = :emailKey
    AND window_start > now() - make_interval(secs => :windowSeconds)
    AND (NOT :trusted OR address_key = :addressKey)`;

/**
 * Counts one failed login of (email, address) in a single statement (concurrent failures all
 * count): a window older than LOGIN_WINDOW_MS restarts at 1.
 */
export const RECORD_LOGIN_FAILURE_SQL = `
  INSERT INTO users.login_failures AS f (email_key, address_key, failures, window_start, last_failed_at)
  VALUES (:emailKey, :addressKey, 1, now(), now())
  ON CONFLICT (email_key, address_key) DO UPDATE SET
    failures = CASE WHEN f.window_start <= now() - make_interval(secs => :windowSeconds)
      THEN 1 ELSE f.failures + 1 END,
    window_start = CASE WHEN f.window_start <= now() - make_interval(secs => :windowSeconds)
      THEN now() ELSE f.window_start END,
    last_failed_at = now()
  RETURNING failures`;

/** Rows whose window has passed count for nothing: dropped so the table stays small. */
export const FORGET_OLD_LOGIN_FAILURES_SQL = `
  DELETE FROM users.login_failures
  WHERE window_start <= now() - make_interval(secs => :windowSeconds)`;

/** How long an address that logged in stays known to the account without logging in again. */
export const KNOWN_ADDRESS_DAYS = 90;

/**
 * A successful login: this address's failures for the email go, the address is known (again),
 * and the account's addresses unused for KNOWN_ADDRESS_DAYS are forgotten.
 */
export const RECORD_LOGIN_SUCCESS_SQL = `
  DELETE FROM users.login_failures WHERE email_key = :emailKey AND address_key = :addressKey;
  DELETE FROM users.login_addresses
    WHERE user_id = :userId AND last_login_at < now() - make_interval(days => ${KNOWN_ADDRESS_DAYS});
  INSERT INTO users.login_addresses (user_id, address_key, last_login_at)
  VALUES (:userId, :addressKey, now())
  ON CONFLICT (user_id, address_key) DO UPDATE SET last_login_at = now()`;

export const KNOWN_ADDRESS_SQL = `
  SELECT 1 FROM users.login_addresses WHERE user_id = :userId AND address_key = :addressKey`;
