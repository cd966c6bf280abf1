/**
 * `npm run bench:ops`: what each MQTT operation costs on Stratus, measured on local mode in
 * strict mode (the very handlers Lambda runs, on DynamoDB Local), beside Aedes in the same run.
 *
 * For each operation it prints the DynamoDB requests and capacity units the store adapters
 * reported (ReturnConsumedCapacity), and the median latency of Stratus and of Aedes (in memory,
 * over a binary WebSocket on loopback). The latency is local-mode latency, DynamoDB Local
 * included: read it as a relative figure, not as Lambda latency. The requests and units are what
 * users pay for on AWS (docs/COST.md).
 *
 * Options: --json (one JSON object per row), --rounds N (default 30).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Aedes } from 'aedes';
import mqtt, { type MqttClient } from 'mqtt';
import { WebSocketServer, createWebSocketStream } from 'ws';
import { connectAsync } from '../lib/client';
import { startLocalBroker } from '../lib/runtime/local-broker';
import { silentLogger } from '../lib/runtime/log';
import { CountingMeter, type MeterSnapshot } from '../lib/store/meter';

const args = process.argv.slice(2);
const json = args.includes('--json');
const rounds = Number(args[args.indexOf('--rounds') + 1]) || 30;

interface Sample {
  ms: number;
  usage: MeterSnapshot;
}

interface Row {
  operation: string;
  dynamoRequests: number;
  readUnits: number;
  writeUnits: number;
  requestsByOperation: Record<string, number>;
  stratusMedianMs: number;
  referenceMedianMs: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function until(check: () => boolean, limitMs = 5000): Promise<void> {
  const end = Date.now() + limitMs;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 5));
  }
}

function pingOnce(client: MqttClient): Promise<void> {
  return new Promise((resolve) => {
    const onPacket = (p: { cmd: string }) => {
      if (p.cmd !== 'pingresp') return;
      client.off('packetreceive', onPacket);
      resolve();
    };
    client.on('packetreceive', onPacket);
    (client as unknown as { _sendPacket(p: object): void })._sendPacket({ cmd: 'pingreq' });
  });
}

/** One round of connect, ping, disconnect; `measure` wraps each step. */
async function round(
  open: () => Promise<MqttClient>,
  measure: <T>(step: () => Promise<T>, settled?: (u: MeterSnapshot) => boolean) => Promise<[T, Sample]>,
): Promise<Record<string, Sample>> {
  const [client, connect] = await measure(open);
  const [, ping] = await measure(() => pingOnce(client));
  const [, disconnect] = await measure(
    () => client.endAsync(),
    (u) => (u.byOperation.DeleteItem?.requests ?? 0) > 0,
  );
  return { 'CONNECT (clean) + CONNACK': connect, 'PINGREQ + PINGRESP': ping, 'DISCONNECT + $disconnect': disconnect };
}

async function startAedes(): Promise<{ url: string; stop(): Promise<void> }> {
  const aedes = await Aedes.createBroker();
  const server = createServer();
  const wss = new WebSocketServer({ server });
  wss.on('connection', (ws) => aedes.handle(createWebSocketStream(ws) as never));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}/mqtt`,
    stop: async () => {
      wss.close();
      await new Promise<void>((r) => server.close(() => r()));
      await new Promise<void>((r) => aedes.close(() => r()));
    },
  };
}

async function main(): Promise<void> {
  const meter = new CountingMeter();
  const broker = await startLocalBroker({ gateway: { port: 0, strict: true }, log: silentLogger, meter, sweepIntervalMs: 0 });
  const aedes = await startAedes();
  const stratus: Record<string, Sample[]> = {};
  const reference: Record<string, number[]> = {};
  try {
    for (let i = 0; i < rounds + 3; i++) {
      const warm = i < 3;
      const s = await round(
        () => connectAsync(broker.url, { protocolVersion: 4, clientId: `bench-${i}`, reconnectPeriod: 0 }),
        async (step, settled) => {
          meter.reset();
          const t = performance.now();
          const value = await step();
          const ms = performance.now() - t;
          if (settled) await until(() => settled(meter.snapshot()));
          return [value, { ms, usage: meter.take() }];
        },
      );
      const a = await round(
        () => mqtt.connectAsync(aedes.url, { protocolVersion: 4, clientId: `ref-${i}`, reconnectPeriod: 0 }),
        async (step) => {
          const t = performance.now();
          const value = await step();
          return [value, { ms: performance.now() - t, usage: meter.snapshot() }];
        },
      );
      if (warm) continue;
      for (const [op, sample] of Object.entries(s)) (stratus[op] ??= []).push(sample);
      for (const [op, sample] of Object.entries(a)) (reference[op] ??= []).push(sample.ms);
    }
  } finally {
    await aedes.stop();
    await broker.stop();
  }
  const rows: Row[] = Object.entries(stratus).map(([operation, samples]) => {
    const mean = (f: (u: MeterSnapshot) => number) => samples.reduce((n, s) => n + f(s.usage), 0) / samples.length;
    const byOp: Record<string, number> = {};
    for (const s of samples) for (const [op, t] of Object.entries(s.usage.byOperation)) byOp[op] = (byOp[op] ?? 0) + t.requests / samples.length;
    return {
      operation,
      dynamoRequests: mean((u) => u.requests),
      readUnits: mean((u) => u.readUnits),
      writeUnits: mean((u) => u.writeUnits),
      requestsByOperation: byOp,
      stratusMedianMs: median(samples.map((s) => s.ms)),
      referenceMedianMs: median(reference[operation]),
    };
  });
  print(rows);
}

function print(rows: Row[]): void {
  if (json) {
    for (const row of rows) process.stdout.write(JSON.stringify(row) + '\n');
    return;
  }
  const lines = [
    `Node ${process.version}, ${rounds} rounds, MQTT 3.1.1 (Aedes has no MQTT 5) via the Stratus transport (strict local mode) vs Aedes (in memory)`,
    '| Operation | DynamoDB requests | Read units | Write units | Requests by API | Stratus median ms | Aedes median ms |',
    '|---|--:|--:|--:|---|--:|--:|',
    ...rows.map(
      (r) =>
        `| ${r.operation} | ${r.dynamoRequests.toFixed(2)} | ${r.readUnits.toFixed(2)} | ${r.writeUnits.toFixed(2)} | ${Object.entries(r.requestsByOperation)
          .map(([op, n]) => `${op} ${n.toFixed(2)}`)
          .join(', ')} | ${r.stratusMedianMs.toFixed(1)} | ${r.referenceMedianMs.toFixed(1)} |`,
    ),
  ];
  process.stdout.write(lines.join('\n') + '\n');
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:ops failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
