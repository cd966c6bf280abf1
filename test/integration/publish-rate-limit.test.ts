/**
 * The per-client publish rate limit end to end (issue 16): MQTT.js through the Stratus transport
 * against local strict mode (ordered ingress, DynamoDB Local), with a limit low enough that a
 * client goes over it on its fourth PUBLISH: bursts of 3, and one token per 100 s, so no token
 * comes back while the test runs. Each behaviour for protocol 4 and 5.
 *
 * What the client sees: v5 gets DISCONNECT 0x96 (Message rate too high), then the close; 3.1.1
 * sees the close. The PUBLISH over the limit reaches no subscriber, the ones before it did, the
 * client's will is published [MQTT-3.1.2-8], and the refusal is counted (PublishRateLimited).
 */
import { randomUUID } from 'node:crypto';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../lib/client';
import type { ProtocolVersion } from '../../lib/mqtt';
import { createMetrics } from '../../lib/runtime/metrics';
import { eventually } from '../helpers/eventually';
import { startTestBroker, type TestBroker } from '../helpers/local-broker';

const VERSIONS: ProtocolVersion[] = [4, 5];
const BURST = 3;

let broker: TestBroker;
const metricLines: string[] = [];
const clients: MqttClient[] = [];

beforeAll(async () => {
  broker = await startTestBroker({
    publishRate: { perSecond: 0.01, burst: BURST },
    metrics: createMetrics((line) => metricLines.push(line)),
  });
});

afterAll(async () => {
  for (const c of clients) c.end(true);
  await broker?.dispose();
});

/** The sum of a metric over every EMF line flushed so far. */
function metricTotal(name: string): number {
  return metricLines.map((line) => Number((JSON.parse(line) as Record<string, unknown>)[name] ?? 0)).reduce((a, b) => a + b, 0);
}

interface Opened {
  readonly c: MqttClient;
  readonly clientId: string;
  readonly messages: string[];
  /** Reason codes of the DISCONNECT packets the broker sent (v5). */
  readonly disconnects: number[];
  readonly closed: Promise<void>;
}

async function open(version: ProtocolVersion, options: Parameters<typeof connect>[1] = {}): Promise<Opened> {
  const clientId = `rl-${randomUUID().slice(0, 8)}`;
  const c = connect(broker.url, { protocolVersion: version, clientId, reconnectPeriod: 0, ...options });
  clients.push(c);
  const opened: Opened = {
    c,
    clientId,
    messages: [],
    disconnects: [],
    closed: new Promise((resolve) => c.once('close', () => resolve())),
  };
  c.on('message', (_topic, payload) => opened.messages.push(payload.toString()));
  c.on('disconnect', (packet) => opened.disconnects.push(packet.reasonCode ?? 0));
  await new Promise<void>((resolve, reject) => {
    c.once('connect', () => resolve());
    c.once('error', reject);
  });
  return opened;
}

describe.each(VERSIONS)('per-client publish rate limit, MQTT.js against local mode, protocol %i', (version) => {
  it(`a client over the limit is disconnected${version === 5 ? ' with DISCONNECT 0x96 [MQTT-3.14.2-1] [MQTT-4.13.2-1]' : ''}; the PUBLISH over it is not delivered, the earlier ones were, its will is published [MQTT-3.1.2-8], the refusal is counted`, async () => {
    const t = `rate/${randomUUID().slice(0, 8)}`;
    const before = metricTotal('PublishRateLimited');
    const sub = await open(version);
    await sub.c.subscribeAsync(`${t}/#`, { qos: 1 });
    const pub = await open(version, { will: { topic: `${t}/will`, payload: Buffer.from('offline'), qos: 1, retain: false } });
    for (let i = 1; i <= BURST; i++) await pub.c.publishAsync(`${t}/data`, `m${i}`, { qos: 1 });
    // Over the limit: never acknowledged, so not awaited.
    pub.c.publish(`${t}/data`, 'm4', { qos: 1 });
    await pub.closed;
    expect(pub.disconnects).toEqual(version === 5 ? [0x96] : []);
    // The will comes from the close, which the ordered queue handles after the refused PUBLISH: by
    // the time it arrives, that PUBLISH would have been delivered too.
    await eventually(() => sub.messages.includes('offline'));
    expect(sub.messages).toEqual(['m1', 'm2', 'm3', 'offline']);
    expect(metricTotal('PublishRateLimited') - before).toBe(1);
    await sub.c.endAsync();
  });

  it('a client within the limit is not disconnected, and other clients keep their own limit beside a flooding one', async () => {
    const t = `rate/${randomUUID().slice(0, 8)}`;
    const sub = await open(version);
    await sub.c.subscribeAsync(`${t}/#`, { qos: 1 });
    const flooder = await open(version);
    const calm = await open(version);
    for (let i = 0; i < BURST * 3; i++) flooder.c.publish(`${t}/flood`, `f${i}`, { qos: 0 });
    await flooder.closed;
    for (let i = 1; i <= BURST; i++) await calm.c.publishAsync(`${t}/calm`, `c${i}`, { qos: 1 });
    await eventually(() => sub.messages.filter((m) => m.startsWith('c')).length === BURST);
    expect(calm.c.connected).toBe(true);
    expect(sub.messages.filter((m) => m.startsWith('f'))).toHaveLength(BURST);
    await Promise.all([sub.c.endAsync(), calm.c.endAsync()]);
  });
});
