import { studentChanges, toStudent, type StudentRow } from "../../services/students/students";

const row: StudentRow = {
  id: "2b1c5a3e-0000-4000-8000-000000000001",
  firstName: "Ada",
  lastName: "Lovelace",
  email: "ada@example.com",
  createdAt: new Date("2025-01-02T03:04:05.006Z"),
  updatedAt: new Date("2025-02-03T04:05:06.007Z"),
};

describe("toStudent", () => {
  it("exposes id, names and email with ISO timestamps", () => {
    expect(toStudent(row)).toEqual({
      id: "2b1c5a3e-0000-4000-8000-000000000001",
      firstName: "Ada",
      lastName: "Lovelace",
      email: "ada@example.com",
      createdAt: "2025-01-02T03:04:05.006Z",
      updatedAt: "2025-02-03T04:05:06.007Z",
    });
  });

  it("drops columns that are not part of the public shape", () => {
    const withExtra = { ...row, internalNote: "secret" } as StudentRow;

    expect(toStudent(withExtra)).not.toHaveProperty("internalNote");
  });
});

describe("studentChanges", () => {
  it("lower-cases the email", () => {
    expect(studentChanges({ email: "Ada.Lovelace@Example.COM" })).toEqual({
      email: "ada.lovelace@example.com",
    });
  });

  it("keeps the names exactly as given", () => {
    expect(studentChanges({ firstName: "ADA", lastName: "de Morgan" })).toEqual({
      firstName: "ADA",
      lastName: "de Morgan",
    });
  });

  it("passes only the fields present", () => {
    expect(studentChanges({ lastName: "King" })).toEqual({ lastName: "King" });
  });

  it("drops keys that are not editable fields", () => {
    const input = { firstName: "Ada", id: "other-id", createdAt: "2000-01-01" } as Record<
      string,
      string
    >;

    expect(studentChanges(input)).toEqual({ firstName: "Ada" });
  });
});
