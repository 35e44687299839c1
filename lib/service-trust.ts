/**
 * Zero trust between nodes: anything on the NATS bus can send a request, so an action does not
 * believe a caller because of where the request came from. Two signatures, keyed from the JWT
 * secret every Campus node holds (and no other NATS client):
 * - a service call signature: a Campus service made this call to this action, recently;
 * - an identity signature: the gateway resolved this user from a valid token.
 * A REPL or foreign node can still read what is published, but cannot call internal actions or
 * act as a user without the secret.
 */
import { createHmac, timingSafeEqual } from "crypto";
import type { Identity } from "./permissions";

/** How long a service call signature is accepted (clock skew between nodes included). */
export const SERVICE_CALL_MAX_AGE_MS = 60 * 1000;

export interface TrustKeys {
  /** Signs. */
  current: Buffer;
  /** Verify too (keys of rotated-out JWT secrets, during a rolling restart). */
  all: Buffer[];
}

export function trustKeys(secret: string, previousSecrets: readonly string[] = []): TrustKeys {
  const derive = (s: string) => createHmac("sha256", s).update("campus:service-trust:v1").digest();
  const current = derive(secret);
  return { current, all: [current, ...previousSecrets.map(derive)] };
}

function mac(key: Buffer, text: string): string {
  return createHmac("sha256", key).update(text).digest("base64url");
}

function matches(keys: Buffer[], text: string, signature: string): boolean {
  const given = Buffer.from(signature);
  return keys.some((key) => {
    const expected = Buffer.from(mac(key, text));
    return expected.length === given.length && timingSafeEqual(expected, given);
  });
}

/** `<issuedAt>.<mac>` over the action name and the time. */
export function signServiceCall(keys: TrustKeys, action: string, now = Date.now()): string {
  return `${now}.${mac(keys.current, `call|${action}|${now}`)}`;
}

export function verifyServiceCall(
  keys: TrustKeys,
  action: string,
  signature: unknown,
  now = Date.now(),
): boolean {
  if (typeof signature !== "string") return false;
  const [issued, value] = signature.split(".");
  const issuedAt = Number(issued);
  if (!Number.isInteger(issuedAt) || !value) return false;
  if (Math.abs(now - issuedAt) > SERVICE_CALL_MAX_AGE_MS) return false;
  return matches(keys.all, `call|${action}|${issuedAt}`, value);
}

const identityText = (identity: Identity) =>
  `user|${identity.id}|${identity.role}|${identity.studentId ?? ""}`;

/** The same user, role and student: a copy of an identity (e.g. from a merged answer) counts. */
export function sameIdentity(a: Identity, b: Identity): boolean {
  return identityText(a) === identityText(b);
}

export function signIdentity(keys: TrustKeys, identity: Identity): string {
  return mac(keys.current, identityText(identity));
}

export function verifyIdentity(keys: TrustKeys, identity: Identity, signature: unknown): boolean {
  return typeof signature === "string" && matches(keys.all, identityText(identity), signature);
}
