/**
 * kafkajs's own protocol encoders and decoders (node_modules/kafkajs/src/
 * protocol), loaded for the cross-checks: a request kafkajs encodes must
 * decode with our codec (and re-encode to the same bytes); a response we
 * encode must decode with kafkajs's decoder.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

// biome-ignore lint/suspicious/noExplicitAny: kafkajs's internals are untyped JavaScript.
type Any = any;

const createRequest: (r: {
  correlationId: number;
  clientId: string;
  request: Any;
}) => Promise<{ buffer: Buffer }> = require('kafkajs/src/protocol/request');

/** kafkajs's folder name per API key. */
export const KAFKAJS_DIRS: Record<number, string> = {
  0: 'produce',
  1: 'fetch',
  2: 'listOffsets',
  3: 'metadata',
  8: 'offsetCommit',
  9: 'offsetFetch',
  10: 'findCoordinator',
  11: 'joinGroup',
  12: 'heartbeat',
  13: 'leaveGroup',
  14: 'syncGroup',
  15: 'describeGroups',
  16: 'listGroups',
  17: 'saslHandshake',
  18: 'apiVersions',
  19: 'createTopics',
  20: 'deleteTopics',
  22: 'initProducerId',
  32: 'describeConfigs',
  36: 'saslAuthenticate',
  37: 'createPartitions',
  42: 'deleteGroups',
};

/** The versions kafkajs implements for an API. */
export function kafkajsVersions(apiKey: number): number[] {
  const dir = KAFKAJS_DIRS[apiKey];
  const out: number[] = [];
  for (let v = 0; v < 20; v++) {
    try {
      require.resolve(`kafkajs/src/protocol/requests/${dir}/v${v}/request`);
      out.push(v);
    } catch {
      // not implemented by kafkajs
    }
  }
  return out;
}

/** A full request frame (size included) as kafkajs encodes it. */
export async function kafkajsRequest(
  apiKey: number,
  version: number,
  args: unknown,
  correlationId = 7,
): Promise<Buffer> {
  const build = require(
    `kafkajs/src/protocol/requests/${KAFKAJS_DIRS[apiKey]}/v${version}/request`,
  );
  const request = build(args);
  const enc = await createRequest({ correlationId, clientId: 'kafkajs-xcheck', request });
  return enc.buffer;
}

/** kafkajs's decoding of a response body (after the correlation id). */
export async function kafkajsDecodeResponse(
  apiKey: number,
  version: number,
  payload: Buffer,
): Promise<Any> {
  const mod = require(`kafkajs/src/protocol/requests/${KAFKAJS_DIRS[apiKey]}/v${version}/response`);
  return mod.decode(payload);
}

export const kafkajsRecordBatch: {
  RecordBatch: (o: Any) => Promise<{ buffer: Buffer }>;
} = require('kafkajs/src/protocol/recordBatch/v0');
export const kafkajsRecord: (o: Any) => Any = require('kafkajs/src/protocol/recordBatch/record/v0');
export const kafkajsRecordBatchDecoder: (
  d: Any,
) => Promise<Any> = require('kafkajs/src/protocol/recordBatch/v0/decoder');
export const KafkajsDecoder: new (b: Buffer) => Any = require('kafkajs/src/protocol/decoder');
export const KafkajsEncoder: new () => Any = require('kafkajs/src/protocol/encoder');
export const kafkajsCompression: { Types: Record<string, number>; Codecs: Record<number, Any> } =
  require('kafkajs/src/protocol/message/compression');
