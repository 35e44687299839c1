/** The student record: its fields, input rules and public shape. */
export const STUDENT_SORT_FIELDS = [
  "firstName",
  "lastName",
  "email",
  "createdAt",
  "updatedAt",
] as const;

const name = { type: "string", trim: true, min: 1, max: 100 } as const;
// "precise": the quick mode accepts `a@@b.c` and `a@b..c`.
const email = { type: "email", mode: "precise", normalize: true, min: 3, max: 254 } as const;

/** Every editable field, required (POST, PUT). */
export const studentFields = { firstName: name, lastName: name, email } as const;

/** Only the fields to change (PATCH). */
export const studentPatchFields = {
  firstName: { ...name, optional: true },
  lastName: { ...name, optional: true },
  email: { ...email, optional: true },
} as const;

export interface Student {
  id: string;
  firstName: string;
  lastName: string;
  email: string;
  createdAt: string;
  updatedAt: string;
}

export interface StudentRow {
  id: string;
  firstName: string;
  lastName: string;
  email: string;
  createdAt: Date;
  updatedAt: Date;
}

export function toStudent(row: StudentRow): Student {
  return {
    id: row.id,
    firstName: row.firstName,
    lastName: row.lastName,
    email: row.email,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

/** The editable fields present in `input`, email lower-cased: nothing else is ever written. */
export function studentChanges(
  input: Partial<Record<keyof typeof studentFields, string>>,
): Partial<Pick<Student, "firstName" | "lastName" | "email">> {
  const changes: Partial<Pick<Student, "firstName" | "lastName" | "email">> = {};
  if (input.firstName !== undefined) changes.firstName = input.firstName;
  if (input.lastName !== undefined) changes.lastName = input.lastName;
  if (input.email !== undefined) changes.email = input.email.toLowerCase();
  return changes;
}
