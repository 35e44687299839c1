import type { Context } from "moleculer";
import { created, noContent } from "../../lib/responses";
import type { CampusMeta } from "../../types/service";

function contextWithMeta(): Context<unknown, CampusMeta> {
  return { meta: {} } as Context<unknown, CampusMeta>;
}

describe("created", () => {
  it("answers 201 with the new record's address and returns the body unchanged", () => {
    const ctx = contextWithMeta();
    const body = { id: "c1" };
    expect(created(ctx, "/api/courses/c1", body)).toBe(body);
    expect(ctx.meta).toEqual({ $statusCode: 201, $location: "/api/courses/c1" });
  });
});

describe("noContent", () => {
  it("answers 204 with no body", () => {
    const ctx = contextWithMeta();
    expect(noContent(ctx)).toBeNull();
    expect(ctx.meta).toEqual({ $statusCode: 204 });
  });
});
