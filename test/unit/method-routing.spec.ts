import type { IncomingMessage } from "http";
import { allowedMethods, decideMethod, requestPath } from "../../services/api/method-routing";

/** A resolver over a fixed route list, matching `:param` segments like moleculer-web. */
function resolver(routes: string[]) {
  return {
    resolveAlias(url: string, method = "GET") {
      return routes.some((route) => {
        const [routeMethod, path] = route.split(" ");
        const pattern = new RegExp(`^${path.replace(/:[a-z]+/g, "[^/]+")}$`);
        return routeMethod === method && pattern.test(url);
      });
    },
  };
}

const gateway = resolver(["GET /api/items", "POST /api/items", "DELETE /api/items/:id"]);

function request(method: string, url: string, headers: Record<string, string> = {}) {
  return { method, url, headers } as unknown as IncomingMessage;
}

describe("method routing", () => {
  it("trims the query string and a trailing slash from the path", () => {
    expect(requestPath("/api/items/?page=2")).toBe("/api/items");
  });

  it("lists the methods a path serves, HEAD with GET and OPTIONS always", () => {
    expect(allowedMethods(gateway, "/api/items")).toEqual(["GET", "HEAD", "POST", "OPTIONS"]);
    expect(allowedMethods(gateway, "/api/items/1")).toEqual(["DELETE", "OPTIONS"]);
    expect(allowedMethods(gateway, "/api/unknown")).toEqual([]);
  });

  it("routes a served method and an unknown path as they are", () => {
    expect(decideMethod(gateway, request("POST", "/api/items"), false)).toEqual({ kind: "route" });
    expect(decideMethod(gateway, request("PUT", "/api/nothing"), false)).toEqual({
      kind: "route",
    });
  });

  it("refuses a method the known path does not serve, with Allow", () => {
    expect(decideMethod(gateway, request("PUT", "/api/items"), false)).toEqual({
      kind: "notAllowed",
      allow: "GET, HEAD, POST, OPTIONS",
    });
  });

  it("routes HEAD as GET", () => {
    const head = request("HEAD", "/api/items");
    expect(decideMethod(gateway, head, false)).toEqual({ kind: "route" });
    expect(head.method).toBe("GET");
  });

  it("answers OPTIONS itself, but leaves a CORS preflight to CORS when CORS is on", () => {
    expect(decideMethod(gateway, request("OPTIONS", "/api/items"), false)).toEqual({
      kind: "options",
      allow: "GET, HEAD, POST, OPTIONS",
    });
    const preflight = request("OPTIONS", "/api/items", { "access-control-request-method": "PUT" });
    expect(decideMethod(gateway, preflight, true)).toEqual({ kind: "route" });
  });
});
