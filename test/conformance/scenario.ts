/**
 * What the conformance scenarios share: one local broker per file (strict mode, like API
 * Gateway), raw clients on it, and the few packet builders the scenarios repeat. Each scenario
 * speaks bytes through test/helpers/raw-client.ts and asserts the exact packets, reason codes and
 * close that the specification requires.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll } from 'vitest';
import type { ConnectPacket, Packet, ProtocolVersion, PublishPacket, QoS, SubackPacket, Subscription } from '../../lib/mqtt';
import { createDynamoDbClient } from '../../lib/store/dynamodb/client';
import { eventually } from '../helpers/eventually';
import { startTestBroker, type TestBroker } from '../helpers/local-broker';
import { RawClient } from '../helpers/raw-client';

/** Every scenario runs for MQTT 3.1.1 (4) and MQTT 5.0 (5). */
export const VERSIONS = [4, 5] as const satisfies readonly ProtocolVersion[];

/** Close code of a connection the broker closed (`@connections` DELETE: no status code). */
export const CLOSED_BY_SERVER = 1005;

/** Starts this file's broker before its scenarios and disposes of it after them. */
export function useBroker(options: Parameters<typeof startTestBroker>[0] = {}): () => TestBroker {
  let broker: TestBroker | undefined;
  beforeAll(async () => {
    broker = await startTestBroker(options);
  });
  afterAll(async () => {
    RawClient.terminateAll();
    await broker?.dispose();
  });
  return () => {
    if (broker === undefined) throw new Error('broker not started');
    return broker;
  };
}

/** A raw client on `broker`, connected (CONNACK 0x00). */
export function connected(broker: TestBroker, version: ProtocolVersion, fields: Partial<ConnectPacket> = {}): Promise<RawClient> {
  return RawClient.connected(broker.url, version, fields);
}

/** A topic no other scenario uses. */
export const topic = (name: string): string => `conf/${randomUUID().slice(0, 8)}/${name}`;

/** A fresh client id. */
export const clientId = (name: string): string => `${name}-${randomUUID().slice(0, 8)}`;

/**
 * Waits long enough for a message the broker would send to have arrived, before asserting that
 * nothing came.
 */
export const settle = (ms = 400): Promise<unknown> => sleep(ms);

/** A session that outlives its connection: Clean Session 0 (3.1.1), Clean Start 0 and an expiry (5). */
export function persistent(version: ProtocolVersion, id: string): Partial<ConnectPacket> {
  return { clientId: id, clean: false, ...(version === 5 ? { properties: { sessionExpiryInterval: 300 } } : {}) };
}

/** A PUBLISH to `t`; a packet id is set exactly when QoS > 0. */
export function publish(t: string, payload: string, qos: QoS = 0, fields: Partial<PublishPacket> = {}): PublishPacket {
  return { type: 'publish', topic: t, payload: Buffer.from(payload), qos, retain: false, dup: false, ...(qos > 0 ? { packetId: 1 } : {}), ...fields };
}

/** A subscription entry; v5 options default to 0 (the codec wants them explicit in v5). */
export function subscription(version: ProtocolVersion, topicFilter: string, qos: QoS, options: Partial<Subscription> = {}): Subscription {
  if (version !== 5) return { topicFilter, qos };
  return { topicFilter, qos, noLocal: false, retainAsPublished: false, retainHandling: 0, ...options };
}

/** Sends a SUBSCRIBE with these subscriptions and resolves with the SUBACK that answers it (the next one). */
export async function subscribe(raw: RawClient, subscriptions: Subscription[], packetId = 1, properties?: SubscribePacketProperties): Promise<SubackPacket> {
  const before = raw.of('suback').length;
  await raw.send({ type: 'subscribe', packetId, subscriptions, ...(properties === undefined ? {} : { properties }) });
  await raw.until(() => raw.of('suback').length > before, undefined, 'a SUBACK');
  const suback = raw.of('suback')[before];
  if (suback.packetId !== packetId) throw new Error(`SUBACK for packet id ${suback.packetId}, not ${packetId}`);
  return suback;
}
type SubscribePacketProperties = { subscriptionIdentifiers?: number[] };

/** Subscribes to one filter and fails unless it is granted. */
export async function subscribeOne(raw: RawClient, filter: string, qos: QoS, options: Partial<Subscription> = {}): Promise<void> {
  const suback = await subscribe(raw, [subscription(raw.version, filter, qos, options)]);
  if (suback.reasonCodes[0] !== qos) throw new Error(`SUBSCRIBE ${filter} answered ${suback.reasonCodes[0]}`);
}

/** Publishes from a client of its own (QoS 1 waits for the PUBACK), then drops it. */
export async function publishFrom(broker: TestBroker, version: ProtocolVersion, packet: PublishPacket): Promise<void> {
  const publisher = await connected(broker, version);
  await publisher.send(packet);
  if (packet.qos === 1) await publisher.next('puback');
  if (packet.qos === 2) {
    await publisher.next('pubrec');
    await publisher.send({ type: 'pubrel', packetId: packet.packetId as number });
    await publisher.next('pubcomp');
  }
  await publisher.end();
}

/** The payload as text. */
export const text = (packet: PublishPacket): string => Buffer.from(packet.payload).toString();

/** An acknowledgement's reason code: absent in 3.1.1, and 0 when absent on the wire in v5. */
export function reasonCodeOf(packet: Packet): number {
  return 'reasonCode' in packet ? (packet.reasonCode ?? 0) : 0;
}

/**
 * Waits until the broker has run the disconnect path of every connection of `id` (its
 * connection records are gone). `$disconnect` runs after the close, as on AWS, so a scenario
 * about what outlives a connection waits for it before connecting again.
 */
export async function disconnected(broker: TestBroker, id: string): Promise<void> {
  const db = createDynamoDbClient({ endpoint: broker.dynamodbEndpoint });
  try {
    await eventually(async () => {
      const out = await db.send(new ScanCommand({ TableName: broker.tables.connections, ConsistentRead: true }));
      return !(out.Items ?? []).some((item) => item.clientId?.S === id);
    });
  } finally {
    db.destroy();
  }
}
