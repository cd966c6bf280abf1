/**
 * `stratus dev --store memory`: the local gateway and the same route handlers on the in-memory
 * stores (lib/local/memory-store.ts), with no DynamoDB Local, reached by MQTT.js through the
 * Stratus transport in strict mode. Every behaviour runs for protocol versions 4 and 5.
 */
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectAsync } from '../../../lib/client';
import { startLocalBroker, type LocalBroker } from '../../../lib/local/local-broker';
import { MEMORY_STORE_ENDPOINT, memoryStorage } from '../../../lib/local/memory-store';
import type { ProtocolVersion } from '../../../lib/mqtt';
import { silentLogger } from '../../../lib/log';

const VERSIONS: ProtocolVersion[] = [4, 5];

function nextMessage(client: MqttClient): Promise<{ topic: string; payload: string; retain: boolean }> {
  return new Promise((resolve) => {
    client.once('message', (topic, payload, packet) => resolve({ topic, payload: payload.toString(), retain: packet.retain }));
  });
}

describe('local mode on the memory store', () => {
  let broker: LocalBroker;
  beforeAll(async () => {
    broker = await startLocalBroker({ storage: memoryStorage(), gateway: { port: 0, strict: true }, sweepIntervalMs: 0, log: silentLogger });
  });
  afterAll(async () => {
    await broker?.stop();
  });

  it('starts no DynamoDB: the store is in memory', () => {
    expect(broker.dynamodbEndpoint).toBe(MEMORY_STORE_ENDPOINT);
  });

  describe.each(VERSIONS)('protocol %i', (version) => {
    it('a client receives its own QoS 1 message', async () => {
      const client = await connectAsync(broker.url, { protocolVersion: version, clientId: `echo-${version}`, reconnectPeriod: 0 });
      try {
        await client.subscribeAsync(`echo/${version}`, { qos: 1 });
        const received = nextMessage(client);
        await client.publishAsync(`echo/${version}`, 'hello', { qos: 1 });
        expect(await received).toMatchObject({ topic: `echo/${version}`, payload: 'hello' });
      } finally {
        await client.endAsync();
      }
    });

    it('a retained message reaches a later subscriber [MQTT-3.3.1-6]', async () => {
      const publisher = await connectAsync(broker.url, { protocolVersion: version, clientId: `retain-pub-${version}`, reconnectPeriod: 0 });
      await publisher.publishAsync(`state/${version}`, 'on', { qos: 1, retain: true });
      await publisher.endAsync();
      const subscriber = await connectAsync(broker.url, { protocolVersion: version, clientId: `retain-sub-${version}`, reconnectPeriod: 0 });
      try {
        const received = nextMessage(subscriber);
        await subscriber.subscribeAsync(`state/${version}`, { qos: 1 });
        expect(await received).toMatchObject({ topic: `state/${version}`, payload: 'on', retain: true });
      } finally {
        await subscriber.endAsync();
      }
    });
  });
});
