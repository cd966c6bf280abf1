/**
 * The zod every Lambda bundle uses: `zod/mini` with zod's English messages, plus `integer`.
 * Import it as a namespace, `import * as z from '../zod-mini'`, never `zod/mini` or `zod` directly.
 *
 * Classic `zod` puts every method on every schema, so a bundler keeps all of it (about 440 KB
 * minified, half of a handler's bundle); `zod/mini` has the same core and the same issues, but a
 * functional API that tree-shakes to what the schemas use (docs/PERFORMANCE.md, "Lambda bundles").
 * esbuild only tree-shakes it through namespace imports and `export *`: a re-exported namespace
 * object (`import { z } from 'zod/mini'`, `export * as z`) keeps all of zod, every locale included.
 *
 * Unlike classic `zod`, `zod/mini` loads no locale, so every issue would read "Invalid input":
 * this module loads the English one (about 3 KB), so messages read as with classic `zod`, e.g.
 * "Too big: expected number to be <=98304". Code that never reaches a bundle (lib/cli, lib/local)
 * may keep classic `zod`; both share zod's global configuration, the English locale in both.
 */
import en from 'zod/v4/locales/en.js';
import * as z from 'zod/mini';

z.config(en());

export * from 'zod/mini';

/** An integer in [min, max], as classic `z.number().int().min(min).max(max)`. */
export function integer(min: number, max: number) {
  return z.number().check(z.int(), z.minimum(min), z.maximum(max));
}
