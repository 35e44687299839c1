import { restAliases } from "../../lib/routes";

describe("restAliases", () => {
  it("joins each service's base path with its actions' rest paths", () => {
    const aliases = restAliases([
      {
        name: "students",
        settings: { rest: "/students" },
        actions: { list: { rest: "GET /" }, get: { rest: "GET /:id" }, byId: { cache: true } },
      },
      { name: "users", settings: { rest: "/" }, actions: { me: { rest: "GET /auth/me" } } },
    ]);

    expect(aliases).toEqual({
      "GET /students": "students.list",
      "GET /students/:id": "students.get",
      "GET /auth/me": "users.me",
    });
  });

  it("uses the service name when the service declares no base path", () => {
    expect(restAliases([{ name: "courses", actions: { list: { rest: "GET /" } } }])).toEqual({
      "GET /courses": "courses.list",
    });
  });

  it("refuses two actions on the same method and path", () => {
    const schema = { name: "a", actions: { one: { rest: "GET /x" }, two: { rest: "GET /x/" } } };

    expect(() => restAliases([schema])).toThrow("Two actions claim GET /a/x");
  });
});
