/**
 * The house rules on imports (docs/ARCHITECTURE.md "Modules"), checked on the real source tree:
 * no import cycle anywhere in lib/ (type-only imports count), and the forbidden edges.
 */
import { describe, expect, it } from 'vitest';
import { cyclesOf, externalImports, importGraph } from '../../helpers/import-graph';

const graph = importGraph('lib');
const external = externalImports('lib');

/**
 * Cycles that exist today and are being removed (issue 11). The list may only shrink: a cycle
 * that is gone must be deleted from it, and a new one fails the test.
 */
const KNOWN_CYCLES: string[][] = [
  ['lib/broker/delivery.ts', 'lib/broker/intents.ts'],
  ['lib/client/node-socket.ts', 'lib/client/socket.ts'],
  [
    'lib/runtime/disconnect-path.ts',
    'lib/runtime/effects.ts',
    'lib/runtime/handlers.ts',
    'lib/runtime/inputs.ts',
    'lib/runtime/message.ts',
    'lib/runtime/pubsub.ts',
  ],
  ['lib/store/ports.ts', 'lib/store/scan.ts'],
];

const key = (cycle: string[]) => cycle.join(' ');

function importsOf(prefix: string): [string, string][] {
  const edges: [string, string][] = [];
  for (const [file, targets] of graph) {
    if (file.startsWith(prefix)) for (const t of targets) edges.push([file, t]);
  }
  return edges;
}

describe('imports in lib/', () => {
  it('form no cycle, type-only imports included', () => {
    const found = cyclesOf(graph).map(key).sort();
    expect(found).toEqual(KNOWN_CYCLES.map(key).sort());
  });

  it('lib/mqtt and lib/broker import no AWS SDK, aws-cdk-lib or Node networking', () => {
    const forbidden = /^(@aws-sdk\/|aws-cdk-lib|constructs$|node:(net|http|https|tls|dgram|dns)$|ws$)/;
    for (const [file, specs] of external) {
      if (!file.startsWith('lib/mqtt/') && !file.startsWith('lib/broker/')) continue;
      expect(specs.filter((s) => forbidden.test(s)), file).toEqual([]);
    }
    for (const [file, target] of [...importsOf('lib/mqtt/'), ...importsOf('lib/broker/')]) {
      expect(target, file).toMatch(/^lib\/(mqtt|broker|auth\/acl|auth\/types|api-gateway|zod-mini)/);
    }
  });

  it('lib/infra imports no runtime code beyond the table schemas and the API Gateway limits', () => {
    for (const [file, target] of importsOf('lib/infra/')) {
      expect(target, file).toMatch(/^lib\/(infra\/|store\/schema\.ts$|api-gateway\.ts$)/);
    }
  });

  it('lib/client imports nothing from runtime, store, infra or local', () => {
    for (const [file, target] of importsOf('lib/client/')) {
      expect(target, file).not.toMatch(/^lib\/(runtime|store|infra|local)\//);
    }
  });

  it('lib/auth imports nothing from lib/runtime', () => {
    for (const [file, target] of importsOf('lib/auth/')) expect(target, file).not.toMatch(/^lib\/runtime\//);
  });
});
