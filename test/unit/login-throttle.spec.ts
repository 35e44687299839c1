import {
  LOGIN_BACKOFF_FREE_FAILURES,
  LOGIN_BACKOFF_MAX_MS,
  LOGIN_WINDOW_MS,
  loginBackoffDelayMs,
  loginRefusal,
  throttleKey,
} from "../../services/users/login-throttle";

const windowStart = new Date("2025-03-01T10:00:00.000Z");
const start = windowStart.getTime();
const MINUTE = 60 * 1000;

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
      retryAfterSeconds: 1,
    });
  });

  it("refuses 1 ms before the delay ends and lets the account try exactly when it ends", () => {
    expect({
      before: loginRefusal(failures(4), start + 2 * SECOND - 1, BASE_MS),
      at: loginRefusal(failures(4), start + 2 * SECOND, BASE_MS),
    }).toEqual({ before: { retryAfterSeconds: 1 }, at: null });
  });

  it("counts the delay from the last failure and rounds the wait up to whole seconds", () => {
    expect(loginRefusal(failures(6, start + MINUTE), start + MINUTE + 2500, BASE_MS)).toEqual({
      retryAfterSeconds: 6,
    });
  });

  it("asks for at least 1 s even when less than a second of a short delay is left", () => {
    expect(loginRefusal(failures(3), start + 5, 10)).toEqual({
      retryAfterSeconds: 1,
    });
  });

  it("asks for the capped minute after the 9th failure", () => {
    expect(loginRefusal(failures(9), start, BASE_MS)).toEqual({
      retryAfterSeconds: 60,
    });
  });

  it("never refuses with the backoff turned off, however many failures (no hard lock)", () => {
    expect([3, 10, 500].map((n) => loginRefusal(failures(n), start, 0))).toEqual([
      null,
      null,
      null,
    ]);
  });

  it("never asks for more than a minute, however many failures", () => {
    expect(loginRefusal(failures(500), start, BASE_MS)).toEqual({ retryAfterSeconds: 60 });
  });

  it("forgets the backoff once the failures' window has passed", () => {
    const lastFailure = start + 14 * MINUTE + 59 * SECOND;
    expect(loginRefusal(failures(9, lastFailure), start + 15 * MINUTE, BASE_MS)).toBeNull();
  });

  it("does not back off when no last failure was recorded (rows older than the backoff)", () => {
    expect(loginRefusal(failures(5, null), start, BASE_MS)).toBeNull();
  });
});

describe("throttleKey", () => {
  it("stores an email as one SHA-256 digest whatever its case or surrounding spaces", () => {
    expect(throttleKey(" Ada@Campus.TEST ")).toBe(throttleKey("ada@campus.test"));
    expect(throttleKey("ada@campus.test")).toMatch(/^[0-9a-f]{64}$/);
    expect(throttleKey("ada@campus.test")).not.toContain("ada");
  });

  it("keeps different emails apart", () => {
    expect(throttleKey("ada@campus.test")).not.toBe(throttleKey("bob@campus.test"));
  });
});

describe("the window", () => {
  it("is 15 minutes", () => {
    expect(LOGIN_WINDOW_MS).toBe(15 * 60 * 1000);
  });
});
