/**
 * A time-bounded fuzz of the SSE face's pure parts (src/protocols/http/sse-*.ts):
 *   - requests: any subject, query and Last-Event-ID give a request or a
 *     reason, never a throw; an accepted subject is one the core accepts, a
 *     resume is always after a whole sequence;
 *   - events: any message (subject, headers, payload bytes) encodes to
 *     event text that holds no line end but LF, ends with a blank line, and
 *     parses back (the spec's algorithm, the wire cut anywhere) to its
 *     subject and its exact payload, in both formats.
 *
 * WEFT_FUZZ_SECONDS sets the time (default 3, shared by the parts);
 * WEFT_FUZZ_SEED replays a run.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { classifySubject } from '../../src/core/subject.js';
import { encodeEvent } from '../../src/protocols/http/sse-event.js';
import { parseSseRequest } from '../../src/protocols/http/sse-request.js';
import { payloadOf, SseClient, type SseEvent } from '../helpers/sse.js';
import { makeRng, type Rng, seedFromEnv, subSeed, withContext } from './nats-frames.js';

const SECONDS = Number(process.env.WEFT_FUZZ_SECONDS ?? '3');
const SEED = seedFromEnv();
const MIN_CASES = 300;

function run(part: number, one: (rng: Rng, i: number) => void): void {
  const rng = makeRng(subSeed(SEED, part));
  const end = performance.now() + (SECONDS * 1000) / 2;
  for (let i = 0; i < MIN_CASES || performance.now() < end; i++) {
    withContext(`WEFT_FUZZ_SEED=${SEED} part ${part} case ${i}`, () => one(rng, i));
  }
}

const PIECES = [
  'a',
  'b',
  '.',
  '*',
  '>',
  ' ',
  '\n',
  '\r',
  'é',
  '%',
  '0',
  '9',
  '-',
  ':',
  'T',
  'Z',
  '+',
];

function text(rng: Rng, max: number): string {
  let s = '';
  for (let n = rng.int(max); n > 0; n--) s += rng.pick(PIECES);
  return s;
}

function parse(wire: string, rng: Rng): SseEvent[] {
  // biome-ignore lint/suspicious/noExplicitAny: reaching the parser without a network
  const c = Object.create(SseClient.prototype) as any;
  Object.assign(c, {
    events: [],
    comments: [],
    buf: '',
    ev: { event: '', data: '', id: '' },
    hasData: false,
  });
  for (let at = 0; at < wire.length; ) {
    const n = 1 + rng.int(9);
    c.feed(wire.slice(at, at + n));
    at += n;
  }
  return c.events as SseEvent[];
}

test('SSE requests: a request or a reason, never a throw', () => {
  run(0, (rng) => {
    const subject = text(rng, 12);
    const q = new URLSearchParams();
    for (const k of ['queue', 'format', 'stream', 'start']) {
      if (rng.chance(0.4))
        q.set(k, rng.chance(0.3) ? rng.pick(['json', 'text', 'S', 'first', '7']) : text(rng, 6));
    }
    const id = rng.chance(0.3)
      ? rng.chance(0.5)
        ? String(rng.int(1000))
        : text(rng, 4)
      : undefined;
    const r = parseSseRequest(subject, q, id);
    if (!r.ok) {
      assert.equal(typeof r.why, 'string');
      return;
    }
    assert.notEqual(classifySubject(r.req.subject), 'invalid');
    if (r.req.start.policy === 'by_start_sequence')
      assert.ok(Number.isInteger(r.req.start.seq) && r.req.start.seq >= 1);
    if (r.req.stream === '') assert.equal(r.req.start.policy, 'new');
  });
});

test('SSE events: any message round-trips, in both formats', () => {
  run(1, (rng, i) => {
    const subject = Array.from({ length: 1 + rng.int(3) }, () =>
      rng.pick(['a', 'b', 'ö', 'x1']),
    ).join('.');
    const payload = rng.chance(0.5)
      ? Buffer.from(Array.from({ length: rng.int(30) }, () => rng.int(256)))
      : Buffer.from(text(rng, 30));
    const headers = rng.chance(0.3) ? Buffer.from('NATS/1.0\r\nA: 1\r\nA: 2\r\n\r\n') : null;
    const seq = rng.chance(0.5) ? i + 1 : 0;
    const msg = { subject, reply: '', headers, payload };
    for (const format of ['text', 'json'] as const) {
      const wire = encodeEvent(msg, seq, format);
      assert.ok(!wire.includes('\r'), 'only LF line ends');
      assert.ok(wire.endsWith('\n\n'));
      const evs = parse(wire, rng);
      assert.equal(evs.length, 1);
      assert.equal(evs[0]!.event, subject);
      assert.equal(evs[0]!.id, seq > 0 ? String(seq) : '');
      if (format === 'text') {
        assert.deepEqual(payloadOf(evs[0]!), payload);
      } else {
        const body = JSON.parse(evs[0]!.data) as {
          data?: string;
          data_base64?: string;
          headers?: unknown;
        };
        const back =
          body.data !== undefined
            ? Buffer.from(body.data, 'utf8')
            : Buffer.from(body.data_base64 ?? '', 'base64');
        assert.deepEqual(back, payload);
        if (headers !== null) assert.deepEqual(body.headers, { A: ['1', '2'] });
      }
    }
  });
});
