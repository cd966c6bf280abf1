/**
 * Sessions, byte by byte, for MQTT 3.1.1 and 5.0: Clean Start (Clean Session) and Session
 * Present, what a resumed session keeps (subscriptions, queued messages, QoS 1 and 2 flows in
 * both directions), and the v5 Session Expiry Interval.
 */
import { describe, expect, it } from 'vitest';
import type { ProtocolVersion } from '../../lib/mqtt';
import { RawClient } from '../helpers/raw-client';
import { CLOSED_BY_SERVER, VERSIONS, clientId, connected, disconnected, persistent, publish, publishFrom, settle, subscribeOne, text, topic, useBroker } from './scenario';

const broker = useBroker();

/** Opens a connection for `id` with a persistent session and resolves with it and its CONNACK. */
async function resume(version: ProtocolVersion, id: string) {
  const raw = await RawClient.open(broker().url, version);
  const connack = await raw.connect(persistent(version, id));
  return { raw, connack };
}

describe.each(VERSIONS)('sessions, protocol %i', (version) => {
  it('Clean Start 0: Session Present 0 for a new session, 1 when it is resumed [MQTT-3.1.2-5] [MQTT-3.1.2-6] [MQTT-3.2.2-3]', async () => {
    const id = clientId('present');
    const first = await resume(version, id);
    expect(first.connack).toMatchObject({ reasonCode: 0, sessionPresent: false });
    await first.raw.end();
    const second = await resume(version, id);
    expect(second.connack).toMatchObject({ reasonCode: 0, sessionPresent: true });
  });

  it('a resumed session keeps its subscriptions [MQTT-3.1.2-5]', async () => {
    const id = clientId('subs');
    const t = topic('kept');
    const first = await resume(version, id);
    await subscribeOne(first.raw, t, 1);
    await first.raw.end();
    const { raw } = await resume(version, id);
    await publishFrom(broker(), version, publish(t, 'still subscribed', 1, { packetId: 2 }));
    expect(text(await raw.next('publish'))).toBe('still subscribed');
  });

  it('Clean Start 1 discards the session: Session Present 0, no subscriptions, no queued messages [MQTT-3.1.2-4] [MQTT-3.2.2-2]', async () => {
    const id = clientId('clean');
    const t = topic('discarded');
    const first = await resume(version, id);
    await subscribeOne(first.raw, t, 1);
    await first.raw.end();
    await publishFrom(broker(), version, publish(t, 'queued', 1, { packetId: 2 }));
    const raw = await RawClient.open(broker().url, version);
    expect(await raw.connect({ clientId: id, clean: true })).toMatchObject({ reasonCode: 0, sessionPresent: false });
    await publishFrom(broker(), version, publish(t, 'after', 1, { packetId: 2 }));
    await settle();
    expect(raw.of('publish')).toEqual([]);
  });

  it('delivers the QoS 1 and QoS 2 messages that arrived while the session was offline [MQTT-4.5.0-1]', async () => {
    const id = clientId('offline');
    const t = topic('queued');
    const first = await resume(version, id);
    await subscribeOne(first.raw, t, 2);
    await first.raw.end();
    await publishFrom(broker(), version, publish(t, 'q1', 1, { packetId: 2 }));
    await publishFrom(broker(), version, publish(t, 'q2', 2, { packetId: 3 }));
    const { raw } = await resume(version, id);
    await raw.until(() => raw.of('publish').length === 2);
    await settle();
    expect(raw.of('publish').map((p) => [text(p), p.qos]).sort()).toEqual([['q1', 1], ['q2', 2]]);
  });

  it('resends an unacknowledged QoS 2 PUBLISH on resume with DUP 1 and its packet id [MQTT-4.4.0-1] [MQTT-3.3.1-1]', async () => {
    const id = clientId('resend');
    const t = topic('qos2');
    const first = await resume(version, id);
    await subscribeOne(first.raw, t, 2);
    await publishFrom(broker(), version, publish(t, 'unanswered', 2, { packetId: 2 }));
    const sent = await first.raw.next('publish');
    await first.raw.end(); // no PUBREC
    const { raw } = await resume(version, id);
    const again = await raw.next('publish');
    expect(again).toMatchObject({ topic: t, qos: 2, dup: true, packetId: sent.packetId });
    expect(text(again)).toBe('unanswered');
  });

  it('resends PUBREL, not the PUBLISH, on resume when PUBCOMP was missing [MQTT-4.4.0-1] [MQTT-4.3.3-6]', async () => {
    const id = clientId('pubrel');
    const t = topic('released');
    const first = await resume(version, id);
    await subscribeOne(first.raw, t, 2);
    await publishFrom(broker(), version, publish(t, 'half done', 2, { packetId: 2 }));
    const sent = await first.raw.next('publish');
    await first.raw.send({ type: 'pubrec', packetId: sent.packetId as number });
    await first.raw.next('pubrel');
    await first.raw.end(); // no PUBCOMP
    const { raw } = await resume(version, id);
    expect(await raw.next('pubrel')).toMatchObject({ packetId: sent.packetId });
    await settle();
    expect(raw.of('publish')).toEqual([]);
  });

  it('keeps an incoming QoS 2 flow across a reconnect: the resent PUBLISH gets PUBREC and is not delivered twice [MQTT-4.3.3-10] [MQTT-4.4.0-1]', async () => {
    const id = clientId('inbound');
    const t = topic('inbound');
    const sub = await connected(broker(), version);
    await subscribeOne(sub, t, 1);
    const first = await resume(version, id);
    await first.raw.send(publish(t, 'exactly once', 2, { packetId: 7 }));
    await first.raw.next('pubrec');
    await first.raw.end();
    const { raw } = await resume(version, id);
    await raw.send(publish(t, 'exactly once', 2, { packetId: 7, dup: true }));
    expect(await raw.next('pubrec')).toMatchObject({ packetId: 7 });
    await raw.send({ type: 'pubrel', packetId: 7 });
    expect(await raw.next('pubcomp')).toMatchObject({ packetId: 7 });
    await settle();
    expect(sub.of('publish').map(text)).toEqual(['exactly once']);
  });
});

describe('sessions, protocol 5 only', () => {
  it('a session whose Session Expiry Interval is 0 ends with its connection: Session Present 0 [MQTT-3.1.2-23] [MQTT-4.1.0-2]', async () => {
    const id = clientId('ephemeral');
    const first = await connected(broker(), 5, { clientId: id, clean: false });
    await first.end();
    await disconnected(broker(), id);
    const again = await RawClient.open(broker().url, 5);
    expect(await again.connect({ clientId: id, clean: false })).toMatchObject({ reasonCode: 0, sessionPresent: false });
  });

  it('DISCONNECT with Session Expiry Interval 0 ends a persistent session (MQTT 5.0 section 3.14.2.2.2)', async () => {
    const id = clientId('ended');
    const first = await resume(5, id);
    await first.raw.send({ type: 'disconnect', reasonCode: 0, properties: { sessionExpiryInterval: 0 } });
    expect(await first.raw.waitClosed()).toBe(CLOSED_BY_SERVER);
    await disconnected(broker(), id);
    const again = await resume(5, id);
    expect(again.connack.sessionPresent).toBe(false);
  });

  it('treats a non-zero Session Expiry Interval in DISCONNECT after 0 in CONNECT as a Protocol Error: DISCONNECT 0x82 (MQTT 5.0 section 3.14.2.2.2)', async () => {
    const raw = await connected(broker(), 5);
    await raw.send({ type: 'disconnect', reasonCode: 0, properties: { sessionExpiryInterval: 60 } });
    expect(await raw.waitClosed()).toBe(CLOSED_BY_SERVER);
    expect(raw.packets.slice(1)).toEqual([{ type: 'disconnect', reasonCode: 0x82 }]);
  });

  it('grants at most its maximum Session Expiry Interval and says so in the CONNACK (MQTT 5.0 section 3.2.2.3.2)', async () => {
    const raw = await RawClient.open(broker().url, 5);
    const connack = await raw.connect({ clientId: clientId('long'), clean: false, properties: { sessionExpiryInterval: 0xffff_ffff } });
    expect(connack.properties?.sessionExpiryInterval).toBe(7 * 24 * 3600);
  });
});
