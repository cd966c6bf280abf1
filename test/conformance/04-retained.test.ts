/**
 * Retained messages, byte by byte, for MQTT 3.1.1 and 5.0: what is stored, replaced and
 * deleted, what a new subscription receives and with which RETAIN flag and QoS, and the v5
 * Retain Handling and Retain As Published options.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { VERSIONS, connected, publish, publishFrom, settle, subscribe, subscribeOne, subscription, text, topic, useBroker } from './scenario';

const broker = useBroker();

describe.each(VERSIONS)('retained messages, protocol %i', (version) => {
  /** Publishes a retained QoS 1 message from a client of its own. */
  const retain = (t: string, payload: string, fields = {}) => publishFrom(broker(), version, publish(t, payload, 1, { packetId: 2, retain: true, ...fields }));

  it('stores a retained message and sends it to a new subscription with RETAIN 1 [MQTT-3.3.1-5] [MQTT-3.3.1-9]', async () => {
    const t = topic('stored');
    await retain(t, 'kept');
    const sub = await connected(broker(), version);
    await subscribeOne(sub, t, 1);
    const got = await sub.next('publish');
    expect(got).toMatchObject({ topic: t, retain: true, qos: 1, dup: false });
    expect(text(got)).toBe('kept');
  });

  it('replaces the retained message of a topic with the next one [MQTT-3.3.1-5]', async () => {
    const t = topic('replaced');
    await retain(t, 'old');
    await retain(t, 'new');
    const sub = await connected(broker(), version);
    await subscribeOne(sub, t, 1);
    await sub.next('publish');
    await settle();
    expect(sub.of('publish').map(text)).toEqual(['new']);
  });

  it('removes the retained message on an empty retained PUBLISH, which it still forwards and does not store [MQTT-3.3.1-6] [MQTT-3.3.1-7]', async () => {
    const t = topic('cleared');
    await retain(t, 'gone soon');
    const live = await connected(broker(), version);
    await subscribeOne(live, t, 1);
    await live.next('publish'); // the retained one
    await retain(t, '');
    await live.until(() => live.of('publish').length === 2);
    expect(live.of('publish').map(text)).toEqual(['gone soon', '']);
    const later = await connected(broker(), version);
    await subscribeOne(later, t, 1);
    await settle();
    expect(later.of('publish')).toEqual([]);
  });

  it('neither stores nor replaces anything for a PUBLISH with RETAIN 0 [MQTT-3.3.1-8]', async () => {
    const t = topic('untouched');
    await retain(t, 'retained');
    await publishFrom(broker(), version, publish(t, 'live only', 1, { packetId: 2 }));
    const sub = await connected(broker(), version);
    await subscribeOne(sub, t, 1);
    await sub.next('publish');
    await settle();
    expect(sub.of('publish').map(text)).toEqual(['retained']);
  });

  it('forwards a retained PUBLISH to an existing subscription with RETAIN 0 [MQTT-3.3.1-12]', async () => {
    const t = topic('live');
    const sub = await connected(broker(), version);
    await subscribeOne(sub, t, 1);
    await retain(t, 'now');
    expect(await sub.next('publish')).toMatchObject({ topic: t, retain: false });
  });

  it.each([
    [0, 0],
    [2, 1],
  ] as const)('sends a QoS 1 retained message to a QoS %i subscription at QoS %i, the minimum [MQTT-3.8.4-8]', async (granted, delivered) => {
    const t = topic('qos');
    await retain(t, 'm');
    const sub = await connected(broker(), version);
    await subscribeOne(sub, t, granted);
    expect((await sub.next('publish')).qos).toBe(delivered);
  });

  it('sends every retained message a wildcard filter matches [MQTT-3.3.1-9]', async () => {
    const t = topic('many');
    for (const name of ['a', 'b', 'c/d']) await retain(`${t}/${name}`, name);
    const sub = await connected(broker(), version);
    await subscribeOne(sub, `${t}/#`, 1);
    await sub.until(() => sub.of('publish').length === 3);
    await settle();
    expect(sub.of('publish').map((p) => [p.topic, text(p), p.retain]).sort()).toEqual([
      [`${t}/a`, 'a', true],
      [`${t}/b`, 'b', true],
      [`${t}/c/d`, 'c/d', true],
    ]);
  });

  it('sends the retained messages again when a subscription is replaced (Retain Handling 0) [MQTT-3.8.4-4]', async () => {
    const t = topic('again');
    await retain(t, 'twice');
    const sub = await connected(broker(), version);
    await subscribeOne(sub, t, 1);
    await sub.next('publish');
    await subscribeOne(sub, t, 1);
    await sub.until(() => sub.of('publish').length === 2);
    expect(sub.of('publish').map((p) => [text(p), p.retain])).toEqual([['twice', true], ['twice', true]]);
  });

  it('sends no retained message when a Shared Subscription is made (MQTT 5.0 section 4.8.2)', async () => {
    const t = topic('shared');
    await retain(t, 'not for groups');
    const sub = await connected(broker(), version);
    await subscribeOne(sub, `$share/g/${t}`, 1);
    await settle();
    expect(sub.of('publish')).toEqual([]);
  });
});

describe('retained messages, protocol 5 only', () => {
  const retain = (t: string, payload: string, fields = {}) => publishFrom(broker(), 5, publish(t, payload, 1, { packetId: 2, retain: true, ...fields }));

  it('Retain Handling 1 sends the retained messages for a new subscription only [MQTT-3.3.1-10]', async () => {
    const t = topic('rh1');
    await retain(t, 'first time');
    const sub = await connected(broker(), 5);
    await subscribeOne(sub, t, 1, { retainHandling: 1 });
    await sub.next('publish');
    await subscribeOne(sub, t, 1, { retainHandling: 1 });
    await settle();
    expect(sub.of('publish').map(text)).toEqual(['first time']);
  });

  it('Retain Handling 2 sends no retained message [MQTT-3.3.1-11]', async () => {
    const t = topic('rh2');
    await retain(t, 'never');
    const sub = await connected(broker(), 5);
    const suback = await subscribe(sub, [subscription(5, t, 1, { retainHandling: 2 })]);
    expect(suback.reasonCodes).toEqual([1]);
    await settle();
    expect(sub.of('publish')).toEqual([]);
  });

  it('Retain As Published 1 forwards a live retained PUBLISH with RETAIN 1 [MQTT-3.3.1-13]', async () => {
    const t = topic('rap');
    const sub = await connected(broker(), 5);
    await subscribeOne(sub, t, 1, { retainAsPublished: true });
    await retain(t, 'flagged');
    expect(await sub.next('publish')).toMatchObject({ retain: true });
  });

  it('does not send a retained message whose Message Expiry Interval has passed; a live one carries what remains [MQTT-3.3.2-5] [MQTT-3.3.2-6]', async () => {
    const t = topic('expiry');
    await retain(`${t}/short`, 'stale', { properties: { messageExpiryInterval: 1 } });
    await retain(`${t}/long`, 'fresh', { properties: { messageExpiryInterval: 60 } });
    await sleep(1_500);
    const sub = await connected(broker(), 5);
    await subscribeOne(sub, `${t}/#`, 1);
    await sub.next('publish');
    await settle();
    expect(sub.of('publish').map(text)).toEqual(['fresh']);
    expect(sub.of('publish')[0].properties?.messageExpiryInterval).toBeLessThanOrEqual(59);
  });
});
