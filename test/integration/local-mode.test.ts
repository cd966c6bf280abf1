/**
 * Local mode end to end: MQTT.js (through the Stratus transport in strict mode, and stock over
 * binary WebSocket in lenient mode) against the real route handlers, the local gateway and
 * DynamoDB Local. Every behaviour runs for protocol versions 4 and 5.
 */
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectAsync } from '../../lib/client';
import { encode, type ProtocolVersion } from '../../lib/mqtt';
import { createDynamoDbClient } from '../../lib/store/dynamodb/client';
import { eventually } from '../helpers/eventually';
import { startTestBroker, type TestBroker } from '../helpers/local-broker';
import { RawClient, connectPacket } from '../helpers/raw-client';

const VERSIONS: ProtocolVersion[] = [4, 5];

function start(strict: boolean, dropDisconnectRate = 0): Promise<TestBroker> {
  return startTestBroker({ gateway: { strict, dropDisconnectRate } });
}

/** Connection records of this broker's table, by client id. */
async function connectionRecords(broker: TestBroker): Promise<Map<string, string>> {
  const client = createDynamoDbClient({ endpoint: broker.dynamodbEndpoint });
  try {
    const out = await client.send(new ScanCommand({ TableName: broker.tables.connections, ConsistentRead: true }));
    const byClient = new Map<string, string>();
    for (const item of out.Items ?? []) byClient.set(item.clientId?.S ?? '(open)', item.connectionId.S as string);
    return byClient;
  } finally {
    client.destroy();
  }
}

function nextPacket(client: MqttClient, cmd: string): Promise<unknown> {
  return new Promise((resolve) => {
    const onPacket = (packet: { cmd: string }) => {
      if (packet.cmd !== cmd) return;
      client.off('packetreceive', onPacket);
      resolve(packet);
    };
    client.on('packetreceive', onPacket);
  });
}

describe('local mode, strict (behaves like API Gateway)', () => {
  let broker: TestBroker;
  beforeAll(async () => {
    broker = await start(true);
  });
  afterAll(async () => {
    RawClient.terminateAll();
    await broker?.dispose();
  });

  describe.each(VERSIONS)('protocol %i', (version) => {
    it('MQTT.js connects through the transport: CONNACK accepted, Session Present 0', async () => {
      const client = await connectAsync(broker.url, { protocolVersion: version, clientId: `strict-${version}`, reconnectPeriod: 0 });
      try {
        expect(client.connected).toBe(true);
      } finally {
        await client.endAsync();
      }
    });

    it('a PINGREQ gets a PINGRESP [MQTT-3.12.4-1]', async () => {
      const client = await connectAsync(broker.url, { protocolVersion: version, clientId: `ping-${version}`, reconnectPeriod: 0, keepalive: 1 });
      try {
        expect(await nextPacket(client, 'pingresp')).toMatchObject({ cmd: 'pingresp' });
      } finally {
        await client.endAsync();
      }
    });

    it('the connection record holds the client id while connected and is gone after DISCONNECT', async () => {
      const clientId = `record-${version}`;
      const client = await connectAsync(broker.url, { protocolVersion: version, clientId, reconnectPeriod: 0 });
      expect((await connectionRecords(broker)).has(clientId)).toBe(true);
      await client.endAsync();
      await eventually(async () => !(await connectionRecords(broker)).has(clientId));
    });

    it('a packet before CONNECT closes the connection without an answer [MQTT-3.1.0-1]', async () => {
      const raw = await RawClient.open(broker.url, version);
      await raw.send({ type: 'pingreq' });
      await raw.closed;
      expect(raw.packets).toEqual([]);
    });

    it('a second CONNECT is a protocol error [MQTT-3.1.0-2]', async () => {
      const raw = await RawClient.open(broker.url, version);
      await raw.send(connectPacket(version, { clientId: `twice-${version}` }));
      await raw.until(() => raw.packets.length === 1);
      await raw.send(connectPacket(version, { clientId: `twice-${version}` }));
      await raw.closed;
      expect(raw.packets[0]).toMatchObject({ type: 'connack', reasonCode: 0 });
      // v5 says why before closing; 3.1.1 just closes.
      if (version === 5) expect(raw.packets[1]).toMatchObject({ type: 'disconnect', reasonCode: 0x82 });
      else expect(raw.packets).toHaveLength(1);
    });

    it('a malformed packet closes the connection and leaves other connections intact', async () => {
      const bystander = await connectAsync(broker.url, { protocolVersion: version, clientId: `bystander-${version}`, reconnectPeriod: 0 });
      const raw = await RawClient.open(broker.url, version);
      await raw.send(connectPacket(version, { clientId: `malformed-${version}` }));
      await raw.until(() => raw.packets.length === 1);
      await raw.sendBytes(Uint8Array.from([0xc0, 0x05])); // PINGREQ must have remaining length 0
      await raw.closed;
      if (version === 5) expect(raw.packets[1]).toMatchObject({ type: 'disconnect', reasonCode: 0x81 });
      expect((await connectionRecords(broker)).has(`bystander-${version}`)).toBe(true);
      await bystander.endAsync();
    });
  });

  it('a binary frame is refused with close code 1003, as API Gateway does', async () => {
    const raw = await RawClient.open(broker.url, 4);
    await raw.sendFrame(Buffer.from(encode(connectPacket(4, { clientId: 'binary' }), 4)));
    expect(await raw.closed).toBe(1003);
  });

  it('a message over 128 KB is refused with close code 1009, as API Gateway does', async () => {
    const raw = await RawClient.open(broker.url, 4);
    await raw.sendFrame('A'.repeat(128 * 1024 + 4));
    expect(await raw.closed).toBe(1009);
  });

  it('a handshake without the mqtt subprotocol is refused', async () => {
    const outcome = await RawClient.open(broker.url, 4, 'chat').then(
      (raw) => {
        raw.terminate();
        return 'open';
      },
      () => 'refused',
    );
    expect(outcome).toBe('refused');
  });
});

describe('local mode, lenient (stock MQTT-over-WebSocket clients)', () => {
  let broker: TestBroker;
  beforeAll(async () => {
    broker = await start(false);
  });
  afterAll(async () => {
    RawClient.terminateAll();
    await broker?.dispose();
  });

  it.each(VERSIONS)('stock MQTT.js over binary frames connects and pings (protocol %i)', async (version) => {
    const client = await mqtt.connectAsync(broker.url, { protocolVersion: version, clientId: `stock-${version}`, reconnectPeriod: 0, keepalive: 1 });
    try {
      expect(client.connected).toBe(true);
      await nextPacket(client, 'pingresp');
    } finally {
      await client.endAsync();
    }
  });
});

describe('local mode, strict, every $disconnect lost (as AWS allows)', () => {
  let broker: TestBroker;
  beforeAll(async () => {
    broker = await start(true, 1);
  });
  afterAll(async () => {
    RawClient.terminateAll();
    await broker?.dispose();
  });

  it.each(VERSIONS)('the sweeper runs the disconnect path for a connection whose $disconnect never came (protocol %i)', async (version) => {
    const clientId = `swept-${version}`;
    const client = await connectAsync(broker.url, { protocolVersion: version, clientId, reconnectPeriod: 0 });
    client.end(true);
    await new Promise<void>((resolve) => client.once('close', () => resolve()));
    // No $disconnect: the record stays until the sweeper finds the connection gone (410).
    expect((await connectionRecords(broker)).has(clientId)).toBe(true);
    const report = await broker.sweep();
    expect(report.closed.gone).toBeGreaterThanOrEqual(1);
    // Ordered ingress: the sweeper queues the close behind the connection's frames
    // (lib/runtime/disconnect-path.ts closeFound); the disconnect path runs when the queue hands it out.
    await broker.ingressDrained();
    expect((await connectionRecords(broker)).has(clientId)).toBe(false);
  });
});
