/**
 * The SSE encoding and request parsing, without a node: each payload kind
 * round-trips through the test helper's spec parser (text as is, lines,
 * binary and CR as base64 with the marker, a payload that starts with the
 * marker), the JSON envelope's headers, and every refusal of a request.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeEvent, headerValues } from '../../src/protocols/http/sse-event.js';
import { parseSseRequest } from '../../src/protocols/http/sse-request.js';
import { payloadOf, SseClient, type SseEvent } from '../helpers/sse.js';

/** Parses event text with the test client's parser (the spec's algorithm). */
function parse(text: string): SseEvent[] {
  // biome-ignore lint/suspicious/noExplicitAny: reaching the parser without a network
  const c = Object.create(SseClient.prototype) as any;
  Object.assign(c, {
    events: [],
    comments: [],
    buf: '',
    ev: { event: '', data: '', id: '' },
    hasData: false,
  });
  c.feed(text);
  return c.events as SseEvent[];
}

function msg(subject: string, payload: Buffer, headers: string | null = null) {
  return {
    subject,
    reply: '',
    headers: headers === null ? null : Buffer.from(headers),
    payload,
  };
}

test('text payloads arrive exactly; binary, CR and the marker itself go base64', () => {
  const cases: Buffer[] = [
    Buffer.from('hello'),
    Buffer.from(''),
    Buffer.from('two\nlines\n'),
    Buffer.from(' leading space\n\nblank line between'),
    Buffer.from('crlf\r\nline'),
    Buffer.from('lone\rcr'),
    Buffer.from('base64:looks like the marker'),
    Buffer.from([0xff, 0x00, 0xfe, 0x10]),
    Buffer.from('héllo wörld ✓'),
  ];
  for (const p of cases) {
    const text = encodeEvent(msg('a.b', p), 7, 'text');
    const evs = parse(text);
    assert.equal(evs.length, 1, JSON.stringify(text));
    assert.equal(evs[0]!.event, 'a.b');
    assert.equal(evs[0]!.id, '7');
    assert.deepEqual(payloadOf(evs[0]!), p, JSON.stringify(text));
  }
  assert.equal(encodeEvent(msg('x', Buffer.from('hi')), 0, 'text'), 'event: x\ndata: hi\n\n');
  assert.match(encodeEvent(msg('x', Buffer.from([0xff])), 0, 'text'), /data: base64:\/w==/);
});

test('json format: headers by name with every value, payload as data or data_base64', () => {
  const block = 'NATS/1.0\r\nX-Trace: 1\r\nX-Multi: a\r\nX-Multi: b\r\nNats-Msg-Id: m1\r\n\r\n';
  const [ev] = parse(encodeEvent(msg('orders.new', Buffer.from('{"n":1}\n'), block), 3, 'json'));
  const body = JSON.parse(ev!.data);
  assert.deepEqual(body, {
    subject: 'orders.new',
    seq: 3,
    headers: { 'X-Trace': ['1'], 'X-Multi': ['a', 'b'], 'Nats-Msg-Id': ['m1'] },
    data: '{"n":1}\n',
  });
  const [bin] = parse(encodeEvent(msg('b', Buffer.from([1, 2, 255])), 0, 'json'));
  assert.deepEqual(JSON.parse(bin!.data), { subject: 'b', data_base64: 'AQL/' });
  assert.equal(headerValues(Buffer.from('NATS/1.0 503\r\n\r\n')), null);
});

test('request parsing: subjects, start positions, Last-Event-ID and refusals', () => {
  const q = (s: string) => new URLSearchParams(s);
  const ok = (subject: string, query: string, id?: string) => {
    const r = parseSseRequest(subject, q(query), id);
    assert.ok(r.ok, r.ok ? '' : r.why);
    return r.req;
  };
  assert.equal(ok('orders.>', '').subject, 'orders.>');
  assert.equal(ok('a.*.c', 'queue=g').queue, 'g');
  assert.deepEqual(ok('a', 'stream=S').start, { policy: 'new' });
  assert.deepEqual(ok('a', 'stream=S&start=first').start, { policy: 'all' });
  assert.deepEqual(ok('a', 'stream=S&start=last').start, { policy: 'last' });
  assert.deepEqual(ok('a', 'stream=S&start=42').start, { policy: 'by_start_sequence', seq: 42 });
  assert.deepEqual(ok('a', 'stream=S&start=2024-05-01T10:00:00%2B02:00').start, {
    policy: 'by_start_time',
    time: '2024-05-01T08:00:00.000Z',
  });
  // Last-Event-ID wins over start: resume after it.
  assert.deepEqual(ok('a', 'stream=S&start=first', '41').start, {
    policy: 'by_start_sequence',
    seq: 42,
  });
  assert.equal(ok('a', '', '41').stream, '');
  const bad = (subject: string, query: string, id?: string) => {
    const r = parseSseRequest(subject, q(query), id);
    assert.equal(r.ok, false, `${subject}?${query} should be refused`);
    return r.ok ? '' : r.why;
  };
  assert.match(bad('a..b', ''), /invalid subject/);
  assert.match(bad('a.>.b', ''), /invalid subject/);
  assert.match(bad('a b', ''), /invalid subject/);
  assert.match(bad('a', 'format=xml'), /format/);
  assert.match(bad('a', 'start=first'), /needs a stream/);
  assert.match(bad('a', 'stream=S&start=yesterday'), /start must be/);
  assert.match(bad('a', 'stream=S&start=2024-05-01'), /start must be/);
  assert.match(bad('a', 'stream=a.b'), /invalid stream/);
  assert.match(bad('a', 'stream=S&queue=g'), /queue cannot/);
  assert.match(bad('a', 'stream=S', 'abc'), /Last-Event-ID/);
});

test('random payloads round-trip through the text format, split anywhere on the wire', () => {
  let seed = 1234567;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const alphabet = ['a', ' ', '\n', '\r', '\r\n', 'é', '✓', '𝄞', 'base64:', ':', '\u0000'];
  for (let i = 0; i < 2000; i++) {
    let p: Buffer;
    if (rnd(4) === 0) {
      p = Buffer.from(Array.from({ length: rnd(40) }, () => rnd(256)));
    } else {
      p = Buffer.from(
        Array.from({ length: rnd(20) }, () => alphabet[rnd(alphabet.length)]).join(''),
      );
    }
    const text = encodeEvent(msg('s.t', p), i + 1, 'text');
    // biome-ignore lint/suspicious/noExplicitAny: reaching the parser without a network
    const c = Object.create(SseClient.prototype) as any;
    Object.assign(c, {
      events: [],
      comments: [],
      buf: '',
      ev: { event: '', data: '', id: '' },
      hasData: false,
    });
    for (let at = 0; at < text.length; ) {
      const n = 1 + rnd(7);
      c.feed(text.slice(at, at + n));
      at += n;
    }
    const evs = c.events as SseEvent[];
    assert.equal(evs.length, 1, JSON.stringify(text));
    assert.deepEqual(payloadOf(evs[0]!), p, JSON.stringify(text));
    assert.equal(evs[0]!.id, String(i + 1));
  }
});
