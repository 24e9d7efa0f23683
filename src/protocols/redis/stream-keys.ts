/**
 * Redis keys as Weft streams, and the subject XADD publishes to
 * (stream-map.ts says how; it re-exports these). Pure: no I/O.
 */
import { isUtf8 } from 'node:buffer';
import type { StreamConfig } from '../../streams/stream-config.js';

export const REDIS_SUBJECT_PREFIX = 'redis.stream.';
/** Longest stream name (nats-server's JSMaxNameLen), in bytes. */
const NAME_MAX_BYTES = 255;

/** Bytes a stream name (and so a subject token) cannot hold, plus `%`, the escape. */
function mustEscape(b: number, utf8: boolean): boolean {
  if (b <= 0x20 || b === 0x7f) return true;
  if (b >= 0x80) return !utf8;
  return b === 0x2e || b === 0x2a || b === 0x3e || b === 0x2f || b === 0x5c || b === 0x25;
}

const HEX = '0123456789ABCDEF';

/** The stream a key names, or the error to answer. */
export function streamNameOf(key: Buffer): { name: string } | { error: string } {
  if (key.length === 0) return { error: 'ERR the empty key cannot name a Weft stream' };
  // Printable ASCII without the escaped bytes is the common key: no UTF-8 check for it.
  let plain = true;
  let wide = false;
  for (let i = 0; i < key.length; i++) {
    const b = key[i]!;
    if (b >= 0x80) wide = true;
    else if (mustEscape(b, true)) {
      plain = false;
      break;
    }
  }
  // All ASCII is UTF-8; otherwise (or when the loop stopped early) ask.
  const utf8 = plain && !wide ? true : isUtf8(key);
  if (wide && !utf8) plain = false;
  let name: string;
  if (plain) name = key.toString('utf8');
  else {
    const out: number[] = [];
    for (const b of key) {
      if (mustEscape(b, utf8)) out.push(0x25, HEX.charCodeAt(b >> 4), HEX.charCodeAt(b & 15));
      else out.push(b);
    }
    name = Buffer.from(out).toString('utf8');
  }
  if (Buffer.byteLength(name) > NAME_MAX_BYTES) {
    return {
      error: `ERR the key is too long to name a Weft stream (${Buffer.byteLength(name)} bytes once escaped, at most ${NAME_MAX_BYTES})`,
    };
  }
  return { name };
}

/** The key of a stream name: its `%XX` read back when it is one Redis would make, else its bytes. */
export function keyOfStream(name: string): Buffer {
  const raw = Buffer.from(name, 'utf8');
  if (!name.includes('%')) return raw;
  const out: number[] = [];
  for (let i = 0; i < raw.length; i++) {
    const b = raw[i]!;
    if (b === 0x25) {
      const hex = raw.toString('latin1', i + 1, i + 3);
      if (!/^[0-9A-F]{2}$/.test(hex)) return raw;
      out.push(Number.parseInt(hex, 16));
      i += 2;
    } else out.push(b);
  }
  const key = Buffer.from(out);
  const back = streamNameOf(key);
  return 'name' in back && back.name === name ? key : raw;
}

/** The subject XADD made streams capture. */
export function redisSubject(name: string): string {
  return REDIS_SUBJECT_PREFIX + name;
}

function isLiteral(subject: string): boolean {
  return !subject.split('.').some((t) => t === '*' || t === '>');
}

/** The subject XADD publishes to on a stream, or the error to answer. */
export function xaddSubject(config: StreamConfig): { subject: string } | { error: string } {
  const own = redisSubject(config.name);
  const subjects = config.subjects ?? [];
  if (subjects.includes(own)) return { subject: own };
  const literal = subjects.find(isLiteral);
  if (literal !== undefined) return { subject: literal };
  if (subjects.length === 0) {
    return {
      error: `ERR stream '${config.name}' captures no subjects (a mirror or sources only): XADD cannot write into it`,
    };
  }
  return {
    error: `ERR stream '${config.name}' captures only wildcard subjects (${subjects.join(' ')}): XADD needs a literal one; add ${own} to its subjects`,
  };
}
