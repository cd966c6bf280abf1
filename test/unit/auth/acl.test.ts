import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  canPublish,
  canSubscribe,
  compileAcl,
  describeRule,
  validateAclRule,
  type AclSubject,
  validateRulePattern,
} from '../../../lib/auth/acl';
import { filterCovers, filterIntersects } from '../../../lib/auth/filter-algebra';
import type { AclAction, AclEffect, AclRule, ConnectionAcl, PrincipalAccess } from '../../../lib/auth/types';
import { matches } from '../../../lib/mqtt/topic';

let nextId = 0;
const rule = (effect: AclEffect, actions: AclAction[], pattern: string): AclRule => ({
  id: `r${nextId++}`,
  effect,
  actions,
  pattern,
});
const allow = (pattern: string, actions: AclAction[] = ['publish', 'subscribe']) => rule('allow', actions, pattern);
const deny = (pattern: string, actions: AclAction[] = ['publish', 'subscribe']) => rule('deny', actions, pattern);

const alice: AclSubject = { username: 'alice', clientId: 'dev-1' };
const access = (rules: AclRule[], defaultEffect: AclEffect = 'deny'): PrincipalAccess => ({ defaultEffect, rules });
const compiled = (rules: AclRule[], defaultEffect: AclEffect = 'deny', who: AclSubject = alice): ConnectionAcl =>
  compileAcl(access(rules, defaultEffect), who);
const filters = (acl: ConnectionAcl) => acl.rules.map((r) => `${r.effect} ${r.filter}`);

describe('validateRulePattern', () => {
  it.each([
    'a/b',
    '#',
    '+/x',
    'plant/%u/#',
    '%c',
    'devices/%c/+/status',
    'dev-%u/x', // a placeholder may be part of a level
    '%u-%c',
    '$SYS/broker/#',
    'percent/%%/x', // %% is a literal %
    '$share', // a bare $share is an ordinary filter
    '$share/g/a', // a share rule: joining group g on filter a
    '$share/+/plant/#', // any group
    '$share/%u/plant/%u/#',
    '$share/team-%c/x',
  ])('accepts %s', (pattern) => {
    expect(validateRulePattern(pattern)).toBeUndefined();
  });

  it.each([
    ['', 'empty'],
    ['$share/g', '$share/{group}/{filter}'],
    ['$share//a', '$share/{group}/{filter}'],
    ['$share/g/', '$share/{group}/{filter}'],
    ['$share/a+b/x', 'one level'], // [MQTT-4.8.2-2] no wildcard inside a share name
    ['$share/#/x', 'one level'],
    ['$share/g/a/#/b', 'MQTT-4.7.1-1'],
    ['a/%x', 'placeholder'],
    ['a/%', 'placeholder'],
    ['a/%U', 'placeholder'],
    ['a/#/b', 'MQTT-4.7.1-1'],
    ['a/b#', 'MQTT-4.7.1-1'],
    ['a/%u#', 'MQTT-4.7.1-1'], // '#' must stand alone even next to a placeholder
    ['a/+%c', 'MQTT-4.7.1-2'],
    ['a\u0000b', 'MQTT-4.7.3-2'],
  ])('refuses %j (%s)', (pattern, why) => {
    expect(validateRulePattern(pattern)).toContain(why);
  });
});

describe('validateAclRule and describeRule', () => {
  it('checks id, effect, actions and pattern', () => {
    expect(validateAclRule(allow('a/#'))).toBeUndefined();
    expect(validateAclRule({ ...allow('a/#'), id: '' })).toBeDefined();
    expect(validateAclRule({ ...allow('a/#'), effect: 'maybe' as AclEffect })).toBeDefined();
    expect(validateAclRule(allow('a/#', []))).toBeDefined();
    expect(validateAclRule(allow('a/#', ['publish', 'publish']))).toBeDefined();
    expect(validateAclRule(allow('a/#', ['read' as AclAction]))).toBeDefined();
    expect(validateAclRule(allow('a/#/b'))).toBeDefined();
  });

  it('describes a rule in one line, actions in a fixed order', () => {
    expect(describeRule(deny('plant/%u/#', ['subscribe', 'publish']))).toBe('deny publish,subscribe plant/%u/#');
    expect(describeRule(allow('a/+', ['subscribe']))).toBe('allow subscribe a/+');
  });
});

describe('compileAcl', () => {
  it('substitutes %u and %c, whole levels or within a level, and %% as a literal %', () => {
    const acl = compiled([allow('plant/%u/#'), allow('dev/%c/+'), allow('x/%u-%c'), deny('p/%%/%u')]);
    expect(filters(acl)).toEqual(['allow plant/alice/#', 'allow dev/dev-1/+', 'allow x/alice-dev-1', 'deny p/%/alice']);
  });

  it('keeps the default and the actions', () => {
    const acl = compiled([allow('a', ['subscribe']), deny('b', ['publish'])], 'allow');
    expect(acl).toEqual({
      defaultEffect: 'allow',
      rules: [
        { effect: 'allow', publish: false, subscribe: true, filter: 'a' },
        { effect: 'deny', publish: true, subscribe: false, filter: 'b' },
      ],
    });
  });

  it.each([
    ['empty', ''],
    ['a level separator', 'a/b'],
    ['a single-level wildcard', '+'],
    ['a multi-level wildcard', '#'],
    ['a wildcard inside', 'x#y'],
    ['NUL', 'a\u0000'],
    ['a lone surrogate', 'a\ud800'],
  ])('drops allow rules that need a client id with %s, and widens deny rules to +', (_, clientId) => {
    const acl = compiled([allow('dev/%c/#'), allow('open/#'), deny('dev/%c/secret'), deny('x-%c/y')], 'deny', {
      username: 'alice',
      clientId,
    });
    expect(filters(acl)).toEqual(['allow open/#', 'deny dev/+/secret', 'deny +/y']);
  });

  it('drops allow rules that need the username of an anonymous client; its deny rules widen', () => {
    const acl = compiled([allow('u/%u/#'), allow('c/%c'), deny('u/%u/#')], 'allow', { username: null, clientId: 'c1' });
    expect(filters(acl)).toEqual(['allow c/c1', 'deny u/+/#']);
  });

  it('does not let a value starting with $ open a $ topic through an allow rule', () => {
    const who = { username: 'alice', clientId: '$SYS' };
    const acl = compiled([allow('%c/#'), allow('dev/%c'), deny('%c/x')], 'deny', who);
    expect(filters(acl)).toEqual(['allow dev/$SYS', 'deny $SYS/x']);
    expect(canPublish(acl, '$SYS/anything')).toBe(false);
  });

  it('never produces an invalid filter: a corrupt deny pattern denies everything, a corrupt allow is dropped', () => {
    const acl = compiled([allow('a/#/b'), deny('a/#/b'), allow('a/%q'), deny('a/%q')]);
    expect(filters(acl)).toEqual(['deny #', 'deny #']);
  });

  it('drops a rule without actions', () => {
    expect(compiled([allow('a', [])]).rules).toEqual([]);
  });
});

describe('canPublish', () => {
  it('is unrestricted without an acl', () => {
    expect(canPublish(null, 'anything')).toBe(true);
  });

  it('refuses every client publish to a topic starting with $, whatever the rules (MQTT 5.0 section 4.7.2)', () => {
    expect(canPublish(null, '$SYS/broker/uptime')).toBe(false);
    expect(canPublish(compiled([], 'allow', { username: null, clientId: 'c' }), '$SYS/x')).toBe(false);
    expect(canPublish(compiled([allow('$SYS/#', ['publish'])]), '$SYS/x')).toBe(false);
    expect(canPublish(compiled([allow('$share/g/#', ['subscribe'])], 'allow'), '$share/g/x')).toBe(false);
    expect(canPublish(null, 'a/$SYS')).toBe(true); // only a leading $ is the server's
  });

  it('denies what no rule allows for an authenticated principal', () => {
    const acl = compiled([allow('plant/%u/#', ['publish'])]);
    expect(canPublish(acl, 'plant/alice/t1')).toBe(true);
    expect(canPublish(acl, 'plant/alice')).toBe(true); // '#' matches the parent level
    expect(canPublish(acl, 'plant/bob/t1')).toBe(false);
    expect(canPublish(acl, 'other')).toBe(false);
  });

  it('lets deny beat allow, in any order', () => {
    for (const rules of [
      [allow('a/#'), deny('a/secret/#')],
      [deny('a/secret/#'), allow('a/#')],
    ]) {
      const acl = compiled(rules);
      expect(canPublish(acl, 'a/open')).toBe(true);
      expect(canPublish(acl, 'a/secret/x')).toBe(false);
    }
  });

  it('only uses rules with the publish action', () => {
    const acl = compiled([allow('a/#', ['subscribe']), deny('b/#', ['subscribe'])], 'allow');
    expect(canPublish(compiled([allow('a/#', ['subscribe'])]), 'a/x')).toBe(false);
    expect(canPublish(acl, 'b/x')).toBe(true);
  });

  it('allows what no rule denies for anonymous clients', () => {
    const acl = compiled([deny('$SYS/#'), deny('private/#', ['publish'])], 'allow', { username: null, clientId: 'c' });
    expect(canPublish(acl, 'public/x')).toBe(true);
    expect(canPublish(acl, 'private/x')).toBe(false);
    expect(canPublish(acl, '$SYS/x')).toBe(false);
  });

  it('an allow rule starting with a wildcard does not reach $ topics [MQTT-4.7.2-1]; a deny rule does', () => {
    expect(canPublish(compiled([allow('#')]), '$SYS/x')).toBe(false);
    // A deny fences $ topics off too: an anonymous client fenced by `deny #` gets nothing.
    expect(canPublish(compiled([deny('+/x')], 'allow'), '$a/x')).toBe(false);
    expect(canPublish(compiled([deny('#')], 'allow'), '$x/y')).toBe(false);
    expect(canPublish(compiled([deny('+/x')], 'allow'), '$a/y')).toBe(false); // no client publishes to a $ topic
  });
});

describe('canSubscribe', () => {
  it('is unrestricted without an acl', () => {
    expect(canSubscribe(null, '#')).toBe(true);
  });

  it('allows a filter that an allow rule covers, and only then (default deny)', () => {
    const acl = compiled([allow('a/#', ['subscribe']), allow('b/+', ['subscribe'])]);
    expect(canSubscribe(acl, 'a/+/b')).toBe(true);
    expect(canSubscribe(acl, 'a')).toBe(true);
    expect(canSubscribe(acl, 'a/#')).toBe(true);
    expect(canSubscribe(acl, 'b/x')).toBe(true);
    expect(canSubscribe(acl, 'b/+')).toBe(true);
    expect(canSubscribe(acl, 'b/#')).toBe(false); // 'b/#' also matches 'b' and 'b/x/y'
    expect(canSubscribe(acl, '#')).toBe(false);
    expect(canSubscribe(acl, '+/x')).toBe(false);
  });

  it('denies a filter that intersects a deny rule, even if an allow rule covers it', () => {
    const acl = compiled([allow('a/#'), deny('a/secret/#', ['subscribe'])]);
    expect(canSubscribe(acl, 'a/#')).toBe(false);
    expect(canSubscribe(acl, 'a/+/x')).toBe(false);
    expect(canSubscribe(acl, 'a/open/#')).toBe(true);
    expect(canSubscribe(acl, 'a/secret')).toBe(false); // 'a/secret/#' matches its parent
  });

  it('denies on intersection with a deny rule when the default is allow', () => {
    const acl = compiled([deny('private/+/data')], 'allow', { username: null, clientId: 'c' });
    expect(canSubscribe(acl, 'public/#')).toBe(true);
    expect(canSubscribe(acl, '#')).toBe(false);
    expect(canSubscribe(acl, 'private/x/+')).toBe(false);
    expect(canSubscribe(acl, 'private/x/other')).toBe(true);
  });

  it('only uses rules with the subscribe action', () => {
    expect(canSubscribe(compiled([allow('a/#', ['publish'])]), 'a/x')).toBe(false);
    expect(canSubscribe(compiled([deny('a/#', ['publish'])], 'allow'), 'a/x')).toBe(true);
  });

  it('a shared subscription needs a share rule for its group: a plain allow rule does not let a user join any group [MQTT-4.8.2-1]', () => {
    const acl = compiled([allow('a/#'), deny('a/secret'), allow('$share/g/a/#', ['subscribe'])]);
    expect(canSubscribe(acl, '$share/g/a/x')).toBe(true);
    expect(canSubscribe(acl, '$share/g/a/+')).toBe(false); // the plain deny still fences a/secret off
    expect(canSubscribe(acl, '$share/h/a/x')).toBe(false); // another group
    expect(canSubscribe(acl, '$share/g/b')).toBe(false); // the share rule does not cover b
    expect(canSubscribe(compiled([allow('a/#')]), '$share/g/a/x')).toBe(false);
    expect(canSubscribe(compiled([], 'allow'), '$share/g/')).toBe(false); // not a valid shared subscription
    expect(canSubscribe(compiled([], 'allow'), '$share//a')).toBe(false);
  });

  it('share rules: + is any group, %u and %c name the group, deny rules fence a group off, and a plain filter ignores them', () => {
    const any = compiled([allow('$share/+/plant/#', ['subscribe'])]);
    expect(canSubscribe(any, '$share/x/plant/1')).toBe(true);
    expect(canSubscribe(any, 'plant/1')).toBe(false); // a share rule grants only shared subscriptions
    const own = compiled([allow('$share/%u/plant/#', ['subscribe'])]);
    expect(canSubscribe(own, '$share/alice/plant/1')).toBe(true);
    expect(canSubscribe(own, '$share/bob/plant/1')).toBe(false);
    const fenced = compiled([deny('$share/ops/#', ['subscribe'])], 'allow', { username: null, clientId: 'c' });
    expect(canSubscribe(fenced, '$share/ops/plant/1')).toBe(false);
    expect(canSubscribe(fenced, '$share/other/plant/1')).toBe(true); // the default is allow
    expect(canSubscribe(fenced, 'plant/1')).toBe(true);
  });

  it('share rules cannot be widened by an unsafe value, and never govern publishing', () => {
    const nobody: AclSubject = { username: null, clientId: 'c' };
    expect(compiled([allow('$share/%u/#', ['subscribe'])], 'deny', nobody).rules).toEqual([]);
    const denied = compiled([deny('$share/%u/#', ['subscribe'])], 'allow', nobody);
    expect(denied.rules).toEqual([{ effect: 'deny', publish: false, subscribe: true, filter: '#', share: '+' }]);
    expect(canSubscribe(denied, '$share/any/x')).toBe(false);
    expect(compiled([allow('$share/g/#', ['publish'])]).rules).toEqual([]);
    expect(validateAclRule({ id: 'r', effect: 'allow', actions: ['publish'], pattern: '$share/g/#' })).toMatch(/subscribe only/);
  });

  it('an allow # does not cover $ topics [MQTT-4.7.2-1]; a deny # fences them off', () => {
    expect(canSubscribe(compiled([allow('#')]), '$SYS/#')).toBe(false);
    expect(canSubscribe(compiled([allow('+/x')]), '$a/x')).toBe(false);
    expect(canSubscribe(compiled([deny('$SYS/#')], 'allow'), '#')).toBe(true);
    expect(canSubscribe(compiled([deny('$SYS/#')], 'allow'), '$SYS/x')).toBe(false);
    expect(canSubscribe(compiled([deny('#')], 'allow'), '$SYS/x')).toBe(false);
    expect(canSubscribe(compiled([deny('#')], 'allow'), '$share/g/$SYS/x')).toBe(false);
    expect(canSubscribe(compiled([allow('$share/g/#', ['subscribe'])]), '$share/g/$SYS/x')).toBe(false);
  });
});

describe('filterIntersects and filterCovers', () => {
  it.each([
    // a, b, intersects
    ['a/b', 'a/b', true],
    ['a/b', 'a/c', false],
    ['a/+', 'a/b', true],
    ['a/+', '+/b', true],
    ['a/#', 'a', true],
    ['a/#', 'a/b/c', true],
    ['a/secret/#', 'a/#', true],
    ['a/+', 'a/b/c', false],
    ['a/+', 'a', false],
    ['#', 'x', true],
    ['#', '$SYS/x', false],
    ['+/x', '$a/x', false],
    ['+/#', '$a', false],
    ['$a/#', '$a/+', true],
    ['a//b', 'a/+/b', true],
    ['+', '/', false],
    ['+/+', '/', true],
    ['/#', '+', false], // only '', which is not a topic [MQTT-4.7.3-1]
    ['+/#', '+', true],
  ])('intersects(%s, %s) is %s, both ways', (a, b, expected) => {
    expect(filterIntersects(a, b)).toBe(expected);
    expect(filterIntersects(b, a)).toBe(expected);
  });

  it.each([
    // general, specific, covers
    ['a/#', 'a/+/b', true],
    ['a/#', 'a', true],
    ['a/#', 'a/#', true],
    ['a/+', 'a/#', false],
    ['a/+', 'a/b', true],
    ['a/+', 'a', false],
    ['a/b', 'a/+', false],
    ['#', 'x/y', true],
    ['#', '#', true],
    ['#', '$SYS/x', false],
    ['+/x', '$a/x', false],
    ['+/x', '+/x', true],
    ['$a/#', '$a/+', true],
    ['a/+/#', 'a/#', false],
    ['a/+/#', 'a/b', true],
    ['+/+', 'a/b/c', false],
    ['+/#', '#', true], // '#' matches one or more levels, as '+/#' does
    ['+/+/#', '#', false],
    ['/+/#', '/#', true], // '/#' does not match '', which is not a topic [MQTT-4.7.3-1]
  ])('covers(%s, %s) is %s', (general, specific, expected) => {
    expect(filterCovers(general, specific)).toBe(expected);
  });

  // Brute force: over a small alphabet, every topic of up to 4 levels. A filter of up to 3 levels
  // built from the alphabet has a witness (a common topic, or a topic one matches and the other
  // not) among these if it has one at all: `c` stands for any other literal.
  const FILTER_LEVELS = ['a', 'b', '$s', '', '+'];
  const TOPIC_LEVELS = ['a', 'b', '$s', '', 'c'];
  const topics: string[] = [];
  const grow = (prefix: string[]) => {
    if (prefix.length > 0 && prefix.join('/') !== '') topics.push(prefix.join('/'));
    if (prefix.length < 4) for (const level of TOPIC_LEVELS) grow([...prefix, level]);
  };
  grow([]);
  const bruteIntersects = (a: string, b: string) => topics.some((t) => matches(a, t) && matches(b, t));
  const bruteCovers = (g: string, s: string) => topics.every((t) => !matches(s, t) || matches(g, t));

  const filter = fc
    .tuple(fc.array(fc.constantFrom(...FILTER_LEVELS), { minLength: 1, maxLength: 3 }), fc.boolean())
    .map(([levels, hash]) => (hash ? [...levels.slice(0, 2), '#'] : levels).join('/'))
    .filter((f) => f !== '');

  it('agree with brute force over generated filters (property)', () => {
    fc.assert(
      fc.property(filter, filter, (a, b) => {
        expect(filterIntersects(a, b)).toBe(bruteIntersects(a, b));
        expect(filterCovers(a, b)).toBe(bruteCovers(a, b));
      }),
      { numRuns: 3000 },
    );
  });

  it('agree with brute force over every filter of up to 2 levels, and up to 3 ending in #', () => {
    const all: string[] = ['#'];
    for (const x of FILTER_LEVELS) {
      if (x !== '') all.push(x);
      all.push(`${x}/#`);
      for (const y of FILTER_LEVELS) all.push(`${x}/${y}`, `${x}/${y}/#`);
    }
    for (const a of all) {
      for (const b of all) {
        expect([a, b, filterIntersects(a, b)]).toEqual([a, b, bruteIntersects(a, b)]);
        expect([a, b, filterCovers(a, b)]).toEqual([a, b, bruteCovers(a, b)]);
      }
    }
  });

  it('are consistent with canSubscribe: a covered filter never reaches an uncovered topic', () => {
    fc.assert(
      fc.property(filter, filter, (general, specific) => {
        if (!filterCovers(general, specific)) return;
        for (const t of topics) if (matches(specific, t)) expect(matches(general, t)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});
