/**
 * MQTT.js through the client entry point (lib/client; the packed `stratus-mqtt/client` is test/package) against a server that frames like API Gateway: base64 text
 * only (binary closes with 1003), 32 KB frames, server data cut anywhere across messages.
 */

import { once, type EventEmitter } from 'node:events';
import * as mqttPacket from 'mqtt-packet';
import type { IPublishPacket, Packet } from 'mqtt-packet';
import { afterEach, describe, expect, it } from 'vitest';
import {
  CLIENT_FRAME_CHARS,
  connect,
  PacketTooLargeError,
  type MqttClient,
  type StratusClientOptions,
} from '../../../lib/client';
import { fragment } from '../../../lib/gateway/framing';
import { answer, FramingServer, versionOf, type RawFrame } from './framing-server';

let server: FramingServer | undefined;
const clients: MqttClient[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.endAsync(true)));
  await server?.close();
  server = undefined;
});

async function startServer(onPacket = answer): Promise<FramingServer> {
  server = await FramingServer.start(onPacket);
  return server;
}

async function connected(url: string, options: StratusClientOptions): Promise<MqttClient> {
  const client = connect(url, { reconnectPeriod: 0, ...options });
  clients.push(client);
  await next(client, 'connect');
  return client;
}

/** The arguments of the client's next `event` (MQTT.js's typed emitter lacks EventEmitter's type). */
function next(client: MqttClient, event: string): Promise<unknown[]> {
  return once(client as unknown as EventEmitter, event);
}

/** Deterministic payload whose every byte matters. */
function payload(size: number): Buffer {
  const bytes = Buffer.alloc(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 31 + (i >> 8)) % 251;
  return bytes;
}

/** Data frames (text, binary, continuation) grouped into messages by their FIN bit. */
function dataMessages(frames: readonly RawFrame[]): RawFrame[][] {
  const messages: RawFrame[][] = [];
  let current: RawFrame[] = [];
  for (const frame of frames.filter((f) => f.opcode <= 2)) {
    current.push(frame);
    if (frame.fin) {
      messages.push(current);
      current = [];
    }
  }
  return messages;
}

function publishes(srv: FramingServer): IPublishPacket[] {
  return srv.messages.flatMap((m) => m.packets).filter((p): p is IPublishPacket => p.cmd === 'publish');
}

describe.each([4, 5] as const)('stratus-mqtt/client over the framing, MQTT protocol %i', (protocolVersion) => {
  it('connects with subprotocol mqtt, sending only whole packets in text frames', async () => {
    const srv = await startServer();
    await connected(srv.url, { protocolVersion });
    expect(srv.connections[0].protocol).toBe('mqtt');
    expect(srv.messages[0].packets[0]).toMatchObject({ cmd: 'connect', protocolVersion });
    expect(srv.messages.every((m) => m.wholePackets)).toBe(true);
    expect(srv.frames.filter((f) => f.opcode <= 2).every((f) => f.opcode === 1 || f.opcode === 0)).toBe(true);
  });

  it('receives a 100 KB PUBLISH cut across many text messages at arbitrary offsets [MQTT-6.0.0-2]', async () => {
    const big = payload(100 * 1024);
    const srv = await startServer((packet, connection) => {
      if (packet.cmd !== 'subscribe') return answer(packet, connection);
      const opts = versionOf(connection);
      const suback = mqttPacket.generate({ cmd: 'suback', messageId: packet.messageId, granted: [0] }, opts);
      const publish = mqttPacket.generate({ cmd: 'publish', topic: 'big/one', payload: big, qos: 0, dup: false, retain: false }, opts);
      const bytes = Buffer.concat([suback, publish]);
      // One message ends inside the fixed header, one carries the end of SUBACK and a byte of
      // PUBLISH; every message stays under 24 KiB so its base64 fits one 32 KB frame.
      const s = suback.length;
      connection.sendCut(bytes, [s - 1, s + 1, s + 2, s + 9_000, s + 33_000, s + 57_000, s + 80_000, s + 102_000]);
    });
    const client = await connected(srv.url, { protocolVersion });
    const message = next(client, 'message');
    await client.subscribeAsync('big/one', { qos: 0 });
    const [topic, received] = (await message) as [string, Buffer];
    expect(topic).toBe('big/one');
    expect(received.length).toBe(big.length);
    expect(received.equals(big)).toBe(true);
  });

  it('receives a 100 KB PUBLISH in tagged fragments, out of order, with a small PUBLISH posted between them [MQTT-6.0.0-2]', async () => {
    const big = payload(100 * 1024);
    const srv = await startServer((packet, connection) => {
      if (packet.cmd !== 'subscribe') return answer(packet, connection);
      const opts = versionOf(connection);
      const publish = (topic: string, body: Buffer) =>
        mqttPacket.generate({ cmd: 'publish', topic, payload: body, qos: 0, dup: false, retain: false }, opts);
      const parts = fragment(publish('big/one', big), 'xY_9-');
      connection.socket.send(mqttPacket.generate({ cmd: 'suback', messageId: packet.messageId, granted: [0] }, opts).toString('base64'));
      // As when another Lambda invocation posts to the same connection while the big packet is sent.
      for (const text of [parts[4]!, parts[0]!, publish('big/small', Buffer.from('s')).toString('base64'), ...parts.slice(1, 4)]) {
        connection.socket.send(text);
      }
    });
    const client = await connected(srv.url, { protocolVersion });
    const received: [string, Buffer][] = [];
    const both = new Promise<void>((resolve) =>
      client.on('message', (topic, body) => {
        received.push([topic, body]);
        if (received.length === 2) resolve();
      }),
    );
    await client.subscribeAsync('big/#', { qos: 0 });
    await both;
    expect(received.map(([topic]) => topic)).toEqual(['big/small', 'big/one']);
    expect(received[1]![1].equals(big)).toBe(true);
  });

  it('sends a PUBLISH over 32 KB as one message of several frames, each at most 32,000 characters', async () => {
    const srv = await startServer();
    const client = await connected(srv.url, { protocolVersion });
    const body = payload(60 * 1024);
    await client.publishAsync('up/big', body, { qos: 1 });
    const message = srv.messages.find((m) => m.packets.some((p) => p.cmd === 'publish'));
    expect(message?.wholePackets).toBe(true);
    expect(body.equals((message?.packets[0] as IPublishPacket).payload as Buffer)).toBe(true);
    const frames = dataMessages(srv.frames).find((group) => group.reduce((n, f) => n + f.length, 0) === message?.text.length);
    expect(frames?.length).toBe(Math.ceil((message?.text.length ?? 0) / CLIENT_FRAME_CHARS));
    expect(frames?.[0].opcode).toBe(1);
    expect(frames?.slice(1).every((f) => f.opcode === 0)).toBe(true);
    expect(frames?.every((f) => f.length <= CLIENT_FRAME_CHARS)).toBe(true);
    expect(frames?.[0].length).toBe(CLIENT_FRAME_CHARS);
  });

  it('packs packets written in the same tick into one message', async () => {
    const srv = await startServer();
    const client = await connected(srv.url, { protocolVersion });
    const before = srv.messages.length;
    client.publish('a', 'one');
    client.publish('b', 'two');
    client.publish('c', 'three');
    await srv.until(() => publishes(srv).length === 3);
    const batch = srv.messages.slice(before);
    expect(batch).toHaveLength(1);
    expect(batch[0].wholePackets).toBe(true);
    expect(batch[0].packets.map((p) => (p as IPublishPacket).topic)).toEqual(['a', 'b', 'c']);
  });

  it('numbers its messages from 1 on each WebSocket, one number per message (docs/TRANSPORT.md section 3)', async () => {
    const srv = await startServer();
    const client = await connected(srv.url, { protocolVersion, reconnectPeriod: 50 });
    await client.publishAsync('big', payload(60 * 1024), { qos: 1 }); // one message of 3 frames
    await client.publishAsync('small', 'x', { qos: 1 });
    expect(srv.messages.map((m) => m.seq)).toEqual([1, 2, 3]);
    // A new WebSocket starts again from 1.
    srv.connections[0].socket.close(1001);
    await new Promise((resolve) => client.once('connect', resolve));
    await client.publishAsync('again', 'y', { qos: 1 });
    expect(srv.messages.slice(3).map((m) => m.seq)).toEqual([1, 2]);
  });

  it('with numbered: false sends plain base64, and packets up to 98,304 bytes', async () => {
    const srv = await startServer();
    const client = await connected(srv.url, { protocolVersion, numbered: false });
    await client.publishAsync('plain', payload(98_000), { qos: 1 });
    expect(srv.messages.map((m) => m.seq)).toEqual([undefined, undefined]);
    expect(publishes(srv).map((p) => p.topic)).toEqual(['plain']);
  });

  it('refuses a packet larger than one 128 KB message: error, nothing sent, connection kept', async () => {
    const srv = await startServer();
    const client = await connected(srv.url, { protocolVersion });
    const failed = next(client, 'error');
    client.publish('too/big', payload(100 * 1024));
    const [error] = (await failed) as [PacketTooLargeError];
    expect(error).toBeInstanceOf(PacketTooLargeError);
    expect(error.reasonCode).toBe(0x95);
    expect(error.limit).toBe(98_292);
    client.publish('after', 'small');
    await srv.until(() => publishes(srv).length === 1);
    expect(publishes(srv).map((p) => p.topic)).toEqual(['after']);
    expect(srv.connections).toHaveLength(1);
  });

  it('with a WHATWG WebSocket (no fragmentation) sends at most one 32,000-character frame per message', async () => {
    const srv = await startServer();
    const { WebSocket } = await import('ws');
    const client = await connected(srv.url, {
      protocolVersion,
      createWebsocket: (url: string, protocols: string[]) => new WebSocket(url, protocols),
    });
    await client.publishAsync('fits', payload(23 * 1024), { qos: 1 });
    const failed = next(client, 'error');
    client.publish('too/big', payload(30 * 1024));
    const [error] = (await failed) as [PacketTooLargeError];
    expect(error.limit).toBe(23_988);
    expect(publishes(srv).map((p) => p.topic)).toEqual(['fits']);
    expect(dataMessages(srv.frames).every((group) => group.length === 1 && group[0].length <= CLIENT_FRAME_CHARS)).toBe(true);
  });

  it('accepts binary frames from a lenient server', async () => {
    const srv = await startServer((packet, connection) => {
      if (packet.cmd !== 'connect') return answer(packet, connection);
      answer(packet, connection); // records the version
      connection.socket.send(mqttPacket.generate({ cmd: 'pingresp' }), { binary: true });
    });
    const client = await connected(srv.url, { protocolVersion });
    expect(client.connected).toBe(true);
  });

  it('reconnects after the server closes the socket', async () => {
    const srv = await startServer();
    const client = await connected(srv.url, { protocolVersion, reconnectPeriod: 10 });
    const closed = next(client, 'close');
    srv.connections[0].socket.close(1001);
    await closed;
    await next(client, 'connect');
    expect(srv.connections).toHaveLength(2);
    expect(srv.connections[1].messages[0].packets[0]).toMatchObject({ cmd: 'connect' });
  });

  it('reports a 1009 close as FramingRefusedError', async () => {
    const srv = await startServer();
    const client = await connected(srv.url, { protocolVersion });
    const failed = next(client, 'error');
    srv.connections[0].socket.close(1009, 'too big');
    const [error] = (await failed) as [Error & { code: string; closeCode: number }];
    expect(error.code).toBe('STRATUS_FRAMING_REFUSED');
    expect(error.closeCode).toBe(1009);
  });

  it('closes the WebSocket with 1000 when MQTT.js ends', async () => {
    const srv = await startServer();
    const client = await connected(srv.url, { protocolVersion });
    await client.endAsync();
    await srv.until(() => srv.connections[0].closeCode !== undefined);
    expect(srv.connections[0].closeCode).toBe(1000);
    const packets: Packet[] = srv.messages.flatMap((m) => m.packets);
    expect(packets.at(-1)?.cmd).toBe('disconnect');
  });
});

describe('stratus-mqtt/client subprotocols', () => {
  it('offers mqttv3.1 for MQTT 3.1 (MQIsdp)', async () => {
    const srv = await startServer();
    await connected(srv.url, { protocolVersion: 3, protocolId: 'MQIsdp' });
    expect(srv.connections[0].protocol).toBe('mqttv3.1');
  });

  it('takes credentials from the URL and keeps them out of the WebSocket URL', async () => {
    const srv = await startServer();
    const url = srv.url.replace('ws://', 'ws://alice:s%3Dcret@');
    await connected(url, { protocolVersion: 4 });
    expect(srv.messages[0].packets[0]).toMatchObject({ cmd: 'connect', username: 'alice' });
    expect(String((srv.messages[0].packets[0] as { password?: Buffer }).password)).toBe('s=cret');
  });

  it('reports a refused connection with the socket error code', async () => {
    const srv = await startServer();
    const { url } = srv;
    await srv.close();
    server = undefined;
    const client = connect(url, { reconnectPeriod: 0 });
    clients.push(client);
    const [error] = (await next(client, 'error')) as [Error & { code: string }];
    expect(error.code).toBe('ECONNREFUSED');
  });

  it('rejects a URL that is not ws:// or wss://', () => {
    expect(() => connect('mqtt://127.0.0.1:1883')).toThrow(TypeError);
  });
});
