import { describe, expect, it } from 'vitest';
import { planDelivery, remainingExpiry, type DeliveryOptions } from '../../../lib/broker/delivery';
import { retainedPublish } from '../../../lib/broker/retained';
import type { RetainedMessage, RetainedSendIntent } from '../../../lib/broker/intents';
import type { PublishPacket } from '../../../lib/mqtt/types';
import { bytes, NOW, route } from './fixtures';

const OPTS: DeliveryOptions = { shareSeed: 0, now: NOW };

function pub(overrides: Partial<PublishPacket> = {}): PublishPacket {
  return { type: 'publish', topic: 'a/b', payload: bytes('m'), qos: 2, retain: false, dup: false, packetId: 5, ...overrides };
}

describe.each([4, 5] as const)('planDelivery, subscriber protocol %i', (v) => {
  const r = (clientId: string, o: Parameters<typeof route>[1] = {}) => route(clientId, { protocolVersion: v, ...o });

  it('delivers at min(published QoS, granted QoS) [MQTT-3.8.4-8]', () => {
    const plan = planDelivery(pub({ qos: 2 }), [r('c1', { grantedQos: 1 }), r('c2', { grantedQos: 0 }), r('c3')], 'pub', OPTS);
    expect(plan.map((d) => [d.clientId, d.qos, d.packet.qos])).toEqual([
      ['c1', 1, 1],
      ['c2', 0, 0],
      ['c3', 2, 2],
    ]);
    const low = planDelivery(pub({ qos: 0, packetId: undefined }), [r('c1')], 'pub', OPTS);
    expect(low[0].qos).toBe(0);
  });

  it('sends without packet id and with DUP 0, to the route connection [MQTT-2.2.1-4] [MQTT-3.3.1-3]', () => {
    const [d] = planDelivery(pub({ dup: true }), [r('c1')], 'pub', OPTS);
    expect(d).toMatchObject({ clientId: 'c1', connectionId: 'conn-c1', protocolVersion: v, queue: false, expiresAt: null });
    expect(d.packet.packetId).toBeUndefined();
    expect(d.packet.dup).toBe(false);
    expect(d.packet.topic).toBe('a/b');
  });

  it('sends ONE copy per client at the highest matching QoS [MQTT-3.3.4-2] [MQTT-3.3.4-4]', () => {
    const plan = planDelivery(pub(), [r('c1', { filter: 'a/+', grantedQos: 0 }), r('c1', { filter: 'a/#', grantedQos: 1 })], 'pub', OPTS);
    expect(plan).toHaveLength(1);
    expect(plan[0].qos).toBe(1);
  });

  it('skips the publisher on a No Local subscription, not other clients [MQTT-3.8.3-3]', () => {
    const plan = planDelivery(pub(), [r('pub', { noLocal: true }), r('c1', { noLocal: true }), r('pub', { filter: 'a/#' })], 'pub', OPTS);
    expect(plan.map((d) => d.clientId).sort()).toEqual(['c1', 'pub']);
  });

  it('sets RETAIN 0 unless Retain As Published, then keeps it [MQTT-3.3.1-12] [MQTT-3.3.1-13]', () => {
    const plan = planDelivery(pub({ retain: true }), [r('c1'), r('c2', { retainAsPublished: true })], 'pub', OPTS);
    expect(plan.map((d) => d.packet.retain)).toEqual([false, true]);
    const notRetained = planDelivery(pub({ retain: false }), [r('c2', { retainAsPublished: true })], 'pub', OPTS);
    expect(notRetained[0].packet.retain).toBe(false);
  });

  it('never delivers a $ topic through a leading wildcard, whatever the input says [MQTT-4.7.2-1] [MQTT-3.3.2-3]', () => {
    const plan = planDelivery(pub({ topic: '$SYS/x' }), [r('c1', { filter: '#' }), r('c2', { filter: '+/x' }), r('c3', { filter: '$SYS/#' })], 'pub', OPTS);
    expect(plan.map((d) => d.clientId)).toEqual(['c3']);
  });

  it('drops a route whose filter does not match the topic [MQTT-3.3.2-3]', () => {
    expect(planDelivery(pub(), [r('c1', { filter: 'x/y' })], 'pub', OPTS)).toEqual([]);
  });

  it('queues QoS > 0 for an offline client and drops QoS 0 for it', () => {
    const plan = planDelivery(pub({ qos: 1 }), [r('off', { connectionId: null }), r('off0', { connectionId: null, grantedQos: 0 })], 'pub', OPTS);
    expect(plan).toHaveLength(1);
    expect(plan[0]).toMatchObject({ clientId: 'off', connectionId: null, queue: true, qos: 1 });
  });

  it('delivers to exactly one member per shared group, chosen by the seed among online members (4.8.2)', () => {
    const group = [r('m2', { shareName: 'g' }), r('m1', { shareName: 'g' }), r('m3', { shareName: 'g', connectionId: null })];
    const pick = (seed: number) => planDelivery(pub(), group, 'pub', { ...OPTS, shareSeed: seed }).map((d) => d.clientId);
    expect(pick(0)).toEqual(['m1']);
    expect(pick(1)).toEqual(['m2']);
    expect(pick(2)).toEqual(['m1']);
    expect(pick(-1)).toEqual(['m2']);
    expect(planDelivery(pub(), group, 'pub', { ...OPTS, shareSeed: 7 })[0].shareName).toBe('g');
  });

  it('falls back to an offline member (queued) when no member is online (4.8.2)', () => {
    const group = [r('m1', { shareName: 'g', connectionId: null }), r('m2', { shareName: 'g', connectionId: null })];
    const plan = planDelivery(pub({ qos: 1 }), group, 'pub', OPTS);
    expect(plan).toEqual([expect.objectContaining({ clientId: 'm1', queue: true })]);
  });

  it('treats groups with one name but different filters, and a member with a non-shared subscription, separately', () => {
    const routes = [r('m1', { shareName: 'g' }), r('m1', { shareName: 'g', filter: 'a/+' }), r('m1')];
    expect(planDelivery(pub(), routes, 'pub', OPTS).map((d) => d.clientId)).toEqual(['m1', 'm1', 'm1']);
  });

  it('drops a copy larger than the client Maximum Packet Size [MQTT-3.1.2-25]', () => {
    const plan = planDelivery(pub({ payload: new Uint8Array(100) }), [r('small', { maximumPacketSize: 50 }), r('big', { maximumPacketSize: 500 })], 'pub', OPTS);
    expect(plan.map((d) => d.clientId)).toEqual(['big']);
  });

  it('drops everything once the message has expired [MQTT-3.3.2-5]', () => {
    const p = pub({ properties: { messageExpiryInterval: 10 } });
    expect(planDelivery(p, [r('c1')], 'pub', { ...OPTS, receivedAt: NOW - 10_000 })).toEqual([]);
    expect(planDelivery(p, [r('c1')], 'pub', { ...OPTS, receivedAt: NOW - 9_999 })).toHaveLength(1);
  });
});

describe('planDelivery, v5 properties', () => {
  it('carries all Subscription Identifiers of the matching subscriptions in the one copy [MQTT-3.3.4-3] [MQTT-3.3.4-4]', () => {
    const plan = planDelivery(
      pub(),
      [route('c1', { filter: 'a/+', subscriptionIdentifier: 3 }), route('c1', { filter: 'a/#' }), route('c1', { filter: 'a/b', subscriptionIdentifier: 9 })],
      'pub',
      OPTS,
    );
    expect(plan).toHaveLength(1);
    expect(plan[0].packet.properties?.subscriptionIdentifiers).toEqual([3, 9]);
  });

  it('passes properties unaltered, user properties in order, without Topic Alias [MQTT-3.3.2-4] [MQTT-3.3.2-15] [MQTT-3.3.2-16] [MQTT-3.3.2-17] [MQTT-3.3.2-18] [MQTT-3.3.2-20]', () => {
    const properties = {
      payloadFormatIndicator: 1,
      contentType: 'text/plain',
      responseTopic: 'r/1',
      correlationData: bytes('id'),
      userProperties: [['b', '2'], ['a', '1'], ['b', '3']] as [string, string][],
      topicAlias: 4,
    };
    const [d] = planDelivery(pub({ properties }), [route('c1')], 'pub', OPTS);
    const { topicAlias: _t, ...forwarded } = properties;
    expect(d.packet.properties).toEqual(forwarded);
  });

  it('forwards the remaining Message Expiry Interval [MQTT-3.3.2-6]', () => {
    const [d] = planDelivery(pub({ properties: { messageExpiryInterval: 60 } }), [route('c1')], 'pub', { ...OPTS, receivedAt: NOW - 15_500 });
    expect(d.packet.properties?.messageExpiryInterval).toBe(45);
    expect(d.expiresAt).toBe(NOW - 15_500 + 60_000);
  });

  it('sends no properties at all to a 3.1.1 subscriber', () => {
    const [d] = planDelivery(pub({ properties: { contentType: 'x', messageExpiryInterval: 9 } }), [route('c1', { protocolVersion: 4, subscriptionIdentifier: 2 })], 'pub', OPTS);
    expect(d.packet.properties).toBeUndefined();
    expect(d.expiresAt).toBe(NOW + 9_000);
  });

  it('carries the route Receive Maximum for flow control', () => {
    const [d] = planDelivery(pub(), [route('c1', { receiveMaximum: 10 })], 'pub', OPTS);
    expect(d.receiveMaximum).toBe(10);
  });
});

describe('remainingExpiry', () => {
  it('subtracts whole seconds waited and reports expiry [MQTT-3.3.2-5] [MQTT-3.3.2-6]', () => {
    expect(remainingExpiry(undefined, 0, 99_000)).toBeUndefined();
    expect(remainingExpiry(10, 0, 0)).toBe(10);
    expect(remainingExpiry(10, 0, 2_999)).toBe(8);
    expect(remainingExpiry(10, 0, 10_000)).toBe('expired');
  });
});

describe.each([4, 5] as const)('retainedPublish, subscriber protocol %i', (v) => {
  const message: RetainedMessage = {
    topic: 'a/b',
    payload: bytes('r'),
    qos: 2,
    properties: { messageExpiryInterval: 100, contentType: 'c' },
    requestTimeEpoch: NOW - 20_000,
    receivedAt: NOW - 20_000,
    expiresAt: NOW + 80_000,
  };
  const request: RetainedSendIntent = { kind: 'retained.send', protocolVersion: v, topicFilter: 'a/#', qos: 1, subscriptionIdentifier: 6 };

  it('sends RETAIN 1 at min(message QoS, granted QoS) (3.3.1.3) [MQTT-3.8.4-8]', () => {
    const p = retainedPublish(message, request, NOW)!;
    expect(p).toMatchObject({ type: 'publish', topic: 'a/b', qos: 1, retain: true, dup: false });
    expect(p.packetId).toBeUndefined();
    if (v === 5) expect(p.properties).toEqual({ messageExpiryInterval: 80, contentType: 'c', subscriptionIdentifiers: [6] });
    else expect(p.properties).toBeUndefined();
  });

  it('sends nothing once the retained message has expired [MQTT-3.3.2-5]', () => {
    expect(retainedPublish(message, request, NOW + 80_000)).toBeUndefined();
  });
});
