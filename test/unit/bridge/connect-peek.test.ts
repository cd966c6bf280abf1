import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  PACKET_TOO_LARGE_DISCONNECT,
  peekConnect,
  serverUnavailableConnack,
  subprotocolFor,
} from '../../../lib/client/bridge/connect-peek';
import { decodePacket, encode, type ConnectPacket, type ProtocolVersion } from '../../../lib/mqtt';

const connect = (protocolVersion: ProtocolVersion, extra: Partial<ConnectPacket> = {}): Uint8Array =>
  encode(
    {
      type: 'connect',
      protocolName: protocolVersion === 3 ? 'MQIsdp' : 'MQTT',
      protocolVersion,
      clean: true,
      keepAlive: 60,
      clientId: 'press-7',
      ...extra,
    },
    protocolVersion,
  );

describe('peekConnect: what the bridge reads from the first packet', () => {
  it('3.1.1 CONNECT from the transport spec example: level 4, client id c1, subprotocol mqtt', () => {
    // 10 0e | 00 04 'MQTT' | 04 | 02 | 00 3c | 00 02 'c1'
    const bytes = Buffer.from('EA4ABE1RVFQEAgA8AAJjMQ==', 'base64');
    const summary = peekConnect(bytes);
    expect(summary).toEqual({ protocolName: 'MQTT', level: 4, clientId: 'c1' });
    expect(subprotocolFor(summary!)).toBe('mqtt');
  });

  it('3.1 (MQIsdp) is offered upstream as mqttv3.1', () => {
    const summary = peekConnect(connect(3));
    expect(summary).toEqual({ protocolName: 'MQIsdp', level: 3, clientId: 'press-7' });
    expect(subprotocolFor(summary!)).toBe('mqttv3.1');
  });

  it('5.0 skips the CONNECT properties to find the client id; credentials are never read', () => {
    const bytes = connect(5, {
      properties: { sessionExpiryInterval: 300, userProperties: [['line', '7']] },
      username: 'press-7',
      password: new TextEncoder().encode('hunter2'),
    });
    expect(peekConnect(bytes)).toEqual({ protocolName: 'MQTT', level: 5, clientId: 'press-7' });
  });

  it('anything but a CONNECT is not one [MQTT-3.1.0-1]; a truncated CONNECT is not either', () => {
    expect(peekConnect(Uint8Array.of(0xc0, 0x00))).toBeUndefined();
    expect(peekConnect(connect(4).subarray(0, 12))).toBeUndefined();
  });

  it('never throws on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        peekConnect(bytes);
        peekConnect(Uint8Array.of(0x10, ...bytes));
      }),
    );
  });

  it('refusals decode as the broker would write them, per version [MQTT-3.2.2-7] (3.1.1: [MQTT-3.2.2-5])', () => {
    expect(decodePacket(serverUnavailableConnack(4), 4)).toMatchObject({ type: 'connack', reasonCode: 3 });
    expect(decodePacket(serverUnavailableConnack(3), 3)).toMatchObject({ type: 'connack', reasonCode: 3 });
    expect(decodePacket(serverUnavailableConnack(5), 5)).toMatchObject({ type: 'connack', reasonCode: 0x88 });
    expect(decodePacket(PACKET_TOO_LARGE_DISCONNECT, 5)).toMatchObject({ type: 'disconnect', reasonCode: 0x95 });
  });
});
