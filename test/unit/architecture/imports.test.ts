/**
 * The house rules on imports (docs/ARCHITECTURE.md "Modules"), checked on the real source tree:
 * no import cycle anywhere in lib/ (type-only imports count), and the forbidden edges.
 */
import { describe, expect, it } from 'vitest';
import { cyclesOf, externalImports, importGraph } from '../../helpers/import-graph';

const graph = importGraph('lib');
const external = externalImports('lib');

function importsOf(prefix: string): [string, string][] {
  const edges: [string, string][] = [];
  for (const [file, targets] of graph) {
    if (file.startsWith(prefix)) for (const t of targets) edges.push([file, t]);
  }
  return edges;
}

describe('imports in lib/', () => {
  it('reads the whole tree', () => {
    expect(graph.size).toBeGreaterThan(100);
    expect(graph.get('lib/runtime/message.ts')).toContain('lib/runtime/types.ts');
  });

  it('form no cycle, type-only imports included', () => {
    expect(cyclesOf(graph)).toEqual([]);
  });

  it('lib/mqtt and lib/broker import no AWS SDK, aws-cdk-lib or Node networking', () => {
    const forbidden = /^(@aws-sdk\/|aws-cdk-lib|constructs$|node:(net|http|https|tls|dgram|dns)$|ws$)/;
    for (const [file, specs] of external) {
      if (!file.startsWith('lib/mqtt/') && !file.startsWith('lib/broker/')) continue;
      expect(specs.filter((s) => forbidden.test(s)), file).toEqual([]);
    }
    for (const [file, target] of [...importsOf('lib/mqtt/'), ...importsOf('lib/broker/')]) {
      expect(target, file).toMatch(/^lib\/(mqtt\/|broker\/|auth\/acl\.ts$|auth\/types\.ts$|api-gateway\.ts$|zod-mini\.ts$)/);
    }
  });

  it('lib/infra imports no runtime code beyond the table schemas, the API Gateway limits and the ingress wire contract', () => {
    for (const [file, target] of importsOf('lib/infra/')) {
      expect(target, file).toMatch(/^lib\/(infra\/|store\/schema\.ts$|api-gateway\.ts$|ingress-wire\.ts$)/);
    }
  });

  it('the ingress wire contract, shared by lib/infra and the runtime, is a leaf', () => {
    expect(graph.get('lib/ingress-wire.ts')).toEqual([]);
    expect(external.get('lib/ingress-wire.ts')).toEqual([]);
  });

  it('lib/client (the bridge included) imports nothing from runtime, store, infra or local', () => {
    for (const [file, target] of importsOf('lib/client/')) {
      expect(target, file).not.toMatch(/^lib\/(runtime|store|infra|local)\//);
    }
  });

  it('lib/auth imports nothing from lib/runtime', () => {
    for (const [file, target] of importsOf('lib/auth/')) expect(target, file).not.toMatch(/^lib\/runtime\//);
  });

  it('lib/runtime does not know it runs locally: it imports nothing from lib/local', () => {
    for (const [file, target] of importsOf('lib/runtime/')) expect(target, file).not.toMatch(/^lib\/local\//);
  });
});
