/**
 * Concurrency end to end, with direct ingress: the gateway's jitter delays every handler call by a
 * random time, so the invocations of one connection run out of order, as on AWS with the Lambda
 * integration (AWS-FACTS.md: no ordering between the messages of one connection). MQTT.js through the Stratus transport, and a raw client where a
 * test needs exact control of the WebSocket messages, against local strict mode on DynamoDB Local.
 * Each behaviour runs for protocol versions 4 and 5; the fan-out mixes both in one population.
 */
import { randomUUID } from 'node:crypto';
import type { IClientOptions, IPublishPacket, MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../lib/client';
import type { Packet, ProtocolVersion, PublishPacket } from '../../lib/mqtt';
import { startTestBroker, type TestBroker } from '../helpers/local-broker';
import { RawClient } from '../helpers/raw-client';

const VERSIONS: ProtocolVersion[] = [4, 5];
/** Each handler call waits a random time in [0, JITTER_MS): invocations overtake each other. */
const JITTER_MS = 50;
/** Messages per QoS 1 / QoS 2 burst. */
const BURST = 50;
/**
 * Rounds of the retained race. With the 5 ms gap the later message's handler starts first in
 * about 40% of rounds (both delays uniform in [0, 50)); its PUBACK came back first in about one
 * round in five when measured, so 16 rounds see both orders with high probability.
 */
const RETAINED_ROUNDS = 16;
const FAN_OUT = 1_000;
/** Clients opened at once while building the fan-out population. */
const OPEN_CONCURRENCY = 50;
/** Connections opened at once for the fan-out population. */
const POPULATION_CONCURRENCY = 20;

let broker: TestBroker;
const clients: MqttClient[] = [];

beforeAll(async () => {
  // Direct ingress on purpose: these tests prove the core correct under the unordered, concurrent
  // invocations of API Gateway's Lambda integration (ingress 'direct'); ordered ingress would hand
  // one connection's frames over in order and hide every race they exercise
  // (test/integration/ordered-ingress.test.ts covers ordered mode).
  broker = await startTestBroker({ gateway: { jitterMs: JITTER_MS, ingress: 'direct' } });
});

afterAll(async () => {
  for (const c of clients) c.end(true);
  RawClient.terminateAll();
  await broker?.dispose();
});

// ---------------------------------------------------------------------------------------------
// Helpers

interface Subscriber {
  readonly c: MqttClient;
  /** Application messages, as MQTT.js hands them over (QoS 2: once, on PUBREL). */
  readonly messages: string[];
  /** Every PUBLISH packet that reached the client, before MQTT.js's own QoS 2 bookkeeping. */
  readonly publishes: string[];
  readonly retained: boolean[];
}

/** A connected MQTT.js client that records what it receives. */
async function client(version: ProtocolVersion, options: IClientOptions = {}): Promise<Subscriber> {
  const c = connect(broker.url, { protocolVersion: version, clientId: `c-${randomUUID().slice(0, 8)}`, reconnectPeriod: 0, ...options });
  clients.push(c);
  const s: Subscriber = { c, messages: [], publishes: [], retained: [] };
  c.on('message', (_topic, payload, packet) => {
    s.messages.push(payload.toString());
    s.retained.push(packet.retain);
  });
  c.on('packetreceive', (p) => {
    if (p.cmd === 'publish') s.publishes.push(Buffer.from((p as IPublishPacket).payload).toString());
  });
  await new Promise<void>((resolve, reject) => {
    c.once('connect', () => resolve());
    c.once('error', reject);
    // Closed before CONNACK: fail now, naming it, rather than at the CONNACK timeout.
    c.once('close', () => reject(new Error(`connection closed before CONNACK (protocol ${version})`)));
  });
  return s;
}

/** A raw client (one WebSocket message per `send`) that has completed CONNECT / CONNACK. */
async function rawClient(version: ProtocolVersion): Promise<RawClient> {
  const raw = await RawClient.open(broker.url, version);
  const clientId = `raw-${randomUUID().slice(0, 8)}`;
  expect(await raw.connect({ clientId })).toMatchObject({ reasonCode: 0 });
  return raw;
}

/** Packets of `type` the raw client received with this packet id. */
function acks(raw: RawClient, type: 'puback' | 'pubrec' | 'pubcomp', packetId: number): Packet[] {
  return raw.of(type).filter((p) => p.packetId === packetId);
}

function publish(topic: string, payload: string, qos: 1 | 2, packetId: number, flags: { retain?: boolean; dup?: boolean } = {}): PublishPacket {
  return { type: 'publish', topic, payload: Buffer.from(payload), qos, packetId, retain: flags.retain ?? false, dup: flags.dup ?? false };
}

/** An acknowledgement's reason code: absent in 3.1.1 and when 0 on the wire in v5. */
function reasonCodeOf(packet: Packet): number {
  return 'reasonCode' in packet ? (packet.reasonCode ?? 0) : 0;
}

/** Waits for a condition the system reaches asynchronously (bounded; not a timing assertion). */
async function eventually(check: () => boolean, attempts = 200, everyMs = 50): Promise<void> {
  for (let i = 0; i < attempts; i++) {
    if (check()) return;
    await sleep(everyMs);
  }
  throw new Error('condition not reached');
}

/** Like `eventually`, but lets the test assert afterwards, so a failure names what is missing. */
async function waitFor(check: () => boolean, attempts = 200, everyMs = 50): Promise<void> {
  for (let i = 0; i < attempts && !check(); i++) await sleep(everyMs);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

/**
 * Lets in-flight deliveries land before asserting that something did NOT arrive: longer than the
 * jitter, so a late invocation has had its chance.
 */
const settle = () => sleep(JITTER_MS + 500);

const topic = (name: string) => `plant/${randomUUID().slice(0, 8)}/${name}`;

/** Counts of each value in `values`. */
function tally(values: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return counts;
}

/**
 * Publishes `payloads` from MQTT.js, each in its own WebSocket message (the transport packs the
 * writes of one turn of the event loop into one message, so a timer separates them): each becomes
 * its own invocation, and the jitter reorders them. Returns the set of payloads acknowledged so
 * far (PUBACK, or PUBCOMP for QoS 2), which fills as the acknowledgements arrive.
 */
async function publishBurst(pub: MqttClient, t: string, payloads: readonly string[], qos: 1 | 2): Promise<Set<string>> {
  const acked = new Set<string>();
  for (const payload of payloads) {
    pub.publishAsync(t, payload, { qos }).then(
      () => acked.add(payload),
      () => undefined, // never acknowledged: the assertions name it
    );
    await sleep(1);
  }
  return acked;
}

/**
 * Makes sure the gateway stamps the next message LATER than the one just sent, so that the two
 * `requestTimeEpoch` values differ. The stamp is the millisecond clock at arrival, and a tie means
 * "first writer wins" in the retained store (its condition is `requestTimeEpoch < :t`), which
 * would let the earlier message win whenever its handler happens to run first. The gateway runs
 * on this event loop, so:
 * 1. ~5 ms pass, the intended gap between the two messages;
 * 2. a setImmediate lands after a poll phase, in which the gateway read the first message (on the
 *    wire since `send` resolved) and stamped it, even if the loop was blocked meanwhile and the
 *    timer fired late;
 * 3. the clock moves on by at least 1 ms past that point, so the second stamp is strictly later.
 */
async function arrivalGap(): Promise<void> {
  await sleep(5);
  await nextTurn();
  const stamped = Date.now();
  while (Date.now() <= stamped) await nextTurn();
}

/** Runs `make(0..n-1)` with at most `limit` of them in flight. */
async function bounded<T>(n: number, limit: number, make: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array<T>(n);
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      out[i] = await make(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, n) }, worker));
  return out;
}

// ---------------------------------------------------------------------------------------------

describe.each(VERSIONS)('reordered invocations, protocol %i', (version) => {
  it(`no QoS 1 message is lost: ${BURST} in flight at once are all acknowledged and all reach a QoS 1 subscriber [MQTT-4.3.2-4]`, async () => {
    const t = topic('qos1');
    const sub = await client(version);
    await sub.c.subscribeAsync(t, { qos: 1 });
    const pub = await client(version);
    const payloads = Array.from({ length: BURST }, (_, i) => `m${i}`);
    const acked = await publishBurst(pub.c, t, payloads, 1);
    await waitFor(() => acked.size === BURST && payloads.every((p) => sub.messages.includes(p)));
    // Nothing retransmits on this connection (MQTT.js resends only on reconnect), so a PUBLISH
    // the broker dropped without PUBACK is a message lost.
    expect(payloads.filter((p) => !acked.has(p))).toEqual([]);
    // QoS 1 is at least once: duplicates would be allowed, a missing message is not.
    expect(payloads.filter((p) => !sub.messages.includes(p))).toEqual([]);
  });

  it(`no QoS 2 message is lost or delivered twice: ${BURST} in flight at once each reach a QoS 2 subscriber exactly once [MQTT-4.3.3-10]`, async () => {
    const t = topic('qos2');
    const sub = await client(version);
    await sub.c.subscribeAsync(t, { qos: 2 });
    const pub = await client(version);
    const payloads = Array.from({ length: BURST }, (_, i) => `m${i}`);
    const completed = await publishBurst(pub.c, t, payloads, 2);
    await waitFor(() => completed.size === BURST && sub.messages.length >= BURST);
    await settle();
    expect(payloads.filter((p) => !completed.has(p))).toEqual([]);
    const once = new Map(payloads.map((p) => [p, 1]));
    expect(tally(sub.messages)).toEqual(once);
    // The PUBLISH packets themselves, not only what MQTT.js passed on after its QoS 2 handshake.
    expect(tally(sub.publishes)).toEqual(once);
  });

  it('a QoS 2 PUBLISH sent again with DUP 1 (racing, and after PUBREC) is delivered once [MQTT-4.3.3-10]', async () => {
    const t = topic('dup');
    // A QoS 1 subscription: every PUBLISH the broker sends becomes a message, so a second
    // delivery could not hide behind the subscriber's own QoS 2 bookkeeping.
    const sub = await client(version);
    await sub.c.subscribeAsync(t, { qos: 1 });
    const raw = await rawClient(version);
    const packetId = 7;
    // Two WebSocket messages at once: two invocations that the jitter runs in either order.
    await Promise.all([raw.send(publish(t, 'once', 2, packetId)), raw.send(publish(t, 'once', 2, packetId, { dup: true }))]);
    await eventually(() => acks(raw, 'pubrec', packetId).length === 2);
    // The retransmission a client makes when it has not seen the PUBREC: after it.
    await raw.send(publish(t, 'once', 2, packetId, { dup: true }));
    await eventually(() => acks(raw, 'pubrec', packetId).length === 3);
    await raw.send({ type: 'pubrel', packetId });
    await eventually(() => acks(raw, 'pubcomp', packetId).length === 1);
    await settle();
    expect(acks(raw, 'pubrec', packetId).map(reasonCodeOf)).toEqual([0, 0, 0]);
    expect(sub.messages).toEqual(['once']);
    expect(sub.publishes).toEqual(['once']);
  });

  it(`retained messages: the later arrival at the gateway wins, whichever handler runs first (${RETAINED_ROUNDS} rounds) [MQTT-3.3.1-5]`, async () => {
    const t = topic('setpoint');
    const raw = await rawClient(version);
    for (let round = 0; round < RETAINED_ROUNDS; round++) {
      const first = 2 * round + 1;
      const second = first + 1;
      await raw.send(publish(t, `r${round}-earlier`, 1, first, { retain: true }));
      await arrivalGap();
      await raw.send(publish(t, `r${round}-later`, 1, second, { retain: true }));
      await eventually(() => acks(raw, 'puback', first).length === 1 && acks(raw, 'puback', second).length === 1);
      const reader = await client(version);
      await reader.c.subscribeAsync(t, { qos: 1 });
      await eventually(() => reader.messages.length >= 1);
      expect({ round, payload: reader.messages[0], retain: reader.retained[0] }).toEqual({ round, payload: `r${round}-later`, retain: true });
      await reader.c.endAsync();
    }
  });
});

describe(`fan-out to ${FAN_OUT} subscribers (half on 3.1.1, half on 5)`, () => {
  const t = topic('broadcast');
  const population: Subscriber[] = [];

  beforeAll(async () => {
    // Opened a few at a time, with a generous CONNACK timeout: on 2 shared cores, with other test
    // files running, 50 CONNECTs at once through DynamoDB Local took over MQTT.js's default 30 s.
    // A reply the broker could not post closes the connection (lib/runtime/message.ts), and the
    // client's answer is to connect again, as a device would: one more attempt per subscriber.
    // Any such failure is logged on stderr by the broker ([broker] lines).
    const join = async (i: number): Promise<Subscriber> => {
      const s = await client(i % 2 === 0 ? 4 : 5, { connectTimeout: 120_000 });
      await s.c.subscribeAsync(t, { qos: 1 });
      return s;
    };
    const opened = await bounded(FAN_OUT, POPULATION_CONCURRENCY, (i) => join(i).catch(() => join(i)));
    population.push(...opened);
  }, 300_000);

  afterAll(async () => {
    // Each close is a $disconnect invocation; let them run before the broker stops.
    await bounded(population.length, OPEN_CONCURRENCY, (i) => population[i].c.endAsync(true));
  }, 120_000);

  const everyoneGot = (payload: string) => population.every((s) => s.messages.includes(payload));

  it.each([
    [0, 4],
    [1, 5],
  ] as const)(`one QoS %i publish (from a protocol %i client) reaches all ${FAN_OUT} subscribers [MQTT-4.5.0-1]`, async (qos, version) => {
    const payload = `all-qos${qos}-v${version}`;
    const pub = await client(version);
    await pub.c.publishAsync(t, payload, { qos });
    await eventually(() => everyoneGot(payload), 600);
    await settle();
    const missing = population.filter((s) => !s.messages.includes(payload)).length;
    expect(missing).toBe(0);
    // One subscription each: one copy each [MQTT-3.3.4-2] (QoS 1 would allow a resend; none is expected here).
    expect(population.filter((s) => s.messages.filter((m) => m === payload).length !== 1).length).toBe(0);
  }, 90_000);
});
