/**
 * Issue 13, the chaos run's "persistent publisher stops getting PUBACK/PUBREC after post faults"
 * (docs/RELIABILITY.md "Fault injection and chaos"). A persistent v4/v5 publisher loses its
 * connection to a 410 (FaultyDelivery 'gone': the gateway deletes the connection, then the post
 * meets the real 410) and reconnects.
 *
 * - The broker: the resumed session gets Session Present 1 [MQTT-3.2.2-2], the PUBLISH left
 *   unacknowledged is resent and answered [MQTT-4.4.0-1], new QoS 1 and QoS 2 publishes are
 *   acknowledged [MQTT-4.3.2-4] [MQTT-4.3.3-9], and the messages queued while it was away arrive.
 * - The chaos client (test/chaos/client.ts): MQTT.js, after a reconnect, resends its unacknowledged
 *   packets one at a time and parks every new publish until that replay is done; if the
 *   connection closes before, it fails the parked publishes with "Connection closed" and drops
 *   them, unsent. That is what the chaos run counted as "never acknowledged": a device publishes
 *   them again, and so does the chaos client; each must end acknowledged.
 *
 * MQTT.js through the Stratus transport against local strict mode (ordered ingress) on DynamoDB
 * Local; the 410s are placed by rules on the posts that carry a given packet, so the order of
 * events is fixed, not timed.
 */
import { randomUUID } from 'node:crypto';
import type { MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connect, connectAsync } from '../../lib/client';
import type { ProtocolVersion } from '../../lib/mqtt';
import { ChaosClient, Journal } from '../chaos/client';
import { eventually } from '../helpers/eventually';
import { FaultyDelivery, type Post } from '../helpers/faulty-delivery';
import { startTestBroker, type TestBroker } from '../helpers/local-broker';

const VERSIONS: ProtocolVersion[] = [4, 5];

let broker: TestBroker;
const posts = new FaultyDelivery();
const clients: MqttClient[] = [];

beforeAll(async () => {
  broker = await startTestBroker({ wrapManagementClient: (c) => posts.wrap(c) });
});

afterEach(() => {
  posts.clear();
  posts.injected.length = 0;
});

afterAll(async () => {
  for (const c of clients) c.end(true);
  await broker?.dispose();
});

/** The posted bytes (text mode: base64, untagged: every post here holds whole small packets). */
function bytesOf(post: Post): Buffer {
  return typeof post.data === 'string' ? Buffer.from(post.data, 'base64') : Buffer.from(post.data);
}

/** A post that carries the topic's name (a PUBLISH copy to it). */
function carries(topic: string): (post: Post) => boolean {
  return (post) => bytesOf(post).includes(topic);
}

/** A post that begins with a PUBREC (0x50) for this packet id. */
function pubrecFor(packetId: number): (post: Post) => boolean {
  return (post) => {
    const b = bytesOf(post);
    return b.length >= 4 && b[0] === 0x50 && b.readUInt16BE(2) === packetId;
  };
}

async function acked(c: MqttClient, topic: string, qos: 1 | 2): Promise<boolean> {
  let done = false;
  c.publish(topic, `q${qos}`, { qos }, (error) => (done = !error));
  try {
    await eventually(() => done, 200);
  } catch {
    return false;
  }
  return true;
}

describe.each(VERSIONS)('a persistent publisher after a 410 (protocol %i)', (version) => {
  it.each(['its own PUBACK', 'a copy to it'] as const)(
    'MQTT-3.2.2-2 MQTT-4.4.0-1: a 410 on the post of %s; it resumes, gets its acks and its queued messages',
    async (where) => {
      const id = randomUUID().slice(0, 8);
      const topic = `gp/${id}/in`;
      const p = connect(broker.url, {
        clientId: `gp-${id}`,
        protocolVersion: version,
        clean: false,
        reconnectPeriod: 100,
        keepalive: 0,
        ...(version === 5 ? { properties: { sessionExpiryInterval: 3600 } } : {}),
      });
      clients.push(p);
      const received: string[] = [];
      const present: boolean[] = [];
      p.on('message', (_t, payload) => received.push(payload.toString()));
      p.on('connect', (connack) => present.push(connack.sessionPresent));
      await eventually(() => present.length === 1);
      await p.subscribeAsync(topic, { qos: 2 });
      const q = await connectAsync(broker.url, { clientId: `gq-${id}`, protocolVersion: version, clean: true, keepalive: 0 });
      clients.push(q);

      posts.inject({ kind: 'gone', where: carries(topic) });
      let first = false;
      if (where === 'its own PUBACK') p.publish(topic, 'own', { qos: 1 }, (error) => (first = !error));
      else await q.publishAsync(topic, 'fan', { qos: 1 });
      await eventually(() => present.length === 2);
      expect(present).toEqual([false, true]); // [MQTT-3.2.2-2]
      if (where === 'its own PUBACK') await eventually(() => first); // resent, answered [MQTT-4.4.0-1]
      await q.publishAsync(topic, 'queued', { qos: 2 });

      expect(await acked(p, `gp/${id}/out`, 1)).toBe(true);
      expect(await acked(p, `gp/${id}/out`, 2)).toBe(true);
      await eventually(() => received.includes('queued'));
      expect(received.filter((m) => m === 'queued')).toHaveLength(1);
    },
  );

  it('MQTT-4.4.0-1 the chaos client: publishes MQTT.js parked during its replay and dropped at a 410 are published again and acknowledged', async () => {
    const journal = new Journal();
    const clientId = `gc-${randomUUID().slice(0, 8)}`;
    // Filter: nothing is published there, so every post to the client answers its own packets.
    const c = new ChaosClient({ url: broker.url, clientId, version, clean: false, filter: `none/${clientId}/#`, subscriber: false, will: false }, journal);
    clients.push(c.mqtt);
    await c.ready();
    const sends = new Map<number, number>();
    c.mqtt.on('packetsend', (packet) => {
      if (packet.cmd === 'publish' && packet.messageId !== undefined) sends.set(packet.messageId, (sends.get(packet.messageId) ?? 0) + 1);
    });
    let closes = 0;
    c.mqtt.on('close', () => (closes += 1));

    // 1. A QoS 2 publish: the post of its PUBREC meets a 410, so MQTT.js keeps the PUBLISH to
    //    resend, and its replay after the reconnect waits for the PUBREC of that resend.
    // 2. When the resend goes out, two more publishes: MQTT.js parks them behind the replay.
    // 3. The resend's PUBREC meets a 410 too: the connection closes during the replay.
    c.publish(2, 16);
    await eventually(() => sends.size === 1);
    const [first] = [...sends.keys()];
    posts.inject({ kind: 'gone', where: pubrecFor(first), times: 2 });
    let parked = false;
    c.mqtt.on('packetsend', (packet) => {
      if (parked || packet.cmd !== 'publish' || packet.messageId !== first || (sends.get(first) ?? 0) < 2) return;
      parked = true;
      c.publish(1, 16);
      c.publish(2, 16);
    });
    await eventually(() => closes >= 2 && c.connected, 400);
    expect(parked).toBe(true);
    expect(posts.injected.filter((f) => f.kind === 'gone')).toHaveLength(2);

    await eventually(() => journal.publishes.every((p) => p.ackedAt !== undefined), 200).catch(() => undefined);
    expect(journal.publishes.map((p) => ({ id: p.id, qos: p.qos, acked: p.ackedAt !== undefined }))).toEqual([
      { id: `${clientId}:1`, qos: 2, acked: true },
      { id: `${clientId}:2`, qos: 1, acked: true },
      { id: `${clientId}:3`, qos: 2, acked: true },
    ]);
    expect(journal.republished).toBe(2);
    await c.end();
  });
});
