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
import { isValidTopicFilter, matches, topicFilterViolation } from '../mqtt/topic';
import { filterCovers, filterIntersects } from './filter-algebra';
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
  const shared = splitShare(pattern);
  if (typeof shared === 'string') return shared;
  if (shared !== undefined) return validateShareGroup(shared.group) ?? validateFilterPattern(shared.filter);
  return validateFilterPattern(pattern);
}

function validateFilterPattern(pattern: string): string | undefined {
  const pieces = parsePattern(pattern);
  if (typeof pieces === 'string') return pieces;
  const sample = pieces.map((p) => (typeof p === 'string' ? p : 'x')).join('');
  const violation = topicFilterViolation(sample);
  return violation === undefined ? undefined : `not a valid topic filter [${violation}]`;
}

/** A share group pattern is one level: `+` (any group), or a name that may hold `%u` / `%c`. */
function validateShareGroup(group: string): string | undefined {
  const pieces = parsePattern(group);
  if (typeof pieces === 'string') return pieces;
  const sample = pieces.map((p) => (typeof p === 'string' ? p : 'x')).join('');
  // [MQTT-4.8.2-2] a ShareName has no '/', '+' or '#'; '+' alone is our "any group"
  if (sample !== '+' && /[/+#]/.test(sample)) return 'the share group is one level: a name, %u, %c or +';
  return undefined;
}

/** Why a rule is not valid, or undefined: its effect, actions (non-empty, no duplicates), pattern. */
export function validateAclRule(rule: AclRule): string | undefined {
  if (typeof rule.id !== 'string' || rule.id.length === 0) return 'the rule has no id';
  if (rule.effect !== 'allow' && rule.effect !== 'deny') return `unknown effect ${String(rule.effect)}`;
  if (!Array.isArray(rule.actions) || rule.actions.length === 0) return 'the rule has no action';
  if (rule.actions.some((a) => !ACTIONS.includes(a))) return 'actions are publish and subscribe';
  if (new Set(rule.actions).size !== rule.actions.length) return 'an action is listed twice';
  if (rule.actions.includes('publish') && isSharePattern(rule.pattern)) return 'a $share pattern is for subscribe only';
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

function isSharePattern(pattern: string): boolean {
  return typeof pattern === 'string' && pattern.startsWith(SHARE_PREFIX);
}

/**
 * `$share/{group}/{filter}` split in two; undefined when it is not a shared subscription, an
 * error text when it is one without a group or a filter. The same split serves rule patterns
 * and the filters clients subscribe with.
 */
function splitShare(pattern: string): { readonly group: string; readonly filter: string } | string | undefined {
  if (!pattern.startsWith(SHARE_PREFIX)) return undefined;
  const groupEnd = pattern.indexOf('/', SHARE_PREFIX.length);
  if (groupEnd <= SHARE_PREFIX.length || groupEnd === pattern.length - 1) return 'a shared subscription is $share/{group}/{filter}';
  return { group: pattern.slice(SHARE_PREFIX.length, groupEnd), filter: pattern.slice(groupEnd + 1) };
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
    const compiled = compileRule(rule, who);
    if (compiled !== undefined) rules.push(compiled);
  }
  return { defaultEffect: access.defaultEffect, rules };
}

function compileRule(rule: AclRule, who: AclSubject): CompiledRule | undefined {
  const allow = rule.effect === 'allow';
  const subscribe = rule.actions.includes('subscribe');
  const shared = splitShare(rule.pattern);
  if (shared === undefined) {
    const publish = rule.actions.includes('publish');
    if (!publish && !subscribe) return undefined;
    const filter = allow ? allowFilter(rule.pattern, who) : denyFilter(rule.pattern, who);
    return filter === undefined ? undefined : { effect: rule.effect, publish, subscribe, filter };
  }
  // A share rule governs joining a group; it never grants or denies a publish.
  if (!subscribe) return undefined;
  if (typeof shared === 'string') return allow ? undefined : { effect: 'deny', publish: false, subscribe, filter: '#', share: '+' };
  const share = allow ? allowGroup(shared.group, who) : denyGroup(shared.group, who);
  const filter = allow ? allowFilter(shared.filter, who) : denyFilter(shared.filter, who);
  return share === undefined || filter === undefined ? undefined : { effect: rule.effect, publish: false, subscribe, filter, share };
}

/** An allow rule's share group: its placeholders substituted, or undefined when one is unsafe. */
function allowGroup(pattern: string, who: AclSubject): string | undefined {
  const group = substituteGroup(pattern, who);
  return group === undefined || (group !== '+' && /[/+#]/.test(group)) ? undefined : group;
}

/** A deny rule's share group: `+` (every group) when a placeholder is unsafe or the pattern bad. */
function denyGroup(pattern: string, who: AclSubject): string {
  const group = substituteGroup(pattern, who);
  return group === undefined || (group !== '+' && /[/+#]/.test(group)) ? '+' : group;
}

function substituteGroup(pattern: string, who: AclSubject): string | undefined {
  const pieces = parsePattern(pattern);
  if (typeof pieces === 'string' || pattern.length === 0) return undefined;
  let group = '';
  for (const piece of pieces) {
    const value = typeof piece === 'string' ? piece : safeValue(piece.placeholder, who);
    if (value === undefined) return undefined;
    group += value;
  }
  return group;
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

/**
 * Whether the connection may publish to a topic name; a null acl is otherwise unrestricted.
 * No client publishes to a topic starting with `$`, whatever its rules: those topics are the
 * server's, and the server should keep clients from exchanging messages on them (MQTT 5.0
 * section 4.7.2); a client-made `$SYS/...` message would pass for the broker's own.
 */
export function canPublish(acl: ConnectionAcl | null, topic: string): boolean {
  if (topic.startsWith('$')) return false;
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
 * Whether the connection may subscribe to a topic filter; a null acl is unrestricted. A shared
 * subscription `$share/{group}/{filter}` is checked twice: its filter against the plain deny
 * rules, and the group with its filter against the share rules. Only a share rule allows joining
 * a group (a plain allow rule does not), unless the default is allow. A plain filter ignores the
 * share rules. An invalid shared subscription is refused.
 */
export function canSubscribe(acl: ConnectionAcl | null, filter: string): boolean {
  if (acl === null) return true;
  const shared = splitShare(filter);
  if (typeof shared === 'string') return false;
  const target = shared?.filter ?? filter;
  let allowed = false;
  for (const rule of acl.rules) {
    if (!rule.subscribe) continue;
    if (rule.share !== undefined && (shared === undefined || !groupMatches(rule.share, shared.group))) continue;
    if (rule.effect === 'deny') {
      if (filterIntersects(rule.filter, forDeny(rule.filter, target))) return false;
    } else if (!allowed && (rule.share !== undefined) === (shared !== undefined) && filterCovers(rule.filter, target)) {
      allowed = true;
    }
  }
  return allowed || acl.defaultEffect === 'allow';
}

function groupMatches(ruleGroup: string, group: string): boolean {
  return ruleGroup === '+' || ruleGroup === group;
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
