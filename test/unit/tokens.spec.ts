import { generateKeyPairSync } from "crypto";
import jwt from "jsonwebtoken";
import {
  bearerToken,
  identityFor,
  keyId,
  signAccessToken,
  verifyAccessToken,
  type TokenSettings,
} from "../../lib/tokens";

const settings: TokenSettings = {
  secret: "unit-test-secret-that-is-long-enough-for-hs256",
  issuer: "campus",
  audience: "campus-api",
  expiresInSeconds: 3600,
};

const nowSeconds = () => Math.floor(Date.now() / 1000);

/** A token with the claims Campus expects, signed with jsonwebtoken directly. */
function forge(
  payload: Record<string, unknown> = {},
  secret: string = settings.secret,
  options: jwt.SignOptions = {},
): string {
  return jwt.sign(
    {
      role: "teacher",
      ver: 0,
      sub: "user-1",
      iss: settings.issuer,
      aud: settings.audience,
      ...payload,
    },
    secret,
    { algorithm: "HS256", expiresIn: 600, ...options },
  );
}

function base64url(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}

describe("signAccessToken and verifyAccessToken", () => {
  it("a signed token verifies to its subject and role", () => {
    const token = signAccessToken({ sub: "user-1", role: "student", ver: 3 }, settings);

    expect(verifyAccessToken(token, settings)).toEqual({
      sub: "user-1",
      role: "student",
      ver: 3,
      iat: expect.any(Number),
    });
  });

  it("a token verified before still expires: remembered only until its exp (+5 s tolerance)", () => {
    jest.useFakeTimers({ now: new Date("2026-01-01T00:00:00Z") });
    try {
      const short = { ...settings, expiresInSeconds: 60 };
      const token = signAccessToken({ sub: "user-1", role: "student", ver: 0 }, short);
      expect(verifyAccessToken(token, short)?.sub).toBe("user-1");

      jest.setSystemTime(new Date("2026-01-01T00:01:04Z"));
      expect(verifyAccessToken(token, short)?.sub).toBe("user-1");
      jest.setSystemTime(new Date("2026-01-01T00:01:06Z"));
      expect(verifyAccessToken(token, short)).toBeNull();
    } finally {
      jest.useRealTimers();
    }
  });

  it("a token valid under some settings is not remembered for others", () => {
    const token = signAccessToken({ sub: "user-1", role: "student", ver: 0 }, settings);
    expect(verifyAccessToken(token, settings)).not.toBeNull();
    expect(verifyAccessToken(token, { ...settings, audience: "another-api" })).toBeNull();
  });

  it("a signed token is HS256 and carries exp, iat, iss, aud, sub and role", () => {
    const token = signAccessToken({ sub: "user-1", role: "admin", ver: 0 }, settings);

    const decoded = jwt.decode(token, { complete: true });

    expect(decoded).toEqual({
      header: { alg: "HS256", typ: "JWT", kid: keyId(settings.secret) },
      payload: {
        role: "admin",
        ver: 0,
        sub: "user-1",
        iss: "campus",
        aud: "campus-api",
        iat: expect.any(Number),
        exp: expect.any(Number),
      },
      signature: expect.any(String),
    });
  });

  it("a signed token expires expiresInSeconds after it was issued", () => {
    const token = signAccessToken({ sub: "user-1", role: "admin", ver: 0 }, settings);

    const payload = jwt.decode(token) as { iat: number; exp: number };

    expect(payload.exp - payload.iat).toBe(3600);
  });

  it("a token forged with the same secret and claims verifies (the forging helper is sound)", () => {
    expect(verifyAccessToken(forge(), settings)).toEqual({
      sub: "user-1",
      role: "teacher",
      ver: 0,
      iat: expect.any(Number),
    });
  });
});

describe("verifyAccessToken returns null", () => {
  it("for an unsigned alg:none token", () => {
    const token = `${base64url({ alg: "none", typ: "JWT" })}.${base64url({
      role: "admin",
      sub: "user-1",
      iss: settings.issuer,
      aud: settings.audience,
      iat: nowSeconds(),
      exp: nowSeconds() + 600,
    })}.`;

    expect(verifyAccessToken(token, settings)).toBeNull();
  });

  it("for an alg:none token that keeps a signature part", () => {
    const [, payload, signature] = forge({ role: "admin" }).split(".");
    const token = `${base64url({ alg: "none", typ: "JWT" })}.${payload}.${signature}`;

    expect(verifyAccessToken(token, settings)).toBeNull();
  });

  it("for a token signed with another secret", () => {
    expect(
      verifyAccessToken(forge({}, "another-secret-another-secret-another"), settings),
    ).toBeNull();
  });

  it("for an HS384 token signed with the right secret (the algorithm is pinned)", () => {
    const token = forge({}, settings.secret, { algorithm: "HS384" });

    expect(verifyAccessToken(token, settings)).toBeNull();
  });

  it("for an RS256 token", () => {
    const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const token = jwt.sign(
      { role: "admin", sub: "user-1", iss: settings.issuer, aud: settings.audience },
      privateKey,
      { algorithm: "RS256", expiresIn: 600 },
    );

    expect(verifyAccessToken(token, settings)).toBeNull();
  });

  it("for a token whose payload was changed after signing", () => {
    const [header, , signature] = forge({ role: "student" }).split(".");
    const payload = base64url({
      role: "admin",
      sub: "user-1",
      iss: settings.issuer,
      aud: settings.audience,
      iat: nowSeconds(),
      exp: nowSeconds() + 600,
    });

    expect(verifyAccessToken(`${header}.${payload}.${signature}`, settings)).toBeNull();
  });

  it("for an expired token", () => {
    const token = jwt.sign(
      {
        role: "teacher",
        sub: "user-1",
        iss: settings.issuer,
        aud: settings.audience,
        iat: nowSeconds() - 7200,
        exp: nowSeconds() - 3600,
      },
      settings.secret,
      { algorithm: "HS256" },
    );

    expect(verifyAccessToken(token, settings)).toBeNull();
  });

  it("for a token that expired a minute ago (beyond the 5-second clock tolerance)", () => {
    const token = forge({}, settings.secret, { expiresIn: -60 });

    expect(verifyAccessToken(token, settings)).toBeNull();
  });

  it("for a token of another audience", () => {
    expect(verifyAccessToken(forge({ aud: "another-api" }), settings)).toBeNull();
  });

  it("for a token of another issuer", () => {
    expect(verifyAccessToken(forge({ iss: "someone-else" }), settings)).toBeNull();
  });

  it("for a role that is not one of admin, teacher, student", () => {
    expect(verifyAccessToken(forge({ role: "superuser" }), settings)).toBeNull();
  });

  it("for a token without a role", () => {
    expect(verifyAccessToken(forge({ role: undefined }), settings)).toBeNull();
  });

  it("for a token without a subject", () => {
    expect(verifyAccessToken(forge({ sub: undefined }), settings)).toBeNull();
  });

  it("for a token without iat", () => {
    const token = forge({}, settings.secret, { noTimestamp: true });

    expect(verifyAccessToken(token, settings)).toBeNull();
  });

  it("for a malformed string", () => {
    expect(verifyAccessToken("not.a.jwt", settings)).toBeNull();
  });

  it("for an empty string", () => {
    expect(verifyAccessToken("", settings)).toBeNull();
  });

  it("for a correctly signed token without exp (the contract requires exp on every token)", () => {
    const token = jwt.sign(
      { role: "teacher", ver: 0, sub: "user-1", iss: settings.issuer, aud: settings.audience },
      settings.secret,
      { algorithm: "HS256" },
    );

    expect(verifyAccessToken(token, settings)).toBeNull();
  });

  it("for a token without a token version", () => {
    expect(verifyAccessToken(forge({ ver: undefined }), settings)).toBeNull();
  });
});

describe("bearerToken", () => {
  const token = signAccessToken({ sub: "user-1", role: "admin", ver: 0 }, settings);

  it("takes the token from 'Bearer <token>'", () => {
    expect(bearerToken(`Bearer ${token}`)).toBe(token);
  });

  it("accepts the scheme in any letter case", () => {
    expect(bearerToken(`bearer ${token}`)).toBe(token);
  });

  it("tolerates surrounding whitespace and several spaces after the scheme", () => {
    expect(bearerToken(`  Bearer   ${token}  `)).toBe(token);
  });

  it("returns null without a header", () => {
    expect(bearerToken(undefined)).toBeNull();
  });

  it("returns null for an empty header", () => {
    expect(bearerToken("")).toBeNull();
  });

  it("returns null for another scheme", () => {
    expect(bearerToken("Basic dXNlcjpwYXNz")).toBeNull();
  });

  it("returns null for the scheme without a token", () => {
    expect(bearerToken("Bearer ")).toBeNull();
  });

  it("returns null for a token without the scheme", () => {
    expect(bearerToken(token)).toBeNull();
  });

  it("returns null when two tokens are given", () => {
    expect(bearerToken(`Bearer ${token} ${token}`)).toBeNull();
  });

  it("returns null for characters a token never contains", () => {
    expect(bearerToken("Bearer abc<script>")).toBeNull();
  });
});

describe("secret rotation", () => {
  const rotated: TokenSettings = {
    ...settings,
    secret: "the-new-signing-secret-that-is-long-enough",
    previousSecrets: [settings.secret],
  };

  it("a token signed with a rotated-out secret still verifies while that secret is listed", () => {
    const oldToken = signAccessToken({ sub: "user-1", role: "admin", ver: 0 }, settings);

    expect(verifyAccessToken(oldToken, rotated)).toMatchObject({ sub: "user-1", role: "admin" });
  });

  it("a token signed with a secret that is no longer listed is refused", () => {
    const oldToken = signAccessToken({ sub: "user-1", role: "admin", ver: 0 }, settings);

    expect(verifyAccessToken(oldToken, { ...rotated, previousSecrets: [] })).toBeNull();
  });

  it("new tokens name the current secret's id, not the secret", () => {
    const token = signAccessToken({ sub: "user-1", role: "admin", ver: 0 }, rotated);

    const header = jwt.decode(token, { complete: true })?.header;

    expect(header?.kid).toBe(keyId(rotated.secret));
    expect(token).not.toContain(rotated.secret);
  });

  it("a token naming an unknown key id is refused", () => {
    const forged = jwt.sign({ role: "admin", ver: 0, sub: "u" }, settings.secret, {
      algorithm: "HS256",
      keyid: "0000000000000000",
      issuer: settings.issuer,
      audience: settings.audience,
      expiresIn: 60,
    });

    expect(verifyAccessToken(forged, settings)).toBeNull();
  });
});

describe("identityFor (a verified token against its account)", () => {
  const claims = { sub: "u1", role: "teacher" as const, ver: 3 };
  const account = {
    id: "u1",
    role: "teacher" as const,
    studentId: null,
    disabled: false,
    tokenVersion: 3,
  };

  it("is the account's identity while the account is enabled and the versions agree", () => {
    expect(identityFor(claims, account)).toEqual({ id: "u1", role: "teacher", studentId: null });
  });

  it("takes the role from the account, not from the token", () => {
    expect(identityFor(claims, { ...account, role: "admin" })?.role).toBe("admin");
  });

  it.each([
    ["the account is gone", null],
    ["the account is disabled", { ...account, disabled: true }],
    ["the password changed since (version moved on)", { ...account, tokenVersion: 4 }],
  ])("is null when %s", (_case, state) => {
    expect(identityFor(claims, state)).toBeNull();
  });
});
