/**
 * Who may do what. Role rules are declared on each action (`permissions: [...]`) and enforced by
 * one middleware; object-level rules ("that student") are the small functions below, called by
 * the actions that own the record.
 */
import type { Role } from "./tokens";
import { forbidden, unauthorized } from "./errors";

/** The caller of an action, resolved from the access token by the gateway. */
export interface Identity {
  id: string;
  role: Role;
  studentId: string | null;
}

/** An Identity passed as an action's param (`courses.access` is told whose access to judge). */
export const identityParam = {
  type: "object",
  props: {
    id: { type: "uuid" },
    role: { type: "string" },
    studentId: { type: "uuid", nullable: true, optional: true },
  },
} as const;

/** A role, or `$anyone` for endpoints open without a token (login, register). */
export type Permission = Role | "$anyone";

/** Throws 401 without an identity and 403 when the identity's role is not listed. */
export function assertPermitted(
  identity: Identity | undefined,
  permissions: readonly Permission[],
): void {
  if (permissions.includes("$anyone")) return;
  if (!identity) throw unauthorized();
  if (!permissions.includes(identity.role)) throw forbidden();
}

export function isStaff(identity: Identity): boolean {
  return identity.role === "admin" || identity.role === "teacher";
}

export function isThatStudent(identity: Identity, studentId: string): boolean {
  return identity.role === "student" && identity.studentId === studentId;
}

/** Read a student record, or act on their enrollments: staff, or the student themself. */
export function canActForStudent(identity: Identity, studentId: string): boolean {
  return isStaff(identity) || isThatStudent(identity, studentId);
}

/**
 * Change a student record: admins anything; the student their own record except the email
 * (a changed email would move the account's identity).
 */
export function studentUpdateDenial(
  identity: Identity,
  studentId: string,
  currentEmail: string,
  newEmail: string | undefined,
): string | null {
  if (identity.role === "admin") return null;
  if (!isThatStudent(identity, studentId)) return "You may only change your own record";
  if (newEmail !== undefined && newEmail.toLowerCase() !== currentEmail) {
    return "A student cannot change their email; ask an administrator";
  }
  return null;
}
