/**
 * What the bridge needs to know from a client's first packet, read without decoding or
 * re-encoding it: that it is a CONNECT [MQTT-3.1.0-1], its protocol version (to offer the right
 * WebSocket subprotocol upstream and to answer in the right CONNACK format) and its client id
 * (for logs). The username and password are never read. The bytes are relayed unchanged; the
 * broker validates them fully.
 */

import { vbiLength } from '../../mqtt/bytes';
import { MqttError } from '../../mqtt/errors';
import { readRemainingLength } from '../../mqtt/remaining-length';

const CONNECT_TYPE = 1;

export interface ConnectSummary {
  /** 'MQTT' (3.1.1, 5.0) or 'MQIsdp' (3.1) */
  readonly protocolName: string;
  /** Protocol level: 3 (3.1), 4 (3.1.1), 5 (5.0) */
  readonly level: number;
  /** Empty when the client asks the server to assign one */
  readonly clientId: string;
}

/** Reads a whole CONNECT packet; undefined when it is not one, or too short to be well formed. */
export function peekConnect(packet: Uint8Array): ConnectSummary | undefined {
  if (packet.length < 2 || packet[0] >> 4 !== CONNECT_TYPE) return undefined;
  const start = variableHeaderOffset(packet);
  if (start === undefined) return undefined;
  const reader = new Reader(packet, start);
  const protocolName = reader.string();
  const level = reader.byte();
  reader.skip(3); // flags, keep alive
  if (level === 5) reader.skip(reader.varint()); // CONNECT properties
  const clientId = reader.string();
  if (protocolName === undefined || level === undefined || clientId === undefined) return undefined;
  return { protocolName, level, clientId };
}

/**
 * The WebSocket subprotocol to offer upstream: `mqttv3.1` for MQTT 3.1 clients (protocol name
 * MQIsdp), as API Gateway's `$connect` of Stratus expects, else `mqtt` [MQTT-6.0.0-3].
 */
export function subprotocolFor(connect: ConnectSummary): 'mqtt' | 'mqttv3.1' {
  return connect.protocolName === 'MQIsdp' ? 'mqttv3.1' : 'mqtt';
}

/**
 * CONNACK refusing the connection because the broker cannot be reached: return code 3 "Server
 * unavailable" (3.1, 3.1.1), reason code 0x88 "Server unavailable" with no properties (5.0).
 * The bridge closes the connection right after it [MQTT-3.2.2-7] (3.1.1: [MQTT-3.2.2-5]).
 */
export function serverUnavailableConnack(level: number): Uint8Array {
  return level === 5 ? Uint8Array.of(0x20, 0x03, 0x00, 0x88, 0x00) : Uint8Array.of(0x20, 0x02, 0x00, 0x03);
}

/**
 * The CONNACK for a client the broker refused at the WebSocket upgrade (the `$connect`
 * authorizer's 401 or 403): return code 5 "Not authorized" (3.1, 3.1.1), reason code 0x87 (5.0).
 * Unlike "Server unavailable", it tells the client that retrying as it is will not help.
 */
export function notAuthorizedConnack(level: number): Uint8Array {
  return level === 5 ? Uint8Array.of(0x20, 0x03, 0x00, 0x87, 0x00) : Uint8Array.of(0x20, 0x02, 0x00, 0x05);
}

/** v5 DISCONNECT with reason code 0x95 "Packet too large" and no properties. */
export const PACKET_TOO_LARGE_DISCONNECT = Uint8Array.of(0xe0, 0x02, 0x95, 0x00);

/**
 * Offset of the variable header, just past the Remaining Length (lib/mqtt's reader); undefined
 * when the Remaining Length is cut short or malformed.
 */
function variableHeaderOffset(packet: Uint8Array): number | undefined {
  try {
    const remaining = readRemainingLength(packet, 1, packet.length);
    return remaining < 0 ? undefined : 1 + vbiLength(remaining);
  } catch (error) {
    if (error instanceof MqttError) return undefined;
    throw error;
  }
}

/** A forgiving cursor: every read past the end yields undefined. */
class Reader {
  constructor(
    private readonly bytes: Uint8Array,
    private offset: number,
  ) {}

  byte(): number | undefined {
    return this.offset < this.bytes.length ? this.bytes[this.offset++] : ((this.offset = Infinity), undefined);
  }

  skip(n: number | undefined): void {
    this.offset = n === undefined ? Infinity : this.offset + n;
  }

  varint(): number | undefined {
    let value = 0;
    for (let i = 0, multiplier = 1; i < 4; i++, multiplier *= 128) {
      const byte = this.byte();
      if (byte === undefined) return undefined;
      value += (byte & 0x7f) * multiplier;
      if ((byte & 0x80) === 0) return value;
    }
    return undefined;
  }

  string(): string | undefined {
    const high = this.byte();
    const low = this.byte();
    if (high === undefined || low === undefined) return undefined;
    const end = this.offset + ((high << 8) | low);
    if (end > this.bytes.length) return undefined;
    const text = Buffer.from(this.bytes.buffer, this.bytes.byteOffset + this.offset, end - this.offset).toString('utf8');
    this.offset = end;
    return text;
  }
}
