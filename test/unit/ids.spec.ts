import { lowerCaseIds } from "../../lib/ids";

const UPPER = "0A1B2C3D-4E5F-4A6B-8C7D-9E0F1A2B3C4D";
const LOWER = UPPER.toLowerCase();

describe("lowerCaseIds", () => {
  it("lower-cases uuid values of id, …Id and …Ids parameters", () => {
    expect(
      lowerCaseIds({ id: UPPER, studentId: UPPER, teacherIds: [UPPER, "x"], page: 2 }),
    ).toEqual({ id: LOWER, studentId: LOWER, teacherIds: [LOWER, "x"], page: 2 });
  });

  it("leaves other parameters and ids that are not uuids as they came", () => {
    expect(lowerCaseIds({ id: "NOT-A-UUID", email: "A@B.TEST", search: UPPER })).toEqual({
      id: "NOT-A-UUID",
      email: "A@B.TEST",
      search: UPPER,
    });
  });
});
