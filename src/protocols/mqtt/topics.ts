/**
 * MQTT topics ⇄ core subjects. Pure: no I/O, no state.
 *
 * An MQTT topic is `/`-separated levels; a level may be empty and may hold
 * any character but U+0000 (and, in topic names, not `+` or `#`). A core
 * subject is `.`-separated tokens; a token is non-empty, holds no whitespace
 * and no `.`, and is a wildcard when it is exactly `*` or `>`. So levels map
 * to tokens one to one, and what a token cannot hold is escaped.
 *
 * The escape character is `/`. It is the one character an MQTT level can
 * never contain (it separates levels), so it never needs escaping itself and a
 * topic without special characters maps to itself with `/` → `.`:
 *
 *   level ""            → token `/`       (a token that is exactly `/`)
 *   `.` inside a level  → `//`            (as nats-server 2.10 maps it)
 *   whitespace, `*`, `>` inside a level → `/` + two upper-case hex digits
 *                         (space `/20`, tab `/09`, `*` `/2A`, `>` `/3E`, …)
 *
 * nats-server (mqtt.go, mqttToNATSSubjectConversion) also writes an empty
 * level as the token `/` and `.` as `//`; it refuses spaces and does not
 * escape a `*` or `>` inside a level, which this scheme does, so every valid
 * MQTT topic name has a subject and `subjectToTopic(topicToSubject(t)) === t`.
 * Decoding is left to right: `//` is a dot, `/HH` a character; a `/` that
 * starts neither (only a NATS publisher can write one) is kept as it is.
 *
 * Filters: `+` → `*`, `#` → `>`. `a/#` also matches `a` [MQTT-4.7.1-2], so
 * it needs two core subscriptions, `a` and `a.>`; `#` alone is `>`.
 */

/** Longest topic name or filter: an MQTT UTF-8 string [MQTT-1.5.3] (bytes). */
export const MAX_TOPIC_BYTES = 65535;

const ESC = '/';
const HEX = '0123456789ABCDEF';

/** Characters a core token cannot hold as themselves (core/subject.ts isWhitespace + wildcards). */
function needsHexEscape(c: number): boolean {
  return (
    c === 0x20 ||
    c === 0x09 ||
    c === 0x0a ||
    c === 0x0d ||
    c === 0x0c ||
    c === 0x0b ||
    c === 0x2a || // `*`
    c === 0x3e // `>`
  );
}

function levelNeedsEscape(level: string): boolean {
  if (level.length === 0) return true;
  for (let i = 0; i < level.length; i++) {
    const c = level.charCodeAt(i);
    if (c === 0x2e || needsHexEscape(c)) return true;
  }
  return false;
}

/** One MQTT level as one core token (never empty, never a wildcard, no whitespace). */
export function levelToToken(level: string): string {
  if (level.length === 0) return ESC;
  if (!levelNeedsEscape(level)) return level;
  let out = '';
  for (let i = 0; i < level.length; i++) {
    const c = level.charCodeAt(i);
    if (c === 0x2e) out += '//';
    else if (needsHexEscape(c)) out += ESC + HEX[c >> 4] + HEX[c & 15];
    else out += level[i];
  }
  return out;
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  return -1;
}

/** The inverse of levelToToken; total (an unknown escape keeps its `/`). */
export function tokenToLevel(token: string): string {
  if (token === ESC) return '';
  if (token.indexOf(ESC) < 0) return token;
  let out = '';
  let i = 0;
  while (i < token.length) {
    const ch = token[i];
    if (ch !== ESC) {
      out += ch;
      i++;
      continue;
    }
    if (token.charCodeAt(i + 1) === 0x2f) {
      out += '.';
      i += 2;
      continue;
    }
    const hi = hexValue(token.charCodeAt(i + 1));
    const lo = hexValue(token.charCodeAt(i + 2));
    const code = hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
    if (code >= 0 && needsHexEscape(code)) {
      out += String.fromCharCode(code);
      i += 3;
    } else {
      out += ch;
      i++;
    }
  }
  return out;
}

/**
 * The subject of a valid topic name (check with topicNameProblem first).
 * `a/b/c` → `a.b.c`; `/a` → `/.a`; `a.b/c d` → `a//b.c/20d`.
 */
export function topicToSubject(topic: string): string {
  if (topic === memo.topicIn) return memo.subjectOut;
  const subject = !topicNeedsEscape(topic)
    ? topic.replaceAll('/', '.')
    : topic.split('/').map(levelToToken).join('.');
  memo.topicIn = topic;
  memo.subjectOut = subject;
  return subject;
}

/**
 * The last answer of each conversion (one entry each, the bound): a
 * publisher mostly repeats its topic and a subscriber mostly gets the same
 * subject, and the conversions (with topicNameProblem) were 17% of the
 * server's CPU in mqtt-pubsub (bench/PROFILE.md, Issue 16 — mqtt0). The
 * functions are pure: a hit answers what the call would have.
 */
const memo = {
  // Seeded with true answers: `a` is a valid topic and its own subject.
  topicIn: 'a',
  subjectOut: 'a',
  subjectIn: 'a',
  topicOut: 'a' as string | null,
  validTopic: 'a',
};

/** Fast path: no empty level and nothing to escape. */
function topicNeedsEscape(topic: string): boolean {
  const n = topic.length;
  if (n === 0) return true;
  let prevSlash = true;
  for (let i = 0; i < n; i++) {
    const c = topic.charCodeAt(i);
    if (c === 0x2f) {
      if (prevSlash) return true;
      prevSlash = true;
    } else {
      if (c === 0x2e || needsHexEscape(c)) return true;
      prevSlash = false;
    }
  }
  return prevSlash;
}

/**
 * The topic an MQTT subscriber sees for a message on a literal subject
 * (published by MQTT or by NATS): `a.b.c` → `a/b/c`, escapes undone.
 * Null when the result is not a valid topic name (a NATS publisher may use
 * `+`, `#` or a bare `/` escape yielding an empty topic): the session cannot
 * deliver it to an MQTT client and should count it.
 */
export function subjectToTopic(subject: string): string | null {
  if (subject === memo.subjectIn) return memo.topicOut;
  const topic =
    subject.indexOf(ESC) < 0
      ? subject.replaceAll('.', '/')
      : subject.split('.').map(tokenToLevel).join('/');
  const out = topicNameProblem(topic) === null ? topic : null;
  memo.subjectIn = subject;
  memo.topicOut = out;
  return out;
}

function utf8Length(s: string): number {
  return s.length * 3 <= MAX_TOPIC_BYTES ? s.length : Buffer.byteLength(s, 'utf8');
}

/**
 * Why `topic` is not a valid PUBLISH topic name, or null when it is:
 * non-empty [MQTT-4.7.3-1], no wildcards [MQTT-3.3.2-2], no U+0000
 * [MQTT-4.7.3-2], at most 65535 bytes [MQTT-1.5.3].
 */
export function topicNameProblem(topic: string): string | null {
  if (topic === memo.validTopic) return null;
  if (topic.length === 0) return 'topic name is empty [MQTT-4.7.3-1]';
  if (utf8Length(topic) > MAX_TOPIC_BYTES)
    return `topic name is longer than ${MAX_TOPIC_BYTES} bytes`;
  for (let i = 0; i < topic.length; i++) {
    const c = topic.charCodeAt(i);
    if (c === 0x2b || c === 0x23)
      return `topic name contains the wildcard '${topic[i]}' at ${i} [MQTT-3.3.2-2]`;
    if (c === 0) return 'topic name contains U+0000 [MQTT-4.7.3-2]';
  }
  memo.validTopic = topic;
  return null;
}

/**
 * Why `filter` is not a valid topic filter, or null when it is: non-empty
 * [MQTT-4.7.3-1], `+` a whole level [MQTT-4.7.1-2] (5.0: -3), `#` a whole
 * level and the last [MQTT-4.7.1-1] (5.0: -2), no U+0000, ≤ 65535 bytes.
 * Section numbers follow MQTT 3.1.1; MQTT 5.0 states the same rules.
 */
export function topicFilterProblem(filter: string): string | null {
  if (filter.length === 0) return 'topic filter is empty [MQTT-4.7.3-1]';
  if (utf8Length(filter) > MAX_TOPIC_BYTES)
    return `topic filter is longer than ${MAX_TOPIC_BYTES} bytes`;
  const n = filter.length;
  for (let i = 0; i < n; i++) {
    const c = filter.charCodeAt(i);
    if (c === 0) return 'topic filter contains U+0000 [MQTT-4.7.3-2]';
    if (c !== 0x2b && c !== 0x23) continue;
    const wholeLevel =
      (i === 0 || filter.charCodeAt(i - 1) === 0x2f) &&
      (i === n - 1 || filter.charCodeAt(i + 1) === 0x2f);
    if (c === 0x2b && !wholeLevel)
      return `'+' at ${i} does not occupy a whole level [MQTT-4.7.1-3]`;
    if (c === 0x23 && (!wholeLevel || i !== n - 1))
      return `'#' at ${i} is not a whole last level [MQTT-4.7.1-2]`;
  }
  return null;
}

/**
 * The core subscriptions a valid filter needs (check topicFilterProblem
 * first). `a/+/c` → [`a.*.c`]; `a/#` → [`a`, `a.>`] [MQTT-4.7.1-2]; `#` → [`>`].
 * The subjects never overlap, so a message matches at most one of them.
 */
export function filterToSubjects(filter: string): string[] {
  const levels = filter.split('/');
  const tokens = levels.map((l) => (l === '+' ? '*' : l === '#' ? '>' : levelToToken(l)));
  if (levels.length > 1 && levels[levels.length - 1] === '#') {
    return [tokens.slice(0, -1).join('.'), tokens.join('.')];
  }
  return [tokens.join('.')];
}

/** The first level of the filter is a wildcard (`+` or `#`). */
export function startsWithWildcard(filter: string): boolean {
  const c = filter.charCodeAt(0);
  return (c === 0x2b || c === 0x23) && (filter.length === 1 || filter.charCodeAt(1) === 0x2f);
}

/** A topic starting with `$` (`$SYS/…`, and `$JS…` subjects from NATS). */
export function isDollarTopic(topic: string): boolean {
  return topic.charCodeAt(0) === 0x24;
}

/**
 * Per delivery: may a message on `topic` reach a subscription with `filter`?
 * A filter starting with a wildcard must not match a topic starting with `$`
 * [MQTT-4.7.2-1]; the core's `*`/`>` would match it, so the session asks.
 */
export function dollarRuleAllows(filter: string, topic: string): boolean {
  return !(isDollarTopic(topic) && startsWithWildcard(filter));
}

/**
 * Does the valid `filter` match the valid topic name `topic`? MQTT's rules,
 * with the `$` rule [MQTT-4.7.2-1]; used where there is no core index, as
 * for retained messages.
 */
export function topicMatches(filter: string, topic: string): boolean {
  if (!dollarRuleAllows(filter, topic)) return false;
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    const level = f[i];
    // `#` matches the parent level and any number of child levels [MQTT-4.7.1-2].
    if (level === '#') return true;
    if (i >= t.length) return false;
    if (level !== '+' && level !== t[i]) return false;
  }
  return f.length === t.length;
}

/** Whether a filter has a wildcard level (`+` or `#`). */
export function hasWildcard(filter: string): boolean {
  return filter.includes('+') || filter.includes('#');
}

/** A shared subscription `$share/<group>/<filter>` (MQTT 5.0 §4.8.2). */
export interface SharedFilter {
  readonly group: string;
  readonly filter: string;
}

const SHARE_PREFIX = '$share/';

/** The filter names a shared subscription (starts with `$share/`). */
export function isSharedFilter(filter: string): boolean {
  return filter.startsWith(SHARE_PREFIX);
}

/**
 * Splits `$share/<group>/<filter>`, or says why it is invalid: the group is
 * non-empty with no `/`, `+` or `#` [MQTT-4.8.2-1], and a valid non-empty
 * filter follows [MQTT-4.8.2-2].
 */
export function parseSharedFilter(filter: string): SharedFilter | { problem: string } {
  const rest = filter.slice(SHARE_PREFIX.length);
  const slash = rest.indexOf('/');
  if (slash < 0) return { problem: 'shared subscription has no topic filter [MQTT-4.8.2-2]' };
  const group = rest.slice(0, slash);
  if (group.length === 0) return { problem: 'shared subscription has an empty group name' };
  if (/[+#]/.test(group))
    return { problem: `shared subscription group '${group}' contains a wildcard [MQTT-4.8.2-1]` };
  const inner = rest.slice(slash + 1);
  const problem = topicFilterProblem(inner);
  if (problem !== null) return { problem: `shared subscription: ${problem}` };
  return { group, filter: inner };
}

/** The core queue group of a share group (escaped as a level: no whitespace). */
export function shareGroupToQueue(group: string): string {
  return levelToToken(group);
}
