import { BoundedMemoryCacher } from "../../lib/memory-cacher";
import { brokerOptions } from "../../moleculer.config";
import {
  ALL_SERVICES,
  ConfigError,
  DEV_ADMIN_EMAIL,
  DEV_ADMIN_PASSWORD,
  loadConfig,
  parsePublicUrl,
  parseServices,
} from "../../lib/config";

/** A production environment with everything it requires. */
const production = {
  NODE_ENV: "production",
  JWT_SECRET: "a-production-secret-of-reasonable-length",
  ADMIN_EMAIL: "root@campus.example",
  ADMIN_PASSWORD: "a-long-admin-password",
  LOG_FORMAT: "json",
};

function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    return err as ConfigError;
  }
  throw new Error("loadConfig did not throw");
}

describe("loadConfig defaults (empty environment)", () => {
  const config = loadConfig({ LOG_FORMAT: "json" });

  it("listens on port 3000", () => {
    expect(config.port).toBe(3000);
  });

  it("runs every service", () => {
    expect(config.services).toEqual([...ALL_SERVICES]);
  });

  it("has no transporter: one process with in-process calls", () => {
    expect(config.transporter).toBeNull();
  });

  it("has no cacher URL: the in-memory cache", () => {
    expect(config.cacher).toEqual({ type: "memory" });
  });

  it("encodes transporter packets as JSON and keeps near-cache entries 10 s", () => {
    expect(config.serializer).toBe("JSON");
    expect(config.nearCacheTtlSeconds).toBe(10);
  });

  it("has no database URLs: the embedded database", () => {
    expect(config.databaseUrls).toEqual({
      students: null,
      courses: null,
      users: null,
      notifications: null,
      schedule: null,
      assignments: null,
      gradebook: null,
      quizzes: null,
      profiles: null,
      reports: null,
    });
  });

  it("has no PUBLIC_URL: feed links name localhost and PORT", () => {
    expect(config.publicUrl).toBeNull();
  });

  it("keeps embedded data under ./data", () => {
    expect(config.dataDir).toBe("./data");
  });

  it("generates a random JWT secret of useful length", () => {
    expect(config.jwt.secret.length).toBeGreaterThanOrEqual(32);
  });

  it("generates a different JWT secret on every start", () => {
    expect(loadConfig({ LOG_FORMAT: "json" }).jwt.secret).not.toBe(config.jwt.secret);
  });

  it("issues tokens for one hour with issuer campus and audience campus-api", () => {
    expect({ ...config.jwt, secret: undefined }).toEqual({
      secret: undefined,
      previousSecrets: [],
      issuer: "campus",
      audience: "campus-api",
      expiresInSeconds: 3600,
    });
  });

  it("uses the documented development administrator", () => {
    expect(config.admin).toEqual({ email: DEV_ADMIN_EMAIL, password: DEV_ADMIN_PASSWORD });
  });

  it("logs at info", () => {
    expect(config.log.level).toBe("info");
  });

  it("serves metrics on port 3030", () => {
    expect(config.metricsPort).toBe(3030);
  });

  it("limits bodies to 100 KiB", () => {
    expect(config.bodyLimit).toBe("100kb");
  });

  it("allows 600 API requests and 20 auth requests per minute and address", () => {
    expect([config.rateLimitPerMinute, config.authRateLimitPerMinute]).toEqual([600, 20]);
  });

  it("is in development mode", () => {
    expect(config.nodeEnv).toBe("development");
  });
});

describe("loadConfig reads the environment", () => {
  it("reads PORT", () => {
    expect(loadConfig({ PORT: "8080", LOG_FORMAT: "json" }).port).toBe(8080);
  });

  it("accepts PORT=0 (any free port, used by the tests)", () => {
    expect(loadConfig({ PORT: "0", LOG_FORMAT: "json" }).port).toBe(0);
  });

  it.each([
    ["notepack", "Notepack"],
    ["Notepack", "Notepack"],
    ["json", "JSON"],
  ])("reads SERIALIZER=%s as %s", (raw, serializer) => {
    expect(loadConfig({ SERIALIZER: raw, LOG_FORMAT: "json" }).serializer).toBe(serializer);
  });

  it("reads NEAR_CACHE_TTL in seconds, 0 turning the near cache off", () => {
    expect(loadConfig({ NEAR_CACHE_TTL: "0", LOG_FORMAT: "json" }).nearCacheTtlSeconds).toBe(0);
    expect(loadConfig({ NEAR_CACHE_TTL: "3", LOG_FORMAT: "json" }).nearCacheTtlSeconds).toBe(3);
  });

  it("treats an empty PORT as unset", () => {
    expect(loadConfig({ PORT: "", LOG_FORMAT: "json" }).port).toBe(3000);
  });

  it("DATA_DIR=:memory: keeps the embedded database in memory (dataDir null)", () => {
    expect(loadConfig({ DATA_DIR: ":memory:", LOG_FORMAT: "json" }).dataDir).toBeNull();
  });

  it("reads another DATA_DIR as a path", () => {
    expect(loadConfig({ DATA_DIR: "/var/lib/campus", LOG_FORMAT: "json" }).dataDir).toBe(
      "/var/lib/campus",
    );
  });

  it("DATABASE_URL is shared by every service", () => {
    const url = "postgres://campus:pw@db:5432/campus";

    expect(loadConfig({ DATABASE_URL: url, LOG_FORMAT: "json" }).databaseUrls).toEqual({
      students: url,
      courses: url,
      users: url,
      notifications: url,
      schedule: url,
      assignments: url,
      gradebook: url,
      quizzes: url,
      profiles: url,
      reports: url,
    });
  });

  it("reads the report workers' lease, sweep and test-only row delay", () => {
    const env = { LOG_FORMAT: "json" };
    expect(loadConfig(env).reports).toEqual({ leaseSeconds: 60, sweepSeconds: 30, rowDelayMs: 0 });
    expect(
      loadConfig({
        ...env,
        REPORTS_LEASE_SECONDS: "3",
        REPORTS_SWEEP_SECONDS: "1",
        REPORTS_ROW_DELAY_MS: "50",
      }).reports,
    ).toEqual({ leaseSeconds: 3, sweepSeconds: 1, rowDelayMs: 50 });
    expect(() => loadConfig({ ...env, REPORTS_LEASE_SECONDS: "0" })).toThrow(
      "REPORTS_LEASE_SECONDS must be an integer from 1 to 3600",
    );
  });

  it("a per-service URL overrides DATABASE_URL for that service only", () => {
    const config = loadConfig({
      DATABASE_URL: "postgres://shared/db",
      COURSES_DATABASE_URL: "postgres://courses-host/courses",
      LOG_FORMAT: "json",
    });

    expect(config.databaseUrls).toEqual({
      students: "postgres://shared/db",
      courses: "postgres://courses-host/courses",
      users: "postgres://shared/db",
      notifications: "postgres://shared/db",
      schedule: "postgres://shared/db",
      assignments: "postgres://shared/db",
      gradebook: "postgres://shared/db",
      quizzes: "postgres://shared/db",
      profiles: "postgres://shared/db",
      reports: "postgres://shared/db",
    });
  });

  it("reads TRANSPORTER together with JWT_SECRET", () => {
    const config = loadConfig({
      TRANSPORTER: "nats://127.0.0.1:4222",
      JWT_SECRET: "shared-cluster-secret",
      LOG_FORMAT: "json",
    });

    expect({ transporter: config.transporter, secret: config.jwt.secret }).toEqual({
      transporter: "nats://127.0.0.1:4222",
      secret: "shared-cluster-secret",
    });
  });

  it("a blank TRANSPORTER means none", () => {
    expect(loadConfig({ TRANSPORTER: "  ", LOG_FORMAT: "json" }).transporter).toBeNull();
  });

  it("reads CACHER: a Redis URL, memory, or off", () => {
    const cacher = (value: string) => loadConfig({ CACHER: value, LOG_FORMAT: "json" }).cacher;
    expect(cacher("redis://127.0.0.1:6379")).toEqual({
      type: "redis",
      url: "redis://127.0.0.1:6379",
    });
    expect(cacher("memory")).toEqual({ type: "memory" });
    expect(cacher("OFF")).toEqual({ type: "off" });
    expect(() => cacher("memcached://x")).toThrow(/CACHER must be "memory", "off" or a redis/);
  });

  it("lower-cases ADMIN_EMAIL", () => {
    const config = loadConfig({ ...production, ADMIN_EMAIL: "Root@Campus.Example" });

    expect(config.admin.email).toBe("root@campus.example");
  });

  it("RATE_LIMIT_PER_MINUTE=0 turns the general limit off", () => {
    expect(loadConfig({ RATE_LIMIT_PER_MINUTE: "0", LOG_FORMAT: "json" }).rateLimitPerMinute).toBe(
      0,
    );
  });

  it("a complete production environment loads", () => {
    expect(loadConfig(production).nodeEnv).toBe("production");
  });
});

describe("loadConfig refuses a bad configuration with a ConfigError", () => {
  it.each([
    ["SERIALIZER", "ProtoBuf", /SERIALIZER must be JSON or Notepack/],
    ["NEAR_CACHE_TTL", "-1", /NEAR_CACHE_TTL must be an integer/],
    ["NEAR_CACHE_TTL", "ten", /NEAR_CACHE_TTL must be an integer/],
  ])("%s=%s", (key, value, message) => {
    const err = configError({ [key]: value, LOG_FORMAT: "json" });

    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toMatch(message);
  });

  it("JWT_SECRET is required when TRANSPORTER is set", () => {
    const err = configError({ TRANSPORTER: "nats://127.0.0.1:4222", LOG_FORMAT: "json" });

    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toMatch(/JWT_SECRET/);
  });

  it("JWT_SECRET is required when NODE_ENV=production", () => {
    const err = configError({ ...production, JWT_SECRET: "" });

    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toMatch(/JWT_SECRET/);
  });

  it("ADMIN_EMAIL is required in production", () => {
    const err = configError({ ...production, ADMIN_EMAIL: "" });

    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toMatch(/ADMIN_EMAIL/);
  });

  it("ADMIN_PASSWORD is required in production", () => {
    const err = configError({ ...production, ADMIN_PASSWORD: "" });

    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toMatch(/ADMIN_PASSWORD/);
  });

  it("a PORT that is not a number", () => {
    expect(configError({ PORT: "http", LOG_FORMAT: "json" }).message).toBe(
      'PORT must be an integer from 0 to 65535, got "http"',
    );
  });

  it("a negative PORT", () => {
    expect(configError({ PORT: "-1", LOG_FORMAT: "json" })).toBeInstanceOf(ConfigError);
  });

  it("a fractional PORT", () => {
    expect(configError({ PORT: "3000.5", LOG_FORMAT: "json" })).toBeInstanceOf(ConfigError);
  });

  it("a PORT above 65535", () => {
    expect(configError({ PORT: "70000", LOG_FORMAT: "json" })).toBeInstanceOf(ConfigError);
  });

  it("a CACHER that is neither memory nor a redis URL", () => {
    expect(configError({ CACHER: "memcached://x", LOG_FORMAT: "json" })).toBeInstanceOf(
      ConfigError,
    );
  });

  it("the development admin password in production", () => {
    expect(
      configError({
        NODE_ENV: "production",
        JWT_SECRET: "a-production-secret-of-enough-length-123",
        ADMIN_EMAIL: "root@school.example",
        ADMIN_PASSWORD: "campus-admin-dev",
        LOG_FORMAT: "json",
      }),
    ).toBeInstanceOf(ConfigError);
  });

  it("a bad METRICS_PORT", () => {
    expect(configError({ METRICS_PORT: "x", LOG_FORMAT: "json" })).toBeInstanceOf(ConfigError);
  });

  it("a token lifetime under 60 seconds", () => {
    expect(configError({ JWT_EXPIRES_IN: "59", LOG_FORMAT: "json" })).toBeInstanceOf(ConfigError);
  });

  it("an unknown LOG_FORMAT", () => {
    expect(configError({ LOG_FORMAT: "xml" })).toBeInstanceOf(ConfigError);
  });

  it("an unknown service name in SERVICES", () => {
    expect(configError({ SERVICES: "api,billing", LOG_FORMAT: "json" })).toBeInstanceOf(
      ConfigError,
    );
  });
});

describe("parseServices", () => {
  it("runs every service when unset", () => {
    expect(parseServices(undefined)).toEqual([...ALL_SERVICES]);
  });

  it("runs every service when blank", () => {
    expect(parseServices(" ")).toEqual([...ALL_SERVICES]);
  });

  it("reads a comma list, ignoring spaces and empty items", () => {
    expect(parseServices(" api , students,, ")).toEqual(["api", "students"]);
  });

  it("lists each service once", () => {
    expect(parseServices("courses,courses")).toEqual(["courses"]);
  });

  it("rejects an unknown name and says which", () => {
    expect(() => parseServices("api,billing")).toThrow(
      new ConfigError(
        "SERVICES has unknown service(s): billing; known: api, students, courses, users, notifications, schedule, assignments, gradebook, quizzes, profiles, reports",
      ),
    );
  });

  it("rejects a name in the wrong letter case", () => {
    expect(() => parseServices("API")).toThrow(ConfigError);
  });

  it("accepts notifications", () => {
    expect(parseServices("api,notifications")).toEqual(["api", "notifications"]);
  });

  it("accepts schedule", () => {
    expect(parseServices("schedule")).toEqual(["schedule"]);
  });
});

describe("parsePublicUrl (PUBLIC_URL)", () => {
  it("keeps an http(s) URL without its trailing slashes", () => {
    expect(parsePublicUrl("https://campus.example.org/lms//")).toBe(
      "https://campus.example.org/lms",
    );
  });

  it("is null when unset or blank", () => {
    expect(parsePublicUrl(undefined)).toBeNull();
    expect(parsePublicUrl("  ")).toBeNull();
  });

  it("refuses anything but an http(s) URL", () => {
    expect(() => parsePublicUrl("campus.example.org")).toThrow(ConfigError);
    expect(() => parsePublicUrl("ftp://campus.example.org")).toThrow(ConfigError);
  });
});

describe("the quizzes service", () => {
  it("accepts quizzes", () => {
    expect(parseServices("quizzes")).toEqual(["quizzes"]);
  });

  it("QUIZZES_DATABASE_URL overrides DATABASE_URL for quizzes only", () => {
    const config = loadConfig({
      DATABASE_URL: "postgres://shared/db",
      QUIZZES_DATABASE_URL: "postgres://quizzes-host/quizzes",
      LOG_FORMAT: "json",
    });

    expect(config.databaseUrls.quizzes).toBe("postgres://quizzes-host/quizzes");
    expect(config.databaseUrls.courses).toBe("postgres://shared/db");
  });
});

describe("production guards", () => {
  const production = {
    NODE_ENV: "production",
    JWT_SECRET: "k8Jx2m9QvR4tW7yB1nC5dF0gH3jL6pS8uX2zA4eI7oU",
    ADMIN_EMAIL: "root@school.example",
    ADMIN_PASSWORD: "a-real-admin-password-2026",
    LOG_FORMAT: "json",
  };

  it("accepts a complete production configuration", () => {
    expect(loadConfig(production).nodeEnv).toBe("production");
  });

  it.each([
    ["a JWT_SECRET shorter than 32 bytes", { JWT_SECRET: "short-secret" }],
    [
      "a placeholder JWT_SECRET",
      { JWT_SECRET: "CHANGE-ME-jwt-secret-at-least-32-random-characters" },
    ],
    ["CORS_ORIGINS=*", { CORS_ORIGINS: "*" }],
  ])("refuses %s", (_case, override) => {
    expect(configError({ ...production, ...override })).toBeInstanceOf(ConfigError);
  });

  it("reads the CORS allowlist, trusted proxies and rotated JWT secrets as lists", () => {
    const config = loadConfig({
      ...production,
      CORS_ORIGINS: "https://a.example, https://b.example",
      TRUST_PROXY: "10.0.0.5",
      JWT_PREVIOUS_SECRETS: "old-one,old-two",
    });

    expect([config.http, config.jwt.previousSecrets]).toEqual([
      { corsOrigins: ["https://a.example", "https://b.example"], trustedProxies: ["10.0.0.5"] },
      ["old-one", "old-two"],
    ]);
  });
});

describe("CACHER=off", () => {
  it("gives the broker no cacher (and so no near cache, which needs one)", () => {
    expect(brokerOptions(loadConfig({ CACHER: "off", LOG_FORMAT: "json" })).cacher).toBeUndefined();
    expect(brokerOptions(loadConfig({ LOG_FORMAT: "json" })).cacher).toBeInstanceOf(
      BoundedMemoryCacher,
    );
  });
});

describe("BALANCER (who picks the node of a call)", () => {
  const env = { LOG_FORMAT: "json", JWT_SECRET: "x".repeat(40) };

  it("is NATS queue groups over a NATS transporter, Moleculer's balancer otherwise", () => {
    expect(loadConfig({ ...env, TRANSPORTER: "nats://127.0.0.1:4222" }).balancer).toBe("nats");
    expect(loadConfig({ ...env, TRANSPORTER: "redis://127.0.0.1:6379" }).balancer).toBe(
      "moleculer",
    );
    expect(loadConfig({ LOG_FORMAT: "json" }).balancer).toBe("moleculer");
  });

  it("may choose Moleculer's balancer over NATS, and refuses NATS balancing without NATS", () => {
    expect(
      loadConfig({ ...env, TRANSPORTER: "nats://127.0.0.1:4222", BALANCER: "moleculer" }).balancer,
    ).toBe("moleculer");
    expect(() => loadConfig({ ...env, BALANCER: "nats" })).toThrow(ConfigError);
    expect(() =>
      loadConfig({ ...env, TRANSPORTER: "nats://127.0.0.1:4222", BALANCER: "random" }),
    ).toThrow(/BALANCER/);
  });

  it("disables Moleculer's balancer and circuit breaker under NATS balancing only", () => {
    const nats = brokerOptions(loadConfig({ ...env, TRANSPORTER: "nats://127.0.0.1:4222" }));
    expect([nats.disableBalancer, nats.circuitBreaker?.enabled]).toEqual([true, false]);
    const moleculer = brokerOptions(
      loadConfig({ ...env, TRANSPORTER: "nats://127.0.0.1:4222", BALANCER: "moleculer" }),
    );
    expect([moleculer.disableBalancer, moleculer.circuitBreaker?.enabled]).toEqual([false, true]);
    expect(brokerOptions(loadConfig({ LOG_FORMAT: "json" })).disableBalancer).toBe(false);
  });
});

describe("the profiles service", () => {
  it("PROFILES_DATABASE_URL overrides DATABASE_URL for profiles only", () => {
    const config = loadConfig({
      DATABASE_URL: "postgres://shared/db",
      PROFILES_DATABASE_URL: "postgres://profiles-host/profiles",
      LOG_FORMAT: "json",
    });

    expect(config.databaseUrls.profiles).toBe("postgres://profiles-host/profiles");
    expect(config.databaseUrls.quizzes).toBe("postgres://shared/db");
  });
});
