/**
 * One test per validation rule, named after the normative statement it proves. Each asserts the
 * typed error class and its reason code, for decode and, where the rule can be broken by a packet
 * object, for encode too.
 */

import { describe, expect, it } from 'vitest';
import {
  MalformedPacketError, ProtocolViolationError, UnsupportedProtocolVersionError,
} from '../../../lib/mqtt/errors';
import { createDecoder, decode, decodePacket, encode } from '../../../lib/mqtt/index';
import { ConnackReturnCode, toV4ConnackReturnCode } from '../../../lib/mqtt/reason-codes';
import type { ConnectPacket, Packet, ProtocolVersion, PublishPacket } from '../../../lib/mqtt/types';
import { expectMqttError, frame, rawString, str } from './helpers';

const MALFORMED = 0x81;
const PROTOCOL = 0x82;
const UNSUPPORTED = 0x84;

const malformed = (bytes: Uint8Array, version: ProtocolVersion, specRef?: string) =>
  expectMqttError(() => decodePacket(bytes, version), MalformedPacketError, MALFORMED, specRef);
const violation = (bytes: Uint8Array, version: ProtocolVersion, specRef?: string) =>
  expectMqttError(() => decodePacket(bytes, version), ProtocolViolationError, PROTOCOL, specRef);
const encodeMalformed = (p: Packet, version: ProtocolVersion) =>
  expectMqttError(() => encode(p, version), MalformedPacketError, MALFORMED);
const encodeViolation = (p: Packet, version: ProtocolVersion) =>
  expectMqttError(() => encode(p, version), ProtocolViolationError, PROTOCOL);

/** A v3.1.1 CONNECT body with the given connect flags and client id 'c'. */
const connect4 = (flags: number, rest: number[] = []) => frame(0x10, [...str('MQTT'), 4, flags, 0, 10, ...str('c'), ...rest]);
const publish = (p: Partial<PublishPacket>): PublishPacket => ({
  type: 'publish', topic: 't', payload: new Uint8Array(0), qos: 0, retain: false, dup: false, ...p,
});
const connect = (p: Partial<ConnectPacket>): ConnectPacket => ({
  type: 'connect', protocolName: 'MQTT', protocolVersion: 4, clean: true, keepAlive: 0, clientId: 'c', ...p,
});

describe('fixed header', () => {
  it.each([
    ['PUBREL with flags 0000', [0x60, 0x02, 0, 1]],
    ['SUBSCRIBE with flags 0000', [0x80, 0x06, 0, 1, 0, 1, 0x61, 0]],
    ['UNSUBSCRIBE with flags 0000', [0xa0, 0x05, 0, 1, 0, 1, 0x61]],
    ['PUBACK with flags 0001', [0x41, 0x02, 0, 1]],
    ['CONNECT with flags 0010', [0x12, 0x00]],
    ['PINGREQ with flags 1000', [0xc8, 0x00]],
    ['DISCONNECT with flags 0010', [0xe2, 0x00]],
  ])('[MQTT-2.1.3-1] %s is malformed', (_, bytes) => {
    for (const version of [4, 5] as const) malformed(Uint8Array.from(bytes), version, 'MQTT-2.1.3-1');
  });

  it('MQTT 5.0 section 2.1.2: packet type 0 is reserved, and AUTH (15) does not exist before v5', () => {
    malformed(Uint8Array.from([0x00, 0x00]), 4);
    malformed(Uint8Array.from([0xf0, 0x00]), 4);
    malformed(Uint8Array.from([0xf0, 0x00]), 3);
    encodeViolation({ type: 'auth', reasonCode: 0 }, 4);
  });

  it('[MQTT-1.5.5-1] a Remaining Length of more than four bytes is malformed', () => {
    malformed(Uint8Array.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]), 4, 'MQTT-1.5.5-1');
    // the streaming decoder refuses it as soon as the fifth length byte is due
    expectMqttError(
      () => decode(createDecoder(), Uint8Array.from([0x30, 0x80, 0x80, 0x80, 0x80])),
      MalformedPacketError,
      MALFORMED,
    );
  });

  it('[MQTT-1.5.5-1] a Remaining Length not minimally encoded is malformed', () => {
    malformed(Uint8Array.from([0xc0, 0x80, 0x00]), 4, 'MQTT-1.5.5-1');
  });

  it('a Remaining Length that disagrees with the bytes is malformed (truncation or leftovers)', () => {
    malformed(Uint8Array.from([0x40, 0x02, 0x00]), 4);
    malformed(Uint8Array.from([0x40, 0x02, 0x00, 0x01, 0x00]), 4);
    malformed(Uint8Array.from([0xc0, 0x01, 0x00]), 4); // PINGREQ has no body
    malformed(Uint8Array.from([0x40, 0x03, 0x00, 0x01, 0x00]), 4); // v4 PUBACK is exactly 2 bytes
    malformed(Uint8Array.from([0x30]), 4);
  });
});

describe('UTF-8 strings', () => {
  it.each([
    ['overlong C0 80', [0xc0, 0x80]],
    ['lone continuation byte', [0x61, 0x80]],
    ['invalid byte FF', [0xff]],
    ['truncated three-byte sequence', [0xe2, 0x82]],
    ['surrogate U+D800 as ED A0 80', [0xed, 0xa0, 0x80]],
    ['surrogate U+DFFF as ED BF BF', [0xed, 0xbf, 0xbf]],
    ['code point above U+10FFFF', [0xf4, 0x90, 0x80, 0x80]],
    ['overlong four-byte F0 80 80 80', [0xf0, 0x80, 0x80, 0x80]],
  ])('[MQTT-1.5.4-1] ill-formed UTF-8 (%s) is malformed', (_, bad) => {
    malformed(frame(0x30, rawString(bad)), 4, 'MQTT-1.5.4-1');
    malformed(frame(0x30, [...rawString([...bad, ...Array(30).fill(0x61)])]), 5, 'MQTT-1.5.4-1');
  });

  it('[MQTT-1.5.4-1] a lone surrogate in a string cannot be encoded', () => {
    encodeMalformed(publish({ topic: 'a\ud800' }), 4);
    encodeMalformed(publish({ topic: '\udc00b' }), 4);
  });

  it('[MQTT-1.5.4-2] U+0000 in a string is malformed, both ways', () => {
    malformed(frame(0x30, rawString([0x61, 0x00, 0x62])), 4, 'MQTT-1.5.4-2');
    malformed(frame(0x30, rawString([0xc3, 0xa9, 0x00])), 4, 'MQTT-1.5.4-2');
    encodeMalformed(publish({ topic: 'a\u0000' }), 4);
    encodeMalformed(connect({ clientId: '\u0000' }), 4);
  });

  it('[MQTT-1.5.4-3] a BOM (EF BB BF) is kept, not stripped', () => {
    const p = decodePacket(frame(0x30, rawString([0xef, 0xbb, 0xbf, 0x61])), 4) as PublishPacket;
    expect(p.topic).toBe('\ufeffa');
    expect(Array.from(encode(p, 4))).toEqual([0x30, 0x06, 0x00, 0x04, 0xef, 0xbb, 0xbf, 0x61]);
  });
});

describe('packet identifiers', () => {
  it.each([
    ['PUBLISH QoS 1', frame(0x32, [...str('t'), 0, 0])],
    ['PUBACK', frame(0x40, [0, 0])],
    ['PUBREL', frame(0x62, [0, 0])],
    ['SUBSCRIBE', frame(0x82, [0, 0, ...str('a'), 0])],
    ['UNSUBSCRIBE', frame(0xa2, [0, 0, ...str('a')])],
    ['SUBACK', frame(0x90, [0, 0, 0])],
    ['UNSUBACK', frame(0xb0, [0, 0])],
  ])('[MQTT-2.2.1-3] %s with packet identifier 0 is refused', (_, bytes) => {
    violation(bytes, 4, 'MQTT-2.2.1-3');
  });

  it('[MQTT-2.2.1-3] encode refuses a missing or zero packet identifier', () => {
    encodeViolation(publish({ qos: 1 }), 4);
    encodeViolation(publish({ qos: 2, packetId: 0 }), 5);
    encodeViolation({ type: 'puback', packetId: 0 }, 4);
    encodeViolation({ type: 'subscribe', packetId: 0, subscriptions: [{ topicFilter: 'a', qos: 0 }] }, 4);
    encodeViolation({ type: 'pubrel', packetId: 65536 }, 4);
  });
});

describe('PUBLISH flags', () => {
  it('[MQTT-3.3.1-4] QoS 3 is malformed, both ways', () => {
    malformed(frame(0x36, [...str('t'), 0, 1]), 4, 'MQTT-3.3.1-4');
    encodeMalformed(publish({ qos: 3 as 0, packetId: 1 }), 4);
  });

  it('[MQTT-3.3.1-2] DUP on a QoS 0 PUBLISH is malformed, both ways', () => {
    malformed(frame(0x38, [...str('t')]), 4, 'MQTT-3.3.1-2');
    encodeMalformed(publish({ dup: true }), 4);
  });
});

describe('CONNECT', () => {
  it('[MQTT-3.1.2-3] the reserved connect flag must be 0', () => {
    malformed(connect4(0x03), 4, 'MQTT-3.1.2-3');
  });

  it('[MQTT-3.1.2-11] (3.1.1: [MQTT-3.1.2-13]) will QoS must be 0 without the will flag', () => {
    malformed(connect4(0x02 | 0x08), 4, 'MQTT-3.1.2-11');
  });

  it('[MQTT-3.1.2-12] (3.1.1: [MQTT-3.1.2-14]) will QoS 3 is malformed, both ways', () => {
    malformed(connect4(0x02 | 0x04 | 0x18, [...str('w'), 0, 0]), 4, 'MQTT-3.1.2-12');
    encodeMalformed(connect({ will: { topic: 'w', payload: new Uint8Array(0), qos: 3 as 0, retain: false } }), 4);
  });

  it('[MQTT-3.1.2-13] (3.1.1: [MQTT-3.1.2-15]) will retain must be 0 without the will flag', () => {
    malformed(connect4(0x02 | 0x20), 4, 'MQTT-3.1.2-13');
  });

  it('(3.1.1: [MQTT-3.1.2-11]) without the will flag no will fields are read', () => {
    // will topic/payload bytes after the client id are leftovers, hence malformed
    malformed(connect4(0x02, [...str('w'), 0, 0]), 4);
  });

  it('(3.1.1: [MQTT-3.1.2-22]) a password without a user name is malformed in 3.1 and 3.1.1, allowed in 5.0', () => {
    malformed(connect4(0x42, [0, 1, 0x70]), 4, '3.1.1: MQTT-3.1.2-22');
    const v3 = frame(0x10, [...str('MQIsdp'), 3, 0x42, 0, 10, ...str('c'), 0, 1, 0x70]);
    malformed(v3, 3, '3.1.1: MQTT-3.1.2-22');
    encodeMalformed(connect({ password: new Uint8Array([1]) }), 4);
    const v5 = connect({ protocolVersion: 5, password: new Uint8Array([1]) });
    expect(decodePacket(encode(v5, 5), 5)).toEqual(v5);
  });

  it.each([
    ['protocol name MQTX', [...str('MQTX'), 4], 'MQTT-3.1.2-1'],
    ['protocol name mqtt (case matters)', [...str('mqtt'), 4], 'MQTT-3.1.2-1'],
    ['MQTT level 3', [...str('MQTT'), 3], 'MQTT-3.1.2-2'],
    ['MQTT level 6', [...str('MQTT'), 6], 'MQTT-3.1.2-2'],
    ['MQIsdp level 4', [...str('MQIsdp'), 4], 'MQTT-3.1.2-2'],
  ])('[MQTT-3.1.2-1] [MQTT-3.1.2-2] %s is an unsupported protocol version (CONNACK 0x84 / return code 1)', (_, head, ref) => {
    const bytes = frame(0x10, [...head, 0x02, 0, 10, ...str('c')]);
    const error = expectMqttError(() => decodePacket(bytes, 4), UnsupportedProtocolVersionError, UNSUPPORTED, ref);
    expect(toV4ConnackReturnCode(error.reasonCode)).toBe(ConnackReturnCode.UnacceptableProtocolVersion);
  });

  it('[MQTT-3.1.2-2] encode refuses a protocol name that does not match the level', () => {
    expectMqttError(
      () => encode(connect({ protocolName: 'MQIsdp', protocolVersion: 4 }), 4),
      UnsupportedProtocolVersionError,
      UNSUPPORTED,
    );
  });
});

describe('CONNACK', () => {
  it('[MQTT-3.2.2-1] reserved acknowledge flags must be 0', () => {
    malformed(frame(0x20, [0x02, 0x00]), 4, 'MQTT-3.2.2-1');
  });

  it('[MQTT-3.2.2-4] session present must be 0 with a refusal', () => {
    violation(frame(0x20, [0x01, 0x05]), 4, 'MQTT-3.2.2-4');
    encodeViolation({ type: 'connack', sessionPresent: true, reasonCode: 0x87 }, 5);
  });

  it('MQTT 3.1.1 section 3.2.2.3: 3.1.1 return codes above 5 are refused', () => {
    violation(frame(0x20, [0x00, 0x06]), 4);
    encodeViolation({ type: 'connack', sessionPresent: false, reasonCode: 0x80 }, 4);
  });
});

describe('v5 reason codes', () => {
  it.each([
    ['CONNACK', frame(0x20, [0x00, 0x04, 0x00]), 'MQTT-3.2.2-8'],
    ['PUBACK', frame(0x40, [0, 1, 0x04]), 'MQTT-3.4.2-1'],
    ['PUBREL', frame(0x62, [0, 1, 0x10]), 'MQTT-3.6.2-1'],
    ['SUBACK', frame(0x90, [0, 1, 0, 0x03]), 'MQTT-3.9.3-1'],
    ['UNSUBACK', frame(0xb0, [0, 1, 0, 0x01]), 'MQTT-3.11.3-1'],
    ['DISCONNECT', frame(0xe0, [0x18]), 'MQTT-3.14.2-1'],
    ['AUTH', frame(0xf0, [0x04, 0x00]), 'MQTT-3.15.2-1'],
  ])('[%s] a reason code the packet may not carry is a protocol error (%s)', (_, bytes, ref) => {
    violation(bytes, 5, ref);
  });

  it('[MQTT-3.9.3-2] 3.1.1 SUBACK return codes are 0, 1, 2 or 0x80', () => {
    violation(frame(0x90, [0, 1, 0x03]), 4, 'MQTT-3.9.3-2');
    encodeViolation({ type: 'suback', packetId: 1, reasonCodes: [0x87] }, 4);
  });

  it('encode refuses a reason code the packet may not carry', () => {
    encodeViolation({ type: 'puback', packetId: 1, reasonCode: 0x92 }, 5);
    encodeViolation({ type: 'disconnect', reasonCode: 0x01 }, 5);
  });
});
