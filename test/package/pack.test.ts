/**
 * The published package, as its three audiences get it (issue 14): `npm pack`, then the tarball
 * installed into a fresh temporary project (from the local npm cache where possible), then:
 *   (a) a plain node ESM script imports stratus-mqtt/client and round-trips a message through
 *       `stratus dev --strict --port 0` (the port is read from the CLI's "listening on" line);
 *   (b) `npx stratus --help` works, and `npx stratus dev --port 0` starts and stops cleanly;
 *   (c) a tiny CDK app imports MqttBroker from stratus-mqtt/cdk and synthesizes offline, with
 *       neither esbuild nor Docker on its PATH: the Lambda code ships prebuilt;
 *   (d) require('stratus-mqtt/client') from CommonJS works, or says how to import it;
 *   (e) esbuild bundles the client for the browser with no Node built-ins;
 *   (f) `npx stratus dev --store memory --port 0` starts with no Java on its PATH and serves a
 *       round trip.
 * The temporary directory and every process started are removed and ended in afterAll.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BROWSER_ENTRY, CDK_APP, ECHO_SCRIPT, ENTRIES_SCRIPT, REQUIRE_SCRIPT, packageJson } from './fixtures';
import { eventually } from '../helpers/eventually';
import { killAll, run, start, type Started } from './processes';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const NPM_FLAGS = ['--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'];
const LISTENING = /listening on (ws:\/\/\S+)/;
const STEP_MS = 120_000;

let tmp: string;
let app: string;
/** PATH for the consumer's commands: node, npm, npx and sh only (no java, esbuild or docker). */
let bareBin: string;
const began = performance.now();

function repoVersion(name: string): string {
  return (JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
}

/** The consumer's environment; `java`: DynamoDB Local's JVM on the PATH too (the default store). */
function bareEnv(java = false): NodeJS.ProcessEnv {
  const path = java ? `${bareBin}:${dirname(realpathSync(execFileSync('which', ['java'], { encoding: 'utf8' }).trim()))}` : bareBin;
  const env: NodeJS.ProcessEnv = { PATH: path, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
  for (const key of ['HOME', 'TMPDIR', 'npm_config_cache'] as const) if (process.env[key] !== undefined) env[key] = process.env[key];
  return env;
}

async function npm(args: string[], cwd: string): Promise<string> {
  const result = await run('npm', [...args, ...NPM_FLAGS], { cwd }, 600_000);
  if (result.code !== 0) throw new Error(`npm ${args.join(' ')} failed (${result.code ?? result.signal}): ${result.stderr}`);
  return result.stdout;
}

/** `npx stratus dev …` in the consumer project, once it says where it listens. */
async function startDev(args: string[]): Promise<{ dev: Started; url: string }> {
  const dev = start('npx', ['stratus', 'dev', ...args], { cwd: app, env: bareEnv(!args.includes('memory')) });
  const [, url] = await dev.waitFor(LISTENING, STEP_MS);
  return { dev, url };
}

/** Ctrl-C: the broker says it stops, reports no error, and leaves no process behind (DynamoDB Local's JVM included). */
async function stopDev(dev: Started): Promise<void> {
  dev.signal('SIGINT');
  const finished = await dev.exited;
  expect(finished.stdout).toContain('stopping…');
  expect(finished.stderr).not.toMatch(/^stratus: /m);
  await eventually(() => !dev.groupAlive(), 200);
}

async function echo(url: string): Promise<void> {
  const result = await run('node', ['echo.mjs', url], { cwd: app, env: bareEnv() }, STEP_MS);
  expect(result.stderr).toBe('');
  expect(result.stdout.trim()).toBe('received pack/echo hello');
}

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'stratus-pack-'));
  bareBin = join(tmp, 'bin');
  mkdirSync(bareBin);
  for (const tool of ['node', 'npm', 'npx', 'sh']) symlinkSync(execFileSync('which', [tool], { encoding: 'utf8' }).trim(), join(bareBin, tool));
  // prepack's own output may precede npm's JSON.
  const packOutput = await npm(['pack', '--json', '--pack-destination', tmp], ROOT);
  const packed = JSON.parse(packOutput.slice(packOutput.search(/^\[/m))) as { filename: string; files: { path: string }[] }[];
  packFiles = packed[0].files.map((f) => f.path);
  app = join(tmp, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), packageJson(join(tmp, packed[0].filename)));
  await npm(['install'], app);
  clientOnlyBytes = Number(execFileSync('du', ['-sb', join(app, 'node_modules')], { encoding: 'utf8' }).split('\t')[0]);
  writeFileSync(join(app, 'echo.mjs'), ECHO_SCRIPT);
  writeFileSync(join(app, 'cdk-app.mjs'), CDK_APP);
  writeFileSync(join(app, 'require.cjs'), REQUIRE_SCRIPT);
  writeFileSync(join(app, 'entries.mjs'), ENTRIES_SCRIPT);
  writeFileSync(join(app, 'browser.mjs'), BROWSER_ENTRY);
}, 900_000);

afterAll(async () => {
  await killAll();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
  console.log(`package test: ${((performance.now() - began) / 1000).toFixed(1)} s; client-only install ${(clientOnlyBytes / 1e6).toFixed(1)} MB`);
});

interface Template {
  Resources: Record<string, { Type: string; Properties: { Handler?: string; Code?: { S3Key?: string } } }>;
}
interface Assets {
  files: Record<string, { source: { path: string; packaging: string } }>;
}

let packFiles: string[] = [];
let clientOnlyBytes = 0;

describe('npm pack', () => {
  it('ships the compiled package, the prebuilt Lambda code and the CLI, and no tests, benchmarks or sources', () => {
    expect(packFiles).toContain('bin/stratus.js');
    expect(packFiles).toContain('dist/client/index.js');
    expect(packFiles).toContain('dist/client/index.d.ts');
    for (const id of ['connect', 'message', 'sweeper', 'disconnect', 'authorizer']) expect(packFiles).toContain(`dist/functions/${id}/index.mjs`);
    const unwanted = packFiles.filter((path) => /^(test|bench|scripts|lib|functions|docs|examples)\//.test(path) || path.endsWith('.ts') && !path.endsWith('.d.ts'));
    expect(unwanted).toEqual([]);
  });
});

describe('the installed package', () => {
  it('(a) a plain node ESM script round-trips a message through stratus dev --strict', async () => {
    const { dev, url } = await startDev(['--strict', '--port', '0']);
    await echo(url);
    await stopDev(dev);
  }, 2 * STEP_MS);

  it('(b) npx stratus --help works, and npx stratus dev --port 0 starts and stops cleanly', async () => {
    const help = await run('npx', ['stratus', '--help'], { cwd: app, env: bareEnv() }, STEP_MS);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Usage: stratus/);
    const { dev } = await startDev(['--port', '0']);
    await stopDev(dev);
  }, 2 * STEP_MS);

  it('(f) npx stratus dev --store memory --port 0 starts with no Java and serves a round trip', async () => {
    expect(existsSync(join(bareBin, 'java'))).toBe(false);
    // Without Java, the default store fails with one line that points to --store memory.
    const refused = await run('npx', ['stratus', 'dev', '--port', '0'], { cwd: app, env: bareEnv() }, STEP_MS);
    expect(refused.code).toBe(1);
    expect(refused.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^stratus: Java .*--store memory$/)]);
    const startedAt = performance.now();
    const { dev, url } = await startDev(['--store', 'memory', '--port', '0']);
    console.log(`stratus dev --store memory: listening ${(performance.now() - startedAt).toFixed(0)} ms after npx started`);
    await echo(url);
    await stopDev(dev);
  }, 2 * STEP_MS);

  it('stratus-mqtt/mqtt and stratus-mqtt/bridge load in plain node', async () => {
    const result = await run('node', ['entries.mjs'], { cwd: app, env: bareEnv() }, STEP_MS);
    expect(result.stderr).toBe('');
    expect(result.stdout.trim()).toBe('pingreq function');
  });

  it('(d) require() from CommonJS loads the client or says how to import it', async () => {
    const result = await run('node', ['require.cjs'], { cwd: app, env: bareEnv() }, STEP_MS);
    const outcome = JSON.parse(result.stdout.trim()) as { loaded?: string; error?: string };
    if (outcome.error === undefined) expect(outcome.loaded).toBe('function');
    else expect(outcome.error).toMatch(/import .* from 'stratus-mqtt\/client'/);
  });

  it('(e) esbuild bundles the client for the browser with no Node built-ins', async () => {
    const result = await build({ entryPoints: [join(app, 'browser.mjs')], absWorkingDir: app, bundle: true, platform: 'browser', format: 'esm', minify: true, write: false, metafile: true, logLevel: 'silent' });
    const builtins = Object.keys(result.metafile.inputs).filter((input) => input.startsWith('node:') || input.includes('(disabled)'));
    expect(builtins).toEqual([]);
    const bytes = result.outputFiles[0].contents;
    console.log(`browser bundle of stratus-mqtt/client: ${bytes.length} bytes minified, ${gzipSync(bytes).length} gzipped`);
  });

  it('(c) a CDK app synthesizes MqttBroker from stratus-mqtt/cdk offline, with no esbuild or Docker', async () => {
    await npm(['install', `aws-cdk-lib@${repoVersion('aws-cdk-lib')}`, `constructs@${repoVersion('constructs')}`], app);
    const outdir = join(tmp, 'cdk.out');
    const result = await run('node', ['cdk-app.mjs', outdir], { cwd: app, env: bareEnv() }, 4 * STEP_MS);
    expect(result.stderr).toBe('');
    expect(result.stdout.trim()).toBe('synthesized');
    const template = JSON.parse(readFileSync(join(outdir, 'Plant.template.json'), 'utf8')) as Template;
    const brokerFunctions = Object.values(template.Resources).filter((r) => r.Type === 'AWS::Lambda::Function' && r.Properties.Handler === 'index.handler');
    expect(brokerFunctions.length).toBeGreaterThanOrEqual(3);
    // Each function's code is a file asset: the prebuilt bundle, copied as it is.
    const assets = JSON.parse(readFileSync(join(outdir, 'Plant.assets.json'), 'utf8')) as Assets;
    for (const fn of brokerFunctions) {
      const asset = assets.files[fn.Properties.Code?.S3Key?.replace(/\.zip$/, '') ?? 'missing'];
      expect(asset?.source.packaging).toBe('zip');
      expect(existsSync(join(outdir, asset.source.path, 'index.mjs'))).toBe(true);
    }
  }, 5 * STEP_MS);
});
