/**
 * Access tokens: HS256 only (pinned on both sides, so `alg: none` and RS/HS confusion fail),
 * with issuer, audience, subject, role and expiry.
 */
import { createHash, createSecretKey, type KeyObject } from "crypto";
import jwt from "jsonwebtoken";
import type { Identity } from "./permissions";

export type Role = "admin" | "teacher" | "student";
export const ROLES: readonly Role[] = ["admin", "teacher", "student"];

export interface TokenSettings {
  /** Signs new tokens. */
  secret: string;
  /** Rotated-out secrets, still verifying tokens they signed until those expire. */
  previousSecrets?: readonly string[];
  issuer: string;
  audience: string;
  expiresInSeconds: number;
}

export interface TokenClaims {
  sub: string;
  role: Role;
  /** The account's token version: bumped on password change or disable, revoking older tokens. */
  ver: number;
}

export function signAccessToken(claims: TokenClaims, settings: TokenSettings): string {
  return jwt.sign({ role: claims.role, ver: claims.ver }, settings.secret, {
    algorithm: "HS256",
    subject: claims.sub,
    issuer: settings.issuer,
    audience: settings.audience,
    expiresIn: settings.expiresInSeconds,
    keyid: keyId(settings.secret),
  });
}

/** The verified claims, or null for any token that is missing, malformed, forged or expired. */
const secretKeys = new Map<string, KeyObject>();
/**
 * The secret as a KeyObject, made once: given a string, jsonwebtoken first tries to parse it as a
 * public key on every verification (~0.3 ms each, the largest cost of a request in the bench).
 */
function secretKey(secret: string): KeyObject {
  let key = secretKeys.get(secret);
  if (!key) {
    key = createSecretKey(Buffer.from(secret));
    secretKeys.set(secret, key);
  }
  return key;
}

/** A public id of a secret (`kid` header): which key signed a token, without revealing it. */
export function keyId(secret: string): string {
  return createHash("sha256").update(secret).digest("hex").slice(0, 16);
}

/** The secret whose id the token names; tokens without `kid` only match the current secret. */
function verificationSecret(token: string, settings: TokenSettings): string | null {
  const kid = jwt.decode(token, { complete: true })?.header.kid;
  if (kid === undefined) return settings.secret;
  const secrets = [settings.secret, ...(settings.previousSecrets ?? [])];
  return secrets.find((secret) => keyId(secret) === kid) ?? null;
}

type VerifiedClaims = TokenClaims & { iat: number };

const CLOCK_TOLERANCE_SECONDS = 5;
const MAX_REMEMBERED_TOKENS = 10_000;
/**
 * Tokens found valid, per settings, with the time they stop being valid: a client sends the same
 * token on every request, and checking it again (decode, HMAC, claims) was a tenth of the
 * gateway's work per request. Only valid tokens are kept; revocation is the account's check.
 */
const rememberedTokens = new WeakMap<
  TokenSettings,
  Map<string, { claims: VerifiedClaims; validUntilMs: number }>
>();

export function verifyAccessToken(token: string, settings: TokenSettings): VerifiedClaims | null {
  let remembered = rememberedTokens.get(settings);
  if (!remembered) {
    remembered = new Map();
    rememberedTokens.set(settings, remembered);
  }
  const known = remembered.get(token);
  if (known && Date.now() < known.validUntilMs) return known.claims;
  if (known) remembered.delete(token);
  const verified = verifySignedToken(token, settings);
  if (!verified) return null;
  if (remembered.size >= MAX_REMEMBERED_TOKENS) remembered.clear();
  remembered.set(token, {
    claims: verified.claims,
    validUntilMs: (verified.exp + CLOCK_TOLERANCE_SECONDS) * 1000,
  });
  return verified.claims;
}

function verifySignedToken(
  token: string,
  settings: TokenSettings,
): { claims: VerifiedClaims; exp: number } | null {
  try {
    const secret = verificationSecret(token, settings);
    if (!secret) return null;
    const payload = jwt.verify(token, secretKey(secret), {
      algorithms: ["HS256"],
      issuer: settings.issuer,
      audience: settings.audience,
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
    });
    if (typeof payload === "string" || typeof payload.sub !== "string") return null;
    if (!ROLES.includes(payload.role as Role) || typeof payload.iat !== "number") return null;
    // A token without an expiry is never ours (we always set one): refuse it.
    if (typeof payload.exp !== "number") return null;
    if (!Number.isInteger(payload.ver)) return null;
    return {
      claims: {
        sub: payload.sub,
        role: payload.role as Role,
        ver: payload.ver as number,
        iat: payload.iat,
      },
      exp: payload.exp,
    };
  } catch {
    return null;
  }
}

/** What the gateway needs to know of an account on every request (`users.account`). */
export interface AccountState extends Identity {
  disabled: boolean;
  /** Bumped on a password change or when the account is disabled, revoking earlier tokens. */
  tokenVersion: number;
}

/**
 * The caller a verified token speaks for: null when its account is gone or disabled, or when the
 * token predates the account's current token version.
 */
export function identityFor(claims: TokenClaims, account: AccountState | null): Identity | null {
  if (!account || account.disabled || claims.ver !== account.tokenVersion) return null;
  return { id: account.id, role: account.role, studentId: account.studentId };
}

/** `Authorization: Bearer <token>` → the token, or null. */
export function bearerToken(header: string | undefined): string | null {
  if (!header) return null;
  const match = /^Bearer\s+([A-Za-z0-9._~+/=-]+)$/i.exec(header.trim());
  return match ? match[1] : null;
}
