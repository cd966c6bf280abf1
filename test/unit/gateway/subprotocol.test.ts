import { describe, expect, it } from 'vitest';
import { acceptConnect, selectSubprotocol, subprotocolOf } from '../../../lib/gateway/subprotocol';

describe('selectSubprotocol [MQTT-6.0.0-3]', () => {
  it.each([
    ['mqtt', 'mqtt'],
    ['mqttv3.1', 'mqttv3.1'],
    ['  mqtt  ', 'mqtt'],
    ['mqttv3.1, mqtt', 'mqtt'], // mqtt is preferred wherever it stands in the offer
    ['mqttv3.1,mqtt', 'mqtt'],
    ['wamp, mqttv3.1 ', 'mqttv3.1'],
    [' x ,  mqtt,y', 'mqtt'],
  ])('picks from %j -> %s', (offered, expected) => {
    expect(selectSubprotocol(offered)).toBe(expected);
  });

  it.each([[undefined], [''], [' , '], ['wamp'], ['MQTT'], ['mqtt5'], ['mqttv3.1.1'], ['mq tt']])(
    'refuses %j',
    (offered) => {
      expect(selectSubprotocol(offered)).toBeUndefined();
    },
  );

  it('reads the header case-insensitively, across repeated headers', () => {
    expect(subprotocolOf({ headers: { 'sec-websocket-protocol': 'mqtt' } })).toBe('mqtt');
    expect(
      subprotocolOf({
        headers: { 'Sec-WebSocket-Protocol': 'wamp' },
        multiValueHeaders: { 'Sec-WebSocket-Protocol': ['wamp', 'mqttv3.1'] },
      }),
    ).toBe('mqttv3.1');
    expect(subprotocolOf({ headers: {} })).toBeUndefined();
    expect(subprotocolOf({ headers: null })).toBeUndefined();
  });

  it('builds the accepting $connect result that echoes the choice', () => {
    expect(acceptConnect('mqtt')).toEqual({ statusCode: 200, headers: { 'Sec-WebSocket-Protocol': 'mqtt' } });
  });
});
