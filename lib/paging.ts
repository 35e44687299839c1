/**
 * Page, search and sort rules shared by every list endpoint (contract: "Pages").
 * Values arrive as query strings; the validator converts and bounds them, these functions turn
 * them into safe SQL fragments.
 */
import type { FindOptions, Model, ModelStatic } from "sequelize";
import { invalid } from "./errors";

export const MAX_PAGE_SIZE = 100;
export const DEFAULT_PAGE_SIZE = 20;
export const MAX_SEARCH_LENGTH = 100;

/** fastest-validator rules for `page` and `pageSize` (query strings converted to integers). */
export const pageParams = {
  page: { type: "number", integer: true, convert: true, min: 1, max: 1_000_000, optional: true },
  pageSize: {
    type: "number",
    integer: true,
    convert: true,
    min: 1,
    max: MAX_PAGE_SIZE,
    optional: true,
  },
} as const;

export const searchParams = {
  search: { type: "string", max: MAX_SEARCH_LENGTH, optional: true },
  sort: { type: "string", max: 200, optional: true },
} as const;

export interface PageRequest {
  page: number;
  pageSize: number;
  offset: number;
}

export interface Page<T> {
  rows: T[];
  total: number;
  page: number;
  pageSize: number;
  totalPages: number;
}

export function pageRequest(params: { page?: number; pageSize?: number }): PageRequest {
  const page = params.page ?? 1;
  const pageSize = params.pageSize ?? DEFAULT_PAGE_SIZE;
  return { page, pageSize, offset: (page - 1) * pageSize };
}

export function toPage<T>(rows: T[], total: number, request: PageRequest): Page<T> {
  return {
    rows,
    total,
    page: request.page,
    pageSize: request.pageSize,
    totalPages: Math.ceil(total / request.pageSize),
  };
}

/**
 * One page of a model's rows in `query`'s filter and order (the order should end with a unique
 * column so pages are stable), as plain objects keyed by the model's attributes.
 */
export async function findPage<Row>(
  model: ModelStatic<Model>,
  params: { page?: number; pageSize?: number },
  query: Pick<FindOptions, "where" | "order">,
): Promise<Page<Row>> {
  const request = pageRequest(params);
  const { rows, count } = await model.findAndCountAll({
    ...query,
    limit: request.pageSize,
    offset: request.offset,
  });
  return toPage(
    rows.map((row) => row.get({ plain: true }) as Row),
    count,
    request,
  );
}

/** The same page with each row turned into what the API answers. */
export function mapPage<T, U>(page: Page<T>, toItem: (row: T) => U): Page<U> {
  return { ...page, rows: page.rows.map(toItem) };
}

export type SortOrder = [string, "ASC" | "DESC"][];

/**
 * `"-createdAt,lastName"` → `[["createdAt","DESC"],["lastName","ASC"]]`. Only whitelisted
 * fields; anything else is a 422 naming the field. The default order always ends with `id` so
 * pages are stable.
 */
export function parseSort(
  raw: string | undefined,
  allowed: readonly string[],
  fallback: SortOrder,
): SortOrder {
  if (raw === undefined || raw.trim() === "") return [...fallback, ["id", "ASC"]];
  const order: SortOrder = [];
  for (const token of raw.split(",")) {
    const trimmed = token.trim();
    const descending = trimmed.startsWith("-");
    const field = descending ? trimmed.slice(1) : trimmed;
    if (!allowed.includes(field)) {
      throw invalid([
        {
          field: "sort",
          message: `cannot sort by "${field.slice(0, 50)}"; allowed: ${allowed.join(", ")}`,
          type: "sortField",
        },
      ]);
    }
    if (!order.some(([existing]) => existing === field)) {
      order.push([field, descending ? "DESC" : "ASC"]);
    }
  }
  if (!order.some(([field]) => field === "id")) order.push(["id", "ASC"]);
  return order;
}

/** Escapes LIKE wildcards so that `%` and `_` in a search match themselves. */
export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (char) => `\\${char}`);
}

/** The `ILIKE` pattern for a case-insensitive substring search. */
export function containsPattern(text: string): string {
  return `%${escapeLike(text)}%`;
}
