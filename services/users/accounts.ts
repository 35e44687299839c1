/** Account rules shared by creating and changing an account. */
import type { FieldError } from "../../lib/errors";
import type { Role } from "../../lib/tokens";

/** A student account is linked to a student record; staff accounts are not. */
export function accountLinkProblems(
  role: Role,
  studentId: string | null | undefined,
): FieldError[] {
  if (role === "student" && !studentId) {
    return [{ field: "studentId", message: "is required for a student account", type: "required" }];
  }
  if (role !== "student" && studentId) {
    return [{ field: "studentId", message: "is only for student accounts", type: "forbidden" }];
  }
  return [];
}
