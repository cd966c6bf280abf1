/**
 * A resumed session's order end to end (issue 12, "Within a subscriber"): MQTT.js through the
 * Stratus transport against local strict mode (ordered ingress, DynamoDB Local). A publisher sends
 * numbered QoS 1 messages without pause while a subscriber with a persistent session goes away and
 * comes back, several times. On each connection the subscriber sees the CONNACK first
 * [MQTT-3.2.0-1], then the resends of what it had not acknowledged, with DUP 1 [MQTT-4.4.0-1],
 * then the rest in the publisher's order [MQTT-4.6.0-5]; over all its connections, every message
 * at least once, none missing, none out of order. Protocol 4 and 5.
 */
import { randomUUID } from 'node:crypto';
import type { IClientOptions, MqttClient, Packet } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../lib/client';
import type { ProtocolVersion } from '../../lib/mqtt';
import { eventually } from '../helpers/eventually';
import { startTestBroker, type TestBroker } from '../helpers/local-broker';

const VERSIONS: ProtocolVersion[] = [4, 5];
const ROUNDS = 4;

let broker: TestBroker;
const clients: MqttClient[] = [];

beforeAll(async () => {
  broker = await startTestBroker();
});

afterAll(async () => {
  for (const c of clients) c.end(true);
  await broker?.dispose();
});

/** One connection of the subscriber: every packet it received, in order. */
interface Stream {
  readonly c: MqttClient;
  readonly packets: Packet[];
}

function open(version: ProtocolVersion, options: IClientOptions): Promise<Stream> {
  const c = connect(broker.url, { protocolVersion: version, reconnectPeriod: 0, ...options });
  clients.push(c);
  const packets: Packet[] = [];
  c.on('packetreceive', (packet) => packets.push(packet));
  return new Promise((resolve, reject) => {
    c.once('connect', () => resolve({ c, packets }));
    c.once('error', reject);
  });
}

/** The numbers of the PUBLISHes of a stream, with their DUP flags. */
function numbered(stream: Stream): { n: number; dup: boolean }[] {
  return stream.packets.flatMap((p) => (p.cmd === 'publish' ? [{ n: Number(Buffer.from(p.payload).toString()), dup: p.dup }] : []));
}

/** Where message n reached the subscriber, to explain a gap: each connection and position, with DUP. */
function whereIs(streams: readonly Stream[], n: number): string {
  const places = streams.flatMap((stream, i) =>
    numbered(stream).flatMap((m, at) => (m.n === n ? [`connection ${i} #${at}${m.dup ? ' DUP' : ''}`] : [])),
  );
  return places.length === 0 ? 'never received' : `received on ${places.join(', ')}`;
}

/**
 * What went wrong with the subscriber's streams, if anything. On each connection: CONNACK first,
 * the DUP resends before any fresh message, no message twice. Over all connections, the first
 * copy of each message in the publisher's order, with no gap up to the last one published. (A
 * DUP may be a message's first copy: it was posted to a connection that closed before reading it.)
 */
function problems(streams: readonly Stream[], published: number): string[] {
  const found: string[] = [];
  let next = 0;
  streams.forEach((stream, i) => {
    if (stream.packets[0]?.cmd !== 'connack') found.push(`connection ${i}: first packet ${stream.packets[0]?.cmd}`);
    const seen = new Set<number>();
    let fresh = false;
    for (const { n, dup } of numbered(stream)) {
      if (seen.has(n)) found.push(`connection ${i}: ${n} twice`);
      seen.add(n);
      if (dup && fresh) found.push(`connection ${i}: DUP ${n} after a live message`);
      if (!dup) fresh = true;
      if (n < next) continue; // a resend of a message an earlier connection had
      if (n !== next) found.push(`connection ${i}: ${n} where ${next} was due (${whereIs(streams, next)})`);
      next = n + 1;
    }
  });
  if (next !== published) found.push(`received up to ${next - 1} of 0..${published - 1}`);
  return found;
}

describe.each(VERSIONS)('resume order end to end, protocol %i', (version) => {
  it(`gives a resumed subscriber CONNACK, resends, backlog, then live messages, in order, over ${ROUNDS} reconnects [MQTT-3.2.0-1] [MQTT-4.4.0-1] [MQTT-4.6.0-5]`, async () => {
    const t = `resume/${randomUUID().slice(0, 8)}`;
    const clientId = `resume-${version}-${randomUUID().slice(0, 6)}`;
    const persistent: IClientOptions = { clientId, clean: false, ...(version === 5 ? { properties: { sessionExpiryInterval: 3600 } } : {}) };
    const streams: Stream[] = [await open(version, persistent)];
    await streams[0].c.subscribeAsync(t, { qos: 1 });

    const pub = await open(version, { clientId: `pub-${randomUUID().slice(0, 6)}` });
    let published = 0;
    let stop = false;
    const publishing = (async () => {
      while (!stop) await pub.c.publishAsync(t, String(published++), { qos: 1 });
    })();

    for (let round = 0; round < ROUNDS; round++) {
      const current = streams[streams.length - 1];
      // Something live reached this connection before it goes.
      const before = published;
      await eventually(() => numbered(current).some(({ n }) => n >= before), 200);
      // A clean DISCONNECT, or a lost connection (no DISCONNECT), in turn.
      await current.c.endAsync(round % 2 === 1);
      streams.push(await open(version, persistent));
    }
    const last = streams[streams.length - 1];
    const before = published;
    await eventually(() => numbered(last).some(({ n }) => n >= before), 200);
    stop = true;
    await publishing;
    await eventually(() => numbered(last).some(({ n }) => n === published - 1), 200);

    expect(problems(streams, published)).toEqual([]);
    expect(streams.slice(1).every((s) => s.packets[0]?.cmd === 'connack' && s.packets[0].sessionPresent)).toBe(true);
    await Promise.all([last.c.endAsync(), pub.c.endAsync()]);
  }, 60_000);
});
