/**
 * The import graph of a source tree, read with TypeScript's own pre-processor: every `import`,
 * `import type`, `export … from` and dynamic `import()` counts, so a type-only cycle is a cycle.
 * Used by test/unit/architecture to keep lib/ free of cycles and forbidden imports.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

/** File (relative to `root`'s parent, with '/') → the files it imports, same form. */
export type ImportGraph = ReadonlyMap<string, readonly string[]>;

export function importGraph(root: string): ImportGraph {
  const base = dirname(resolve(root));
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles(resolve(root))) {
    const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    const targets = info.importedFiles
      .map((f) => f.fileName)
      .filter((spec) => spec.startsWith('.'))
      .map((spec) => resolveModule(dirname(file), spec))
      .filter((t): t is string => t !== undefined)
      .map((t) => toKey(base, t));
    graph.set(toKey(base, file), [...new Set(targets)]);
  }
  return graph;
}

/** The bare module specifiers (packages, `node:` modules) each file imports. */
export function externalImports(root: string): ReadonlyMap<string, readonly string[]> {
  const base = dirname(resolve(root));
  const out = new Map<string, string[]>();
  for (const file of sourceFiles(resolve(root))) {
    const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    out.set(toKey(base, file), info.importedFiles.map((f) => f.fileName).filter((s) => !s.startsWith('.')));
  }
  return out;
}

/** Every cycle, as the strongly connected components of more than one file (or a self-import). */
export function cyclesOf(graph: ImportGraph): string[][] {
  let index = 0;
  const indices = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string): void => {
    indices.set(v, index);
    low.set(v, index);
    index++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!indices.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, indices.get(w)!));
      }
    }
    if (low.get(v) === indices.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || (graph.get(v) ?? []).includes(v)) out.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!indices.has(v)) visit(v);
  return out;
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...sourceFiles(path));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

function resolveModule(fromDir: string, spec: string): string | undefined {
  const target = resolve(fromDir, spec);
  const candidates = [target, `${target}.ts`, target.replace(/\.js$/, '.ts'), join(target, 'index.ts')];
  return candidates.find((c) => c.endsWith('.ts') && exists(c));
}

function exists(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function toKey(base: string, file: string): string {
  return relative(base, file).split('\\').join('/');
}
