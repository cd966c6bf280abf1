/**
 * The reason-code and property tables, and the byte-level primitives (Variable Byte Integer,
 * UTF-8) checked against the platform's TextEncoder/TextDecoder.
 */

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_VBI, Reader, Writer, vbiLength } from '../../../lib/mqtt/bytes';
import { MalformedPacketError } from '../../../lib/mqtt/errors';
import { PROPERTIES, isPropertyAllowed, propertyDefinition } from '../../../lib/mqtt/properties';
import {
  ConnackReturnCode, REASON_CODES, ReasonCode, fromV4ConnackReturnCode, isValidReasonCode, reasonCodeName,
  toV4ConnackReturnCode,
} from '../../../lib/mqtt/reason-codes';
import { decodeUtf8, utf8Length, writeUtf8 } from '../../../lib/mqtt/utf8';

describe('reason codes', () => {
  it('names the codes', () => {
    expect(ReasonCode.PacketTooLarge).toBe(0x95);
    expect(ReasonCode.MalformedPacket).toBe(0x81);
    expect(reasonCodeName(0x00, 'disconnect')).toBe('Normal disconnection');
    expect(reasonCodeName(0x00, 'suback')).toBe('Granted QoS 0');
    expect(reasonCodeName(0x8e)).toBe('Session taken over');
  });

  it('lists 45 (value, name) entries, each value valid for its packets only', () => {
    expect(REASON_CODES).toHaveLength(45);
    for (let code = 0x80; code <= 0xa2; code++) expect(reasonCodeName(code)).toBeDefined();
    expect(isValidReasonCode('puback', 0x10)).toBe(true);
    expect(isValidReasonCode('pubrel', 0x10)).toBe(false);
    expect(isValidReasonCode('auth', 0x18)).toBe(true);
    expect(isValidReasonCode('connack', 0x8b)).toBe(false);
    expect(isValidReasonCode('disconnect', 0x8b)).toBe(true);
  });

  it('maps v5 CONNACK reason codes to 3.1.1 return codes and back', () => {
    expect(toV4ConnackReturnCode(ReasonCode.Success)).toBe(ConnackReturnCode.Accepted);
    expect(toV4ConnackReturnCode(ReasonCode.UnsupportedProtocolVersion)).toBe(1);
    expect(toV4ConnackReturnCode(ReasonCode.ClientIdentifierNotValid)).toBe(2);
    expect(toV4ConnackReturnCode(ReasonCode.ServerUnavailable)).toBe(3);
    expect(toV4ConnackReturnCode(ReasonCode.ServerBusy)).toBe(3);
    expect(toV4ConnackReturnCode(ReasonCode.BadUserNameOrPassword)).toBe(4);
    expect(toV4ConnackReturnCode(ReasonCode.NotAuthorized)).toBe(5);
    expect(toV4ConnackReturnCode(ReasonCode.Banned)).toBe(5);
    expect(toV4ConnackReturnCode(ReasonCode.QuotaExceeded)).toBe(3);
    for (let rc = 0; rc <= 5; rc++) expect(toV4ConnackReturnCode(fromV4ConnackReturnCode(rc))).toBe(rc);
  });
});

describe('properties table', () => {
  it('has the 27 MQTT 5.0 properties with unique identifiers', () => {
    expect(PROPERTIES).toHaveLength(27);
    expect(new Set(PROPERTIES.map((p) => p.id)).size).toBe(27);
    expect(propertyDefinition(0x26)?.name).toBe('userProperties');
    expect(propertyDefinition('topicAlias')?.type).toBe('uint16');
  });

  it('only User Property and Subscription Identifier repeat', () => {
    expect(PROPERTIES.filter((p) => p.repeatable).map((p) => p.id).sort()).toEqual([0x0b, 0x26]);
  });

  it('applies the per-packet allow list', () => {
    expect(isPropertyAllowed('willDelayInterval', 'will')).toBe(true);
    expect(isPropertyAllowed('willDelayInterval', 'connect')).toBe(false);
    expect(isPropertyAllowed('reasonString', 'publish')).toBe(false);
    expect(isPropertyAllowed('userProperties', 'pingreq')).toBe(false);
    expect(isPropertyAllowed(0x11, 'disconnect')).toBe(true);
  });
});

describe('Variable Byte Integer', () => {
  it.each([
    [0, [0x00]], [127, [0x7f]], [128, [0x80, 0x01]], [16_383, [0xff, 0x7f]], [16_384, [0x80, 0x80, 0x01]],
    [2_097_151, [0xff, 0xff, 0x7f]], [2_097_152, [0x80, 0x80, 0x80, 0x01]], [MAX_VBI, [0xff, 0xff, 0xff, 0x7f]],
  ])('%d is encoded as the spec table says', (n, bytes) => {
    const w = new Writer(new Uint8Array(vbiLength(n)));
    w.vbi(n);
    expect(Array.from(w.buf)).toEqual(bytes);
    expect(new Reader(Uint8Array.from(bytes), 0, bytes.length).vbi()).toBe(n);
  });
});

describe('UTF-8 against TextEncoder/TextDecoder', () => {
  const fatal = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

  it('encodes and decodes any valid string like the platform does', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 40 }).map((s) => s.replace(/\0/g, '')), (s) => {
        const expected = new TextEncoder().encode(s);
        expect(utf8Length(s)).toBe(expected.length);
        const buf = new Uint8Array(expected.length);
        expect(writeUtf8(buf, 0, s)).toBe(expected.length);
        expect(buf).toEqual(expected);
        expect(decodeUtf8(buf, 0, buf.length)).toBe(s);
      }),
      { numRuns: 500 },
    );
  });

  it('[MQTT-1.5.4-1] accepts exactly the byte strings a fatal TextDecoder accepts (NUL aside)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => {
        let expected: string | undefined;
        try {
          expected = fatal.decode(bytes);
        } catch {
          expected = undefined;
        }
        if (expected?.includes('\0')) expected = undefined; // [MQTT-1.5.4-2]
        let actual: string | undefined;
        try {
          actual = decodeUtf8(bytes, 0, bytes.length);
        } catch (e) {
          expect(e).toBeInstanceOf(MalformedPacketError);
        }
        expect(actual).toBe(expected);
      }),
      { numRuns: 3000 },
    );
  });
});
