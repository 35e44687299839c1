/**
 * HTTP hardening over the real gateway: security headers on every answer, a budget per client
 * address that a forged X-Forwarded-For cannot refresh, RateLimit-* headers and the CORS allowlist.
 */
import { startCampus, type Campus } from "../helpers/campus";

let campus: Campus;

beforeAll(async () => {
  campus = await startCampus({
    RATE_LIMIT_PER_MINUTE: "5",
    CORS_ORIGINS: "https://app.school.example",
  });
});
afterAll(() => campus.stop());

it("sends the security headers on successes, errors and unknown routes alike", async () => {
  const responses = await Promise.all([
    campus.request("GET", "/health/live"),
    campus.request("GET", "/api/students"),
    campus.request("GET", "/no/such/route"),
  ]);

  for (const response of responses) {
    expect(response.headers.get("x-content-type-options")).toBe("nosniff");
    expect(response.headers.get("referrer-policy")).toBe("no-referrer");
    expect(response.headers.get("x-frame-options")).toBe("DENY");
    expect(response.headers.get("x-powered-by")).toBeNull();
  }
  expect(responses[1].headers.get("ratelimit-limit")).toBe("5");
  expect(responses[1].headers.get("ratelimit-remaining")).toBe("4");
});

it("answers 429 with Retry-After once the address's budget is spent, forged X-Forwarded-For or not", async () => {
  const statuses: number[] = [];
  let last;
  for (let i = 0; i < 7; i += 1) {
    last = await campus.request("GET", "/api/courses", {
      headers: { "x-forwarded-for": `198.51.100.${i}` },
    });
    statuses.push(last.status);
  }

  // 401 (no token) while within budget — the budget is charged before authentication, and the
  // earlier test spent part of it — then 429 to the end, whatever address each request claimed.
  const firstLimited = statuses.indexOf(429);
  expect(firstLimited).toBeGreaterThan(0);
  expect(firstLimited).toBeLessThanOrEqual(5);
  expect(statuses.slice(0, firstLimited).every((status) => status === 401)).toBe(true);
  expect(statuses.slice(firstLimited).every((status) => status === 429)).toBe(true);
  expect(Number(last!.headers.get("retry-after"))).toBeGreaterThan(0);
  expect(last!.body).toMatchObject({ code: 429, type: "TOO_MANY_REQUESTS" });
});

describe("CORS", () => {
  it("answers a preflight from an allowed origin", async () => {
    const preflight = await campus.request("OPTIONS", "/api/auth/login", {
      headers: {
        origin: "https://app.school.example",
        "access-control-request-method": "POST",
      },
    });

    expect(preflight.headers.get("access-control-allow-origin")).toBe("https://app.school.example");
  });

  it("gives no CORS permission to another origin", async () => {
    const preflight = await campus.request("OPTIONS", "/api/auth/login", {
      headers: { origin: "https://evil.example", "access-control-request-method": "POST" },
    });

    expect(preflight.headers.get("access-control-allow-origin")).toBeNull();
  });
});
