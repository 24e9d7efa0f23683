/**
 * The NATS face's MSG encoding (src/protocols/nats/msg-output.ts): a run of
 * deliveries to one subscription writes "MSG <subject> <sid> " four bytes at
 * a time (`TargetWords`); whatever the run (subjects and sids of each length
 * mod 4, payloads short and long, a header block left out, a reply, a
 * wildcard subscription's subject changing, two subscriptions taking
 * turns), the bytes are those of the plain encoding (`queueMsg`).
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, test } from 'node:test';
import { Flusher } from '../../src/connection/connection.js';
import type { SlowReason } from '../../src/connection/outbound.js';
import type { Transport } from '../../src/connection/transport.js';
import { RangeMessage } from '../../src/core/message.js';
import { MsgOutput, type NatsSubscription } from '../../src/protocols/nats/msg-output.js';

class Sink extends EventEmitter {
  readonly remoteAddress = '127.0.0.1';
  readonly remotePort = 1;
  destroyed = false;
  closed = false;
  writableLength = 0;
  readonly received: Buffer[] = [];
  write(chunk: Uint8Array, cb?: () => void): boolean {
    this.received.push(Buffer.from(chunk));
    cb?.();
    return true;
  }
  cork(): void {}
  uncork(): void {}
}

class Out extends MsgOutput {
  deliver(ns: NatsSubscription, msg: RangeMessage, withHeaders: boolean): number {
    return this.queueDelivery(ns, msg, withHeaders);
  }
  protected onSlowConsumer(_reason: SlowReason): void {
    assert.fail('no bound in this test');
  }
}

function sub(subject: string, sid: string): NatsSubscription {
  return {
    subject,
    queue: '',
    sid,
    owner: null as never,
    max: 0,
    delivered: 0,
    target: Buffer.alloc(0),
    targetLen: 0,
    targetSubject: '',
    check: false,
  } as unknown as NatsSubscription;
}

/** The plain encoding of one delivery (what queueMsg writes). */
function expected(subject: string, sid: string, m: RangeMessage, withHeaders: boolean): Buffer {
  const headers = withHeaders ? m.headers : null;
  const payload = m.payload;
  const reply = m.reply === '' ? '' : `${m.reply} `;
  const head =
    headers === null
      ? `MSG ${subject} ${sid} ${reply}${payload.length}\r\n`
      : `HMSG ${subject} ${sid} ${reply}${headers.length} ${headers.length + payload.length}\r\n`;
  return Buffer.concat([
    Buffer.from(head),
    headers ?? Buffer.alloc(0),
    payload,
    Buffer.from('\r\n'),
  ]);
}

function message(
  subject: string,
  reply: string,
  headers: string | null,
  payload: Buffer,
): RangeMessage {
  const h = headers === null ? Buffer.alloc(0) : Buffer.from(headers);
  const buf = Buffer.concat([Buffer.from('junk'), h, payload, Buffer.from('more')]);
  return new RangeMessage(
    subject,
    reply,
    buf,
    4,
    headers === null ? -1 : h.length,
    4 + h.length + payload.length,
  );
}

describe('NATS MSG encoding, word-wide for a run to one subscription', () => {
  test('every run is encoded as the plain encoding', () => {
    const flusher = new Flusher();
    const sink = new Sink();
    const out = new Out(1, sink as unknown as Transport, flusher, 1 << 30);
    const want: Buffer[] = [];
    const send = (ns: NatsSubscription, m: RangeMessage, withHeaders: boolean) => {
      out.deliver(ns, m, withHeaders);
      want.push(expected(m.subject, ns.sid, m, withHeaders));
    };
    flusher.begin();
    for (const subject of ['a', 'ab', 'abc', 'abcd', 'orders.eu.1', 'x'.repeat(150)]) {
      for (const sid of ['1', '22', '333', '4444']) {
        const ns = sub(subject, sid);
        for (const size of [0, 1, 3, 16, 64, 65, 1000]) {
          const payload = Buffer.alloc(size, 0x61 + (size % 26));
          send(ns, message(subject, '', null, payload), true);
          send(ns, message(subject, '', null, payload), true);
          send(ns, message(subject, '', 'NATS/1.0\r\nA: b\r\n\r\n', payload), false);
          send(ns, message(subject, '', 'NATS/1.0\r\nA: b\r\n\r\n', payload), true);
          send(ns, message(subject, 'reply.to', null, payload), true);
          send(ns, message(subject, '', null, payload), true);
        }
      }
    }
    // A wildcard subscription whose subject changes, and two taking turns.
    const wild = sub('w.*', '9');
    const other = sub('w.*', '10');
    for (let i = 0; i < 50; i++) {
      const subject = `w.${i % 3 === 0 ? 'aaaa' : i % 3 === 1 ? 'bb' : 'cccccc'}`;
      const payload = Buffer.from(`p${i}`);
      send(wild, message(subject, '', null, payload), true);
      send(wild, message(subject, '', null, payload), true);
      send(i % 2 === 0 ? wild : other, message(subject, '', null, payload), true);
    }
    flusher.end();
    assert.equal(
      Buffer.concat(sink.received).toString('latin1'),
      Buffer.concat(want).toString('latin1'),
    );
  });

  test('two subscriptions taking turns both go word-wide; small payloads of every length copy exactly', () => {
    const flusher = new Flusher();
    const sink = new Sink();
    const out = new Out(1, sink as unknown as Transport, flusher, 1 << 30);
    // Count the word-wide heads (queueWords is private: counted on this instance).
    let words = 0;
    // biome-ignore lint/suspicious/noExplicitAny: a private method, wrapped to count its calls
    const o = out as any;
    const queueWords = o.queueWords;
    o.queueWords = function (...args: unknown[]) {
      words++;
      return queueWords.apply(this, args);
    };
    const want: Buffer[] = [];
    const send = (ns: NatsSubscription, m: RangeMessage) => {
      out.deliver(ns, m, true);
      want.push(expected(m.subject, ns.sid, m, true));
    };
    // One ack matching a wildcard inbox and the ack inbox: the two subscriptions in turn.
    const wild = sub('_INBOX.x.*', '1');
    const ack = sub('_INBOX.x.ack', '2');
    flusher.begin();
    for (let i = 0; i < 100; i++) {
      const m = message('_INBOX.x.ack', '', null, Buffer.from(`{"stream":"s","seq":${i}}`));
      send(wild, m);
      send(ack, m);
    }
    flusher.end();
    // The first two deliveries of each are encoded plainly, every later one word-wide.
    assert.equal(words, 200 - 4);
    // Three in turn: still exact (the entries are replaced as they go).
    const third = sub('_INBOX.x.ack', '33');
    flusher.begin();
    for (let i = 0; i < 30; i++) {
      const m = message('_INBOX.x.ack', '', null, Buffer.from(`p${i}`));
      send(wild, m);
      send(ack, m);
      send(third, m);
    }
    // Payloads of 0 to 64 bytes (either side of the word copy's minimum and
    // of whole words), at odd offsets in their buffers.
    for (let size = 0; size <= 64; size++) {
      const payload = Buffer.from(Array.from({ length: size }, (_, k) => (k * 7 + size) & 0xff));
      for (const ns of [wild, ack]) {
        send(ns, message('_INBOX.x.ack', '', null, payload));
        send(ns, message('_INBOX.x.ack', 'r.1', null, payload));
        send(ns, message('_INBOX.x.ack', '', 'NATS/1.0\r\n\r\n', payload));
      }
    }
    flusher.end();
    assert.equal(
      Buffer.concat(sink.received).toString('latin1'),
      Buffer.concat(want).toString('latin1'),
    );
    // A flush lets go of the view of the last source buffer.
    assert.equal(o.srcViewOf, null);
  });
});
