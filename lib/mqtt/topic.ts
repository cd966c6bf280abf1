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
 * The index key of a valid topic filter: its first `depth` levels, cut after a `#`.
 * `filterKey('a/+/c/d', 2)` is `'a/+'`, `filterKey('a/#', 2)` is `'a/#'`, `filterKey('a', 2)` is `'a'`.
 * Store each subscription under this key; find it again with `candidateFilterKeys`.
 */
export function filterKey(filter: string, depth = 1): string {
  let end = -1;
  for (let level = 0; level < depth; level++) {
    end = filter.indexOf('/', end + 1);
    if (end === -1) return filter;
  }
  return filter.slice(0, end);
}

/**
 * Every `filterKey(f, depth)` of a filter `f` that can match `topic`: for each of the topic's
 * first `depth` levels, the literal or `+`, plus a `#` after each shorter prefix. Invariant:
 * `matches(f, topic)` implies `candidateFilterKeys(topic, depth).includes(filterKey(f, depth))`.
 * Candidates are still checked with `matches`. Count grows as 3·2^depth: keep depth small (1-3).
 */
export function candidateFilterKeys(topic: string, depth = 1): string[] {
  const levels = topicLevels(topic);
  const m = Math.min(depth, levels.length);
  const dollar = topic.charCodeAt(0) === DOLLAR;
  let prefixes = [''];
  const keys: string[] = [];
  for (let i = 0; i < m; i++) {
    // a filter ending with '#' after i levels [MQTT-4.7.2-1: not as the first level of '$' topics]
    if (!(dollar && i === 0)) for (const p of prefixes) keys.push(p + '#');
    const literal = levels[i];
    const next: string[] = [];
    for (const p of prefixes) {
      next.push(p + literal + '/');
      if (!(dollar && i === 0)) next.push(p + '+/');
    }
    prefixes = next;
  }
  // Keys of filters whose first m levels match exactly: those end here (drop the trailing '/').
  for (const p of prefixes) keys.push(p.slice(0, -1));
  // Fewer levels than depth: 'a/#' matches 'a', and its key is 'a/#'.
  if (levels.length < depth) for (const p of prefixes) keys.push(p + '#');
  return keys;
}
