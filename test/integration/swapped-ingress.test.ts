/**
 * Reordering before the queue (issue 12): AWS does not document that API Gateway hands one
 * connection's frames to the SQS integration one at a time, so two frames might reach the queue
 * swapped. Local strict mode's `swapFraction` swaps a fraction of them; the Stratus transport and
 * the bridge number their messages (docs/TRANSPORT.md section 3), and the consumer puts them back
 * in order and counts each reorder (`IngressReorders`). MQTT.js through the transport, protocol 4
 * and 5.
 *
 * As in ordered-ingress.test.ts, a turn of the event loop passes between publishes so that each
 * is its own WebSocket message, its own queue message, and can be swapped.
 */
import { randomUUID } from 'node:crypto';
import { setImmediate as nextTurn } from 'node:timers/promises';
import mqtt, { type IClientOptions, type IPublishPacket, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../lib/client';
import type { ProtocolVersion } from '../../lib/mqtt';
import type { MetricName, Metrics } from '../../lib/runtime/metrics';
import { eventually } from '../helpers/eventually';
import { startTestBroker, type TestBroker } from '../helpers/local-broker';
import { startTestBridge, type TestBridge } from './bridge/helpers';

const VERSIONS: ProtocolVersion[] = [4, 5];
const SEQUENTIAL = 200;
const SWAP_FRACTION = 0.3;

/** A metrics sink that keeps the totals, for the reorders the consumer counted. */
function countingMetrics(): Metrics & { total(name: MetricName): number } {
  const totals = new Map<MetricName, number>();
  return {
    add: (name, value = 1) => void totals.set(name, (totals.get(name) ?? 0) + value),
    flush: () => undefined,
    total: (name) => totals.get(name) ?? 0,
  };
}

const metrics = countingMetrics();
const unnumberedMetrics = countingMetrics();
let broker: TestBroker;
/** Only clients that do not number their messages: none of its swaps can be restored. */
let unnumbered: TestBroker;
let bridge: TestBridge;
const clients: MqttClient[] = [];

beforeAll(async () => {
  [broker, unnumbered] = await Promise.all([
    startTestBroker({ gateway: { swapFraction: SWAP_FRACTION }, metrics }),
    startTestBroker({ gateway: { swapFraction: SWAP_FRACTION }, metrics: unnumberedMetrics }),
  ]);
  bridge = await startTestBridge(broker.url);
}, 120_000);

afterAll(async () => {
  for (const c of clients) c.end(true);
  await bridge?.close();
  await Promise.all([broker, unnumbered].map((b) => b?.dispose()));
});

interface Opened {
  readonly c: MqttClient;
  readonly received: IPublishPacket[];
}

function record(c: MqttClient): Promise<Opened> {
  clients.push(c);
  const received: IPublishPacket[] = [];
  c.on('message', (_topic, _payload, packet) => received.push(packet));
  return new Promise((resolve, reject) => {
    c.once('connect', () => resolve({ c, received }));
    c.once('error', reject);
  });
}

function open(on: TestBroker, version: ProtocolVersion, options: IClientOptions & { numbered?: boolean } = {}): Promise<Opened> {
  return record(connect(on.url, { protocolVersion: version, clientId: `s-${randomUUID().slice(0, 8)}`, reconnectPeriod: 0, ...options }));
}

const topic = (name: string) => `swapped/${randomUUID().slice(0, 8)}/${name}`;
const text = (p: IPublishPacket) => Buffer.from(p.payload).toString();

/** Publishes `count` messages one WebSocket message each; answers their payloads. */
async function publishSequence(c: MqttClient, t: string, qos: 0 | 1, count = SEQUENTIAL): Promise<string[]> {
  const sent = Array.from({ length: count }, (_, i) => `m${i}`);
  for (const payload of sent) {
    c.publish(t, payload, { qos });
    await nextTurn();
  }
  return sent;
}

/**
 * Once every frame is handled (the clients have ended), the consumer has counted exactly the swaps
 * the gateway performed: each swapped pair shared a batch and was put back in order.
 */
async function expectEverySwapCounted(): Promise<void> {
  await eventually(() => metrics.total('IngressReorders') === broker.ingressSwaps(), 300).catch(() => undefined);
  expect(metrics.total('IngressReorders')).toBe(broker.ingressSwaps());
}

describe.each(VERSIONS)('messages swapped before the queue, protocol %i', (version) => {
  it.each([0, 1] as const)(`${SEQUENTIAL} sequential QoS %i publishes, swapped before the queue, are delivered in order and every swap is counted [MQTT-4.6.0-5]`, async (qos) => {
    const swapsBefore = broker.ingressSwaps();
    const t = topic('sequence');
    const sub = await open(broker, version);
    await sub.c.subscribeAsync(t, { qos: 1 });
    const pub = await open(broker, version);
    const sent = await publishSequence(pub.c, t, qos);
    await eventually(() => sub.received.length >= SEQUENTIAL, 400);
    expect(sub.received.map(text)).toEqual(sent);
    await Promise.all([sub.c.endAsync(), pub.c.endAsync()]);
    expect(broker.ingressSwaps()).toBeGreaterThan(swapsBefore);
    await expectEverySwapCounted();
  }, 60_000);

  it('a client that does not number its messages (numbered: false) is still served, without the guard', async () => {
    const t = topic('unnumbered');
    const sub = await open(unnumbered, version, { numbered: false });
    await sub.c.subscribeAsync(t, { qos: 1 });
    const pub = await open(unnumbered, version, { numbered: false });
    const sent = await publishSequence(pub.c, t, 1, 50);
    await eventually(() => sub.received.length >= sent.length, 400);
    // Every message is delivered; swapped ones may come in the order they reached the queue.
    expect(sub.received.map(text).sort()).toEqual([...sent].sort());
    await Promise.all([sub.c.endAsync(), pub.c.endAsync()]);
    expect(unnumbered.ingressSwaps()).toBeGreaterThan(0);
    expect(unnumberedMetrics.total('IngressReorders')).toBe(0);
  }, 60_000);

  it(`a stock client through the bridge, which numbers its messages: ${SEQUENTIAL} QoS 1 publishes in order, every swap counted [MQTT-4.6.0-5]`, async () => {
    const t = topic('bridged');
    const sub = await open(broker, version);
    await sub.c.subscribeAsync(t, { qos: 1 });
    const swapsBefore = broker.ingressSwaps();
    const pub = await record(mqtt.connect(`mqtt://${bridge.host}:${bridge.port}`, { protocolVersion: version, clientId: `b-${randomUUID().slice(0, 8)}`, reconnectPeriod: 0 }));
    const sent = await publishSequence(pub.c, t, 1);
    await eventually(() => sub.received.length >= SEQUENTIAL, 400);
    expect(sub.received.map(text)).toEqual(sent);
    await Promise.all([sub.c.endAsync(), pub.c.endAsync()]);
    expect(broker.ingressSwaps()).toBeGreaterThan(swapsBefore);
    await expectEverySwapCounted();
  }, 60_000);
});
