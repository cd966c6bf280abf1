/**
 * The whole `$default` path (lib/runtime/message.ts through lib/runtime/handlers.ts) on the memory
 * stores and MemoryDelivery: CONNECT and what may follow it on one connection, PINGREQ, malformed
 * input, and several packets in one WebSocket message. Each scenario runs for 3.1.1 and 5.0.
 */
import { describe, expect, it } from 'vitest';
import type { Packet, ProtocolVersion } from '../../../lib/mqtt';
import { noCredentialStore } from '../../../lib/runtime/auth';
import { ackPacket, connectPacket, memoryRuntime, persistentSession, publishPacket } from '../../helpers/memory-runtime';

const VERSIONS: ProtocolVersion[] = [4, 5];

/**
 * The CONNACK of an accepted CONNECT with the default broker config (Receive Maximum 64); v5
 * states the Keep Alive in force, the client's 60 s (test/helpers/packets.ts), as Server Keep Alive.
 */
function accepted(version: ProtocolVersion, sessionPresent: boolean): Packet {
  const connack = { type: 'connack' as const, sessionPresent, reasonCode: 0 };
  return version === 5 ? { ...connack, properties: { maximumPacketSize: 98_304, receiveMaximum: 64, serverKeepAlive: 60 } } : connack;
}

describe.each(VERSIONS)('$default path: CONNECT, protocol %i', (version) => {
  it('answers an acceptable CONNECT with CONNACK 0x00, Session Present 0 for a clean start, and records the connection [MQTT-3.2.0-1] [MQTT-3.2.2-1] [MQTT-3.2.2-2]', async () => {
    const rt = memoryRuntime();
    const conn = await rt.open(version);
    expect(await conn.connect({ clientId: 'press-7' })).toEqual([accepted(version, false)]);
    const record = await rt.stores.connections.get(conn.id);
    expect(record).toMatchObject({ status: 'mqtt', clientId: 'press-7', protocolVersion: version, keepAlive: 60 });
    expect((await rt.stores.sessions.get('press-7'))?.connectionId).toBe(conn.id);
    expect(conn.closedByServer).toBe(false);
    expect(rt.metrics).toEqual(expect.arrayContaining(['Connections', 'MessagesIn', 'MessagesOut']));
  });

  it('sets Session Present 1 when a persistent session is resumed on a new connection [MQTT-3.1.2-5] [MQTT-3.2.2-3]', async () => {
    const rt = memoryRuntime();
    const first = await rt.open(version);
    expect(await first.connect({ clientId: 'press-7', ...persistentSession(version) })).toEqual([accepted(version, false)]);
    await first.close();
    const second = await rt.open(version);
    expect(await second.connect({ clientId: 'press-7', ...persistentSession(version) })).toEqual([accepted(version, true)]);
  });

  it('refuses a CONNECT the authenticator does not allow: CONNACK Not authorized, Session Present 0, then close [MQTT-3.2.2-6] [MQTT-3.2.2-7]', async () => {
    const rt = memoryRuntime({ authenticate: noCredentialStore(false) });
    const conn = await rt.open(version);
    const refused = version === 5 ? 0x87 : 5; // 0x87 Not authorized; 3.1.1 return code 5
    expect(await conn.connect({ username: 'press-7' })).toEqual([{ type: 'connack', sessionPresent: false, reasonCode: refused }]);
    expect(conn.closedByServer).toBe(true);
    expect((await rt.stores.connections.get(conn.id))?.status).toBe('open');
    expect(rt.metrics).toContain('AuthFailures');
  });

  it('treats a second CONNECT on one connection as a Protocol Error: v5 DISCONNECT 0x82, 3.1.1 close [MQTT-3.1.0-2]', async () => {
    const rt = memoryRuntime();
    const conn = await rt.connected(version);
    await conn.send(connectPacket(version, { clientId: 'someone-else' }));
    expect(conn.take()).toEqual(version === 5 ? [{ type: 'disconnect', reasonCode: 0x82 }] : []);
    expect(conn.closedByServer).toBe(true);
    expect(await rt.stores.sessions.get('someone-else')).toBeUndefined();
  });

  it('closes a connection whose first packet is not CONNECT, sending nothing [MQTT-3.1.0-1]', async () => {
    const rt = memoryRuntime();
    const conn = await rt.open(version);
    await conn.send({ type: 'pingreq' });
    expect(conn.posts()).toBe(0);
    expect(conn.closedByServer).toBe(true);
  });

  it('closes a connection whose first packet is a PUBLISH, and routes nothing [MQTT-3.1.0-1]', async () => {
    const rt = memoryRuntime();
    const watcher = await rt.connected(version);
    await watcher.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: '#', qos: 0 }] });
    watcher.take();
    const conn = await rt.open(version);
    await conn.send(publishPacket('plant/press-7/temp', '21.5', 1, { packetId: 1 }));
    expect(conn.posts()).toBe(0);
    expect(conn.closedByServer).toBe(true);
    expect(watcher.take()).toEqual([]);
  });

  it('answers PINGREQ with PINGRESP [MQTT-3.12.4-1]', async () => {
    const rt = memoryRuntime();
    const conn = await rt.connected(version);
    await conn.send({ type: 'pingreq' });
    expect(conn.take()).toEqual([{ type: 'pingresp' }]);
    expect(conn.closedByServer).toBe(false);
  });
});

describe.each(VERSIONS)('$default path: malformed input, protocol %i', (version) => {
  /** PUBLISH with both QoS bits set, topic "a", packet id 1: a Malformed Packet [MQTT-3.3.1-4]. */
  const QOS_3_PUBLISH = new Uint8Array([0x36, 0x05, 0x00, 0x01, 0x61, 0x00, 0x01]);

  it('answers a malformed packet after CONNACK with DISCONNECT 0x81 (v5) or a close (3.1.1) [MQTT-3.3.1-4] [MQTT-4.13.1-1]', async () => {
    const rt = memoryRuntime();
    const conn = await rt.connected(version);
    await conn.sendBytes(QOS_3_PUBLISH);
    expect(conn.take()).toEqual(version === 5 ? [{ type: 'disconnect', reasonCode: 0x81 }] : []);
    expect(conn.closedByServer).toBe(true);
  });

  it('closes, sending nothing, when the message ends inside a packet [MQTT-1.5.5-1]', async () => {
    const rt = memoryRuntime();
    const conn = await rt.connected(version);
    await conn.sendBytes(new Uint8Array([0x30, 0x0a, 0x00, 0x01, 0x61]));
    expect(conn.take()).toEqual(version === 5 ? [{ type: 'disconnect', reasonCode: 0x81 }] : []);
    expect(conn.closedByServer).toBe(true);
  });

  it('publishes the will of a connection closed for a malformed packet [MQTT-3.1.2-8]', async () => {
    const rt = memoryRuntime();
    const watcher = await rt.connected(version);
    await watcher.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'status/#', qos: 0 }] });
    watcher.take();
    const will = { topic: 'status/press-7', payload: new TextEncoder().encode('offline'), qos: 0 as const, retain: false };
    const conn = await rt.connected(version, { will });
    await conn.sendBytes(QOS_3_PUBLISH);
    expect(conn.closedByServer).toBe(true);
    await conn.close();
    expect(watcher.take()).toEqual([publishPacket('status/press-7', 'offline', 0)]);
  });
});

describe.each(VERSIONS)('$default path: several packets in one WebSocket message, protocol %i', (version) => {
  it('handles each packet in order and answers them all in one post', async () => {
    const rt = memoryRuntime();
    const conn = await rt.connected(version);
    const before = conn.posts();
    await conn.send(
      { type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'plant/+/cmd', qos: 1 }] },
      publishPacket('line-4/temp', '21.5', 1, { packetId: 2 }),
      { type: 'pingreq' },
    );
    expect(conn.posts()).toBe(before + 1);
    expect(conn.take()).toEqual([
      { type: 'suback', packetId: 1, reasonCodes: [1] },
      // v5: 0x10 No matching subscribers (MQTT 5.0 section 3.4.2.1)
      ackPacket('puback', 2, version, version === 5 ? 0x10 : 0),
      { type: 'pingresp' },
    ]);
  });

  it('answers CONNECT, SUBSCRIBE and PINGREQ sent together in one post, CONNACK first [MQTT-3.2.0-1]', async () => {
    const rt = memoryRuntime();
    const conn = await rt.open(version);
    await conn.send(
      connectPacket(version, { clientId: 'press-7' }),
      { type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'plant/press-7/cmd', qos: 2 }] },
      { type: 'pingreq' },
    );
    expect(conn.posts()).toBe(1);
    expect(conn.take()).toEqual([accepted(version, false), { type: 'suback', packetId: 1, reasonCodes: [2] }, { type: 'pingresp' }]);
  });

  // A copy for the sender's own connection rides in the reply post, after the replies already
  // decided (lib/runtime/effects/send.ts Outlet).
  it('sends nothing before the CONNACK when one message carries CONNECT, SUBSCRIBE and a PUBLISH the sender is subscribed to [MQTT-3.2.0-1] [MQTT-3.2.0-2]', async () => {
    const rt = memoryRuntime();
    const conn = await rt.open(version);
    await conn.send(
      connectPacket(version, { clientId: 'press-7' }),
      { type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'plant/press-7/#', qos: 0 }] },
      publishPacket('plant/press-7/temp', '21.5', 0),
    );
    expect(conn.take()).toEqual([
      accepted(version, false),
      { type: 'suback', packetId: 1, reasonCodes: [0] },
      publishPacket('plant/press-7/temp', '21.5', 0),
    ]);
  });
});
