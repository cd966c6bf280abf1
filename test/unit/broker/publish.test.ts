import { describe, expect, it } from 'vitest';
import type { BrokerConfigInput } from '../../../lib/broker/config';
import type { Decision } from '../../../lib/broker/decisions';
import { handlePacket } from '../../../lib/broker/handle';
import { MissingBrokerInputError } from '../../../lib/broker/errors';
import { publishTopic } from '../../../lib/broker/publish';
import type { MqttConnectionState, PublishInputs } from '../../../lib/broker/state';
import type { PublishPacket } from '../../../lib/mqtt/types';
import { bytes, CONNECTION_ID, connectedState, decided, intentOf, makeCtx, NOW, onlySent, REQUEST_TIME, route } from './fixtures';

function publishPacket(overrides: Partial<PublishPacket> = {}): PublishPacket {
  const qos = overrides.qos ?? 0;
  return {
    type: 'publish',
    topic: 'a/b',
    payload: bytes('hi'),
    qos,
    retain: false,
    dup: false,
    ...(qos > 0 ? { packetId: 11 } : {}),
    ...overrides,
  };
}

function publish(
  state: MqttConnectionState,
  packet: PublishPacket,
  inputs: Partial<PublishInputs> = {},
  config?: BrokerConfigInput,
): Decision {
  const ctx = makeCtx({ config, publish: { routes: [route('sub-1')], ...inputs } });
  return decided(handlePacket(packet, state, ctx));
}

const kinds = (d: Decision) => d.intents.map((i) => i.kind);

describe.each([4, 5] as const)('PUBLISH, protocol %i', (v) => {
  it('QoS 0: sends nothing back and plans the delivery [MQTT-3.3.4-1]', () => {
    const d = publish(connectedState(v), publishPacket());
    expect(d.send).toEqual([]);
    expect(kinds(d)).toEqual(['publish.deliver']);
    const deliver = intentOf(d, 'publish.deliver')!;
    expect(deliver.copies.map((x) => x.clientId)).toEqual(['sub-1']);
    // The copy carries what fan-out needs from its route: no second lookup.
    expect(deliver.copies[0]).toMatchObject({ connectionId: 'conn-sub-1', sessionEpoch: 'epoch-sub-1', persistent: false, mode: 'text' });
  });

  it('QoS 1: answers PUBACK with the packet id [MQTT-4.3.2-4] [MQTT-2.2.1-5]', () => {
    const d = publish(connectedState(v), publishPacket({ qos: 1 }));
    expect(onlySent(d, 'puback')).toEqual({ type: 'puback', packetId: 11 });
    expect(kinds(d)).toEqual(['publish.deliver']);
  });

  it('QoS 2: answers PUBREC and records the packet id before delivering [MQTT-4.3.3-8]', () => {
    const d = publish(connectedState(v), publishPacket({ qos: 2 }));
    expect(onlySent(d, 'pubrec')).toEqual({ type: 'pubrec', packetId: 11 });
    expect(kinds(d)).toEqual(['qos2.receive', 'publish.deliver']);
    expect(intentOf(d, 'qos2.receive')).toEqual({ kind: 'qos2.receive', clientId: 'sensor-1', packetId: 11 });
  });

  it.each([false, true])('QoS 2 (DUP %s): the receipt comes first, so the store stops a duplicate before any delivery [MQTT-4.3.3-10]', (dup) => {
    const d = publish(connectedState(v), publishPacket({ qos: 2, dup }));
    expect(onlySent(d, 'pubrec')).toEqual({ type: 'pubrec', packetId: 11 });
    expect(kinds(d)[0]).toBe('qos2.receive');
  });

  it('a PUBLISH decided without its inputs is a runtime defect: 0x83, the session untouched', () => {
    const d = decided(handlePacket(publishPacket({ qos: 2 }), connectedState(v), makeCtx({})));
    expect(d.send).toEqual(v === 5 ? [{ type: 'disconnect', reasonCode: 0x83 }] : []);
    expect(d.close).toEqual({ reason: 'server-disconnect', reasonCode: 0x83 });
  });

  it('answers a QoS above Maximum QoS with 0x9B [MQTT-3.2.2-11]', () => {
    const d = publish(connectedState(v), publishPacket({ qos: 2 }), {}, { maximumQoS: 1 });
    expect(d.send).toEqual(v === 5 ? [{ type: 'disconnect', reasonCode: 0x9b }] : []);
    expect(d.close).toEqual({ reason: 'server-disconnect', reasonCode: 0x9b });
    expect(d.intents).toEqual([]);
  });

  it('answers RETAIN 1 while Retain Available is 0 with 0x9A [MQTT-3.2.2-14]', () => {
    const d = publish(connectedState(v), publishPacket({ retain: true }), {}, { retainAvailable: false });
    expect(d.send).toEqual(v === 5 ? [{ type: 'disconnect', reasonCode: 0x9a }] : []);
    expect(d.close).toEqual({ reason: 'server-disconnect', reasonCode: 0x9a });
  });

  it.each(['a/+', 'a/#', '', 'a\u0000b'])('answers the invalid topic name %j with 0x90 or 0x82, closing [MQTT-3.3.2-2] [MQTT-4.7.3-1]', (topic) => {
    const d = publish(connectedState(v), publishPacket({ topic }));
    // v5: an empty topic without a Topic Alias is a Protocol Error (3.3.2.3.4)
    const code = v === 5 && topic === '' ? 0x82 : 0x90;
    expect(d.send).toEqual(v === 5 ? [{ type: 'disconnect', reasonCode: code }] : []);
    expect(d.close).toEqual({ reason: 'server-disconnect', reasonCode: code });
    expect(d.intents).toEqual([]);
  });

  it('stores a retained message with its arrival time, last writer wins [MQTT-3.3.1-5]', () => {
    const d = publish(connectedState(v), publishPacket({ qos: 1, retain: true }));
    expect(kinds(d)).toEqual(['retained.put', 'publish.deliver']);
    expect(intentOf(d, 'retained.put')?.message).toEqual({
      topic: 'a/b',
      payload: bytes('hi'),
      qos: 1,
      requestTimeEpoch: REQUEST_TIME,
      receivedAt: NOW,
      expiresAt: null,
    });
  });

  it('deletes the retained message on an empty retained payload and stores nothing [MQTT-3.3.1-6] [MQTT-3.3.1-7]', () => {
    const d = publish(connectedState(v), publishPacket({ retain: true, payload: new Uint8Array() }));
    expect(intentOf(d, 'retained.delete')).toEqual({ kind: 'retained.delete', topic: 'a/b', requestTimeEpoch: REQUEST_TIME });
    expect(intentOf(d, 'retained.put')).toBeUndefined();
    // processed normally otherwise [MQTT-3.3.1-6]
    expect(intentOf(d, 'publish.deliver')).toBeDefined();
  });

  it('leaves retained messages alone for RETAIN 0 [MQTT-3.3.1-8]', () => {
    const d = publish(connectedState(v), publishPacket({ payload: new Uint8Array() }));
    expect(kinds(d)).toEqual(['publish.deliver']);
  });

  it('forwards with RETAIN 0 unless Retain As Published [MQTT-3.3.1-12]', () => {
    const d = publish(connectedState(v), publishPacket({ retain: true }));
    expect(intentOf(d, 'publish.deliver')?.copies[0].packet.retain).toBe(false);
  });

  it('plans no delivery and writes nothing but the retained message when nothing matches', () => {
    const d = publish(connectedState(v), publishPacket({ qos: 1, retain: true }), { routes: [] });
    expect(kinds(d)).toEqual(['retained.put']);
  });

  it('No Local: a subscription of the publisher with No Local gets no copy [MQTT-3.8.3-3]', () => {
    const d = publish(connectedState(v), publishPacket(), { routes: [route('sensor-1', { noLocal: true })] });
    expect(intentOf(d, 'publish.deliver')).toBeUndefined();
  });

  it('keeps the state unchanged', () => {
    const state = connectedState(v);
    expect(publish(state, publishPacket({ qos: 1 })).state).toBe(state);
  });
});

describe('PUBLISH, protocol 4 only', () => {
  it('answers PUBACK without a reason code when nothing matches (3.1.1 PUBACK has none)', () => {
    const d = publish(connectedState(4), publishPacket({ qos: 1 }), { routes: [] });
    expect(onlySent(d, 'puback')).toEqual({ type: 'puback', packetId: 11 });
  });
});

describe('PUBLISH, protocol 5 only', () => {
  const v5 = () => connectedState(5);

  it('answers PUBACK 0x10 No matching subscribers when no route matches (3.4.2.1)', () => {
    const d = publish(v5(), publishPacket({ qos: 1 }), { routes: [] });
    expect(onlySent(d, 'puback')).toEqual({ type: 'puback', packetId: 11, reasonCode: 0x10 });
  });

  it('answers 0x10 when the candidate routes are there but none matches the topic (3.4.2.1)', () => {
    const d = publish(v5(), publishPacket({ qos: 1 }), { routes: [route('sub-1', { filter: 'a/other' })] });
    expect(onlySent(d, 'puback')).toEqual({ type: 'puback', packetId: 11, reasonCode: 0x10 });
    expect(intentOf(d, 'publish.deliver')).toBeUndefined();
  });

  it('answers PUBREC 0x10 No matching subscribers when no route matches (3.5.2.1)', () => {
    const d = publish(v5(), publishPacket({ qos: 2 }), { routes: [] });
    expect(onlySent(d, 'pubrec').reasonCode).toBe(0x10);
    expect(kinds(d)).toEqual(['qos2.receive']);
  });

  it('answers a Subscription Identifier from the client with DISCONNECT 0x82 [MQTT-3.3.4-6]', () => {
    const d = publish(v5(), publishPacket({ properties: { subscriptionIdentifiers: [1] } }));
    expect(onlySent(d, 'disconnect').reasonCode).toBe(0x82);
  });

  it('answers any Topic Alias with 0x94 while the Topic Alias Maximum is 0 [MQTT-3.2.2-18] [MQTT-3.3.2-9]', () => {
    const d = publish(v5(), publishPacket({ properties: { topicAlias: 1 } }));
    expect(onlySent(d, 'disconnect').reasonCode).toBe(0x94);
  });

  it('answers a Topic Alias above the maximum with 0x94 [MQTT-3.3.2-9]', () => {
    const d = publish(v5(), publishPacket({ properties: { topicAlias: 6 } }), {}, { topicAliasMaximum: 5 });
    expect(onlySent(d, 'disconnect').reasonCode).toBe(0x94);
  });

  it('records a new Topic Alias for this connection and forwards no alias [MQTT-3.3.2-12] [MQTT-3.3.2-7]', () => {
    const d = publish(v5(), publishPacket({ properties: { topicAlias: 5, contentType: 't' } }), {}, { topicAliasMaximum: 5 });
    expect((d.state as MqttConnectionState).topicAliases?.get(5)).toBe('a/b');
    const packet = intentOf(d, 'publish.deliver')!.copies[0].packet;
    expect(packet.properties).toEqual({ contentType: 't' });
  });

  it('replaces an empty topic by the topic of its alias (3.3.2.3.4)', () => {
    const state = connectedState(5, { topicAliases: new Map([[2, 'a/b']]) });
    const d = publish(state, publishPacket({ topic: '', properties: { topicAlias: 2 } }), {}, { topicAliasMaximum: 5 });
    expect(intentOf(d, 'publish.deliver')?.copies[0].packet.topic).toBe('a/b');
    expect((d.state as MqttConnectionState).topicAliases).toEqual(state.topicAliases);
    expect(publishTopic(publishPacket({ topic: '', properties: { topicAlias: 2 } }), state)).toBe('a/b');
  });

  it('answers an empty topic with an unknown alias with DISCONNECT 0x82 (3.3.2.3.4)', () => {
    const d = publish(v5(), publishPacket({ topic: '', properties: { topicAlias: 3 } }), {}, { topicAliasMaximum: 5 });
    expect(onlySent(d, 'disconnect').reasonCode).toBe(0x82);
  });

  it('answers a Response Topic with wildcards with DISCONNECT 0x82 [MQTT-3.3.2-14]', () => {
    const d = publish(v5(), publishPacket({ properties: { responseTopic: 'reply/#' } }));
    expect(onlySent(d, 'disconnect').reasonCode).toBe(0x82);
  });

  it('Payload Format Indicator 1 with a non-UTF-8 payload: PUBACK 0x99 and no delivery (3.3.2.3.2)', () => {
    const packet = publishPacket({ qos: 1, payload: new Uint8Array([0xff, 0xfe]), properties: { payloadFormatIndicator: 1 } });
    const d = publish(v5(), packet);
    expect(onlySent(d, 'puback').reasonCode).toBe(0x99);
    expect(d.intents).toEqual([]);
  });

  it('Payload Format Indicator 1 with a non-UTF-8 payload at QoS 2: PUBREC 0x99, nothing recorded (3.3.2.3.2) [MQTT-4.3.3-9]', () => {
    const packet = publishPacket({ qos: 2, payload: new Uint8Array([0xc0]), properties: { payloadFormatIndicator: 1 } });
    const d = publish(v5(), packet);
    expect(onlySent(d, 'pubrec').reasonCode).toBe(0x99);
    expect(d.intents).toEqual([]);
  });

  it('Payload Format Indicator 1 with a non-UTF-8 payload at QoS 0: DISCONNECT 0x99 (3.3.2.3.2)', () => {
    const d = publish(v5(), publishPacket({ payload: new Uint8Array([0xff]), properties: { payloadFormatIndicator: 1 } }));
    expect(onlySent(d, 'disconnect').reasonCode).toBe(0x99);
  });

  it('accepts a UTF-8 payload with Payload Format Indicator 1 and forwards the indicator [MQTT-3.3.2-4]', () => {
    const d = publish(v5(), publishPacket({ qos: 1, payload: bytes('héllo ✓'), properties: { payloadFormatIndicator: 1 } }));
    expect(onlySent(d, 'puback')).toEqual({ type: 'puback', packetId: 11 });
    expect(intentOf(d, 'publish.deliver')?.copies[0].packet.properties?.payloadFormatIndicator).toBe(1);
  });

  it('carries the Message Expiry Interval into the retained message and the delivery [MQTT-3.3.2-6]', () => {
    const d = publish(v5(), publishPacket({ retain: true, properties: { messageExpiryInterval: 60 } }));
    expect(intentOf(d, 'retained.put')?.message).toMatchObject({ expiresAt: NOW + 60_000, properties: { messageExpiryInterval: 60 } });
    const delivery = intentOf(d, 'publish.deliver')!.copies[0];
    expect(delivery.expiresAt).toBe(NOW + 60_000);
    expect(delivery.packet.properties?.messageExpiryInterval).toBe(60);
  });

  it('stores retained properties without the Topic Alias', () => {
    const d = publish(v5(), publishPacket({ retain: true, properties: { topicAlias: 1, contentType: 'c' } }), {}, { topicAliasMaximum: 2 });
    expect(intentOf(d, 'retained.put')?.message.properties).toEqual({ contentType: 'c' });
  });
});

describe('publishTopic', () => {
  it.each([4, 5] as const)('gives the topic to load routes for, or undefined when invalid (protocol %i)', (v) => {
    expect(publishTopic(publishPacket({ topic: 'x/y' }), connectedState(v))).toBe('x/y');
    expect(publishTopic(publishPacket({ topic: 'x/#' }), connectedState(v))).toBeUndefined();
    expect(publishTopic(publishPacket({ topic: '' }), connectedState(v))).toBeUndefined();
  });
});

