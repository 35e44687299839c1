import fc from "fast-check";
import {
  categoryPercent,
  coursePercent,
  DEFAULT_SCALE,
  defaultPolicy,
  gradeFor,
  gradingProblems,
  itemPercent,
  standing,
  toPolicy,
  type GradebookItem,
} from "../../services/gradebook/gradebook";
import { neutraliseFormula } from "../../lib/csv";
import { gradebookCsv } from "../../services/gradebook/gradebook.service";

describe("itemPercent", () => {
  it("is the final points of the maximum, within 0..100", () => {
    expect(itemPercent(7.5, 10)).toBe(75);
    expect(itemPercent(12, 10)).toBe(100);
    expect(itemPercent(-1, 10)).toBe(0);
  });
});

describe("categoryPercent", () => {
  it("is the mean after dropping the lowest percents", () => {
    expect(categoryPercent([20, 90, 60], 1)).toBe(75);
  });

  it("keeps at least one item", () => {
    expect(categoryPercent([40, 80], 5)).toBe(80);
  });

  it("is null without a graded item", () => {
    expect(categoryPercent([], 1)).toBeNull();
  });

  it("never falls when one score rises (drop-lowest by percent; property)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 100, noNaN: true }), { minLength: 1, maxLength: 12 }),
        fc.nat(12),
        fc.nat(),
        fc.double({ min: 0, max: 100, noNaN: true }),
        (percents, drop, pick, raise) => {
          const index = pick % percents.length;
          const higher = [...percents];
          higher[index] = Math.min(100, higher[index] + raise);
          expect(categoryPercent(higher, drop)! + 1e-9).toBeGreaterThanOrEqual(
            categoryPercent(percents, drop)!,
          );
        },
      ),
    );
  });
});

describe("coursePercent", () => {
  it("renormalises the weights over the categories with a graded item", () => {
    expect(
      coursePercent([
        { weight: 40, percent: 90 },
        { weight: 60, percent: null },
      ]),
    ).toBe(90);
  });

  it("lets a category weighted 0 count for nothing, never zeroing the course", () => {
    expect(
      coursePercent([
        { weight: 50, percent: 80 },
        { weight: 0, percent: 0 },
      ]),
    ).toBe(80);
    expect(coursePercent([{ weight: 0, percent: 0 }])).toBeNull();
  });

  it("is null with nothing graded", () => {
    expect(coursePercent([])).toBeNull();
  });
});

describe("gradeFor", () => {
  it.each([
    [100, 5],
    [90, 5],
    [89.99, 4],
    [75, 4],
    [60, 3],
    [59.99, 2],
    [0, 2],
  ])("gives %d %% a %d on the default scale", (percent, grade) => {
    expect(gradeFor(percent, DEFAULT_SCALE)).toBe(grade);
  });

  it("has no grade without a percent", () => {
    expect(gradeFor(null, DEFAULT_SCALE)).toBeNull();
  });
});

describe("standing (property-based)", () => {
  const categories = ["homework", "exams", "labs"];
  const itemArb = fc.record({
    category: fc.constantFrom(...categories),
    maxPoints: fc.integer({ min: 1, max: 100 }),
    share: fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: undefined }),
  });
  const policyArb = fc.oneof(
    fc.constant(defaultPolicy("c")),
    fc
      .tuple(
        fc.integer({ min: 0, max: 100 }),
        fc.integer({ min: 0, max: 100 }),
        fc.integer({ min: 0, max: 100 }),
        fc.nat(3),
      )
      .map(([a, b, c, drop]) =>
        toPolicy("c", {
          categories: [
            { name: "homework", weight: a, dropLowest: drop },
            { name: "exams", weight: b },
            { name: "labs", weight: c, dropLowest: 1 },
          ],
        }),
      ),
  );

  function build(specs: { category: string; maxPoints: number; share?: number }[]) {
    const items: GradebookItem[] = specs.map((spec, index) => ({
      id: `item-${index}`,
      source: "assignment",
      title: `Item ${index}`,
      category: spec.category,
      maxPoints: spec.maxPoints,
    }));
    const points = new Map<string, number>();
    specs.forEach((spec, index) => {
      if (spec.share !== undefined) points.set(`item-${index}`, spec.share * spec.maxPoints);
    });
    return { items, points };
  }

  it("keeps the course percent within 0..100", () => {
    fc.assert(
      fc.property(fc.array(itemArb, { maxLength: 20 }), policyArb, (specs, policy) => {
        const { items, points } = build(specs);
        const { percent } = standing(items, points, policy);
        if (percent !== null) {
          expect(percent).toBeGreaterThanOrEqual(0);
          expect(percent).toBeLessThanOrEqual(100);
        }
      }),
    );
  });

  it("never lowers the percent or the grade when one graded score rises", () => {
    fc.assert(
      fc.property(
        fc.array(itemArb, { minLength: 1, maxLength: 20 }),
        policyArb,
        fc.nat(),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (specs, policy, pick, raise) => {
          const { items, points } = build(specs);
          const graded = [...points.keys()];
          fc.pre(graded.length > 0);
          const id = graded[pick % graded.length];
          const item = items.find((candidate) => candidate.id === id)!;
          const raised = new Map(points);
          raised.set(id, Math.min(item.maxPoints, points.get(id)! + raise * item.maxPoints));
          const before = standing(items, points, policy);
          const after = standing(items, raised, policy);
          if (before.percent === null) return;
          expect(after.percent!).toBeGreaterThanOrEqual(before.percent);
          expect(Number(after.grade)).toBeGreaterThanOrEqual(Number(before.grade));
        },
      ),
    );
  });
});

describe("gradingProblems", () => {
  it("accepts a sound policy", () => {
    expect(
      gradingProblems(
        { categories: [{ name: "homework", weight: 1 }], scale: [{ grade: "P", minPercent: 0 }] },
        ["Homework"],
      ),
    ).toEqual([]);
  });

  it("names duplicate categories, all-zero weights, a scale without 0 and a missing used category", () => {
    const problems = gradingProblems(
      {
        categories: [
          { name: "a", weight: 0 },
          { name: "A", weight: 0 },
        ],
        scale: [
          { grade: 1, minPercent: 50 },
          { grade: 2, minPercent: 50 },
        ],
      },
      ["labs"],
    );
    expect(problems.map((problem) => problem.type).sort()).toEqual(
      ["duplicateCategory", "missingCategory", "scale", "scale", "weights"].sort(),
    );
  });
});

describe("CSV export", () => {
  it("neutralises text a spreadsheet would run as a formula", () => {
    for (const lead of ["=", "+", "-", "@", "\t", "\r"]) {
      expect(neutraliseFormula(`${lead}1+1`)).toBe(`'${lead}1+1`);
    }
    expect(neutraliseFormula("Essay")).toBe("Essay");
  });

  it("writes a BOM, CRLF line ends and RFC 4180 quotes", () => {
    const csv = gradebookCsv({
      items: [
        {
          id: "i1",
          source: "assignment",
          title: 'Say "hi", then\nleave',
          category: "hw",
          maxPoints: 10,
        },
      ],
      rows: [{ studentId: "s1", scores: { i1: 7.5 }, percent: 75, grade: 4 }],
    });
    expect(csv).toBe(
      '\ufeffstudentId,"Say ""hi"", then\nleave (hw, /10)",percent,grade\r\ns1,7.5,75,4\r\n',
    );
  });
});
