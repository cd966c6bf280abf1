/**
 * The handler fuzzer: random and mutated MQTT packets through the `$default` handler on the
 * memory stores, as API Gateway delivers them (base64 text bodies), every packet type at
 * protocol levels 3 (3.1), 4 (3.1.1) and 5. One seed replays one run exactly.
 *
 *   const report = await fuzzHandler({ seed: 1, packets: 100_000 });
 *
 * Connections follow one another (./session.ts); the runtime is kept across them, so sessions
 * are resumed and messages queued between them, and replaced every RUNTIME_SESSIONS connections
 * so that a long run holds a bounded state. Each message is judged by ./oracle.ts.
 */
import { FuzzRuntime } from './fuzz-runtime';
import { packetPool } from './pool';
import { Prng } from './prng';
import { runSession, type FuzzFailure, type SessionTally } from './session';

export type { FuzzFailure } from './session';

export interface FuzzOptions {
  readonly seed: number;
  /** Packets to send, at least: the last connection finishes its message. */
  readonly packets: number;
  /** Called every `every` packets or so with the packets sent so far. */
  readonly progress?: { readonly every: number; readonly report: (packets: number) => void };
  /** Stop at this many failures. @default 20 */
  readonly maxFailures?: number;
}

export interface FuzzReport {
  readonly seed: number;
  readonly packets: number;
  readonly frames: number;
  /** Messages the codec rejects (malformed, cut, not base64...). */
  readonly rejected: number;
  readonly sessions: number;
  /** Wall-clock time, the packet pool's drawing included. */
  readonly seconds: number;
  /** CPU time of this process: what the run cost on a machine shared with other work. */
  readonly cpuSeconds: number;
  readonly packetsPerSecond: number;
  readonly packetsPerCpuSecond: number;
  /** Messages by the broker's reaction, most frequent first. */
  readonly reactions: ReadonlyArray<readonly [string, number]>;
  readonly failures: readonly FuzzFailure[];
}

const RUNTIME_SESSIONS = 200;

export async function fuzzHandler(options: FuzzOptions): Promise<FuzzReport> {
  const started = performance.now();
  const cpu = process.cpuUsage();
  const prng = new Prng(options.seed);
  const pool = packetPool(options.seed);
  const tally: SessionTally = { packets: 0, frames: 0, rejected: 0, reactions: new Map(), failures: [] };
  const maxFailures = options.maxFailures ?? 20;
  let fuzz = await FuzzRuntime.create();
  let sessions = 0;
  let reported = 0;
  while (tally.packets < options.packets && tally.failures.length < maxFailures) {
    if (sessions > 0 && sessions % RUNTIME_SESSIONS === 0) fuzz = await FuzzRuntime.create();
    await runSession(fuzz, pool, prng, sessions, tally);
    sessions += 1;
    if (options.progress && tally.packets - reported >= options.progress.every) {
      reported = tally.packets;
      options.progress.report(tally.packets);
    }
  }
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  const cpuSeconds = (used.user + used.system) / 1e6;
  return {
    seed: options.seed,
    packets: tally.packets,
    frames: tally.frames,
    rejected: tally.rejected,
    sessions,
    seconds,
    cpuSeconds,
    packetsPerSecond: Math.round(tally.packets / seconds),
    packetsPerCpuSecond: Math.round(tally.packets / cpuSeconds),
    reactions: [...tally.reactions].sort((a, b) => b[1] - a[1]),
    failures: tally.failures,
  };
}

/** The report as lines of text: figures, reactions, then each failure with its seed and bytes. */
export function formatReport(report: FuzzReport): string[] {
  const n = (x: number) => x.toLocaleString('en-US');
  const lines = [
    `seed ${report.seed}: ${n(report.packets)} packets in ${n(report.frames)} messages on ${n(report.sessions)} connections, ` +
      `${report.seconds.toFixed(1)} s, ${n(report.packetsPerSecond)} packets/s ` +
      `(CPU ${report.cpuSeconds.toFixed(1)} s, ${n(report.packetsPerCpuSecond)} packets per CPU second)`,
    `messages the codec rejects: ${n(report.rejected)}`,
    'reactions (per message):',
    ...report.reactions.map(([kind, count]) => `  ${kind.padEnd(28)} ${n(count).padStart(10)}`),
    `failures: ${report.failures.length}`,
  ];
  for (const f of report.failures) {
    lines.push(`  seed ${report.seed}, connection ${f.session}, message ${f.frame}, level ${f.version}: ${f.problem}`);
    f.frames.forEach((body, i) => lines.push(`    message ${i}: ${body}`));
  }
  return lines;
}
