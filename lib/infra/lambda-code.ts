/**
 * Where a broker function's code comes from. The published package ships each function prebuilt
 * (`npm run build` bundles functions/ into dist/functions/<id>/index.mjs, beside dist/infra/), so a
 * CDK app that installs it needs neither esbuild nor Docker: the construct deploys those files as
 * they are. In this repository (lib/infra/) there are no prebuilt files, and NodejsFunction bundles
 * the TypeScript entry points at synth time, as before (lib/infra/functions.ts).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FunctionId } from './access';

/** dist/functions/ when this module runs from dist/infra/; lib/functions/ (absent) from the sources. */
export const PREBUILT_FUNCTIONS_DIR = fileURLToPath(new URL('../functions/', import.meta.url));

/** The handler of a prebuilt bundle, as NodejsFunction names it: index.mjs exporting `handler`. */
export const PREBUILT_HANDLER = 'index.handler';

/** The directory holding the function's prebuilt index.mjs, or undefined (bundle the sources). */
export function prebuiltFunctionDir(id: FunctionId, root: string = PREBUILT_FUNCTIONS_DIR): string | undefined {
  const dir = join(root, id);
  return existsSync(join(dir, 'index.mjs')) ? dir : undefined;
}
