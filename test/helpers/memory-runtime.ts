/**
 * The whole runtime on the in-memory adapters: the three route handlers of lib/runtime/handlers.ts
 * over the memory stores and a MemoryDelivery, with a clock the test moves. A test opens
 * connections with `$connect` events shaped as API Gateway shapes them, sends MQTT packets in
 * `$default` events (base64 text, one WebSocket message per call), reads back what was posted to
 * each connection (decoded with lib/mqtt), and ends them with `$disconnect`.
 *
 * The clock moves 1 ms per event, so events have distinct, increasing `requestTimeEpoch`s (the
 * session store orders CONNECTs by them); `advance` moves it further.
 */
import { parseBrokerConfig, type BrokerConfigInput } from '../../lib/broker';
import type { GatewayResult } from '../../lib/gateway/events';
import { MemoryDelivery } from '../../lib/gateway/memory-delivery';
import { silentLogger, type Logger } from '../../lib/log';
import { connectPacket } from './packets';
import {
  createDecoder,
  decode,
  encode,
  type AckPacket,
  type ConnectPacket,
  type Packet,
  type ProtocolVersion,
  type PublishPacket,
  type QoS,
} from '../../lib/mqtt';
import { noCredentialStore, type Authenticator } from '../../lib/runtime/auth';
import { closeFound } from '../../lib/runtime/disconnect-path';
import { publishWill } from '../../lib/runtime/effects/will';
import { createHandlers } from '../../lib/runtime/handlers';
import { createMetrics, type MetricName } from '../../lib/runtime/metrics';
import { DEFAULT_PUBLISH_RATE, PublishRateLimiter, type PublishRate } from '../../lib/runtime/publish-rate';
import type { RouteHandlers, RuntimeDeps } from '../../lib/runtime/types';
import type { InflightMessage } from '../../lib/store/message-port';
import {
  MemoryConnectionStore,
  MemoryMessageStore,
  MemoryRetainedStore,
  MemorySessionStore,
  MemorySubscriptionStore,
} from '../../lib/store/memory';

/** 2026-11-21T12:00:00Z: the clock's start unless the test picks another. */
export const T0 = Date.UTC(2026, 10, 21, 12, 0, 0);

const GATEWAY = {
  domainName: 'abc123.execute-api.eu-west-1.amazonaws.com',
  stage: 'mqtt',
  apiId: 'abc123',
  identity: { sourceIp: '203.0.113.7', userAgent: 'vitest' },
};

export interface MemoryRuntimeOptions {
  /** Overrides of the broker configuration; anonymous clients are allowed unless this says not. */
  readonly broker?: BrokerConfigInput;
  /** @default noCredentialStore(true) */
  readonly authenticate?: Authenticator;
  /** @default 100 */
  readonly maxQueued?: number;
  /** @default T0 */
  readonly start?: number;
  /**
   * Ordered ingress: closes the broker finds (a post's 410 included) are queued with this instead
   * of run at once. @default none (direct ingress)
   */
  readonly queueClose?: RuntimeDeps['queueClose'];
  /** @default silentLogger */
  readonly log?: Logger;
  /** The per-client publish rate limit, measured on the test's clock. @default DEFAULT_PUBLISH_RATE */
  readonly publishRate?: PublishRate;
}

export interface MemoryStores {
  readonly connections: MemoryConnectionStore;
  readonly sessions: MemorySessionStore;
  readonly subscriptions: MemorySubscriptionStore;
  readonly retained: MemoryRetainedStore;
  readonly messages: MemoryMessageStore;
}

export interface MemoryRuntime {
  readonly deps: RuntimeDeps;
  readonly handlers: RouteHandlers;
  readonly delivery: MemoryDelivery;
  readonly stores: MemoryStores;
  /** The name of every metric flushed so far, once per flush that carried it. */
  readonly metrics: MetricName[];
  /** The sum of a metric's values flushed so far. */
  metricTotal(name: MetricName): number;
  now(): number;
  advance(ms: number): void;
  /** `$connect` with the `mqtt` subprotocol; the connection is live on `@connections` once accepted. */
  open(version: ProtocolVersion, connectionId?: string): Promise<TestConnection>;
  /** `open`, then a CONNECT (`fields` override); throws unless the answer starts with CONNACK 0x00. */
  connected(version: ProtocolVersion, fields?: Partial<ConnectPacket>, connectionId?: string): Promise<TestConnection>;
}

export function memoryRuntime(options: MemoryRuntimeOptions = {}): MemoryRuntime {
  let now = options.start ?? T0;
  const clock = () => now;
  const metrics: MetricName[] = [];
  const totals = new Map<MetricName, number>();
  const record = (line: string) => {
    const values = JSON.parse(line) as Record<string, unknown>;
    for (const name of metricNames(line)) {
      metrics.push(name);
      totals.set(name, (totals.get(name) ?? 0) + Number(values[name]));
    }
  };
  const sessions = new MemorySessionStore({ clock });
  const stores: MemoryStores = {
    connections: new MemoryConnectionStore({ clock }),
    sessions,
    subscriptions: new MemorySubscriptionStore({ clock, sessions }),
    retained: new MemoryRetainedStore({ clock }),
    messages: new MemoryMessageStore({ clock }),
  };
  // As in lib/runtime/deps.ts: a post that finds a connection gone closes that connection (with
  // no `queueClose`, its disconnect path runs at once, as with direct ingress).
  const delivery = new MemoryDelivery({
    onGone: async (goneConnectionId) => {
      await closeFound(deps, goneConnectionId, 'gone');
    },
    onThrottled: () => deps.metrics.add('DeliveryThrottled'),
    // The pacer's waits under 429s move the test's clock instead of taking real time.
    clock: {
      now: clock,
      sleep: async (ms) => {
        const until = clock() + ms;
        await Promise.resolve();
        if (now < until) now = until;
      },
    },
  });
  const deps: RuntimeDeps = {
    ...stores,
    scan: stores.connections,
    maxQueued: options.maxQueued ?? 100,
    maxReceives: 5,
    publishWill: (will, clientId) => publishWill(deps, will, clientId),
    delivery,
    broker: parseBrokerConfig({ allowAnonymous: true, ...options.broker }),
    publishLimiter: new PublishRateLimiter(options.publishRate ?? DEFAULT_PUBLISH_RATE),
    authenticate: options.authenticate ?? noCredentialStore(true),
    allowBinary: false,
    log: options.log ?? silentLogger,
    metrics: createMetrics(record, clock),
    now: clock,
    ...(options.queueClose !== undefined ? { queueClose: options.queueClose } : {}),
  };
  const handlers = createHandlers(deps);
  const tick = () => (now += 1);
  let connections = 0;
  const runtime: MemoryRuntime = {
    deps,
    handlers,
    delivery,
    stores,
    metrics,
    metricTotal: (name) => totals.get(name) ?? 0,
    now: clock,
    advance: (ms) => {
      now += ms;
    },
    async open(version, connectionId = `conn-${++connections}=`) {
      const connectedAt = tick();
      const result = await handlers.connect(connectEvent(connectionId, connectedAt));
      if (result.statusCode !== 200) throw new Error(`$connect refused with ${result.statusCode}`);
      delivery.open(connectionId, { connectedAt: new Date(connectedAt), lastActiveAt: new Date(connectedAt) });
      return new TestConnection(runtime, connectionId, version, connectedAt, tick);
    },
    async connected(version, fields, connectionId) {
      const connection = await runtime.open(version, connectionId);
      const answer = await connection.connect(fields);
      const connack = answer[0];
      if (connack?.type !== 'connack' || connack.reasonCode !== 0) {
        throw new Error(`CONNECT not accepted: ${JSON.stringify(answer)}`);
      }
      return connection;
    },
  };
  return runtime;
}

/** One WebSocket connection through the gateway, seen from the client's side. */
export class TestConnection {
  private read = 0;
  private messages = 0;

  constructor(
    private readonly runtime: MemoryRuntime,
    readonly id: string,
    readonly version: ProtocolVersion,
    private readonly connectedAt: number,
    private readonly tick: () => number,
  ) {}

  /** Sends the packets in one WebSocket message (one `$default` event). */
  send(...packets: Packet[]): Promise<GatewayResult> {
    return this.sendBytes(concat(packets.map((p) => encode(p, this.version))));
  }

  /** Sends raw bytes in one WebSocket message, base64 in a text frame as API Gateway relays it. */
  sendBytes(bytes: Uint8Array): Promise<GatewayResult> {
    return this.sendBody(Buffer.from(bytes).toString('base64'));
  }

  /** Sends a message body as API Gateway relays it: a text frame, or a binary one (`isBase64Encoded`). */
  sendBody(body: string, isBase64Encoded = false): Promise<GatewayResult> {
    return this.runtime.handlers.message(this.event('$default', 'MESSAGE', { body, isBase64Encoded }));
  }

  /** Sends a CONNECT (clean, keep alive 60, client id = the connection id unless `fields` say). */
  async connect(fields: Partial<ConnectPacket> = {}): Promise<Packet[]> {
    await this.send(connectPacket(this.version, { clientId: `client-${this.id.replace(/=$/, '')}`, ...fields }));
    return this.take();
  }

  /**
   * `$disconnect`, as API Gateway sends it once the socket has closed. 1006 (abnormal closure) by
   * default: a clean close code (1000, 1005) with a will makes the handler wait 1.5 s
   * (DISCONNECT_GRACE_MS) for a DISCONNECT that may still be in flight.
   */
  close(statusCode = 1006): Promise<GatewayResult> {
    this.runtime.delivery.simulateGone(this.id);
    return this.runtime.handlers.disconnect(
      this.event('$disconnect', 'DISCONNECT', { headers: { Host: GATEWAY.domainName } }, { disconnectStatusCode: statusCode }),
    );
  }

  /** Every packet posted to this connection so far, decoded, in order. */
  received(): Packet[] {
    const decoder = createDecoder({ protocolVersion: this.version });
    const { packets, state } = decode(decoder, this.runtime.delivery.received(this.id));
    if (state.pending !== null) throw new Error(`connection ${this.id} received a cut packet`);
    return packets;
  }

  /** The packets posted since the last `take` (or `connect`). */
  take(): Packet[] {
    const all = this.received();
    const fresh = all.slice(this.read);
    this.read = all.length;
    return fresh;
  }

  /** How many WebSocket messages were posted to this connection. */
  posts(): number {
    return this.runtime.delivery.posts.filter((post) => post.connectionId === this.id).length;
  }

  /** The broker's QoS 1/2 messages to this connection's session not yet acknowledged (persistent sessions). */
  async inflight(): Promise<InflightMessage[]> {
    const record = await this.runtime.stores.connections.get(this.id);
    if (record?.clientId === undefined) return [];
    return this.runtime.stores.messages.inflight(record.clientId, record.sessionEpoch ?? '');
  }

  /** The broker closed this connection (a `@connections` DELETE). */
  get closedByServer(): boolean {
    return this.runtime.delivery.closed.includes(this.id);
  }

  private event(routeKey: string, eventType: string, fields: object, context: object = {}): unknown {
    return {
      requestContext: {
        ...GATEWAY,
        connectionId: this.id,
        connectedAt: this.connectedAt,
        requestTimeEpoch: this.tick(),
        routeKey,
        eventType,
        ...(eventType === 'MESSAGE' ? { messageId: `${this.id}-m${++this.messages}` } : {}),
        ...context,
      },
      ...fields,
    };
  }
}

export { connectPacket };

/** An application message's payload. */
export function text(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

/** A PUBLISH from a client: not retained, DUP 0; `packetId` is required for QoS 1/2. */
export function publishPacket(topic: string, payload: string, qos: QoS, fields: Partial<PublishPacket> = {}): PublishPacket {
  return { type: 'publish', topic, payload: text(payload), qos, retain: false, dup: false, ...fields };
}

/** A PUBACK, PUBREC, PUBREL or PUBCOMP as lib/mqtt decodes it: v5 always carries its reason code. */
export function ackPacket<T extends 'puback' | 'pubrec' | 'pubrel' | 'pubcomp'>(
  type: T,
  packetId: number,
  version: ProtocolVersion,
  reasonCode = 0,
): AckPacket<T> {
  return version === 5 ? { type, packetId, reasonCode } : { type, packetId };
}

/** CONNECT fields of a session that outlives its connection: Clean Session 0 (3.1.1), an hour (5.0). */
export function persistentSession(version: ProtocolVersion): Partial<ConnectPacket> {
  return version === 5 ? { clean: false, properties: { sessionExpiryInterval: 3600 } } : { clean: false };
}

/** The `$connect` event of a WebSocket upgrade offering the `mqtt` subprotocol. */
export function connectEvent(connectionId: string, requestTimeEpoch: number): unknown {
  return {
    headers: { Host: GATEWAY.domainName, 'Sec-WebSocket-Protocol': 'mqtt' },
    multiValueHeaders: { Host: [GATEWAY.domainName], 'Sec-WebSocket-Protocol': ['mqtt'] },
    requestContext: { ...GATEWAY, connectionId, connectedAt: requestTimeEpoch, requestTimeEpoch, routeKey: '$connect', eventType: 'CONNECT' },
    isBase64Encoded: false,
  };
}

function metricNames(line: string): MetricName[] {
  return Object.keys(JSON.parse(line) as Record<string, unknown>).filter((key) => key !== '_aws') as MetricName[];
}

function concat(parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}
