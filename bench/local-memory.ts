/**
 * `npm run bench:local-memory`: local mode on the memory store (`stratus dev --store memory`)
 * beside Aedes (in memory, binary WebSocket on loopback) in the same run, for issue 14:
 *   - connect storm: N clients (default 1,000) connect at once; the time until every one has its
 *     CONNACK;
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
  --json         one JSON object per row (name, clients, connectSeconds, messages, fanInPerSecond)
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
  stop(): Promise<void>;
}

/** The broker in a child process (./lib/local-memory-broker.ts), once it prints its URL. */
async function brokerProcess(kind: 'aedes' | 'stratus'): Promise<{ url: string; child: ChildProcess }> {
  // BENCH_BROKER_NODE_ARGS: Node flags for the broker process, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`.
  const nodeArgs = (process.env.BENCH_BROKER_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', new URL('./lib/local-memory-broker.ts', import.meta.url).pathname, kind, INGRESS], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout as NonNullable<typeof child.stdout> });
  const exited = once(child, 'exit').then(([code]) => {
    throw new Error(`the ${kind} broker exited with ${String(code)} before listening`);
  });
  const listening = (async () => {
    for await (const line of lines) {
      if (line.startsWith('{')) return (JSON.parse(line) as { url: string }).url;
    }
    throw new Error(`the ${kind} broker printed no URL`);
  })();
  const url = await Promise.race([listening, exited]);
  return { url, child };
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
  const { url, child } = await brokerProcess('stratus');
  return {
    name: `Stratus, memory store, ${INGRESS} ingress`,
    open: (o) => connectAsync(url, { protocolVersion: 4, reconnectPeriod: 0, ...o }),
    stop: () => stopProcess(child),
  };
}

async function aedesTarget(): Promise<Target> {
  const { url, child } = await brokerProcess('aedes');
  return {
    name: 'Aedes',
    open: (o) => mqtt.connectAsync(url, { protocolVersion: 4, reconnectPeriod: 0, ...o }),
    stop: () => stopProcess(child),
  };
}

async function endAll(clients: readonly MqttClient[]): Promise<void> {
  await Promise.all(clients.map((c) => c.endAsync(true)));
}

/** Milliseconds until all `CLIENTS` clients, connecting at once, have their CONNACK. */
async function connectStorm(target: Target): Promise<number> {
  const started = performance.now();
  const clients = await Promise.all(Array.from({ length: CLIENTS }, (_, i) => target.open({ clientId: `storm-${i}` })));
  const ms = performance.now() - started;
  await endAll(clients);
  return ms;
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

async function main(): Promise<void> {
  const rows: string[][] = [];
  for (const start of [aedesTarget, stratusTarget]) {
    const target = await start();
    try {
      const stormMs = await connectStorm(target);
      const perSecond = await fanIn(target);
      if (options.json) {
        const row = { name: target.name, clients: CLIENTS, connectSeconds: Number((stormMs / 1000).toFixed(3)), messages: PUBLISHERS * MESSAGES, fanInPerSecond: Math.round(perSecond) };
        console.log(JSON.stringify(row));
      }
      rows.push([target.name, `${(stormMs / 1000).toFixed(2)} s`, `${Math.round(perSecond)}`]);
    } finally {
      await target.stop();
    }
  }
  if (!options.json) console.log(markdownTable(['Broker', `${CLIENTS} connections to CONNACK`, `100 -> 1 fan-in, msg/s (${PUBLISHERS * MESSAGES} QoS 0)`], rows));
}

await main();
