/**
 * What the spec requires of the broker's answer to one WebSocket message, judged from the bytes
 * sent (never from the mutation that made them). The message is first classified by the codec,
 * with the connection's protocol level, as the gateway delivers it:
 * - rejected (not base64, a binary frame, a codec error, a cut packet): the server closes the
 *   connection [MQTT-4.13.1-1]; after CONNACK a v5 client is told why in a DISCONNECT with a
 *   reason code of 0x80 or more (0x81 Malformed Packet, 0x82 Protocol Error: the codec's own)
 *   [MQTT-3.14.2-1], a 3.1/3.1.1 client gets nothing; before CONNACK at most a refusing CONNACK;
 * - packets: checked packet by packet where the spec leaves one answer (below), and always for
 *   the shape of the replies.
 */
import { decodeBody } from '../../lib/gateway/framing';
import { FramingError } from '../../lib/gateway/errors';
import { createDecoder, decode, MqttError, type Packet, type ProtocolVersion } from '../../lib/mqtt';

export interface FrameBody {
  readonly body: string;
  readonly isBase64Encoded: boolean;
}

/** The connection before the message: no CONNECT accepted yet, or connected at `version`. */
export type Phase = { readonly status: 'open' } | { readonly status: 'connected'; readonly version: ProtocolVersion; readonly acks: boolean };

export type Expected =
  | { readonly kind: 'rejected'; readonly code: number }
  | { readonly kind: 'packets'; readonly packets: readonly Packet[] };

/** What the broker did: the packets it posted on the connection during the message, and whether it closed it. */
export interface Observed {
  readonly bytes: Uint8Array;
  readonly closed: boolean;
}

const SERVER_ONLY = new Set<Packet['type']>(['connack', 'suback', 'unsuback', 'pingresp']);
const NEVER_FROM_SERVER = new Set<Packet['type']>(['connect', 'subscribe', 'unsubscribe', 'pingreq']);
const MALFORMED = 0x81;
const PROTOCOL_ERROR = 0x82;

/** The codec's reading of the message, as the broker's decoder reads it. */
export function expectationOf(frame: FrameBody, phase: Phase, maxPacketSize: number): Expected {
  let bytes: Uint8Array;
  try {
    bytes = decodeBody(frame, { allowBinary: false });
  } catch (error) {
    if (error instanceof FramingError) return { kind: 'rejected', code: MALFORMED };
    throw error;
  }
  const version = phase.status === 'connected' ? phase.version : undefined;
  try {
    const { packets, state } = decode(createDecoder({ protocolVersion: version, maxPacketSize }), bytes);
    return state.pending === null ? { kind: 'packets', packets } : { kind: 'rejected', code: MALFORMED };
  } catch (error) {
    if (error instanceof MqttError) return { kind: 'rejected', code: error.reasonCode };
    throw error;
  }
}

/** The level replies are encoded at: the connection's, or the CONNECT's; 4 when neither is known. */
export function replyVersion(expected: Expected, phase: Phase): ProtocolVersion {
  if (phase.status === 'connected') return phase.version;
  const first = expected.kind === 'packets' ? expected.packets[0] : undefined;
  const level: number = first?.type === 'connect' ? first.protocolVersion : 4;
  return level === 3 || level === 5 ? level : 4;
}

/** The replies, decoded; a string naming the problem when they are not whole packets. */
export function decodeReplies(bytes: Uint8Array, version: ProtocolVersion): Packet[] | string {
  try {
    const { packets, state } = decode(createDecoder({ protocolVersion: version }), bytes);
    return state.pending === null ? packets : 'the replies end inside a packet';
  } catch (error) {
    return `the replies do not decode at level ${version}: ${(error as Error).message}`;
  }
}

/** The first way the answer breaks the spec, or undefined. */
export function judge(expected: Expected, phase: Phase, sent: readonly Packet[], closed: boolean): string | undefined {
  const version = replyVersion(expected, phase);
  return (
    checkShape(sent, closed, version, phase) ??
    (expected.kind === 'rejected' ? checkRejected(expected.code, phase, sent, closed) : checkPackets(expected.packets, phase, sent, closed))
  );
}

/** Whatever the message: packets a server may send, CONNACK only first, DISCONNECT only last and v5 only. */
function checkShape(sent: readonly Packet[], closed: boolean, version: ProtocolVersion, phase: Phase): string | undefined {
  for (const [i, packet] of sent.entries()) {
    if (NEVER_FROM_SERVER.has(packet.type)) return `the server sent ${packet.type}`;
    if (packet.type === 'connack' && (phase.status === 'connected' || i > 0)) return 'a CONNACK that is not the first packet [MQTT-3.2.0-1]';
    if ((packet.type === 'disconnect' || packet.type === 'auth') && version !== 5) return `${packet.type} sent to a level ${version} client`;
    if (packet.type === 'disconnect') {
      if (i !== sent.length - 1 || !closed) return 'a DISCONNECT not followed by the close [MQTT-3.14.4-1]';
      if ((packet.reasonCode ?? 0) < 0x80) return `a server DISCONNECT with reason ${hex(packet.reasonCode ?? 0)}`;
    }
  }
  return undefined;
}

function checkRejected(code: number, phase: Phase, sent: readonly Packet[], closed: boolean): string | undefined {
  if (!closed) return 'a rejected message left the connection open [MQTT-4.13.1-1]';
  if (phase.status === 'open') return checkRefusal(sent, 4, true);
  if (phase.version !== 5) return sent.length === 0 ? undefined : 'a 3.1.1 client got packets before the close';
  const [disconnect] = sent;
  if (sent.length !== 1 || disconnect.type !== 'disconnect') return 'no DISCONNECT before the close [MQTT-4.13.1-1]';
  // A codec code only a CONNACK carries (0x84, 0x85) comes from a second CONNECT: Protocol Error [MQTT-3.1.0-2].
  const expected = code === MALFORMED || code === PROTOCOL_ERROR ? code : code === 0x84 || code === 0x85 ? PROTOCOL_ERROR : undefined;
  if (expected !== undefined && disconnect.reasonCode !== expected) {
    return `DISCONNECT ${hex(disconnect.reasonCode ?? 0)} for a codec error ${hex(code)}`;
  }
  return undefined;
}

/** Before CONNACK: nothing, or one CONNACK refusing (v5: 0x80 or more; 3.1.1: 1..5), Session Present 0. */
function checkRefusal(sent: readonly Packet[], version: ProtocolVersion, optional: boolean): string | undefined {
  if (sent.length === 0) return optional ? undefined : 'no CONNACK';
  const [connack] = sent;
  if (sent.length !== 1 || connack.type !== 'connack') return 'packets other than one CONNACK before the close';
  const refused = version === 5 ? connack.reasonCode >= 0x80 : connack.reasonCode >= 1 && connack.reasonCode <= 5;
  if (!refused) return `a CONNACK ${hex(connack.reasonCode)} that refuses nothing before the close`;
  return connack.sessionPresent ? 'Session Present 1 in a refusing CONNACK [MQTT-3.2.2-6]' : undefined;
}

function checkPackets(packets: readonly Packet[], phase: Phase, sent: readonly Packet[], closed: boolean): string | undefined {
  const [first] = packets;
  if (first === undefined) return sent.length > 0 || closed ? 'an answer to an empty message' : undefined;
  if (phase.status === 'open') return checkFirstMessage(packets, sent, closed);
  if (first.type === 'connect' || SERVER_ONLY.has(first.type)) {
    // [MQTT-3.1.0-2] a second CONNECT; a packet only a server sends (MQTT 5.0 section 4.13)
    if (!closed) return `${first.type} from a client left the connection open`;
    const expected = phase.version === 5 ? 1 : 0;
    if (sent.length !== expected || (expected === 1 && sent[0].type === 'disconnect' && sent[0].reasonCode !== PROTOCOL_ERROR)) {
      return `${first.type} from a client not answered as a Protocol Error`;
    }
    return undefined;
  }
  return checkRest(packets, phase.version, phase.acks, sent, closed);
}

/** The first message of a connection: a CONNECT first [MQTT-3.1.0-1], CONNACK first in reply [MQTT-3.2.0-1]. */
function checkFirstMessage(packets: readonly Packet[], sent: readonly Packet[], closed: boolean): string | undefined {
  const [first] = packets;
  if (first.type !== 'connect') {
    return closed && sent.length === 0 ? undefined : 'a first packet other than CONNECT not closed silently [MQTT-3.1.0-1]';
  }
  const connack = sent[0];
  if (connack?.type !== 'connack') return closed ? checkRefusal(sent, 4, true) : 'no CONNACK to a CONNECT [MQTT-3.2.0-1]';
  if (connack.reasonCode !== 0) {
    if (!closed) return 'a refused CONNECT left the connection open [MQTT-3.2.2-7]';
    return checkRefusal(sent, replyVersion({ kind: 'packets', packets }, { status: 'open' }), false);
  }
  return checkRest(packets.slice(1), first.protocolVersion as ProtocolVersion, true, sent.slice(1), closed);
}

/** Connected: what must close, and the acknowledgements owed when nothing closed. */
function checkRest(packets: readonly Packet[], version: ProtocolVersion, acks: boolean, sent: readonly Packet[], closed: boolean): string | undefined {
  const ends = packets.find((p) => p.type === 'connect' || p.type === 'disconnect' || SERVER_ONLY.has(p.type));
  if (ends !== undefined && !closed) return `a ${ends.type} from a client left the connection open`;
  if (closed && version === 5 && !packets.some((p) => p.type === 'disconnect')) {
    const last = sent[sent.length - 1];
    if (last?.type !== 'disconnect') return 'a v5 connection closed without a DISCONNECT [MQTT-4.13.1-1]';
  }
  if (closed || !acks) return undefined;
  const owed = packets.flatMap(ackOwed);
  const given = sent.filter((p) => ACKS.has(p.type)).map(ackOf);
  return owed.join(' ') === given.join(' ') ? undefined : `acknowledgements ${given.join(' ') || 'none'} for ${owed.join(' ') || 'none'}`;
}

const ACKS = new Set<Packet['type']>(['suback', 'unsuback', 'pingresp', 'puback', 'pubrec', 'pubcomp']);

/** The acknowledgement a client packet is owed, as `type:packetId[:count]`. */
function ackOwed(packet: Packet): string[] {
  switch (packet.type) {
    case 'subscribe': // [MQTT-3.8.4-1] [MQTT-3.8.4-2], one code per filter
      return [`suback:${packet.packetId}:${packet.subscriptions.length}`];
    case 'unsubscribe': // [MQTT-3.10.4-4] [MQTT-3.10.4-5]
      return [`unsuback:${packet.packetId}`];
    case 'pingreq': // [MQTT-3.12.4-1]
      return ['pingresp'];
    case 'publish': // [MQTT-4.3.2-4] [MQTT-4.3.3-8]
      return packet.qos === 0 ? [] : [`${packet.qos === 1 ? 'puback' : 'pubrec'}:${packet.packetId}`];
    case 'pubrel': // [MQTT-4.3.3-11]
      return [`pubcomp:${packet.packetId}`];
    default:
      return [];
  }
}

function ackOf(packet: Packet): string {
  switch (packet.type) {
    case 'suback':
      return `suback:${packet.packetId}:${packet.reasonCodes.length}`;
    case 'pingresp':
      return 'pingresp';
    default:
      return `${packet.type}:${'packetId' in packet ? packet.packetId : '?'}`;
  }
}

export function hex(n: number): string {
  return `0x${n.toString(16).padStart(2, '0')}`;
}
