/**
 * What the StreamStore contract suite's modules share (store-suite.ts is
 * the entry): message views, fillers and the `it` harness's context.
 */
import type { TestContext } from 'node:test';
import type { StoredMessage, StoreState, StreamStore } from '../../src/streams/store.js';

/** A message as compared: only the contract's fields. */
export interface View {
  seq: number;
  subject: string;
  time: number;
  headers: Buffer | null;
  payload: Buffer;
}

export type Counts = Pick<StoreState, 'messages' | 'bytes' | 'firstSeq' | 'lastSeq' | 'subjects'>;

export const T0 = 1_700_000_000_000;
export const UTF8_SUBJECT = 'ünïcødé.日本語.🐟';
export const HDR = Buffer.from('NATS/1.0\r\nX-Key: v\r\n\r\n');
export const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

export function view(m: StoredMessage | null): View | null {
  if (m === null) return null;
  return { seq: m.seq, subject: m.subject, time: m.time, headers: m.headers, payload: m.payload };
}

export function v(
  seq: number,
  subject: string,
  payload: string | Buffer,
  time: number,
  headers: Buffer | null = null,
): View {
  return { seq, subject, time, headers, payload: Buffer.from(payload) };
}

export function sizeOf(subject: string, headers: Buffer | null, payload: Buffer | string): number {
  return Buffer.byteLength(subject) + (headers?.length ?? 0) + Buffer.byteLength(payload);
}

export function counts(s: StreamStore): Counts {
  const { messages, bytes, firstSeq, lastSeq, subjects } = s.state();
  return { messages, bytes, firstSeq, lastSeq, subjects };
}

export function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

/** The sequences `next` walks from the start with `filter`. */
export async function walk(s: StreamStore, filter?: string): Promise<number[]> {
  const seqs: number[] = [];
  for (let m = await s.next(0, filter); m !== null; m = await s.next(m.seq + 1, filter)) {
    seqs.push(m.seq);
  }
  return seqs;
}

/** Every message held, as views, in sequence order. */
export async function contents(s: StreamStore): Promise<View[]> {
  const out: View[] = [];
  for (let m = await s.next(0); m !== null; m = await s.next(m.seq + 1)) out.push(view(m)!);
  return out;
}

/** Appends `[subject, payload]` pairs one after another at T0 + seq, for predictable times. */
export async function fill(s: StreamStore, subjects: string[]): Promise<void> {
  for (const subject of subjects) {
    const seq = s.state().lastSeq + 1;
    await s.append(subject, null, Buffer.from(`${subject}#${seq}`), T0 + seq);
  }
}

/** Bytes held by the messages `fill` wrote at these sequences. */
export function filled(subjects: string[], seqs: number[]): number {
  return seqs.reduce(
    (n, seq) => n + sizeOf(subjects[seq - 1]!, null, `${subjects[seq - 1]}#${seq}`),
    0,
  );
}

export interface Ctx {
  readonly store: StreamStore;
  /** Whether the store persists (reopen works). */
  readonly persists: boolean;
  /** Closes the store and opens it again (stores that persist only). */
  reopen(): Promise<StreamStore>;
  /** Closes the store (the harness then does not). */
  close(): Promise<void>;
}

/** Declares one test of the suite: `fn` runs on a fresh store; `persist` skips stores that do not. */
export type It = (
  title: string,
  fn: (c: Ctx, t: TestContext) => Promise<void>,
  persist?: boolean,
) => void;
