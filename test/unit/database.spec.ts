import { advisoryLockKey, connectionOptions } from "../../lib/database";

describe("connectionOptions", () => {
  it("reads host, port, database, user and password from the URL", () => {
    const options = connectionOptions(
      "postgres://campus:s3cret@db.internal:6543/campus_prod",
      "students",
    );

    expect({
      host: options.host,
      port: options.port,
      database: options.database,
      username: options.username,
      password: options.password,
    }).toEqual({
      host: "db.internal",
      port: 6543,
      database: "campus_prod",
      username: "campus",
      password: "s3cret",
    });
  });

  it("reads a Unix socket directory from ?host= (the embedded server's URL)", () => {
    const options = connectionOptions(
      "postgres://postgres@localhost:5432/postgres?host=%2Ftmp%2Fcampus-pg-abc",
      "users",
    );

    expect([options.host, options.port, options.database]).toEqual([
      "/tmp/campus-pg-abc",
      5432,
      "postgres",
    ]);
  });

  it("decodes percent-encoded user, password and database", () => {
    const options = connectionOptions("postgres://us%40er:p%40ss%2Fw%3Ard@db/my%20db", "courses");

    expect([options.username, options.password, options.database]).toEqual([
      "us@er",
      "p@ss/w:rd",
      "my db",
    ]);
  });

  it("defaults to port 5432, database postgres, user postgres and no password", () => {
    const options = connectionOptions("postgres://db.internal", "users");

    expect([options.port, options.database, options.username, options.password]).toEqual([
      5432,
      "postgres",
      "postgres",
      undefined,
    ]);
  });

  it("accepts the postgresql: scheme", () => {
    expect(connectionOptions("postgresql://db/campus", "users").database).toBe("campus");
  });

  it("puts the service's tables in its own schema", () => {
    expect(connectionOptions("postgres://db/campus", "courses").define.schema).toBe("courses");
  });

  it("names the connection after the schema", () => {
    expect(connectionOptions("postgres://db/campus", "courses").dialectOptions).toEqual({
      application_name: "campus-courses",
    });
  });

  it("never lets the adapter sync the schema (noSync), migrations own it", () => {
    expect(connectionOptions("postgres://db/campus", "students").noSync).toBe(true);
  });

  it("never logs SQL", () => {
    expect(connectionOptions("postgres://db/campus", "students").logging).toBe(false);
  });

  it("uses the postgres dialect", () => {
    expect(connectionOptions("postgres://db/campus", "students").dialect).toBe("postgres");
  });

  it("rejects another scheme", () => {
    expect(() => connectionOptions("mysql://root:pw@db/campus", "students")).toThrow(
      'unsupported database URL scheme "mysql:"',
    );
  });

  it("does not put the password of a rejected URL in the error", () => {
    let message = "";
    try {
      connectionOptions("mysql://root:hunter2-secret@db/campus", "students");
    } catch (err) {
      message = (err as Error).message;
    }

    expect(message).toMatch(/^unsupported database URL scheme/);
    expect(message).not.toContain("hunter2-secret");
  });

  it("rejects a string that is not a URL", () => {
    expect(() => connectionOptions("not a url", "students")).toThrow("Invalid URL");
  });
});

describe("advisoryLockKey", () => {
  it("is the same for the same schema on every call", () => {
    expect(advisoryLockKey("students")).toBe(advisoryLockKey("students"));
  });

  it("differs per schema", () => {
    const keys = new Set(["students", "courses", "users"].map(advisoryLockKey));

    expect(keys.size).toBe(3);
  });

  it("is a decimal integer that fits PostgreSQL's bigint", () => {
    const key = BigInt(advisoryLockKey("students"));

    expect(key >= -(2n ** 63n) && key < 2n ** 63n).toBe(true);
  });

  it("does not change between releases (nodes of two versions must take the same lock)", () => {
    expect(advisoryLockKey("students")).toBe("4571240450861399404");
  });
});
