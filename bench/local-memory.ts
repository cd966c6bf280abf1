/**
 * `npm run bench:local-memory`: local mode on the memory store (`stratus dev --store memory`)
 * beside Aedes (in memory, binary WebSocket on loopback) in the same run, for issue 14:
 *   - connect storm: N clients (default 1,000) connect at once; the time until every one has its
 *     CONNACK;
 *   - fan-in: 100 publishers send M QoS 0 messages each (default 50) to one subscriber; messages
 *     per second, from the first publish to the last message received.
 * Stratus runs as `stratus dev --store memory` does (ordered ingress, 4 consumers, lenient mode,
 * clients through the Stratus transport); the figures are local-mode figures, not Lambda's.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Aedes } from 'aedes';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { WebSocketServer, createWebSocketStream } from 'ws';
import { connectAsync } from '../lib/client';
import { startLocalBroker } from '../lib/local/local-broker';
import { memoryStorage } from '../lib/local/memory-store';
import { silentLogger } from '../lib/log';
import { integerOption, parseBenchArgs } from './lib/options';
import { markdownTable } from './lib/timing';

const USAGE = `Usage: npm run bench:local-memory -- [--clients N] [--messages M] [--ingress ordered|direct]
  --clients N    clients of the connect storm (default 1000)
  --messages M   QoS 0 messages per publisher of the 100 -> 1 fan-in (default 50)
  --ingress M    Stratus's ingress: ordered (default, as stratus dev) or direct`;
const options = parseBenchArgs(USAGE, {
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

async function stratusTarget(): Promise<Target> {
  const broker = await startLocalBroker({ storage: memoryStorage(), gateway: { port: 0, ingress: INGRESS }, log: silentLogger, sweepIntervalMs: 0 });
  return {
    name: `Stratus, memory store, ${INGRESS} ingress`,
    open: (o) => connectAsync(broker.url, { protocolVersion: 4, reconnectPeriod: 0, ...o }),
    stop: () => broker.stop(),
  };
}

async function aedesTarget(): Promise<Target> {
  const aedes = await Aedes.createBroker();
  const server = createServer();
  const wss = new WebSocketServer({ server });
  wss.on('connection', (ws) => aedes.handle(createWebSocketStream(ws) as never));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    name: 'Aedes',
    open: (o) => mqtt.connectAsync(`ws://127.0.0.1:${port}/mqtt`, { protocolVersion: 4, reconnectPeriod: 0, ...o }),
    stop: async () => {
      wss.close();
      await new Promise<void>((r) => server.close(() => r()));
      await new Promise<void>((r) => aedes.close(() => r()));
    },
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
      rows.push([target.name, `${(stormMs / 1000).toFixed(2)} s`, `${Math.round(perSecond)}`]);
    } finally {
      await target.stop();
    }
  }
  console.log(markdownTable(['Broker', `${CLIENTS} connections to CONNACK`, `100 -> 1 fan-in, msg/s (${PUBLISHERS * MESSAGES} QoS 0)`], rows));
}

await main();
