/**
 * Topic names and topic filters (MQTT 5.0 section 4.7, 3.1.1 section 4.7; shared subscriptions 4.8.2).
 *
 * Pure string work: no Node, no allocation on the matching hot path. Every function takes the
 * topic as a JS string; the 65,535-byte limit is checked on its UTF-8 length.
 *
 * Shared subscriptions: `matches` and `validateTopicFilter` treat `$share/...` as an ordinary
 * filter. A v5 broker calls `parseSharedSubscription` first and matches with its `topicFilter`.
 */

import { TopicFilterInvalidError, TopicNameInvalidError } from './errors';

const SLASH = 0x2f;
const PLUS = 0x2b;
const HASH = 0x23;
const DOLLAR = 0x24;
const NUL = 0x00;
const MAX_TOPIC_BYTES = 65_535;
const SHARE_PREFIX = '$share/';

// ---------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------

/**
 * Checks the rules common to names and filters; returns the violated spec ID or undefined.
 * Walks the string once: NUL, lone surrogates and the UTF-8 length.
 */
function checkTopicString(s: string): string | undefined {
  if (s.length === 0) return 'MQTT-4.7.3-1'; // at least one character
  if (s.length > MAX_TOPIC_BYTES * 3) return 'MQTT-4.7.3-3'; // cannot fit, whatever the chars
  let bytes = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) {
      if (c === NUL) return 'MQTT-4.7.3-2';
      bytes += 1;
    } else if (c < 0x800) {
      bytes += 2;
    } else if (c >= 0xd800 && c <= 0xdbff) {
      const next = s.charCodeAt(i + 1);
      if (!(next >= 0xdc00 && next <= 0xdfff)) return 'MQTT-1.5.4-1'; // lone high surrogate
      bytes += 4;
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) {
      return 'MQTT-1.5.4-1'; // lone low surrogate
    } else {
      bytes += 3;
    }
  }
  return bytes > MAX_TOPIC_BYTES ? 'MQTT-4.7.3-3' : undefined;
}

/** The violated spec ID of a topic name, or undefined when it is valid. */
export function topicNameViolation(name: string): string | undefined {
  const common = checkTopicString(name);
  if (common !== undefined) return common;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c === PLUS || c === HASH) return 'MQTT-3.3.2-2'; // no wildcards in a topic name
  }
  return undefined;
}

/** The violated spec ID of a topic filter, or undefined when it is valid. */
export function topicFilterViolation(filter: string): string | undefined {
  const common = checkTopicString(filter);
  if (common !== undefined) return common;
  const last = filter.length - 1;
  for (let i = 0; i <= last; i++) {
    const c = filter.charCodeAt(i);
    if (c !== PLUS && c !== HASH) continue;
    const aloneInLevel =
      (i === 0 || filter.charCodeAt(i - 1) === SLASH) && (i === last || filter.charCodeAt(i + 1) === SLASH);
    if (c === HASH) {
      // '#' stands alone in its level and is the last character [MQTT-4.7.1-1]
      if (!aloneInLevel || i !== last) return 'MQTT-4.7.1-1';
    } else if (!aloneInLevel) {
      return 'MQTT-4.7.1-2'; // '+' occupies an entire level
    }
  }
  return undefined;
}

export function isValidTopicName(name: string): boolean {
  return topicNameViolation(name) === undefined;
}

export function isValidTopicFilter(filter: string): boolean {
  return topicFilterViolation(filter) === undefined;
}

/** Throws TopicNameInvalidError (0x90) unless `name` is a valid topic name. */
export function validateTopicName(name: string): void {
  const specRef = topicNameViolation(name);
  if (specRef !== undefined) throw new TopicNameInvalidError('Topic name not valid', { specRef });
}

/** Throws TopicFilterInvalidError (0x8F) unless `filter` is a valid topic filter. */
export function validateTopicFilter(filter: string): void {
  const specRef = topicFilterViolation(filter);
  if (specRef !== undefined) throw new TopicFilterInvalidError('Topic filter not valid', { specRef });
}

// ---------------------------------------------------------------------------------------------
// Shared subscriptions
// ---------------------------------------------------------------------------------------------

export interface SharedSubscription {
  shareName: string;
  /** The filter that follows the ShareName; this is what topics are matched against. */
  topicFilter: string;
}

/**
 * Splits `$share/{ShareName}/{filter}`. Returns undefined for a non-shared filter (including a
 * bare `$share`, which is an ordinary filter). Throws TopicFilterInvalidError (0x8F) when the
 * filter starts with `$share/` but is not a valid shared subscription.
 */
export function parseSharedSubscription(filter: string): SharedSubscription | undefined {
  if (!filter.startsWith(SHARE_PREFIX)) return undefined;
  const nameEnd = filter.indexOf('/', SHARE_PREFIX.length);
  const shareName = filter.slice(SHARE_PREFIX.length, nameEnd === -1 ? undefined : nameEnd);
  if (shareName.length === 0) {
    throw new TopicFilterInvalidError('Shared subscription without a ShareName', { specRef: 'MQTT-4.8.2-1' });
  }
  if (shareName.includes('+') || shareName.includes('#')) {
    throw new TopicFilterInvalidError('ShareName contains a wildcard', { specRef: 'MQTT-4.8.2-2' });
  }
  if (nameEnd === -1 || nameEnd === filter.length - 1) {
    throw new TopicFilterInvalidError('Shared subscription without a topic filter', { specRef: 'MQTT-4.8.2-2' });
  }
  const topicFilter = filter.slice(nameEnd + 1);
  validateTopicFilter(topicFilter);
  return { shareName, topicFilter };
}

// ---------------------------------------------------------------------------------------------
// Matching
// ---------------------------------------------------------------------------------------------

/**
 * Whether a valid topic filter matches a valid topic name (MQTT 4.7). Undefined for invalid
 * input: validate on SUBSCRIBE and PUBLISH, not here. Walks both strings once, no allocation.
 * - `+` matches exactly one level, which may be empty.
 * - `#` matches the parent level and any number of child levels: `sport/#` matches `sport`.
 * - A filter starting with a wildcard does not match a topic starting with `$` [MQTT-4.7.2-1].
 */
export function matches(filter: string, topic: string): boolean {
  const fl = filter.length;
  const tl = topic.length;
  const first = filter.charCodeAt(0);
  if (topic.charCodeAt(0) === DOLLAR && (first === PLUS || first === HASH)) return false;
  let f = 0;
  let t = 0;
  for (;;) {
    // Both f and t are at the start of a level.
    const c = filter.charCodeAt(f);
    if (c === HASH) return true;
    if (c === PLUS) {
      while (t < tl && topic.charCodeAt(t) !== SLASH) t++;
      f++;
    } else {
      while (f < fl) {
        const fc = filter.charCodeAt(f);
        if (fc === SLASH) break;
        if (topic.charCodeAt(t) !== fc) return false; // NaN past the end never equals
        f++;
        t++;
      }
      if (t < tl && topic.charCodeAt(t) !== SLASH) return false; // topic level is longer
    }
    // Both at the end of a level: at a '/' or at the end of the string.
    if (f === fl) return t === tl;
    f++; // past the filter's '/'
    if (t === tl) return f === fl - 1 && filter.charCodeAt(f) === HASH; // 'a/#' matches 'a'
    t++; // past the topic's '/'
  }
}

// ---------------------------------------------------------------------------------------------
// Index keys: find candidate subscriptions with a few key lookups instead of a table scan
// ---------------------------------------------------------------------------------------------

/** The levels of a topic name or filter: `'a//b/'` gives `['a', '', 'b', '']`. */
export function topicLevels(topic: string): string[] {
  return topic.split('/');
}

/**
 * Levels of the route key (issue 15, "Routing"): a subscription is stored under its filter's first
 * two levels, so a publish reads the subscriptions that share its first two levels, not every one
 * under its first level (10,000 devices subscribed to `plant/<id>/cmd` spread over 10,000 keys).
 * docs/ARCHITECTURE.md (`subscriptions`) and docs/PERFORMANCE.md ("Routing") have the measurements.
 */
export const ROUTE_DEPTH = 2;

/**
 * Namespaces routed deeper, by first level: Sparkplug B (`spBv1.0/<group>/<type>/<node>[/<device>]`)
 * puts a whole group's nodes under two levels, so its keys take four (5 Queries per publish
 * instead of 3, and a group of 1,000 nodes no longer makes every publish read all their commands).
 * A filter and a topic it matches share their first level when it is literal, hence their depth.
 */
const NAMESPACE_DEPTHS: ReadonlyMap<string, number> = new Map([['spBv1.0', 4]]);

/** The route depth of the topics and filters whose first level is `firstLevel`. */
export function routeDepthOf(firstLevel: string): number {
  return NAMESPACE_DEPTHS.get(firstLevel) ?? ROUTE_DEPTH;
}

function depthOf(topicOrFilter: string): number {
  const slash = topicOrFilter.indexOf('/');
  return routeDepthOf(slash === -1 ? topicOrFilter : topicOrFilter.slice(0, slash));
}

/**
 * The route key of a valid topic filter: its literal levels up to its first wildcard, then `+`
 * (a `#` is stored as a `+`), or its first `depth` levels if it has no wildcard among them
 * (`depth`: ROUTE_DEPTH, or its namespace's, `routeDepthOf`).
 * `routeKey('a/b/c')` is `'a/b'`, `routeKey('a/+/c')` and `routeKey('a/#')` are `'a/+'`,
 * `routeKey('#')` and `routeKey('+/b')` are `'+'`, `routeKey('a')` is `'a'`. A literal level is
 * never `+`, so a key ending in `+` is always a wildcard's. Find it again with `candidateRouteKeys`.
 */
export function routeKey(filter: string, depth = depthOf(filter)): string {
  const levels = topicLevels(filter);
  const literal: string[] = [];
  for (const level of levels.slice(0, depth)) {
    if (level === '+' || level === '#') return [...literal, '+'].join('/');
    literal.push(level);
  }
  return literal.join('/');
}

/**
 * Every `routeKey(f, depth)` of a filter `f` that can match `topic`: `+` (filters that start with
 * a wildcard, never for a `$` topic [MQTT-4.7.2-1]), the topic's first i literal levels then `+`
 * for each i below `depth`, and the topic's first `depth` levels: `depth + 1` keys at most, one
 * Query each. Invariant: `matches(f, topic)` implies
 * `candidateRouteKeys(topic, depth).includes(routeKey(f, depth))`; candidates are still checked
 * with `matches`.
 */
export function candidateRouteKeys(topic: string, depth = depthOf(topic)): string[] {
  const levels = topicLevels(topic);
  const keys: string[] = topic.charCodeAt(0) === DOLLAR ? [] : ['+'];
  // A wildcard first at level i + 1, after i literal levels: 'a/+' holds 'a/+/c' and 'a/#' (which matches 'a').
  for (let i = 1; i < depth && i <= levels.length; i++) keys.push([...levels.slice(0, i), '+'].join('/'));
  keys.push(levels.slice(0, depth).join('/'));
  return keys;
}
