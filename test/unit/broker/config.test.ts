import { describe, expect, it } from 'vitest';
import { brokerConfigSchema, defaultBrokerConfig, InvalidBrokerConfigError, parseBrokerConfig, type BrokerConfigInput } from '../../../lib/broker/config';
import { MAX_PACKET_BYTES } from '../../../lib/api-gateway';

describe('broker config', () => {
  it('has defaults that pass its own schema', () => {
    expect(brokerConfigSchema.strict().safeParse(defaultBrokerConfig()).success).toBe(true);
    expect(parseBrokerConfig()).toEqual(defaultBrokerConfig());
  });

  it('defaults Maximum Packet Size to what one 128 KB base64 message carries, and Server Keep Alive to 540', () => {
    const config = defaultBrokerConfig();
    expect(MAX_PACKET_BYTES).toBe((128 * 1024 * 3) / 4);
    expect(config.maximumPacketSize).toBe(MAX_PACKET_BYTES);
    expect(config.serverKeepAlive).toBe(540);
    expect(config.maximumQoS).toBe(2);
  });

  it('applies valid overrides', () => {
    const config = parseBrokerConfig({ maximumPacketSize: 4096, serverKeepAlive: null, allowAnonymous: true });
    expect(config).toMatchObject({ maximumPacketSize: 4096, serverKeepAlive: null, allowAnonymous: true });
  });

  const invalid: [string, BrokerConfigInput][] = [
    ['a Maximum Packet Size above the 128 KB message ceiling', { maximumPacketSize: MAX_PACKET_BYTES + 1 }],
    ['a Receive Maximum of 0', { receiveMaximum: 0 }],
    ['a Maximum QoS of 3', { maximumQoS: 3 as 2 }],
    ['a client id limit below 23 [MQTT-3.1.3-5]', { maximumClientIdLength: 22 }],
    ['a Server Keep Alive of 0', { serverKeepAlive: 0 }],
    ['a session expiry above 0xFFFFFFFF', { maximumSessionExpiryInterval: 2 ** 32 }],
    ['an unknown key', { maximumPacketsize: 10 } as BrokerConfigInput],
  ];
  it.each(invalid)('refuses %s', (_name, overrides) => {
    expect(() => parseBrokerConfig(overrides)).toThrow(InvalidBrokerConfigError);
  });
});
