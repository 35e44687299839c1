/**
 * Durable domain events on a node without NATS: the in-process channel adapter. @moleculer/channels'
 * own "Fake" adapter hands a message to `broker.emit` and forgets it — the event bulkhead rejects
 * what exceeds its queue and a failing handler is never retried — so under load events were lost
 * (a gradebook seeded with 2,000 grades ended with 1,588). This one delivers every message to one
 * handler per consumer group with the same rules as the JetStream adapter: at most `maxInFlight`
 * handlers at once per group, a failed delivery tried again up to `maxRetries` times in all, then
 * dead-lettered (logged and counted). A publish waits for a free slot instead of being rejected,
 * so a burst slows the outbox relay (whose rows stay in the database) and never grows memory.
 */
import { Adapters } from "@moleculer/channels";
import * as ChannelConstants from "@moleculer/channels/src/constants";

/** A channel as @moleculer/channels hands it to an adapter (the fields this adapter reads). */
interface Channel {
  id: string;
  name: string;
  group: string;
  maxInFlight?: number;
  maxRetries?: number;
  handler(payload: unknown, raw: RawMessage): Promise<unknown>;
}

/** What a handler receives as its raw message; `parseMessageHeaders` reads `headers`. */
export interface RawMessage {
  payload: unknown;
  headers: Record<string, string> | undefined;
  redelivered: number;
}

/** Counts free handler slots of one consumer group; waiters are served in arrival order. */
export class Slots {
  private free: number;
  private readonly waiting: Array<() => void> = [];

  constructor(size: number) {
    this.free = size;
  }

  acquire(): Promise<void> {
    if (this.free > 0) {
      this.free -= 1;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.free += 1;
  }
}

interface Subscription {
  chan: Channel;
  slots: Slots;
  inFlight: Set<Promise<void>>;
}

interface BaseAdapterShape {
  opts: { maxInFlight: number; maxRetries: number };
  logger: { warn(...args: unknown[]): void; error(...args: unknown[]): void };
  connected: boolean;
  initChannelActiveMessages(id: string): void;
  stopChannelActiveMessages(id: string): void;
  addChannelActiveMessages(id: string, ids: string[]): void;
  removeChannelActiveMessages(id: string, ids: string[]): void;
  metricsIncrement(metric: string, chan: Channel): void;
}
const BaseAdapter = Adapters.Base as unknown as new (options?: object) => BaseAdapterShape;

const {
  METRIC_CHANNELS_MESSAGES_RETRIES_TOTAL: METRIC_RETRIES,
  METRIC_CHANNELS_MESSAGES_ERRORS_TOTAL: METRIC_ERRORS,
  METRIC_CHANNELS_MESSAGES_DEAD_LETTERING_TOTAL: METRIC_DEAD_LETTERED,
} = ChannelConstants;

/** Pause before the n-th redelivery: 100 ms, 200 ms, 400 ms… at most 2 s. */
export function redeliveryDelayMs(redelivered: number): number {
  return Math.min(100 * 2 ** (redelivered - 1), 2000);
}

let messageSeq = 0;

export class InProcessChannelAdapter extends BaseAdapter {
  /** Channel name → consumer group → subscription. */
  private readonly channels = new Map<string, Map<string, Subscription>>();

  async connect(): Promise<void> {
    this.connected = true;
  }

  async disconnect(): Promise<void> {
    this.connected = false;
  }

  async subscribe(chan: Channel): Promise<void> {
    if (chan.maxInFlight == null) chan.maxInFlight = this.opts.maxInFlight;
    if (chan.maxRetries == null) chan.maxRetries = this.opts.maxRetries;
    const groups = this.channels.get(chan.name) ?? new Map<string, Subscription>();
    groups.set(chan.group, { chan, slots: new Slots(chan.maxInFlight), inFlight: new Set() });
    this.channels.set(chan.name, groups);
    this.initChannelActiveMessages(chan.id);
  }

  /** Stops taking messages for the group, then waits for the ones being handled. */
  async unsubscribe(chan: Channel): Promise<void> {
    const groups = this.channels.get(chan.name);
    const subscription = groups?.get(chan.group);
    if (!groups || !subscription) return;
    groups.delete(chan.group);
    await Promise.all(subscription.inFlight);
    this.stopChannelActiveMessages(chan.id);
  }

  /** Resolves once every consumer group has taken the message (a handler slot is its own). */
  async publish(
    channelName: string,
    payload: unknown,
    opts: { headers?: Record<string, string> } = {},
  ): Promise<void> {
    const groups = this.channels.get(channelName);
    if (!groups) return;
    await Promise.all(
      [...groups.values()].map(async (subscription) => {
        await subscription.slots.acquire();
        // Each group gets its own copy, as it would from a broker.
        const delivery = this.deliver(subscription, structuredClone(payload), opts.headers).finally(
          () => {
            subscription.inFlight.delete(delivery);
            subscription.slots.release();
          },
        );
        subscription.inFlight.add(delivery);
      }),
    );
  }

  private async deliver(
    { chan }: Subscription,
    payload: unknown,
    headers: Record<string, string> | undefined,
  ): Promise<void> {
    const id = `m${(messageSeq += 1)}`;
    const attempts = Math.max(1, chan.maxRetries ?? 1);
    this.addChannelActiveMessages(chan.id, [id]);
    try {
      for (let redelivered = 0; ; redelivered += 1) {
        try {
          await chan.handler(payload, { payload, headers, redelivered });
          return;
        } catch (err) {
          this.metricsIncrement(METRIC_ERRORS, chan);
          if (redelivered + 1 >= attempts) {
            this.metricsIncrement(METRIC_DEAD_LETTERED, chan);
            this.logger.error(
              `'${chan.name}' message dead-lettered for group '${chan.group}' after ${attempts} attempts:`,
              (err as Error).message,
            );
            return;
          }
          this.metricsIncrement(METRIC_RETRIES, chan);
          this.logger.warn(
            `'${chan.name}' handler of '${chan.group}' failed; redelivering:`,
            (err as Error).message,
          );
          await new Promise((done) => setTimeout(done, redeliveryDelayMs(redelivered + 1)));
        }
      }
    } finally {
      this.removeChannelActiveMessages(chan.id, [id]);
    }
  }
}

export const IN_PROCESS_ADAPTER = "InProcess";
(Adapters as unknown as { register(name: string, adapter: unknown): void }).register(
  IN_PROCESS_ADAPTER,
  InProcessChannelAdapter,
);
