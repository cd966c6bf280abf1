/**
 * Log ingestion is billed per byte ($0.50 per GB in CloudWatch Logs), so the default level
 * (`info`) writes nothing per packet: a session that publishes 10 times and one that publishes
 * 100 times write the same lines (docs/COST.md, "Logs and metrics"). `debug` may say more.
 */
import { describe, expect, it } from 'vitest';
import { createLogger, type LogLevel } from '../../../lib/log';
import type { ProtocolVersion, QoS } from '../../../lib/mqtt';
import { ackPacket, memoryRuntime, persistentSession, publishPacket } from '../../helpers/memory-runtime';

const VERSIONS: ProtocolVersion[] = [4, 5];

/** The lines a whole session writes: connect, subscribe, `publishes` at each QoS with acks, close. */
async function linesOfASession(version: ProtocolVersion, publishes: number, level: LogLevel): Promise<string[]> {
  const lines: string[] = [];
  const rt = memoryRuntime({ log: createLogger({ level, write: (line) => lines.push(line) }) });
  const sub = await rt.connected(version, { clientId: 'historian', ...persistentSession(version) });
  await sub.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'plant/#', qos: 2 }] });
  sub.take();
  const pub = await rt.connected(version, { clientId: 'press-7' });
  let packetId = 0;
  for (let n = 0; n < publishes; n++) {
    for (const qos of [0, 1, 2] as QoS[]) {
      const id = qos === 0 ? undefined : ++packetId;
      await pub.send(publishPacket('plant/press-7/temp', `${n}`, qos, id === undefined ? {} : { packetId: id }));
      if (qos === 2 && id !== undefined) await pub.send(ackPacket('pubrel', id, version));
    }
    for (const packet of sub.take()) {
      if (packet.type !== 'publish' || packet.qos === 0 || packet.packetId === undefined) continue;
      if (packet.qos === 1) await sub.send(ackPacket('puback', packet.packetId, version));
      else {
        await sub.send(ackPacket('pubrec', packet.packetId, version));
        await sub.send(ackPacket('pubcomp', packet.packetId, version));
      }
    }
    await pub.send({ type: 'pingreq' });
    // 3 publishes every 100 ms: well within the per-client publish limit (100 a second).
    rt.advance(100);
  }
  await pub.send({ type: 'disconnect' });
  await pub.close(1000);
  await sub.close();
  return lines;
}

describe.each(VERSIONS)('log volume at the default level, protocol %i', (version) => {
  it('info: no line per packet (10 and 100 rounds of QoS 0, 1 and 2 publishes write the same lines)', async () => {
    const few = await linesOfASession(version, 10, 'info');
    const many = await linesOfASession(version, 100, 'info');
    expect(many.length).toBe(few.length);
    // What it does write: one line per closed connection, nothing on the packet path.
    expect(few.map((line) => (JSON.parse(line) as { msg: string }).msg)).toEqual(['disconnected', 'disconnected']);
  });
});
