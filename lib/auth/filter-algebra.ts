/**
 * Topic filter algebra for the ACL engine: whether two filters can match a common topic, and
 * whether one filter matches every topic another does. Pure: the broker core imports it.
 */
import { topicLevels } from '../mqtt/topic';

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
