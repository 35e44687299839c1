import { loadConfig } from "../../lib/config";
import {
  channelsAdapter,
  envelope,
  isConsumerCreationRace,
  natsConnectionOptions,
  retryWhile,
} from "../../lib/domain-events";

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
    expect(channelsAdapter(loadConfig({ LOG_FORMAT: "json" }))).toEqual({
      type: "InProcess",
      options: { maxRetries: 5, maxInFlight: 10 },
    });
  });

  it("uses JetStream next to a NATS transporter, with dead-lettering and replay for new groups", () => {
    const config = loadConfig({
      LOG_FORMAT: "json",
      TRANSPORTER: "nats://127.0.0.1:4222",
      JWT_SECRET: "x".repeat(40),
    });

    expect(channelsAdapter(config)).toMatchObject({
      // JetStream's adapter, made safe for replicas that create the same durable consumer at once.
      type: "ReplicaSafeNATS",
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

describe("subscribing while another replica creates the same durable consumer", () => {
  it("recognises JetStream's answer to the losing replica, and nothing else", () => {
    expect(isConsumerCreationRace(new Error("consumer name already in use"))).toBe(true);
    expect(isConsumerCreationRace(new Error("stream not found"))).toBe(false);
    expect(isConsumerCreationRace(undefined)).toBe(false);
  });

  it("tries again while the error is retryable, up to the number of attempts", async () => {
    let calls = 0;
    const raceTwice = () => {
      calls += 1;
      return calls <= 2
        ? Promise.reject(new Error("consumer name already in use"))
        : Promise.resolve("bound");
    };
    await expect(retryWhile(raceTwice, isConsumerCreationRace, 5, 1)).resolves.toBe("bound");
    expect(calls).toBe(3);

    calls = 0;
    await expect(retryWhile(raceTwice, isConsumerCreationRace, 2, 1)).rejects.toThrow(
      "already in use",
    );
    expect(calls).toBe(2);
  });

  it("gives up at once on any other error", async () => {
    let calls = 0;
    const broken = () => {
      calls += 1;
      return Promise.reject(new Error("stream not found"));
    };
    await expect(retryWhile(broken, isConsumerCreationRace, 5, 1)).rejects.toThrow("stream");
    expect(calls).toBe(1);
  });
});
