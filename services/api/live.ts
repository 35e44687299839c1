/**
 * `/ws`: live notifications on the gateway (`ws`). A client authenticates with its access token
 * in its first message within 5 s (else close 4401); pushes come through the broker (the
 * notifications service broadcasts `notifications.created`, every gateway replica delivers to its
 * own sockets). Text frames are JSON, binary frames MessagePack, answered in the client's form.
 * Bounds: frame size (`maxPayload`, close 1009), messages per second per socket (error, then
 * close 1008), the bytes waiting to be sent (a slow client is dropped), silence (75 s).
 */
import type { IncomingMessage, Server } from "http";
import type { Duplex } from "stream";
import { decode, encode } from "notepack.io";
import { WebSocketServer, type RawData, type WebSocket } from "ws";

export const CLOSE_UNAUTHORIZED = 4401;
const CLOSE_POLICY = 1008;

export interface LiveLimits {
  authTimeoutMs: number;
  pingIntervalMs: number;
  silenceMs: number;
  maxPayloadBytes: number;
  maxBufferedBytes: number;
  messagesPerSecond: number;
}

export const LIVE_LIMITS: LiveLimits = {
  authTimeoutMs: 5000,
  pingIntervalMs: 30000,
  silenceMs: 75000,
  maxPayloadBytes: 16 * 1024,
  maxBufferedBytes: 1024 * 1024,
  messagesPerSecond: 20,
};

export interface LiveOptions {
  /** The account behind an access token, or null (bad, expired, revoked, disabled). */
  authenticate(token: string): Promise<{ id: string } | null>;
  /** Marks one of the token's user's notifications read (`{type:"read", id}`). */
  markRead(token: string, id: string): Promise<void>;
  logger: { warn(...args: unknown[]): void };
  /** The connections gauge and the messages counter. */
  metrics?: { connections(count: number): void; message(direction: "in" | "out"): void };
  limits?: Partial<LiveLimits>;
}

interface Client {
  ws: WebSocket;
  token: string | null;
  userId: string | null;
  binary: boolean;
  lastSeen: number;
  windowStart: number;
  windowCount: number;
  authTimer: NodeJS.Timeout;
}

type Message = Record<string, unknown> & { type: string };

/** A client message, or why it is not one. */
export function parseMessage(data: RawData, isBinary: boolean): Message | { error: string } {
  let value: unknown;
  try {
    const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
    value = isBinary ? decode(bytes) : JSON.parse(bytes.toString("utf8"));
  } catch {
    return { error: isBinary ? "Malformed MessagePack" : "Malformed JSON" };
  }
  if (!value || typeof value !== "object" || Array.isArray(value))
    return { error: "A message is an object with a type" };
  if (typeof (value as { type?: unknown }).type !== "string")
    return { error: "A message is an object with a type" };
  return value as Message;
}

export class LiveSockets {
  private readonly wss: WebSocketServer;
  private readonly clients = new Set<Client>();
  private readonly byUser = new Map<string, Set<Client>>();
  private readonly heartbeat: NodeJS.Timeout;
  readonly limits: LiveLimits;

  constructor(
    server: Server,
    private readonly options: LiveOptions,
  ) {
    this.limits = { ...LIVE_LIMITS, ...options.limits };
    this.wss = new WebSocketServer({ noServer: true, maxPayload: this.limits.maxPayloadBytes });
    server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      if (new URL(req.url ?? "/", "http://localhost").pathname !== "/ws") {
        socket.destroy();
        return;
      }
      this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws));
    });
    this.heartbeat = setInterval(() => this.beat(), this.limits.pingIntervalMs);
    this.heartbeat.unref();
  }

  /** Open sockets (authenticated or not). */
  get connections(): number {
    return this.clients.size;
  }

  private accept(ws: WebSocket): void {
    const client: Client = {
      ws,
      token: null,
      userId: null,
      binary: false,
      lastSeen: Date.now(),
      windowStart: Date.now(),
      windowCount: 0,
      authTimer: setTimeout(() => {
        if (!client.userId) ws.close(CLOSE_UNAUTHORIZED, "Authentication required");
      }, this.limits.authTimeoutMs),
    };
    this.clients.add(client);
    this.options.metrics?.connections(this.clients.size);
    ws.on("message", (data, isBinary) => void this.receive(client, data, isBinary));
    ws.on("pong", () => (client.lastSeen = Date.now()));
    ws.on("error", () => ws.terminate());
    ws.on("close", () => this.forget(client));
  }

  private forget(client: Client): void {
    clearTimeout(client.authTimer);
    this.clients.delete(client);
    this.options.metrics?.connections(this.clients.size);
    if (client.userId) {
      const sockets = this.byUser.get(client.userId);
      sockets?.delete(client);
      if (sockets?.size === 0) this.byUser.delete(client.userId);
    }
  }

  private async receive(client: Client, data: RawData, isBinary: boolean): Promise<void> {
    const now = Date.now();
    client.lastSeen = now;
    this.options.metrics?.message("in");
    if (now - client.windowStart >= 1000) {
      client.windowStart = now;
      client.windowCount = 0;
    }
    client.windowCount += 1;
    if (client.windowCount > this.limits.messagesPerSecond * 2) {
      client.ws.close(CLOSE_POLICY, "Too many messages");
      return;
    }
    if (client.windowCount > this.limits.messagesPerSecond) {
      this.send(
        client,
        { type: "error", code: "RATE_LIMITED", message: "Too many messages" },
        isBinary,
      );
      return;
    }
    const message = parseMessage(data, isBinary);
    if ("error" in message) {
      this.send(client, { type: "error", code: "MALFORMED", message: message.error }, isBinary);
      return;
    }
    if (!client.userId) {
      if (message.type !== "auth" || typeof message.token !== "string") {
        client.ws.close(CLOSE_UNAUTHORIZED, "Authenticate first");
        return;
      }
      const identity = await this.options.authenticate(message.token).catch(() => null);
      if (!identity) {
        client.ws.close(CLOSE_UNAUTHORIZED, "Invalid or expired token");
        return;
      }
      clearTimeout(client.authTimer);
      client.userId = identity.id;
      client.token = message.token;
      client.binary = isBinary;
      let sockets = this.byUser.get(identity.id);
      if (!sockets) this.byUser.set(identity.id, (sockets = new Set()));
      sockets.add(client);
      this.send(client, { type: "authenticated", userId: identity.id }, isBinary);
      return;
    }
    switch (message.type) {
      case "ping":
        this.send(client, { type: "pong" }, isBinary);
        return;
      case "read":
        if (typeof message.id !== "string") {
          this.send(
            client,
            { type: "error", code: "INVALID", message: "read needs an id" },
            isBinary,
          );
          return;
        }
        try {
          await this.options.markRead(client.token!, message.id);
          this.send(client, { type: "read", id: message.id }, isBinary);
        } catch {
          this.send(
            client,
            { type: "error", code: "NOT_FOUND", message: "No such notification" },
            isBinary,
          );
        }
        return;
      default:
        this.send(
          client,
          { type: "error", code: "UNKNOWN_TYPE", message: `Unknown message type` },
          isBinary,
        );
    }
  }

  /** Sends, or drops a client that does not read fast enough (its buffer past the bound). */
  private send(client: Client, message: object, binary = client.binary): void {
    if (client.ws.readyState !== client.ws.OPEN) return;
    if (client.ws.bufferedAmount > this.limits.maxBufferedBytes) {
      this.options.logger.warn("Live socket dropped: the client reads too slowly", {
        userId: client.userId,
      });
      client.ws.terminate();
      return;
    }
    client.ws.send(binary ? encode(message) : JSON.stringify(message), { binary });
    this.options.metrics?.message("out");
  }

  /** Delivers a message to every socket of this user on this gateway. */
  push(userId: string, message: object): number {
    const sockets = this.byUser.get(userId);
    for (const client of sockets ?? []) this.send(client, message);
    return sockets?.size ?? 0;
  }

  /** Checks the accounts again (after an account changed): a refused token loses its socket. */
  async recheck(userId: string): Promise<void> {
    for (const client of [...(this.byUser.get(userId) ?? [])]) {
      const identity = await this.options.authenticate(client.token!).catch(() => null);
      if (!identity) client.ws.close(CLOSE_UNAUTHORIZED, "Account no longer valid");
    }
  }

  private beat(): void {
    const now = Date.now();
    for (const client of this.clients) {
      if (now - client.lastSeen > this.limits.silenceMs) client.ws.terminate();
      else client.ws.ping();
    }
    // Tokens expire while sockets stay open; without a cacher no account change is broadcast.
    for (const userId of [...this.byUser.keys()]) void this.recheck(userId);
  }

  async close(): Promise<void> {
    clearInterval(this.heartbeat);
    for (const client of this.clients) client.ws.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }
}
