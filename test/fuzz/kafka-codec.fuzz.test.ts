/**
 * A time-bounded fuzz of the Kafka wire layer (src/protocols/kafka/):
 * frames.ts, codec.ts, records.ts and compression.ts. It checks:
 *   - random requests of every API and version, pipelined and cut at random
 *     places, come out of FrameSplitter + decodeRequest exactly; so do they
 *     and large frames pushed as the session reads (one reused buffer,
 *     frames gathered over reads lent from the pool, `lend`);
 *   - mutated frames (bytes flipped, cut, grown), consumer-protocol payloads and record batches
 *     (every codec) only ever throw KafkaCodecError, never another error;
 *   - no decode takes long (no hang), and nothing decoded is larger than
 *     its input allows (a lying count or length never allocates).
 *
 * WEFT_FUZZ_SECONDS sets the time (default 3); WEFT_FUZZ_SEED replays a run.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import {
  decodeRequest,
  decodeResponse,
  encodeRequest,
  encodeResponse,
  REQUESTS,
  RESPONSES,
  SUPPORTED,
} from '../../src/protocols/kafka/codec.js';
import { initCompression } from '../../src/protocols/kafka/compression.js';
import {
  decodeConsumerProtocol,
  encodeConsumerProtocol,
} from '../../src/protocols/kafka/consumer-protocol.js';
import { FrameSplitter } from '../../src/protocols/kafka/frames.js';
import { decodeBatch, encodeBatch, splitBatches } from '../../src/protocols/kafka/records.js';
import { DATA } from '../../src/protocols/kafka/schemas/messages.js';
import { KafkaCodecError } from '../../src/protocols/kafka/wire.js';
import { mismatch, randomMessage } from '../kafka/spec-values.js';
import { makeRng, type Rng, seedFromEnv, subSeed, withContext } from './nats-frames.js';

const SECONDS = Number(process.env.WEFT_FUZZ_SECONDS ?? '3');
const SEED = seedFromEnv();
const MAX_FRAME = 64 * 1024;
const READ_SIZE = 64 * 1024;
const SLOW_MS = 1000;
const KEYS = [...SUPPORTED.keys()];

before(() => initCompression());

function randomRequest(rng: Rng): {
  frame: Buffer;
  key: number;
  version: number;
  body: Record<string, unknown>;
} {
  const key = rng.pick(KEYS);
  const s = SUPPORTED.get(key);
  assert.ok(s);
  const version = rng.range(s.min, s.max);
  const spec = REQUESTS.get(key);
  assert.ok(spec);
  const body = randomMessage(rng, spec.fields, version);
  const frame = Buffer.concat(
    encodeRequest(
      {
        apiKey: key,
        apiVersion: version,
        correlationId: rng.u32() | 0,
        clientId: rng.chance(0.2) ? null : 'fuzz',
      },
      body,
    ),
  );
  return { frame, key, version, body };
}

function mutate(rng: Rng, input: Buffer): Buffer {
  let b = Buffer.from(input);
  for (let i = 0; i < 1 + rng.int(4); i++) {
    switch (rng.int(4)) {
      case 0:
        if (b.length > 0) b[rng.int(b.length)] = rng.int(256);
        break;
      case 1:
        b = b.subarray(0, rng.int(b.length + 1));
        break;
      case 2: {
        const at = rng.int(b.length + 1);
        b = Buffer.concat([
          b.subarray(0, at),
          Buffer.from([rng.pick([0xff, 0x7f, 0x80, rng.int(256)])]),
          b.subarray(at),
        ]);
        break;
      }
      default:
        // A length or count field set to a huge value.
        if (b.length >= 4) b.writeInt32BE(rng.chance(0.5) ? 0x7fffffff : -2, rng.int(b.length - 3));
    }
  }
  return b;
}

/** Runs fn; only KafkaCodecError may escape, and it must be quick. */
function onlyTyped(what: string, fn: () => void): void {
  const t0 = Date.now();
  try {
    fn();
  } catch (err) {
    assert.ok(
      err instanceof KafkaCodecError,
      `${what}: ${err instanceof Error ? err.stack : String(err)}`,
    );
  }
  assert.ok(Date.now() - t0 < SLOW_MS, `${what}: took ${Date.now() - t0} ms`);
}

test('kafka frames: pipelined random requests split anywhere decode exactly', () => {
  const rng = makeRng(subSeed(SEED, 1));
  const until = Date.now() + (SECONDS * 1000) / 3;
  let cases = 0;
  while (Date.now() < until) {
    cases++;
    const reqs = Array.from({ length: 1 + rng.int(4) }, () => randomRequest(rng));
    const wire = Buffer.concat(reqs.map((r) => r.frame));
    withContext(`seed ${SEED}, case ${cases}`, () => {
      const splitter = new FrameSplitter(MAX_FRAME * 16);
      const got: Buffer[] = [];
      let at = 0;
      while (at < wire.length) {
        const n = 1 + rng.int(Math.min(wire.length - at, 300));
        splitter.push(wire.subarray(at, at + n));
        at += n;
        for (let f = splitter.next(); f !== null; f = splitter.next()) got.push(f);
      }
      assert.equal(got.length, reqs.length);
      for (const [i, f] of got.entries()) {
        const { header, body } = decodeRequest(f);
        assert.equal(header.apiKey, reqs[i].key);
        assert.equal(header.apiVersion, reqs[i].version);
        assert.equal(mismatch(reqs[i].body, body), null);
      }
    });
  }
  assert.ok(cases > 0);
});

/** Pushes `wire` the way the session reads: each cut copied into one reused buffer, pushed as transient, frames taken, `release`, the buffer overwritten. */
function pushLikeReads(
  rng: Rng,
  splitter: FrameSplitter,
  wire: Buffer,
  onFrame: (f: Buffer) => void,
): void {
  const read = Buffer.allocUnsafe(READ_SIZE);
  let at = 0;
  while (at < wire.length) {
    const n = Math.min(wire.length - at, 1 + rng.int(rng.pick([300, 5000, READ_SIZE])));
    wire.copy(read, 0, at, at + n);
    at += n;
    try {
      splitter.push(read.subarray(0, n), true);
      for (let f = splitter.next(); f !== null; f = splitter.next()) onFrame(f);
    } finally {
      splitter.release();
      read.fill(0xee);
    }
  }
}

test('kafka frames: requests and large frames over reused reads, lent from the pool, come out exactly', () => {
  const rng = makeRng(subSeed(SEED, 4));
  const until = Date.now() + (SECONDS * 1000) / 4;
  let cases = 0;
  while (Date.now() < until) {
    cases++;
    // Requests of every API between opaque frames up to 300 KiB (a Produce of 8 partitions is ~130 KiB).
    const frames = Array.from({ length: 1 + rng.int(5) }, () => {
      if (rng.chance(0.5)) return randomRequest(rng).frame;
      const body = Buffer.allocUnsafe(rng.int(300 * 1024));
      for (let i = 0; i < body.length; i += 997) body[i] = rng.int(256);
      const f = Buffer.allocUnsafe(4 + body.length);
      f.writeInt32BE(body.length, 0);
      body.copy(f, 4);
      return f;
    });
    withContext(`seed ${SEED}, case ${cases}`, () => {
      const splitter = new FrameSplitter(MAX_FRAME * 16, { lend: true, poison: () => true });
      let k = 0;
      pushLikeReads(rng, splitter, Buffer.concat(frames), (f) => {
        assert.ok(f.equals(frames[k]!.subarray(4)), `frame ${k} differs`);
        k++;
      });
      assert.equal(k, frames.length);
      assert.equal(splitter.pending, 0);
      splitter.dispose();
    });
  }
  assert.ok(cases > 0);
});

test('kafka frames: mutated requests and responses throw only KafkaCodecError', () => {
  const rng = makeRng(subSeed(SEED, 2));
  const until = Date.now() + (SECONDS * 1000) / 3;
  let cases = 0;
  while (Date.now() < until) {
    cases++;
    const { frame, key, version } = randomRequest(rng);
    const bad = mutate(rng, frame);
    withContext(`seed ${SEED}, case ${cases}`, () => {
      onlyTyped('request', () => {
        const splitter = new FrameSplitter(MAX_FRAME);
        splitter.push(bad);
        for (let f = splitter.next(); f !== null; f = splitter.next()) decodeRequest(f);
      });
      onlyTyped('request over reads', () => {
        const splitter = new FrameSplitter(MAX_FRAME, { lend: true, poison: () => true });
        pushLikeReads(rng, splitter, bad, (f) => decodeRequest(Buffer.from(f)));
        splitter.dispose();
      });
      onlyTyped('request body', () => decodeRequest(bad.subarray(4)));
      const spec = RESPONSES.get(key);
      assert.ok(spec);
      const resp = Buffer.concat(
        encodeResponse(key, version, 1, randomMessage(rng, spec.fields, version)),
      );
      onlyTyped('response', () => decodeResponse(key, version, mutate(rng, resp).subarray(4)));
      const name = rng.pick([
        'ConsumerProtocolSubscription',
        'ConsumerProtocolAssignment',
      ] as const);
      const dataSpec = DATA.get(name);
      assert.ok(dataSpec);
      const v = rng.int(4);
      const data = encodeConsumerProtocol(name, v, randomMessage(rng, dataSpec.fields, v));
      onlyTyped('consumer protocol', () => decodeConsumerProtocol(name, mutate(rng, data)));
    });
  }
  assert.ok(cases > 0);
});

test('kafka record batches: mutated batches of every codec throw only KafkaCodecError', () => {
  const rng = makeRng(subSeed(SEED, 3));
  const until = Date.now() + (SECONDS * 1000) / 3;
  let cases = 0;
  while (Date.now() < until) {
    cases++;
    const records = Array.from({ length: 1 + rng.int(5) }, () => ({
      key: rng.chance(0.3) ? null : Buffer.from(`k${rng.int(100)}`),
      value: rng.chance(0.1) ? null : Buffer.alloc(rng.int(200), rng.int(256)),
      headers: rng.chance(0.5) ? [{ key: 'h', value: Buffer.from('v') }] : [],
      timestamp: 1_700_000_000_000 + rng.int(1000),
    }));
    const codec = rng.int(5) as 0 | 1 | 2 | 3 | 4;
    const batch = encodeBatch({ compression: codec, records });
    withContext(`seed ${SEED}, case ${cases}, codec ${codec}`, () => {
      const back = decodeBatch(batch, { maxBytes: MAX_FRAME });
      assert.equal(back.records.length, records.length);
      const bad = mutate(rng, batch);
      onlyTyped('batch', () => {
        for (const b of splitBatches(bad))
          decodeBatch(b, { maxBytes: MAX_FRAME, checkCrc: rng.chance(0.2) });
      });
      onlyTyped('batch tail', () => splitBatches(bad, true));
    });
  }
  assert.ok(cases > 0);
});
