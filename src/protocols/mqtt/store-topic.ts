/**
 * MQTT topic-filter matching for the stores' retained messages. The face's
 * own mapping to core subjects lives in topics.ts; this small matcher works
 * on MQTT topics as they are, so a retained lookup needs no mapping.
 */

/**
 * Whether `topic` (no wildcards) matches `filter`: `+` matches exactly one
 * level (an empty one too), `#` (last) matches the rest, and its parent
 * level (`a/#` matches `a`) [MQTT-4.7.1-2]. A topic starting with `$` is
 * not matched by a filter whose first level is a wildcard [MQTT-4.7.2-1].
 */
export function topicMatches(filter: string, topic: string): boolean {
  if (topic.startsWith('$') && (filter.startsWith('+') || filter.startsWith('#'))) return false;
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    const level = f[i]!;
    if (level === '#') return i === f.length - 1;
    if (i >= t.length) return false;
    if (level !== '+' && level !== t[i]) return false;
  }
  return f.length === t.length;
}

/** Whether a filter has a wildcard level (`+` or `#`). */
export function hasWildcard(filter: string): boolean {
  return filter.includes('+') || filter.includes('#');
}
