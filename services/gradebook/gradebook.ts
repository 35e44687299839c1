/**
 * Gradebook arithmetic, as pure functions: an item's percent, a category's percent after dropping
 * its lowest items, the course percent over weighted categories (renormalised over the
 * categories with a graded item), the grade from a scale; the grading policy's input rules; and
 * the CSV export's cell guard.
 */
import type { FieldError } from "../../lib/errors";

export interface Category {
  name: string;
  /** Relative weight (percent by convention; renormalised over the categories that count). */
  weight: number;
  /** How many of the category's lowest item percents are left out (at least one item stays). */
  dropLowest: number;
}

export interface ScaleStep {
  grade: string | number;
  /** The lowest course percent that earns this grade. */
  minPercent: number;
}

export interface GradingPolicy {
  courseId: string;
  categories: Category[];
  scale: ScaleStep[];
  /** false: no policy was set, every category weighs the same and nothing is dropped. */
  custom: boolean;
}

/** 5 at ≥ 90 %, 4 at ≥ 75 %, 3 at ≥ 60 %, 2 below. */
export const DEFAULT_SCALE: ScaleStep[] = [
  { grade: 5, minPercent: 90 },
  { grade: 4, minPercent: 75 },
  { grade: 3, minPercent: 60 },
  { grade: 2, minPercent: 0 },
];

export const MAX_CATEGORIES = 20;
export const MAX_DROP_LOWEST = 20;

export const gradingFields = {
  categories: {
    type: "array",
    min: 1,
    max: MAX_CATEGORIES,
    items: {
      type: "object",
      strict: "remove",
      props: {
        name: { type: "string", trim: true, min: 1, max: 50 },
        weight: { type: "number", min: 0, max: 100 },
        dropLowest: {
          type: "number",
          integer: true,
          min: 0,
          max: MAX_DROP_LOWEST,
          optional: true,
        },
      },
    },
  },
  scale: {
    type: "array",
    min: 1,
    max: 20,
    optional: true,
    items: {
      type: "object",
      strict: "remove",
      props: {
        grade: [
          { type: "string", trim: true, min: 1, max: 16 },
          { type: "number", min: -1000, max: 1000 },
        ],
        minPercent: { type: "number", min: 0, max: 100 },
      },
    },
  },
} as const;

/** An item's percent: its final points of its maximum, within 0..100. */
export function itemPercent(points: number, maxPoints: number): number {
  if (!(maxPoints > 0)) return 0;
  return Math.min(100, Math.max(0, (points / maxPoints) * 100));
}

/**
 * The mean of a category's item percents after leaving out its `dropLowest` lowest (by percent,
 * never by points: so a higher score can never lower the result), keeping at least one item.
 * null when the category has no graded item.
 */
export function categoryPercent(percents: readonly number[], dropLowest: number): number | null {
  if (percents.length === 0) return null;
  const kept = [...percents]
    .sort((a, b) => a - b)
    .slice(Math.min(Math.max(0, Math.floor(dropLowest)), percents.length - 1));
  return kept.reduce((sum, value) => sum + value, 0) / kept.length;
}

/**
 * The weighted mean of the categories that have a graded item, weights renormalised over them.
 * A category weighted 0 counts for nothing (it never zeroes the course); when no weighted
 * category has a graded item the course has no percent yet (null).
 */
export function coursePercent(
  categories: readonly { weight: number; percent: number | null }[],
): number | null {
  let weightSum = 0;
  let total = 0;
  for (const category of categories) {
    if (category.percent === null || !(category.weight > 0)) continue;
    weightSum += category.weight;
    total += category.weight * category.percent;
  }
  if (weightSum === 0) return null;
  return Math.min(100, Math.max(0, total / weightSum));
}

/** The grade of the first step (highest threshold first) whose threshold the percent reaches. */
export function gradeFor(
  percent: number | null,
  scale: readonly ScaleStep[],
): string | number | null {
  if (percent === null) return null;
  const steps = [...scale].sort((a, b) => b.minPercent - a.minPercent);
  return steps.find((step) => percent >= step.minPercent)?.grade ?? steps[steps.length - 1].grade;
}

/** Two decimals, as the API shows percents. */
export function roundPercent(value: number): number {
  return Math.round((value + Number.EPSILON) * 100) / 100;
}

export interface GradebookItem {
  id: string;
  source: string;
  title: string;
  category: string;
  maxPoints: number;
}

export interface StudentStanding {
  percent: number | null;
  grade: string | number | null;
}

/**
 * One student's course percent and grade from their final points per item (absent: not graded).
 * Without a policy every category found among the items weighs the same.
 */
export function standing(
  items: readonly GradebookItem[],
  points: ReadonlyMap<string, number>,
  policy: Pick<GradingPolicy, "categories" | "scale" | "custom">,
): StudentStanding {
  const byCategory = new Map<string, number[]>();
  for (const item of items) {
    const given = points.get(item.id);
    if (given === undefined) continue;
    const key = item.category.toLowerCase();
    const list = byCategory.get(key) ?? [];
    list.push(itemPercent(given, item.maxPoints));
    byCategory.set(key, list);
  }
  const categories = policy.custom
    ? policy.categories.map((category) => ({
        weight: category.weight,
        percent: categoryPercent(
          byCategory.get(category.name.toLowerCase()) ?? [],
          category.dropLowest,
        ),
      }))
    : [...byCategory.values()].map((percents) => ({
        weight: 1,
        percent: categoryPercent(percents, 0),
      }));
  const percent = coursePercent(categories);
  const shown = percent === null ? null : roundPercent(percent);
  return { percent: shown, grade: gradeFor(shown, policy.scale) };
}

/** The policy a course has before anyone sets one. */
export function defaultPolicy(courseId: string): GradingPolicy {
  return { courseId, categories: [], scale: DEFAULT_SCALE, custom: false };
}

export interface GradingInput {
  categories: { name: string; weight: number; dropLowest?: number }[];
  scale?: ScaleStep[];
}

/**
 * A policy's own rules: category names unique (case-insensitively), some weight above 0, a scale
 * with distinct thresholds that starts at 0 % (so every percent has a grade), and every category
 * the course's items already use named (an unknown category would silently not count).
 */
export function gradingProblems(
  input: GradingInput,
  usedCategories: readonly string[],
): FieldError[] {
  const problems: FieldError[] = [];
  const seen = new Set<string>();
  input.categories.forEach((category, index) => {
    const key = category.name.toLowerCase();
    if (seen.has(key)) {
      problems.push({
        field: `categories[${index}].name`,
        message: "is named twice",
        type: "duplicateCategory",
      });
    }
    seen.add(key);
  });
  if (!input.categories.some((category) => category.weight > 0)) {
    problems.push({
      field: "categories",
      message: "at least one category must weigh more than 0",
      type: "weights",
    });
  }
  for (const used of usedCategories) {
    if (!seen.has(used.toLowerCase())) {
      problems.push({
        field: "categories",
        message: `must name "${used}", a category the course's items use`,
        type: "missingCategory",
      });
    }
  }
  if (input.scale) {
    const thresholds = input.scale.map((step) => step.minPercent);
    if (new Set(thresholds).size !== thresholds.length) {
      problems.push({ field: "scale", message: "has a threshold twice", type: "scale" });
    }
    if (!thresholds.includes(0)) {
      problems.push({
        field: "scale",
        message: "must have a step at minPercent 0, so every percent has a grade",
        type: "scale",
      });
    }
  }
  return problems;
}

/** The policy as stored and shown: categories in the order given, the scale highest first. */
export function toPolicy(courseId: string, input: GradingInput): GradingPolicy {
  return {
    courseId,
    categories: input.categories.map((category) => ({
      name: category.name,
      weight: category.weight,
      dropLowest: category.dropLowest ?? 0,
    })),
    scale: [...(input.scale ?? DEFAULT_SCALE)].sort((a, b) => b.minPercent - a.minPercent),
    custom: true,
  };
}
