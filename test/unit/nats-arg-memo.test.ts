/**
 * The NATS parser's memo of the last subject and reply (src/protocols/nats/arg-memo.ts):
 * every argument is decoded as sent, whatever repeats; an adaptive memo
 * (replies) stops copying a client's replies after ADAPTIVE_MISSES misses in
 * a row (an inbox per request never repeats) and still picks up one that
 * starts repeating within ADAPTIVE_EVERY misses.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ADAPTIVE_EVERY, ADAPTIVE_MISSES, ArgMemo } from '../../src/protocols/nats/arg-memo.js';
import { NatsParser } from '../../src/protocols/nats/parser.js';
import { DEFAULT_LIMITS, makeRng, randomSplits, recorder } from '../fuzz/nats-frames.js';

/** `text` between other bytes, as a parser sees an argument. */
type Events = ReturnType<typeof recorder>['events'];

/** Parses `input` whole, then in 19 random splits (seeded), checking the events of each run. */
function parsedInSplits(input: Buffer, seed: number, check: (events: Events, run: number) => void) {
  const rng = makeRng(seed);
  for (let run = 0; run < 20; run++) {
    const { handler, events } = recorder();
    const p = new NatsParser(handler, DEFAULT_LIMITS);
    for (const chunk of run === 0 ? [input] : randomSplits(input, rng)) {
      assert.equal(p.feed(Buffer.from(chunk)), null);
    }
    check(events, run);
  }
}

function framed(text: string): { buf: Buffer; s: number; e: number } {
  const t = Buffer.from(text, 'utf8');
  const buf = Buffer.concat([Buffer.from('PUB '), t, Buffer.from(' 1\r\n')]);
  return { buf, s: 4, e: 4 + t.length };
}

describe('ArgMemo', () => {
  test('decodes every argument as sent, repeats and near misses included', () => {
    const long = 'r'.repeat(128);
    const texts = [
      '_INBOX.a.ack',
      '_INBOX.a.ack',
      '_INBOX.a.acj',
      '_INBOX.a.ack',
      '_INBOX.b.ack',
      'größe.1',
      'größe.1',
      'größf.1',
      long,
      long,
      `${long}x`,
      `${long}x`,
      long,
      '',
      'a',
      'a',
    ];
    for (const adaptive of [false, true]) {
      const memo = new ArgMemo(128, adaptive);
      for (const t of texts) {
        const { buf, s, e } = framed(t);
        assert.equal(memo.decode(buf, s, e), t);
      }
    }
  });

  test('an argument longer than the bound is never remembered; keep=false leaves the memo as it was', () => {
    const memo = new ArgMemo(8, false);
    const a = framed('12345678');
    memo.decode(a.buf, a.s, a.e);
    assert.equal(memo.length, 8);
    const b = framed('123456789');
    assert.equal(memo.decode(b.buf, b.s, b.e), '123456789');
    assert.equal(memo.length, 8);
    const c = framed('abc');
    assert.equal(memo.decode(c.buf, c.s, c.e, false), 'abc');
    assert.equal(memo.length, 8);
    assert.equal(memo.followedByBlank(a.buf, a.s, a.buf.length), '12345678');
    assert.equal(memo.followedByBlank(c.buf, c.s, c.buf.length), null);
  });

  test('an adaptive memo stops copying unique replies, and picks up a repeating one', () => {
    const memo = new ArgMemo(128, true);
    const unique = (i: number) => framed(`_INBOX.n.${String(i).padStart(6, '0')}`);
    let i = 0;
    // The first misses are each remembered.
    for (; i < ADAPTIVE_MISSES; i++) {
      const f = unique(i);
      memo.decode(f.buf, f.s, f.e);
      assert.equal(memo.remembered, f.buf.toString('utf8', f.s, f.e));
    }
    // Then only every ADAPTIVE_EVERY-th.
    let remembered = 0;
    for (; i < ADAPTIVE_MISSES + 4 * ADAPTIVE_EVERY; i++) {
      const f = unique(i);
      const text = `_INBOX.n.${String(i).padStart(6, '0')}`;
      assert.equal(memo.decode(f.buf, f.s, f.e), text);
      if (memo.remembered === text) remembered++;
    }
    assert.equal(remembered, 4);
    // A client that switches to one reply inbox: remembered within ADAPTIVE_EVERY, then hits.
    const fixed = framed('_INBOX.fixed.ack');
    let k = 0;
    while (memo.remembered !== '_INBOX.fixed.ack') {
      assert.equal(memo.decode(fixed.buf, fixed.s, fixed.e), '_INBOX.fixed.ack');
      k++;
    }
    assert.ok(k <= ADAPTIVE_EVERY, `remembered after ${k} publishes`);
    // A hit (by decode or by followedByBlank) resets the misses: the next new reply is remembered at once.
    for (const hit of ['decode', 'followedByBlank']) {
      for (let j = 0; j < 2 * ADAPTIVE_EVERY; j++) {
        const f = unique(i++);
        memo.decode(f.buf, f.s, f.e);
      }
      while (memo.remembered !== '_INBOX.fixed.ack') memo.decode(fixed.buf, fixed.s, fixed.e);
      if (hit === 'decode') memo.decode(fixed.buf, fixed.s, fixed.e);
      else {
        assert.equal(
          memo.followedByBlank(fixed.buf, fixed.s, fixed.buf.length),
          '_INBOX.fixed.ack',
        );
      }
      const next = framed(`_INBOX.other.${hit}`);
      memo.decode(next.buf, next.s, next.e);
      assert.equal(memo.remembered, `_INBOX.other.${hit}`, hit);
    }
  });
});

describe('NATS parser: reply subjects through the memo', () => {
  test('PUB and HPUB replies are reported as sent, whole and in random splits', () => {
    const replies = [
      '_INBOX.x.ack',
      '_INBOX.x.ack',
      '_INBOX.x.acl',
      '',
      '_INBOX.x.ack',
      'ré.ply',
      'ré.ply',
      'r'.repeat(200),
      'r'.repeat(200),
      ...Array.from({ length: 60 }, (_, i) => `_INBOX.u.${i}`),
      '_INBOX.x.ack',
      '_INBOX.x.ack',
    ];
    const frames = replies.map((r, i) =>
      i % 3 === 2
        ? `HPUB s.${i % 2} ${r} 12 13\r\nNATS/1.0\r\n\r\nx\r\n`
        : `PUB s.${i % 2} ${r} 1\r\nx\r\n`,
    );
    parsedInSplits(Buffer.from(frames.join(''), 'utf8'), 16_010, (events, run) =>
      assert.deepEqual(
        events.map((e) => (e.op === 'pub' ? e.reply : e.op)),
        replies,
        `run ${run}`,
      ),
    );
  });

  test('a remembered reply that looks like a size is a reply only where one stands', () => {
    const frames = [
      ['PUB s 12 2\r\nab\r\n', '12', 'ab'],
      ['PUB s 12 2\r\nab\r\n', '12', 'ab'],
      ['PUB s 12\r\nabcdefghijkl\r\n', '', 'abcdefghijkl'],
      ['PUB s 12 \r\nabcdefghijkl\r\n', '', 'abcdefghijkl'],
      ['PUB s 12\t2\r\nab\r\n', '12', 'ab'],
      ['PUB s ré.ply 2\r\nab\r\n', 'ré.ply', 'ab'],
      ['PUB s ré.ply 2\r\nab\r\n', 'ré.ply', 'ab'],
      ['PUB s ré.plz 2\r\nab\r\n', 'ré.plz', 'ab'],
    ] as const;
    parsedInSplits(Buffer.from(frames.map((f) => f[0]).join(''), 'utf8'), 16_011, (events, run) =>
      assert.deepEqual(
        events.map((e) => (e.op === 'pub' ? [e.reply, e.payload] : [e.op])),
        frames.map((f) => [f[1], f[2]]),
        `run ${run}`,
      ),
    );
  });
});
