import { MAX_BATCH, rowLoader, type Row } from "../../lib/row-loader";

function recordingSelect(table: Row[]) {
  const calls: string[][] = [];
  const select = async (ids: string[]) => {
    calls.push(ids);
    return table.filter((row) => ids.includes(String(row.id)));
  };
  return { calls, select };
}

describe("rowLoader", () => {
  const table = [
    { id: "a", name: "A" },
    { id: "b", name: "B" },
  ];

  it("answers reads asked in the same turn with one select, each with its own row", async () => {
    const { calls, select } = recordingSelect(table);
    const loader = rowLoader(select);
    const rows = await Promise.all([loader.load("b"), loader.load("a"), loader.load("zz")]);
    expect(rows).toEqual([{ id: "b", name: "B" }, { id: "a", name: "A" }, null]);
    expect(calls).toEqual([["b", "a", "zz"]]);
  });

  it("keeps nothing between turns: a later read selects again and sees a changed row", async () => {
    const rows: Row[] = [{ id: "a", name: "A" }];
    const { calls, select } = recordingSelect(rows);
    const loader = rowLoader(select);
    expect(await loader.load("a")).toEqual({ id: "a", name: "A" });
    rows[0] = { id: "a", name: "A2" };
    expect(await loader.load("a")).toEqual({ id: "a", name: "A2" });
    expect(calls).toEqual([["a"], ["a"]]);
  });

  it("splits a large turn into statements of at most MAX_BATCH ids", async () => {
    const ids = Array.from({ length: MAX_BATCH * 2 + 1 }, (_, i) => `id${i}`);
    const { calls, select } = recordingSelect(ids.map((id) => ({ id })));
    const loader = rowLoader(select);
    const rows = await Promise.all(ids.map((id) => loader.load(id)));
    expect(rows.map((row) => row?.id)).toEqual(ids);
    expect(calls.map((call) => call.length)).toEqual([MAX_BATCH, MAX_BATCH, 1]);
  });

  it("fails every read of a batch whose select failed, and the next batch runs", async () => {
    let fail = true;
    const loader = rowLoader(async (ids) => {
      if (fail) throw new Error("connection reset");
      return ids.map((id) => ({ id }));
    });
    const results = await Promise.allSettled([loader.load("a"), loader.load("b")]);
    expect(results.map((result) => result.status)).toEqual(["rejected", "rejected"]);
    fail = false;
    expect(await loader.load("a")).toEqual({ id: "a" });
  });
});
