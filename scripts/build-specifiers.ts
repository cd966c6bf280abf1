/**
 * The sources import each other without extensions (`moduleResolution: Bundler`), which Node's ESM
 * loader refuses. After tsc has emitted dist/, this rewrites every relative specifier of the emitted
 * `.js` and `.d.ts` files to the file Node loads: `./stream` → `./stream.js`, `./bridge` →
 * `./bridge/index.js`. A specifier that names no emitted file fails the build.
 */
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

/** `from '…'`, `import '…'`, `import('…')` and `export … from '…'`, relative specifiers only. */
const SPECIFIER = /(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(['"])(\.{1,2}\/[^'"]*|\.{1,2})\2/g;

/** Doc comments quote imports as examples; they are left as written. */
const COMMENT_LINE = /^\s*(\*|\/\*|\/\/)/;

export class UnresolvedSpecifierError extends Error {
  constructor(file: string, specifier: string) {
    super(`${file}: cannot resolve ${specifier} to an emitted module`);
    this.name = 'UnresolvedSpecifierError';
  }
}

function* filesUnder(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* filesUnder(path);
    else if (name.endsWith('.js') || name.endsWith('.d.ts')) yield path;
  }
}

function resolveSpecifier(file: string, specifier: string): string {
  if (specifier.endsWith('.js')) return specifier;
  const base = join(dirname(file), specifier);
  if (existsSync(`${base}.js`)) return `${specifier}.js`;
  if (existsSync(join(base, 'index.js'))) return `${specifier.replace(/\/$/, '')}/index.js`;
  throw new UnresolvedSpecifierError(file, specifier);
}

/** Rewrites the relative specifiers of every module under `dir`; returns how many files changed. */
export function rewriteSpecifiers(dir: string): number {
  let changed = 0;
  for (const file of filesUnder(dir)) {
    const text = readFileSync(file, 'utf8');
    // A declaration file's import resolves like its .js twin.
    const target = file.endsWith('.d.ts') ? file.slice(0, -'.d.ts'.length) + '.js' : file;
    const rewritten = text
      .split('\n')
      .map((line) =>
        COMMENT_LINE.test(line)
          ? line
          : line.replace(SPECIFIER, (_match, lead: string, quote: string, specifier: string) => `${lead}${quote}${resolveSpecifier(target, specifier)}${quote}`),
      )
      .join('\n');
    if (rewritten !== text) {
      writeFileSync(file, rewritten);
      changed++;
    }
  }
  if (changed === 0) throw new Error(`no module under ${relative(process.cwd(), dir)} imports another: was tsc run?`);
  return changed;
}
