/**
 * `npm run bench:local-memory`: local mode on the memory store (`stratus dev --store memory`)
 * beside Aedes (in memory, binary WebSocket on loopback) in the same run, for issue 14:
 *   - connect storm: N clients (default 1,000) connect at once; the time until every one has its
 *     CONNACK, and the broker process's CPU time over that window (the bench's clients share one
 *     process and can be the bottleneck; the broker's CPU is its own cost). Run twice: the first
 *     storm after the broker starts (cold: V8 still compiling the paths) and a second one;
 *   - fan-in: 100 publishers send M QoS 0 messages each (default 50) to one subscriber; messages
 *     per second, from the first publish to the last message received.
 * Stratus runs as `stratus dev --store memory` does (ordered ingress, 4 consumers, lenient mode,
 * clients through the Stratus transport); the figures are local-mode figures, not Lambda's.
 * Each broker runs in a child process of its own (./lib/local-memory-broker.ts), the clients in
 * this one, so that the clients' own work (1,000 MQTT.js clients and WebSocket handshakes) does
 * not queue on the broker's event loop. `--json`: one JSON line per row.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { connectAsync } from '../lib/client';
import { integerOption, parseBenchArgs } from './lib/options';
import { markdownTable } from './lib/timing';

const USAGE = `Usage: npm run bench:local-memory -- [--json] [--clients N] [--messages M] [--ingress ordered|direct]
  --json         one JSON object per row (name, clients, connectSeconds, connectBrokerCpuSeconds,
                 warmConnectSeconds, warmConnectBrokerCpuSeconds, messages, fanInPerSecond)
  --clients N    clients of the connect storm (default 1000)
  --messages M   QoS 0 messages per publisher of the 100 -> 1 fan-in (default 50)
  --ingress M    Stratus's ingress: ordered (default, as stratus dev) or direct`;
const options = parseBenchArgs(USAGE, {
  json: { type: 'boolean', default: false },
  clients: { type: 'string', default: '1000' },
  messages: { type: 'string', default: '50' },
  ingress: { type: 'string', default: 'ordered' },
});
if (options.ingress !== 'ordered' && options.ingress !== 'direct') {
  console.error(`--ingress must be ordered or direct, got ${JSON.stringify(options.ingress)}\n\n${USAGE}`);
  process.exit(2);
}
const INGRESS = options.ingress;
const CLIENTS = integerOption(USAGE, 'clients', options.clients, 1);
const MESSAGES = integerOption(USAGE, 'messages', options.messages, 1);
const PUBLISHERS = 100;

type Open = (options: IClientOptions) => Promise<MqttClient>;

interface Target {
  readonly name: string;
  readonly open: Open;
  readonly broker: BrokerProcess;
  stop(): Promise<void>;
}

/** A broker in a child process of its own (./lib/local-memory-broker.ts). */
interface BrokerProcess {
  readonly url: string;
  readonly child: ChildProcess;
  /** The broker process's CPU time so far (user + system), in milliseconds. */
  cpuMs(): Promise<number>;
}

/** Starts the broker process; resolves once it prints its URL. */
async function brokerProcess(kind: 'aedes' | 'stratus'): Promise<BrokerProcess> {
  // BENCH_BROKER_NODE_ARGS: Node flags for the broker process, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`.
  const nodeArgs = (process.env.BENCH_BROKER_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', new URL('./lib/local-memory-broker.ts', import.meta.url).pathname, kind, INGRESS], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const waiting: Array<(answer: Record<string, unknown>) => void> = [];
  createInterface({ input: child.stdout as NonNullable<typeof child.stdout> }).on('line', (line) => {
    if (line.startsWith('{')) waiting.shift()?.(JSON.parse(line) as Record<string, unknown>);
  });
  const next = () => new Promise<Record<string, unknown>>((resolve) => waiting.push(resolve));
  const exited = once(child, 'exit').then(([code]) => {
    throw new Error(`the ${kind} broker exited with ${String(code)} before listening`);
  });
  const { url } = (await Promise.race([next(), exited])) as { url: string };
  return {
    url,
    child,
    async cpuMs() {
      const answer = next();
      child.stdin?.write('cpu\n');
      return ((await answer) as { cpuMs: number }).cpuMs;
    },
  };
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = once(child, 'exit');
  child.stdin?.end();
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

async function stratusTarget(): Promise<Target> {
  const broker = await brokerProcess('stratus');
  return {
    name: `Stratus, memory store, ${INGRESS} ingress`,
    open: (o) => connectAsync(broker.url, { protocolVersion: 4, reconnectPeriod: 0, ...o }),
    broker,
    stop: () => stopProcess(broker.child),
  };
}

async function aedesTarget(): Promise<Target> {
  const broker = await brokerProcess('aedes');
  return {
    name: 'Aedes',
    open: (o) => mqtt.connectAsync(broker.url, { protocolVersion: 4, reconnectPeriod: 0, ...o }),
    broker,
    stop: () => stopProcess(broker.child),
  };
}

async function endAll(clients: readonly MqttClient[]): Promise<void> {
  await Promise.all(clients.map((c) => c.endAsync(true)));
}

interface Storm {
  /** Until all `CLIENTS` clients, connecting at once, have their CONNACK. */
  readonly ms: number;
  /** The broker process's CPU time over that window. */
  readonly brokerCpuMs: number;
}

async function connectStorm(target: Target, round: string): Promise<Storm> {
  const cpuBefore = await target.broker.cpuMs();
  const started = performance.now();
  const clients = await Promise.all(Array.from({ length: CLIENTS }, (_, i) => target.open({ clientId: `storm-${round}-${i}` })));
  const ms = performance.now() - started;
  const brokerCpuMs = (await target.broker.cpuMs()) - cpuBefore;
  await endAll(clients);
  return { ms, brokerCpuMs };
}

/** Messages per second received by one subscriber from 100 publishers. */
async function fanIn(target: Target): Promise<number> {
  const subscriber = await target.open({ clientId: 'fan-in-sink' });
  await subscriber.subscribeAsync('fan-in/+', { qos: 0 });
  const publishers = await Promise.all(Array.from({ length: PUBLISHERS }, (_, i) => target.open({ clientId: `fan-in-${i}` })));
  const total = PUBLISHERS * MESSAGES;
  let received = 0;
  const done = new Promise<void>((resolve) => {
    subscriber.on('message', () => {
      if (++received === total) resolve();
    });
  });
  const started = performance.now();
  await Promise.all(publishers.map(async (p, i) => {
    for (let m = 0; m < MESSAGES; m++) await p.publishAsync(`fan-in/${i}`, `m${m}`, { qos: 0 });
  }));
  await done;
  const seconds = (performance.now() - started) / 1000;
  await endAll([...publishers, subscriber]);
  return total / seconds;
}

function seconds(ms: number): number {
  return Number((ms / 1000).toFixed(3));
}

async function main(): Promise<void> {
  const rows: string[][] = [];
  for (const start of [aedesTarget, stratusTarget]) {
    const target = await start();
    try {
      const cold = await connectStorm(target, 'cold');
      const warm = await connectStorm(target, 'warm');
      const perSecond = await fanIn(target);
      if (options.json) {
        const row = {
          name: target.name,
          clients: CLIENTS,
          connectSeconds: seconds(cold.ms),
          connectBrokerCpuSeconds: seconds(cold.brokerCpuMs),
          warmConnectSeconds: seconds(warm.ms),
          warmConnectBrokerCpuSeconds: seconds(warm.brokerCpuMs),
          messages: PUBLISHERS * MESSAGES,
          fanInPerSecond: Math.round(perSecond),
        };
        console.log(JSON.stringify(row));
      }
      const storm = (s: Storm) => `${(s.ms / 1000).toFixed(2)} s (broker CPU ${(s.brokerCpuMs / 1000).toFixed(2)} s)`;
      rows.push([target.name, storm(cold), storm(warm), `${Math.round(perSecond)}`]);
    } finally {
      await target.stop();
    }
  }
  if (!options.json) console.log(markdownTable(['Broker', `${CLIENTS} connections to CONNACK, first storm`, 'second storm', `100 -> 1 fan-in, msg/s (${PUBLISHERS * MESSAGES} QoS 0)`], rows));
}

await main();
