/**
 * Bundles each Lambda entry point of functions/ into dist/functions/<id>/index.mjs (and its source
 * map), with the options `cdk synth` uses in this repository, so that the `MqttBroker` construct of
 * the published package deploys prebuilt code: its consumers need neither esbuild nor Docker
 * (lib/infra/lambda-code.ts picks these files up).
 */
import { join } from 'node:path';
import { build } from 'esbuild';
import { FUNCTION_IDS, FUNCTION_SPECS } from '../lib/infra/access';
import { BUNDLING, FUNCTIONS_DIR, PACKAGE_ROOT } from '../lib/infra/functions';
import { esbuildOptionsOf } from './lambda-esbuild';

/** Bundles every function into `outdir/<id>/index.mjs`; resolves to the files written. */
export async function buildFunctions(outdir: string): Promise<string[]> {
  const options = esbuildOptionsOf(BUNDLING);
  return Promise.all(
    FUNCTION_IDS.map(async (id) => {
      const outfile = join(outdir, id, 'index.mjs');
      await build({
        ...options,
        entryPoints: [join(FUNCTIONS_DIR, FUNCTION_SPECS[id].entry)],
        outfile,
        absWorkingDir: PACKAGE_ROOT,
      });
      return outfile;
    }),
  );
}
