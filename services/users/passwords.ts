/**
 * Password hashing with scrypt (Node's crypto, no native add-on) at OWASP's recommended
 * parameters N=2^15, r=8, p=3 (32 MiB, ~0.2 s here), and the password rules of the contract.
 */
import { randomBytes, scrypt, timingSafeEqual } from "crypto";
import type { FieldError } from "../../lib/errors";
import { WorkPool } from "./work-pool";

const KEY_LENGTH = 64;
const COST = { N: 2 ** 15, r: 8, p: 3, maxmem: 64 * 1024 * 1024 };

export const PASSWORD_MIN_LENGTH = 10;
export const PASSWORD_MAX_LENGTH = 128;

/** The most common passwords of at least 10 characters (public breach lists); refused outright. */
const COMMON_PASSWORDS = new Set([
  "1234567890",
  "12345678910",
  "0123456789",
  "1q2w3e4r5t",
  "qwertyuiop",
  "password12",
  "password123",
  "password1234",
  "iloveyou12",
  "1qaz2wsx3edc",
  "qwerty12345",
  "qwerty123456",
  "abcdefghij",
  "aaaaaaaaaa",
  "letmein123",
  "welcome123",
  "changeme123",
  "administrator",
]);

/**
 * Every scrypt of this process goes through one pool: 2 at a time (each takes 32 MiB and a libuv
 * thread; the other threads stay free for I/O) and 16 waiting; beyond that, 503 + Retry-After.
 */
export const HASHING_CONCURRENCY = 2;
export const HASHING_QUEUE = 16;
export const hashingPool = new WorkPool(HASHING_CONCURRENCY, HASHING_QUEUE);

function scryptAsync(
  password: string,
  salt: Buffer,
  n: number,
  r: number,
  p: number,
): Promise<Buffer> {
  return hashingPool.run(() => scryptNow(password, salt, n, r, p));
}

function scryptNow(
  password: string,
  salt: Buffer,
  n: number,
  r: number,
  p: number,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, KEY_LENGTH, { N: n, r, p, maxmem: COST.maxmem }, (err, key) =>
      err ? reject(err) : resolve(key),
    );
  });
}

/** `scrypt$N$r$p$salt$hash`, base64url parts: parameters travel with the hash so they can grow. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptAsync(password, salt, COST.N, COST.r, COST.p);
  return [
    "scrypt",
    COST.N,
    COST.r,
    COST.p,
    salt.toString("base64url"),
    key.toString("base64url"),
  ].join("$");
}

/** Stored parameters we accept: a damaged or hostile row must not make scrypt throw or hog memory. */
function plausibleCost(n: number, r: number, p: number): boolean {
  const powerOfTwo = Number.isInteger(n) && n >= 2 ** 10 && n <= 2 ** 17 && (n & (n - 1)) === 0;
  return (
    powerOfTwo &&
    Number.isInteger(r) &&
    r >= 1 &&
    r <= 16 &&
    Number.isInteger(p) &&
    p >= 1 &&
    p <= 16
  );
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split("$");
  if (scheme !== "scrypt" || !salt || !hash) return false;
  const cost = [Number(n), Number(r), Number(p)] as const;
  if (!plausibleCost(...cost)) return false;
  const expected = Buffer.from(hash, "base64url");
  // A busy pool (503) is not a wrong password: only scrypt's own failure (a damaged row) is.
  const actual = await hashingPool.run(() =>
    scryptNow(password, Buffer.from(salt, "base64url"), ...cost).catch(() => null),
  );
  return actual !== null && actual.length === expected.length && timingSafeEqual(actual, expected);
}

/**
 * A hash of a random password, verified against when the email is unknown so that a wrong email
 * costs the same time as a wrong password.
 */
let decoyHash: Promise<string> | null = null;
export function decoyPasswordHash(): Promise<string> {
  decoyHash ??= hashPassword(randomBytes(24).toString("base64url"));
  return decoyHash;
}

/** The password rules of the contract; empty when the password is acceptable. */
export function passwordProblems(password: string, email: string): FieldError[] {
  const problems: FieldError[] = [];
  if (password.length < PASSWORD_MIN_LENGTH) {
    problems.push({
      field: "password",
      message: `must be at least ${PASSWORD_MIN_LENGTH} characters`,
      type: "passwordTooShort",
    });
  } else if (password.length > PASSWORD_MAX_LENGTH) {
    problems.push({
      field: "password",
      message: `must be at most ${PASSWORD_MAX_LENGTH} characters`,
      type: "passwordTooLong",
    });
  }
  if (password.toLowerCase() === email.toLowerCase()) {
    problems.push({
      field: "password",
      message: "must not be the email address",
      type: "passwordIsEmail",
    });
  }
  if (COMMON_PASSWORDS.has(password.toLowerCase())) {
    problems.push({ field: "password", message: "is too common", type: "passwordTooCommon" });
  }
  return problems;
}
