/**
 * Items of the `messages` table, all under the client id (sort key `itemKey`):
 * - `counter`: the packet id allocator, the Receive Maximum window and the queue counts;
 * - `out#00042`: an outbound message in flight (persistent sessions only), by packet id;
 * - `q#0000000000000007`: a queued message, by queue sequence (zero-padded, so keys sort FIFO);
 * - `in#00042`: an inbound QoS 2 receipt.
 * Every item carries the session `epoch` and the TTL `expiresAt`. A PUBLISH is stored with the
 * will codec of the sessions table (payload as B, v5 properties as JSON with binary values
 * tagged), so payloads and properties round-trip exactly.
 */
import type { PublishPacket } from '../../mqtt/types';
import type { InflightMessage, OutboundMessage } from '../message-port';
import { TABLE_SCHEMAS } from '../schema';
import { num, optional, recordCodec, required, str, strOneOf, type AttributeCodec, type Item } from './marshal';
import { willCodec } from './session-codec';

export const PK = TABLE_SCHEMAS.messages.partitionKey.name;
export const SK = TABLE_SCHEMAS.messages.sortKey?.name ?? 'itemKey';

export const COUNTER_KEY = 'counter';
export const INFLIGHT_PREFIX = 'out#';
export const QUEUE_PREFIX = 'q#';
const RECEIPT_PREFIX = 'in#';
/** Just above every `out#` key ('$' follows '#'): the end of the counter..in-flight key range. */
export const INFLIGHT_RANGE_END = 'out$';

const pad = (n: number, width: number) => String(n).padStart(width, '0');
export const inflightKey = (packetId: number) => `${INFLIGHT_PREFIX}${pad(packetId, 5)}`;
export const queueKey = (sequence: number) => `${QUEUE_PREFIX}${pad(sequence, 16)}`;
/** A mark that a drain is taking (or took) the queued message of that sequence: ./message-queue.ts. */
export const TAKEN_PREFIX = 'taken#';
export const takenKey = (sequence: number) => `${TAKEN_PREFIX}${pad(sequence, 16)}`;
export const receiptKey = (packetId: number) => `${RECEIPT_PREFIX}${pad(packetId, 5)}`;

export function itemKeyOf(clientId: string, itemKey: string): Item {
  return { [PK]: { S: clientId }, [SK]: { S: itemKey } };
}

/** A PUBLISH as stored: no packet id, DUP 0 (it is set when resent). */
const publishCodec: AttributeCodec<PublishPacket> = {
  encode(packet) {
    const { topic, payload, qos, retain, properties } = packet;
    return willCodec.encode({ topic, payload, qos, retain, ...(properties !== undefined && { properties }) });
  },
  decode(attribute) {
    const will = willCodec.decode(attribute);
    if (will === undefined) return undefined;
    const packet: PublishPacket = { type: 'publish', topic: will.topic, payload: will.payload, qos: will.qos, retain: will.retain, dup: false };
    if (will.properties !== undefined) packet.properties = will.properties;
    return packet;
  },
};

interface StoredMessage {
  clientId: string;
  itemKey: string;
  epoch: string;
  packet: PublishPacket;
  /** absent: never expires (null in the port) */
  messageExpiresAt?: number;
  sequence: number;
  expiresAt: number;
}

export type QueuedItem = StoredMessage;
export interface InflightItem extends StoredMessage {
  packetId: number;
  stage: 'publish' | 'pubrel';
}

const messageFields = {
  clientId: required(str),
  itemKey: required(str),
  epoch: required(str),
  packet: required(publishCodec),
  messageExpiresAt: optional(num),
  sequence: required(num),
  expiresAt: required(num),
};

export const queuedCodec = recordCodec<QueuedItem>('messages', messageFields);
export const inflightCodec = recordCodec<InflightItem>('messages', {
  ...messageFields,
  packetId: required(num),
  stage: required(strOneOf(['publish', 'pubrel'])),
});

export function storedFields(message: OutboundMessage): Pick<StoredMessage, 'packet' | 'messageExpiresAt'> {
  const { packetId: _id, ...packet } = message.packet;
  return {
    packet: { ...packet, dup: false },
    ...(message.messageExpiresAt !== null && { messageExpiresAt: message.messageExpiresAt }),
  };
}

export function toOutbound(item: StoredMessage): OutboundMessage {
  return { packet: item.packet, messageExpiresAt: item.messageExpiresAt ?? null };
}

export function toInflight(item: InflightItem): InflightMessage {
  return { ...toOutbound(item), packetId: item.packetId, stage: item.stage, sequence: item.sequence };
}

/**
 * The counter item. Condition expressions cannot do arithmetic, so the queue bound is kept as a
 * count (`queued`) next to the tail sequence (`queueTail`), not as tail - head.
 */
export interface Counter {
  epoch: string;
  /** The last packet id handed out (0: none yet) */
  next: number;
  /** Window slots taken: the size of `ids` */
  inflight: number;
  /** Outstanding packet ids (a Number Set; absent when empty) */
  ids: Set<number>;
  /** Send order of the last reservation */
  sequence: number;
  /** Messages waiting in the queue */
  queued: number;
  /** Queue sequence of the last enqueued message */
  queueTail: number;
  /** The session's gate as stored (lib/store/gate.ts); absent: none yet */
  gate?: string;
  /** When the last reservation was taken, epoch seconds (0: never) */
  reservedAt: number;
  /** The request token of the last write that set it (./request-token.ts) */
  rq?: string;
  /** The request token of the last enqueue (its slot is `queueTail`) */
  eq?: string;
  expiresAt: number;
}

export function counterFrom(item: Item | undefined): Counter | undefined {
  const epoch = item?.epoch?.S;
  if (item === undefined || epoch === undefined) return undefined;
  const n = (name: string) => Number(item[name]?.N ?? 0);
  return {
    epoch,
    next: n('next'),
    inflight: n('inflight'),
    ids: new Set((item.ids?.NS ?? []).map(Number)),
    sequence: n('sequence'),
    queued: n('queued'),
    queueTail: n('queueTail'),
    ...(item.gate?.S === undefined ? {} : { gate: item.gate.S }),
    reservedAt: n('reservedAt'),
    ...(item.rq?.S === undefined ? {} : { rq: item.rq.S }),
    ...(item.eq?.S === undefined ? {} : { eq: item.eq.S }),
    expiresAt: n('expiresAt'),
  };
}

/**
 * A random packet id not in `outstanding`. Concurrent reservations for one client (separate
 * invocations fanning out to it) then propose different ids, and all pass the same conditional
 * write; proposing "the next one" made them collide round after round. Ids need not be
 * sequential: the send order is the counter's `sequence`.
 */
export function randomFreePacketId(outstanding: ReadonlySet<number>, random: () => number = Math.random): number {
  for (let i = 0; i < 16; i++) {
    const id = 1 + Math.floor(random() * 65535);
    if (!outstanding.has(id)) return id;
  }
  return nextFreePacketId(1 + Math.floor(random() * 65535), outstanding);
}

/** The packet id after `last` that is not outstanding: 1..65535, wrapping, never 0 [MQTT-2.2.1-4]. */
export function nextFreePacketId(last: number, outstanding: ReadonlySet<number>): number {
  let id = last;
  for (let i = 0; i < 65535; i++) {
    id = (id % 65535) + 1;
    if (!outstanding.has(id)) return id;
  }
  throw new RangeError('every packet id is in flight');
}
