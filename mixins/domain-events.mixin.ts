/**
 * Publishing and consuming durable domain events. Publishers call `publishEvent`; consumers
 * declare `channels: { "student.deleted": durableConsumer(handler) }` (group = service name).
 */
import type { Context, ServiceSchema } from "moleculer";
import { DOMAIN_EVENTS, envelope, type DomainEventName } from "../lib/domain-events";
import { requestScope } from "../lib/logging";

interface ChannelAdapter {
  addPrefixTopic(name: string): string;
  createStream?(name: string, subjects: string[], options: object): Promise<unknown>;
}

type ChannelBroker = {
  channelAdapter?: ChannelAdapter;
  sendToChannel(name: string, payload: object, opts?: { ctx?: Context }): Promise<void>;
};

export interface DomainEventsThis {
  publishEvent(ctx: Context, name: DomainEventName, payload: object): Promise<void>;
}

/** A channel consumer run inside the request's log scope (its id travels with the message). */
export function durableConsumer<TThis, TParams>(
  handler: (this: TThis, ctx: Context<TParams>) => Promise<void>,
) {
  return {
    context: true,
    handler(this: TThis, ctx: Context<TParams, { user?: { id: string } | null }>) {
      return requestScope.run(
        { requestID: ctx.requestID ?? null, action: "channel", userId: ctx.meta.user?.id ?? null },
        () => handler.call(this, ctx),
      );
    },
  };
}

export const DomainEventsMixin: Partial<ServiceSchema> = {
  methods: {
    async publishEvent(ctx: Context, name: DomainEventName, payload: object): Promise<void> {
      const broker = ctx.broker as unknown as ChannelBroker;
      await broker.sendToChannel(name, envelope(payload), { ctx });
    },
  },

  /** JetStream refuses a publish to a stream no consumer created yet: create them all first. */
  async started(this: { broker: unknown }) {
    const adapter = (this.broker as ChannelBroker).channelAdapter;
    if (!adapter?.createStream) return;
    for (const name of DOMAIN_EVENTS) {
      const subject = adapter.addPrefixTopic(name);
      await adapter.createStream(subject.split(".").join("_"), [subject], {});
    }
  },
};
