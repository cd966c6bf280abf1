/**
 * Where a broker function's code comes from (lib/infra/lambda-code.ts): the prebuilt bundle when
 * the construct runs from the package's dist/, the TypeScript sources (NodejsFunction) in this
 * repository. The packaged path is exercised end to end by test/package/pack.test.ts (c).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FUNCTION_IDS } from '../../lib/infra/access';
import { prebuiltFunctionDir } from '../../lib/infra/lambda-code';

describe('prebuilt Lambda code', () => {
  let root: string | undefined;
  afterEach(() => {
    if (root) rmSync(root, { recursive: true, force: true });
    root = undefined;
  });

  it('is absent in the repository, so cdk synth here bundles the sources as before', () => {
    for (const id of FUNCTION_IDS) expect(prebuiltFunctionDir(id)).toBeUndefined();
  });

  it('is the directory holding <id>/index.mjs when there is one', () => {
    root = mkdtempSync(join(tmpdir(), 'stratus-prebuilt-'));
    mkdirSync(join(root, 'connect'));
    writeFileSync(join(root, 'connect', 'index.mjs'), 'export const handler = async () => ({ statusCode: 200 });\n');
    mkdirSync(join(root, 'message'));
    expect(prebuiltFunctionDir('connect', root)).toBe(join(root, 'connect'));
    expect(prebuiltFunctionDir('message', root)).toBeUndefined();
  });
});
