/**
 * Messages that carry, in their first bytes, a digest of their subject and
 * the rest of their payload: a reader tells an intact message from a torn or
 * mixed-up one without knowing what was written, and a test matches what it
 * reads against what was acknowledged by the digest alone. (The store-level
 * crash test has its own, with headers: test/streams/crash-messages.ts.)
 */
import { createHash } from 'node:crypto';

const SUM_BYTES = 8;

function digest(subject: string, body: Uint8Array): Buffer {
  return createHash('sha256')
    .update(subject)
    .update('\0')
    .update(body)
    .digest()
    .subarray(0, SUM_BYTES);
}

/** A random message on `subject`: mostly under 1 KiB, one in 64 of 16-32 KiB. */
export function makeMessage(
  rand: () => number,
  subject: string,
): { subject: string; payload: Buffer; sum: string } {
  const size = rand() < 1 / 64 ? 16384 + Math.floor(rand() * 16384) : Math.floor(rand() * 1024);
  const body = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) body[i] = Math.floor(rand() * 256);
  const sum = digest(subject, body);
  return { subject, payload: Buffer.concat([sum, body]), sum: sum.toString('hex') };
}

/** The digest a message carries, and whether its content still matches it. */
export function checkMessage(
  subject: string,
  payload: Uint8Array,
): { sum: string; intact: boolean } {
  if (payload.length < SUM_BYTES) return { sum: '-', intact: false };
  const stored = Buffer.from(payload.subarray(0, SUM_BYTES));
  return {
    sum: stored.toString('hex'),
    intact: stored.equals(digest(subject, payload.subarray(SUM_BYTES))),
  };
}
