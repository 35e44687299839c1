import { LOGIN_FAILURE_LIMIT, LOGIN_WINDOW_MS, loginLockout } from "../../lib/login-throttle";

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
