/**
 * A v5 DISCONNECT that raises the Session Expiry Interval (MQTT 5.0 section 3.14.2.2.2): the
 * subscriptions must live as long as the session (issue 13 defect 4). Before the fix they kept
 * the TTL of the CONNECT's shorter interval, and a resume in between got Session Present 1 but
 * no subscriptions. The whole runtime on the memory stores, with a clock the test moves.
 *
 * v5 only: a 3.1.1 DISCONNECT carries no properties, so its session's expiry cannot change; the
 * 3.1.1 case below is the control (a persistent session resumed keeps its subscriptions).
 */
import { describe, expect, it } from 'vitest';
import type { ConnackPacket, ConnectPacket, PublishPacket, ProtocolVersion } from '../../../lib/mqtt';
import { memoryRuntime, type MemoryRuntime } from '../../helpers/memory-runtime';

const CLIENT = 'meter-12';

function persistent(version: ProtocolVersion, expiry: number, clean: boolean): Partial<ConnectPacket> {
  return version === 5 ? { clientId: CLIENT, clean, properties: { sessionExpiryInterval: expiry } } : { clientId: CLIENT, clean };
}

async function resumeAndPublish(rt: MemoryRuntime, version: ProtocolVersion, expiry: number) {
  const back = await rt.open(version);
  const [connack] = (await back.connect(persistent(version, expiry, false))) as [ConnackPacket];
  const pub = await rt.connected(version);
  await pub.send({ type: 'publish', topic: 'plant/4/power', qos: 1, packetId: 3, retain: false, dup: false, payload: new TextEncoder().encode('kW') });
  const delivered = back.take().filter((p): p is PublishPacket => p.type === 'publish');
  return { connack, delivered };
}

describe('subscriptions live as long as the session (issue 13 defect 4)', () => {
  it('protocol 5: after a DISCONNECT raising Session Expiry from 60 s to 1 h, a resume at 10 min has Session Present 1 and its subscriptions [MQTT-3.2.2-3]', async () => {
    const rt = memoryRuntime();
    const sub = await rt.connected(5, persistent(5, 60, true));
    await sub.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'plant/+/power', qos: 1 }] });
    await sub.send({ type: 'disconnect', reasonCode: 0, properties: { sessionExpiryInterval: 3600 } });
    await sub.close(1000);
    rt.advance(10 * 60_000);

    const { connack, delivered } = await resumeAndPublish(rt, 5, 3600);
    expect(connack).toMatchObject({ type: 'connack', reasonCode: 0, sessionPresent: true });
    expect((await rt.stores.subscriptions.listByClient(CLIENT)).map((r) => r.filter)).toEqual(['plant/+/power']);
    expect(delivered.map((p) => p.topic)).toEqual(['plant/4/power']);
  });

  it('protocol 4 (control): a Clean Session 0 session resumed keeps its subscriptions', async () => {
    const rt = memoryRuntime();
    const sub = await rt.connected(4, persistent(4, 0, false));
    await sub.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'plant/+/power', qos: 1 }] });
    await sub.send({ type: 'disconnect' });
    await sub.close(1000);
    rt.advance(10 * 60_000);

    const { connack, delivered } = await resumeAndPublish(rt, 4, 0);
    expect(connack).toMatchObject({ type: 'connack', reasonCode: 0, sessionPresent: true });
    expect(delivered.map((p) => p.topic)).toEqual(['plant/4/power']);
  });
});
