import { describe, expect, it } from 'vitest';
import {
  BadUserNameOrPasswordError,
  ConnectExpectedError,
  NotAuthorizedError,
  ProtocolStateError,
  QoSNotSupportedError,
  ImplementationSpecificError,
} from '../../../lib/broker/errors';
import { decideOnError, reactionTo } from '../../../lib/broker/reaction';
import {
  ClientIdentifierNotValidError,
  MalformedPacketError,
  MqttError,
  PacketTooLargeError,
  ProtocolViolationError,
  TopicFilterInvalidError,
  UnsupportedProtocolVersionError,
} from '../../../lib/mqtt/errors';
import { CONNECTION_ID, connectedState, will } from './fixtures';

/** Each error, its v5 CONNACK reason code before CONNACK, and its 3.1.1 return code (or close). */
const BEFORE_CONNACK: [string, MqttError, number, number | 'close'][] = [
  ['0x84 unsupported protocol version', new UnsupportedProtocolVersionError('x'), 0x84, 1],
  ['0x85 client identifier not valid', new ClientIdentifierNotValidError('x'), 0x85, 2],
  ['0x86 bad user name or password', new BadUserNameOrPasswordError('x'), 0x86, 4],
  ['0x87 not authorized', new NotAuthorizedError('x'), 0x87, 5],
  ['0x83 implementation specific error', new ImplementationSpecificError('x'), 0x83, 'close'],
  ['0x81 malformed packet', new MalformedPacketError('x'), 0x81, 'close'],
  ['0x82 protocol error', new ProtocolViolationError('x'), 0x82, 'close'],
  ['0x95 packet too large', new PacketTooLargeError('x'), 0x95, 'close'],
  ['0x9B QoS not supported', new QoSNotSupportedError('x'), 0x9b, 'close'],
  ['0x8F (not a CONNACK code) as 0x80 [MQTT-3.2.2-8]', new TopicFilterInvalidError('x'), 0x80, 'close'],
];

describe.each([3, 4, 5] as const)('reactionTo before CONNACK, protocol %i', (v) => {
  it.each(BEFORE_CONNACK)('%s [MQTT-3.2.2-7] (3.1.1: [MQTT-3.2.2-5])', (_name, error, v5Code, v4Code) => {
    const r = reactionTo(error, v, false);
    expect(r.close.reason).toBe('connect-refused');
    expect(r.protocolVersion).toBe(v);
    const expected = v === 5 ? v5Code : v4Code;
    if (expected === 'close') {
      expect(r.send).toEqual([]);
    } else {
      expect(r.send).toEqual([{ type: 'connack', sessionPresent: false, reasonCode: expected }]);
    }
  });
});

describe('reactionTo before CONNACK, protocol unknown', () => {
  it('answers 0x84 with a 3.1.1-form CONNACK, return code 1 [MQTT-3.1.2-2]', () => {
    const r = reactionTo(new UnsupportedProtocolVersionError('x'), undefined, false);
    expect(r.protocolVersion).toBe(4);
    expect(r.send).toEqual([{ type: 'connack', sessionPresent: false, reasonCode: 1 }]);
  });

  it('just closes on a malformed CONNECT', () => {
    const r = reactionTo(new MalformedPacketError('x'), undefined, false);
    expect(r.send).toEqual([]);
    expect(r.close.reason).toBe('connect-refused');
  });
});

describe.each([3, 4, 5] as const)('reactionTo after CONNACK, protocol %i', (v) => {
  it('sends DISCONNECT with the reason code in v5, then closes; 3.1.1 just closes [MQTT-4.13.1-1]', () => {
    const r = reactionTo(new MalformedPacketError('x'), v, true);
    expect(r.close).toEqual({ reason: 'server-disconnect', reasonCode: 0x81 });
    expect(r.send).toEqual(v === 5 ? [{ type: 'disconnect', reasonCode: 0x81 }] : []);
  });

  it('uses 0x80 for a code DISCONNECT may not carry [MQTT-3.14.2-1]', () => {
    class PacketIdInUseError extends MqttError {
      readonly reasonCode = 0x91; // a PUBACK/PUBREC code, neither a DISCONNECT nor a CONNACK one
    }
    const r = reactionTo(new PacketIdInUseError('x'), v, true);
    expect(r.send).toEqual(v === 5 ? [{ type: 'disconnect', reasonCode: 0x80 }] : []);
  });

  it('answers a code only a CONNACK carries with 0x82: it comes from a second CONNECT [MQTT-3.1.0-2]', () => {
    for (const error of [new ClientIdentifierNotValidError('x'), new UnsupportedProtocolVersionError('x'), new BadUserNameOrPasswordError('x')]) {
      const r = reactionTo(error, v, true);
      expect(r.send).toEqual(v === 5 ? [{ type: 'disconnect', reasonCode: 0x82 }] : []);
    }
  });

  it('never sends a CONNACK after CONNACK [MQTT-3.2.0-2]', () => {
    const r = reactionTo(new NotAuthorizedError('x'), v, true);
    expect(r.send.some((p) => p.type === 'connack')).toBe(false);
  });
});

describe.each([4, 5] as const)('reactionTo for a first packet that is not CONNECT, protocol %i', (v) => {
  it('closes without sending anything [MQTT-3.1.0-1]', () => {
    const r = reactionTo(new ConnectExpectedError('x'), v, false);
    expect(r.send).toEqual([]);
    expect(r.close.reason).toBe('connect-expected');
  });
});

describe.each([4, 5] as const)('decideOnError, protocol %i', (v) => {
  it('publishes the will when the server closes an accepted connection [MQTT-3.1.2-8]', () => {
    const w = will();
    const d = decideOnError(new ProtocolStateError('x'), connectedState(v, { will: w }), CONNECTION_ID);
    expect(d.intents).toEqual([{ kind: 'will.publish', clientId: 'sensor-1', connectionId: CONNECTION_ID, will: w }]);
    expect(d.close?.reason).toBe('server-disconnect');
    expect(d.protocolVersion).toBe(v);
  });

  it('writes nothing without a will, or before CONNECT', () => {
    expect(decideOnError(new ProtocolStateError('x'), connectedState(v), CONNECTION_ID).intents).toEqual([]);
    const d = decideOnError(new MalformedPacketError('x'), { status: 'open' }, CONNECTION_ID, v);
    expect(d.intents).toEqual([]);
    expect(d.protocolVersion).toBe(v);
  });
});
