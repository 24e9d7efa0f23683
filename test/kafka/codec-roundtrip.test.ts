/**
 * Every request and response of every API at every version we serve
 * (flexible ones included): random values encode, decode to the same
 * values, and re-encode to the same bytes. Plus the header rules: request
 * header v1/v2, response header v0/v1 with ApiVersions always v0, null
 * client ids, unknown tagged fields skipped, and typed errors for versions
 * and APIs not served.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  ApiKey,
  decodeMessage,
  decodeRequest,
  decodeRequestHeader,
  decodeResponse,
  encodeMessage,
  encodeRequest,
  encodeResponse,
  REQUESTS,
  RESPONSES,
  responseHeaderVersion,
  SUPPORTED,
} from '../../src/protocols/kafka/codec.js';
import { KafkaCodecError, Reader, Writer } from '../../src/protocols/kafka/wire.js';
import { makeRng } from '../fuzz/nats-frames.js';
import { mismatch, randomMessage } from './spec-values.js';

const RUNS = 30;

for (const [key, { name, min, max }] of SUPPORTED) {
  test(`${name} v${min}-${max}: requests and responses round-trip at every version`, () => {
    const rng = makeRng(key * 7919 + 1);
    for (let v = min; v <= max; v++) {
      for (const [kind, spec] of [
        ['request', REQUESTS.get(key)],
        ['response', RESPONSES.get(key)],
      ] as const) {
        assert.ok(spec, `${name} ${kind} spec`);
        for (let i = 0; i < RUNS; i++) {
          const value = randomMessage(rng, spec.fields, v);
          const w = new Writer(16);
          encodeMessage(spec, v, value, w);
          const bytes = w.toBuffer();
          const r = new Reader(bytes);
          const back = decodeMessage(spec, v, r);
          assert.equal(r.remaining, 0, `${name} ${kind} v${v}: all bytes read`);
          const where = mismatch(value, back);
          assert.equal(where, null, `${name} ${kind} v${v}: differs at ${where}`);
          const w2 = new Writer();
          encodeMessage(spec, v, back, w2);
          assert.deepEqual(w2.toBuffer(), bytes, `${name} ${kind} v${v}: re-encoded`);
        }
      }
    }
  });
}

test('frames: request header v1 vs v2 and response header v0 vs v1 (ApiVersions always v0)', () => {
  // Metadata v8 is not flexible, v9 is: v9 adds one empty tagged-field byte after the client id.
  const v8 = Buffer.concat(
    encodeRequest(
      { apiKey: ApiKey.Metadata, apiVersion: 8, correlationId: 1, clientId: 'c' },
      { topics: null },
    ),
  );
  const v9 = Buffer.concat(
    encodeRequest(
      { apiKey: ApiKey.Metadata, apiVersion: 9, correlationId: 1, clientId: 'c' },
      { topics: null },
    ),
  );
  assert.equal(v8.subarray(4, 15).toString('hex'), '0003000800000001000163');
  assert.equal(v9.subarray(4, 16).toString('hex'), '000300090000000100016300');
  assert.equal(responseHeaderVersion(ApiKey.Metadata, 9), 1);
  assert.equal(responseHeaderVersion(ApiKey.Metadata, 8), 0);
  assert.equal(responseHeaderVersion(ApiKey.ApiVersions, 3), 0);
  const resp = Buffer.concat(
    encodeResponse(ApiKey.ApiVersions, 3, 5, { errorCode: 0, apiKeys: [] }),
  );
  // size, correlation id, then straight into the flexible body: error code, compact array (0 entries = 1), throttle, tags.
  assert.equal(resp.toString('hex'), '0000000c' + '00000005' + '0000' + '01' + '00000000' + '00');
  assert.equal(decodeResponse(ApiKey.ApiVersions, 3, resp.subarray(4)).correlationId, 5);
  const meta = Buffer.concat(encodeResponse(ApiKey.Metadata, 9, 6, {}));
  assert.equal(meta.subarray(4, 9).toString('hex'), '0000000600');
});

test('null client id, and unknown tagged fields in header and body are skipped', () => {
  const frame = Buffer.concat(
    encodeRequest(
      { apiKey: ApiKey.Heartbeat, apiVersion: 4, correlationId: 9, clientId: null },
      { groupId: 'g', generationId: 1, memberId: 'm' },
    ),
  ).subarray(4);
  assert.equal(decodeRequest(frame).header.clientId, null);
  // Rebuild with a header tag 7 (3 bytes) and a body tag 9 (2 bytes): both unknown.
  const withTags = Buffer.from(
    '000c' +
      '0004' +
      '00000009' +
      'ffff' +
      '01' +
      '07' +
      '03' +
      'aabbcc' +
      '0267' +
      '00000001' +
      '026d' +
      '00' +
      '01' +
      '09' +
      '02' +
      '0102',
    'hex',
  );
  const { header, body } = decodeRequest(withTags);
  assert.deepEqual(header, { apiKey: 12, apiVersion: 4, correlationId: 9, clientId: null });
  assert.deepEqual(body, { groupId: 'g', generationId: 1, memberId: 'm', groupInstanceId: null });
});

test('known tagged fields: written only when not default, read back', () => {
  const spec = RESPONSES.get(ApiKey.Fetch);
  assert.ok(spec);
  const partition = { partitionIndex: 0, errorCode: 0, highWatermark: 5n, records: null };
  const plain = new Writer();
  encodeMessage(spec, 12, { responses: [{ topic: 't', partitions: [partition] }] }, plain);
  const tagged = new Writer();
  encodeMessage(
    spec,
    12,
    {
      responses: [
        {
          topic: 't',
          partitions: [{ ...partition, currentLeader: { leaderId: 1, leaderEpoch: 0 } }],
        },
      ],
    },
    tagged,
  );
  assert.equal(tagged.length - plain.length, 1 + 1 + 1 + 8 - 0);
  const back = decodeMessage(spec, 12, new Reader(tagged.toBuffer())) as {
    responses: { partitions: { currentLeader: unknown }[] }[];
  };
  assert.deepEqual(back.responses[0].partitions[0].currentLeader, { leaderId: 1, leaderEpoch: 0 });
});

function codecError(fn: () => unknown, code: string): void {
  assert.throws(fn, (err: unknown) => err instanceof KafkaCodecError && err.code === code);
}

test('versions and APIs not served, and lying lengths, are typed errors', () => {
  // Produce v2 (message sets v0/v1, not served) and API key 99 (none): header api key, version, correlation id, client id.
  codecError(
    () => decodeRequest(Buffer.from('0000000200000001ffff', 'hex')),
    'UNSUPPORTED_VERSION',
  );
  codecError(
    () => decodeRequest(Buffer.from('0063000000000001ffff', 'hex')),
    'UNSUPPORTED_VERSION',
  );
  // The header of an ApiVersions newer than served still reads (flexible: v2 header), so the face can answer v0.
  const v4 = Buffer.from('0012000400000003000163' + '00' + '0000', 'hex');
  const r = new Reader(v4);
  assert.deepEqual(decodeRequestHeader(r), {
    apiKey: 18,
    apiVersion: 4,
    correlationId: 3,
    clientId: 'c',
  });
  codecError(() => decodeRequest(v4), 'UNSUPPORTED_VERSION');
  // An array claiming 2^31-1 entries in a 20-byte frame: refused before allocating.
  const huge = Buffer.from('000300000000000100016300' + '7fffffff', 'hex');
  codecError(() => decodeRequest(huge), 'BAD_LENGTH');
  // A string running past the frame.
  codecError(() => decodeRequest(Buffer.from('00030000000000010009', 'hex')), 'TRUNCATED');
});

test('values a field cannot hold are BAD_VALUE errors naming the message', () => {
  codecError(() => encodeResponse(ApiKey.Heartbeat, 0, 1, { errorCode: 40000 }), 'BAD_VALUE');
  codecError(
    () => encodeResponse(ApiKey.SyncGroup, 0, 1, { errorCode: 0, assignment: 'not bytes' }),
    'BAD_VALUE',
  );
  codecError(
    () => encodeResponse(ApiKey.Metadata, 1, 1, { brokers: [{ nodeId: 1, host: null, port: 1 }] }),
    'BAD_VALUE',
  );
  assert.throws(
    () => encodeResponse(ApiKey.Heartbeat, 0, 1, { errorCode: 40000 }),
    /HeartbeatResponse v0/,
  );
});

test('a Produce request decodes its record blobs as views of the frame, not copies', () => {
  const blob = Buffer.alloc(10_000, 7);
  const frame = Buffer.concat(
    encodeRequest(
      { apiKey: ApiKey.Produce, apiVersion: 9, correlationId: 1, clientId: 'c' },
      {
        acks: -1,
        timeoutMs: 1000,
        topicData: [{ name: 't', partitionData: [{ index: 0, records: blob }] }],
      },
    ),
  ).subarray(4);
  const body = decodeRequest(frame).body as {
    topicData: { partitionData: { records: Buffer }[] }[];
  };
  const records = body.topicData[0].partitionData[0].records;
  assert.equal(records.buffer, frame.buffer);
  assert.ok(
    records.byteOffset >= frame.byteOffset &&
      records.byteOffset + records.length <= frame.byteOffset + frame.length,
  );
  assert.deepEqual(records, blob);
});
