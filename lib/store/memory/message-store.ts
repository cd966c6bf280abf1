/**
 * In-memory MessageStore for unit tests: the same contract as the DynamoDB adapter, each operation
 * atomic (one turn of the event loop, as one conditional write is one request). State per client:
 * a counter (epoch, outstanding packet ids, sequences, queue count), in-flight messages, the queue
 * and inbound QoS 2 receipts, each entry stamped with its epoch and TTL like the DynamoDB items.
 */
import { epochSeconds, isExpired, systemClock, type Clock } from '../clock';
import { gateOf, gatePasses, gateValue } from '../gate';
import {
  DEFAULT_MESSAGE_TTL_SECONDS,
  NEWEST_CONNECTION,
  OLDEST_CONNECTION,
  RECLAIM_AFTER_SECONDS,
  RELEASED_RECEIPT_TTL_SECONDS,
  type EnqueueOptions,
  type Enqueued,
  type GateOpening,
  type InflightMessage,
  type WindowRead,
  type Into,
  type MessageStore,
  type OutboundMessage,
  type QueuedMessage,
  type Reservation,
  type ReserveOptions,
} from '../message-port';
import type { EpochScope } from '../subscription-port';
import { inScope } from '../subscription-rules';
import type { MemoryStoreOptions } from './connection-store';


export interface MemoryMessageStoreOptions extends MemoryStoreOptions {
  /** TTL of every entry, seconds from its write; default DEFAULT_MESSAGE_TTL_SECONDS */
  ttlSeconds?: number;
  /** The first packet id of a new counter; default 1 */
  firstPacketId?: number;
}

interface Stamp {
  epoch: string;
  expiresAt: number;
}

interface Counter extends Stamp {
  /** The last packet id handed out */
  next: number;
  ids: Set<number>;
  sequence: number;
  queued: number;
  queueTail: number;
  /** The stored gate (lib/store/gate.ts); undefined: none yet */
  gate?: string;
  /** When the last reservation was taken, epoch seconds */
  reservedAt: number;
  /** The request token of the last enqueue */
  rq?: string;
}

interface ClientState {
  counter?: Counter;
  inflight: Map<number, InflightMessage & Stamp>;
  queue: Map<number, QueuedMessage & Stamp>;
  /** `released`: the order stamp of the connection whose PUBREL released it */
  /** `rq`: the request token of the receive that recorded it (cleared by the release) */
  receipts: Map<number, Stamp & { released?: string; rq?: string }>;
}

export class MemoryMessageStore implements MessageStore {
  private readonly clients = new Map<string, ClientState>();
  private readonly clock: Clock;
  private readonly ttlSeconds: number;
  private readonly firstPacketId: number;

  constructor(options: MemoryMessageStoreOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.ttlSeconds = options.ttlSeconds ?? DEFAULT_MESSAGE_TTL_SECONDS;
    this.firstPacketId = options.firstPacketId ?? 1;
  }

  async reserve(clientId: string, sessionEpoch: string, receiveMaximum: number, options: ReserveOptions = {}): Promise<Reservation> {
    const counter = this.counter(clientId, sessionEpoch);
    if (counter === undefined || counter.ids.size >= receiveMaximum) return { outcome: 'window-full' };
    if (options.behindQueue === true && counter.queued > 0) return { outcome: 'window-full' };
    if (!gatePasses(counter.gate, options)) return { outcome: 'window-full' };
    const packetId = nextFreePacketId(counter.next, counter.ids);
    counter.next = packetId;
    counter.ids.add(packetId);
    counter.sequence += 1;
    counter.expiresAt = this.expiresAt();
    counter.reservedAt = epochSeconds(this.clock());
    return { outcome: 'reserved', packetId, sequence: counter.sequence };
  }

  async putInflight(clientId: string, sessionEpoch: string, message: InflightMessage): Promise<void> {
    const stored = { ...stripped(message), packetId: message.packetId, stage: message.stage, sequence: message.sequence };
    const existing = this.state(clientId).inflight.get(message.packetId);
    if (existing !== undefined && existing.epoch > sessionEpoch) return; // a newer session owns the id
    this.state(clientId).inflight.set(message.packetId, { ...stored, epoch: sessionEpoch, expiresAt: this.expiresAt() });
  }

  async complete(clientId: string, sessionEpoch: string, packetId: number, _options: { stored?: boolean } = {}): Promise<{ queued: number }> {
    const state = this.state(clientId);
    if (state.counter?.epoch !== sessionEpoch || !state.counter.ids.delete(packetId)) return { queued: 0 };
    state.inflight.delete(packetId);
    return { queued: [...state.queue.values()].filter((m) => m.epoch === sessionEpoch).length };
  }

  async released(clientId: string, sessionEpoch: string, packetId: number): Promise<void> {
    const message = this.state(clientId).inflight.get(packetId);
    if (message?.epoch === sessionEpoch) message.stage = 'pubrel';
  }

  async inflight(clientId: string, sessionEpoch: string): Promise<InflightMessage[]> {
    return (await this.readWindow(clientId, sessionEpoch)).messages;
  }

  async readWindow(clientId: string, sessionEpoch: string): Promise<WindowRead> {
    const state = this.state(clientId);
    const counter = state.counter;
    if (counter === undefined || !this.isCurrent(counter, sessionEpoch)) return { messages: [], unstored: [] };
    const stored = [...state.inflight.values()].filter((m) => this.isCurrent(m, sessionEpoch) && counter.ids.has(m.packetId));
    const held = new Set(stored.map((m) => m.packetId));
    const orphans = [...counter.ids].filter((id) => !held.has(id));
    // Slots whose message was never stored, once no reserving invocation can still store it
    const reclaimable = counter.reservedAt + RECLAIM_AFTER_SECONDS <= epochSeconds(this.clock());
    if (reclaimable) for (const id of orphans) counter.ids.delete(id);
    const messages = stored.sort((a, b) => a.sequence - b.sequence).map(({ epoch: _e, expiresAt: _x, ...message }) => structuredClone(message));
    return { messages, unstored: reclaimable ? [] : orphans };
  }

  async enqueue(clientId: string, sessionEpoch: string, message: OutboundMessage, maxQueued: number, options: EnqueueOptions = {}): Promise<Enqueued> {
    const counter = this.counter(clientId, sessionEpoch);
    // The same logical enqueue again (its slot noted, or its token still on the counter): queued
    // already, since here the slot and the message are one atomic step
    if (options.slot?.sequence !== undefined) return { outcome: 'queued', gate: options.slot.gate ?? gateOf(counter?.gate) };
    if (counter !== undefined && options.requestToken !== undefined && counter.rq === options.requestToken) {
      return { outcome: 'queued', gate: gateOf(counter.gate) };
    }
    if (counter === undefined || counter.queued >= maxQueued) return { outcome: 'full' };
    counter.rq = options.requestToken;
    counter.queued += 1;
    counter.queueTail += 1;
    counter.expiresAt = this.expiresAt();
    const sequence = counter.queueTail;
    this.state(clientId).queue.set(sequence, { ...stripped(message), sequence, epoch: sessionEpoch, expiresAt: this.expiresAt() });
    const gate = gateOf(counter.gate);
    if (options.slot !== undefined) Object.assign(options.slot, { sequence, gate });
    return { outcome: 'queued', gate };
  }

  async holdGate(clientId: string, sessionEpoch: string, connectionId: string): Promise<{ queued: number }> {
    const counter = this.counter(clientId, sessionEpoch);
    if (counter === undefined) return { queued: 0 }; // a newer session's counter: the caller is stale
    counter.gate = gateValue('held', connectionId);
    counter.expiresAt = this.expiresAt();
    return { queued: counter.queued };
  }

  async openGate(clientId: string, sessionEpoch: string, connectionId: string, receiveMaximum: number, force = false): Promise<GateOpening> {
    const counter = this.state(clientId).counter;
    if (counter === undefined || !this.isCurrent(counter, sessionEpoch) || counter.gate !== gateValue('held', connectionId)) return 'lost';
    if (!force && counter.queued > 0 && counter.ids.size < receiveMaximum) return 'queued';
    counter.gate = gateValue('open', connectionId);
    return 'opened';
  }

  async closeGate(clientId: string, sessionEpoch: string, connectionId: string): Promise<void> {
    const counter = this.state(clientId).counter;
    if (counter?.epoch !== sessionEpoch) return;
    const ours = counter.gate === undefined || counter.gate === gateValue('held', connectionId) || counter.gate === gateValue('open', connectionId);
    if (ours) counter.gate = gateValue('closed');
  }

  async takeQueued(clientId: string, sessionEpoch: string, limit: number): Promise<QueuedMessage[]> {
    return this.take(clientId, sessionEpoch, limit);
  }

  private take(clientId: string, sessionEpoch: string, limit: number): QueuedMessage[] {
    const state = this.state(clientId);
    const now = this.clock();
    const taken: QueuedMessage[] = [];
    const keys = [...state.queue.keys()].sort((a, b) => a - b);
    for (const key of keys) {
      if (taken.length >= limit) break;
      const { epoch, expiresAt, ...message } = state.queue.get(key) as QueuedMessage & Stamp;
      if (epoch > sessionEpoch) continue; // a newer session's: the caller is stale
      state.queue.delete(key);
      if (epoch !== sessionEpoch) continue;
      if (state.counter?.epoch === sessionEpoch) state.counter.queued -= 1;
      const dropped = isExpired(expiresAt, now) || (message.messageExpiresAt !== null && message.messageExpiresAt <= now);
      if (!dropped) taken.push(structuredClone(message));
    }
    return taken;
  }

  async dequeue(clientId: string, sessionEpoch: string, into: Into): Promise<QueuedMessage | undefined> {
    const state = this.state(clientId);
    const held = state.inflight.get(into.packetId);
    if (into.keep && held?.epoch === sessionEpoch && held.sequence === into.sequence) {
      // This reservation holds a message already: a rerun of a take whose answer was lost
      const { epoch: _e, expiresAt: _x, packetId: _p, stage: _s, ...message } = structuredClone(held);
      return message;
    }
    // One atomic step, as the adapter's transaction: taken from the queue and kept in flight.
    const [message] = this.take(clientId, sessionEpoch, 1);
    if (message !== undefined && into.keep) {
      const { sequence: _q, ...outbound } = message;
      const inflight = { ...stripped(outbound), packetId: into.packetId, stage: 'publish' as const, sequence: into.sequence };
      state.inflight.set(into.packetId, { ...inflight, epoch: sessionEpoch, expiresAt: this.expiresAt() });
    }
    return message;
  }

  async receiveQos2(clientId: string, sessionEpoch: string, packetId: number, from = NEWEST_CONNECTION, requestToken?: string): Promise<'new' | 'duplicate'> {
    const receipts = this.state(clientId).receipts;
    const receipt = receipts.get(packetId);
    const live = receipt !== undefined && !isExpired(receipt.expiresAt, this.clock());
    // Recorded, a newer session's, or released by a newer connection (a late PUBLISH of an older one)
    if (live && (receipt.epoch > sessionEpoch || (receipt.epoch === sessionEpoch && !(receipt.released !== undefined && receipt.released <= from)))) {
      return 'duplicate';
    }
    receipts.set(packetId, { epoch: sessionEpoch, expiresAt: this.expiresAt(), ...(requestToken === undefined ? {} : { rq: requestToken }) });
    return 'new';
  }

  async forgetQos2(clientId: string, sessionEpoch: string, packetId: number, requestToken: string): Promise<void> {
    const receipts = this.state(clientId).receipts;
    const receipt = receipts.get(packetId);
    // Only the receipt this write recorded, not released since (a release replaces the token)
    if (receipt?.rq === requestToken && receipt.epoch === sessionEpoch && receipt.released === undefined) receipts.delete(packetId);
  }

  async releaseQos2(clientId: string, sessionEpoch: string, packetId: number, from = OLDEST_CONNECTION): Promise<'released' | 'unknown'> {
    const receipt = this.state(clientId).receipts.get(packetId);
    if (receipt === undefined || !this.isCurrent(receipt, sessionEpoch) || receipt.released !== undefined) return 'unknown';
    receipt.released = from;
    delete receipt.rq;
    receipt.expiresAt = epochSeconds(this.clock()) + RELEASED_RECEIPT_TTL_SECONDS;
    return 'released';
  }

  async deleteAll(clientId: string, scope: EpochScope): Promise<void> {
    const state = this.clients.get(clientId);
    if (state === undefined) return;
    if (state.counter !== undefined && inScope(state.counter.epoch, scope)) delete state.counter;
    for (const items of [state.inflight, state.queue, state.receipts] as Map<number, Stamp>[]) {
      for (const [key, item] of items) if (inScope(item.epoch, scope)) items.delete(key);
    }
    if (state.counter === undefined && state.inflight.size + state.queue.size + state.receipts.size === 0) this.clients.delete(clientId);
  }

  private state(clientId: string): ClientState {
    let state = this.clients.get(clientId);
    if (state === undefined) {
      state = { inflight: new Map(), queue: new Map(), receipts: new Map() };
      this.clients.set(clientId, state);
    }
    return state;
  }

  /**
   * The client's counter of this epoch; one of an older epoch (or expired) starts over. Undefined
   * when a live counter of a newer epoch exists (epochs sort in claim order): the caller is stale.
   */
  private counter(clientId: string, sessionEpoch: string): Counter | undefined {
    const state = this.state(clientId);
    const old = state.counter;
    if (old !== undefined && old.epoch > sessionEpoch && !isExpired(old.expiresAt, this.clock())) return undefined;
    if (old === undefined || !this.isCurrent(old, sessionEpoch)) {
      state.counter = {
        epoch: sessionEpoch,
        expiresAt: this.expiresAt(),
        next: state.counter === undefined ? this.firstPacketId - 1 : 0,
        ids: new Set(),
        sequence: 0,
        queued: 0,
        queueTail: 0,
        reservedAt: 0,
      };
    }
    return state.counter;
  }

  private isCurrent(stamp: Stamp, sessionEpoch: string): boolean {
    return stamp.epoch === sessionEpoch && !isExpired(stamp.expiresAt, this.clock());
  }

  private expiresAt(): number {
    return epochSeconds(this.clock()) + this.ttlSeconds;
  }
}

/** A copy as stored: the PUBLISH without packet id, DUP 0. */
function stripped(message: OutboundMessage): OutboundMessage {
  const { packetId: _id, ...packet } = message.packet;
  return { packet: structuredClone({ ...packet, dup: false }), messageExpiresAt: message.messageExpiresAt };
}

/** The packet id after `last` that is not outstanding: 1..65535, wrapping, never 0 [MQTT-2.2.1-4]. */
function nextFreePacketId(last: number, outstanding: ReadonlySet<number>): number {
  let id = last;
  for (let i = 0; i < 65535; i++) {
    id = (id % 65535) + 1;
    if (!outstanding.has(id)) return id;
  }
  throw new RangeError('every packet id is in flight');
}
