/**
 * Random values for any Kafka message spec and version, for the codec's
 * round-trip tests and the fuzzer: every field the version carries, with
 * nulls where it is nullable, multi-byte strings, empty and filled arrays,
 * tagged fields sometimes set and sometimes left to their default.
 */
import type { Message } from '../../src/protocols/kafka/codec.js';
import { type FieldSpec, inRange } from '../../src/protocols/kafka/schemas/spec.js';
import type { Rng } from '../fuzz/nats-frames.js';

const WORDS = ['', 'a', 'orders', 'grüße', '日本', 'x'.repeat(40), 'consumer', 'range'];

function randomBytes(rng: Rng, max: number): Buffer {
  const b = Buffer.alloc(rng.int(max + 1));
  for (let i = 0; i < b.length; i++) b[i] = rng.int(256);
  return b;
}

function primitive(rng: Rng, type: string): unknown {
  switch (type) {
    case 'bool':
      return rng.chance(0.5);
    case 'int8':
      return rng.range(-128, 127);
    case 'int16':
      return rng.range(-32768, 32767);
    case 'uint16':
      return rng.range(0, 65535);
    case 'int32':
      return ((rng.u32() | 0) % (rng.chance(0.5) ? 1000 : 0x7fffffff)) + 0;
    case 'uint32':
      return rng.u32();
    case 'int64':
      return (
        BigInt.asIntN(64, (BigInt(rng.u32()) << 32n) | BigInt(rng.u32())) >> BigInt(rng.int(60))
      );
    case 'float64':
      return (rng.u32() - 0x80000000) / 7;
    case 'string':
      return rng.pick(WORDS);
    case 'bytes':
    case 'records':
      return randomBytes(rng, 40);
    case 'uuid':
      return Buffer.from(Array.from({ length: 16 }, () => rng.int(256))).toString('hex');
    default:
      throw new Error(`no generator for ${type}`);
  }
}

export function randomMessage(
  rng: Rng,
  fields: readonly FieldSpec[],
  version: number,
  depth = 0,
): Message {
  const m: Message = {};
  for (const f of fields) {
    if (!inRange(f.versions, version)) continue;
    if (f.tag !== undefined && inRange(f.taggedVersions, version) && rng.chance(0.4)) continue;
    m[f.name] = randomField(rng, f, version, depth);
  }
  return m;
}

function randomField(rng: Rng, f: FieldSpec, version: number, depth: number): unknown {
  if (inRange(f.nullableVersions, version) && rng.chance(0.2)) return null;
  const array = f.type.startsWith('[]');
  const elem = array ? f.type.slice(2) : f.type;
  const one = (): unknown =>
    elem === 'struct'
      ? randomMessage(rng, f.fields ?? [], version, depth + 1)
      : primitive(rng, elem);
  if (!array) return one();
  const n = depth > 3 ? 0 : rng.int(4);
  return Array.from({ length: n }, one);
}

/** Asserts `got` carries every value `want` set (deep; Buffers by content). Returns a path on mismatch. */
export function mismatch(want: unknown, got: unknown, path = '$'): string | null {
  if (Buffer.isBuffer(want)) return Buffer.isBuffer(got) && want.equals(got) ? null : path;
  if (Array.isArray(want)) {
    if (!Array.isArray(got) || got.length !== want.length) return path;
    for (let i = 0; i < want.length; i++) {
      const m = mismatch(want[i], got[i], `${path}[${i}]`);
      if (m !== null) return m;
    }
    return null;
  }
  if (want !== null && typeof want === 'object') {
    if (got === null || typeof got !== 'object') return path;
    for (const [k, v] of Object.entries(want)) {
      const m = mismatch(v, (got as Message)[k], `${path}.${k}`);
      if (m !== null) return m;
    }
    return null;
  }
  return Object.is(want, got) ? null : `${path} (${String(want)} vs ${String(got)})`;
}
