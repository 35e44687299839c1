import { accountLinkProblems } from "../../services/users/accounts";

const STUDENT_ID = "6f1c2a52-8a7e-4c0b-9d7e-0f4f3b1f2a10";

describe("accountLinkProblems", () => {
  it("accepts a student account linked to a student record", () => {
    expect(accountLinkProblems("student", STUDENT_ID)).toEqual([]);
  });

  it("accepts staff accounts without a student record", () => {
    expect([accountLinkProblems("admin", null), accountLinkProblems("teacher", undefined)]).toEqual(
      [[], []],
    );
  });

  it("requires a student record for a student account", () => {
    expect(accountLinkProblems("student", null)).toEqual([
      { field: "studentId", message: "is required for a student account", type: "required" },
    ]);
  });

  it("refuses a student record on a teacher account", () => {
    expect(accountLinkProblems("teacher", STUDENT_ID)).toEqual([
      { field: "studentId", message: "is only for student accounts", type: "forbidden" },
    ]);
  });
});
