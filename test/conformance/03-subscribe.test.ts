/**
 * SUBSCRIBE, SUBACK, UNSUBSCRIBE and UNSUBACK, topic filter matching and Shared Subscriptions,
 * byte by byte, for MQTT 3.1.1 and 5.0.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createDynamoDbClient, dynamoStores } from '../../lib/store/dynamodb';
import type { TestBroker } from '../helpers/local-broker';
import { CLOSED_BY_SERVER, VERSIONS, connected, publish, publishFrom, settle, subscribe, subscribeOne, subscription, text, topic, useBroker } from './scenario';

const broker = useBroker();

describe.each(VERSIONS)('SUBSCRIBE and UNSUBSCRIBE, protocol %i', (version) => {
  const v5 = version === 5;
  /** The SUBACK failure code: 0x8F Topic Filter invalid in v5, 0x80 Failure in 3.1.1. */
  const INVALID = v5 ? 0x8f : 0x80;

  it('answers SUBSCRIBE with one SUBACK, its packet id, and the granted QoS of each filter in order [MQTT-3.8.4-1] [MQTT-3.8.4-2] [MQTT-3.8.4-6] [MQTT-3.8.4-7] [MQTT-3.9.3-1]', async () => {
    const t = topic('order');
    const raw = await connected(broker(), version);
    const suback = await subscribe(raw, [subscription(version, `${t}/a`, 2), subscription(version, `${t}/b`, 0), subscription(version, `${t}/c`, 1)], 0x0102);
    expect(suback).toEqual({ type: 'suback', packetId: 0x0102, reasonCodes: [2, 0, 1] });
    expect(raw.of('suback')).toHaveLength(1);
  });

  it('fails only the invalid filters of a SUBSCRIBE, and grants the others [MQTT-3.8.4-5] [MQTT-4.7.1-1] [MQTT-4.7.1-2] [MQTT-4.7.3-1]', async () => {
    const t = topic('invalid');
    const raw = await connected(broker(), version);
    const filters = [`${t}/ok`, `${t}/#/b`, `${t}/x+`, '', `${t}/+/ok`];
    const suback = await subscribe(raw, filters.map((f) => subscription(version, f, 1)), 7);
    expect(suback.reasonCodes).toEqual([1, INVALID, INVALID, INVALID, 1]);
  });

  it('matches + to exactly one level and # to any number, the parent level included; the Topic Name is sent as published [MQTT-4.7.1-2] [MQTT-3.3.2-3]', async () => {
    const t = topic('wild');
    const plus = await connected(broker(), version);
    await subscribeOne(plus, `${t}/+/temp`, 0);
    const hash = await connected(broker(), version);
    await subscribeOne(hash, `${t}/#`, 0);
    for (const name of [`${t}/a/temp`, `${t}/a/b/temp`, t]) await publishFrom(broker(), version, publish(name, name));
    await hash.until(() => hash.of('publish').length === 3);
    await settle();
    expect(plus.of('publish').map((p) => p.topic)).toEqual([`${t}/a/temp`]);
    expect(hash.of('publish').map((p) => p.topic).sort()).toEqual([t, `${t}/a/b/temp`, `${t}/a/temp`].sort());
  });

  it('does not match a Topic Name starting with $ to a filter starting with a wildcard [MQTT-4.7.2-1]', async () => {
    // No client may publish to a '$' topic (MQTT 5.0 section 4.7.2; lib/auth/acl.ts canPublish),
    // so the message is the server's own: a retained message written to the store directly.
    const dollar = `$conf-${randomUUID().slice(0, 8)}/x`;
    await serverRetains(broker(), dollar, 'hidden');
    const wild = await connected(broker(), version);
    await subscribe(wild, [subscription(version, '#', 0), subscription(version, '+/x', 0)]);
    const exact = await connected(broker(), version);
    await subscribeOne(exact, dollar, 0);
    expect(text(await exact.next('publish'))).toBe('hidden');
    await settle();
    expect(wild.of('publish').filter((p) => p.topic === dollar)).toEqual([]);
  });

  it('refuses a client PUBLISH to a $ topic: nothing is routed (MQTT 5.0 section 4.7.2)', async () => {
    const dollar = `$conf-${randomUUID().slice(0, 8)}/y`;
    const exact = await connected(broker(), version);
    await subscribeOne(exact, dollar, 1);
    await publishFrom(broker(), version, publish(dollar, 'forged', 1, { packetId: 3 }));
    await settle();
    expect(exact.of('publish')).toEqual([]);
  });

  it('sends one copy to a client whose subscriptions overlap, at the highest of their QoS [MQTT-3.3.4-2]', async () => {
    const t = topic('overlap');
    const raw = await connected(broker(), version);
    await subscribe(raw, [subscription(version, `${t}/#`, 0), subscription(version, `${t}/x`, 1)]);
    await publishFrom(broker(), version, publish(`${t}/x`, 'once', 1, { packetId: 2 }));
    await raw.next('publish');
    await settle();
    expect(raw.of('publish').map((p) => [text(p), p.qos])).toEqual([['once', 1]]);
  });

  it('replaces a subscription to the same filter: the new QoS applies, one copy [MQTT-3.8.4-3]', async () => {
    const t = topic('replace');
    const raw = await connected(broker(), version);
    await subscribeOne(raw, t, 2);
    await subscribeOne(raw, t, 0);
    await publishFrom(broker(), version, publish(t, 'again', 2, { packetId: 2 }));
    await raw.next('publish');
    await settle();
    expect(raw.of('publish').map((p) => p.qos)).toEqual([0]);
  });

  it('answers UNSUBSCRIBE with UNSUBACK and its packet id (v5: 0x00, or 0x11 where no subscription existed), and delivers no more [MQTT-3.10.4-2] [MQTT-3.10.4-4] [MQTT-3.10.4-5] [MQTT-3.11.3-1]', async () => {
    const t = topic('unsub');
    const raw = await connected(broker(), version);
    await subscribeOne(raw, t, 1);
    await raw.send({ type: 'unsubscribe', packetId: 0x0a0b, topicFilters: [t, `${t}/never`] });
    expect(await raw.next('unsuback')).toEqual({ type: 'unsuback', packetId: 0x0a0b, reasonCodes: v5 ? [0x00, 0x11] : [] });
    await publishFrom(broker(), version, publish(t, 'late', 1, { packetId: 2 }));
    await settle();
    expect(raw.of('publish')).toEqual([]);
  });

  it('unsubscribes only a filter equal character by character: base/x leaves base/+ in place [MQTT-3.10.4-1]', async () => {
    const t = topic('exact');
    const raw = await connected(broker(), version);
    await subscribeOne(raw, `${t}/+`, 0);
    await raw.send({ type: 'unsubscribe', packetId: 3, topicFilters: [`${t}/x`] });
    expect((await raw.next('unsuback')).reasonCodes).toEqual(v5 ? [0x11] : []);
    await publishFrom(broker(), version, publish(`${t}/x`, 'still'));
    expect(text(await raw.next('publish'))).toBe('still');
  });

  it('sends each message of a Shared Subscription to one member of the group, at the member\'s granted QoS [MQTT-4.8.2-3]', async () => {
    const t = topic('shared');
    const members = [await connected(broker(), version), await connected(broker(), version)];
    for (const m of members) await subscribeOne(m, `$share/g/${t}`, 1);
    const payloads = ['s0', 's1', 's2', 's3'];
    for (const p of payloads) await publishFrom(broker(), version, publish(t, p, 1, { packetId: 2 }));
    const all = () => members.flatMap((m) => m.of('publish'));
    await members[0].until(() => all().length >= payloads.length);
    await settle();
    expect(all().map(text).sort()).toEqual(payloads);
    expect(all().every((p) => p.qos === 1 && p.topic === t)).toBe(true);
  });

  it('fails a Shared Subscription filter without a ShareName or a filter [MQTT-4.8.2-1] [MQTT-4.8.2-2]', async () => {
    const raw = await connected(broker(), version);
    const suback = await subscribe(raw, ['$share//a', '$share/g', '$share/g+/a'].map((f) => subscription(version, f, 0)));
    expect(suback.reasonCodes).toEqual([INVALID, INVALID, INVALID]);
  });
});

describe('SUBSCRIBE and UNSUBSCRIBE, protocol 5 only', () => {
  it('No Local: does not send a client its own messages [MQTT-3.8.3-3]', async () => {
    const t = topic('nolocal');
    const raw = await connected(broker(), 5);
    await subscribeOne(raw, t, 1, { noLocal: true });
    const other = await connected(broker(), 5);
    await subscribeOne(other, t, 1);
    await raw.send(publish(t, 'mine', 1, { packetId: 4 }));
    await raw.next('puback');
    await other.next('publish');
    await settle();
    expect(raw.of('publish')).toEqual([]);
  });

  it('treats No Local on a Shared Subscription as a Protocol Error: DISCONNECT 0x82 [MQTT-3.8.3-4]', async () => {
    const raw = await connected(broker(), 5);
    await raw.send({ type: 'subscribe', packetId: 1, subscriptions: [subscription(5, `$share/g/${topic('x')}`, 0, { noLocal: true })] });
    expect(await raw.waitClosed()).toBe(CLOSED_BY_SERVER);
    expect(raw.packets.slice(1)).toEqual([{ type: 'disconnect', reasonCode: 0x82 }]);
  });

  it('sends one copy carrying the Subscription Identifiers of every overlapping subscription [MQTT-3.3.4-3] [MQTT-3.3.4-4]', async () => {
    const t = topic('subids');
    const raw = await connected(broker(), 5);
    await subscribe(raw, [subscription(5, `${t}/#`, 0)], 1, { subscriptionIdentifiers: [11] });
    await subscribe(raw, [subscription(5, `${t}/+`, 1)], 2, { subscriptionIdentifiers: [22] });
    await publishFrom(broker(), 5, publish(`${t}/x`, 'tagged', 1, { packetId: 2 }));
    const got = await raw.next('publish');
    await settle();
    expect(raw.of('publish')).toHaveLength(1);
    expect([...(got.properties?.subscriptionIdentifiers ?? [])].sort()).toEqual([11, 22]);
  });

  it('answers 0x8F in the UNSUBACK for an invalid filter [MQTT-3.11.3-2]', async () => {
    const raw = await connected(broker(), 5);
    await raw.send({ type: 'unsubscribe', packetId: 5, topicFilters: ['a/#/b', topic('none')] });
    expect(await raw.next('unsuback')).toEqual({ type: 'unsuback', packetId: 5, reasonCodes: [0x8f, 0x11] });
  });
});

/** A retained message the server itself stored (not a client PUBLISH). */
async function serverRetains(b: TestBroker, t: string, payload: string): Promise<void> {
  const client = createDynamoDbClient({ endpoint: b.dynamodbEndpoint });
  try {
    const now = Date.now();
    const written = await dynamoStores({ client, tables: b.tables }).retained.put({ topic: t, payload: Buffer.from(payload), qos: 0, requestTimeEpoch: now, receivedAt: now, messageExpiresAt: null });
    expect(written).toBe('written');
  } finally {
    client.destroy();
  }
}
