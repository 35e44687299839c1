/**
 * Per-account login lock (contract: after 10 failed logins within 15 minutes, every login to that
 * account answers 429 until the window passes — the right password included). State lives on the
 * account row, so every node of the cluster sees the same count.
 */
export const LOGIN_FAILURE_LIMIT = 10;
export const LOGIN_WINDOW_MS = 15 * 60 * 1000;

function windowOpen(windowStart: Date | null, now: number): windowStart is Date {
  return windowStart !== null && now - windowStart.getTime() < LOGIN_WINDOW_MS;
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
      THEN now() ELSE failed_window_start END
  WHERE id = :id
  RETURNING failed_logins`;
