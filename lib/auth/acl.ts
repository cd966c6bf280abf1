/**
 * The ACL engine: rule patterns, their compilation for one connection, and the publish and
 * subscribe checks. Pure: no I/O, no Node APIs; the broker core imports it.
 *
 * Patterns (docs/SECURITY.md). A rule's pattern is an MQTT topic filter in which `%u` stands for
 * the username and `%c` for the client id; `%%` is a literal `%`, and any other `%` is an error.
 * A placeholder may fill a whole level (`plant/%u/#`) or part of one (`dev-%u/status`): a
 * substituted value never contains `/`, `+` or `#` (see below), so it stays inside its level.
 * `$share/...` is not a pattern: a shared subscription is checked by its topic filter.
 *
 * Compilation (`compileAcl`) substitutes the placeholders once per connection. A value that is
 * unsafe in a topic level (empty, containing `/`, `+`, `#`, NUL or a lone surrogate; a null
 * username) must not widen access:
 * - an allow rule that needs it is dropped, and so is one whose first level would start with a
 *   `$` that came from the value (a client id `$SYS` must not turn `%c/#` into `$SYS/#`);
 * - in a deny rule each level holding it becomes `+`, a broader deny (the safe side).
 *
 * Decisions. Deny beats allow:
 * - publish to a topic: denied if a deny rule matches it; else allowed if an allow rule matches
 *   it; else the default;
 * - subscribe to a filter: denied if a deny rule intersects it (some topic matches both, so the
 *   subscription could deliver a denied topic); else allowed if an allow rule covers it (matches
 *   every topic it matches); else the default, which for anonymous clients is allow.
 * Topics starting with `$` are not matched by filters starting with a wildcard [MQTT-4.7.2-1],
 * so an allow `#` does not cover `$SYS/x`; a deny rule, though, fences `$` topics off too: a
 * deny `#` denies `$SYS/x` (see `forDeny`).
 */
import { isValidTopicFilter, matches, topicFilterViolation, topicLevels } from '../mqtt/topic';
import type { AclAction, AclRule, CompiledRule, ConnectionAcl, PrincipalAccess } from './types';

const SHARE_PREFIX = '$share/';
/** A level separator, a wildcard, NUL [MQTT-4.7.3-2] or a lone surrogate [MQTT-1.5.4-1]. */
const UNSAFE_IN_LEVEL = /[/+#\u0000]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const ACTIONS: readonly AclAction[] = ['publish', 'subscribe'];

/** A rule pattern with its placeholders resolved, or a mark where a value is missing. */
type Piece = string | { readonly placeholder: 'u' | 'c' };

// ---------------------------------------------------------------------------------------------
// Patterns and rules
// ---------------------------------------------------------------------------------------------

/** Why a rule pattern is not valid (a short sentence for the CLI), or undefined when it is. */
export function validateRulePattern(pattern: string): string | undefined {
  if (typeof pattern !== 'string' || pattern.length === 0) return 'the pattern is empty';
  if (pattern.startsWith(SHARE_PREFIX)) return 'a pattern cannot be a shared subscription ($share/...)';
  const pieces = parsePattern(pattern);
  if (typeof pieces === 'string') return pieces;
  const sample = pieces.map((p) => (typeof p === 'string' ? p : 'x')).join('');
  const violation = topicFilterViolation(sample);
  return violation === undefined ? undefined : `not a valid topic filter [${violation}]`;
}

/** Why a rule is not valid, or undefined: its effect, actions (non-empty, no duplicates), pattern. */
export function validateAclRule(rule: AclRule): string | undefined {
  if (typeof rule.id !== 'string' || rule.id.length === 0) return 'the rule has no id';
  if (rule.effect !== 'allow' && rule.effect !== 'deny') return `unknown effect ${String(rule.effect)}`;
  if (!Array.isArray(rule.actions) || rule.actions.length === 0) return 'the rule has no action';
  if (rule.actions.some((a) => !ACTIONS.includes(a))) return 'actions are publish and subscribe';
  if (new Set(rule.actions).size !== rule.actions.length) return 'an action is listed twice';
  return validateRulePattern(rule.pattern);
}

/** One line for the CLI: `deny publish,subscribe plant/%u/#`. */
export function describeRule(rule: AclRule): string {
  const actions = ACTIONS.filter((a) => rule.actions.includes(a));
  return `${rule.effect} ${actions.join(',')} ${rule.pattern}`;
}

/** The pattern split into literal text and placeholders, or an error text for a bad `%`. */
function parsePattern(pattern: string): Piece[] | string {
  const pieces: Piece[] = [];
  let literal = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c !== '%') {
      literal += c;
      continue;
    }
    const next = pattern[++i];
    if (next === '%') {
      literal += '%';
    } else if (next === 'u' || next === 'c') {
      if (literal !== '') pieces.push(literal);
      literal = '';
      pieces.push({ placeholder: next });
    } else {
      return `unknown placeholder %${next ?? ''} (use %u, %c, or %% for a literal %)`;
    }
  }
  if (literal !== '') pieces.push(literal);
  return pieces;
}

// ---------------------------------------------------------------------------------------------
// Compilation
// ---------------------------------------------------------------------------------------------

export interface AclSubject {
  /** The authenticated username; null for an anonymous client. */
  readonly username: string | null;
  /** The final client id (an assigned one once it is known). */
  readonly clientId: string;
}

/** The connection's rules with `%u` / `%c` substituted (see the module comment for unsafe values). */
export function compileAcl(access: PrincipalAccess, who: AclSubject): ConnectionAcl {
  const rules: CompiledRule[] = [];
  for (const rule of access.rules) {
    const publish = rule.actions.includes('publish');
    const subscribe = rule.actions.includes('subscribe');
    if (!publish && !subscribe) continue;
    const filter = rule.effect === 'allow' ? allowFilter(rule.pattern, who) : denyFilter(rule.pattern, who);
    if (filter !== undefined) rules.push({ effect: rule.effect, publish, subscribe, filter });
  }
  return { defaultEffect: access.defaultEffect, rules };
}

/** The value of a placeholder, or undefined when it is unsafe in a topic level. */
function safeValue(placeholder: 'u' | 'c', who: AclSubject): string | undefined {
  const value = placeholder === 'u' ? who.username : who.clientId;
  if (value === null || value.length === 0) return undefined;
  return UNSAFE_IN_LEVEL.test(value) ? undefined : value;
}

/** An allow rule's filter, or undefined when it would need an unsafe value: drop the rule. */
function allowFilter(pattern: string, who: AclSubject): string | undefined {
  const pieces = parsePattern(pattern);
  if (typeof pieces === 'string') return undefined;
  let filter = '';
  for (const piece of pieces) {
    if (typeof piece === 'string') {
      filter += piece;
      continue;
    }
    const value = safeValue(piece.placeholder, who);
    if (value === undefined) return undefined;
    // a '$' at the very start of the filter must come from the pattern, not from a value
    if (filter === '' && value.startsWith('$')) return undefined;
    filter += value;
  }
  return isAllowedPattern(filter) ? filter : undefined;
}

/**
 * A deny rule's filter: each level holding an unsafe value becomes `+`. A pattern that is not
 * valid at all (a corrupt stored rule) denies every topic, `#`.
 */
function denyFilter(pattern: string, who: AclSubject): string {
  const pieces = parsePattern(pattern);
  if (typeof pieces === 'string') return '#';
  const levels: string[] = [''];
  const widened = new Set<number>();
  for (const piece of pieces) {
    const value = typeof piece === 'string' ? piece : safeValue(piece.placeholder, who);
    if (value === undefined) {
      widened.add(levels.length - 1);
      continue;
    }
    const [first, ...rest] = value.split('/');
    levels[levels.length - 1] += first;
    levels.push(...rest);
  }
  const filter = levels.map((level, i) => (widened.has(i) ? '+' : level)).join('/');
  return isAllowedPattern(filter) ? filter : '#';
}

function isAllowedPattern(filter: string): boolean {
  return !filter.startsWith(SHARE_PREFIX) && isValidTopicFilter(filter);
}

// ---------------------------------------------------------------------------------------------
// Decisions
// ---------------------------------------------------------------------------------------------

/** Whether the connection may publish to a topic name; a null acl is unrestricted. */
export function canPublish(acl: ConnectionAcl | null, topic: string): boolean {
  if (acl === null) return true;
  let allowed = false;
  for (const rule of acl.rules) {
    if (!rule.publish) continue;
    if (rule.effect === 'deny') {
      if (matches(rule.filter, forDeny(rule.filter, topic))) return false;
    } else if (matches(rule.filter, topic)) {
      allowed = true;
    }
  }
  return allowed || acl.defaultEffect === 'allow';
}

/**
 * Whether the connection may subscribe to a topic filter (`$share/{name}/{filter}`: its filter);
 * a null acl is unrestricted. An invalid shared subscription is refused.
 */
export function canSubscribe(acl: ConnectionAcl | null, filter: string): boolean {
  if (acl === null) return true;
  const target = sharedTopicFilter(filter);
  if (target === undefined) return false;
  let allowed = false;
  for (const rule of acl.rules) {
    if (!rule.subscribe) continue;
    if (rule.effect === 'deny') {
      if (filterIntersects(rule.filter, forDeny(rule.filter, target))) return false;
    } else if (!allowed && filterCovers(rule.filter, target)) {
      allowed = true;
    }
  }
  return allowed || acl.defaultEffect === 'allow';
}

/**
 * [MQTT-4.7.2-1] keeps a wildcard-first filter from *delivering* `$` topics; it must not keep a
 * deny rule from *fencing them off*: `deny #` also denies `$x/y`. For a deny rule whose first
 * level is a wildcard, a leading `$` is read as an ordinary character.
 */
function forDeny(ruleFilter: string, topicOrFilter: string): string {
  const wildFirst = ruleFilter.startsWith('+') || ruleFilter.startsWith('#');
  return wildFirst && topicOrFilter.startsWith('$') ? `_${topicOrFilter.slice(1)}` : topicOrFilter;
}

/** The filter a subscription matches with: the part after `$share/{name}/`, or the filter itself. */
function sharedTopicFilter(filter: string): string | undefined {
  if (!filter.startsWith(SHARE_PREFIX)) return filter;
  const nameEnd = filter.indexOf('/', SHARE_PREFIX.length);
  if (nameEnd <= SHARE_PREFIX.length || nameEnd === filter.length - 1) return undefined;
  return filter.slice(nameEnd + 1);
}

// ---------------------------------------------------------------------------------------------
// Filter algebra
// ---------------------------------------------------------------------------------------------

/**
 * Whether some topic name matches both valid topic filters. Level by level: `#` matches the
 * rest (zero levels included), `+` any one level, a literal only itself; a literal first level
 * starting with `$` is never matched by a wildcard first level [MQTT-4.7.2-1].
 */
export function filterIntersects(a: string, b: string): boolean {
  // '/#' and '+' both match only '' with one level, and '' is not a topic [MQTT-4.7.3-1]
  if ((a === '/#' && b === '+') || (a === '+' && b === '/#')) return false;
  const x = topicLevels(a);
  const y = topicLevels(b);
  if (dollarMismatch(x[0], y[0]) || dollarMismatch(y[0], x[0])) return false;
  for (let i = 0; ; i++) {
    if (x[i] === '#' || y[i] === '#') return true;
    if (i === x.length || i === y.length) return i === x.length && i === y.length;
    if (x[i] !== '+' && y[i] !== '+' && x[i] !== y[i]) return false;
  }
}

/**
 * Whether every topic name that `specific` matches, `general` matches too (both valid topic
 * filters): `a/#` covers `a/+/b` and `a`; `a/+` does not cover `a/#`, nor `+/x` cover `$a/x`.
 */
export function filterCovers(general: string, specific: string): boolean {
  const g = topicLevels(general);
  const s = topicLevels(specific);
  if (dollarMismatch(g[0], s[0])) return false;
  for (let i = 0; ; i++) {
    if (g[i] === '#') return true; // the rest, the parent level included
    if (i === g.length || i === s.length) return i === g.length && i === s.length;
    if (s[i] === '#') return noParentTopic(s, i) && g[i] === '+' && g[i + 1] === '#' && g.length === i + 2;
    if (g[i] !== '+' && g[i] !== s[i]) return false;
  }
}

/**
 * Whether the parent that a `#` at level i of a filter matches (the topic of its first i levels)
 * is not a topic: at level 0 there is none, and at level 1 after an empty level it is the empty
 * string [MQTT-4.7.3-1]. Then the `#` matches one or more levels, exactly as `+/#` does.
 * Otherwise the filter matches the parent, which a filter with a level other than `#` at i
 * does not.
 */
function noParentTopic(levels: readonly string[], i: number): boolean {
  return i === 0 || (i === 1 && levels[0] === '');
}

/** `wild` is a wildcard first level and `literal` a first level starting with `$`. */
function dollarMismatch(wild: string, literal: string): boolean {
  return (wild === '+' || wild === '#') && literal.startsWith('$');
}
