import { errorLogLevel } from "../../services/api/http-observability";

describe("the level the gateway logs an error answer at", () => {
  it("logs a 503 (a service down, Retry-After given) at warn", () => {
    expect(errorLogLevel(503)).toBe("warn");
  });

  it("logs every other 5xx at error", () => {
    expect([500, 501, 502, 504, 599].map(errorLogLevel)).toEqual([
      "error",
      "error",
      "error",
      "error",
      "error",
    ]);
  });

  it("does not log 4xx answers (the access line records them)", () => {
    expect([400, 401, 403, 404, 409, 413, 422, 429, 499].map(errorLogLevel)).toEqual(
      Array(9).fill(null),
    );
  });
});
