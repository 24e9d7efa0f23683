/**
 * The bench producer's wire: Produce v7 requests of RecordBatch v2 batches
 * whose records are all the same value (no key, no headers, timestamp delta
 * 0), written straight into reused buffers. A real producer (the Java
 * client's MemoryRecordsBuilder, librdkafka's msgset writer) appends each
 * record into the open batch's buffer and reuses its buffers; the general
 * codec (records.ts encodeBatch, codec.ts encodeRequest) builds an object
 * per record and per field and a new 16 KiB ArrayBuffer per batch, which
 * made the load generator cost 2–3× the JetStream client's CPU per record on
 * the same 2 cores (bench/PROFILE.md, "Issue 16 — kgen (round 11)").
 *
 * The bytes are the same as encodeRequest(…, { acks, timeoutMs, topicData })
 * over encodeBatch({ baseTimestamp, records: [{ value }, …] }) would give
 * (test/kafka/bench-producer.test.ts checks both that and the face's decode).
 *
 * Each batch's buffer has room before the batch for the request's head (only
 * the first batch of a request uses it) and the partition's index and size,
 * so a one-partition request is one write of one buffer.
 */
import { createRequire } from 'node:module';
import type * as Crc32 from '@node-rs/crc32';

const crc32c = (createRequire(import.meta.url)('@node-rs/crc32') as typeof Crc32).crc32c;

const PRODUCE = 0;
const PRODUCE_VERSION = 7;
const BATCH_HEADER = 61;
const CRC_FROM = 21;
const CRC_AT = 17;
/** A record's bytes beyond its value, at most: length (5), attributes, timestamp delta, offset delta (5), key length, value length (5), header count. */
const RECORD_EXTRA_MAX = 19;

function zigzagSize(v: number): number {
  let u = ((v << 1) ^ (v >> 31)) >>> 0;
  let n = 1;
  while (u >= 0x80) {
    u >>>= 7;
    n++;
  }
  return n;
}

function putZigzag(out: Buffer, at: number, v: number): number {
  let u = ((v << 1) ^ (v >> 31)) >>> 0;
  while (u >= 0x80) {
    out[at++] = (u & 0x7f) | 0x80;
    u >>>= 7;
  }
  out[at++] = u;
  return at;
}

/** One partition's batch, open (records being appended) or closed (header and CRC written). */
export interface WireBatch {
  partition: number;
  buf: Buffer;
  /** Records appended. */
  count: number;
  /** Where the next record goes (after close: the batch's end). */
  end: number;
  firstAt: number;
}

export interface ProduceWireOptions {
  topic: string;
  clientId: string;
  acks: number;
  timeoutMs: number;
  /** Every record's value. */
  value: Buffer;
  /** Records one batch holds at most. */
  maxRecords: number;
  /** Buffers kept for reuse at most (the bound of the free list). */
  poolMax: number;
}

export class ProduceWire {
  /** The request head: size, header v1, transactionalId null, acks, timeout, one topic, its partition count. */
  private readonly head: Buffer;
  /** Where the batch starts in every buffer (after the head and the partition's index and size). */
  private readonly batchAt: number;
  /** A record's bytes after its offset delta: key length (null), value length, value, header count. */
  private readonly tail: Buffer;
  private readonly capacity: number;
  private readonly free: Buffer[] = [];
  /** Buffers allocated (the pool's misses), for the test and the profile. */
  allocated = 0;

  constructor(private readonly o: ProduceWireOptions) {
    const cid = Buffer.from(o.clientId);
    const name = Buffer.from(o.topic);
    const head = Buffer.alloc(4 + 2 + 2 + 4 + 2 + cid.length + 2 + 2 + 4 + 4 + 2 + name.length + 4);
    let at = 4;
    at = head.writeInt16BE(PRODUCE, at);
    at = head.writeInt16BE(PRODUCE_VERSION, at);
    at += 4; // correlation id
    at = head.writeInt16BE(cid.length, at);
    at += cid.copy(head, at);
    at = head.writeInt16BE(-1, at); // transactionalId
    at = head.writeInt16BE(o.acks, at);
    at = head.writeInt32BE(o.timeoutMs, at);
    at = head.writeInt32BE(1, at); // topics
    at = head.writeInt16BE(name.length, at);
    at += name.copy(head, at);
    this.head = head;
    this.batchAt = head.length + 8;
    const v = o.value;
    const tail = Buffer.alloc(1 + zigzagSize(v.length) + v.length + 1);
    tail[0] = 1; // key length -1
    const vAt = putZigzag(tail, 1, v.length);
    v.copy(tail, vAt);
    tail[tail.length - 1] = 0;
    this.tail = tail;
    this.capacity = this.batchAt + BATCH_HEADER + o.maxRecords * (v.length + RECORD_EXTRA_MAX);
  }

  /** A new, empty batch for `partition`, opened at `now` (its base timestamp). */
  open(partition: number, now: number): WireBatch {
    let buf = this.free.pop();
    if (buf === undefined) {
      buf = Buffer.allocUnsafeSlow(this.capacity);
      this.allocated++;
    }
    return { partition, buf, count: 0, end: this.batchAt + BATCH_HEADER, firstAt: now };
  }

  /** Appends one record (the value) to an open batch. */
  append(b: WireBatch): void {
    const buf = b.buf;
    const tail = this.tail;
    const delta = b.count++;
    let at = b.end;
    // length: attributes, timestamp delta, offset delta, the tail
    at = putZigzag(buf, at, 2 + zigzagSize(delta) + tail.length);
    buf[at++] = 0; // attributes
    buf[at++] = 0; // timestamp delta 0
    at = putZigzag(buf, at, delta);
    buf.set(tail, at);
    b.end = at + tail.length;
  }

  /** Writes the batch header and its CRC-32C. */
  close(b: WireBatch): void {
    const buf = b.buf;
    const at = this.batchAt;
    const n = b.count;
    const hi = Math.floor(b.firstAt / 0x1_0000_0000);
    const lo = b.firstAt >>> 0;
    buf.writeInt32BE(0, at); // base offset
    buf.writeInt32BE(0, at + 4);
    buf.writeInt32BE(b.end - at - 12, at + 8); // batch length
    buf.writeInt32BE(-1, at + 12); // partition leader epoch
    buf[at + 16] = 2; // magic
    buf.writeInt16BE(0, at + 21); // attributes
    buf.writeInt32BE(n === 0 ? 0 : n - 1, at + 23); // last offset delta
    buf.writeInt32BE(hi, at + 27); // base timestamp
    buf.writeUInt32BE(lo, at + 31);
    buf.writeInt32BE(hi, at + 35); // max timestamp (every delta is 0)
    buf.writeUInt32BE(lo, at + 39);
    buf.writeInt32BE(-1, at + 43); // producer id -1
    buf.writeInt32BE(-1, at + 47);
    buf.writeInt16BE(-1, at + 51); // producer epoch
    buf.writeInt32BE(-1, at + 53); // base sequence
    buf.writeInt32BE(n, at + 57);
    buf.writeUInt32BE(crc32c(buf.subarray(at + CRC_FROM, b.end)) >>> 0, at + CRC_AT);
  }

  /**
   * The request carrying closed `batches` (one per partition), as views of
   * their buffers: the first holds the head. The buffers stay in use until
   * `release` (after the answer: the server has read every byte by then).
   */
  request(correlationId: number, batches: readonly WireBatch[]): Buffer[] {
    const head = this.head;
    const out = new Array<Buffer>(batches.length);
    let total = head.length;
    for (let i = 0; i < batches.length; i++) {
      const b = batches[i]!;
      const from = this.batchAt - 8;
      b.buf.writeInt32BE(b.partition, from);
      b.buf.writeInt32BE(b.end - this.batchAt, from + 4);
      total += b.end - from;
      out[i] = b.buf.subarray(i === 0 ? from - head.length : from, b.end);
    }
    const first = batches[0]!.buf;
    const at = this.batchAt - 8 - head.length;
    head.copy(first, at);
    first.writeInt32BE(total - 4, at);
    first.writeInt32BE(correlationId, at + 8);
    first.writeInt32BE(batches.length, at + head.length - 4);
    return out;
  }

  /** Returns a batch's buffer for reuse (at most `poolMax` are kept). */
  release(b: WireBatch): void {
    if (this.free.length < this.o.poolMax) this.free.push(b.buf);
  }
}

/**
 * Counts the partition error codes of a Produce v7 answer (the frame
 * without its size, correlation id first: response header v0) into
 * `codes`, walking it in place; returns how many partitions answered with
 * an error. A frame cut short throws (RangeError from the reads).
 */
export function produceAnswerErrors(frame: Buffer, codes: Record<string, number>): number {
  let at = 4; // correlation id
  let errors = 0;
  const topics = frame.readInt32BE(at);
  at += 4;
  for (let t = 0; t < topics; t++) {
    at += 2 + frame.readInt16BE(at); // name
    const partitions = frame.readInt32BE(at);
    at += 4;
    for (let p = 0; p < partitions; p++) {
      // index int32, errorCode int16, baseOffset, logAppendTimeMs, logStartOffset int64
      const code = frame.readInt16BE(at + 4);
      if (code !== 0) {
        errors++;
        codes[code] = (codes[code] ?? 0) + 1;
      }
      at += 30;
    }
  }
  frame.readInt32BE(at); // throttleTimeMs: the frame holds it
  return errors;
}
