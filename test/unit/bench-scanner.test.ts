/**
 * The load generator's frame scanner: counts must not depend on how the byte
 * stream is split into chunks, and the message hook must see whole messages.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FrameScanner } from '../../src/bench/scanner.js';

interface Expected {
  msgs: number;
  payloadBytes: number;
  pings: number;
  pongs: number;
  oks: number;
  errs: number;
  infos: number;
  /** subject, reply, payload of every message, in order. */
  seen: string[];
}

/** A deterministic PRNG, so a failure can be replayed from its seed. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function stream(
  rand: () => number,
  frames: number,
  bigPayloads = true,
): { bytes: Buffer; want: Expected } {
  const parts: Buffer[] = [];
  const want: Expected = {
    msgs: 0,
    payloadBytes: 0,
    pings: 0,
    pongs: 0,
    oks: 0,
    errs: 0,
    infos: 1,
    seen: [],
  };
  const info = JSON.stringify({
    server_id: 'X'.repeat(56),
    version: '2.9.10',
    max_payload: 1048576,
  });
  parts.push(Buffer.from(`INFO ${info}\r\n`));
  for (let i = 0; i < frames; i++) {
    const kind = rand();
    if (kind < 0.6) {
      const big = rand() < 0.05 && bigPayloads;
      const size = big ? Math.floor(rand() * 200_000) : Math.floor(rand() * 40);
      const payload = Buffer.alloc(size, String.fromCharCode(97 + (i % 26)));
      const reply = rand() < 0.3 ? `_INBOX.${i}` : '';
      const subject = `bench.s${i % 7}`;
      parts.push(
        Buffer.from(`MSG ${subject} ${i + 1}${reply ? ` ${reply}` : ''} ${size}\r\n`),
        payload,
        Buffer.from('\r\n'),
      );
      want.msgs++;
      want.payloadBytes += size;
      want.seen.push(`${subject}|${reply}|${payload.toString('latin1')}`);
    } else if (kind < 0.7) {
      const headers = 'NATS/1.0\r\nTrace: abc\r\n\r\n';
      const body = 'y'.repeat(Math.floor(rand() * 30));
      const total = headers.length + body.length;
      parts.push(Buffer.from(`HMSG h.s 9 ${headers.length} ${total}\r\n${headers}${body}\r\n`));
      want.msgs++;
      want.payloadBytes += total;
      want.seen.push(`h.s||${headers}${body}`);
    } else if (kind < 0.8) {
      parts.push(Buffer.from('PING\r\n'));
      want.pings++;
    } else if (kind < 0.9) {
      parts.push(Buffer.from('PONG\r\n'));
      want.pongs++;
    } else if (kind < 0.95) {
      parts.push(Buffer.from('+OK\r\n'));
      want.oks++;
    } else {
      parts.push(Buffer.from('-ERR \'Permissions Violation for Publish to "x"\'\r\n'));
      want.errs++;
    }
  }
  return { bytes: Buffer.concat(parts), want };
}

function scan(bytes: Buffer, splits: number[], hook: boolean) {
  const s = new FrameScanner();
  const seen: string[] = [];
  const errors: string[] = [];
  const infos: string[] = [];
  s.onErr = (text) => errors.push(text);
  s.onInfo = (json) => infos.push(json);
  s.onProtocolError = (text) => assert.fail(text);
  if (hook) {
    s.onMsg = (line, ls, le, p, ps, pe) => {
      const tokens = line.toString('latin1', ls, le).trim().split(' ');
      const reply = tokens[0] === 'MSG' && tokens.length === 5 ? tokens[3] : '';
      seen.push(`${tokens[1]}|${reply}|${p.toString('latin1', ps, pe)}`);
    };
  }
  let at = 0;
  for (const cut of [...splits, bytes.length]) {
    // Socket chunks are the scanner's only while it runs: wiping each one
    // afterwards catches a scanner that kept a reference instead of a copy.
    const chunk = Buffer.from(bytes.subarray(at, cut));
    s.push(chunk);
    chunk.fill(0);
    at = cut;
  }
  return { s, seen, errors, infos };
}

function randomSplits(rand: () => number, length: number, maxChunk: number): number[] {
  const cuts: number[] = [];
  for (let at = 0; ; ) {
    at += 1 + Math.floor(rand() * maxChunk);
    if (at >= length) return cuts;
    cuts.push(at);
  }
}

function check(got: ReturnType<typeof scan>, want: Expected, hook: boolean): void {
  const { s } = got;
  assert.equal(s.msgs, want.msgs, 'msgs');
  assert.equal(s.payloadBytes, want.payloadBytes, 'payloadBytes');
  assert.equal(s.pings, want.pings, 'pings');
  assert.equal(s.pongs, want.pongs, 'pongs');
  assert.equal(s.oks, want.oks, 'oks');
  assert.equal(s.errs, want.errs, 'errs');
  assert.equal(s.infos, want.infos, 'infos');
  assert.equal(got.infos.length, 1);
  assert.doesNotThrow(() => JSON.parse(got.infos[0]!));
  for (const e of got.errors) assert.match(e, /^'Permissions Violation/);
  if (hook) assert.deepEqual(got.seen, want.seen);
}

describe('bench frame scanner', () => {
  for (const seed of [1, 2, 3, 4, 5, 6]) {
    for (const hook of [false, true]) {
      test(`random splits, seed ${seed}, ${hook ? 'with' : 'without'} message hook`, () => {
        const rand = prng(seed);
        const { bytes, want } = stream(rand, 400);
        const maxChunk = [1, 7, 64, 1500, 65536, 300_000][seed - 1]!;
        check(scan(bytes, randomSplits(rand, bytes.length, maxChunk), hook), want, hook);
      });
    }
  }

  test('every single split point of a short stream', () => {
    const { bytes, want } = stream(prng(42), 12, false);
    for (let cut = 1; cut < bytes.length; cut++) {
      check(scan(bytes, [cut], true), want, true);
    }
  });

  test('one byte at a time', () => {
    const { bytes, want } = stream(prng(7), 200, false);
    const cuts = Array.from({ length: bytes.length - 1 }, (_, i) => i + 1);
    check(scan(bytes, cuts, true), want, true);
  });

  test('PING calls onPing so the owner can answer PONG', () => {
    const s = new FrameScanner();
    let pings = 0;
    s.onPing = () => pings++;
    s.push(Buffer.from('PI'));
    s.push(Buffer.from('NG\r\nPING\r\n'));
    assert.equal(pings, 2);
  });

  test('a line no server sends is reported and stops the scan', () => {
    const s = new FrameScanner();
    const errors: string[] = [];
    s.onProtocolError = (text) => errors.push(text);
    s.push(Buffer.from('MSG a 1 2\r\nhi\r\nBOGUS\r\nMSG a 1 2\r\nhi\r\n'));
    assert.equal(s.msgs, 1);
    assert.equal(errors.length, 1);
    assert.match(errors[0]!, /BOGUS/);
  });

  test('a payload not followed by CRLF is a framing error', () => {
    const s = new FrameScanner();
    const errors: string[] = [];
    s.onProtocolError = (text) => errors.push(text);
    s.push(Buffer.from('MSG a 1 2\r\nhello\r\n'));
    assert.equal(s.msgs, 0);
    assert.match(errors[0]!, /CRLF/);
  });
});
