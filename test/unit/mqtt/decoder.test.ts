/**
 * The incremental decoder: splits, the maximum packet size checked before buffering, the protocol
 * version following CONNECT, and ownership of buffered bytes.
 */

import { describe, expect, it } from 'vitest';
import { MalformedPacketError, PacketTooLargeError } from '../../../lib/mqtt/errors';
import { createDecoder, decode, encode } from '../../../lib/mqtt/index';
import type { ConnectPacket, Packet, PublishPacket } from '../../../lib/mqtt/types';
import { expectMqttError } from './helpers';

const publish = (payload: number[], properties?: PublishPacket['properties']): PublishPacket => {
  const p: PublishPacket = { type: 'publish', topic: 't', payload: Uint8Array.from(payload), qos: 0, retain: false, dup: false };
  if (properties) p.properties = properties;
  return p;
};
const connect5: ConnectPacket = {
  type: 'connect', protocolName: 'MQTT', protocolVersion: 5, clean: true, keepAlive: 30, clientId: 'c',
};

describe('createDecoder / decode', () => {
  it('mutates the state it is given and returns that same object', () => {
    const state = createDecoder({ protocolVersion: 4 });
    const result = decode(state, encode({ type: 'pingreq' }, 4));
    expect(result.state).toBe(state);
    expect(result.packets).toEqual([{ type: 'pingreq' }]);
  });

  it('defaults to protocol 4 and no size limit', () => {
    const state = createDecoder();
    expect(state.protocolVersion).toBe(4);
    expect(state.maxPacketSize).toBe(268_435_460);
  });

  it('decodes several packets from one chunk and an empty chunk to nothing', () => {
    const state = createDecoder();
    const bytes = Uint8Array.from([...encode({ type: 'pingreq' }, 4), ...encode(publish([1, 2]), 4), 0xd0, 0x00]);
    expect(decode(state, bytes).packets).toEqual([{ type: 'pingreq' }, publish([1, 2]), { type: 'pingresp' }]);
    expect(decode(state, new Uint8Array(0)).packets).toEqual([]);
  });

  it('decodes one packet fed one byte at a time', () => {
    const packet = publish(Array.from({ length: 300 }, (_, i) => i & 0xff));
    const bytes = encode(packet, 4);
    const state = createDecoder();
    const out: Packet[] = [];
    for (let i = 0; i < bytes.length; i++) out.push(...decode(state, bytes.subarray(i, i + 1)).packets);
    expect(out).toEqual([packet]);
    expect(state.pending).toBeNull();
  });

  it('refuses a packet over maxPacketSize from its fixed header, before any body byte arrives', () => {
    const state = createDecoder({ maxPacketSize: 1000 });
    // fixed header announcing a 2,097,151-byte body; no body bytes given
    expectMqttError(() => decode(state, Uint8Array.from([0x30, 0xff, 0xff, 0x7f])), PacketTooLargeError, 0x95);
    // same header split across chunks
    const split = createDecoder({ maxPacketSize: 1000 });
    expect(decode(split, Uint8Array.from([0x30, 0xff])).packets).toEqual([]);
    expectMqttError(() => decode(split, Uint8Array.from([0xff, 0x7f])), PacketTooLargeError, 0x95);
  });

  it('maxPacketSize counts the whole packet, fixed header included', () => {
    const bytes = encode(publish([1, 2, 3]), 4); // 2 + 3 + 3 = 8 bytes
    expect(bytes.length).toBe(8);
    expect(decode(createDecoder({ maxPacketSize: 8 }), bytes).packets).toHaveLength(1);
    expectMqttError(() => decode(createDecoder({ maxPacketSize: 7 }), bytes), PacketTooLargeError, 0x95);
  });

  it('switches to the protocol level of a decoded CONNECT, within one chunk and across chunks', () => {
    const v5publish = publish([9], { userProperties: [['a', 'b']] });
    const stream = Uint8Array.from([...encode(connect5, 5), ...encode(v5publish, 5), ...encode({ type: 'auth', reasonCode: 0 }, 5)]);
    const state = createDecoder({ protocolVersion: 4 });
    expect(decode(state, stream).packets).toEqual([connect5, v5publish, { type: 'auth', reasonCode: 0 }]);
    expect(state.protocolVersion).toBe(5);

    const split = createDecoder({ protocolVersion: 4 });
    const cut = encode(connect5, 5).length - 1;
    expect(decode(split, stream.subarray(0, cut)).packets).toEqual([]);
    expect(decode(split, stream.subarray(cut)).packets).toEqual([connect5, v5publish, { type: 'auth', reasonCode: 0 }]);
  });

  it('a 3.1.1 CONNECT makes a v5 decoder refuse AUTH afterwards', () => {
    const v4connect: ConnectPacket = { ...connect5, protocolVersion: 4 };
    const state = createDecoder({ protocolVersion: 5 });
    decode(state, encode(v4connect, 4));
    expect(state.protocolVersion).toBe(4);
    expectMqttError(() => decode(state, Uint8Array.from([0xf0, 0x00])), MalformedPacketError, 0x81);
  });

  it('copies an incomplete tail: reusing the chunk afterwards does not corrupt the packet', () => {
    const bytes = encode(publish([1, 2, 3, 4, 5, 6]), 4);
    const chunk = bytes.slice(0, 5);
    const state = createDecoder();
    expect(decode(state, chunk).packets).toEqual([]);
    chunk.fill(0xee); // the caller reuses its buffer
    expect(decode(state, bytes.slice(5)).packets).toEqual([publish([1, 2, 3, 4, 5, 6])]);
  });

  it('a packet completed from buffered bytes is not touched by later chunks', () => {
    const a = encode(publish([1, 1, 1, 1]), 4);
    const b = encode(publish([2, 2, 2, 2]), 4);
    const state = createDecoder();
    decode(state, a.subarray(0, 3));
    const [first] = decode(state, Uint8Array.from([...a.subarray(3), ...b.subarray(0, 3)])).packets;
    decode(state, b.subarray(3));
    decode(state, Uint8Array.from([...a.subarray(0, 4)]));
    expect(first).toEqual(publish([1, 1, 1, 1]));
  });

  it('a header split inside the Remaining Length is completed from the next chunk', () => {
    const packet = publish(new Array(200).fill(7));
    const bytes = encode(packet, 4); // 0x30, 2-byte remaining length, ...
    const state = createDecoder();
    expect(decode(state, bytes.subarray(0, 2)).packets).toEqual([]);
    expect(state.pendingTotal).toBe(0);
    expect(decode(state, bytes.subarray(2)).packets).toEqual([packet]);
  });
});
