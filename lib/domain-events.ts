/**
 * Durable domain events (@moleculer/channels): NATS JetStream in a cluster, an in-process adapter
 * when there is no transporter, so both run the same publishing and consuming code.
 */
import { randomUUID } from "crypto";
import { Adapters } from "@moleculer/channels";
import type { CampusConfig } from "./config";
import { IN_PROCESS_ADAPTER } from "./in-process-channels";

/** Every domain event Campus publishes; their streams are created at start by every node. */
export const DOMAIN_EVENTS = [
  "user.registered",
  "student.deleted",
  "student.emailChanged",
  "enrollment.created",
  "enrollment.dropped",
  "enrollment.promoted",
  "course.updated",
  "course.deleted",
  "lesson.rescheduled",
  "lesson.cancelled",
  "grade.recorded",
  "grade.item.changed",
  "quiz.scored",
  // ---- profiles (issue 19): what earns an achievement, and the award itself ----
  "submission.turned_in",
  "enrollment.completed",
  "achievement.awarded",
  // ---- end profiles ----
  "report.requested",
  "report.succeeded",
  "report.failed",
] as const;
export type DomainEventName = (typeof DOMAIN_EVENTS)[number];

/** Delivery attempts before a message is moved to the dead-letter stream. */
export const MAX_DELIVERIES = 5;
export const DEAD_LETTER_QUEUE = "DEAD_LETTER";
/** How long JetStream keeps events: a consumer down for longer loses them. */
export const EVENT_RETENTION_NS = 7 * 24 * 60 * 60 * 1e9;

export interface DomainEventEnvelope {
  /** Unique per event: consumers use it to handle a redelivered event once. */
  eventId: string;
  occurredAt: string;
}

export function envelope<T extends object>(payload: T): T & DomainEventEnvelope {
  return { ...payload, eventId: randomUUID(), occurredAt: new Date().toISOString() };
}

/** NATS connection options from a `nats://[user:pass@|token@]host:port[,…]` URL. */
export function natsConnectionOptions(url: string): {
  servers: string[];
  user?: string;
  pass?: string;
  token?: string;
} {
  const urls = url.split(",").map((part) => new URL(part.trim()));
  const first = urls[0];
  const credentials: { user?: string; pass?: string; token?: string } = {};
  if (first.username && first.password) {
    credentials.user = decodeURIComponent(first.username);
    credentials.pass = decodeURIComponent(first.password);
  } else if (first.username) {
    credentials.token = decodeURIComponent(first.username);
  }
  return { servers: urls.map((u) => u.host), ...credentials };
}

/**
 * True for the error JetStream gives the loser when two replicas create the same durable consumer
 * at the same instant: the consumer exists by then, so subscribing again binds to it.
 */
export function isConsumerCreationRace(err: unknown): boolean {
  return /consumer name already in use|consumer already exists/i.test(
    (err as Error | undefined)?.message ?? "",
  );
}

/** Runs `attempt` again (after `delayMs`, up to `attempts` times in all) while `retryable` says so. */
export async function retryWhile<T>(
  attempt: () => Promise<T>,
  retryable: (err: unknown) => boolean,
  attempts: number,
  delayMs: number,
): Promise<T> {
  for (let tried = 1; ; tried += 1) {
    try {
      return await attempt();
    } catch (err) {
      if (tried >= attempts || !retryable(err)) throw err;
      await new Promise((done) => setTimeout(done, delayMs * tried));
    }
  }
}

const SUBSCRIBE_ATTEMPTS = 5;
const SUBSCRIBE_RETRY_DELAY_MS = 200;

type ChannelSubscriber = {
  subscribe(chan: { id: string }, svc?: unknown): Promise<void>;
  activeMessages: Map<string, unknown[]>;
};
const NatsChannelAdapter = Adapters.NATS as unknown as new (options?: object) => ChannelSubscriber;

/**
 * The JetStream adapter, except that a replica which loses the race to create a durable consumer
 * subscribes again (and binds to the consumer the other replica created) instead of failing its
 * start: replicas of one service may start at the same moment.
 */
class ReplicaSafeNatsAdapter extends NatsChannelAdapter {
  override subscribe(chan: { id: string }, svc?: unknown): Promise<void> {
    return retryWhile(
      () => {
        // A failed attempt leaves the channel's (empty) in-flight list behind; the next one makes it again.
        this.activeMessages.delete(chan.id);
        return super.subscribe(chan, svc);
      },
      isConsumerCreationRace,
      SUBSCRIBE_ATTEMPTS,
      SUBSCRIBE_RETRY_DELAY_MS,
    );
  }
}
const REPLICA_SAFE_NATS = "ReplicaSafeNATS";
(Adapters as unknown as { register(name: string, adapter: unknown): void }).register(
  REPLICA_SAFE_NATS,
  ReplicaSafeNatsAdapter,
);

/** Handlers of one consumer group running at once on a node, on either adapter. */
const MAX_IN_FLIGHT = 10;

/** The channels adapter for this node: JetStream next to a NATS transporter, else in-process. */
export function channelsAdapter(config: CampusConfig): unknown {
  if (!config.transporter?.startsWith("nats://")) {
    return {
      type: IN_PROCESS_ADAPTER,
      options: { maxRetries: MAX_DELIVERIES, maxInFlight: MAX_IN_FLIGHT },
    };
  }
  return {
    type: REPLICA_SAFE_NATS,
    options: {
      maxRetries: MAX_DELIVERIES,
      maxInFlight: MAX_IN_FLIGHT,
      deadLettering: { enabled: true, queueName: DEAD_LETTER_QUEUE },
      nats: {
        connectionOptions: natsConnectionOptions(config.transporter),
        streamConfig: { max_age: EVENT_RETENTION_NS },
        // A new consumer group starts at the oldest kept event, so a service deployed after
        // events were published still gets them; ids make the replay harmless.
        consumerOptions: { config: { deliver_policy: "all" } },
      },
    },
  };
}
