import jwt from "jsonwebtoken";
import {
  ADMIN,
  startCampus,
  registerStudent,
  uniqueEmail,
  errorBody,
  studentsMatching,
  STUDENT_PASSWORD,
  UUID,
  type Campus,
  type HttpResult,
} from "../helpers/campus";

let campus: Campus;
let admin: string;

/** The secret, issuer and audience startCampus configures; forged tokens use them. */
const SECRET = "integration-test-secret-that-is-long-enough";
const ISSUER = "campus";
const AUDIENCE = "campus-api";
/** registerStudent's default password. */
const PASSWORD = STUDENT_PASSWORD;

beforeAll(async () => {
  campus = await startCampus();
  admin = await campus.adminToken();
});
afterAll(() => campus.stop());

function register(body: Record<string, unknown>) {
  return campus.request("POST", "/api/auth/register", { body });
}

function login(email: string, password: string) {
  return campus.request("POST", "/api/auth/login", { body: { email, password } });
}

function me(token: string) {
  return campus.request("GET", "/api/auth/me", { token });
}

function registration(fields: Record<string, unknown> = {}) {
  return {
    email: uniqueEmail("auth"),
    password: PASSWORD,
    firstName: "Ada",
    lastName: "Lovelace",
    ...fields,
  };
}

/** Every key path in a JSON value that names a password, hash or salt. */
function secretKeys(value: unknown, path = "$"): string[] {
  if (Array.isArray(value)) return value.flatMap((item, i) => secretKeys(item, `${path}[${i}]`));
  if (value === null || typeof value !== "object") return [];
  return Object.entries(value).flatMap(([key, item]) => [
    ...(/pass|hash|salt/i.test(key) ? [`${path}.${key}`] : []),
    ...secretKeys(item, `${path}.${key}`),
  ]);
}

function expectNoSecrets(result: HttpResult, password: string) {
  expect(secretKeys(result.body)).toEqual([]);
  expect(result.text).not.toContain("scrypt");
  expect(result.text).not.toContain(password);
}

function base64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}

/**
 * A token with the claims Campus issues (sub, role, ver, iss, aud, iat, exp), signed with the test
 * secret; `overrides` changes or (with `undefined`) removes single claims.
 */
function forge(
  sub: string,
  overrides: Record<string, unknown> = {},
  secret = SECRET,
  algorithm: jwt.Algorithm = "HS256",
): string {
  const now = Math.floor(Date.now() / 1000);
  const claims: Record<string, unknown> = {
    sub,
    role: "student",
    ver: 0,
    iss: ISSUER,
    aud: AUDIENCE,
    iat: now,
    exp: now + 300,
    ...overrides,
  };
  for (const [key, value] of Object.entries(claims)) if (value === undefined) delete claims[key];
  return jwt.sign(claims, secret, { algorithm });
}

describe("POST /api/auth/register", () => {
  it("answers 201 with a Bearer token and a student account linked to a new student record", async () => {
    const fields = registration();

    const result = await register(fields);

    expect(result.status).toBe(201);
    expect(result.body).toEqual({
      accessToken: expect.any(String),
      tokenType: "Bearer",
      expiresIn: expect.any(Number),
      user: expect.objectContaining({
        id: expect.stringMatching(UUID),
        email: fields.email,
        role: "student",
        studentId: expect.stringMatching(UUID),
      }),
    });
    expect(result.body.expiresIn).toBeGreaterThan(0);
    const student = await campus.request("GET", `/api/students/${result.body.user.studentId}`, {
      token: admin,
    });
    expect(student.status).toBe(200);
    expect(student.body).toMatchObject({
      id: result.body.user.studentId,
      firstName: "Ada",
      lastName: "Lovelace",
      email: fields.email,
    });
    const self = await me(result.body.accessToken);
    expect(self.status).toBe(200);
    expect(self.body.id).toBe(result.body.user.id);
  });

  it("ignores a role of admin in the body and makes a student account", async () => {
    const result = await register(registration({ role: "admin" }));

    expect(result.status).toBe(201);
    expect(result.body.user.role).toBe("student");
    expect((await me(result.body.accessToken)).body.role).toBe("student");
    const users = await campus.request("GET", "/api/users", { token: result.body.accessToken });
    expect(users.status).toBe(403);
  });

  it.each([
    ["is 9 characters long", () => "abcdefgh9"],
    ["equals the email in another case", (email: string) => email.toUpperCase()],
    ["is a common password", () => "password123"],
  ])(
    "answers 422 on password and creates nothing when the password %s",
    async (_case, password) => {
      const fields = registration();

      const result = await register({ ...fields, password: password(fields.email) });

      expect(result.status).toBe(422);
      expect(result.body).toEqual({
        ...errorBody(422, "VALIDATION_ERROR"),
        data: expect.arrayContaining([expect.objectContaining({ field: "password" })]),
      });
      expect(await studentsMatching(campus, fields.email)).toBe(0);
      expect((await login(fields.email, password(fields.email))).status).toBe(401);
    },
  );

  it("answers 409 DUPLICATE_EMAIL for an email already registered, in any case, and creates no second student record", async () => {
    const first = registration();
    expect((await register(first)).status).toBe(201);

    const again = await register(registration({ email: first.email.toUpperCase() }));

    expect(again.status).toBe(409);
    expect(again.body).toEqual(errorBody(409, "DUPLICATE_EMAIL"));
    expect(await studentsMatching(campus, first.email)).toBe(1);
  });

  it.each([
    "not-an-email",
    "someone@",
    "@campus.test",
    "a b@campus.test",
    "",
    "two@@campus.test",
    "user@campus..test",
    "user@.campus.test",
    "<script>@x.y",
  ])("answers 422 on email for the malformed email %p", async (email) => {
    const result = await register(registration({ email }));

    expect(result.status).toBe(422);
    expect(result.body.data).toEqual(
      expect.arrayContaining([expect.objectContaining({ field: "email" })]),
    );
  });
});

describe("POST /api/auth/login", () => {
  it("answers 200 with a Bearer token carrying the contract's claims and the user", async () => {
    const student = await registerStudent(campus);

    const result = await login(student.email, PASSWORD);

    expect(result.status).toBe(200);
    expect(result.body).toEqual({
      accessToken: expect.any(String),
      tokenType: "Bearer",
      expiresIn: expect.any(Number),
      user: expect.objectContaining({
        id: student.userId,
        email: student.email,
        role: "student",
        studentId: student.studentId,
      }),
    });
    const decoded = jwt.decode(result.body.accessToken, { complete: true })!;
    const claims = decoded.payload as jwt.JwtPayload;
    expect(decoded.header.alg).toBe("HS256");
    expect(claims).toMatchObject({
      sub: student.userId,
      role: "student",
      iss: ISSUER,
      aud: AUDIENCE,
    });
    expect(claims.exp! - claims.iat!).toBe(result.body.expiresIn);
  });

  it("logs in with the email in another case", async () => {
    const student = await registerStudent(campus);

    const result = await login(student.email.toUpperCase(), PASSWORD);

    expect(result.status).toBe(200);
    expect(result.body.user.id).toBe(student.userId);
  });

  it("answers 401 with byte-identical bodies for an unknown email and for a wrong password", async () => {
    const student = await registerStudent(campus);

    const unknownEmail = await login(uniqueEmail("nobody"), PASSWORD);
    const wrongPassword = await login(student.email, "not-the-right-password");

    expect(unknownEmail.status).toBe(401);
    expect(wrongPassword.status).toBe(401);
    expect(unknownEmail.body).toEqual(errorBody(401, expect.any(String)));
    expect(wrongPassword.text).toBe(unknownEmail.text);
  });

  it("never locks an account when the slow-down is off: the right password after 10 wrong ones answers 200", async () => {
    const student = await registerStudent(campus);
    for (let attempt = 1; attempt <= 10; attempt += 1) {
      const wrong = await login(student.email, `wrong-password-${attempt}`);
      expect(wrong.status).toBe(401);
    }

    const right = await login(student.email, PASSWORD);

    expect(right.status).toBe(200);
  });
});

describe("GET /api/auth/me", () => {
  it("answers 200 with the caller's user for a student and for the admin", async () => {
    const student = await registerStudent(campus);

    const studentSelf = await me(student.token);
    const adminSelf = await me(admin);

    expect(studentSelf.status).toBe(200);
    expect(studentSelf.body).toEqual({
      id: student.userId,
      email: student.email,
      role: "student",
      studentId: student.studentId,
      disabled: false,
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });
    expect(adminSelf.status).toBe(200);
    expect(adminSelf.body).toMatchObject({ email: ADMIN.email, role: "admin", studentId: null });
  });

  it("never shows a password or hash in any user response", async () => {
    const fields = registration();
    const registered = await register(fields);
    const { id } = registered.body.user;

    const responses = [
      registered,
      await login(fields.email, PASSWORD),
      await me(registered.body.accessToken),
      await campus.request("GET", `/api/users/${id}`, { token: admin }),
      await campus.request("GET", `/api/users?search=${encodeURIComponent(fields.email)}`, {
        token: admin,
      }),
      await campus.request("PATCH", `/api/users/${id}`, {
        token: admin,
        body: { password: "another-good-password" },
      }),
    ];

    for (const response of responses) {
      expect(response.status).toBeLessThan(300);
      expectNoSecrets(response, PASSWORD);
      expectNoSecrets(response, "another-good-password");
    }
  });
});

describe("access tokens", () => {
  it("accepts a token forged with the right secret, issuer and audience (positive control)", async () => {
    const student = await registerStudent(campus);

    const result = await me(forge(student.userId));

    expect(result.status).toBe(200);
    expect(result.body.id).toBe(student.userId);
  });

  it("answers 401 without a token", async () => {
    const result = await campus.request("GET", "/api/auth/me");

    expect(result.status).toBe(401);
    expect(result.body).toEqual(errorBody(401, expect.any(String)));
  });

  it.each(["Bearer garbage", "Bearer", "Basic YWRtaW46YWRtaW4=", "garbage"])(
    "answers 401 to the Authorization header %p",
    async (authorization) => {
      const result = await campus.request("GET", "/api/auth/me", { headers: { authorization } });

      expect(result.status).toBe(401);
      expect(result.body).toEqual(errorBody(401, expect.any(String)));
    },
  );

  it("answers 401 to an alg none token", async () => {
    const student = await registerStudent(campus);
    const now = Math.floor(Date.now() / 1000);
    const unsigned = `${base64url({ alg: "none", typ: "JWT" })}.${base64url({
      sub: student.userId,
      role: "student",
      ver: 0,
      iss: ISSUER,
      aud: AUDIENCE,
      iat: now,
      exp: now + 300,
    })}.`;

    const result = await me(unsigned);

    expect(result.status).toBe(401);
  });

  it("answers 401 to a token signed with another secret", async () => {
    const student = await registerStudent(campus);

    const result = await me(forge(student.userId, {}, "another-secret-that-is-also-long-enough"));

    expect(result.status).toBe(401);
  });

  it("answers 401 to a token signed with the right secret but HS512 (HS256 is pinned)", async () => {
    const student = await registerStudent(campus);

    const result = await me(forge(student.userId, {}, SECRET, "HS512"));

    expect(result.status).toBe(401);
  });

  it("answers 401 to an expired token", async () => {
    const student = await registerStudent(campus);
    const now = Math.floor(Date.now() / 1000);

    const result = await me(forge(student.userId, { iat: now - 7200, exp: now - 3600 }));

    expect(result.status).toBe(401);
  });

  it("answers 401 to a token without an expiry", async () => {
    const student = await registerStudent(campus);

    const result = await me(forge(student.userId, { exp: undefined }));

    expect(result.status).toBe(401);
  });

  it("answers 401 to a token for another audience or from another issuer", async () => {
    const student = await registerStudent(campus);

    const wrongAudience = await me(forge(student.userId, { aud: "another-api" }));
    const wrongIssuer = await me(forge(student.userId, { iss: "someone-else" }));

    expect(wrongAudience.status).toBe(401);
    expect(wrongIssuer.status).toBe(401);
  });

  it("answers 401 to a real token whose payload was changed to role admin with the signature kept", async () => {
    const student = await registerStudent(campus);
    const [header, payload, signature] = student.token.split(".");
    const claims = JSON.parse(Buffer.from(payload, "base64url").toString());
    const tampered = `${header}.${base64url({ ...claims, role: "admin" })}.${signature}`;

    const self = await me(tampered);
    const users = await campus.request("GET", "/api/users", { token: tampered });

    expect(self.status).toBe(401);
    expect(users.status).toBe(401);
  });

  it("answers 401 to a well-signed token for an account that does not exist", async () => {
    const result = await me(forge("00000000-0000-4000-8000-000000000001"));

    expect(result.status).toBe(401);
  });

  it("stops accepting a user's existing token once an admin disables the account", async () => {
    const student = await registerStudent(campus);
    expect((await me(student.token)).status).toBe(200);

    const disabled = await campus.request("PATCH", `/api/users/${student.userId}`, {
      token: admin,
      body: { disabled: true },
    });

    expect(disabled.status).toBe(200);
    expect(disabled.body.disabled).toBe(true);
    expect((await me(student.token)).status).toBe(401);
    expect((await login(student.email, PASSWORD)).status).toBe(401);
  });

  it("revokes tokens issued before a password change and accepts the new password", async () => {
    const student = await registerStudent(campus);
    // The only wait in this file: `iat` has one-second resolution, so a token issued in the same
    // second as the password change cannot be told apart from one issued after it by an
    // iat-based revocation. Waiting past the second makes "issued before the change" unambiguous,
    // whatever mechanism the service uses to revoke.
    await new Promise((resolve) => setTimeout(resolve, 1100));

    const changed = await campus.request("PATCH", `/api/users/${student.userId}`, {
      token: admin,
      body: { password: "a-brand-new-password" },
    });

    expect(changed.status).toBe(200);
    expect((await me(student.token)).status).toBe(401);
    expect((await login(student.email, PASSWORD)).status).toBe(401);
    const fresh = await login(student.email, "a-brand-new-password");
    expect(fresh.status).toBe(200);
    expect((await me(fresh.body.accessToken)).status).toBe(200);
  });
});

describe("auth rate limit per address", () => {
  let limited: Campus;

  beforeAll(async () => {
    limited = await startCampus({ AUTH_RATE_LIMIT_PER_MINUTE: "3" });
  });
  afterAll(() => limited.stop());

  it("answers 429 with Retry-After to the 4th login from the same address within a minute", async () => {
    const attempts: HttpResult[] = [];
    for (let i = 0; i < 3; i += 1) {
      attempts.push(await limited.request("POST", "/api/auth/login", { body: ADMIN }));
    }

    const fourth = await limited.request("POST", "/api/auth/login", { body: ADMIN });

    expect(attempts.map((attempt) => attempt.status)).toEqual([200, 200, 200]);
    expect(fourth.status).toBe(429);
    expect(fourth.body).toEqual(errorBody(429, "TOO_MANY_REQUESTS"));
    const retryAfter = Number(fourth.headers.get("retry-after"));
    expect(Number.isInteger(retryAfter)).toBe(true);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
  });
});

describe("login slow-down per email", () => {
  // The default first delay (1 s), so Retry-After shows the doubling: 1, 2, 4 …
  let backoff: Campus;

  beforeAll(async () => {
    [backoff] = await Promise.all([
      // The loopback peer is a trusted proxy here, so X-Forwarded-For names the client address.
      startCampus({ LOGIN_BACKOFF_MS: "1000", TRUST_PROXY: "127.0.0.1" }),
    ]);
  });
  afterAll(() => backoff?.stop());

  function loginOn(target: Campus, email: string, password: string, from?: string) {
    const headers: Record<string, string> = from ? { "x-forwarded-for": from } : {};
    return target.request("POST", "/api/auth/login", { body: { email, password }, headers });
  }

  async function wrongLogins(target: Campus, email: string, count: number): Promise<number[]> {
    const statuses: number[] = [];
    for (let attempt = 1; attempt <= count; attempt += 1) {
      statuses.push((await loginOn(target, email, `wrong-password-${attempt}`)).status);
    }
    return statuses;
  }

  function retryAfter(result: HttpResult): number {
    return Number(result.headers.get("retry-after"));
  }

  function sleep(ms: number) {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }

  function loginsCounted(result: string): number {
    const snapshot = (backoff.broker.metrics.getMetric("campus_logins_total")?.snapshot() ??
      []) as { labels: Record<string, unknown>; value: number }[];
    return snapshot.find((item) => item.labels.result === result)?.value ?? 0;
  }

  it("answers 429 with Retry-After 1 to the right password right after the 3rd wrong one, and 200 once the second has passed", async () => {
    const student = await registerStudent(backoff);
    expect(await wrongLogins(backoff, student.email, 3)).toEqual([401, 401, 401]);

    const during = await loginOn(backoff, student.email, PASSWORD);
    await sleep(1000 * retryAfter(during));
    const after = await loginOn(backoff, student.email, PASSWORD);

    expect(during.status).toBe(429);
    expect(during.body).toEqual(errorBody(429, "TOO_MANY_REQUESTS"));
    expect(retryAfter(during)).toBe(1);
    expect(after.status).toBe(200);
  });

  it("doubles the delay with each further failure: Retry-After 1, then 2, then 4", async () => {
    const student = await registerStudent(backoff);
    const waits: number[] = [];
    expect(await wrongLogins(backoff, student.email, 3)).toEqual([401, 401, 401]);

    for (let failure = 4; failure <= 5; failure += 1) {
      const refused = await loginOn(backoff, student.email, "wrong-password-again");
      expect(refused.status).toBe(429);
      waits.push(retryAfter(refused));
      await sleep(1000 * retryAfter(refused));
      // The delay has passed: this wrong password is checked and counted.
      expect((await loginOn(backoff, student.email, "wrong-password-again")).status).toBe(401);
    }
    const last = await loginOn(backoff, student.email, PASSWORD);

    expect(last.status).toBe(429);
    expect([...waits, retryAfter(last)]).toEqual([1, 2, 4]);
  });

  it("starts over after a successful login: three free failures again", async () => {
    const student = await registerStudent(backoff);
    await wrongLogins(backoff, student.email, 3);
    await sleep(1000);
    expect((await loginOn(backoff, student.email, PASSWORD)).status).toBe(200);

    const again = await wrongLogins(backoff, student.email, 3);
    const fourth = await loginOn(backoff, student.email, PASSWORD);

    expect(again).toEqual([401, 401, 401]);
    expect(fourth.status).toBe(429);
    expect(retryAfter(fourth)).toBe(1);
  });

  it("refuses 5 concurrent attempts inside the delay without counting them as failures", async () => {
    const student = await registerStudent(backoff);
    await wrongLogins(backoff, student.email, 3);
    const before = { invalid: loginsCounted("invalid"), locked: loginsCounted("locked") };

    const burst = await Promise.all(
      Array.from({ length: 5 }, (_, i) => loginOn(backoff, student.email, `guess-number-${i}`)),
    );
    const counted = {
      invalid: loginsCounted("invalid") - before.invalid,
      locked: loginsCounted("locked") - before.locked,
    };
    await sleep(1000);
    // Had the refused guesses counted, 8 failures would ask for 32 s here.
    const after = await loginOn(backoff, student.email, PASSWORD);

    expect(burst.map((result) => result.status)).toEqual(Array(5).fill(429));
    expect(counted).toEqual({ invalid: 0, locked: 5 });
    expect(after.status).toBe(200);
  });

  it("counts 10 wrong passwords sent at once, and asks for at most 60 s (no 15-minute lock)", async () => {
    const student = await registerStudent(backoff);
    const wrong = await Promise.all(
      Array.from({ length: 10 }, (_, i) => loginOn(backoff, student.email, `wrong-password-${i}`)),
    );
    const right = await loginOn(backoff, student.email, PASSWORD);

    expect(wrong.map((result) => result.status)).toEqual(Array(10).fill(401));
    expect(right.status).toBe(429);
    expect(retryAfter(right)).toBe(60);
  });

  it("slows down an email without an account exactly like one with an account (no enumeration)", async () => {
    const student = await registerStudent(backoff);
    const nobody = uniqueEmail("nobody");

    // Each fourth attempt right after its third failure, inside the 1 s delay.
    const known = await wrongLogins(backoff, student.email, 3);
    const knownFourth = await loginOn(backoff, student.email, "wrong-password-4");
    const unknown = await wrongLogins(backoff, nobody, 3);
    const unknownFourth = await loginOn(backoff, nobody, "wrong-password-4");

    expect(known).toEqual([401, 401, 401]);
    expect(unknown).toEqual([401, 401, 401]);
    expect(knownFourth.status).toBe(429);
    expect(unknownFourth.status).toBe(429);
    expect(unknownFourth.text).toBe(knownFourth.text);
    expect(retryAfter(unknownFourth)).toBe(retryAfter(knownFourth));
  });

  it("does not delay the owner, from an address that logged in before, for a stranger's failures", async () => {
    const student = await registerStudent(backoff);
    const owner = "203.0.113.5";
    const stranger = "198.51.100.7";
    expect((await loginOn(backoff, student.email, PASSWORD, owner)).status).toBe(200);

    const strangerAttempts: number[] = [];
    for (let attempt = 1; attempt <= 6; attempt += 1) {
      const result = await loginOn(backoff, student.email, `guess-${attempt}`, stranger);
      strangerAttempts.push(result.status);
    }
    const ownerLogin = await loginOn(backoff, student.email, PASSWORD, owner);
    const newAddress = await loginOn(backoff, student.email, PASSWORD, "192.0.2.9");

    expect(strangerAttempts).toEqual([401, 401, 401, 429, 429, 429]);
    expect(ownerLogin.status).toBe(200);
    expect(newAddress.status).toBe(429);
  });

  it("still slows down an address that logged in before for its own failures", async () => {
    const student = await registerStudent(backoff);
    const owner = "203.0.113.6";
    expect((await loginOn(backoff, student.email, PASSWORD, owner)).status).toBe(200);
    for (let attempt = 1; attempt <= 3; attempt += 1) {
      await loginOn(backoff, student.email, `mistyped-${attempt}`, owner);
    }

    const next = await loginOn(backoff, student.email, PASSWORD, owner);

    expect(next.status).toBe(429);
  });
});
