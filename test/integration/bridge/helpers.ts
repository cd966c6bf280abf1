/**
 * Helpers of the bridge tests: an in-process bridge in front of a strict local broker, MQTT.js
 * clients over the Stratus transport, and stock clients run as child processes (mosquitto_pub,
 * mosquitto_sub, a Paho script). Every process started here is killed by `killAll()`, which each
 * test file calls in afterEach, whether the test passed or not.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { IClientOptions, IPublishPacket, MqttClient } from 'mqtt';
import { bridgeConfigSchema, startBridge, type Bridge, type BridgeConfigInput } from '../../../lib/client/bridge';
import { connect } from '../../../lib/client';
import { createLogger } from '../../../lib/log';
import { eventually } from '../../helpers/eventually';
import { DEBIAN_PYTHON } from './debian';

export const PAHO_SCRIPT = fileURLToPath(new URL('./paho_client.py', import.meta.url));

export const uid = (prefix: string) => `${prefix}-${randomUUID().slice(0, 8)}`;
export const topic = (name: string) => `plant/${randomUUID().slice(0, 8)}/${name}`;
export const text = (p: IPublishPacket) => Buffer.from(p.payload).toString();

/** Waits for `check`, polling, for up to about 15 s: a bounded wait, not a timing assertion. */
export const until = (check: () => boolean) => eventually(check, 300);

export interface TestBridge extends Bridge {
  /** host and port of the first listener */
  readonly host: string;
  readonly port: number;
  /** Every log line the bridge wrote, parsed */
  readonly logs: Record<string, unknown>[];
  readonly rawLogs: string[];
}

/** A bridge listening on a free loopback port, relaying to `upstream`, logging into memory. */
export async function startTestBridge(upstream: string, config: Partial<BridgeConfigInput> = {}): Promise<TestBridge> {
  const rawLogs: string[] = [];
  const logs: Record<string, unknown>[] = [];
  const log = createLogger({ level: 'debug', write: (line) => (rawLogs.push(line), logs.push(JSON.parse(line))) });
  const bridge = await startBridge(
    bridgeConfigSchema.parse({ listen: ['mqtt://127.0.0.1:0'], upstream, ...config }),
    { log },
  );
  const first = new URL(bridge.listeners[0].url);
  return Object.assign(bridge, { host: first.hostname, port: bridge.listeners[0].port, logs, rawLogs });
}

const clients: MqttClient[] = [];

/** An MQTT.js client over the Stratus transport (base64 text frames), recording what it receives. */
export async function stratusClient(url: string, version: 4 | 5, options: IClientOptions = {}) {
  const c = connect(url, { protocolVersion: version, clientId: uid('js'), reconnectPeriod: 0, ...options });
  clients.push(c);
  const received: IPublishPacket[] = [];
  c.on('message', (_topic, _payload, packet) => received.push(packet));
  await new Promise<void>((resolve, reject) => {
    c.once('connect', () => resolve());
    c.once('error', reject);
  });
  return { c, received };
}

export function endClients(): void {
  for (const c of clients.splice(0)) c.end(true);
}

/** A child process whose stdout is collected line by line. */
export class Proc {
  readonly lines: string[] = [];
  stderr = '';
  readonly exited: Promise<number | null>;
  private partial = '';

  constructor(readonly child: ChildProcessWithoutNullStreams) {
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      const parts = (this.partial + chunk).split('\n');
      this.partial = parts.pop() ?? '';
      this.lines.push(...parts);
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => (this.stderr += chunk));
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  /** The first line matching `pattern`, once it appears. */
  async line(pattern: RegExp): Promise<string> {
    await until(() => this.lines.some((line) => pattern.test(line)));
    return this.lines.find((line) => pattern.test(line)) as string;
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
  }
}

const processes = new Set<Proc>();

export function spawnProc(command: string, args: string[]): Proc {
  const proc = new Proc(spawn(command, args, { stdio: 'pipe' }));
  processes.add(proc);
  void proc.exited.then(() => processes.delete(proc));
  return proc;
}

/** Kills every process still running. Call in afterEach and afterAll. */
export function killAll(): void {
  for (const proc of processes) proc.kill();
  processes.clear();
}

/** Runs mosquitto_pub to completion; resolves to its exit code (stderr kept on the Proc). */
export async function mosquittoPub(bridge: { host: string; port: number }, args: string[]): Promise<Proc> {
  const proc = spawnProc('mosquitto_pub', ['-h', bridge.host, '-p', String(bridge.port), ...args]);
  await proc.exited;
  return proc;
}

/**
 * Starts mosquitto_sub with debug output (-d), so the test can wait for its SUBACK; messages are
 * printed as `MSG <qos> <retain> <topic> <payload>`.
 */
export async function mosquittoSub(bridge: { host: string; port: number }, args: string[]): Promise<Proc> {
  // stdbuf: mosquitto_sub's stdout is a pipe here, and its debug lines would otherwise sit in a buffer.
  const command = ['mosquitto_sub', '-h', bridge.host, '-p', String(bridge.port), '-d', '-F', 'MSG %q %r %t %p', ...args];
  const proc = spawnProc('stdbuf', ['-oL', ...command]);
  await proc.line(/received SUBACK/);
  return proc;
}

export interface PahoOptions {
  readonly client_id?: string;
  readonly protocol?: 4 | 5;
  readonly clean?: boolean;
  readonly session_expiry?: number;
  readonly will?: { topic: string; payload: string; qos?: number; retain?: boolean };
}

export interface PahoEvent {
  readonly event: 'connected' | 'subscribed' | 'published' | 'message' | 'disconnected';
  readonly [field: string]: unknown;
}

/** The Paho script (paho_client.py) under Debian's python3, speaking JSON lines. */
export class Paho {
  constructor(readonly proc: Proc) {}

  get events(): PahoEvent[] {
    return this.proc.lines.filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as PahoEvent);
  }

  count(event: PahoEvent['event']): number {
    return this.events.filter((e) => e.event === event).length;
  }

  /** Waits until `event` has happened `n` times in all. */
  async waitFor(event: PahoEvent['event'], n = 1): Promise<PahoEvent[]> {
    try {
      await until(() => this.count(event) >= n);
    } catch (error) {
      throw new Error(`paho: no ${n}x ${event}; events ${JSON.stringify(this.events)}; stderr ${this.proc.stderr}`, { cause: error });
    }
    return this.events.filter((e) => e.event === event);
  }

  send(command: Record<string, unknown>): void {
    this.proc.child.stdin.write(`${JSON.stringify(command)}\n`);
  }
}

/** Starts a Paho client connected through the bridge; resolves once it has its CONNACK. */
export async function paho(bridge: { host: string; port: number }, options: PahoOptions = {}): Promise<Paho> {
  const config = { host: bridge.host, port: bridge.port, client_id: uid('paho'), ...options };
  const client = new Paho(spawnProc(DEBIAN_PYTHON, ['-u', PAHO_SCRIPT, JSON.stringify(config)]));
  const [connected] = await client.waitFor('connected');
  if (connected.rc !== 0) throw new Error(`paho CONNACK ${String(connected.rc)}`);
  return client;
}
