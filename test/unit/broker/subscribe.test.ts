import { describe, expect, it } from 'vitest';
import type { Decision } from '../../../lib/broker/decisions';
import { handlePacket } from '../../../lib/broker/handle';
import type { BrokerConfigInput } from '../../../lib/broker/config';
import type { MqttConnectionState } from '../../../lib/broker/state';
import type { SubscribePacket, Subscription } from '../../../lib/mqtt/types';
import { CONNECTION_ID, connectedState, decided, intentOf, makeCtx, onlySent } from './fixtures';

function subscribe(
  state: MqttConnectionState,
  subscriptions: Subscription[],
  options: { config?: BrokerConfigInput; existing?: string[]; properties?: SubscribePacket['properties'] } = {},
): Decision {
  const packet: SubscribePacket = { type: 'subscribe', packetId: 7, subscriptions };
  if (options.properties) packet.properties = options.properties;
  const ctx = makeCtx({ config: options.config, subscribe: { existingFilters: new Set(options.existing ?? []) } });
  return decided(handlePacket(packet, state, ctx));
}

const sub = (topicFilter: string, qos: 0 | 1 | 2 = 1, extra: Partial<Subscription> = {}): Subscription => ({
  topicFilter,
  qos,
  ...extra,
});

describe.each([4, 5] as const)('SUBSCRIBE, protocol %i', (v) => {
  const failure = v === 5 ? 0x8f : 0x80;

  it('answers SUBACK with the packet id and one granted QoS per filter, in order [MQTT-3.8.4-2] [MQTT-3.8.4-6] [MQTT-3.9.3-1]', () => {
    const d = subscribe(connectedState(v), [sub('a/b', 0), sub('c/#', 2), sub('d/+/e', 1)]);
    expect(onlySent(d, 'suback')).toEqual({ type: 'suback', packetId: 7, reasonCodes: [0, 2, 1] });
    expect(d.close).toBeNull();
  });

  it('grants min(requested, Maximum QoS) and still accepts any requested QoS [MQTT-3.2.2-10] [MQTT-3.8.4-7]', () => {
    const d = subscribe(connectedState(v), [sub('a', 2), sub('b', 1), sub('c', 0)], { config: { maximumQoS: 1 } });
    expect(onlySent(d, 'suback').reasonCodes).toEqual([1, 1, 0]);
    expect(intentOf(d, 'subscriptions.put')?.subscriptions.map((s) => s.qos)).toEqual([1, 1, 0]);
  });

  it(`fails an invalid filter with ${v === 5 ? '0x8F' : '0x80'} and handles the others [MQTT-3.9.3-2] [MQTT-4.7.1-1]`, () => {
    const d = subscribe(connectedState(v), [sub('a/#/b'), sub('ok/+'), sub('x+'), sub('')]);
    expect(onlySent(d, 'suback').reasonCodes).toEqual([failure, 1, failure, failure]);
    expect(intentOf(d, 'subscriptions.put')?.subscriptions.map((s) => s.filter)).toEqual(['ok/+']);
  });

  it('writes the accepted subscriptions with their options [MQTT-3.8.4-3]', () => {
    const d = subscribe(connectedState(v), [sub('a/b', 1)]);
    expect(intentOf(d, 'subscriptions.put')).toEqual({
      kind: 'subscriptions.put',
      clientId: 'sensor-1',
      subscriptions: [
        { filter: 'a/b', topicFilter: 'a/b', qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0, existed: false },
      ],
    });
  });

  it('marks a repeated filter as existing, so the store replaces it [MQTT-3.8.4-3]', () => {
    const d = subscribe(connectedState(v), [sub('a/b')], { existing: ['a/b'] });
    expect(intentOf(d, 'subscriptions.put')?.subscriptions[0].existed).toBe(true);
  });

  it('writes nothing when every filter fails, and still answers SUBACK [MQTT-3.8.4-1]', () => {
    const d = subscribe(connectedState(v), [sub('#/a')]);
    expect(d.intents).toEqual([]);
    expect(onlySent(d, 'suback').reasonCodes).toEqual([failure]);
  });

  it('asks for the retained messages of a new subscription, after the SUBACK [MQTT-3.3.1-9]', () => {
    const d = subscribe(connectedState(v), [sub('a/+', 2)]);
    expect(d.intents.map((i) => i.kind)).toEqual(['subscriptions.put', 'retained.send']);
    expect(intentOf(d, 'retained.send')).toEqual({
      kind: 'retained.send',
      protocolVersion: v,
      topicFilter: 'a/+',
      qos: 2,
    });
  });

  it('re-sends retained messages when Retain Handling 0 replaces a subscription [MQTT-3.8.4-4]', () => {
    const d = subscribe(connectedState(v), [sub('a/+')], { existing: ['a/+'] });
    expect(intentOf(d, 'retained.send')?.topicFilter).toBe('a/+');
  });

  it('treats $share/{name}/{filter} as a Shared Subscription and sends it no retained messages (4.8.2)', () => {
    const d = subscribe(connectedState(v), [sub('$share/g1/a/#', 1)]);
    expect(onlySent(d, 'suback').reasonCodes).toEqual([1]);
    expect(intentOf(d, 'subscriptions.put')?.subscriptions[0]).toMatchObject({
      filter: '$share/g1/a/#',
      topicFilter: 'a/#',
      shareName: 'g1',
    });
    expect(intentOf(d, 'retained.send')).toBeUndefined();
  });

  it(`fails an invalid shared filter with ${v === 5 ? '0x8F' : '0x80'} [MQTT-4.8.2-1] [MQTT-4.8.2-2]`, () => {
    const d = subscribe(connectedState(v), [sub('$share//a'), sub('$share/g+/a'), sub('$share/g')]);
    expect(onlySent(d, 'suback').reasonCodes).toEqual([failure, failure, failure]);
  });

  it('treats a bare $share filter as an ordinary filter', () => {
    const d = subscribe(connectedState(v), [sub('$share', 0)]);
    expect(onlySent(d, 'suback').reasonCodes).toEqual([0]);
  });
});

describe('SUBSCRIBE, protocol 4 only', () => {
  it('fails a shared filter with 0x80 when Shared Subscriptions are disabled (3.1.1 clients are not told)', () => {
    const d = subscribe(connectedState(4), [sub('$share/g/a'), sub('b')], { config: { sharedSubscriptionAvailable: false } });
    expect(onlySent(d, 'suback').reasonCodes).toEqual([0x80, 1]);
    expect(d.close).toBeNull();
  });

  it('fails a wildcard filter with 0x80 when wildcards are disabled', () => {
    const d = subscribe(connectedState(4), [sub('a/+'), sub('a/#'), sub('a/b')], {
      config: { wildcardSubscriptionAvailable: false },
    });
    expect(onlySent(d, 'suback').reasonCodes).toEqual([0x80, 0x80, 1]);
  });
});

describe('SUBSCRIBE, protocol 5 only', () => {
  it('answers a Shared Subscription while not available with DISCONNECT 0x9E (3.2.2.3.14)', () => {
    const d = subscribe(connectedState(5), [sub('b'), sub('$share/g/a')], { config: { sharedSubscriptionAvailable: false } });
    expect(onlySent(d, 'disconnect').reasonCode).toBe(0x9e);
    expect(d.close).toEqual({ reason: 'server-disconnect', reasonCode: 0x9e });
    expect(d.intents).toEqual([]);
  });

  it('answers a wildcard filter while not available with DISCONNECT 0xA2 (3.2.2.3.12)', () => {
    const d = subscribe(connectedState(5), [sub('a/#')], { config: { wildcardSubscriptionAvailable: false } });
    expect(onlySent(d, 'disconnect').reasonCode).toBe(0xa2);
  });

  it('answers a Subscription Identifier while not available with DISCONNECT 0xA1 (3.2.2.3.13)', () => {
    const d = subscribe(connectedState(5), [sub('a')], {
      config: { subscriptionIdentifiersAvailable: false },
      properties: { subscriptionIdentifiers: [4] },
    });
    expect(onlySent(d, 'disconnect').reasonCode).toBe(0xa1);
  });

  it('answers No Local on a Shared Subscription with DISCONNECT 0x82 [MQTT-3.8.3-4]', () => {
    const d = subscribe(connectedState(5), [sub('$share/g/a', 1, { noLocal: true })]);
    expect(onlySent(d, 'disconnect').reasonCode).toBe(0x82);
  });

  it('records the Subscription Identifier and the options on every subscription (3.8.2.1.2, 3.8.3.1)', () => {
    const d = subscribe(
      connectedState(5),
      [sub('a', 1, { noLocal: true, retainAsPublished: true, retainHandling: 1 }), sub('b', 0)],
      { properties: { subscriptionIdentifiers: [42] } },
    );
    expect(intentOf(d, 'subscriptions.put')?.subscriptions).toEqual([
      { filter: 'a', topicFilter: 'a', qos: 1, noLocal: true, retainAsPublished: true, retainHandling: 1, subscriptionIdentifier: 42, existed: false },
      { filter: 'b', topicFilter: 'b', qos: 0, noLocal: false, retainAsPublished: false, retainHandling: 0, subscriptionIdentifier: 42, existed: false },
    ]);
    expect(d.intents.filter((i) => i.kind === 'retained.send').map((i) => (i as { subscriptionIdentifier?: number }).subscriptionIdentifier)).toEqual([42, 42]);
  });

  it('Retain Handling 1 sends retained messages only for a new subscription [MQTT-3.3.1-10]', () => {
    const d = subscribe(connectedState(5), [sub('new', 1, { retainHandling: 1 }), sub('old', 1, { retainHandling: 1 })], {
      existing: ['old'],
    });
    const sent = d.intents.filter((i) => i.kind === 'retained.send').map((i) => (i as { topicFilter: string }).topicFilter);
    expect(sent).toEqual(['new']);
  });

  it('Retain Handling 1: a filter repeated in one SUBSCRIBE exists for the second [MQTT-3.8.4-5] [MQTT-3.3.1-10]', () => {
    const d = subscribe(connectedState(5), [sub('a', 0, { retainHandling: 1 }), sub('a', 1, { retainHandling: 1 })]);
    expect(onlySent(d, 'suback').reasonCodes).toEqual([0, 1]);
    expect(intentOf(d, 'subscriptions.put')?.subscriptions.map((s) => s.existed)).toEqual([false, true]);
    expect(d.intents.filter((i) => i.kind === 'retained.send')).toHaveLength(1);
  });

  it('Retain Handling 2 never sends retained messages [MQTT-3.3.1-11]', () => {
    const d = subscribe(connectedState(5), [sub('a', 1, { retainHandling: 2 })]);
    expect(intentOf(d, 'retained.send')).toBeUndefined();
  });
});
