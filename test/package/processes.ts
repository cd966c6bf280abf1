/**
 * Child processes of the package test. Each runs in its own process group (detached), so that
 * stopping it reaches everything it started (npx, its shell, the `stratus` process, a DynamoDB
 * Local JVM); `killAll` ends whatever is still running, pass or fail.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

const running = new Set<ChildProcess>();

export interface Finished {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface Started {
  readonly child: ChildProcess;
  /** Everything printed so far. */
  output(): { stdout: string; stderr: string };
  /** Resolves with the first match of `pattern` in stdout; rejects if the process ends first or at the deadline. */
  waitFor(pattern: RegExp, deadlineMs: number): Promise<RegExpMatchArray>;
  /** Resolves once the process has exited. */
  exited: Promise<Finished>;
  /** Sends `signal` to the whole process group. */
  signal(signal: NodeJS.Signals): void;
  /** Whether any process of the group (the command and whatever it started) is still running. */
  groupAlive(): boolean;
}

export function start(command: string, args: readonly string[], options: SpawnOptions): Started {
  const child = spawn(command, args, { ...options, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  let stdout = '';
  let stderr = '';
  const listeners = new Set<() => void>();
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    for (const listener of listeners) listener();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<Finished>((resolve) => {
    child.once('close', (code, signal) => {
      running.delete(child);
      for (const listener of listeners) listener();
      resolve({ code, signal, stdout, stderr });
    });
  });
  const describe = () => `${command} ${args.join(' ')}\n--- stdout\n${stdout}\n--- stderr\n${stderr}`;
  return {
    child,
    output: () => ({ stdout, stderr }),
    exited,
    signal: (signal) => signalGroup(child, signal),
    groupAlive: () => groupAlive(child),
    waitFor: (pattern, deadlineMs) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => finish(new Error(`no ${pattern} within ${deadlineMs} ms: ${describe()}`)), deadlineMs);
        const check = () => {
          const match = stdout.match(pattern);
          if (match) finish(undefined, match);
          else if (!running.has(child)) finish(new Error(`exited before ${pattern}: ${describe()}`));
        };
        function finish(error?: Error, match?: RegExpMatchArray): void {
          clearTimeout(timer);
          listeners.delete(check);
          if (error) reject(error);
          else resolve(match as RegExpMatchArray);
        }
        listeners.add(check);
        check();
      }),
  };
}

/** Runs a command to its end (killed at the deadline); resolves whatever its exit code. */
export async function run(command: string, args: readonly string[], options: SpawnOptions, deadlineMs: number): Promise<Finished> {
  const started = start(command, args, options);
  const timer = setTimeout(() => started.signal('SIGKILL'), deadlineMs);
  try {
    return await started.exited;
  } finally {
    clearTimeout(timer);
  }
}

function groupAlive(child: ChildProcess): boolean {
  if (child.pid === undefined) return false;
  try {
    process.kill(-child.pid, 0);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw error;
  }
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

/** Ends every process group still running (SIGKILL) and waits for them. */
export async function killAll(): Promise<void> {
  const left = [...running];
  for (const child of left) signalGroup(child, 'SIGKILL');
  await Promise.all(left.map((child) => new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve(undefined) : child.once('close', resolve)))));
}
