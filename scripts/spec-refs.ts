import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

/**
 * Finds the MQTT normative statement IDs a source text cites, for `npm run spec-coverage`; the
 * parsing is pure, and `readTree` reads lib/ and test/ for it.
 *
 * A statement ID is `MQTT-<section>-<n>`: a section of three numbers (`3.1.2`, `4.7.1`, `3.1.0`)
 * and, after the last dash, the statement number. It is found wherever it is written: in a
 * comment (`[MQTT-3.1.2-8]`), a test name or a string (`specRef: 'MQTT-3.1.0-2'`).
 *
 * An ID is a 3.1.1 one when it stands inside `(3.1.1: …)` or right after `3.1.1:`; every other
 * ID is an MQTT 5.0 one. What looks like an ID but is not one is reported as malformed:
 * - a placeholder, `MQTT-3.1.2-?`;
 * - a section number written as an ID, `MQTT-4.8.2` or `MQTT-3.3.1.3` (write "MQTT 5.0 section
 *   4.8.2" instead);
 * - a section of other than three numbers, `MQTT-4.7-1`;
 * - an abbreviated list or range, `MQTT-1.5.4-1..3` or `MQTT-3.1.2-1/-2` (write each ID whole).
 */

export type SpecVersion = '5.0' | '3.1.1';

export interface SpecRef {
  readonly id: string;
  readonly version: SpecVersion;
  readonly line: number;
}

export interface MalformedRef {
  readonly text: string;
  readonly line: number;
  readonly reason: string;
}

export interface FileRefs {
  readonly refs: SpecRef[];
  readonly malformed: MalformedRef[];
}

/** `MQTT-` then a number, the dotted section, and what follows up to a delimiter. */
const CANDIDATE = /MQTT-(\d+(?:\.\d+)*)(-[^\s\]),'"`;:<>|}*]*)?/g;
const STATEMENT_NUMBER = /^-\d+$/;
const THREE_PART_SECTION = /^\d+\.\d+\.\d+$/;
/** `(3.1.1: …)`, up to its closing parenthesis. */
const V311_GROUP = /\(3\.1\.1:[^)]*\)/g;
/** `3.1.1:` then spaces or `[` right before the ID. */
const V311_PREFIX = /3\.1\.1:[\s[]*$/;

/** Why a candidate is not a statement ID, or undefined when it is one. */
export function malformedReason(section: string, tail: string): string | undefined {
  if (tail === '') return 'a section number written as a statement ID';
  if (tail === '-?') return 'a placeholder, not a statement ID';
  if (!STATEMENT_NUMBER.test(tail)) return 'not one whole statement ID (write each ID in full)';
  if (!THREE_PART_SECTION.test(section)) return 'a statement ID has a section of three numbers';
  return undefined;
}

function v311Spans(text: string): [number, number][] {
  return [...text.matchAll(V311_GROUP)].map((m) => [m.index, m.index + m[0].length]);
}

function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  return starts;
}

function lineAt(starts: number[], offset: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid] <= offset) lo = mid;
    else hi = mid - 1;
  }
  return lo + 1;
}

/** Every statement ID and every malformed reference in one file's text, with line numbers. */
export function parseSpecRefs(text: string): FileRefs {
  const refs: SpecRef[] = [];
  const malformed: MalformedRef[] = [];
  const starts = lineStarts(text);
  const spans = v311Spans(text);
  for (const m of text.matchAll(CANDIDATE)) {
    const section = m[1];
    // A sentence may end right after the ID: "… [MQTT-4.7.3-1]." or "… MQTT-4.7.3-1."
    const tail = (m[2] ?? '').replace(/\.+$/, '');
    const line = lineAt(starts, m.index);
    const reason = malformedReason(section, tail);
    if (reason !== undefined) {
      malformed.push({ text: `MQTT-${section}${tail}`, line, reason });
      continue;
    }
    const inGroup = spans.some(([from, to]) => m.index > from && m.index < to);
    const prefixed = V311_PREFIX.test(text.slice(Math.max(0, m.index - 12), m.index));
    refs.push({ id: `MQTT-${section}${tail}`, version: inGroup || prefixed ? '3.1.1' : '5.0', line });
  }
  return { refs, malformed };
}

/** Orders `MQTT-3.1.2-8` before `MQTT-3.1.2-10` and `MQTT-3.10.1-1`. */
export function compareIds(a: string, b: string): number {
  const parts = (id: string) => id.slice('MQTT-'.length).split(/[.-]/).map(Number);
  const pa = parts(a);
  const pb = parts(b);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? -1) - (pb[i] ?? -1);
    if (d !== 0) return d;
  }
  return 0;
}

/** Where a reference is counted: the library or the tests. */
export type Place = 'lib' | 'test';
export const PLACES: readonly Place[] = ['lib', 'test'];
const SOURCE = /\.(ts|mts|js|mjs|cjs)$/;

export interface IdCoverage {
  readonly id: string;
  readonly version: SpecVersion;
  /** References per place, and the files (with their counts) they are in. */
  readonly counts: Record<Place, number>;
  readonly files: Record<Place, Record<string, number>>;
}

export interface Coverage {
  readonly ids: IdCoverage[];
  readonly malformed: (MalformedRef & { file: string })[];
}

/** Folds each file's references into one entry per ID and version, sorted by version then ID. */
export function coverageOf(files: { path: string; place: Place; text: string }[]): Coverage {
  const byKey = new Map<string, IdCoverage>();
  const malformed: Coverage['malformed'] = [];
  for (const { path, place, text } of files) {
    const parsed = parseSpecRefs(text);
    for (const bad of parsed.malformed) malformed.push({ ...bad, file: path });
    for (const ref of parsed.refs) {
      const key = `${ref.version} ${ref.id}`;
      let entry = byKey.get(key);
      if (entry === undefined) {
        entry = { id: ref.id, version: ref.version, counts: { lib: 0, test: 0 }, files: { lib: {}, test: {} } };
        byKey.set(key, entry);
      }
      entry.counts[place]++;
      entry.files[place][path] = (entry.files[place][path] ?? 0) + 1;
    }
  }
  const ids = [...byKey.values()].sort((a, b) =>
    a.version === b.version ? compareIds(a.id, b.id) : a.version === '5.0' ? -1 : 1,
  );
  return { ids, malformed };
}

/** Cited by the library, by no test. */
export function untested(coverage: Coverage): IdCoverage[] {
  return coverage.ids.filter((c) => c.counts.lib > 0 && c.counts.test === 0);
}

/** Every source file under lib/ and test/, as paths relative to the repository root. */
export function readTree(root: string): { path: string; place: Place; text: string }[] {
  const out: { path: string; place: Place; text: string }[] = [];
  const walk = (dir: string, place: Place) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = join(dir, entry.name);
      if (entry.isDirectory() && entry.name !== 'node_modules') walk(full, place);
      else if (entry.isFile() && SOURCE.test(entry.name)) {
        out.push({ path: relative(root, full), place, text: readFileSync(full, 'utf8') });
      }
    }
  };
  for (const place of PLACES) walk(join(root, place), place);
  return out.sort((a, b) => a.path.localeCompare(b.path));
}
