/**
 * A time-bounded fuzz of the HTTP API's pure parts (src/protocols/http):
 *   - paths: any request target gives a route, 404, 405 or a 400 reason —
 *     never a throw — and a subject percent-encoded into the path comes back
 *     exactly; a decoded subject is accepted only when the core calls it a
 *     literal subject;
 *   - headers: any raw header list maps to a NATS header block, nothing, or a
 *     reason; a block maps back (names and values as sent) and every header
 *     it gives HTTP passes Node's own header checks;
 *   - timeouts: any text gives a duration within the bounds or a reason, and
 *     a generated `<n><unit>` gives exactly its milliseconds;
 *   - credentials: any Authorization value gives credentials or a reason.
 *
 * WEFT_FUZZ_SECONDS sets the time (default 3, shared by the parts);
 * WEFT_FUZZ_SEED replays a run.
 */
import assert from 'node:assert/strict';
import { validateHeaderName, validateHeaderValue } from 'node:http';
import { describe, test } from 'node:test';
import { classifySubject } from '../../src/core/subject.js';
import { credentialsOf } from '../../src/protocols/http/auth.js';
import {
  httpHeadersFromNats,
  natsHeadersFromHttp,
  readNatsHeaders,
} from '../../src/protocols/http/headers.js';
import {
  parseTimeout,
  publishSubject,
  REQUEST_TIMEOUT_MAX_MS,
} from '../../src/protocols/http/params.js';
import { type HttpRoute, RouteTable } from '../../src/protocols/http/routes.js';
import { makeRng, type Rng, seedFromEnv, subSeed, withContext } from './nats-frames.js';

const SECONDS = Number(process.env.WEFT_FUZZ_SECONDS ?? '3');
const SEED = seedFromEnv();
const PARTS = 4;
const MIN_CASES = 200;

function deadline(): number {
  return performance.now() + (SECONDS * 1000) / PARTS;
}

function run(part: number, one: (rng: Rng, i: number) => void): number {
  const rng = makeRng(subSeed(SEED, part));
  const end = deadline();
  let i = 0;
  for (; i < MIN_CASES || performance.now() < end; i++) {
    withContext(`WEFT_FUZZ_SEED=${SEED} part ${part} case ${i}`, () => one(rng, i));
  }
  return i;
}

const ALPHABET = [
  ...'abcxyzABC019._-*>%/?#&=+ \t:;,"\'\\{}[]~!$()@',
  'é',
  'Ω',
  '日',
  '😀',
  '\u0000',
  '\u007f',
  '\r',
  '\n',
];

function text(rng: Rng, max: number, alphabet: readonly string[] = ALPHABET): string {
  let s = '';
  const n = rng.int(max + 1);
  for (let i = 0; i < n; i++) s += rng.pick(alphabet);
  return s;
}

const noop = () => {};
const route = (method: HttpRoute['method'], path: string): HttpRoute => ({
  method,
  path,
  module: 'fuzz',
  openapi: {},
  handle: noop,
});

describe('fuzz: HTTP API pure parts', () => {
  const table = new RouteTable();
  table.add(route('POST', '/v1/publish/{subject}'));
  table.add(route('POST', '/v1/request/{subject}'));
  table.add(route('GET', '/v1/subscribe/{subject}'));
  table.add(route('GET', '/v1/webhooks/{name}'));
  table.add(route('GET', '/v1/webhooks/status'));

  test('paths: lookup never throws; subjects round-trip through percent-encoding', () => {
    const n = run(0, (rng) => {
      if (rng.chance(0.5)) {
        const raw = `/${text(rng, 40, [...ALPHABET, '/', '/v1/', 'publish/', '%2', '%zz', '%e9'])}`;
        const r = table.lookup(rng.pick(['GET', 'POST', 'PUT']), raw);
        assert.ok(['found', 'not_found', 'method_not_allowed', 'bad_path'].includes(r.kind));
        if (r.kind === 'found' && r.params.subject !== undefined) {
          const s = publishSubject(r.params.subject);
          if (typeof s === 'string') assert.equal(classifySubject(s), 'literal');
        }
        return;
      }
      const subject = text(rng, 30);
      const r = table.lookup('POST', `/v1/publish/${encodeURIComponent(subject)}`);
      if (subject === '') {
        assert.equal(r.kind, 'not_found');
        return;
      }
      // Lone surrogates cannot be encoded; every other subject comes back as it was.
      assert.equal(r.kind, 'found');
      if (r.kind !== 'found') return;
      assert.equal(r.params.subject, subject);
      const checked = publishSubject(subject);
      if (typeof checked === 'string') {
        assert.equal(checked, subject);
        assert.equal(classifySubject(subject), 'literal');
        assert.ok(!/[\x00-\x1f\x7f]/.test(subject));
      } else assert.ok(checked.why.length > 0);
    });
    assert.ok(n >= MIN_CASES);
  });

  test('headers: map to a NATS block and back; what goes to HTTP passes Node’s checks', () => {
    const NAMES = [
      'Nats-Msg-Id',
      'nats-expected-stream',
      'X-Nats-Header-',
      'x-nats-header-',
      'Content-Type',
      'Nats-',
    ];
    const TOKEN = [...'abcXYZ019-_.!#$%&*+^`|~'];
    const n = run(1, (rng) => {
      const raw: string[] = [];
      const count = rng.int(6);
      for (let i = 0; i < count; i++) {
        const name = rng.chance(0.8) ? rng.pick(NAMES) + text(rng, 8, TOKEN) : text(rng, 8);
        raw.push(name, text(rng, 20, rng.chance(0.8) ? [...'abc 019=;,/é'] : ALPHABET));
      }
      const block = natsHeadersFromHttp(raw);
      if (block === null || typeof block === 'string') return;
      const view = readNatsHeaders(block);
      assert.equal(view.status, 0);
      for (const [name, value] of view.headers) {
        assert.ok(name.length > 0);
        assert.ok(!name.includes(':'));
        assert.ok(!/[\r\n]/.test(value));
      }
      const http = httpHeadersFromNats(view.headers);
      for (const [name, values] of Object.entries(http)) {
        validateHeaderName(name);
        for (const v of values) validateHeaderValue(name, v);
      }
    });
    assert.ok(n >= MIN_CASES);
  });

  test('headers: UTF-8 bytes pass both ways unchanged', () => {
    const wire = Buffer.from('日本 café', 'utf8').toString('latin1');
    const block = natsHeadersFromHttp(['X-Nats-Header-Place', wire, 'nats-msg-id', 'm']);
    assert.ok(block instanceof Buffer);
    assert.equal(block.toString('utf8'), 'NATS/1.0\r\nPlace: 日本 café\r\nNats-Msg-Id: m\r\n\r\n');
    const back = httpHeadersFromNats(readNatsHeaders(block).headers);
    assert.deepEqual(back, { 'X-Nats-Header-Place': [wire], 'Nats-Msg-Id': ['m'] });
  });

  test('timeouts: bounded or refused; generated durations exact', () => {
    const n = run(2, (rng) => {
      if (rng.chance(0.5)) {
        const r = parseTimeout(text(rng, 12, [...'0123456789.msh -e+']));
        if (typeof r === 'number') assert.ok(r > 0 && r <= REQUEST_TIMEOUT_MAX_MS);
        else assert.ok(r.why.length > 0);
        return;
      }
      const unit = rng.pick(['ms', 's', 'm'] as const);
      const v = rng.int(100_000);
      const ms = Math.ceil(v * { ms: 1, s: 1000, m: 60_000 }[unit]);
      const r = parseTimeout(`${v}${unit}`);
      if (ms <= 0 || ms > REQUEST_TIMEOUT_MAX_MS) assert.equal(typeof r, 'object');
      else assert.equal(r, ms);
    });
    assert.ok(n >= MIN_CASES);
  });

  test('credentials: any Authorization value gives credentials or a reason', () => {
    const n = run(3, (rng) => {
      const scheme = rng.pick(['Basic ', 'Bearer ', 'basic ', 'Digest ', '', ' ']);
      const value = rng.chance(0.3) ? Buffer.from(text(rng, 20)).toString('base64') : text(rng, 30);
      const c = credentialsOf(scheme + value, '127.0.0.1', null);
      if (typeof c === 'string') assert.ok(c.length > 0);
      else assert.equal(c.face, 'http');
    });
    assert.ok(n >= MIN_CASES);
  });
});
