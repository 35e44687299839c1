import fc from "fast-check";
import {
  assignmentChanges,
  categoryProblems,
  daysLate,
  finalPoints,
  gradeOf,
  lateness,
  maxPointsProblems,
  newAssignmentValues,
  parseInstant,
  penaltyPoints,
  pointsProblems,
  submissionClosedReason,
} from "../../services/assignments/assignments";

const DAY = 24 * 60 * 60 * 1000;
const due = new Date("2026-12-01T12:00:00Z");
const after = (ms: number) => new Date(due.getTime() + ms);

describe("parseInstant", () => {
  it.each([
    ["2026-12-01T12:00:00Z", "2026-12-01T12:00:00.000Z"],
    ["2026-12-01T13:30+01:30", "2026-12-01T12:00:00.000Z"],
    ["2026-12-01T07:00:00.250-05:00", "2026-12-01T12:00:00.250Z"],
  ])("reads %s as %s", (input, expected) => {
    expect(parseInstant(input)?.toISOString()).toBe(expected);
  });

  it.each([
    "2026-12-01",
    "2026-12-01T12:00:00",
    "2026-02-30T12:00:00Z",
    "2026-12-01T24:00:00Z",
    "2026-12-01T12:60:00Z",
    "01/12/2026 12:00",
    "tomorrow",
    "",
  ])("refuses %s", (input) => {
    expect(parseInstant(input)).toBeNull();
  });
});

describe("daysLate", () => {
  it.each([
    [-DAY, 0],
    [0, 0],
    [1000, 1],
    [DAY, 1],
    [DAY + 1, 2],
    [2.5 * DAY, 3],
  ])("%d ms after the due time is %d day(s) late", (ms, days) => {
    expect(daysLate(after(ms), due)).toBe(days);
  });

  it("never decreases as time goes on (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: -10 * DAY, max: 40 * DAY }), fc.nat(5 * DAY), (a, step) => {
        expect(daysLate(after(a + step), due)).toBeGreaterThanOrEqual(daysLate(after(a), due));
      }),
    );
  });
});

describe("penalty and final points", () => {
  it("takes days late × percent per day of maxPoints, rounded to hundredths", () => {
    expect(penaltyPoints(3, 10, 7)).toBe(2.1);
    expect(finalPoints(6, penaltyPoints(2, 10, 7))).toBe(4.6);
  });

  it("never takes more than maxPoints and never gives less than 0", () => {
    expect(penaltyPoints(30, 100, 10)).toBe(10);
    expect(finalPoints(3, 10)).toBe(0);
  });

  it("keeps final points within 0..points, falling as lateness grows (property)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1000 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.integer({ min: 0, max: 30 }),
        fc.double({ min: 0, max: 100, noNaN: true }),
        (max, share, days, percent) => {
          const points = Math.round(max * share * 100) / 100;
          const later = gradeOf(
            points,
            { daysLate: days + 1 },
            {
              maxPoints: max,
              latePenaltyPercentPerDay: percent,
            },
          );
          const now = gradeOf(
            points,
            { daysLate: days },
            {
              maxPoints: max,
              latePenaltyPercentPerDay: percent,
            },
          );
          expect(now.finalPoints).toBeGreaterThanOrEqual(0);
          expect(now.finalPoints).toBeLessThanOrEqual(points);
          expect(later.finalPoints).toBeLessThanOrEqual(now.finalPoints);
        },
      ),
    );
  });
});

describe("submissionClosedReason", () => {
  const policy = { dueAt: due, lateDaysAllowed: 2 };

  it("is open before the due time and within the late days", () => {
    expect(submissionClosedReason(after(-DAY), policy, null)).toBeNull();
    expect(submissionClosedReason(after(2 * DAY), policy, { state: "turned_in" })).toBeNull();
  });

  it("closes after the late window", () => {
    expect(submissionClosedReason(after(2 * DAY + 1), policy, null)).toMatch(/late window/);
  });

  it("closes without late days as soon as the work is due", () => {
    expect(submissionClosedReason(after(1), { dueAt: due, lateDaysAllowed: 0 }, null)).toMatch(
      /no late submissions/,
    );
  });

  it("closes once graded, even before the due time", () => {
    expect(submissionClosedReason(after(-DAY), policy, { state: "graded" })).toMatch(/graded/);
  });
});

describe("lateness", () => {
  it("marks on-time work not late", () => {
    expect(lateness(after(0), due)).toEqual({ late: false, daysLate: 0 });
    expect(lateness(after(1), due)).toEqual({ late: true, daysLate: 1 });
  });
});

describe("input rules", () => {
  it("fills a new assignment's defaults", () => {
    expect(
      newAssignmentValues({ title: "Essay", dueAt: "2026-12-01T12:00:00Z", maxPoints: 10 }),
    ).toEqual({
      values: {
        title: "Essay",
        description: "",
        dueAt: due,
        maxPoints: 10,
        category: "assignments",
        published: false,
        latePenaltyPercentPerDay: 0,
        lateDaysAllowed: 0,
      },
    });
  });

  it("names dueAt when it cannot be read", () => {
    expect(assignmentChanges({ dueAt: "soon" })).toEqual({
      problems: [expect.objectContaining({ field: "dueAt" })],
    });
  });

  it("keeps only the editable fields of a PATCH", () => {
    expect(
      assignmentChanges({ title: "T", id: "x", courseId: "y" } as Record<string, unknown>),
    ).toEqual({ values: { title: "T" } });
  });

  it("refuses points over maxPoints and a maxPoints below points given", () => {
    expect(pointsProblems(10.5, 10)).toEqual([expect.objectContaining({ field: "points" })]);
    expect(pointsProblems(10, 10)).toEqual([]);
    expect(maxPointsProblems(8, 9)).toEqual([expect.objectContaining({ field: "maxPoints" })]);
    expect(maxPointsProblems(9, 9)).toEqual([]);
  });

  it("checks the category against the policy only when there is one, ignoring case", () => {
    expect(categoryProblems("anything", null)).toEqual([]);
    expect(categoryProblems("Homework", ["homework", "exams"])).toEqual([]);
    expect(categoryProblems("labs", ["homework"])).toEqual([
      expect.objectContaining({ field: "category" }),
    ]);
  });
});
