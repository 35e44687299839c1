import { loadConfig } from "../../lib/config";
import { channelsAdapter, envelope, natsConnectionOptions } from "../../lib/domain-events";

describe("natsConnectionOptions", () => {
  it("takes user and password from the URL", () => {
    expect(natsConnectionOptions("nats://campus:s3cr%40t@10.0.0.1:4222")).toEqual({
      servers: ["10.0.0.1:4222"],
      user: "campus",
      pass: "s3cr@t",
    });
  });

  it("takes a lone user part as a token", () => {
    expect(natsConnectionOptions("nats://t0ken@nats:4222")).toEqual({
      servers: ["nats:4222"],
      token: "t0ken",
    });
  });

  it("lists every server of a comma list", () => {
    expect(natsConnectionOptions("nats://a:4222,nats://b:4222").servers).toEqual([
      "a:4222",
      "b:4222",
    ]);
  });
});

describe("channelsAdapter", () => {
  it("keeps events in process without a transporter", () => {
    expect(channelsAdapter(loadConfig({ LOG_FORMAT: "json" }))).toBe("Fake");
  });

  it("uses JetStream next to a NATS transporter, with dead-lettering and replay for new groups", () => {
    const config = loadConfig({
      LOG_FORMAT: "json",
      TRANSPORTER: "nats://127.0.0.1:4222",
      JWT_SECRET: "x".repeat(40),
    });

    expect(channelsAdapter(config)).toMatchObject({
      type: "NATS",
      options: {
        deadLettering: { enabled: true },
        nats: {
          connectionOptions: { servers: ["127.0.0.1:4222"] },
          consumerOptions: { config: { deliver_policy: "all" } },
        },
      },
    });
  });
});

describe("envelope", () => {
  it("gives every event its own id and time", () => {
    const [first, second] = [envelope({ a: 1 }), envelope({ a: 1 })];

    expect(first.eventId).not.toBe(second.eventId);
    expect(first).toMatchObject({ a: 1, occurredAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });
  });
});
