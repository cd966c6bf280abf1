/**
 * scripts/spec-refs.ts, the parser behind `npm run spec-coverage`: small inline samples, then the
 * real lib/ and test/ trees, which must hold no malformed reference. The samples build their IDs
 * with `id()` so that this file's own text cites nothing.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { compareIds, coverageOf, parseSpecRefs, readTree, untested } from '../../scripts/spec-refs';

const id = (rest: string) => `MQTT-${rest}`;

describe('parseSpecRefs', () => {
  it('finds IDs in brackets, comments and specRef strings, with their lines', () => {
    const text = [
      `// closes it [${id('3.1.2-22')}].`,
      `throw new E('x', { specRef: '${id('3.1.0-2')}' });`,
      `it('a test [${id('4.7.1-1')}] [${id('4.7.1-2')}]', () => {});`,
      `/** two in one bracket [${id('3.1.2-1')}, ${id('3.1.2-2')}] */`,
    ].join('\n');
    const { refs, malformed } = parseSpecRefs(text);
    expect(malformed).toEqual([]);
    expect(refs.map((r) => [r.id, r.line])).toEqual([
      [id('3.1.2-22'), 1],
      [id('3.1.0-2'), 2],
      [id('4.7.1-1'), 3],
      [id('4.7.1-2'), 3],
      [id('3.1.2-1'), 4],
      [id('3.1.2-2'), 4],
    ]);
    expect(refs.every((r) => r.version === '5.0')).toBe(true);
  });

  it('keeps a sentence-ending dot and a following colon out of the ID', () => {
    const { refs, malformed } = parseSpecRefs(`see ${id('4.7.3-1')}. And [${id('4.7.2-1')}: not first]`);
    expect(malformed).toEqual([]);
    expect(refs.map((r) => r.id)).toEqual([id('4.7.3-1'), id('4.7.2-1')]);
  });

  it('reads IDs in "(3.1.1: …)" or right after "3.1.1:" as 3.1.1 IDs', () => {
    const text = `[${id('3.2.2-7')}] (3.1.1: [${id('3.2.2-5')}], [${id('3.2.2-4')}]) specRef: '3.1.1: ${id('3.1.2-22')}'`;
    const { refs } = parseSpecRefs(text);
    expect(refs.map((r) => `${r.version} ${r.id}`)).toEqual([
      `5.0 ${id('3.2.2-7')}`,
      `3.1.1 ${id('3.2.2-5')}`,
      `3.1.1 ${id('3.2.2-4')}`,
      `3.1.1 ${id('3.1.2-22')}`,
    ]);
  });

  it.each([
    ['placeholder', `[${id('3.1.2-?')}]`, id('3.1.2-?'), 'placeholder'],
    ['section in brackets', `[${id('4.8.2')}]`, id('4.8.2'), 'section number'],
    ['four-part section', `[${id('3.3.1.3')}]`, id('3.3.1.3'), 'section number'],
    ['section in a string', `specRef: '${id('2.2.2.2')}'`, id('2.2.2.2'), 'section number'],
    ['section ending a sentence', `see ${id('4.7')}.`, id('4.7'), 'section number'],
    ['two-part section with a number', `[${id('4.7-1')}]`, id('4.7-1'), 'three numbers'],
    ['range', `[${id('1.5.4-1..3')}]`, id('1.5.4-1..3'), 'in full'],
    ['list', `[${id('3.1.2-1/-2')}]`, id('3.1.2-1/-2'), 'in full'],
  ])('flags a %s as malformed', (_name, text, found, reason) => {
    const { refs, malformed } = parseSpecRefs(`x\n${text}`);
    expect(refs).toEqual([]);
    expect(malformed).toHaveLength(1);
    expect(malformed[0].text).toBe(found);
    expect(malformed[0].line).toBe(2);
    expect(malformed[0].reason).toContain(reason);
  });

  it('ignores words that only start like an ID', () => {
    expect(parseSpecRefs('MQTT-connected, MQTT 5.0 section 4.8.2, mqtt-3.1.2-1')).toEqual({ refs: [], malformed: [] });
  });
});

describe('coverageOf', () => {
  const coverage = coverageOf([
    { path: 'lib/a.ts', place: 'lib', text: `[${id('3.1.2-10')}] [${id('3.1.2-8')}] [${id('3.1.2-8')}]` },
    { path: 'lib/b.ts', place: 'lib', text: `[${id('3.1.2-8')}] (3.1.1: [${id('3.1.2-24')}])` },
    { path: 'test/a.test.ts', place: 'test', text: `[${id('3.1.2-8')}] [${id('4.8.2')}]` },
  ]);

  it('counts each ID per place and per file, ordered by version then section and number', () => {
    expect(coverage.ids.map((c) => [c.version, c.id, c.counts.lib, c.counts.test])).toEqual([
      ['5.0', id('3.1.2-8'), 3, 1],
      ['5.0', id('3.1.2-10'), 1, 0],
      ['3.1.1', id('3.1.2-24'), 1, 0],
    ]);
    expect(coverage.ids[0].files.lib).toEqual({ 'lib/a.ts': 2, 'lib/b.ts': 1 });
    expect(coverage.malformed).toEqual([{ text: id('4.8.2'), line: 1, reason: expect.any(String), file: 'test/a.test.ts' }]);
  });

  it('lists what lib/ cites and no test does', () => {
    expect(untested(coverage).map((c) => `${c.version} ${c.id}`)).toEqual([`5.0 ${id('3.1.2-10')}`, `3.1.1 ${id('3.1.2-24')}`]);
  });

  it('orders IDs numerically', () => {
    expect([id('3.10.1-1'), id('3.1.2-10'), id('3.1.2-8')].sort(compareIds)).toEqual([
      id('3.1.2-8'),
      id('3.1.2-10'),
      id('3.10.1-1'),
    ]);
  });
});

describe('the real tree', () => {
  const coverage = coverageOf(readTree(fileURLToPath(new URL('../..', import.meta.url))));

  it('reads lib/ and test/', () => {
    expect(coverage.ids.filter((c) => c.counts.lib > 0).length).toBeGreaterThan(100);
    expect(coverage.ids.filter((c) => c.counts.test > 0).length).toBeGreaterThan(100);
  });

  it('holds no malformed spec reference', () => {
    expect(coverage.malformed.map((m) => `${m.file}:${m.line} ${m.text}`)).toEqual([]);
  });
});
