/**
 * SUBSCRIBE then PUBLISH without waiting for the SUBACK, as stock clients, scripts and gateways
 * do (issue 12): Debian's Paho (python3-paho-mqtt 1.6, paho_client.py's "own" command) through
 * the edge bridge to local strict mode with ordered ingress. Each round subscribes to its own
 * topic and publishes there at once; the client must always receive its own message, since the
 * broker handles the connection's packets in order. 100 rounds at QoS 0, 1 and 2, for MQTT 3.1.1
 * and 5.
 *
 * Paho reads the socket only in loop(), and the script calls no loop() between the two calls, so
 * every PUBLISH leaves before its SUBACK can have been read. The two are written 2 ms apart, so
 * they are most likely two TCP segments, which the bridge relays as two WebSocket messages, hence
 * two queue messages that only the queue's order keeps in order. Rounds go 20 at a time, Paho's
 * limit of messages in flight, so no PUBLISH waits in Paho's own queue.
 *
 * mosquitto's clients have no such test: mosquitto_pub never subscribes, mosquitto_sub never
 * publishes, and mosquitto_rr (request/response) publishes its request from the SUBACK callback,
 * i.e. only after the SUBACK came back, so it cannot send the two without waiting.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../../helpers/eventually';
import { startTestBroker, type TestBroker } from '../../helpers/local-broker';
import { ensureStockClients } from './debian';
import { killAll, paho, startTestBridge, topic, type Paho, type TestBridge } from './helpers';

const ROUNDS = 100;
const WINDOW = 20;
const GAP_MS = 2;
/** Paho's wait for one window's messages before it reports what came back. */
const WAIT_S = 10;

let broker: TestBroker;
let bridge: TestBridge;

beforeAll(async () => {
  await ensureStockClients();
  broker = await startTestBroker();
  bridge = await startTestBridge(broker.url);
}, 300_000);

afterEach(() => killAll());

afterAll(async () => {
  killAll();
  await bridge?.close();
  await broker?.dispose();
});

interface OwnEvent {
  readonly event: 'own';
  readonly qos: number;
  readonly rounds: number;
  /** Messages received, by round (absent: none). */
  readonly counts: Record<string, number>;
}

function ownEvent(client: Paho): OwnEvent | undefined {
  return client.proc.lines
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { event: string })
    .find((e): e is OwnEvent => e.event === 'own');
}

/** Starts a Paho client, runs the "own" command at `qos`, and answers the rounds missed and duplicated. */
async function ownRounds(version: 4 | 5, qos: 0 | 1 | 2): Promise<{ qos: number; missed: number[]; duplicated: number[] }> {
  const client = await paho(bridge, { protocol: version });
  client.send({ cmd: 'own', prefix: topic(`own-q${qos}`), rounds: ROUNDS, qos, window: WINDOW, gap_ms: GAP_MS, wait_s: WAIT_S });
  // Paho reports after its last window: bounded by its own waits (WAIT_S per window).
  await eventually(() => ownEvent(client) !== undefined, ((ROUNDS / WINDOW) * WAIT_S * 1000) / 50 + 200).catch(() => {
    throw new Error(`paho reported nothing; stderr ${client.proc.stderr}`);
  });
  const { counts } = ownEvent(client) as OwnEvent;
  client.send({ cmd: 'disconnect' });
  await client.proc.exited;
  const rounds = Array.from({ length: ROUNDS }, (_, r) => r);
  return { qos, missed: rounds.filter((r) => counts[r] === undefined), duplicated: rounds.filter((r) => (counts[r] ?? 0) > 1) };
}

describe.each([4, 5] as const)('Paho, protocol %i, through the bridge', (version) => {
  // The three QoS levels run side by side, each on its own connection (its own message group).
  it(`SUBSCRIBE then PUBLISH without waiting for SUBACK, ${ROUNDS} rounds at QoS 0, 1 and 2: the client always receives its own message, at QoS 2 once [MQTT-4.3.3-10]`, async () => {
    const results = await Promise.all(([0, 1, 2] as const).map((qos) => ownRounds(version, qos)));
    expect(results).toEqual([0, 1, 2].map((qos) => ({ qos, missed: [], duplicated: [] })));
  }, 120_000);
});
