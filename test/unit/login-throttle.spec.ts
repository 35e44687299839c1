import {
  LOGIN_BACKOFF_FREE_FAILURES,
  LOGIN_BACKOFF_MAX_MS,
  LOGIN_FAILURE_LIMIT,
  LOGIN_WINDOW_MS,
  loginBackoffDelayMs,
  loginLockout,
  loginRefusal,
} from "../../services/users/login-throttle";

const windowStart = new Date("2025-03-01T10:00:00.000Z");
const start = windowStart.getTime();
const MINUTE = 60 * 1000;

describe("the lock's constants", () => {
  it("locks after 10 failures within 15 minutes", () => {
    expect({ limit: LOGIN_FAILURE_LIMIT, windowMs: LOGIN_WINDOW_MS }).toEqual({
      limit: 10,
      windowMs: 15 * MINUTE,
    });
  });
});

describe("loginLockout", () => {
  it("does not lock an account that never failed", () => {
    expect(loginLockout(0, null, start)).toBeNull();
  });

  it("does not lock after 9 failures in the window", () => {
    expect(loginLockout(9, windowStart, start + MINUTE)).toBeNull();
  });

  it("locks after 10 failures in the window", () => {
    expect(loginLockout(10, windowStart, start + MINUTE)).not.toBeNull();
  });

  it("asks to retry when the window passes, in seconds", () => {
    expect(loginLockout(10, windowStart, start + 5 * MINUTE)).toEqual({
      retryAfterSeconds: 10 * 60,
    });
  });

  it("rounds the remaining time up to whole seconds", () => {
    expect(loginLockout(10, windowStart, start + 15 * MINUTE - 1)).toEqual({
      retryAfterSeconds: 1,
    });
  });

  it("stays locked with more than 10 failures", () => {
    expect(loginLockout(25, windowStart, start + MINUTE)).not.toBeNull();
  });

  it("unlocks exactly when the 15-minute window has passed", () => {
    expect(loginLockout(10, windowStart, start + 15 * MINUTE)).toBeNull();
  });

  it("unlocks after the window even with many failures", () => {
    expect(loginLockout(50, windowStart, start + 60 * MINUTE)).toBeNull();
  });

  it("does not lock when the count is high but no window was recorded", () => {
    expect(loginLockout(10, null, start)).toBeNull();
  });
});

const SECOND = 1000;
const BASE_MS = SECOND;

/** An account with `failedLogins` failures, the last one at `lastFailedAt`, in an open window. */
function failures(failedLogins: number, lastFailedAt: number | null = start) {
  return {
    failedLogins,
    windowStart: windowStart,
    lastFailedAt: lastFailedAt === null ? null : new Date(lastFailedAt),
  };
}

describe("the backoff's constants", () => {
  it("lets 2 failures go free and caps the delay at one minute", () => {
    expect({ free: LOGIN_BACKOFF_FREE_FAILURES, maxMs: LOGIN_BACKOFF_MAX_MS }).toEqual({
      free: 2,
      maxMs: MINUTE,
    });
  });
});

describe("loginBackoffDelayMs", () => {
  it("asks no wait after 0, 1 or 2 failures", () => {
    expect([0, 1, 2].map((n) => loginBackoffDelayMs(n, BASE_MS))).toEqual([0, 0, 0]);
  });

  it("waits the base delay after the 3rd failure, doubling with each further one", () => {
    expect([3, 4, 5, 6, 7, 8].map((n) => loginBackoffDelayMs(n, BASE_MS))).toEqual([
      1 * SECOND,
      2 * SECOND,
      4 * SECOND,
      8 * SECOND,
      16 * SECOND,
      32 * SECOND,
    ]);
  });

  it("caps the delay at one minute (the 9th failure would otherwise wait 64 s)", () => {
    expect(loginBackoffDelayMs(9, BASE_MS)).toBe(LOGIN_BACKOFF_MAX_MS);
  });

  it("stays at the cap for any count, however large", () => {
    expect([50, 1000, 5000].map((n) => loginBackoffDelayMs(n, BASE_MS))).toEqual(
      Array(3).fill(LOGIN_BACKOFF_MAX_MS),
    );
  });

  it("scales with the base delay", () => {
    expect([3, 4, 5].map((n) => loginBackoffDelayMs(n, 10))).toEqual([10, 20, 40]);
  });

  it("caps a base delay larger than the cap", () => {
    expect(loginBackoffDelayMs(3, 2 * MINUTE)).toBe(LOGIN_BACKOFF_MAX_MS);
  });

  it("is off with a base delay of 0", () => {
    expect([3, 9, 50].map((n) => loginBackoffDelayMs(n, 0))).toEqual([0, 0, 0]);
  });
});

describe("loginRefusal", () => {
  it("lets an account that never failed try", () => {
    expect(loginRefusal(failures(0, null), start, BASE_MS)).toBeNull();
  });

  it("lets an account try right after its 2nd failure", () => {
    expect(loginRefusal(failures(2), start, BASE_MS)).toBeNull();
  });

  it("refuses right after the 3rd failure, asking to retry in 1 s", () => {
    expect(loginRefusal(failures(3), start, BASE_MS)).toEqual({
      reason: "backoff",
      retryAfterSeconds: 1,
    });
  });

  it("refuses 1 ms before the delay ends and lets the account try exactly when it ends", () => {
    expect({
      before: loginRefusal(failures(4), start + 2 * SECOND - 1, BASE_MS),
      at: loginRefusal(failures(4), start + 2 * SECOND, BASE_MS),
    }).toEqual({ before: { reason: "backoff", retryAfterSeconds: 1 }, at: null });
  });

  it("counts the delay from the last failure and rounds the wait up to whole seconds", () => {
    expect(loginRefusal(failures(6, start + MINUTE), start + MINUTE + 2500, BASE_MS)).toEqual({
      reason: "backoff",
      retryAfterSeconds: 6,
    });
  });

  it("asks for at least 1 s even when less than a second of a short delay is left", () => {
    expect(loginRefusal(failures(3), start + 5, 10)).toEqual({
      reason: "backoff",
      retryAfterSeconds: 1,
    });
  });

  it("asks for the capped minute after the 9th failure", () => {
    expect(loginRefusal(failures(9), start, BASE_MS)).toEqual({
      reason: "backoff",
      retryAfterSeconds: 60,
    });
  });

  it("answers the 15-minute lock, not the backoff, after the 10th failure", () => {
    expect(loginRefusal(failures(10, start + MINUTE), start + MINUTE, BASE_MS)).toEqual({
      reason: "locked",
      retryAfterSeconds: 14 * 60,
    });
  });

  it("keeps the lock with the backoff turned off", () => {
    expect(loginRefusal(failures(10), start + MINUTE, 0)).toEqual({
      reason: "locked",
      retryAfterSeconds: 14 * 60,
    });
  });

  it("never refuses below the lock with the backoff turned off", () => {
    expect(loginRefusal(failures(9), start, 0)).toBeNull();
  });

  it("forgets the backoff once the failures' window has passed", () => {
    const lastFailure = start + 14 * MINUTE + 59 * SECOND;
    expect(loginRefusal(failures(9, lastFailure), start + 15 * MINUTE, BASE_MS)).toBeNull();
  });

  it("does not back off when no last failure was recorded (rows older than the backoff)", () => {
    expect(loginRefusal(failures(5, null), start, BASE_MS)).toBeNull();
  });
});
