/**
 * The chaos run (issue 13): N MQTT.js clients (protocol 4 and 5, persistent and clean sessions)
 * exchange QoS 1 and QoS 2 messages through a local broker (ordered ingress, strict mode) on
 * DynamoDB Local, while faults are injected at random from a seed: store calls (FaultyDynamoDb
 * under the stores), posts (FaultyDelivery under the delivery adapter), dropped `$disconnect`,
 * jitter, and forced reconnects (abrupt, or with DISCONNECT). Then the faults stop, the run
 * settles, every client ends, the sweeper runs, a message is queued for every offline session,
 * every client connects again; and the journal is judged (./invariants.ts).
 *
 * Roles, in turn: v4 persistent, v5 persistent, v4 clean, v5 clean. Every client subscribes to
 * `chaos/#` at QoS 2 and has a will; persistent clients publish QoS 1 and QoS 2, clean clients
 * QoS 1 only (a clean session's client resends a QoS 2 PUBLISH into a new session, where nothing
 * can recognise it). A v5 persistent witness, never forced to reconnect, collects the wills.
 */
import type { LocalBroker, LocalBrokerOptions } from '../../lib/local/local-broker';
import type { ProtocolVersion } from '../../lib/mqtt';
import { Prng } from '../fuzz/prng';
import { FaultyDelivery, type PostFaultKind } from '../helpers/faulty-delivery';
import { FaultyDynamoDb, type FaultKind } from '../helpers/faulty-dynamodb';
import { ChaosClient, CHAOS_FILTER, CHAOS_USER_AGENT, Journal, WILL_FILTER } from './client';
import { judge, type FinalCheck, type LateFrame, type Verdict } from './invariants';
import { parseChaosOptions, type ChaosOptions, type ChaosOptionsInput } from './options';

export interface ChaosReport {
  readonly options: ChaosOptions;
  readonly verdict: Verdict;
  readonly journal: Journal;
  /** Epoch ms when the faults started. */
  readonly startedAt: number;
  readonly faults: {
    readonly storeCalls: number;
    readonly postCalls: number;
    readonly store: Record<FaultKind, number>;
    readonly storeByCommand: Record<string, number>;
    readonly posts: Record<PostFaultKind, number>;
    readonly droppedDisconnects: number;
    readonly reconnects: { readonly abrupt: number; readonly graceful: number };
  };
  /** Ingress messages the queue gave up on (each closed its connection). */
  readonly deadLetters: number;
  readonly elapsedMs: number;
}

/** Starts the broker with these options (the test: on the run's DynamoDB Local); `stop` ends it. */
export type StartBroker = (options: LocalBrokerOptions) => Promise<{ broker: LocalBroker; stop: () => Promise<void> }>;

const SMALL_BYTES = 64;
/** Over POST_PACKED_BYTES (23,808): posted as two tagged fragments. */
const LARGE_BYTES = 30_000;
/** Between the last closes and the final sweep. */
const SWEEP_PAUSE_MS = 3000;
/** The longest wait for the wills, and for the final check: half the settling time, at most 30 s. */
const phaseMs = (options: ChaosOptions) => Math.min(30_000, (options.settleS * 1000) / 2);

export async function runChaos(input: ChaosOptionsInput, start: StartBroker, say: (line: string) => void = () => undefined): Promise<ChaosReport> {
  const options = parseChaosOptions(input);
  const began = Date.now();
  const prng = new Prng(options.seed);
  const drops = new Prng(options.seed ^ 0x5a5a_5a5a);
  let faultsOn = false;
  let store: FaultyDynamoDb | undefined;
  const posts = new FaultyDelivery();
  const { broker, stop } = await start({
    gateway: { jitterMs: options.jitterMs, dropDisconnectRate: options.dropDisconnectRate, random: () => (faultsOn ? drops.next() / 0x1_0000_0000 : 1) },
    wrapDynamoDb: (client) => (store = new FaultyDynamoDb(client)).client,
    wrapManagementClient: (client) => posts.wrap(client),
    sweepIntervalMs: options.sweepEveryMs,
  });
  const journal = new Journal();
  const clients: ChaosClient[] = [];
  const timers = new Set<NodeJS.Timeout>();
  try {
    const witness = new ChaosClient({ url: broker.url, clientId: `chaos-witness-${options.seed}`, version: 5, clean: false, filter: WILL_FILTER, subscriber: false, will: false }, journal);
    clients.push(witness);
    await witness.ready();
    const chaos = Array.from({ length: options.clients }, (_, i) => {
      const version: ProtocolVersion = i % 2 === 0 ? 4 : 5;
      const clean = i % 4 >= 2;
      const clientId = `chaos-${options.seed}-${i}-v${version}${clean ? 'c' : 'p'}`;
      return new ChaosClient({ url: broker.url, clientId, version, clean, filter: CHAOS_FILTER, subscriber: true, will: true }, journal);
    });
    clients.push(...chaos);
    await Promise.all(chaos.map((c) => c.ready()));
    say(`chaos: seed ${options.seed}, ${options.clients} clients ready; faults on for ${options.durationS} s`);

    store?.randomly({ seed: options.seed ^ 0x1111_1111, rates: split(options.store, options.storeRate) });
    posts.randomly({ seed: options.seed ^ 0x2222_2222, rates: split(options.posts, options.postRate) });
    faultsOn = true;
    const startedAt = Date.now();
    const every = (mean: number, act: () => void) => {
      const next = () => {
        const t = setTimeout(() => {
          timers.delete(t);
          act();
          next();
        }, prng.between(Math.floor(mean / 2), Math.floor((mean * 3) / 2)));
        timers.add(t);
      };
      next();
    };
    for (const [i, c] of chaos.entries()) {
      const clean = i % 4 >= 2;
      every(options.publishEveryMs, () => c.publish(clean || prng.chance(0.5) ? 1 : 2, prng.chance(options.largeFraction) ? LARGE_BYTES : SMALL_BYTES));
      if (options.reconnectEveryMs > 0) every(options.reconnectEveryMs, () => c.forceReconnect(prng.chance(1 / 3)));
    }
    await sleep(options.durationS * 1000);
    for (const t of timers) clearTimeout(t);
    timers.clear();
    faultsOn = false;
    store?.clear();
    posts.clear();
    say(`chaos: faults off after ${journal.publishes.length} publishes; settling`);

    // Each phase has its own deadline: a run that never settles still gets its final check.
    // The judgement reads the gateway's dropped frames as they are now.
    const judgeNow = (finals?: FinalCheck[]) => {
      journal.lateFrames.splice(0, journal.lateFrames.length, ...lateFrames(broker));
      return judge(finals === undefined ? journal : { ...journal, finals }, options);
    };
    await until(Date.now() + options.settleS * 1000, () => journal.publishes.every((p) => p.ackedAt !== undefined) && judgeNow().losses.length === 0);
    await Promise.all(chaos.map((c) => c.end()));
    // The sweeper's schedule, compressed: its next run comes after the closes left the queue.
    await sleep(SWEEP_PAUSE_MS);
    await broker.sweep();
    await until(Date.now() + phaseMs(options), () => judgeNow().willsLost.length === 0);
    const finals = await finalCheck(broker, journal, chaos, Date.now() + phaseMs(options));
    await until(Date.now() + phaseMs(options) / 3, () => judgeNow(finals).willsLost.length === 0);
    await sleep(500);
    const verdict = judgeNow(finals);
    return {
      options,
      verdict,
      journal,
      startedAt,
      faults: {
        storeCalls: store?.calls ?? 0,
        postCalls: posts.posts,
        store: store?.counts() ?? { 'sdk-retry': 0, 'lost-response': 0, before: 0 },
        storeByCommand: store?.countsByCommand() ?? {},
        posts: posts.counts(),
        droppedDisconnects: broker.droppedDisconnects(),
        reconnects: chaos.reduce((sum, c) => ({ abrupt: sum.abrupt + c.forced.abrupt, graceful: sum.graceful + c.forced.graceful }), { abrupt: 0, graceful: 0 }),
      },
      deadLetters: broker.deadLetters().length,
      elapsedMs: Date.now() - began,
    };
  } finally {
    for (const t of timers) clearTimeout(t);
    await Promise.all(clients.map((c) => c.mqtt.endAsync(true).catch(() => undefined)));
    await stop();
  }
}

/**
 * Faults off, every client offline: a message queued for every persistent session (`final:1`),
 * every client connects again, then a message everyone is subscribed for (`final:2`).
 */
async function finalCheck(broker: LocalBroker, journal: Journal, chaos: ChaosClient[], deadline: number): Promise<FinalCheck[]> {
  const publisher = new ChaosClient({ url: broker.url, clientId: 'chaos-final', version: 5, clean: true, filter: 'final-none', subscriber: false, will: false }, journal);
  try {
    await publisher.ready();
    publisher.publish(1, SMALL_BYTES);
    await until(deadline, () => journal.publishes.at(-1)?.ackedAt !== undefined);
    for (const c of chaos) c.mqtt.reconnect();
    const connected = await Promise.all(chaos.map((c) => c.ready(Math.max(1000, deadline - Date.now())).then(() => true, () => false)));
    publisher.publish(1, SMALL_BYTES);
    const got = (id: string, c: ChaosClient) => journal.receipts.some((r) => r.subscriber === c.id && r.messageId === id);
    const owed = (c: ChaosClient) => (c.clean ? ['chaos-final:2'] : ['chaos-final:1', 'chaos-final:2']);
    await until(deadline, () => chaos.every((c, i) => !connected[i] || owed(c).every((id) => got(id, c))));
    return chaos.map((c, i) => ({ clientId: c.id, connected: connected[i], queueReceived: owed(c).every((id) => got(id, c)) }));
  } finally {
    await publisher.mqtt.endAsync(true).catch(() => undefined);
  }
}

/** The total rate shared evenly by the kinds switched on. */
function split<K extends string>(kinds: readonly K[], total: number): Partial<Record<K, number>> {
  return Object.fromEntries(kinds.map((k) => [k, total / kinds.length])) as Partial<Record<K, number>>;
}

async function until(deadline: number, done: () => boolean): Promise<boolean> {
  while (Date.now() < deadline) {
    if (done()) return true;
    await sleep(200);
  }
  return done();
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The frames of chaos clients the gateway dropped after closing their connection, read. */
function lateFrames(broker: LocalBroker): LateFrame[] {
  const frames: LateFrame[] = [];
  for (const f of broker.framesDroppedAfterClose()) {
    if (f.userAgent?.startsWith(CHAOS_USER_AGENT) !== true) continue;
    const clientId = f.userAgent.slice(CHAOS_USER_AGENT.length);
    frames.push({ clientId, at: f.at, ...(f.text !== undefined ? { disconnect: carriesDisconnect(f.text) } : {}) });
  }
  return frames;
}

/**
 * Whether a frame's text (base64 of whole MQTT packets, maybe numbered `<seq>:`, docs/TRANSPORT.md)
 * holds a DISCONNECT: its packets' fixed headers walked. Undefined if it cannot be read so.
 */
export function carriesDisconnect(text: string): boolean | undefined {
  const base64 = text.replace(/^\d+:/, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(base64)) return undefined;
  const bytes = Buffer.from(base64, 'base64');
  let off = 0;
  while (off < bytes.length) {
    const type = bytes[off] >> 4;
    let length = 0;
    let shift = 0;
    let i = off + 1;
    for (;;) {
      if (i >= bytes.length || shift > 21) return undefined;
      const b = bytes[i++];
      length += (b & 0x7f) << shift;
      shift += 7;
      if ((b & 0x80) === 0) break;
    }
    if (type === 14) return true;
    off = i + length;
  }
  return off === bytes.length ? false : undefined;
}
