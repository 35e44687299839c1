import {
  acceptableRequestId,
  clientErrorResponse,
  nonDecimalNumbers,
  sanitizeRequest,
  unexpectedNulls,
  unstorableText,
  withoutPrototypeKeys,
} from "../../lib/http-input";

const hasOwn = (value: unknown, key: string) => Object.prototype.hasOwnProperty.call(value, key);

describe("withoutPrototypeKeys", () => {
  it("drops an own __proto__ key from JSON.parse'd input", () => {
    const parsed = JSON.parse('{"__proto__":{"x":1},"name":"Ada"}');

    expect(hasOwn(withoutPrototypeKeys(parsed), "__proto__")).toBe(false);
  });

  it("keeps the other keys of JSON.parse'd input with a __proto__ key", () => {
    const parsed = JSON.parse('{"__proto__":{"x":1},"name":"Ada"}');

    expect(withoutPrototypeKeys(parsed)).toEqual({ name: "Ada" });
  });

  it("the cleaned object inherits nothing from the dropped __proto__", () => {
    const cleaned = withoutPrototypeKeys(JSON.parse('{"__proto__":{"x":1}}')) as Record<
      string,
      unknown
    >;

    expect(cleaned.x).toBeUndefined();
  });

  it("drops constructor and prototype keys", () => {
    const parsed = JSON.parse('{"constructor":{"prototype":{"x":1}},"prototype":1,"ok":true}');

    expect(withoutPrototypeKeys(parsed)).toEqual({ ok: true });
  });

  it("drops forbidden keys in nested objects", () => {
    const parsed = JSON.parse('{"a":{"b":{"__proto__":{"x":1},"c":1}}}');

    expect(withoutPrototypeKeys(parsed)).toEqual({ a: { b: { c: 1 } } });
  });

  it("drops forbidden keys in objects inside arrays", () => {
    const parsed = JSON.parse('{"items":[{"constructor":1,"id":"a"},[{"__proto__":{}}]]}');

    expect(withoutPrototypeKeys(parsed)).toEqual({ items: [{ id: "a" }, [{}]] });
  });

  it("drops forbidden keys 20 levels deep", () => {
    let json = '{"__proto__":{"x":1},"leaf":true}';
    for (let level = 0; level < 19; level += 1) json = `{"a":${json}}`;

    let value = withoutPrototypeKeys(JSON.parse(json)) as Record<string, unknown>;
    for (let level = 0; level < 19; level += 1) value = value.a as Record<string, unknown>;

    expect(hasOwn(value, "__proto__")).toBe(false);
  });

  it("drops whatever is nested deeper than 20 levels instead of passing it on unchecked", () => {
    const deep = JSON.parse(`${'{"a":'.repeat(25)}{"__proto__":{"x":1}}${"}".repeat(25)}`);

    expect(JSON.stringify(withoutPrototypeKeys(deep))).not.toContain("__proto__");
  });

  it("returns primitives and null unchanged", () => {
    expect([null, 1, "x", true].map((value) => withoutPrototypeKeys(value))).toEqual([
      null,
      1,
      "x",
      true,
    ]);
  });

  it("returns a copy and leaves the input untouched", () => {
    const input = { name: "Ada", nested: { constructor: 1 } };

    withoutPrototypeKeys(input);

    expect(input).toEqual({ name: "Ada", nested: { constructor: 1 } });
  });
});

describe("unstorableText", () => {
  it("finds nothing in ordinary text, emoji (a surrogate pair) included", () => {
    expect(unstorableText({ name: "Zoë 😀", tags: ["a", { b: "ü" }], n: 1 })).toEqual([]);
  });

  it("names a top-level field that contains NUL", () => {
    expect(unstorableText({ lastName: "b\u0000c" })).toEqual([
      {
        field: "lastName",
        message: "must not contain NUL or unpaired surrogate characters",
        type: "stringCharacters",
      },
    ]);
  });

  it("names a field with a lone high surrogate", () => {
    expect(unstorableText({ title: "x\ud800" }).map((item) => item.field)).toEqual(["title"]);
  });

  it("names a field with a lone low surrogate", () => {
    expect(unstorableText({ title: "\udc00x" }).map((item) => item.field)).toEqual(["title"]);
  });

  it("names nested fields with their path", () => {
    expect(unstorableText({ a: { b: ["ok", "\u0000"] } }).map((item) => item.field)).toEqual([
      "a.b[1]",
    ]);
  });

  it("names a whole string body 'body'", () => {
    expect(unstorableText("\u0000").map((item) => item.field)).toEqual(["body"]);
  });
});

describe("unexpectedNulls", () => {
  const rules = {
    $$strict: "remove",
    firstName: { type: "string", optional: true },
    capacity: { type: "number", optional: true, nullable: true },
  };

  it("names an optional field sent as null whose rule is not nullable", () => {
    expect(unexpectedNulls({ firstName: null }, rules)).toEqual([
      { field: "firstName", message: "must not be null", type: "nullable" },
    ]);
  });

  it("lets null through where the rule says nullable", () => {
    expect(unexpectedNulls({ capacity: null }, rules)).toEqual([]);
  });

  it("ignores absent fields, other values and undeclared names", () => {
    expect(unexpectedNulls({ firstName: "Ada", other: null }, rules)).toEqual([]);
  });

  it("finds nothing without rules", () => {
    expect(unexpectedNulls({ firstName: null }, undefined)).toEqual([]);
  });
});

describe("acceptableRequestId", () => {
  it("accepts a UUID", () => {
    expect(acceptableRequestId("2b1c5a3e-0000-4000-8000-000000000001")).toBe(
      "2b1c5a3e-0000-4000-8000-000000000001",
    );
  });

  it("accepts letters, digits, dot, underscore, colon and dash", () => {
    expect(acceptableRequestId("trace:abc_1.2-Z")).toBe("trace:abc_1.2-Z");
  });

  it("accepts 128 characters", () => {
    expect(acceptableRequestId("a".repeat(128))).toBe("a".repeat(128));
  });

  it("refuses 129 characters", () => {
    expect(acceptableRequestId("a".repeat(129))).toBeUndefined();
  });

  it("refuses an empty id", () => {
    expect(acceptableRequestId("")).toBeUndefined();
  });

  it("refuses an absent header", () => {
    expect(acceptableRequestId(undefined)).toBeUndefined();
  });

  it("refuses a header sent twice", () => {
    expect(acceptableRequestId(["a", "b"])).toBeUndefined();
  });

  it("refuses an id with a trailing newline (log injection)", () => {
    expect(acceptableRequestId("abc\n")).toBeUndefined();
  });

  it("refuses an id with a line break inside (log injection)", () => {
    expect(acceptableRequestId('abc\n{"level":"error"}')).toBeUndefined();
  });

  it("refuses spaces and markup", () => {
    expect(acceptableRequestId("<script>alert(1)</script>")).toBeUndefined();
  });
});

describe("sanitizeRequest", () => {
  function run(req: { method?: string; body?: unknown; query?: Record<string, unknown> }) {
    const next = jest.fn();
    sanitizeRequest(req, {}, next);
    return { req, next };
  }

  it("a GET keeps the query and empties the body", () => {
    const { req } = run({ method: "GET", query: { page: "2" }, body: { page: "9" } });

    expect({ query: req.query, body: req.body }).toEqual({ query: { page: "2" }, body: {} });
  });

  it("a HEAD keeps the query and empties the body", () => {
    const { req } = run({ method: "HEAD", query: { page: "2" }, body: { x: 1 } });

    expect({ query: req.query, body: req.body }).toEqual({ query: { page: "2" }, body: {} });
  });

  it("a DELETE keeps the query and empties the body", () => {
    const { req } = run({ method: "DELETE", query: { force: "1" }, body: { x: 1 } });

    expect({ query: req.query, body: req.body }).toEqual({ query: { force: "1" }, body: {} });
  });

  it("a POST keeps the body and empties the query", () => {
    const { req } = run({ method: "POST", query: { role: "admin" }, body: { role: "student" } });

    expect({ query: req.query, body: req.body }).toEqual({ query: {}, body: { role: "student" } });
  });

  it("a PATCH keeps the body and empties the query", () => {
    const { req } = run({ method: "PATCH", query: { email: "x@y.z" }, body: { firstName: "A" } });

    expect({ query: req.query, body: req.body }).toEqual({ query: {}, body: { firstName: "A" } });
  });

  it("a PUT keeps the body and empties the query", () => {
    const { req } = run({ method: "PUT", query: { email: "x@y.z" }, body: { firstName: "A" } });

    expect({ query: req.query, body: req.body }).toEqual({ query: {}, body: { firstName: "A" } });
  });

  it("a POST without a body gets an empty body", () => {
    const { req } = run({ method: "POST" });

    expect(req.body).toEqual({});
  });

  it("a GET without a query gets an empty query", () => {
    const { req } = run({ method: "GET" });

    expect(req.query).toEqual({});
  });

  it("drops __proto__ from a POST body", () => {
    const { req } = run({ method: "POST", body: JSON.parse('{"__proto__":{"x":1},"a":1}') });

    expect(hasOwn(req.body, "__proto__")).toBe(false);
  });

  it("drops constructor from a GET query", () => {
    const { req } = run({ method: "GET", query: { constructor: "x", page: "1" } });

    expect(req.query).toEqual({ page: "1" });
  });

  it.each([
    ["an array", [1, 2]],
    ["a string", "abc"],
    ["a number", 12],
    ["null", null],
    ["a boolean", true],
  ])("answers a POST whose JSON body is %s with a 422 on the body", (_, body) => {
    const { next } = run({ method: "POST", body });

    expect(next.mock.calls[0][0]).toMatchObject({
      code: 422,
      type: "VALIDATION_ERROR",
      data: [{ field: "body", message: "must be a JSON object", type: "object" }],
    });
  });

  it("ignores whatever body a DELETE carries, an array included", () => {
    const { req, next } = run({ method: "DELETE", body: [1] });

    expect({ body: req.body, error: next.mock.calls[0][0] }).toEqual({
      body: {},
      error: undefined,
    });
  });

  it("answers a PATCH body with a NUL in a field with a 422 naming the field", () => {
    const { next } = run({ method: "PATCH", body: { lastName: "b\u0000c" } });

    expect(next.mock.calls[0][0]).toMatchObject({
      code: 422,
      type: "VALIDATION_ERROR",
      data: [{ field: "lastName", type: "stringCharacters" }],
    });
  });

  it("answers a GET query with a lone surrogate with a 422 naming the parameter", () => {
    const { next } = run({ method: "GET", query: { search: "\ud800" } });

    expect(next.mock.calls[0][0]).toMatchObject({ code: 422, data: [{ field: "search" }] });
  });

  it("calls next exactly once", () => {
    const { next } = run({ method: "GET" });

    expect(next).toHaveBeenCalledTimes(1);
  });
});

describe("clientErrorResponse (requests Node's parser refused)", () => {
  const parse = (raw: string) => {
    const [head, body] = raw.split("\r\n\r\n");
    return { head: head.split("\r\n"), body: JSON.parse(body) };
  };

  it("answers headers over the limit with 431 in the error shape and closes", () => {
    const { head, body } = parse(clientErrorResponse({ code: "HPE_HEADER_OVERFLOW" }));
    expect(head[0]).toBe("HTTP/1.1 431 Request Header Fields Too Large");
    expect(head).toContain("Connection: close");
    expect(body).toMatchObject({ code: 431, type: "HEADERS_TOO_LARGE" });
  });

  it("answers anything else it could not parse with 400 MALFORMED_REQUEST, length exact", () => {
    const raw = clientErrorResponse({ code: "HPE_INVALID_METHOD" });
    const { head, body } = parse(raw);
    expect(head[0]).toBe("HTTP/1.1 400 Bad Request");
    expect(body).toMatchObject({ code: 400, type: "MALFORMED_REQUEST" });
    const length = Number(head.find((h) => h.startsWith("Content-Length"))!.split(": ")[1]);
    expect(length).toBe(Buffer.byteLength(raw.split("\r\n\r\n")[1]));
  });
});

describe("nonDecimalNumbers", () => {
  const rules = {
    page: { type: "number", integer: true, convert: true },
    ratio: { type: "number", convert: true },
    name: { type: "string" },
  };

  it.each(["0x10", "1e2", " 5", "5 ", "", "0b1", "Infinity", "5.0", "+5"])(
    "names an integer sent as %j",
    (page) => {
      expect(nonDecimalNumbers({ page }, rules)).toEqual([
        { field: "page", message: "must be a plain decimal number", type: "numberDecimal" },
      ]);
    },
  );

  it("accepts plain decimal text, JSON numbers and other fields", () => {
    expect(nonDecimalNumbers({ page: "12", ratio: "-1.5", name: "0x10" }, rules)).toEqual([]);
    expect(nonDecimalNumbers({ page: 3, ratio: 1e2 }, rules)).toEqual([]);
  });
});
