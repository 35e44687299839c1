import { Errors } from "moleculer";
import {
  DEFAULT_PAGE_SIZE,
  containsPattern,
  escapeLike,
  mapPage,
  pageRequest,
  parseSort,
  toPage,
  type SortOrder,
} from "../../lib/paging";

const ALLOWED = ["firstName", "lastName", "email", "createdAt"] as const;
const FALLBACK: SortOrder = [["lastName", "ASC"]];

function sortError(raw: string): Errors.ValidationError {
  try {
    parseSort(raw, ALLOWED, FALLBACK);
  } catch (err) {
    return err as Errors.ValidationError;
  }
  throw new Error(`parseSort("${raw}") did not throw`);
}

describe("pageRequest", () => {
  it("defaults to page 1 of 20 rows at offset 0 when nothing is given", () => {
    expect(pageRequest({})).toEqual({ page: 1, pageSize: DEFAULT_PAGE_SIZE, offset: 0 });
  });

  it("the default page size is 20", () => {
    expect(DEFAULT_PAGE_SIZE).toBe(20);
  });

  it("offsets page 3 of 25 rows by 50 rows", () => {
    expect(pageRequest({ page: 3, pageSize: 25 })).toEqual({ page: 3, pageSize: 25, offset: 50 });
  });

  it("uses the default page size when only the page is given", () => {
    expect(pageRequest({ page: 2 }).offset).toBe(DEFAULT_PAGE_SIZE);
  });
});

describe("toPage", () => {
  it("reports the rows, total, page, page size and the rounded-up number of pages", () => {
    const page = toPage(["a", "b"], 41, { page: 3, pageSize: 20, offset: 40 });

    expect(page).toEqual({ rows: ["a", "b"], total: 41, page: 3, pageSize: 20, totalPages: 3 });
  });

  it("an exact multiple of the page size does not add an empty page", () => {
    expect(toPage([], 40, { page: 1, pageSize: 20, offset: 0 }).totalPages).toBe(2);
  });

  it("an empty result has zero pages", () => {
    expect(toPage([], 0, { page: 1, pageSize: 20, offset: 0 }).totalPages).toBe(0);
  });
});

describe("mapPage", () => {
  it("turns each row and keeps the page's position and totals", () => {
    const page = toPage([{ n: 1 }, { n: 2 }], 22, { page: 2, pageSize: 20, offset: 20 });
    expect(mapPage(page, (row) => row.n * 10)).toEqual({
      rows: [10, 20],
      total: 22,
      page: 2,
      pageSize: 20,
      totalPages: 2,
    });
  });
});

describe("parseSort", () => {
  it("without a sort uses the fallback order followed by id", () => {
    expect(parseSort(undefined, ALLOWED, FALLBACK)).toEqual([
      ["lastName", "ASC"],
      ["id", "ASC"],
    ]);
  });

  it("a blank sort is treated like no sort", () => {
    expect(parseSort("   ", ALLOWED, FALLBACK)).toEqual([
      ["lastName", "ASC"],
      ["id", "ASC"],
    ]);
  });

  it("does not modify the fallback order it is given", () => {
    const fallback: SortOrder = [["lastName", "ASC"]];

    parseSort(undefined, ALLOWED, fallback);

    expect(fallback).toEqual([["lastName", "ASC"]]);
  });

  it("turns a leading minus into descending and keeps the order of the fields, ending with id", () => {
    expect(parseSort("-createdAt,lastName", ALLOWED, FALLBACK)).toEqual([
      ["createdAt", "DESC"],
      ["lastName", "ASC"],
      ["id", "ASC"],
    ]);
  });

  it("ignores spaces around the fields", () => {
    expect(parseSort(" email , -firstName ", ALLOWED, FALLBACK)).toEqual([
      ["email", "ASC"],
      ["firstName", "DESC"],
      ["id", "ASC"],
    ]);
  });

  it("keeps only the first mention of a repeated field", () => {
    expect(parseSort("email,-email", ALLOWED, FALLBACK)).toEqual([
      ["email", "ASC"],
      ["id", "ASC"],
    ]);
  });

  it("does not append id twice when id is whitelisted and requested", () => {
    expect(parseSort("-id", [...ALLOWED, "id"], FALLBACK)).toEqual([["id", "DESC"]]);
  });

  it("a field outside the whitelist is a 422 validation error", () => {
    const err = sortError("passwordHash");

    expect(err).toBeInstanceOf(Errors.ValidationError);
    expect(err.code).toBe(422);
  });

  it("the 422 for a field outside the whitelist names the sort parameter and the field", () => {
    const err = sortError("-passwordHash");

    expect(err.data).toEqual([
      expect.objectContaining({
        field: "sort",
        type: "sortField",
        message: expect.stringContaining('"passwordHash"'),
      }),
    ]);
  });

  it("rejects a non-whitelisted field even when it follows allowed ones", () => {
    expect(sortError("email,id").code).toBe(422);
  });

  it("rejects SQL smuggled into the sort parameter", () => {
    expect(sortError("email; DROP TABLE students").code).toBe(422);
  });

  it("rejects an empty field between commas", () => {
    expect(sortError("email,,lastName").code).toBe(422);
  });

  it("quotes at most 50 characters of a rejected field", () => {
    const longField = "x".repeat(500);

    const message = (sortError(longField).data as { message: string }[])[0].message;

    expect(message).toContain(`"${"x".repeat(50)}"`);
    expect(message).not.toContain("x".repeat(51));
  });
});

describe("escapeLike", () => {
  it("escapes % so it matches a literal percent sign", () => {
    expect(escapeLike("100%")).toBe("100\\%");
  });

  it("escapes _ so it matches a literal underscore", () => {
    expect(escapeLike("first_name")).toBe("first\\_name");
  });

  it("escapes the escape character itself", () => {
    expect(escapeLike("a\\b")).toBe("a\\\\b");
  });

  it("escapes every occurrence, not only the first", () => {
    expect(escapeLike("%_%_")).toBe("\\%\\_\\%\\_");
  });

  it("leaves ordinary text unchanged", () => {
    expect(escapeLike("Ada Lovelace")).toBe("Ada Lovelace");
  });
});

describe("containsPattern", () => {
  it("wraps the text in % for a substring match", () => {
    expect(containsPattern("ada")).toBe("%ada%");
  });

  it("escapes wildcards and backslashes in the searched text before wrapping it", () => {
    expect(containsPattern("50%_off\\")).toBe("%50\\%\\_off\\\\%");
  });
});
