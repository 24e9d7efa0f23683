/**
 * src/protocols/cloudevents.ts against the spec's own examples: the
 * percent-encoding of NATS/HTTP binding 3.1.3.2, content-mode detection
 * (NATS binding 3), attribute names (spec 3), required attributes and
 * types, the JSON format's data rules (3.1), and batch splitting.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CloudEvent } from 'cloudevents';
import {
  binaryAttributes,
  binaryFromStructured,
  canonicalFromHttp,
  canonicalHeaders,
  contentMode,
  headerBlock,
  headerPairs,
  httpFromCanonical,
  percentDecode,
  percentEncode,
  splitBatch,
  structuredFromBinary,
  validateEvent,
} from '../../src/protocols/cloudevents.js';
import { fromHeaders, toHeaders } from '../../src/protocols/mqtt/properties.js';

const base = { specversion: '1.0', id: '1', source: '/s', type: 't' };

describe('percent-encoding (binding 3.1.3.2)', () => {
  test("the spec's example: Euro € 😀", () => {
    assert.equal(percentEncode('Euro € 😀'), 'Euro%20%E2%82%AC%20%F0%9F%98%80');
    assert.equal(percentDecode('Euro%20%E2%82%AC%20%F0%9F%98%80'), 'Euro € 😀');
  });
  test('space, double-quote, percent and controls are encoded; the rest of printable ASCII is not', () => {
    assert.equal(percentEncode('a "b" 5%\r\n'), 'a%20%22b%22%205%25%0D%0A');
    assert.equal(percentEncode('/a:b?c=d&e'), '/a:b?c=d&e');
  });
  test('decoding accepts lower case and needless encoding, unquotes quoted strings, rejects bad UTF-8', () => {
    assert.equal(percentDecode('%2fa%2Fb'), '/a/b');
    assert.equal(percentDecode('"a \\"b\\""'), 'a "b"');
    assert.equal(percentDecode('%C0%A0'), null, 'overlong encoding of U+0020');
    assert.equal(percentDecode('100%'), null);
    assert.equal(percentDecode('%zz'), null);
    assert.equal(percentDecode('plain'), 'plain');
  });
});

describe('content modes', () => {
  test('Content-Type decides: structured, batch, else binary', () => {
    assert.equal(contentMode('application/cloudevents+json; charset=utf-8'), 'structured');
    assert.equal(contentMode('Application/CloudEvents+avro'), 'structured');
    assert.equal(contentMode('application/cloudevents-batch+json'), 'batch');
    assert.equal(contentMode('application/json'), null);
    assert.equal(contentMode(undefined), null);
  });
  test('binaryAttributes: ce-* headers (any case), ce-datacontenttype over Content-Type', () => {
    const e = binaryAttributes([
      ['Ce-SpecVersion', '1.0'],
      ['ce-id', 'x'],
      ['ce-subject', 'a%20b'],
      ['Content-Type', 'text/plain'],
      ['Nats-Msg-Id', 'm'],
    ]);
    assert.deepEqual(
      { ...e!.attributes },
      {
        specversion: '1.0',
        id: 'x',
        subject: 'a b',
        datacontenttype: 'text/plain',
      },
    );
    assert.equal(e!.problem, null);
    const both = binaryAttributes([
      ['ce-specversion', '1.0'],
      ['ce-datacontenttype', 'application/xml'],
      ['content-type', 'text/plain'],
    ]);
    assert.equal(both!.attributes.datacontenttype, 'application/xml');
  });
  test('not binary mode: no ce-specversion, or a CloudEvents Content-Type', () => {
    assert.equal(binaryAttributes([['ce-id', '1']]), null);
    assert.equal(
      binaryAttributes([
        ['ce-specversion', '1.0'],
        ['content-type', 'application/cloudevents+json'],
      ]),
      null,
    );
  });
  test('a value that does not decode is named', () => {
    const e = binaryAttributes([
      ['ce-specversion', '1.0'],
      ['ce-source', '%C0%A0'],
    ]);
    assert.match(
      e!.problem!,
      /header ce-source: "%C0%A0" is not a valid percent-encoded UTF-8 value/,
    );
  });
  test('canonical headers survive a NATS header block', () => {
    const attrs = { ...base, subject: 'Grüße "x"', comexampleext: '5' };
    const block = headerBlock(canonicalHeaders(attrs));
    assert.deepEqual({ ...binaryAttributes(headerPairs(block))!.attributes }, attrs);
  });
});

describe('the HTTP binding (binary mode)', () => {
  test('request → canonical: ce-* as they are, Content-Type → ce-datacontenttype', () => {
    const r = canonicalFromHttp([
      ['CE-SpecVersion', '1.0'],
      ['ce-id', '1'],
      ['ce-source', '/s'],
      ['ce-type', 't'],
      ['ce-subject', 'a%20b'],
      ['content-type', 'text/plain; charset=utf-8'],
      ['authorization', 'Bearer x'],
    ]);
    assert.equal(r!.problem, null);
    assert.deepEqual(r!.headers, [
      ['ce-specversion', '1.0'],
      ['ce-id', '1'],
      ['ce-source', '/s'],
      ['ce-type', 't'],
      ['ce-subject', 'a%20b'],
      ['ce-datacontenttype', 'text/plain;%20charset=utf-8'],
    ]);
    assert.equal(canonicalFromHttp([['content-type', 'text/plain']]), null, 'not an event');
  });
  test('an invalid binary-mode request is named', () => {
    const r = canonicalFromHttp([
      ['ce-specversion', '1.0'],
      ['ce-id', '1'],
      ['ce-type', 't'],
    ]);
    assert.equal(r!.problem, 'required attribute "source" is missing');
    const v = canonicalFromHttp([
      ['ce-specversion', '0.3'],
      ['ce-id', '1'],
      ['ce-source', '/s'],
      ['ce-type', 't'],
    ]);
    assert.equal(v!.problem, 'specversion "0.3" is not supported: only "1.0"');
  });
  test('canonical → HTTP: ce-datacontenttype becomes the Content-Type', () => {
    const out = httpFromCanonical([
      ['ce-specversion', '1.0'],
      ['ce-id', '1'],
      ['ce-datacontenttype', 'application/xml'],
      ['Nats-Msg-Id', 'x'],
    ]);
    assert.deepEqual(out, [
      ['ce-specversion', '1.0'],
      ['ce-id', '1'],
      ['content-type', 'application/xml'],
    ]);
    assert.equal(httpFromCanonical([['Content-Type', 'application/cloudevents+json']]), null);
  });
});

describe('validation', () => {
  const cases: [unknown, string | null][] = [
    [base, null],
    [
      { ...base, time: '2018-04-05T17:31:00Z', comexampleothervalue: 5, flag: true, subject: null },
      null,
    ],
    [[], 'an event must be a JSON object'],
    [{ ...base, id: undefined }, 'required attribute "id" is missing'],
    [{ ...base, source: '' }, 'attribute "source" must not be empty'],
    [{ ...base, type: 3 }, 'attribute "type" must be a string'],
    [{ ...base, specversion: '0.3' }, 'specversion "0.3" is not supported: only "1.0"'],
    [
      { ...base, Bad: 'x' },
      'attribute name "Bad" must be lower-case letters a-z and digits 0-9 only',
    ],
    [
      { ...base, 'a-b': 'x' },
      'attribute name "a-b" must be lower-case letters a-z and digits 0-9 only',
    ],
    [
      { ...base, abcdefghijklmnopqrstu: 'x' },
      'attribute name "abcdefghijklmnopqrstu" is longer than 20 characters',
    ],
    [
      { ...base, time: 'yesterday' },
      'attribute "time" must be an RFC 3339 timestamp, not "yesterday"',
    ],
    [
      { ...base, dataschema: 'rel/path' },
      'attribute "dataschema" must be an absolute URI, not "rel/path"',
    ],
    [
      { ...base, datacontenttype: 'json' },
      'attribute "datacontenttype" must be a media type (RFC 2046), not "json"',
    ],
    [{ ...base, n: 1.5 }, 'attribute "n" must be a 32-bit integer, a boolean or a string'],
    [{ ...base, n: 2 ** 31 }, 'attribute "n" must be a 32-bit integer, a boolean or a string'],
    [{ ...base, o: {} }, 'attribute "o" must be a string, a boolean or a 32-bit integer'],
    [
      { ...base, data: 1, data_base64: 'AA==' },
      'an event has either "data" or "data_base64", not both',
    ],
    [{ ...base, data_base64: 'not base64!' }, '"data_base64" must be a base64 string'],
  ];
  for (const [event, want] of cases) {
    test(`${JSON.stringify(event)} → ${want ?? 'valid'}`, () => {
      assert.equal(validateEvent(event), want);
      // The SDK agrees on what is valid (it is laxer on some names and values).
      if (want === null) new CloudEvent(event as never, false).validate();
    });
  }
  test('a binary-mode event has no data attribute', () => {
    assert.match(validateEvent({ ...base, data: 'x' }, true)!, /"data" is not an attribute/);
  });
});

describe('structured ⇄ binary (JSON format 3.1)', () => {
  test('JSON data as a JSON value, text as a string, bytes as data_base64, none when empty', () => {
    const json = JSON.parse(
      structuredFromBinary(
        { ...base, datacontenttype: 'application/vnd.x+json' },
        Buffer.from('{"a":[1]}'),
      ).toString(),
    );
    assert.deepEqual(json.data, { a: [1] });
    const xml = JSON.parse(
      structuredFromBinary(
        { ...base, datacontenttype: 'application/xml' },
        Buffer.from('<a/>'),
      ).toString(),
    );
    assert.equal(xml.data, '<a/>');
    const bytes = JSON.parse(
      structuredFromBinary(
        { ...base, datacontenttype: 'text/plain' },
        Buffer.from([0xff, 0xfe]),
      ).toString(),
    );
    assert.equal(bytes.data_base64, '//4=', 'not UTF-8: bytes');
    const bad = JSON.parse(
      structuredFromBinary(
        { ...base, datacontenttype: 'application/json' },
        Buffer.from('{nope'),
      ).toString(),
    );
    assert.equal(bad.data_base64, Buffer.from('{nope').toString('base64'), 'not JSON: bytes');
    const none = JSON.parse(structuredFromBinary(base, Buffer.alloc(0)).toString());
    assert.deepEqual(none, base);
    const untyped = JSON.parse(structuredFromBinary(base, Buffer.from('x')).toString());
    assert.equal(untyped.data_base64, 'eA==', 'no datacontenttype: opaque bytes');
  });
  test('binaryFromStructured: types become canonical strings, implied application/json is made explicit', () => {
    const { attributes, data } = binaryFromStructured({
      ...base,
      n: 5,
      b: false,
      subject: null,
      data: 'str',
    });
    assert.deepEqual(
      { ...attributes },
      { ...base, n: '5', b: 'false', datacontenttype: 'application/json' },
    );
    assert.equal(data.toString(), '"str"');
    const b64 = binaryFromStructured({ ...base, data_base64: 'AAH/' });
    assert.deepEqual(b64.data, Buffer.from([0, 1, 255]));
  });
});

describe('batch', () => {
  test('each event validated on its own', () => {
    const r = splitBatch(Buffer.from(JSON.stringify([base, { ...base, id: '' }, 5])), 10);
    assert.ok('items' in r);
    assert.deepEqual(r.items[0], { event: base });
    assert.deepEqual(r.items[1], { error: 'event 1: attribute "id" must not be empty' });
    assert.deepEqual(r.items[2], { error: 'event 2: an event must be a JSON object' });
  });
  test('not an array, not JSON, too many', () => {
    assert.deepEqual(splitBatch(Buffer.from('{}'), 10), {
      error: 'a batch must be a JSON array of events',
    });
    assert.match(
      (splitBatch(Buffer.from('[{'), 10) as { error: string }).error,
      /^a batch is not JSON: /,
    );
    assert.deepEqual(splitBatch(Buffer.from('[1,2,3]'), 2), {
      error: 'a batch holds 3 events, more than 2',
    });
    assert.deepEqual(splitBatch(Buffer.from('[]'), 2), { items: [] });
  });
});

describe('the MQTT edge (src/protocols/mqtt/properties.ts)', () => {
  test('user properties of an event ⇄ ce-* headers; Content Type ⇄ ce-datacontenttype', () => {
    const dropped = { count: 0 };
    const h = toHeaders(
      1,
      false,
      {
        contentType: 'text/plain; charset=utf-8',
        userProperties: { ...base, subject: 'a b', 'X-Other': 'kept', datacontenttype: 'ignored' },
      },
      undefined,
      dropped,
    );
    const text = h!.toString();
    assert.match(text, /\r\nce-datacontenttype: text\/plain;%20charset=utf-8\r\n/);
    assert.match(text, /\r\nce-subject: a%20b\r\n/);
    assert.match(text, /\r\nX-Other: kept\r\n/);
    assert.doesNotMatch(text, /\r\nContent-Type:/);
    const back = fromHeaders(h);
    assert.equal(back.properties!.contentType, 'text/plain; charset=utf-8');
    assert.deepEqual(
      { ...back.properties!.userProperties },
      {
        ...base,
        subject: 'a b',
        'X-Other': 'kept',
        datacontenttype: 'text/plain; charset=utf-8',
      },
    );
  });
});
