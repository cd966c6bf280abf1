/**
 * One chaos client: MQTT.js through the Stratus transport, recording in the journal what the
 * oracle (./invariants.ts) needs: its publishes and their acks, the copies it receives, the
 * windows in which it was subscribed, its connections (for its will), and every CONNACK of a
 * persistent session that came without its session.
 *
 * Each connection carries a will (QoS 2, `will/<clientId>`) whose payload names the client and the
 * connection's number, so the witness tells wills apart. Subscriptions are made by hand on each
 * CONNACK that has no session (MQTT.js's resubscribe is off), so a lost session shows.
 */
import type { IConnackPacket, IPublishPacket, MqttClient } from 'mqtt';
import { connect } from '../../lib/client';
import type { ProtocolVersion } from '../../lib/mqtt';
import type { FinalCheck, LateFrame, PublishRecord, Receipt, WillConnection } from './invariants';

export const CHAOS_FILTER = 'chaos/#';
export const WILL_FILTER = 'will/#';

/** The journal, filled while the run goes: the oracle's input. */
export class Journal {
  readonly publishes: PublishRecord[] = [];
  readonly receipts: Receipt[] = [];
  readonly willConnections: WillConnection[] = [];
  readonly willsReceived: string[] = [];
  /** When each will arrived (for the report). */
  readonly willTimes: number[] = [];
  /** Publishes MQTT.js dropped unsent (parked behind its replay when the connection closed), sent again. */
  republished = 0;
  readonly sessionsLost: Record<string, number> = {};
  readonly finals: FinalCheck[] = [];
  /** The gateway's dropped frames of chaos clients (./run.ts fills it before each judgement). */
  readonly lateFrames: LateFrame[] = [];
  readonly subscribers: { clientId: string; clean: boolean; filters: string[]; windows: { from: number; to: number }[] }[] = [];
}

export interface ChaosClientSpec {
  readonly url: string;
  readonly clientId: string;
  readonly version: ProtocolVersion;
  readonly clean: boolean;
  readonly filter: string;
  /** Counted in the journal as a subscriber of chaos messages (the witness is not). */
  readonly subscriber: boolean;
  readonly will: boolean;
}

const SESSION_EXPIRY_S = 24 * 3600;

/** The User-Agent of a chaos client's connections: this prefix and its client id. */
export const CHAOS_USER_AGENT = 'stratus-chaos/';

export class ChaosClient {
  readonly mqtt: MqttClient;
  /** The number of the current (or next) connection. */
  private connection = 1;
  private acked = false;
  private graceful = false;
  private hadSession = false;
  private openWindow: { from: number; to: number } | undefined;
  private readonly record: Journal['subscribers'][number];
  private seq = 0;
  /** Set by `end()`: a publish that fails then is not sent again. */
  private ending = false;
  /** The connection on which the subscription was last made or found (Session Present 1). */
  private subscribedOn = 0;
  connected = false;
  /** Connections abruptly closed and closed with DISCONNECT by the run. */
  readonly forced = { abrupt: 0, graceful: 0 };

  constructor(
    private readonly spec: ChaosClientSpec,
    private readonly journal: Journal,
  ) {
    this.record = { clientId: spec.clientId, clean: spec.clean, filters: [spec.filter], windows: [] };
    if (spec.subscriber) journal.subscribers.push(this.record);
    this.mqtt = connect(spec.url, {
      clientId: spec.clientId,
      // Tells the gateway's dropped frames apart by client (./run.ts, `lateFrames`).
      wsOptions: { headers: { 'user-agent': `${CHAOS_USER_AGENT}${spec.clientId}` } },
      protocolVersion: spec.version,
      clean: spec.clean,
      keepalive: 30,
      reconnectPeriod: 250,
      connectTimeout: 15_000,
      resubscribe: false,
      ...(spec.version === 5 && !spec.clean ? { properties: { sessionExpiryInterval: SESSION_EXPIRY_S } } : {}),
      ...(spec.will ? { will: { topic: `will/${spec.clientId}`, payload: Buffer.from(this.willPayload()), qos: 2, retain: false } } : {}),
    });
    this.mqtt.on('connect', (connack) => this.onConnack(connack));
    this.mqtt.on('close', () => this.onClose());
    this.mqtt.on('message', (topic, payload, packet) => this.onMessage(topic, payload, packet));
  }

  get id(): string {
    return this.spec.clientId;
  }

  get clean(): boolean {
    return this.spec.clean;
  }

  /** Resolves once connected and subscribed on this connection; rejects after `ms`. */
  async ready(ms = 30_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!(this.connected && this.subscribedOn === this.connection)) {
      if (Date.now() > deadline) throw new Error(`${this.spec.clientId} not ready`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Publishes a chaos message; the journal records its start and its ack. */
  publish(qos: 1 | 2, payloadBytes: number): void {
    const id = `${this.spec.clientId}:${++this.seq}`;
    const topic = `chaos/${this.spec.clientId}/${qos}`;
    const entry: { -readonly [K in keyof PublishRecord]: PublishRecord[K] } = { id, publisher: this.spec.clientId, topic, qos, startedAt: Date.now() };
    this.journal.publishes.push(entry);
    const payload = Buffer.alloc(Math.max(payloadBytes, id.length + 1), '.');
    payload.write(`${id}|`);
    this.send(entry, payload);
  }

  /**
   * After a reconnect MQTT.js resends its unacknowledged packets one at a time and parks every new
   * publish until that replay is done; if the connection closes first, it fails the parked ones
   * with "Connection closed" and drops them, unsent (MqttClient._flushStoreProcessingQueue). A
   * device publishes them again, and so does this client: same id, same payload. It is not a
   * second copy of anything, since nothing was sent. (MQTT.js also answers "Connection closed"
   * for sent messages, but only when it ends a clean session that never reconnects; ours
   * reconnect, and nothing is sent again once `end()` began.)
   */
  private send(entry: { -readonly [K in keyof PublishRecord]: PublishRecord[K] }, payload: Buffer): void {
    this.mqtt.publish(entry.topic, payload, { qos: entry.qos }, (error) => {
      if (!error) {
        entry.ackedAt = Date.now();
        return;
      }
      if (this.ending || error.message !== 'Connection closed') return;
      this.journal.republished += 1;
      // Not from within the callback: MQTT.js is still iterating the parked publishes.
      setImmediate(() => {
        if (!this.ending) this.send(entry, payload);
      });
    });
  }

  /**
   * Drops the connection without DISCONNECT (its will is owed), or sends DISCONNECT (its will must
   * not go) and lets the server close it. Either way MQTT.js reconnects by itself, keeping its
   * session state (in-flight messages both ways), as a device does.
   */
  forceReconnect(graceful: boolean): void {
    if (!this.connected) return;
    if (graceful) {
      this.forced.graceful += 1;
      this.graceful = true;
      (this.mqtt as unknown as { _sendPacket(packet: { cmd: 'disconnect' }): void })._sendPacket({ cmd: 'disconnect' });
    } else {
      this.forced.abrupt += 1;
      this.mqtt.stream.destroy();
    }
  }

  /** Ends with DISCONNECT (no will owed), once its in-flight messages are done, or gives up after `ms`. */
  async end(ms = 10_000): Promise<void> {
    this.ending = true;
    this.graceful = this.connected;
    let timer: NodeJS.Timeout | undefined;
    const ended = await Promise.race([
      this.mqtt.endAsync(false).then(() => true, () => true),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms))),
    ]);
    clearTimeout(timer);
    if (ended) return;
    this.graceful = false; // no DISCONNECT went
    await this.mqtt.endAsync(true).catch(() => undefined);
  }

  private willPayload(): string {
    return `${this.spec.clientId}#${this.connection}`;
  }

  private onConnack(connack: IConnackPacket): void {
    this.connected = true;
    this.acked = true;
    const present = connack.sessionPresent;
    if (!this.spec.clean && this.hadSession && !present) {
      this.journal.sessionsLost[this.spec.clientId] = (this.journal.sessionsLost[this.spec.clientId] ?? 0) + 1;
    }
    if (this.spec.clean || !present) this.subscribe();
    else this.subscribedOn = this.connection;
  }

  private subscribe(): void {
    const connection = this.connection;
    this.mqtt.subscribe(this.spec.filter, { qos: 2 }, (error, granted) => {
      if (error || connection !== this.connection || granted?.[0]?.qos !== 2) return;
      this.hadSession = !this.spec.clean;
      this.subscribedOn = connection;
      if (this.spec.clean) {
        this.openWindow = { from: Date.now(), to: Infinity };
        this.record.windows.push(this.openWindow);
      } else if (this.record.windows.length === 0) {
        this.record.windows.push({ from: Date.now(), to: Infinity });
      }
    });
  }

  /** A connection ended: its will is owed or not; the next connection gets the next number. */
  private onClose(): void {
    if (this.openWindow !== undefined) this.openWindow.to = Date.now();
    this.openWindow = undefined;
    if (this.spec.will) {
      this.journal.willConnections.push({ clientId: this.spec.clientId, connection: this.connection, acked: this.acked, graceful: this.graceful, closedAt: Date.now() });
    }
    this.connection += 1;
    this.acked = false;
    this.graceful = false;
    this.connected = false;
    const will = this.mqtt.options.will;
    if (will !== undefined) will.payload = Buffer.from(this.willPayload());
  }

  private onMessage(topic: string, payload: Buffer, packet: IPublishPacket): void {
    const text = payload.toString('utf8');
    if (topic.startsWith('will/')) {
      this.journal.willsReceived.push(text);
      this.journal.willTimes.push(Date.now());
    }
    else {
      const messageId = text.slice(0, text.indexOf('|'));
      this.journal.receipts.push({ subscriber: this.spec.clientId, messageId, at: Date.now(), packetId: packet.messageId, dup: packet.dup });
    }
  }
}
