/**
 * Which MQTT normative statements lib/ and test/ cite, and which lib/ cites but no test does.
 *
 *   npm run spec-coverage                 a table: each ID with its count in lib/ and in test/,
 *                                         then the untested ones, the malformed ones and totals
 *   npm run spec-coverage -- --json       one JSON object per line: one per ID, one per malformed
 *                                         reference, then a summary; nothing else on stdout
 *   npm run spec-coverage -- --files      the table also names the files citing each ID
 *
 * IDs are parsed by scripts/spec-refs.ts; 3.1.1 IDs (written "(3.1.1: [MQTT-x.y.z-n])") are listed
 * apart from the MQTT 5.0 ones. Exits with 1 when a reference is malformed, 2 on a bad option.
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { coverageOf, readTree, untested, PLACES, type Coverage, type IdCoverage } from './spec-refs';

const USAGE = 'usage: npm run spec-coverage -- [--json] [--files] [--help]';
const ROOT = fileURLToPath(new URL('..', import.meta.url));

function summary(coverage: Coverage) {
  const count = (version: string, pick: (c: IdCoverage) => boolean) =>
    coverage.ids.filter((c) => c.version === version && pick(c)).length;
  const of = (version: string) => ({
    lib: count(version, (c) => c.counts.lib > 0),
    test: count(version, (c) => c.counts.test > 0),
    either: count(version, () => true),
    libUntested: count(version, (c) => c.counts.lib > 0 && c.counts.test === 0),
  });
  return { '5.0': of('5.0'), '3.1.1': of('3.1.1'), malformed: coverage.malformed.length };
}

function printJson(coverage: Coverage): void {
  for (const c of coverage.ids) {
    console.log(JSON.stringify({ ...c, untested: c.counts.lib > 0 && c.counts.test === 0 }));
  }
  for (const m of coverage.malformed) console.log(JSON.stringify({ malformed: m.text, ...m }));
  console.log(JSON.stringify({ summary: summary(coverage) }));
}

function fileList(files: Record<string, number>): string {
  return Object.entries(files)
    .map(([path, n]) => (n > 1 ? `${path} (${n})` : path))
    .join(', ');
}

function printTable(coverage: Coverage, withFiles: boolean): void {
  const width = Math.max(...coverage.ids.map((c) => c.id.length), 'statement'.length);
  const row = (id: string, version: string, lib: string, test: string) =>
    `${id.padEnd(width)}  ${version.padEnd(5)}  ${lib.padStart(4)}  ${test.padStart(4)}`;
  console.log(row('statement', 'spec', 'lib', 'test'));
  console.log(row('-'.repeat(width), '-----', '----', '----'));
  for (const c of coverage.ids) {
    const flag = c.counts.lib > 0 && c.counts.test === 0 ? '  untested' : '';
    console.log(row(c.id, c.version, String(c.counts.lib), String(c.counts.test)) + flag);
    if (withFiles) {
      for (const place of PLACES) {
        if (c.counts[place] > 0) console.log(`    ${place}: ${fileList(c.files[place])}`);
      }
    }
  }
  const gaps = untested(coverage);
  console.log(`\nCited in lib/, in no test (${gaps.length}):`);
  for (const c of gaps) console.log(`  ${c.id} (${c.version}): ${fileList(c.files.lib)}`);
  console.log(`\nMalformed references (${coverage.malformed.length}):`);
  for (const m of coverage.malformed) console.log(`  ${m.file}:${m.line}  ${m.text}: ${m.reason}`);
  const s = summary(coverage);
  console.log('\nStatement IDs      lib  test  lib, untested');
  for (const v of ['5.0', '3.1.1'] as const) {
    console.log(`  MQTT ${v.padEnd(9)} ${String(s[v].lib).padStart(5)} ${String(s[v].test).padStart(5)} ${String(s[v].libUntested).padStart(14)}`);
  }
}

function main(): void {
  // Piped into `head`: stop quietly when the reader has gone.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        json: { type: 'boolean', default: false },
        files: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    console.error(`${(error as Error).message}\n${USAGE}`);
    process.exit(2);
  }
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const coverage = coverageOf(readTree(ROOT));
  if (values.json) printJson(coverage);
  else printTable(coverage, values.files);
  if (coverage.malformed.length > 0) process.exitCode = 1;
}

main();
