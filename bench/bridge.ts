/**
 * `npm run bench:bridge`: how many API Gateway messages the edge bridge's micro-batching
 * (`--batch-ms`) saves on a telemetry workload, measured on local strict mode (the very handlers
 * Lambda runs, on DynamoDB Local).
 *
 * Stock MQTT.js clients (plain MQTT over TCP, as PLCs and gateways speak it) publish through an
 * in-process bridge. Two workloads, both at `--rate` readings per second per device on average:
 * - steady: one reading at a time, evenly spaced;
 * - burst: a PLC scan, `--burst` readings written back to back, `--rate / --burst` times a second.
 * For each QoS and batching window it counts the messages the bridge sent upstream (what API
 * Gateway meters inbound, and one Lambda invocation each) and the posts the broker made back
 * (PUBACKs for QoS 1; all replies of one invocation share one post). Nobody subscribes, so
 * fan-out posts, which batching does not change, are left out.
 *
 * Options (see USAGE): --devices N (50), --rate R readings/s per device (2), --seconds S (6),
 * --burst B (10), --windows a,b,c (0,100,500,2000), --json.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { bridgeConfigSchema, startBridge } from '../lib/client/bridge';
import type { Delivery } from '../lib/gateway/delivery';
import { startLocalBroker } from '../lib/local/local-broker';
import { silentLogger } from '../lib/log';
import { parseBenchArgs } from './lib/options';

const USAGE = `Usage: npm run bench:bridge -- [--devices N] [--rate R] [--seconds S] [--burst B] [--windows a,b,c] [--json]
  --devices N       devices publishing at once (default 50)
  --rate R          readings per second per device, on average (default 2)
  --seconds S       duration of each workload run (default 6)
  --burst B         readings per PLC scan in the burst workload (default 10)
  --windows a,b,c   batching windows to compare, --batch-ms of the bridge (default 0,100,500,2000)
  --json            one JSON object per row, instead of a Markdown table`;
const options = parseBenchArgs(USAGE, {
  devices: { type: 'string', default: '50' },
  rate: { type: 'string', default: '2' },
  seconds: { type: 'string', default: '6' },
  burst: { type: 'string', default: '10' },
  windows: { type: 'string', default: '0,100,500,2000' },
  json: { type: 'boolean', default: false },
});
const devices = Number(options.devices);
const rate = Number(options.rate);
const seconds = Number(options.seconds);
const burst = Number(options.burst);
const windows = options.windows.split(',').map(Number);
const json = options.json;

/** Prices from docs/COST.md: $1.00 per million messages; $0.233 per million invocations (256 MB, 10 ms). */
const MESSAGE_PRICE = 1.0;
const INVOCATION_PRICE = 0.233;

type Workload = 'steady' | 'burst';

interface Row {
  workload: Workload;
  qos: 0 | 1;
  batchMs: number;
  publishes: number;
  messagesUp: number;
  meteredUp: number;
  posts: number;
}

let posts = 0;
const countPosts = (delivery: Delivery): Delivery => ({
  ...delivery,
  send: (connectionId, bytes, mode) => {
    posts++;
    return delivery.send(connectionId, bytes, mode);
  },
  close: (connectionId) => delivery.close(connectionId),
  info: (connectionId) => delivery.info(connectionId),
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function run(brokerUrl: string, workload: Workload, qos: 0 | 1, batchMs: number): Promise<Row> {
  const bridge = await startBridge(
    bridgeConfigSchema.parse({ listen: ['mqtt://127.0.0.1:0'], upstream: brokerUrl, batchMs, check: false }),
    { log: silentLogger },
  );
  const url = `mqtt://127.0.0.1:${bridge.listeners[0].port}`;
  const clients: MqttClient[] = await Promise.all(
    Array.from({ length: devices }, (_, i) => mqtt.connectAsync(url, { clientId: `dev-${i}-${batchMs}-${qos}-${workload}`, reconnectPeriod: 0 })),
  );
  await sleep(200);
  const before = { ...bridge.stats.snapshot(), posts };
  const perWrite = workload === 'burst' ? burst : 1;
  const interval = (1000 * perWrite) / rate;
  const rounds = Math.max(1, Math.round((seconds * 1000) / interval));
  const pending: Promise<unknown>[] = [];
  await Promise.all(
    clients.map(async (client, d) => {
      await sleep((interval * d) / devices); // spread the devices over the interval
      for (let round = 0; round < rounds; round++) {
        for (let k = 0; k < perWrite; k++) {
          const reading = JSON.stringify({ tag: `t${k}`, v: Math.round(Math.random() * 1000) / 10, ts: Date.now() });
          pending.push(client.publishAsync(`plant/line-${d % 5}/dev-${d}/t${k}`, reading, { qos }));
        }
        await sleep(interval);
      }
    }),
  );
  await Promise.all(pending);
  await sleep(batchMs + 300);
  const after = { ...bridge.stats.snapshot(), posts };
  await Promise.all(clients.map((client) => client.endAsync()));
  await bridge.close();
  return {
    workload,
    qos,
    batchMs,
    publishes: devices * rounds * perWrite,
    messagesUp: after.messagesUp - before.messagesUp,
    meteredUp: after.meteredUp - before.meteredUp,
    posts: after.posts - before.posts,
  };
}

function perMillion(row: Row) {
  const scale = 1_000_000 / row.publishes;
  const messages = (row.meteredUp + row.posts) * scale;
  const invocations = row.messagesUp * scale;
  return { messages, invocations, dollars: (messages * MESSAGE_PRICE + invocations * INVOCATION_PRICE) / 1_000_000 };
}

async function main(): Promise<void> {
  const broker = await startLocalBroker({
    gateway: { port: 0, strict: true },
    tablePrefix: `bench-bridge-${process.pid}-`,
    log: silentLogger,
    sweepIntervalMs: 0,
    wrapDelivery: countPosts,
  });
  const rows: Row[] = [];
  try {
    for (const workload of ['steady', 'burst'] as const) {
      for (const qos of [0, 1] as const) {
        for (const batchMs of windows) rows.push(await run(broker.url, workload, qos, batchMs));
      }
    }
  } finally {
    await broker.stop();
  }
  if (json) {
    for (const row of rows) process.stdout.write(`${JSON.stringify({ ...row, perMillion: perMillion(row) })}\n`);
    return;
  }
  process.stdout.write(
    `${devices} devices, ${rate} readings/s each, ${seconds} s per run, bursts of ${burst}; local strict mode\n\n` +
      '| Workload | QoS | --batch-ms | Publishes | Messages up | Packets per message | Posts down | API Gateway messages per million publishes | $ per million publishes (messages + invocations) |\n' +
      '|---|--:|--:|--:|--:|--:|--:|--:|--:|\n',
  );
  for (const row of rows) {
    const cost = perMillion(row);
    process.stdout.write(
      `| ${row.workload} | ${row.qos} | ${row.batchMs} | ${row.publishes} | ${row.messagesUp} | ${(row.publishes / row.messagesUp).toFixed(1)} | ${row.posts} | ${Math.round(cost.messages).toLocaleString('en-US')} | $${cost.dollars.toFixed(2)} |\n`,
    );
  }
}

await main();
