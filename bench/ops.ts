/**
 * `npm run bench:ops`: what each MQTT operation costs on Stratus, measured on local strict mode
 * (the very handlers Lambda runs, on DynamoDB Local), beside Aedes in the same run.
 *
 * For each operation it prints the DynamoDB requests and capacity units the store adapters
 * reported (ReturnConsumedCapacity), the PostToConnection calls, and the median latency of
 * Stratus and of Aedes (in memory, binary WebSocket on loopback). The latency is local-mode
 * latency, DynamoDB Local included: a relative figure, not Lambda latency. Requests, units and
 * posts are what users pay for on AWS (docs/COST.md). Everything runs MQTT 3.1.1, which Aedes
 * speaks too; the counts are the same for MQTT 5.
 *
 * Options (see USAGE): --json (one JSON object per row), --rounds N (default 12; the
 * 100-subscriber rows use a third of it).
 */
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { connectAsync } from '../lib/client';
import type { Delivery } from '../lib/gateway/delivery';
import { startLocalBroker } from '../lib/local/local-broker';
import { silentLogger } from '../lib/log';
import { CountingMeter } from '../lib/store/meter';
import { hashPassword } from '../lib/auth/password';
import { DynamoAuthStore } from '../lib/store/dynamodb/auth-store';
import { createDynamoDbClient } from '../lib/store/dynamodb/client';
import { MeteredDynamoDb } from '../lib/store/dynamodb/metered';
import { startAedes } from './lib/aedes';
import { integerOption, parseBenchArgs } from './lib/options';

const USAGE = `Usage: npm run bench:ops -- [--json] [--rounds N] [--ingress ordered|direct]
  --json        one JSON object per row, instead of a Markdown table
  --rounds N    samples per operation (default 12; the 100-subscriber rows use a third of it)
  --ingress M   ordered (default: frames through the emulated SQS FIFO queue) or direct`;
const options = parseBenchArgs(USAGE, {
  json: { type: 'boolean', default: false },
  rounds: { type: 'string', default: '12' },
  ingress: { type: 'string', default: 'ordered' },
});
if (options.ingress !== 'ordered' && options.ingress !== 'direct') {
  console.error(`--ingress must be ordered or direct, got ${JSON.stringify(options.ingress)}\n\n${USAGE}`);
  process.exit(2);
}
const ingress: 'ordered' | 'direct' = options.ingress;
const json = options.json;
const rounds = integerOption(USAGE, 'rounds', options.rounds, 1);

type Open = (options: IClientOptions) => Promise<MqttClient>;

interface Sample {
  ms: number;
  requests: number;
  readUnits: number;
  writeUnits: number;
  posts: number;
  byApi: Record<string, number>;
}

interface Scenario {
  readonly name: string;
  readonly rounds: number;
  /** Prepares, then returns the step to measure (it resolves when the operation is complete). */
  setup(open: Open, round: number): Promise<{ step: () => Promise<unknown>; cleanup: () => Promise<void> }>;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
let unique = 0;
const id = (p: string) => `${p}-${process.pid}-${unique++}`;

function received(clients: MqttClient[], count = 1): Promise<void> {
  return Promise.all(
    clients.map(
      (c) =>
        new Promise<void>((resolve) => {
          let n = 0;
          const on = () => {
            if (++n < count) return;
            c.off('message', on);
            resolve();
          };
          c.on('message', on);
        }),
    ),
  ).then(() => undefined);
}

async function subscribers(open: Open, n: number, topic: string, options: IClientOptions = {}): Promise<MqttClient[]> {
  const clients: MqttClient[] = [];
  for (let i = 0; i < n; i += 25) {
    const batch = await Promise.all(Array.from({ length: Math.min(25, n - i) }, () => open({ clientId: id('sub'), ...options })));
    for (const c of batch) await c.subscribeAsync(topic, { qos: 2 });
    clients.push(...batch);
  }
  return clients;
}

const endAll = async (clients: MqttClient[]) => {
  await Promise.all(clients.map((c) => c.endAsync()));
};

function publishTo(n: number, qos: 0 | 1 | 2): Scenario {
  return {
    name: `PUBLISH QoS ${qos} to ${n} online subscriber${n > 1 ? 's' : ''}`,
    rounds: n > 1 ? Math.max(3, Math.floor(rounds / 3)) : rounds,
    async setup(open) {
      const topic = `plant/${id('line')}/telemetry`;
      const subs = await subscribers(open, n, topic);
      const pub = await open({ clientId: id('pub') });
      return {
        step: async () => {
          const all = received(subs);
          await pub.publishAsync(topic, 'x'.repeat(64), { qos });
          await all;
        },
        cleanup: () => endAll([...subs, pub]),
      };
    },
  };
}

/** The broker's auth table, set by main(): users for the CONNECT-with-password and ACL rows. */
let auth: DynamoAuthStore | undefined;
const BENCH_GROUP = 'bench';

/** A user with a password, member of BENCH_GROUP (allowed everything by one rule). */
async function benchUser(): Promise<IClientOptions> {
  const name = id('user');
  await auth!.createUser({ name, passwordHash: await hashPassword('bench-pw'), groups: [BENCH_GROUP], createdAt: Date.now() });
  return { username: name, password: 'bench-pw' };
}

const scenarios: Scenario[] = [
  {
    name: 'CONNECT (clean) + CONNACK',
    rounds,
    async setup(open) {
      let client: MqttClient | undefined;
      return { step: async () => (client = await open({ clientId: id('c') })), cleanup: async () => void (await client?.endAsync()) };
    },
  },
  {
    name: 'CONNECT (persistent, resumed) + CONNACK',
    rounds,
    async setup(open) {
      const clientId = id('p');
      await (await open({ clientId, clean: false })).endAsync();
      let client: MqttClient | undefined;
      return { step: async () => (client = await open({ clientId, clean: false })), cleanup: async () => void (await client?.endAsync()) };
    },
  },
  {
    name: 'CONNECT with username and password (user in 1 group) + CONNACK',
    rounds,
    async setup(open) {
      const credentials = await benchUser();
      let client: MqttClient | undefined;
      return { step: async () => (client = await open({ clientId: id('u'), ...credentials })), cleanup: async () => void (await client?.endAsync()) };
    },
  },
  {
    name: 'PUBLISH QoS 1 to 1 online subscriber, publisher checked by ACL rules',
    rounds,
    async setup(open) {
      const topic = `plant/${id('line')}/telemetry`;
      const subs = await subscribers(open, 1, topic);
      const pub = await open({ clientId: id('pub'), ...(await benchUser()) });
      return {
        step: async () => {
          const all = received(subs);
          await pub.publishAsync(topic, 'x'.repeat(64), { qos: 1 });
          await all;
        },
        cleanup: () => endAll([...subs, pub]),
      };
    },
  },
  {
    name: 'PINGREQ + PINGRESP',
    rounds,
    async setup(open) {
      const client = await open({ clientId: id('ping') });
      const ping = () =>
        new Promise<void>((resolve) => {
          const on = (p: { cmd: string }) => {
            if (p.cmd !== 'pingresp') return;
            client.off('packetreceive', on);
            resolve();
          };
          client.on('packetreceive', on);
          (client as unknown as { _sendPacket(p: object): void })._sendPacket({ cmd: 'pingreq' });
        });
      return { step: ping, cleanup: () => client.endAsync().then(() => undefined) };
    },
  },
  {
    name: 'SUBSCRIBE, no retained match',
    rounds,
    async setup(open) {
      const client = await open({ clientId: id('s') });
      return { step: () => client.subscribeAsync(`plant/${id('x')}/+`, { qos: 1 }), cleanup: () => client.endAsync().then(() => undefined) };
    },
  },
  {
    name: 'SUBSCRIBE, 1 retained match',
    rounds,
    async setup(open) {
      const topic = `plant/${id('r')}/setpoint`;
      const pub = await open({ clientId: id('rp') });
      await pub.publishAsync(topic, '42', { qos: 1, retain: true });
      const client = await open({ clientId: id('s') });
      return {
        step: async () => {
          const got = received([client]);
          await client.subscribeAsync(topic, { qos: 1 });
          await got;
        },
        cleanup: () => endAll([client, pub]),
      };
    },
  },
  publishTo(1, 0),
  publishTo(1, 1),
  publishTo(1, 2),
  publishTo(100, 0),
  publishTo(100, 1),
  publishTo(100, 2),
  {
    name: 'PUBLISH QoS 1 to 1 offline persistent session',
    rounds,
    async setup(open) {
      const topic = `plant/${id('o')}/cmd`;
      const [sub] = await subscribers(open, 1, topic, { clean: false });
      await sub.endAsync();
      const pub = await open({ clientId: id('op') });
      return { step: () => pub.publishAsync(topic, 'queued', { qos: 1 }), cleanup: () => pub.endAsync().then(() => undefined) };
    },
  },
  {
    name: 'DISCONNECT + $disconnect',
    rounds,
    async setup(open) {
      const client = await open({ clientId: id('d') });
      return { step: () => client.endAsync(), cleanup: async () => undefined };
    },
  },
];

/** Waits until no DynamoDB request and no post happened for a while: the operation's aftermath is done. */
async function quiet(meter: CountingMeter, posts: () => number): Promise<void> {
  let last = -1;
  for (let stable = 0; stable < 6; ) {
    const now = meter.snapshot().requests + posts();
    stable = now === last ? stable + 1 : 0;
    last = now;
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function main(): Promise<void> {
  const meter = new CountingMeter();
  let posts = 0;
  const countPosts = (delivery: Delivery): Delivery => ({
    send: async (...a) => {
      const outcome = await delivery.send(...a);
      posts += outcome.posted;
      return outcome;
    },
    close: (connectionId) => delivery.close(connectionId),
    info: (connectionId) => delivery.info(connectionId),
  });
  const broker = await startLocalBroker({ gateway: { port: 0, strict: true, ingress }, log: silentLogger, meter, sweepIntervalMs: 0, wrapDelivery: countPosts });
  auth = new DynamoAuthStore(new MeteredDynamoDb(createDynamoDbClient({ endpoint: broker.dynamodbEndpoint })), broker.tables.auth);
  await auth.createGroup({ name: BENCH_GROUP, createdAt: Date.now() });
  await auth.addRule({ kind: 'group', name: BENCH_GROUP }, { id: 'all', effect: 'allow', actions: ['publish', 'subscribe'], pattern: '#' });
  const aedes = await startAedes();
  const stratusOpen: Open = (o) => connectAsync(broker.url, { protocolVersion: 4, reconnectPeriod: 0, ...o });
  const aedesOpen: Open = (o) => mqtt.connectAsync(aedes.url, { protocolVersion: 4, reconnectPeriod: 0, ...o });
  const rows = [];
  try {
    for (const scenario of scenarios) {
      const samples: Sample[] = [];
      const reference: number[] = [];
      for (let i = 0; i < scenario.rounds + 1; i++) {
        const s = await scenario.setup(stratusOpen, i);
        await quiet(meter, () => posts);
        meter.reset();
        posts = 0;
        const t = performance.now();
        await s.step();
        const ms = performance.now() - t;
        await quiet(meter, () => posts);
        const usage = meter.take();
        const byApi = Object.fromEntries(Object.entries(usage.byOperation).map(([k, v]) => [k, v.requests]));
        if (i > 0) samples.push({ ms, requests: usage.requests, readUnits: usage.readUnits, writeUnits: usage.writeUnits, posts, byApi });
        await s.cleanup();
        const a = await scenario.setup(aedesOpen, i);
        const ta = performance.now();
        await a.step();
        if (i > 0) reference.push(performance.now() - ta);
        await a.cleanup();
      }
      rows.push(summarize(scenario.name, samples, reference));
      if (!json) process.stderr.write(`  ${scenario.name}: done\n`);
    }
  } finally {
    await aedes.stop();
    await broker.stop();
  }
  print(rows);
}

function summarize(operation: string, samples: Sample[], reference: number[]) {
  const mean = (f: (s: Sample) => number) => samples.reduce((n, s) => n + f(s), 0) / samples.length;
  const byApi: Record<string, number> = {};
  for (const s of samples) for (const [k, v] of Object.entries(s.byApi)) byApi[k] = (byApi[k] ?? 0) + v / samples.length;
  return {
    operation,
    dynamoRequests: mean((s) => s.requests),
    readUnits: mean((s) => s.readUnits),
    writeUnits: mean((s) => s.writeUnits),
    posts: mean((s) => s.posts),
    requestsByApi: byApi,
    stratusMedianMs: median(samples.map((s) => s.ms)),
    referenceMedianMs: median(reference),
  };
}

function print(rows: ReturnType<typeof summarize>[]): void {
  if (json) {
    for (const row of rows) process.stdout.write(JSON.stringify({ ...row, ingress }) + '\n');
    return;
  }
  const f = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(2));
  const lines = [
    `Node ${process.version}, MQTT 3.1.1 via the Stratus transport (strict local mode) vs Aedes (in memory)`,
    '| Operation | DynamoDB requests | RRU | WRU | Posts | Requests by API | Stratus median ms | Aedes median ms |',
    '|---|--:|--:|--:|--:|---|--:|--:|',
    ...rows.map(
      (r) =>
        `| ${r.operation} | ${f(r.dynamoRequests)} | ${f(r.readUnits)} | ${f(r.writeUnits)} | ${f(r.posts)} | ${Object.entries(r.requestsByApi)
          .map(([k, v]) => `${k} ${f(v)}`)
          .join(', ')} | ${r.stratusMedianMs.toFixed(1)} | ${r.referenceMedianMs.toFixed(1)} |`,
    ),
  ];
  process.stdout.write(lines.join('\n') + '\n');
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:ops failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
