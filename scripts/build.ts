/**
 * `npm run build` (and `prepack`): the published package in dist/.
 *   1. tsc -p tsconfig.build.json: lib/ → dist/ as ES2022 ESM JavaScript plus .d.ts declarations;
 *   2. relative specifiers rewritten to the files Node's ESM loader needs (./build-specifiers.ts);
 *   3. the Lambda entry points bundled into dist/functions/<id>/index.mjs (./build-functions.ts);
 *   4. dist/require.cjs, the `require` condition of every entry point on a Node.js whose require()
 *      cannot load ES modules: it says how to import the package instead.
 */
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../lib/infra/functions';
import { buildFunctions } from './build-functions';
import { rewriteSpecifiers } from './build-specifiers';

const DIST = join(PACKAGE_ROOT, 'dist');

export const REQUIRE_STUB =
  "'use strict';\n" +
  'throw new Error(\n' +
  "  'stratus-mqtt is an ES module: use `import { connect } from \\'stratus-mqtt/client\\'`, or ' +\n" +
  "    '`await import(\\'stratus-mqtt/client\\')` from CommonJS (Node.js 20.19+ and 22.12+ can also require() it)',\n" +
  ');\n';

function compile(): void {
  const tsc = join(PACKAGE_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const result = spawnSync(process.execPath, [tsc, '-p', join(PACKAGE_ROOT, 'tsconfig.build.json')], { stdio: 'inherit' });
  if (result.status !== 0) throw new Error(`tsc -p tsconfig.build.json failed (exit ${result.status ?? result.signal})`);
}

async function main(): Promise<void> {
  const started = performance.now();
  rmSync(DIST, { recursive: true, force: true });
  compile();
  const modules = rewriteSpecifiers(DIST);
  const functions = await buildFunctions(join(DIST, 'functions'));
  writeFileSync(join(DIST, 'require.cjs'), REQUIRE_STUB);
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  process.stderr.write(`dist/: ${modules} modules, ${functions.length} Lambda bundles, in ${seconds} s\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`build: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
