/**
 * Within a subscriber (issue 12): posts from two Lambda invocations to one connection may
 * interleave, and every server message holds whole packets or one tagged fragment, so the
 * subscriber's stream stays valid (docs/TRANSPORT.md section 4) [MQTT-6.0.0-2].
 *
 * - End to end: MQTT.js through the Stratus transport against local strict mode, two publishers
 *   publishing at once to one subscriber, one 60 KB payloads (tagged fragments), the other many
 *   small ones; every payload arrives intact (SHA-256). For protocol 4 and 5. QoS 0, so that
 *   every copy is posted at once rather than one in-flight window at a time: that is when posts
 *   interleave most (with the old cut-anywhere framing, this test fails for both versions).
 * - Delivery level: a big and a small packet sent by two concurrent `send`s through the real local
 *   `@connections` API, the small post forced between the big packet's fragments; the client's
 *   decoder reads both packets whole.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../lib/client';
import { splitTag } from '../../lib/client/fragment-tag';
import { decodeServerMessages } from '../../lib/client/reassembly';
import { ApiGatewayDelivery, type ManagementClient } from '../../lib/gateway/delivery';
import { splitPackets } from '../../lib/gateway/framing';
import type { ProtocolVersion } from '../../lib/mqtt';
import { eventually } from '../helpers/eventually';
import { startTestBroker, type TestBroker } from '../helpers/local-broker';
import { packetOfSize, sameBytes } from '../unit/gateway/delivery-contract';
import { cleanup, openClient, startGateway } from './gateway/helpers';

const VERSIONS: ProtocolVersion[] = [4, 5];
const BIG = 8;
const BIG_BYTES = 60_000;
const SMALL = 200;

let broker: TestBroker;
const clients: MqttClient[] = [];

beforeAll(async () => {
  broker = await startTestBroker();
}, 120_000);

afterAll(async () => {
  for (const c of clients) c.end(true);
  await broker?.dispose();
});

afterEach(cleanup);

async function open(version: ProtocolVersion): Promise<MqttClient> {
  const c = connect(broker.url, { protocolVersion: version, clientId: `i-${randomUUID().slice(0, 8)}`, reconnectPeriod: 0 });
  clients.push(c);
  await new Promise<void>((resolve, reject) => c.once('connect', () => resolve()).once('error', reject));
  return c;
}

const digest = (payload: Uint8Array): string => createHash('sha256').update(payload).digest('hex');

describe.each(VERSIONS)('two publishers to one subscriber, protocol %i', (version) => {
  it(`${BIG} payloads of 60 KB and ${SMALL} small ones published at once all arrive intact [MQTT-6.0.0-2]`, async () => {
    const topic = `interleave/${randomUUID().slice(0, 8)}`;
    const subscriber = await open(version);
    const received: string[] = [];
    const errors: Error[] = [];
    subscriber.on('message', (_topic, payload) => received.push(digest(payload)));
    subscriber.on('error', (error) => errors.push(error));
    await subscriber.subscribeAsync(topic, { qos: 1 });
    const [bigPublisher, smallPublisher] = await Promise.all([open(version), open(version)]);
    const big = Array.from({ length: BIG }, () => randomBytes(BIG_BYTES));
    const small = Array.from({ length: SMALL }, (_, i) => Buffer.from(`small-${i}-${randomUUID()}`));
    await Promise.all([
      ...big.map((payload) => bigPublisher.publishAsync(topic, payload, { qos: 0 })),
      ...small.map((payload) => smallPublisher.publishAsync(topic, payload, { qos: 0 })),
    ]);
    await eventually(() => received.length >= BIG + SMALL || errors.length > 0, 400);
    expect(errors).toEqual([]);
    expect(received.sort()).toEqual([...big, ...small].map(digest).sort());
    expect(subscriber.connected).toBe(true);
  }, 60_000);
});

/** The management client, with a gate before its `n`-th call (0-based): the gate's promise releases it. */
function gatedBefore(inner: ManagementClient, n: number) {
  let calls = 0;
  let reached!: () => void;
  let release!: () => void;
  const atGate = new Promise<void>((resolve) => (reached = resolve));
  const open = new Promise<void>((resolve) => (release = resolve));
  const client: ManagementClient = {
    send: (async (command: Parameters<ManagementClient['send']>[0]) => {
      if (calls++ === n) {
        reached();
        await open;
      }
      return inner.send(command);
    }) as ManagementClient['send'],
  };
  return { client, atGate, release };
}

describe('concurrent sends to one connection through the local @connections API', () => {
  it('a small packet posted between the fragments of a big one: the client reads both whole', async () => {
    const { address, client: sdk, recorder } = await startGateway({ strict: true });
    const ws = await openClient(address.url);
    const id = recorder.connects[0]!.requestContext.connectionId;
    const bigPacket = packetOfSize(100_000, 1);
    const smallPacket = packetOfSize(50, 2);
    const gate = gatedBefore(sdk, 1);
    const bigSender = new ApiGatewayDelivery({ client: gate.client });
    const smallSender = new ApiGatewayDelivery({ client: sdk });
    const bigSent = bigSender.send(id, bigPacket, 'text');
    await gate.atGate; // the first fragment is posted, the second waits
    expect(await smallSender.send(id, smallPacket, 'text')).toEqual({ status: 'sent', posted: 1 });
    gate.release();
    expect(await bigSent).toEqual({ status: 'sent', posted: 5 });
    const stream = await ws.bytes(bigPacket.length + smallPacket.length);
    const texts = ws.received as string[];
    expect(texts.map((t) => splitTag(t)?.tag?.index ?? 'whole')).toEqual([0, 'whole', 1, 2, 3, 4]);
    const packets = splitPackets(stream);
    expect(packets).toHaveLength(2);
    expect(sameBytes(packets[0]!, smallPacket) && sameBytes(packets[1]!, bigPacket)).toBe(true);
    expect(sameBytes(decodeServerMessages(texts), stream)).toBe(true);
  });
});
