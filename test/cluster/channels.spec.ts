/**
 * Replicas of a service that consumes a durable JetStream channel, started at the same instant,
 * over the machine's NATS: each pair races to create the same durable consumer, and every
 * replica must start (the loser binds to the consumer the winner created) and share the work.
 */
import { randomBytes } from "crypto";
import { ServiceBroker, type ServiceSchema } from "moleculer";
import { Middleware as ChannelsMiddleware } from "@moleculer/channels";
import { channelsAdapter } from "../../lib/domain-events";
import { loadConfig } from "../../lib/config";
import { eventually } from "./harness";

jest.setTimeout(120000);

const NATS_URL = "nats://127.0.0.1:4222";
const PAIRS = 8;
const runId = randomBytes(4).toString("hex");

function replica(namespace: string, index: number, received: string[]): ServiceBroker {
  const config = loadConfig({
    LOG_FORMAT: "json",
    TRANSPORTER: NATS_URL,
    JWT_SECRET: "x".repeat(40),
  });
  const broker = new ServiceBroker({
    namespace,
    nodeID: `${namespace}-${index}`,
    logger: false,
    middlewares: [
      ChannelsMiddleware({ adapter: channelsAdapter(config), context: true } as never) as never,
    ],
  });
  broker.createService({
    name: "consumer",
    channels: {
      "race.happened": {
        group: "consumer",
        context: true,
        async handler(ctx: { params: { n: number } }) {
          received.push(`${index}:${ctx.params.n}`);
        },
      },
    },
  } as unknown as ServiceSchema);
  return broker;
}

async function deleteStreams(prefix: string): Promise<void> {
  const { connect } = await import("nats");
  const connection = await connect({ servers: new URL(NATS_URL).host });
  try {
    const manager = await connection.jetstreamManager();
    for await (const stream of manager.streams.list()) {
      if (stream.config.name.startsWith(prefix)) await manager.streams.delete(stream.config.name);
    }
  } finally {
    await connection.close();
  }
}

afterAll(() => deleteStreams(`race-${runId}`));

it(`starts both replicas of a durable consumer ${PAIRS} times out of ${PAIRS} when they start at the same instant`, async () => {
  for (let pair = 0; pair < PAIRS; pair += 1) {
    const namespace = `race-${runId}-${pair}`;
    const received: string[] = [];
    const brokers = [replica(namespace, 1, received), replica(namespace, 2, received)];
    const started = await Promise.allSettled(brokers.map((broker) => broker.start()));
    try {
      expect(started.map((result) => result.status)).toEqual(["fulfilled", "fulfilled"]);
      // The consumer is shared: each message is handled once, by one of the two.
      const sender = brokers[0] as unknown as {
        sendToChannel(name: string, payload: object): Promise<void>;
      };
      for (let n = 0; n < 6; n += 1) await sender.sendToChannel("race.happened", { n });
      await eventually(async () => {
        if (received.length < 6) throw new Error(`only ${received.length} of 6`);
      }, 10000);
      expect(new Set(received.map((entry) => entry.split(":")[1])).size).toBe(6);
      expect(received).toHaveLength(6);
    } finally {
      await Promise.allSettled(brokers.map((broker) => broker.stop()));
    }
  }
});
