/**
 * Lambda bundle sizes and cold import times: each entry point in functions/ bundled with esbuild
 * exactly as the stack bundles it (`BUNDLING` in lib/infra/functions.ts), then imported in fresh
 * `node` processes beside a reference (an empty module), in the same run.
 *
 *   npm run bench:bundles                  a Markdown table, then each bundle's top contributors
 *   npm run bench:bundles -- --json        one JSON object per bundle (NDJSON), nothing else on stdout
 *   npm run bench:bundles -- --runs 21     fresh processes per bundle (default 11; 0: sizes only)
 *   npm run bench:bundles -- --filter message
 *   npm run bench:bundles -- --check       exit 1 when a bundle is at or above the limit (500 KB)
 *
 * Size is the minified `index.mjs`, without its external source map. Contributors come from the
 * esbuild metafile (bytes each input leaves in the output), grouped by npm package, and by
 * directory for our own code. Cold import: `performance.now()` around `await import(bundle)` in an
 * ESM `-e` script, with the environment of a default stack so that module-scope configuration and
 * SDK clients are created as on Lambda; the bundles and the reference are run in turns so that
 * background load hits them alike, and the median is reported.
 */

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { basename, join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { build, type BuildOptions, type Metafile } from 'esbuild';
import { BUNDLING, FUNCTIONS_DIR, PACKAGE_ROOT } from '../lib/infra/functions';
import { TABLE_IDS, tableEnvVar } from '../lib/store/schema';
import { markdownTable } from './lib/timing';
import { esbuildOptionsOf } from '../scripts/lambda-esbuild';

/** The target of issue 11: each handler's minified bundle under 500 KB. */
export const BUNDLE_LIMIT_BYTES = 500 * 1000;

interface Contributor {
  name: string;
  bytes: number;
}

interface Row {
  entry: string;
  bytes: number;
  gzipBytes: number;
  sourceMapBytes: number;
  underLimit: boolean;
  /** Median cold import of the bundle, ms (absent with --runs 0). */
  importMs?: number;
  /** Median cold import of an empty module in the same run, ms. */
  referenceImportMs?: number;
  runs: number;
  top: Contributor[];
}

const { values: options } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    runs: { type: 'string', default: '11' },
    top: { type: 'string', default: '8' },
    filter: { type: 'string' },
    check: { type: 'boolean', default: false },
  },
});
const RUNS = Number(options.runs);
const TOP = Number(options.top);
if (!Number.isInteger(RUNS) || RUNS < 0) throw new Error(`--runs: not a count: ${options.runs}`);
if (!Number.isInteger(TOP) || TOP < 0) throw new Error(`--top: not a count: ${options.top}`);

// ---------------------------------------------------------------------------------------------
// Bundling as the stack does
// ---------------------------------------------------------------------------------------------

/** node_modules/@scope/name/... → @scope/name; lib/auth/jwt.ts → lib/auth; functions/x.ts → functions. */
function ownerOf(input: string): string {
  const at = input.lastIndexOf('node_modules/');
  if (at >= 0) {
    const parts = input.slice(at + 'node_modules/'.length).split('/');
    return parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
  }
  const parts = input.split('/');
  return parts.length > 2 ? `${parts[0]}/${parts[1]}` : parts[0];
}

function contributors(metafile: Metafile, outfile: string): Contributor[] {
  const output = metafile.outputs[relative(PACKAGE_ROOT, outfile)];
  if (output === undefined) throw new Error(`no ${outfile} in the metafile`);
  const totals = new Map<string, number>();
  for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
    const owner = ownerOf(input);
    totals.set(owner, (totals.get(owner) ?? 0) + bytesInOutput);
  }
  return [...totals].map(([name, bytes]) => ({ name, bytes })).sort((a, b) => b.bytes - a.bytes);
}

interface Bundle {
  entry: string;
  file: string;
  bytes: number;
  gzipBytes: number;
  sourceMapBytes: number;
  top: Contributor[];
}

async function bundle(entry: string, outdir: string): Promise<Bundle> {
  const id = basename(entry, '.ts');
  const outfile = join(outdir, id, 'index.mjs');
  const result = await build({
    ...esbuildOptionsOf(BUNDLING),
    entryPoints: [join(FUNCTIONS_DIR, entry)],
    outfile,
    absWorkingDir: PACKAGE_ROOT,
    metafile: true,
  });
  const code = readFileSync(outfile);
  const map = `${outfile}.map`;
  return {
    entry: `functions/${entry}`,
    file: outfile,
    bytes: code.length,
    gzipBytes: gzipSync(code).length,
    sourceMapBytes: BUNDLING.sourceMap ? statSync(map).size : 0,
    top: contributors(result.metafile, outfile),
  };
}

// ---------------------------------------------------------------------------------------------
// Cold import
// ---------------------------------------------------------------------------------------------

/** What a default stack sets (tables, endpoint, log level), plus token authentication for the authorizer. */
function lambdaEnvironment(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'bench',
    AWS_SECRET_ACCESS_KEY: 'bench',
    STRATUS_MANAGEMENT_ENDPOINT: 'https://abc123.execute-api.eu-west-1.amazonaws.com/mqtt',
    STRATUS_LOG_LEVEL: 'warn',
    // The authorizer needs these; the JWKS is fetched on first use, never at import.
    STRATUS_JWT_ISSUER: 'https://issuer.example.com/',
    STRATUS_JWT_AUDIENCE: 'stratus',
    STRATUS_JWT_JWKS_URL: 'https://issuer.example.com/.well-known/jwks.json',
  };
  for (const id of TABLE_IDS) env[tableEnvVar(id)] = `bench-${id}`;
  return env;
}

/** One fresh process importing `file`; the import's duration in ms. */
function importOnce(file: string, env: NodeJS.ProcessEnv): number {
  const script = `const t = performance.now(); await import(${JSON.stringify(pathToFileURL(file).href)}); console.log(performance.now() - t);`;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { env, encoding: 'utf8' });
  if (child.status !== 0) throw new Error(`importing ${file} failed:\n${child.stderr}`);
  return Number(child.stdout.trim());
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Medians per file, runs interleaved: every round imports each file once, in turn. */
function coldImports(files: readonly string[], runs: number): number[] {
  const env = lambdaEnvironment();
  const samples = files.map(() => [] as number[]);
  for (let round = 0; round < runs; round++) {
    files.forEach((file, i) => samples[i].push(importOnce(file, env)));
  }
  return samples.map(median);
}

// ---------------------------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------------------------

const kib = (bytes: number): string => (bytes / 1024).toFixed(1);
const ms = (value: number | undefined): string => (value === undefined ? '-' : value.toFixed(1));

function printTable(rows: readonly Row[]): void {
  const headers = ['Entry', 'Bundle KiB', 'gzip KiB', 'Map KiB', '< 500 KB', 'Cold import ms', 'Empty module ms'];
  console.log(
    markdownTable(
      headers,
      rows.map((r) => [
        r.entry,
        kib(r.bytes),
        kib(r.gzipBytes),
        kib(r.sourceMapBytes),
        r.underLimit ? 'yes' : 'NO',
        ms(r.importMs),
        ms(r.referenceImportMs),
      ]),
    ),
  );
  for (const r of rows) {
    console.log(`\n${r.entry}: ${r.bytes.toLocaleString('en-US')} bytes; top contributors (KiB in the minified output):`);
    for (const c of r.top) console.log(`  ${kib(c.bytes).padStart(7)}  ${c.name}`);
  }
}

async function main(): Promise<void> {
  const started = performance.now();
  const entries = readdirSync(FUNCTIONS_DIR)
    .filter((f) => f.endsWith('.ts') && (options.filter === undefined || f.includes(options.filter)))
    .sort();
  if (entries.length === 0) throw new Error(`no entry in ${FUNCTIONS_DIR} matches`);
  const outdir = mkdtempSync(join(tmpdir(), 'stratus-bundles-'));
  try {
    const bundles: Bundle[] = [];
    for (const entry of entries) bundles.push(await bundle(entry, outdir));
    const empty = join(outdir, 'empty.mjs');
    writeFileSync(empty, 'export {};\n');
    const medians = RUNS > 0 ? coldImports([...bundles.map((b) => b.file), empty], RUNS) : undefined;
    const rows: Row[] = bundles.map((b, i) => ({
      entry: b.entry,
      bytes: b.bytes,
      gzipBytes: b.gzipBytes,
      sourceMapBytes: b.sourceMapBytes,
      underLimit: b.bytes < BUNDLE_LIMIT_BYTES,
      importMs: medians?.[i],
      referenceImportMs: medians?.[bundles.length],
      runs: RUNS,
      top: b.top.slice(0, TOP),
    }));
    if (options.json) for (const row of rows) console.log(JSON.stringify(row));
    else printTable(rows);
    console.error(
      `node ${process.version}, ${cpus().length} CPUs, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}; ` +
        `${RUNS} fresh processes per bundle; ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
    if (options.check && rows.some((r) => !r.underLimit)) process.exitCode = 1;
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

await main();
