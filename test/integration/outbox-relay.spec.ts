/**
 * The outbox relay (mixins/domain-events.mixin.ts) deletes a batch's published events together:
 * when a publish fails half-way, the events published before it are still deleted (never sent
 * twice), and the failed one and those after it stay for the next pass, in order.
 */
import { randomUUID } from "crypto";
import { QueryTypes, type Sequelize } from "sequelize";
import { insertOutboxSql } from "../../lib/outbox";
import { eventually, startCampus, type Campus } from "../helpers/campus";

type Relay = { sequelize: Sequelize; relayEvents(): Promise<void> };
type Channels = {
  sendToChannel(name: string, payload: { marker?: string }, opts?: object): Promise<void>;
};

let campus: Campus;
const received: string[] = [];

beforeAll(async () => {
  campus = await startCampus();
  await campus.broker.createService({
    name: "relay-probe",
    channels: {
      "quiz.scored": {
        group: "relay-probe",
        context: true,
        async handler(ctx: { params: { marker?: string } }) {
          if (ctx.params.marker) received.push(ctx.params.marker);
        },
      },
    },
  } as never);
});
afterAll(() => campus.stop());

it("deletes what it published before a failed publish, and publishes the rest on the next pass, once each", async () => {
  const service = campus.broker.getLocalService("quizzes") as unknown as Relay;
  const broker = campus.broker as unknown as Channels;
  const run = randomUUID().slice(0, 8);
  const markers = ["first", "second", "third"].map((name) => `${name}-${run}`);
  const attempts: string[] = [];
  const original = broker.sendToChannel.bind(broker);
  let failed = false;
  broker.sendToChannel = async (name, payload, opts) => {
    if (payload.marker?.endsWith(run)) attempts.push(payload.marker);
    if (payload.marker === markers[1] && !failed) {
      failed = true;
      throw new Error("NATS unavailable");
    }
    return original(name, payload, opts);
  };
  try {
    await service.sequelize.transaction(async (transaction) => {
      for (const marker of markers) {
        const id = randomUUID();
        await service.sequelize.query(insertOutboxSql("quizzes"), {
          replacements: {
            id,
            name: "quiz.scored",
            payload: JSON.stringify({ marker, eventId: id, occurredAt: new Date().toISOString() }),
            requestId: null,
            meta: "{}",
          },
          transaction,
        });
      }
    });

    await service.relayEvents();
    await eventually(async () => {
      await service.relayEvents();
      const left = await service.sequelize.query(
        `SELECT 1 FROM quizzes.outbox WHERE payload->>'marker' LIKE :pattern`,
        { replacements: { pattern: `%-${run}` }, type: QueryTypes.SELECT },
      );
      expect(left).toEqual([]);
    }, 10000);

    expect(attempts).toEqual([markers[0], markers[1], markers[1], markers[2]]);
    await eventually(async () => expect(received.filter((m) => m.endsWith(run))).toEqual(markers));
  } finally {
    broker.sendToChannel = original;
  }
});
