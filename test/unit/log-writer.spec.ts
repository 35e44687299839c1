import { LineBatcher } from "../../lib/log-writer";

const nextTurn = () => new Promise((done) => setImmediate(done));

describe("LineBatcher", () => {
  it("writes the lines of one event-loop turn in one write, in order", async () => {
    const writes: string[] = [];
    const batcher = new LineBatcher((text) => writes.push(text));

    batcher.write("one");
    batcher.write("two");
    expect(writes).toEqual([]);
    await nextTurn();
    batcher.write("three");
    await nextTurn();

    expect(writes).toEqual(["one\ntwo\n", "three\n"]);
  });

  it("writes what is pending at once when flushed, and nothing twice", async () => {
    const writes: string[] = [];
    const batcher = new LineBatcher((text) => writes.push(text));

    batcher.write("pending");
    batcher.flush();
    await nextTurn();
    batcher.flush();

    expect(writes).toEqual(["pending\n"]);
  });
});
