import Validator from "fastest-validator";
import { lowerCaseIds, uuidListParam } from "../../lib/ids";

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

describe("uuidListParam (fastest-validator)", () => {
  const check = new Validator().compile({ ids: uuidListParam(2) });
  const a = "7f9c2b1e-4d3a-4c5b-9e8f-0a1b2c3d4e5f";
  const b = "0a1b2c3d-4e5f-4a6b-8c7d-9e8f7a6b5c4d";

  it("accepts up to max uuids, none included", () => {
    expect(check({ ids: [] })).toBe(true);
    expect(check({ ids: [a, b] })).toBe(true);
  });

  it("refuses more than max, a non-uuid item and a value that is not a list", () => {
    expect(check({ ids: [a, b, a] })).not.toBe(true);
    expect(check({ ids: [a, "student-1"] })).not.toBe(true);
    expect(check({ ids: a })).not.toBe(true);
    expect(check({})).not.toBe(true);
  });
});
