/**
 * A tiny, dependency-free timing helper for benchmarks that compare a subject with a reference
 * in the same process: warm-up, per-implementation calibration, interleaved rounds, median.
 *
 * Every timed function returns a number that is folded into a global sink, so the JIT cannot
 * drop the work; call `sinkValue()` once at the end and print it somewhere.
 */

/** One unit of work; returns a number derived from the result (a length, a count...). */
export type Work = () => number;

export interface CompareOptions {
  /** Total warm-up time, shared by both implementations. @default 250 */
  warmupMs?: number;
  /** Target duration of one timed sample. @default 80 */
  sampleMs?: number;
  /** Timed samples per implementation; the median is reported. @default 7 */
  rounds?: number;
}

export interface Comparison {
  subjectOpsPerSec: number;
  referenceOpsPerSec: number;
  /** subject / reference: above 1 means the subject is faster. */
  ratio: number;
  subjectSamples: number[];
  referenceSamples: number[];
}

let sink = 0;

/** The folded results of all timed work; print it so that nothing is dead code. */
export function sinkValue(): number {
  return sink;
}

/** Runs `work` `iterations` times; returns the elapsed nanoseconds. */
export function timeBatch(work: Work, iterations: number): number {
  let acc = 0;
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) acc += work();
  const elapsed = Number(process.hrtime.bigint() - start);
  sink = (sink + acc) | 0;
  return elapsed;
}

/** The iteration count that makes one batch last about `targetMs`. */
export function calibrate(work: Work, targetMs: number): number {
  let iterations = 1;
  for (;;) {
    const ns = timeBatch(work, iterations);
    if (ns >= 10_000_000 || iterations >= 1 << 30) {
      return Math.max(1, Math.round((iterations * targetMs * 1e6) / ns));
    }
    iterations *= ns < 1_000_000 ? 8 : 2;
  }
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function warmUp(subject: Work, reference: Work, totalMs: number): void {
  const deadline = performance.now() + totalMs;
  while (performance.now() < deadline) {
    timeBatch(subject, 64);
    timeBatch(reference, 64);
  }
}

/**
 * Measures two implementations of the same operation. Samples alternate between them, and the
 * order flips every round, so that slow drifts (thermal, other processes, GC debt) hit both.
 */
export function compare(subject: Work, reference: Work, options: CompareOptions = {}): Comparison {
  const { warmupMs = 250, sampleMs = 80, rounds = 7 } = options;
  warmUp(subject, reference, warmupMs);
  const subjectIterations = calibrate(subject, sampleMs);
  const referenceIterations = calibrate(reference, sampleMs);
  const subjectSamples: number[] = [];
  const referenceSamples: number[] = [];
  const sampleSubject = (): void => {
    subjectSamples.push(subjectIterations / (timeBatch(subject, subjectIterations) / 1e9));
  };
  const sampleReference = (): void => {
    referenceSamples.push(referenceIterations / (timeBatch(reference, referenceIterations) / 1e9));
  };
  for (let round = 0; round < rounds; round++) {
    if (round % 2 === 0) {
      sampleSubject();
      sampleReference();
    } else {
      sampleReference();
      sampleSubject();
    }
  }
  const subjectOpsPerSec = median(subjectSamples);
  const referenceOpsPerSec = median(referenceSamples);
  return {
    subjectOpsPerSec,
    referenceOpsPerSec,
    ratio: subjectOpsPerSec / referenceOpsPerSec,
    subjectSamples,
    referenceSamples,
  };
}

/** Renders rows as a Markdown table; numbers are right-aligned. */
export function markdownTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const numeric = headers.map((_, i) => rows.length > 0 && rows.every((r) => /^[\d.,×x -]+$/.test(r[i])));
  const cell = (text: string, i: number): string => (numeric[i] ? text.padStart(widths[i]) : text.padEnd(widths[i]));
  const line = (cells: readonly string[]): string => `| ${cells.map(cell).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (numeric[i] ? '-'.repeat(w + 1) + ':' : '-'.repeat(w + 2))).join('|')}|`;
  return [line(headers), rule, ...rows.map(line)].join('\n');
}

/** 1234567.8 -> '1,234,568' */
export function formatInteger(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}
