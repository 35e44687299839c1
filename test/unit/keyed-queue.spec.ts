import { KeyedQueue } from "../../lib/keyed-queue";

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe("KeyedQueue", () => {
  it("runs the tasks of one key one after another, in order", async () => {
    const queue = new KeyedQueue();
    const order: string[] = [];
    const gate = deferred();

    const first = queue.run("s1", async () => {
      order.push("first starts");
      await gate.promise;
      order.push("first ends");
    });
    const second = queue.run("s1", async () => {
      order.push("second runs");
    });
    await Promise.resolve();
    order.push("gate opens");
    gate.resolve();
    await Promise.all([first, second]);

    expect(order).toEqual(["first starts", "gate opens", "first ends", "second runs"]);
  });

  it("lets different keys run at the same time", async () => {
    const queue = new KeyedQueue();
    const gate = deferred();
    const blocked = queue.run("s1", () => gate.promise);

    await expect(queue.run("s2", async () => "done")).resolves.toBe("done");
    gate.resolve();
    await blocked;
  });

  it("goes on after a failed task, and forgets keys once idle", async () => {
    const queue = new KeyedQueue();
    const failed = queue.run("s1", async () => {
      throw new Error("refused");
    });
    const next = queue.run("s1", async () => "next");

    await expect(failed).rejects.toThrow("refused");
    await expect(next).resolves.toBe("next");
    await new Promise((resolve) => setImmediate(resolve));
    expect(queue.size).toBe(0);
  });
});
