import Validator from "fastest-validator";
import { Errors } from "moleculer";
import {
  assertPermitted,
  canActForStudent,
  identityParam,
  studentUpdateDenial,
  type Identity,
} from "../../lib/permissions";

const admin: Identity = { id: "user-admin", role: "admin", studentId: null };
const teacher: Identity = { id: "user-teacher", role: "teacher", studentId: null };
const student: Identity = { id: "user-ada", role: "student", studentId: "student-ada" };

function thrownBy(action: () => void): Errors.MoleculerError {
  try {
    action();
  } catch (err) {
    return err as Errors.MoleculerError;
  }
  throw new Error("expected the call to throw");
}

describe("assertPermitted", () => {
  it("without an identity throws 401 UNAUTHORIZED", () => {
    const err = thrownBy(() => assertPermitted(undefined, ["admin"]));

    expect({ code: err.code, type: err.type }).toEqual({ code: 401, type: "UNAUTHORIZED" });
  });

  it("with a role that is not listed throws 403 FORBIDDEN", () => {
    const err = thrownBy(() => assertPermitted(student, ["admin", "teacher"]));

    expect({ code: err.code, type: err.type }).toEqual({ code: 403, type: "FORBIDDEN" });
  });

  it("with a listed role lets the caller through", () => {
    expect(() => assertPermitted(teacher, ["admin", "teacher"])).not.toThrow();
  });

  it("with $anyone lets a caller without identity through", () => {
    expect(() => assertPermitted(undefined, ["$anyone"])).not.toThrow();
  });

  it("with $anyone lets any role through", () => {
    expect(() => assertPermitted(student, ["$anyone"])).not.toThrow();
  });

  it("with no permissions listed forbids even an admin", () => {
    expect(thrownBy(() => assertPermitted(admin, [])).code).toBe(403);
  });
});

describe("canActForStudent", () => {
  it("an admin may act for any student", () => {
    expect(canActForStudent(admin, "student-bob")).toBe(true);
  });

  it("a teacher may act for any student", () => {
    expect(canActForStudent(teacher, "student-bob")).toBe(true);
  });

  it("a student may act for themself", () => {
    expect(canActForStudent(student, "student-ada")).toBe(true);
  });

  it("a student may not act for another student", () => {
    expect(canActForStudent(student, "student-bob")).toBe(false);
  });

  it("a student account without a linked record may not act for any student", () => {
    const unlinked: Identity = { id: "user-x", role: "student", studentId: null };

    expect(canActForStudent(unlinked, "student-bob")).toBe(false);
  });
});

describe("studentUpdateDenial", () => {
  // The stored email is always lower-case (contract: "stored lower-case").
  const storedEmail = "ada@example.com";

  it("an admin may change any student's email", () => {
    expect(studentUpdateDenial(admin, "student-bob", storedEmail, "new@example.com")).toBeNull();
  });

  it("a student may change their own record when the email is not part of the change", () => {
    expect(studentUpdateDenial(student, "student-ada", storedEmail, undefined)).toBeNull();
  });

  it("a student cannot change their own email", () => {
    expect(studentUpdateDenial(student, "student-ada", storedEmail, "other@example.com")).toBe(
      "A student cannot change their email; ask an administrator",
    );
  });

  it("a student may resend their own email unchanged", () => {
    expect(studentUpdateDenial(student, "student-ada", storedEmail, storedEmail)).toBeNull();
  });

  it("a student may resend their own email in different letter case", () => {
    expect(studentUpdateDenial(student, "student-ada", storedEmail, "Ada@Example.COM")).toBeNull();
  });

  it("a student cannot change another student's record", () => {
    expect(studentUpdateDenial(student, "student-bob", "bob@example.com", undefined)).toBe(
      "You may only change your own record",
    );
  });

  it("a teacher cannot change a student record", () => {
    expect(studentUpdateDenial(teacher, "student-bob", "bob@example.com", undefined)).toBe(
      "You may only change your own record",
    );
  });
});

describe("identityParam (fastest-validator)", () => {
  const check = new Validator().compile({ user: identityParam });
  const id = "7f9c2b1e-4d3a-4c5b-9e8f-0a1b2c3d4e5f";

  it("accepts an identity, with or without a student id", () => {
    expect(check({ user: { id, role: "student", studentId: id } })).toBe(true);
    expect(check({ user: { id, role: "teacher", studentId: null } })).toBe(true);
    expect(check({ user: { id, role: "admin" } })).toBe(true);
  });

  it("refuses a missing identity, an id that is not a uuid and a missing role", () => {
    expect(check({})).not.toBe(true);
    expect(check({ user: { id: "user-1", role: "admin", studentId: null } })).not.toBe(true);
    expect(check({ user: { id, studentId: null } })).not.toBe(true);
    expect(check({ user: { id, role: "student", studentId: "student-1" } })).not.toBe(true);
  });
});
