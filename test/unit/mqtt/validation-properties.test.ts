/**
 * Validation rules for SUBSCRIBE/UNSUBSCRIBE payloads and v5 properties, one test per rule, named
 * after the normative statement (or section) it proves. Errors are checked by class and reason code.
 */

import { describe, expect, it } from 'vitest';
import { MalformedPacketError, ProtocolViolationError } from '../../../lib/mqtt/errors';
import { decodePacket, encode } from '../../../lib/mqtt/index';
import type { Packet, ProtocolVersion, PublishPacket, SubscribePacket } from '../../../lib/mqtt/types';
import { expectMqttError, frame, str } from './helpers';

const malformed = (bytes: Uint8Array, version: ProtocolVersion, specRef?: string) =>
  expectMqttError(() => decodePacket(bytes, version), MalformedPacketError, 0x81, specRef);
const violation = (bytes: Uint8Array, version: ProtocolVersion, specRef?: string) =>
  expectMqttError(() => decodePacket(bytes, version), ProtocolViolationError, 0x82, specRef);
const encodeMalformed = (p: Packet, version: ProtocolVersion) =>
  expectMqttError(() => encode(p, version), MalformedPacketError, 0x81);
const encodeViolation = (p: Packet, version: ProtocolVersion) =>
  expectMqttError(() => encode(p, version), ProtocolViolationError, 0x82);

/** A v5 QoS 0 PUBLISH to 't' with the given property bytes. */
const publish5 = (props: number[]) => frame(0x30, [...str('t'), props.length, ...props]);
/** A v5 SUBSCRIBE (packet id 1) with the given property bytes and one filter 'a'. */
const subscribe5 = (props: number[], options = 0) => frame(0x82, [0, 1, props.length, ...props, ...str('a'), options]);
const publish = (properties: PublishPacket['properties']): PublishPacket => ({
  type: 'publish', topic: 't', payload: new Uint8Array(0), qos: 0, retain: false, dup: false, properties,
});
const subscribe = (sub: Partial<SubscribePacket['subscriptions'][0]>): SubscribePacket => ({
  type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'a', qos: 0, ...sub }],
});

describe('SUBSCRIBE and UNSUBSCRIBE payloads', () => {
  it('[MQTT-3.8.3-3] SUBSCRIBE must carry at least one topic filter', () => {
    violation(frame(0x82, [0, 1]), 4, 'MQTT-3.8.3-3');
    violation(frame(0x82, [0, 1, 0]), 5, 'MQTT-3.8.3-3');
    encodeViolation({ type: 'subscribe', packetId: 1, subscriptions: [] }, 4);
  });

  it('[MQTT-3.10.3-2] UNSUBSCRIBE must carry at least one topic filter', () => {
    violation(frame(0xa2, [0, 1]), 4, 'MQTT-3.10.3-2');
    violation(frame(0xa2, [0, 1, 0]), 5, 'MQTT-3.10.3-2');
    encodeViolation({ type: 'unsubscribe', packetId: 1, topicFilters: [] }, 5);
  });

  it('[MQTT-3.8.3-5] v5 subscription options bits 6 and 7 are reserved', () => {
    malformed(subscribe5([], 0x40), 5, 'MQTT-3.8.3-5');
    malformed(subscribe5([], 0x80), 5, 'MQTT-3.8.3-5');
  });

  it('MQTT 5.0 section 3.8.3.1: retain handling 3 is a protocol error, both ways', () => {
    violation(subscribe5([], 0x30), 5, 'MQTT 5.0 section 3.8.3.1');
    encodeViolation(subscribe({ retainHandling: 3 as 0 }), 5);
  });

  it('[MQTT-3.8.3-4] v3/v4 subscription byte: the upper six bits must be 0', () => {
    for (const bits of [0x04, 0x08, 0x20, 0x80]) {
      malformed(frame(0x82, [0, 1, ...str('a'), bits]), 4, 'MQTT-3.8.3-4');
      malformed(frame(0x82, [0, 1, ...str('a'), bits]), 3, 'MQTT-3.8.3-4');
    }
  });

  it('[MQTT-3.8.3-4] requested QoS 3 is malformed, both ways', () => {
    malformed(frame(0x82, [0, 1, ...str('a'), 3]), 4, 'MQTT-3.8.3-4');
    malformed(subscribe5([], 3), 5, 'MQTT-3.8.3-4');
    encodeMalformed(subscribe({ qos: 3 as 0 }), 4);
  });

  it('[MQTT-3.9.3-1] SUBACK carries at least one reason code; [MQTT-3.11.3-1] so does a v5 UNSUBACK', () => {
    violation(frame(0x90, [0, 1]), 4, 'MQTT-3.9.3-1');
    violation(frame(0xb0, [0, 1, 0]), 5, 'MQTT-3.11.3-1');
    encodeViolation({ type: 'suback', packetId: 1, reasonCodes: [] }, 4);
    encodeViolation({ type: 'unsuback', packetId: 1, reasonCodes: [] }, 5);
  });
});

describe('properties', () => {
  it('MQTT 5.0 section 2.2.2.2: a property not allowed in the packet is malformed, both ways', () => {
    malformed(publish5([0x11, 0, 0, 0, 1]), 5, 'MQTT 5.0 section 2.2.2.2'); // Session Expiry Interval in PUBLISH
    malformed(publish5([0x18, 0, 0, 0, 1]), 5, 'MQTT 5.0 section 2.2.2.2'); // Will Delay Interval outside the will
    malformed(frame(0x40, [0, 1, 0, 2, 0x23, 0]), 5, 'MQTT 5.0 section 2.2.2.2'); // Topic Alias in PUBACK
    encodeMalformed(publish({ sessionExpiryInterval: 1 }), 5);
    encodeMalformed({ type: 'puback', packetId: 1, reasonCode: 0, properties: { contentType: 'x' } }, 5);
  });

  it('MQTT 5.0 section 2.2.2.2: an unknown property identifier is malformed', () => {
    malformed(publish5([0x7f, 0]), 5, 'MQTT 5.0 section 2.2.2.2');
    malformed(publish5([0x00, 0]), 5, 'MQTT 5.0 section 2.2.2.2');
  });

  it('MQTT 5.0 section 2.2.2.2: a property length beyond the packet is malformed', () => {
    malformed(frame(0x30, [...str('t'), 9, 0x01, 0]), 5);
  });

  it('MQTT 5.0 section 2.2.2.2: a repeated property other than User Property / Subscription Identifier is a protocol error', () => {
    violation(publish5([0x03, ...str('a'), 0x03, ...str('b')]), 5, 'MQTT 5.0 section 2.2.2.2'); // Content Type twice
    violation(frame(0x20, [0, 0, 6, 0x21, 0, 1, 0x21, 0, 2]), 5, 'MQTT 5.0 section 2.2.2.2'); // Receive Maximum twice
  });

  it('[MQTT-3.3.2-18] User Property may repeat, keeping its order', () => {
    const bytes = publish5([0x26, ...str('k'), ...str('2'), 0x26, ...str('k'), ...str('1')]);
    expect((decodePacket(bytes, 5) as PublishPacket).properties?.userProperties).toEqual([['k', '2'], ['k', '1']]);
  });

  it('MQTT 5.0 section 3.8.2.1.2: Subscription Identifier repeats in PUBLISH, but at most once in SUBSCRIBE', () => {
    const p = decodePacket(publish5([0x0b, 1, 0x0b, 2]), 5) as PublishPacket;
    expect(p.properties?.subscriptionIdentifiers).toEqual([1, 2]);
    violation(subscribe5([0x0b, 1, 0x0b, 2]), 5, 'MQTT 5.0 section 3.8.2.1.2');
    encodeViolation({ ...subscribe({}), properties: { subscriptionIdentifiers: [1, 2] } }, 5);
  });

  it('MQTT 5.0 section 3.8.2.1.2: Subscription Identifier 0 is a protocol error, both ways', () => {
    violation(subscribe5([0x0b, 0]), 5, 'MQTT 5.0 section 3.8.2.1.2');
    violation(publish5([0x0b, 0]), 5, 'MQTT 5.0 section 3.8.2.1.2');
    encodeViolation(publish({ subscriptionIdentifiers: [0] }), 5);
  });

  it('[MQTT-3.3.2-8] Topic Alias 0 is a protocol error, both ways', () => {
    violation(publish5([0x23, 0, 0]), 5, 'MQTT-3.3.2-8');
    encodeViolation(publish({ topicAlias: 0 }), 5);
  });

  it('MQTT 5.0 section 2.2.2.2: Receive Maximum 0 and Maximum Packet Size 0 are protocol errors', () => {
    violation(frame(0x20, [0, 0, 3, 0x21, 0, 0]), 5);
    violation(frame(0x20, [0, 0, 5, 0x27, 0, 0, 0, 0]), 5);
  });

  it('MQTT 5.0 section 2.2.2.2: Byte properties other than 0/1 are protocol errors, both ways', () => {
    violation(publish5([0x01, 2]), 5); // Payload Format Indicator
    violation(frame(0x20, [0, 0, 2, 0x24, 2]), 5); // Maximum QoS
    encodeViolation(publish({ payloadFormatIndicator: 2 }), 5);
  });

  it('encode refuses property values outside their data type', () => {
    encodeMalformed(publish({ messageExpiryInterval: 2 ** 32 }), 5);
    encodeMalformed(publish({ topicAlias: 65536 }), 5);
    encodeMalformed(publish({ subscriptionIdentifiers: [268_435_456] }), 5);
    encodeMalformed(publish({ messageExpiryInterval: 1.5 }), 5);
  });

  it('v3/v4 encoding leaves v5-only fields out (the broker forwards one packet to any version)', () => {
    const p = publish({ userProperties: [['a', 'b']] });
    expect(Array.from(encode(p, 4))).toEqual([0x30, 0x03, ...str('t')]);
    expect(Array.from(encode({ type: 'puback', packetId: 1, reasonCode: 0x10 }, 4))).toEqual([0x40, 2, 0, 1]);
  });
});
