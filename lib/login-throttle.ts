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

/** The account's counters after one more failed login. */
export function recordLoginFailure(
  failedLogins: number,
  windowStart: Date | null,
  now: number,
): { failedLogins: number; failedWindowStart: Date } {
  if (!windowOpen(windowStart, now)) return { failedLogins: 1, failedWindowStart: new Date(now) };
  return { failedLogins: failedLogins + 1, failedWindowStart: windowStart };
}
