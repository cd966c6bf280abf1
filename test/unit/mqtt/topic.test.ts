import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TopicFilterInvalidError, TopicNameInvalidError } from '../../../lib/mqtt/errors';
import {
  candidateRouteKeys,
  isValidTopicFilter,
  isValidTopicName,
  matches,
  parseSharedSubscription,
  routeKey,
  topicLevels,
  validateTopicFilter,
  validateTopicName,
} from '../../../lib/mqtt/topic';

/** Obviously correct matching: split both and compare level by level. */
function referenceMatches(filter: string, topic: string): boolean {
  if (topic.startsWith('$') && (filter.startsWith('+') || filter.startsWith('#'))) return false;
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true; // the rest, zero levels included
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

/** Obviously correct wildcard placement: every wildcard is a whole level, '#' only the last. */
function referenceFilterWildcardsOk(filter: string): boolean {
  const levels = filter.split('/');
  return levels.every(
    (level, i) =>
      !/[+#]/.test(level) || level === '+' || (level === '#' && i === levels.length - 1),
  );
}

function thrown(fn: () => void): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

describe('matches', () => {
  // [filter, topic, expected, why]
  const table: [string, string, boolean, string][] = [
    ['sport/tennis/player1/#', 'sport/tennis/player1', true, 'MQTT-4.7.1-1 # includes the parent level'],
    ['sport/tennis/player1/#', 'sport/tennis/player1/ranking', true, 'MQTT-4.7.1-1 one child level'],
    ['sport/tennis/player1/#', 'sport/tennis/player1/score/wimbledon', true, 'MQTT-4.7.1-1 two child levels'],
    ['sport/tennis/player1/#', 'sport/tennis/player2', false, 'MQTT-4.7.1-1 sibling level'],
    ['sport/#', 'sport', true, 'MQTT-4.7.1-1 sport/# matches sport'],
    ['sport/#', 'sport/', true, 'MQTT-4.7.1-1 # matches an empty child level'],
    ['sport/#', 'sports', false, 'MQTT-4.7.1-1 level names are compared whole'],
    ['#', 'sport/tennis', true, 'MQTT-4.7.1-1 # alone matches everything'],
    ['#', '/finance', true, 'MQTT-4.7.1-1 # matches a leading empty level'],
    ['sport/tennis/+', 'sport/tennis/player1', true, 'MQTT-4.7.1-2 + matches one level'],
    ['sport/tennis/+', 'sport/tennis/player1/ranking', false, 'MQTT-4.7.1-2 + matches only one level'],
    ['sport/+', 'sport', false, 'MQTT-4.7.1-2 sport/+ does not match sport'],
    ['sport/+', 'sport/', true, 'MQTT-4.7.1-2 + matches an empty level'],
    ['+', 'sport', true, 'MQTT-4.7.1-2 + alone'],
    ['+', '/finance', false, 'MQTT-4.7.1-2 /finance has two levels'],
    ['+/+', '/finance', true, 'MQTT-4.7.1-2 +/+ matches /finance'],
    ['/+', '/finance', true, 'MQTT-4.7.1-2 /+ matches /finance'],
    ['+/+', 'a/b/c', false, 'MQTT-4.7.1-2 +/+ needs exactly two levels'],
    ['+/tennis/#', 'sport/tennis/player1', true, 'MQTT-4.7.1-2 wildcards combined'],
    ['sport/+/player1', 'sport/tennis/player1', true, 'MQTT-4.7.1-2 + in the middle'],
    ['sport/+/player1', 'sport//player1', true, 'MQTT-4.7.1-2 + matches an empty middle level'],
    ['#', '$SYS/broker/uptime', false, 'MQTT-4.7.2-1 # does not match $ topics'],
    ['+/monitor/Clients', '$SYS/monitor/Clients', false, 'MQTT-4.7.2-1 + does not match $ topics'],
    ['$SYS/#', '$SYS/monitor/Clients', true, 'MQTT-4.7.2-1 $SYS/# matches $SYS topics'],
    ['$SYS/monitor/+', '$SYS/monitor/Clients', true, 'MQTT-4.7.2-1 + after a literal $ level'],
    ['$SYS/#', '$SYS', true, 'MQTT-4.7.2-1 $SYS/# matches $SYS'],
    ['a/$b/+', 'a/$b/c', true, 'MQTT-4.7.2-1 only the first character of the topic counts'],
    ['/finance', '/finance', true, 'MQTT 5.0 section 4.7.3: leading / makes an empty first level'],
    ['/finance', 'finance', false, 'MQTT 5.0 section 4.7.3: /finance and finance differ'],
    ['finance/', 'finance', false, 'MQTT 5.0 section 4.7.3: a trailing / makes an empty last level'],
    ['finance', 'finance/', false, 'MQTT 5.0 section 4.7.3: finance/ has two levels'],
    ['a//b', 'a//b', true, 'MQTT 5.0 section 4.7.3: empty middle level'],
    ['a//b', 'a/b', false, 'MQTT 5.0 section 4.7.3: empty levels are levels'],
    ['ACCOUNTS', 'Accounts', false, 'MQTT 5.0 section 4.7.3: case sensitive'],
    ['a b/c', 'a b/c', true, 'MQTT 5.0 section 4.7.3: spaces are ordinary characters'],
    ['ab', 'a', false, 'literal longer than the topic'],
    ['a', 'ab', false, 'topic level longer than the literal'],
    ['a/b', 'a', false, 'filter has more levels'],
    ['a', 'a/b', false, 'topic has more levels'],
  ];

  it.each(table)('[%s] vs [%s] -> %s (%s)', (filter, topic, expected) => {
    expect(isValidTopicFilter(filter)).toBe(true);
    expect(isValidTopicName(topic)).toBe(true);
    expect(matches(filter, topic)).toBe(expected);
    expect(referenceMatches(filter, topic)).toBe(expected);
  });

  const level = fc.constantFrom('a', 'b', 'ab', '', '$a', 'é');
  const topicArb = fc
    .array(level, { minLength: 1, maxLength: 6 })
    .map((levels) => levels.join('/'))
    .filter((t) => t.length > 0);
  const filterArb = fc
    .tuple(fc.array(fc.oneof(level, fc.constant('+')), { minLength: 1, maxLength: 6 }), fc.boolean())
    .map(([levels, hash]) => (hash ? [...levels, '#'] : levels).join('/'))
    .filter((f) => f.length > 0);
  /** A filter derived from the topic, so that matches are frequent. */
  const derivedArb = topicArb.chain((topic) =>
    fc
      .tuple(
        fc.array(fc.boolean(), { minLength: 6, maxLength: 6 }),
        fc.integer({ min: 0, max: 7 }),
        fc.boolean(),
      )
      .map(([plus, cut, hash]) => {
        const levels = topic.split('/').map((l, i) => (plus[i] ? '+' : l));
        const kept = levels.slice(0, Math.min(cut, levels.length));
        const filter = (hash ? [...kept, '#'] : levels).join('/');
        return { filter: filter.length > 0 ? filter : '#', topic };
      }),
  );

  it('MQTT 5.0 section 4.7: agrees with the reference implementation on random filters', () => {
    fc.assert(
      fc.property(filterArb, topicArb, (filter, topic) => {
        expect(matches(filter, topic)).toBe(referenceMatches(filter, topic));
      }),
      { numRuns: 5000 },
    );
  });

  it('MQTT 5.0 section 4.7: agrees with the reference implementation on filters derived from the topic', () => {
    fc.assert(
      fc.property(derivedArb, ({ filter, topic }) => {
        expect(isValidTopicFilter(filter)).toBe(true);
        expect(matches(filter, topic)).toBe(referenceMatches(filter, topic));
      }),
      { numRuns: 5000 },
    );
  });

  it('a topic name used as a filter matches itself', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }).filter(isValidTopicName), (topic) => {
        expect(matches(topic, topic)).toBe(true);
      }),
    );
  });
});

describe('validateTopicName', () => {
  it.each(['a', '/', '//', 'sport/tennis', '$SYS/x', ' ', 'é/😀', 'a b'])('accepts [%s]', (name) => {
    expect(() => validateTopicName(name)).not.toThrow();
    expect(isValidTopicName(name)).toBe(true);
  });

  // [name, spec ref]
  const invalid: [string, string][] = [
    ['', 'MQTT-4.7.3-1'],
    ['a\u0000b', 'MQTT-4.7.3-2'],
    ['sport/+', 'MQTT-3.3.2-2'],
    ['sport/#', 'MQTT-3.3.2-2'],
    ['sp+rt', 'MQTT-3.3.2-2'],
    ['#', 'MQTT-3.3.2-2'],
    ['a\ud800b', 'MQTT-1.5.4-1'],
    ['a\udc00', 'MQTT-1.5.4-1'],
    ['a'.repeat(65_536), 'MQTT-4.7.3-3'],
    ['é'.repeat(32_768), 'MQTT-4.7.3-3'],
    ['😀'.repeat(16_384), 'MQTT-4.7.3-3'],
  ];

  it.each(invalid)('[%#] rejects with 0x90 [%s]', (name, specRef) => {
    const error = thrown(() => validateTopicName(name));
    expect(error).toBeInstanceOf(TopicNameInvalidError);
    expect((error as TopicNameInvalidError).reasonCode).toBe(0x90);
    expect((error as TopicNameInvalidError).specRef).toBe(specRef);
    expect(isValidTopicName(name)).toBe(false);
  });

  it('MQTT-4.7.3-3 accepts exactly 65,535 bytes', () => {
    expect(isValidTopicName('a'.repeat(65_535))).toBe(true);
    expect(isValidTopicName('é'.repeat(32_767) + 'a')).toBe(true);
    expect(isValidTopicName('😀'.repeat(16_383) + 'abc')).toBe(true);
  });
});

describe('validateTopicFilter', () => {
  it.each([
    'sport/tennis/player1/#',
    'sport/#',
    '#',
    '+',
    '+/+',
    '/+',
    '+/tennis/#',
    'sport/+/player1',
    '$SYS/#',
    '/finance',
    'finance/',
    'a//b',
    '$share/g/x', // an ordinary filter here; see parseSharedSubscription
  ])('accepts [%s]', (filter) => {
    expect(() => validateTopicFilter(filter)).not.toThrow();
  });

  const invalid: [string, string][] = [
    ['', 'MQTT-4.7.3-1'],
    ['a\u0000', 'MQTT-4.7.3-2'],
    ['a'.repeat(65_536), 'MQTT-4.7.3-3'],
    ['sport/tennis#', 'MQTT-4.7.1-1'],
    ['sport/tennis/#/ranking', 'MQTT-4.7.1-1'],
    ['#/', 'MQTT-4.7.1-1'],
    ['##', 'MQTT-4.7.1-1'],
    ['sport+', 'MQTT-4.7.1-2'],
    ['+sport', 'MQTT-4.7.1-2'],
    ['sport/+tennis/#', 'MQTT-4.7.1-2'],
    ['++', 'MQTT-4.7.1-2'],
  ];

  it.each(invalid)('[%s] rejects with 0x8F [%s]', (filter, specRef) => {
    const error = thrown(() => validateTopicFilter(filter));
    expect(error).toBeInstanceOf(TopicFilterInvalidError);
    expect((error as TopicFilterInvalidError).reasonCode).toBe(0x8f);
    expect((error as TopicFilterInvalidError).specRef).toBe(specRef);
    expect(isValidTopicFilter(filter)).toBe(false);
  });

  it('MQTT-4.7.1-1 MQTT-4.7.1-2 agrees with the reference on random strings', () => {
    const chars = fc.constantFrom('a', '/', '+', '#', '$');
    fc.assert(
      fc.property(fc.string({ unit: chars, minLength: 1, maxLength: 8 }), (filter) => {
        expect(isValidTopicFilter(filter)).toBe(referenceFilterWildcardsOk(filter));
      }),
      { numRuns: 5000 },
    );
  });
});

describe('parseSharedSubscription', () => {
  it.each([
    ['$share/group/sport/#', 'group', 'sport/#'],
    ['$share/g/+', 'g', '+'],
    ['$share/g//a', 'g', '/a'],
    ['$share/$g/$SYS/#', '$g', '$SYS/#'],
  ])('MQTT 5.0 section 4.8.2: [%s] -> %s + %s', (filter, shareName, topicFilter) => {
    expect(parseSharedSubscription(filter)).toEqual({ shareName, topicFilter });
  });

  it.each(['sport/#', '$share', '$SHARE/g/a', '$sharex/g/a', '#', '$SYS/#'])('[%s] is not shared', (filter) => {
    expect(parseSharedSubscription(filter)).toBeUndefined();
  });

  const invalid: [string, string][] = [
    ['$share/', 'MQTT-4.8.2-1'],
    ['$share//a', 'MQTT-4.8.2-1'],
    ['$share/g', 'MQTT-4.8.2-2'],
    ['$share/g/', 'MQTT-4.8.2-2'],
    ['$share/g+/a', 'MQTT-4.8.2-2'],
    ['$share/+/a', 'MQTT-4.8.2-2'],
    ['$share/#/a', 'MQTT-4.8.2-2'],
    ['$share/g/a#', 'MQTT-4.7.1-1'],
    ['$share/g/a+', 'MQTT-4.7.1-2'],
  ];

  it.each(invalid)('[%s] rejects with 0x8F [%s]', (filter, specRef) => {
    const error = thrown(() => parseSharedSubscription(filter));
    expect(error).toBeInstanceOf(TopicFilterInvalidError);
    expect((error as TopicFilterInvalidError).reasonCode).toBe(0x8f);
    expect((error as TopicFilterInvalidError).specRef).toBe(specRef);
  });
});

describe('index keys', () => {
  it('topicLevels keeps empty levels', () => {
    expect(topicLevels('a//b/')).toEqual(['a', '', 'b', '']);
    expect(topicLevels('/finance')).toEqual(['', 'finance']);
  });

  it.each([
    ['a/b/c', 2, 'a/b'],
    ['a/+/c/d', 2, 'a/+'],
    ['a/#', 2, 'a/+'],
    ['a/b/#', 2, 'a/b'],
    ['a/b/#', 3, 'a/b/+'],
    ['a', 2, 'a'],
    ['#', 2, '+'],
    ['+/b', 2, '+'],
    ['a/b', 1, 'a'],
    ['/a', 2, '/a'],
    ['/', 2, '/'],
    ['/#', 2, '/+'],
    ['$SYS/#', 2, '$SYS/+'],
  ] as const)('routeKey(%s, %d) is %s', (filter, depth, key) => {
    expect(routeKey(filter, depth)).toBe(key);
  });

  it('candidateRouteKeys lists the keys for a topic: depth + 1 at most', () => {
    expect(candidateRouteKeys('plant/42/cmd')).toEqual(['+', 'plant/+', 'plant/42']);
    expect(candidateRouteKeys('a', 2)).toEqual(['+', 'a/+', 'a']); // 'a/#' matches 'a'
    expect(candidateRouteKeys('a/b', 1)).toEqual(['+', 'a']);
    expect(candidateRouteKeys('a/b', 3)).toEqual(['+', 'a/+', 'a/b/+', 'a/b']);
    expect(candidateRouteKeys('$SYS/x')).toEqual(['$SYS/+', '$SYS/x']); // [MQTT-4.7.2-1]: no '+' key
  });

  it('routes the Sparkplug B namespace four levels deep, everything else two', () => {
    expect(routeKey('spBv1.0/G1/NCMD/node-7')).toBe('spBv1.0/G1/NCMD/node-7');
    expect(routeKey('spBv1.0/G1/DCMD/node-7/#')).toBe('spBv1.0/G1/DCMD/node-7');
    expect(routeKey('spBv1.0/#')).toBe('spBv1.0/+');
    expect(routeKey('plant/7/cmd/x')).toBe('plant/7');
    expect(candidateRouteKeys('spBv1.0/G1/NDATA/node-7')).toEqual(['+', 'spBv1.0/+', 'spBv1.0/G1/+', 'spBv1.0/G1/NDATA/+', 'spBv1.0/G1/NDATA/node-7']);
  });

  it('MQTT 5.0 section 4.7: with the default depths, every matching filter has its key among the candidates', () => {
    const level = fc.constantFrom('a', 'spBv1.0', '', '$a', 'b');
    const topic = fc.array(level, { minLength: 1, maxLength: 6 }).map((l) => l.join('/')).filter((t) => t !== '');
    const filter = fc
      .tuple(fc.array(fc.oneof(level, fc.constant('+')), { minLength: 0, maxLength: 6 }), fc.boolean())
      .map(([levels, hash]) => (hash || levels.length === 0 ? [...levels, '#'] : levels).join('/'))
      .filter((f) => f !== '');
    fc.assert(
      fc.property(filter, topic, (f, t) => {
        fc.pre(matches(f, t));
        expect(candidateRouteKeys(t)).toContain(routeKey(f));
      }),
      { numRuns: 3000 },
    );
  });

  it('MQTT 5.0 section 4.7: every matching filter has its key among the candidates', () => {
    const level = fc.constantFrom('a', 'b', '', '$a');
    const topic = fc.array(level, { minLength: 1, maxLength: 5 }).map((l) => l.join('/')).filter((t) => t !== '');
    const filter = fc
      .tuple(fc.array(fc.oneof(level, fc.constant('+')), { minLength: 0, maxLength: 5 }), fc.boolean())
      .map(([levels, hash]) => (hash || levels.length === 0 ? [...levels, '#'] : levels).join('/'))
      .filter((f) => f !== '');
    fc.assert(
      fc.property(filter, topic, fc.integer({ min: 1, max: 4 }), (f, t, depth) => {
        fc.pre(matches(f, t));
        expect(candidateRouteKeys(t, depth)).toContain(routeKey(f, depth));
      }),
      { numRuns: 3000 },
    );
  });
});
