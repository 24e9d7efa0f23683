/**
 * Redis channels ⇄ core subjects, shared with the other faces through the
 * subject (docs/redis.md, "The channel mapping"). Pure: no I/O, no state.
 *
 * A channel is bytes; `.` separates its tokens, as a subject's, so the
 * channel `orders.new` is the subject `orders.new` — a NATS subscriber on
 * `orders.>` and an MQTT one on `orders/#` receive it. What a subject token
 * cannot hold is escaped with `/`, the escape of the MQTT mapping
 * (src/protocols/mqtt/topics.ts), so the three faces agree:
 *
 *   empty token (`a..b`, a leading or trailing `.`, "")  → the token `/`
 *   whitespace, `*`, `>` and `/` in a token               → `/` + two upper-case hex digits
 *                                                            (space `/20`, `*` `/2A`, `>` `/3E`, `/` `/2F`)
 *
 * So every channel has one subject and `subjectToChannel(channelToSubject(c))`
 * is `c`. The other way, a subject (from any face) becomes its channel:
 * tokens joined by `.`, the token `/` empty, `/HH` the character HH, and
 * MQTT's `//` (a `.` inside an MQTT level) a `.`; a `/` that starts none of
 * these is kept. Channels are UTF-8 text, as subjects are: a channel that
 * is not valid UTF-8 has no subject (`null`).
 */
import { isUtf8 } from 'node:buffer';
import { isGlobSpecial } from './glob.js';

const HEX = '0123456789ABCDEF';

/** Characters a subject token cannot hold as themselves, and the escape character. */
function needsEscape(c: number): boolean {
  return (
    c === 0x20 ||
    c === 0x09 ||
    c === 0x0a ||
    c === 0x0d ||
    c === 0x0c ||
    c === 0x0b ||
    c === 0x2a || // `*`
    c === 0x3e || // `>`
    c === 0x2f // `/`, the escape itself
  );
}

function tokenOf(t: string): string {
  if (t.length === 0) return '/';
  let plain = true;
  for (let i = 0; i < t.length; i++) {
    if (needsEscape(t.charCodeAt(i))) {
      plain = false;
      break;
    }
  }
  if (plain) return t;
  let out = '';
  for (let i = 0; i < t.length; i++) {
    const c = t.charCodeAt(i);
    out += needsEscape(c) ? `/${HEX[c >> 4]}${HEX[c & 15]}` : t[i];
  }
  return out;
}

/** The subject of a channel given as text (never empty, no wildcard, no whitespace). */
export function channelTextToSubject(channel: string): string {
  // The common case: nothing to escape, no empty token.
  let plain = channel.length > 0 && channel.charCodeAt(0) !== 0x2e;
  if (plain) {
    for (let i = 0; i < channel.length; i++) {
      const c = channel.charCodeAt(i);
      if (
        needsEscape(c) ||
        (c === 0x2e && (i + 1 === channel.length || channel.charCodeAt(i + 1) === 0x2e))
      ) {
        plain = false;
        break;
      }
    }
  }
  if (plain) return channel;
  return channel.split('.').map(tokenOf).join('.');
}

/** The subject of a channel; null when the channel is not UTF-8. */
export function channelToSubject(channel: Buffer): string | null {
  if (!isUtf8(channel)) return null;
  return channelTextToSubject(channel.toString('utf8'));
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  return -1;
}

function tokenToText(t: string): string {
  if (t === '/') return '';
  if (t.indexOf('/') < 0) return t;
  let out = '';
  for (let i = 0; i < t.length; i++) {
    const c = t[i]!;
    if (c === '/' && i + 1 < t.length && t[i + 1] === '/') {
      out += '.';
      i++;
      continue;
    }
    if (c === '/' && i + 2 < t.length) {
      const hi = hexValue(t.charCodeAt(i + 1));
      const lo = hexValue(t.charCodeAt(i + 2));
      if (hi >= 0 && lo >= 0) {
        out += String.fromCharCode(hi * 16 + lo);
        i += 2;
        continue;
      }
    }
    out += c;
  }
  return out;
}

/** The channel of a literal subject, as text. */
export function subjectToChannel(subject: string): string {
  if (subject.indexOf('/') < 0) return subject;
  return subject.split('.').map(tokenToText).join('.');
}

/**
 * The core subscription that carries a glob pattern's messages, and whether
 * the glob must still be checked on each: a pattern without special bytes
 * is its channel's subject (exact); `prefix.*` (a literal prefix, the last
 * token `*`) is `prefix.>` exactly; otherwise the literal tokens before the
 * first special byte, then `>` — wider than the glob, which then filters
 * each message (a pattern special in its first token listens to `>`).
 * Null when the pattern is not UTF-8.
 */
export function patternToSubject(pattern: Buffer): { subject: string; exact: boolean } | null {
  if (!isUtf8(pattern)) return null;
  let special = -1;
  for (let i = 0; i < pattern.length; i++) {
    if (isGlobSpecial(pattern[i]!)) {
      special = i;
      break;
    }
  }
  const text = pattern.toString('utf8');
  if (special < 0) return { subject: channelTextToSubject(text), exact: true };
  const before = pattern.subarray(0, special).toString('utf8');
  const dot = before.lastIndexOf('.');
  if (dot < 0) return { subject: '>', exact: false };
  const prefix = channelTextToSubject(before.slice(0, dot));
  const exact =
    special === pattern.length - 1 && pattern[special] === 0x2a && dot === before.length - 1;
  return { subject: `${prefix}.>`, exact };
}
