/**
 * Issue 13, defect 9: a frame whose connection read fails (the GetItem of its connection record
 * times out after the SDK's retries) must still get the publisher its answer, never leave it
 * waiting for a PUBACK or PUBREC until it reconnects on its own.
 *
 * - Direct ingress: nothing retries a `$default` invocation, so the connection is closed; the
 *   client reconnects and resends its unacknowledged PUBLISH [MQTT-4.4.0-1].
 * - Ordered ingress: the frame is retried in order (in place, then through the queue); only its
 *   last attempt closes the connection.
 *
 * MQTT.js through the Stratus transport against local strict mode on DynamoDB Local, with
 * FaultyDynamoDb under the stores; protocols 4 and 5, QoS 1 and 2.
 */
import { randomUUID } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectAsync } from '../../lib/client';
import type { ProtocolVersion } from '../../lib/mqtt';
import { eventually } from '../helpers/eventually';
import { FaultyDynamoDb } from '../helpers/faulty-dynamodb';
import { startTestBroker, type TestBroker } from '../helpers/local-broker';

const VERSIONS: ProtocolVersion[] = [4, 5];

let direct: TestBroker;
let ordered: TestBroker;
const directFaults: FaultyDynamoDb[] = [];
const orderedFaults: FaultyDynamoDb[] = [];
const clients: MqttClient[] = [];

beforeAll(async () => {
  [direct, ordered] = await Promise.all([
    startTestBroker({ gateway: { ingress: 'direct' }, wrapDynamoDb: (c) => track(directFaults, c) }),
    startTestBroker({ gateway: { maxReceiveCount: 2, visibilityTimeoutMs: 200 }, wrapDynamoDb: (c) => track(orderedFaults, c) }),
  ]);
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)));
  await Promise.all([direct?.dispose(), ordered?.dispose()]);
});

function track(list: FaultyDynamoDb[], client: DynamoDBClient): DynamoDBClient {
  const faulty = new FaultyDynamoDb(client);
  list.push(faulty);
  return faulty.client;
}

async function client(broker: TestBroker, version: ProtocolVersion, closes: { count: number }): Promise<MqttClient> {
  const c = await connectAsync(broker.url, {
    protocolVersion: version,
    clientId: `rd-${randomUUID().slice(0, 8)}`,
    clean: true,
    keepalive: 0,
    reconnectPeriod: 100,
  });
  c.on('close', () => (closes.count += 1));
  clients.push(c);
  return c;
}

/** The next connection read fails `times` times, as a TimeoutError with nothing read. */
function failConnectionReads(faults: FaultyDynamoDb[], broker: TestBroker, times: number): void {
  for (const f of faults) f.inject({ kind: 'before', command: 'GetItem', table: broker.tables.connections, times });
}

/** Publishes and waits (bounded) for the publisher's PUBACK or PUBCOMP. */
async function published(publisher: MqttClient, topic: string, qos: 1 | 2): Promise<boolean> {
  let acked = false;
  publisher.publish(topic, 'hello', { qos }, (error) => (acked = !error));
  try {
    await eventually(() => acked, 300);
  } catch {
    return false;
  }
  return true;
}

describe.each(VERSIONS)('a failed connection read (protocol %i)', (version) => {
  it.each([1, 2] as const)('direct ingress, QoS %i: the connection is closed, and the resent PUBLISH is acknowledged and routed', async (qos) => {
    const subCloses = { count: 0 };
    const pubCloses = { count: 0 };
    const topic = `d9/${randomUUID().slice(0, 8)}`;
    const subscriber = await client(direct, version, subCloses);
    await subscriber.subscribeAsync(topic, { qos: 2 });
    const received: string[] = [];
    subscriber.on('message', (_t, payload) => received.push(payload.toString()));
    const publisher = await client(direct, version, pubCloses);

    failConnectionReads(directFaults, direct, 1);
    expect(await published(publisher, topic, qos)).toBe(true);
    expect(directFaults.reduce((n, f) => n + f.counts().before, 0)).toBeGreaterThan(0);
    expect(pubCloses.count).toBeGreaterThan(0);
    await eventually(() => received.length > 0);
    if (qos === 2) expect(received).toEqual(['hello']);
  });

  it('ordered ingress, QoS 1: a read that fails once is retried in place, without closing', async () => {
    const closes = { count: 0 };
    const publisher = await client(ordered, version, closes);
    failConnectionReads(orderedFaults, ordered, 1);
    expect(await published(publisher, `d9/${randomUUID().slice(0, 8)}`, 1)).toBe(true);
    expect(closes.count).toBe(0);
  });

  it('ordered ingress, QoS 2: a read that fails on every attempt closes the connection at the last; the resent PUBLISH is acknowledged', async () => {
    const closes = { count: 0 };
    const publisher = await client(ordered, version, closes);
    // maxReceiveCount 2: two tries in place on the first receive, one on the last.
    failConnectionReads(orderedFaults, ordered, 3);
    expect(await published(publisher, `d9/${randomUUID().slice(0, 8)}`, 2)).toBe(true);
    expect(closes.count).toBeGreaterThan(0);
  });
});
