import { Errors } from "moleculer";
import ApiGateway from "moleculer-web";
import {
  RETRY_AFTER_SECONDS,
  conflict,
  forbidden,
  invalid,
  notFound,
  toHttpError,
  tooManyRequests,
  unauthorized,
} from "../../lib/errors";

const {
  MoleculerClientError,
  MoleculerError,
  RequestTimeoutError,
  ServiceNotAvailableError,
  ServiceNotFoundError,
  ValidationError,
} = Errors;
const GatewayErrors = ApiGateway.Errors;

/** The shape body-parser (through http-errors) gives its errors: status, expose and a `type`. */
function bodyParserError(status: number, type: string, message: string): Error {
  return Object.assign(new Error(message), {
    status,
    statusCode: status,
    expose: true,
    type,
    body: "{not json",
  });
}

describe("toHttpError: gateway and body-parser errors", () => {
  it("malformed JSON (entity.parse.failed) answers 400 MALFORMED_JSON", () => {
    const http = toHttpError(bodyParserError(400, "entity.parse.failed", "Unexpected token n"));

    expect(http).toEqual({
      status: 400,
      headers: {},
      body: {
        name: "BadRequest",
        message: "Malformed JSON body",
        code: 400,
        type: "MALFORMED_JSON",
      },
    });
  });

  it("malformed JSON does not echo the parser's message", () => {
    const http = toHttpError(
      bodyParserError(400, "entity.parse.failed", "Unexpected token n in JSON at position 1"),
    );

    expect(JSON.stringify(http.body)).not.toContain("Unexpected token");
  });

  it("a body over the limit (entity.too.large) answers 413 PAYLOAD_TOO_LARGE", () => {
    const http = toHttpError(bodyParserError(413, "entity.too.large", "request entity too large"));

    expect({ status: http.status, code: http.body.code, type: http.body.type }).toEqual({
      status: 413,
      code: 413,
      type: "PAYLOAD_TOO_LARGE",
    });
  });

  it("an unsupported content encoding answers 415", () => {
    const http = toHttpError(bodyParserError(415, "encoding.unsupported", 'unsupported "br"'));

    expect({ status: http.status, type: http.body.type }).toEqual({
      status: 415,
      type: "UNSUPPORTED_ENCODING",
    });
  });

  it("a corrupt compressed body (zlib Z_DATA_ERROR, wrapped by moleculer-web) answers 400, not 500", () => {
    const http = toHttpError(new MoleculerError("incorrect header check", "Z_DATA_ERROR" as never));

    expect(http).toEqual({
      status: 400,
      headers: {},
      body: {
        name: "BadRequest",
        message: "The request body could not be decompressed",
        code: 400,
        type: "MALFORMED_BODY",
      },
    });
  });

  it("a request without a token (moleculer-web NO_TOKEN) answers 401 UNAUTHORIZED", () => {
    const http = toHttpError(new GatewayErrors.UnAuthorizedError("NO_TOKEN"));

    expect({ status: http.status, type: http.body.type }).toEqual({
      status: 401,
      type: "UNAUTHORIZED",
    });
  });

  it("an invalid token (moleculer-web INVALID_TOKEN) answers 401 INVALID_TOKEN", () => {
    const http = toHttpError(new GatewayErrors.UnAuthorizedError("INVALID_TOKEN"));

    expect({ status: http.status, type: http.body.type }).toEqual({
      status: 401,
      type: "INVALID_TOKEN",
    });
  });

  it("an undecodable URL parameter answers 400", () => {
    const http = toHttpError(new GatewayErrors.BadRequestError("UNABLE_DECODE_PARAM"));

    expect({ status: http.status, type: http.body.type }).toEqual({
      status: 400,
      type: "BAD_REQUEST",
    });
  });

  it("an unknown route (moleculer-web NotFoundError) answers 404 NOT_FOUND", () => {
    const http = toHttpError(new GatewayErrors.NotFoundError("NOT_FOUND"));

    expect({ status: http.status, type: http.body.type }).toEqual({
      status: 404,
      type: "NOT_FOUND",
    });
  });
});

describe("toHttpError: unavailable services answer 503 with Retry-After", () => {
  const unavailable = {
    status: 503,
    headers: { "Retry-After": String(RETRY_AFTER_SECONDS) },
    body: {
      name: "ServiceUnavailable",
      message: "A service needed for this request is unavailable; retry later",
      code: 503,
      type: "SERVICE_UNAVAILABLE",
    },
  };

  it("ServiceNotFoundError answers 503 with Retry-After", () => {
    const err = new ServiceNotFoundError({ action: "students.list", nodeID: "node-students-7" });

    expect(toHttpError(err)).toEqual(unavailable);
  });

  it("ServiceNotAvailableError (an open circuit) answers 503 with Retry-After", () => {
    const err = new ServiceNotAvailableError({ action: "courses.get", nodeID: "node-courses-2" });

    expect(toHttpError(err)).toEqual(unavailable);
  });

  it("RequestTimeoutError answers 503 with Retry-After", () => {
    const err = new RequestTimeoutError({ action: "courses.get", nodeID: "node-courses-2" });

    expect(toHttpError(err)).toEqual(unavailable);
  });

  it("moleculer-web's ServiceUnavailableError (code 503, no type) answers 503 with Retry-After", () => {
    expect(toHttpError(new GatewayErrors.ServiceUnavailableError(""))).toEqual(unavailable);
  });

  it("an error typed DATABASE_UNAVAILABLE answers 503 with Retry-After", () => {
    const err = new MoleculerError(
      "connect ECONNREFUSED 10.0.0.5:5432",
      500,
      "DATABASE_UNAVAILABLE",
    );

    expect(toHttpError(err)).toEqual(unavailable);
  });

  it("a 503 does not reveal the action or node that was not reachable", () => {
    const err = new ServiceNotFoundError({ action: "students.list", nodeID: "node-students-7" });

    const text = JSON.stringify(toHttpError(err).body);

    expect(text).not.toMatch(/students\.list|node-students-7/);
  });
});

describe("toHttpError: validation errors answer 422", () => {
  it("a moleculer ValidationError answers 422 VALIDATION_ERROR", () => {
    const http = toHttpError(
      new ValidationError("Parameters validation error!", "VALIDATION_ERROR", []),
    );

    expect({ status: http.status, type: http.body.type }).toEqual({
      status: 422,
      type: "VALIDATION_ERROR",
    });
  });

  it("each data item keeps only field, message and type (no nodeID, action or actual value)", () => {
    const err = new ValidationError("Parameters validation error!", "VALIDATION_ERROR", [
      {
        type: "email",
        field: "email",
        message: "The 'email' field must be a valid e-mail.",
        actual: "not-an-email",
        nodeID: "node-students-7",
        action: "students.create",
      },
    ]);

    expect(toHttpError(err).body.data).toEqual([
      { field: "email", message: "The 'email' field must be a valid e-mail.", type: "email" },
    ]);
  });

  it("our own invalid() field errors pass through unchanged", () => {
    const fields = [
      { field: "endDate", message: "must not be before startDate", type: "dateOrder" },
    ];

    expect(toHttpError(invalid(fields)).body.data).toEqual(fields);
  });

  it("a ValidationError without data items has no data in the body", () => {
    const err = new ValidationError("Validation failed");

    expect(toHttpError(err).body).not.toHaveProperty("data");
  });
});

describe("toHttpError: client errors we raise keep their status, type and message", () => {
  it("a conflict answers 409 and keeps its type", () => {
    const http = toHttpError(conflict("Already enrolled in this course", "ALREADY_ENROLLED"));

    expect(http).toEqual({
      status: 409,
      headers: {},
      body: {
        name: "Conflict",
        message: "Already enrolled in this course",
        code: 409,
        type: "ALREADY_ENROLLED",
      },
    });
  });

  it("a conflict passes on the records in the way that we put in its data", () => {
    const lessons = [{ id: "l1", startsAt: "2027-01-01T09:00:00.000Z" }];

    const http = toHttpError(conflict("The room is booked", "ROOM_CONFLICT", { lessons }));

    expect(http.body).toEqual({
      name: "Conflict",
      message: "The room is booked",
      code: 409,
      type: "ROOM_CONFLICT",
      data: { lessons },
    });
  });

  it("notFound answers 404 NOT_FOUND with its message", () => {
    expect(toHttpError(notFound("Student")).body).toEqual({
      name: "NotFound",
      message: "Student not found",
      code: 404,
      type: "NOT_FOUND",
    });
  });

  it("forbidden answers 403 FORBIDDEN", () => {
    expect(toHttpError(forbidden()).status).toBe(403);
  });

  it("unauthorized answers 401 with the given type", () => {
    expect(toHttpError(unauthorized("Invalid credentials", "INVALID_CREDENTIALS")).body.type).toBe(
      "INVALID_CREDENTIALS",
    );
  });

  it("a client error without a type answers type BAD_REQUEST", () => {
    expect(toHttpError(new MoleculerClientError("Bad input", 400)).body.type).toBe("BAD_REQUEST");
  });

  it("a 404 client error without a type answers a generic message", () => {
    const http = toHttpError(new MoleculerClientError("row 42 missing in table x", 404, ""));

    expect(http.body).toEqual({
      name: "NotFound",
      message: "Not found",
      code: 404,
      type: "NOT_FOUND",
    });
  });
});

describe("toHttpError: 429 answers carry Retry-After", () => {
  it("tooManyRequests answers 429 with Retry-After set to its seconds", () => {
    const http = toHttpError(tooManyRequests("Too many failed logins", 120));

    expect({ status: http.status, headers: http.headers }).toEqual({
      status: 429,
      headers: { "Retry-After": "120" },
    });
  });

  it("rounds a fractional Retry-After up to whole seconds", () => {
    expect(toHttpError(tooManyRequests("slow down", 0.2)).headers["Retry-After"]).toBe("1");
  });

  it("moleculer-web's RateLimitExceeded (no retryAfter) answers 429 with a 60-second Retry-After", () => {
    const http = toHttpError(new GatewayErrors.RateLimitExceeded("RATE_LIMIT_EXCEEDED"));

    expect({ status: http.status, headers: http.headers, type: http.body.type }).toEqual({
      status: 429,
      headers: { "Retry-After": "60" },
      type: "TOO_MANY_REQUESTS",
    });
  });

  it("the retryAfter detail is not repeated as data in the body", () => {
    expect(toHttpError(tooManyRequests("slow down", 30)).body).not.toHaveProperty("data");
  });
});

describe("toHttpError: anything else is a 500 that reveals nothing", () => {
  const internal = {
    status: 500,
    headers: {},
    body: {
      name: "InternalServerError",
      message: "Something went wrong on our side; it has been logged",
      code: 500,
      type: "INTERNAL_ERROR",
    },
  };

  it("a plain Error answers the generic 500", () => {
    expect(toHttpError(new Error("select * from secret_table at db-host-1"))).toEqual(internal);
  });

  it("a plain Error's message, SQL and host name never reach the body", () => {
    const body = JSON.stringify(
      toHttpError(new Error("select * from secret_table at db-host-1")).body,
    );

    expect(body).not.toMatch(/select|secret_table|db-host-1/i);
  });

  it("a Moleculer server error (5xx) answers the generic 500 without its message", () => {
    const err = new MoleculerError("Service schema broke on node-9", 500, "SERVICE_SCHEMA_ERROR");

    expect(toHttpError(err)).toEqual(internal);
  });

  it("a plain Error carrying a 4xx code is still a 500: only Moleculer errors are trusted", () => {
    const err = Object.assign(new Error('duplicate key value violates "students_email_key"'), {
      code: 409,
    });

    expect(toHttpError(err)).toEqual(internal);
  });

  it("a thrown string answers the generic 500", () => {
    expect(toHttpError("boom")).toEqual(internal);
  });

  it("a thrown null answers the generic 500", () => {
    expect(toHttpError(null)).toEqual(internal);
  });
});

describe("toHttpError: the body name is a status name, never a library class name", () => {
  const cases: [string, string, unknown][] = [
    ["MoleculerClientError", "BadRequest", new MoleculerClientError("Bad input", 400, "BAD_INPUT")],
    ["MoleculerClientError 418", "BadRequest", new MoleculerClientError("Teapot", 418, "TEAPOT")],
    ["MoleculerClientError 410", "Gone", new MoleculerClientError("Gone", 410, "GONE")],
    ["MoleculerClientError 403", "Forbidden", forbidden()],
    ["MoleculerError 500", "InternalServerError", new MoleculerError("x", 500)],
    [
      "ServiceNotFoundError",
      "ServiceUnavailable",
      new ServiceNotFoundError({ action: "a.b", nodeID: "n" }),
    ],
    ["UnAuthorizedError", "Unauthorized", new GatewayErrors.UnAuthorizedError("NO_TOKEN")],
    [
      "RateLimitExceeded",
      "TooManyRequests",
      new GatewayErrors.RateLimitExceeded("RATE_LIMIT_EXCEEDED"),
    ],
    ["PayloadTooLarge", "PayloadTooLarge", bodyParserError(413, "entity.too.large", "too large")],
    ["plain TypeError", "InternalServerError", new TypeError("x is undefined")],
  ];

  it.each(cases)("%s is named %s in the body", (_label, expected, err) => {
    expect(toHttpError(err).body.name).toBe(expected);
  });
});

describe("toHttpError: gaps", () => {
  it("a moleculer RequestSkippedError (the caller's deadline passed) answers 503 with Retry-After", () => {
    const http = toHttpError(
      new Errors.RequestSkippedError({ action: "students.get", nodeID: "n1" }),
    );

    expect(http.status).toBe(503);
    expect(http.headers["Retry-After"]).toBeDefined();
  });
});
