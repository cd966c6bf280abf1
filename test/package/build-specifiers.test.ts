/**
 * scripts/build-specifiers.ts: after tsc, the extensionless relative imports of dist/ become the
 * files Node's ESM loader needs; a doc comment's example import is left alone, and a specifier
 * that names no emitted module fails the build.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UnresolvedSpecifierError, rewriteSpecifiers } from '../../scripts/build-specifiers';

describe('rewriteSpecifiers', () => {
  let dist: string;
  beforeEach(() => {
    dist = mkdtempSync(join(tmpdir(), 'stratus-specifiers-'));
    mkdirSync(join(dist, 'bridge'));
    writeFileSync(join(dist, 'bridge', 'index.js'), 'export const bridge = 1;\n');
    writeFileSync(join(dist, 'stream.js'), 'export const stream = 1;\n');
  });
  afterEach(() => rmSync(dist, { recursive: true, force: true }));

  it('adds .js to a module and /index.js to a directory, in .js and .d.ts files alike', () => {
    const source = [
      '/**',
      " *   import { connect } from 'stratus-mqtt/client'; or from '../somewhere-else'",
      ' */',
      "import { stream } from './stream';",
      "export { bridge } from './bridge';",
      "const lazy = () => import('./stream');",
      "import mqtt from 'mqtt';",
    ].join('\n');
    writeFileSync(join(dist, 'index.js'), source);
    writeFileSync(join(dist, 'index.d.ts'), "export type { Stream } from './stream';\nexport declare const x: import('./bridge').Bridge;\n");
    expect(rewriteSpecifiers(dist)).toBe(2);
    expect(readFileSync(join(dist, 'index.js'), 'utf8').split('\n')).toEqual([
      '/**',
      " *   import { connect } from 'stratus-mqtt/client'; or from '../somewhere-else'",
      ' */',
      "import { stream } from './stream.js';",
      "export { bridge } from './bridge/index.js';",
      "const lazy = () => import('./stream.js');",
      "import mqtt from 'mqtt';",
    ]);
    expect(readFileSync(join(dist, 'index.d.ts'), 'utf8')).toBe("export type { Stream } from './stream.js';\nexport declare const x: import('./bridge/index.js').Bridge;\n");
  });

  it('fails on a specifier that names no emitted module', () => {
    writeFileSync(join(dist, 'index.js'), "import { gone } from './gone';\n");
    expect(() => rewriteSpecifiers(dist)).toThrow(UnresolvedSpecifierError);
  });
});
