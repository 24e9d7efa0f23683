/**
 * A time-bounded fuzz of the CloudEvents logic (src/protocols/cloudevents.ts)
 * and the MQTT face's edge (src/protocols/mqtt/properties.ts). Inputs are
 * random strings (ASCII, `%`-heavy, quotes, controls, non-BMP characters),
 * random header lists and JSON-ish bodies, mutated valid events and batches,
 * and generated valid events. It checks:
 *   - nothing throws: `percentDecode`, `binaryAttributes`, `validateEvent`,
 *     `parseStructured`, `splitBatch`, `fromHeaders` answer for any input;
 *   - `percentEncode` gives printable ASCII with no space, `"` or raw `%`,
 *     and `percentDecode` gives back the string it was made from;
 *   - a generated event goes structured → binary (canonical headers in a NATS
 *     header block) → structured and comes back the same (attributes as
 *     strings, the same data), valid at every step;
 *   - the MQTT edge: an event's user properties → headers → user properties
 *     come back the same, and a message without `specversion` keeps its
 *     user properties as headers of their own name.
 *
 * WEFT_FUZZ_SECONDS sets the time (default 3, shared by the parts);
 * WEFT_FUZZ_SEED replays a run.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  binaryAttributes,
  binaryFromStructured,
  canonicalHeaders,
  headerBlock,
  headerPairs,
  parseStructured,
  percentDecode,
  percentEncode,
  splitBatch,
  structuredFromBinary,
  validateEvent,
} from '../../src/protocols/cloudevents.js';
import { fromHeaders, toHeaders } from '../../src/protocols/mqtt/properties.js';
import { makeRng, type Rng, seedFromEnv, subSeed, withContext } from './nats-frames.js';

const SECONDS = Number(process.env.WEFT_FUZZ_SECONDS ?? '3');
const SEED = seedFromEnv();
const PARTS = 4;
const MIN_CASES = 200;

function deadline(): number {
  return performance.now() + (SECONDS * 1000) / PARTS;
}

const PIECES = [
  'a',
  'Z',
  '0',
  ' ',
  '%',
  '%2',
  '%20',
  '%C0%A0',
  '%e2%82%ac',
  '"',
  '\\',
  '\r',
  '\n',
  '\t',
  ':',
  '€',
  '😀',
  'ü',
  '\u0000',
  '\u007f',
  '\u0085',
  '/',
  '+',
  '=',
  'ce-',
  'specversion',
  '1.0',
];

function text(rng: Rng, max = 12): string {
  let s = '';
  const n = rng.range(0, max);
  for (let i = 0; i < n; i++) s += rng.pick(PIECES);
  return s;
}

/** A well-formed Unicode string (no lone surrogates). */
function unicode(rng: Rng, max = 16): string {
  let s = '';
  const n = rng.range(0, max);
  for (let i = 0; i < n; i++) {
    const kind = rng.int(4);
    const cp =
      kind === 0
        ? rng.range(0x20, 0x7e)
        : kind === 1
          ? rng.range(0, 0x1f)
          : kind === 2
            ? rng.range(0xa0, 0xd7ff)
            : rng.range(0x10000, 0x10ffff);
    s += String.fromCodePoint(cp);
  }
  return s;
}

const NAMES = 'abcdefghijklmnopqrstuvwxyz0123456789';

function attributeName(rng: Rng): string {
  let s = '';
  const n = rng.range(1, 20);
  for (let i = 0; i < n; i++) s += NAMES[rng.int(NAMES.length)];
  return s;
}

/** A valid event in the JSON format, and its data as bytes. */
function validEvent(rng: Rng): Record<string, unknown> {
  const e: Record<string, unknown> = {
    specversion: '1.0',
    id: unicode(rng, 8) || 'id',
    source: `/src/${rng.int(100)}`,
    type: `com.example.${attributeName(rng)}`,
  };
  const extensions = rng.range(0, 4);
  for (let i = 0; i < extensions; i++) {
    const name = attributeName(rng);
    if (name === 'data' || name in e) continue;
    if (['time', 'dataschema', 'datacontenttype', 'subject'].includes(name)) continue;
    e[name] = unicode(rng, 10) || 'x';
  }
  if (rng.chance(0.5)) e.subject = unicode(rng, 10) || 's';
  if (rng.chance(0.5)) e.time = '2026-12-06T07:00:00Z';
  switch (rng.int(4)) {
    case 0:
      e.datacontenttype = rng.pick(['application/json', 'application/cloudevents-data+json']);
      e.data = rng.pick([{ a: unicode(rng), n: rng.int(1000) }, [1, 'two', null], 'str', 7, true]);
      break;
    case 1:
      e.datacontenttype = rng.pick(['text/plain; charset=utf-8', 'application/xml']);
      e.data = unicode(rng, 20) || 'text';
      break;
    case 2: {
      e.datacontenttype = 'application/octet-stream';
      const b = Buffer.allocUnsafe(rng.range(1, 40));
      for (let i = 0; i < b.length; i++) b[i] = rng.int(256);
      e.data_base64 = b.toString('base64');
      break;
    }
    default:
      break; // no data
  }
  return e;
}

function mutate(rng: Rng, s: string): string {
  let out = s;
  const n = rng.range(1, 4);
  for (let i = 0; i < n; i++) {
    const at = rng.int(out.length + 1);
    switch (rng.int(3)) {
      case 0:
        out = out.slice(0, at) + text(rng, 2) + out.slice(at);
        break;
      case 1:
        out = out.slice(0, at) + out.slice(at + rng.range(1, 5));
        break;
      default:
        out = out.slice(0, at);
    }
  }
  return out;
}

describe(`CloudEvents fuzz (${SECONDS}s, seed ${SEED})`, () => {
  test('percent-encoding: printable ASCII out, the same string back', (t) => {
    const rng = makeRng(subSeed(SEED, 1));
    const end = deadline();
    let cases = 0;
    for (; cases < MIN_CASES || performance.now() < end; cases++) {
      const s = unicode(rng, 24);
      const enc = percentEncode(s);
      withContext(`seed ${SEED} case ${cases}: ${JSON.stringify(s)}`, () => {
        assert.match(enc, /^(?:[!#$&-~]|%[0-9A-F]{2})*$/);
        assert.equal(percentDecode(enc), s);
        const junk = text(rng);
        const d = percentDecode(junk);
        assert.ok(d === null || typeof d === 'string');
      });
    }
    t.diagnostic(`${cases} cases, WEFT_FUZZ_SEED=${SEED}`);
  });

  test('random headers and bodies: an answer, never a throw', (t) => {
    const rng = makeRng(subSeed(SEED, 2));
    const end = deadline();
    let cases = 0;
    let events = 0;
    for (; cases < MIN_CASES || performance.now() < end; cases++) {
      const pairs: [string, string][] = [];
      const n = rng.range(0, 6);
      for (let i = 0; i < n; i++)
        pairs.push([rng.pick(['ce-', 'Ce-', 'content-type', '']) + text(rng, 3), text(rng)]);
      if (rng.chance(0.5)) pairs.push(['ce-specversion', rng.pick(['1.0', '0.3', text(rng, 2)])]);
      const context = `seed ${SEED} case ${cases}: ${JSON.stringify(pairs)}`;
      withContext(context, () => {
        const b = binaryAttributes(pairs);
        if (b !== null) {
          events++;
          const problem = validateEvent(b.attributes, true);
          assert.ok(problem === null || typeof problem === 'string');
          structuredFromBinary(b.attributes, Buffer.from(text(rng)));
        }
        const block = Buffer.from(
          `NATS/1.0\r\n${pairs.map(([k, v]) => `${k}:${v}`).join('\r\n')}\r\n\r\n`,
        );
        fromHeaders(block);
        headerPairs(block);
        const body = Buffer.from(
          mutate(
            rng,
            JSON.stringify(rng.chance(0.5) ? validEvent(rng) : [validEvent(rng), validEvent(rng)]),
          ),
        );
        parseStructured(body);
        splitBatch(body, 4);
        validateEvent(JSON.parse(JSON.stringify(pairs)));
      });
    }
    t.diagnostic(`${cases} cases (${events} binary events), WEFT_FUZZ_SEED=${SEED}`);
  });

  test('structured → binary → structured: the same event', (t) => {
    const rng = makeRng(subSeed(SEED, 3));
    const end = deadline();
    let cases = 0;
    for (; cases < MIN_CASES || performance.now() < end; cases++) {
      const e = validEvent(rng);
      withContext(`seed ${SEED} case ${cases}: ${JSON.stringify(e)}`, () => {
        assert.equal(validateEvent(e), null);
        const { attributes, data } = binaryFromStructured(e);
        const block = headerBlock(canonicalHeaders(attributes));
        const b = binaryAttributes(headerPairs(block));
        assert.ok(b !== null && b.problem === null);
        assert.equal(validateEvent(b.attributes, true), null);
        assert.deepEqual({ ...b.attributes }, { ...attributes });
        const back = parseStructured(structuredFromBinary(b.attributes, data));
        assert.ok('event' in back, JSON.stringify(back));
        const want: Record<string, unknown> = { ...e };
        if (want.data === undefined && want.data_base64 === undefined) delete want.data;
        assert.deepEqual(back.event, want);
      });
    }
    t.diagnostic(`${cases} cases, WEFT_FUZZ_SEED=${SEED}`);
  });

  test('the MQTT edge: user properties → headers → user properties', (t) => {
    const rng = makeRng(subSeed(SEED, 4));
    const end = deadline();
    let cases = 0;
    for (; cases < MIN_CASES || performance.now() < end; cases++) {
      const user: Record<string, string> = {};
      const event = rng.chance(0.6);
      if (event) user.specversion = '1.0';
      const n = rng.range(0, 5);
      for (let i = 0; i < n; i++) {
        const name = rng.chance(0.7) ? attributeName(rng) : `X-${attributeName(rng)}`;
        if (name !== 'datacontenttype' && name !== 'specversion') user[name] = unicode(rng, 10);
      }
      const contentType = rng.chance(0.5) ? 'application/json' : undefined;
      const context = `seed ${SEED} case ${cases}: ${JSON.stringify({ user, contentType })}`;
      withContext(context, () => {
        const dropped = { count: 0 };
        const h = toHeaders(
          0,
          false,
          { userProperties: user, ...(contentType ? { contentType } : {}) },
          undefined,
          dropped,
        );
        const back = fromHeaders(h);
        const got = { ...back.properties?.userProperties };
        const want: Record<string, string> = {};
        for (const [k, v] of Object.entries(user)) {
          // Outside an event's attributes, a value a NATS header cannot hold is dropped (counted), and
          // header values are trimmed: what the existing mapping has always done.
          const attribute = event && /^[a-z0-9]{1,20}$/.test(k);
          if (!attribute && /[\r\n]/.test(v)) continue;
          want[k] = attribute ? v : v.trim();
        }
        if (event && contentType !== undefined) want.datacontenttype = contentType;
        assert.deepEqual(got, want);
        assert.equal(back.properties?.contentType, contentType);
        if (h !== null) {
          const prefixed = headerPairs(h).filter(([k]) => k.startsWith('ce-')).length;
          assert.equal(prefixed > 0, event);
        }
      });
    }
    t.diagnostic(`${cases} cases, WEFT_FUZZ_SEED=${SEED}`);
  });
});
