/**
 * The messages the crash test writes: each carries, in its first 8 payload
 * bytes, a digest of its subject, headers and the rest of its payload, so a
 * reader can tell an intact message from a torn or mixed-up one without
 * knowing what was written, and the test can match it against what was
 * acknowledged by the digest alone.
 */
import { createHash } from 'node:crypto';
import type { StoredMessage } from '../../src/streams/store.js';

export const SUM_BYTES = 8;
const HDR = 'NATS/1.0\r\nX-Writer: ';

/** A small fast PRNG (mulberry32): runs repeat from their printed seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function digest(subject: string, headers: Buffer | null, body: Buffer): Buffer {
  const h = createHash('sha256');
  h.update(subject);
  h.update(headers === null ? '\0null' : Buffer.concat([Buffer.from('\0h'), headers]));
  h.update('\0');
  h.update(body);
  return h.digest().subarray(0, SUM_BYTES);
}

export interface CrashMessage {
  subject: string;
  headers: Buffer | null;
  payload: Buffer;
  /** The digest, in hex, as the test reports it. */
  sum: string;
}

/** A random message from writer `w`: mostly small, now and then tens of KiB. */
export function makeMessage(rand: () => number, w: number): CrashMessage {
  const subject = `crash.w${w}.${Math.floor(rand() * 4)}`;
  const headers = rand() < 0.3 ? Buffer.from(`${HDR}${w}\r\n\r\n`) : null;
  const size = rand() < 1 / 64 ? 16384 + Math.floor(rand() * 65536) : Math.floor(rand() * 2048);
  const body = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) body[i] = Math.floor(rand() * 256);
  const sum = digest(subject, headers, body);
  return { subject, headers, payload: Buffer.concat([sum, body]), sum: sum.toString('hex') };
}

/** The digest a stored message carries, and whether its content still matches it. */
export function checkMessage(m: StoredMessage): { sum: string; intact: boolean } {
  if (m.payload.length < SUM_BYTES) return { sum: '-', intact: false };
  const stored = m.payload.subarray(0, SUM_BYTES);
  const actual = digest(m.subject, m.headers, m.payload.subarray(SUM_BYTES));
  return { sum: stored.toString('hex'), intact: stored.equals(actual) };
}
