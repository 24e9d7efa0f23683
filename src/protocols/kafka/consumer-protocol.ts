/**
 * The consumer protocol (Kafka's ConsumerProtocolSubscription and
 * ConsumerProtocolAssignment data schemas): what a consumer group's
 * members carry as opaque bytes in JoinGroup's protocol metadata and in
 * SyncGroup's assignments when protocolType is "consumer". Each is an int16
 * version followed by the struct at that version. No I/O.
 *
 * A version newer than we know is read with the newest format we know and
 * the rest ignored, as Kafka's ConsumerProtocol does ("future versions will
 * not break compatibility", ConsumerProtocolSubscription.json). And one
 * that ends before its version's fields do is read at the highest older
 * version it fits: kafkajs's MemberMetadata encoder writes whatever version
 * number it is given with the version-0 layout.
 */
import { decodeMessage, encodeMessage, type Message } from './codec.js';
import { DATA } from './schemas/messages.js';
import type { MessageSpec } from './schemas/spec.js';
import { KafkaCodecError, Reader, Writer } from './wire.js';

export type ConsumerProtocolSchema = 'ConsumerProtocolSubscription' | 'ConsumerProtocolAssignment';

function specOf(name: ConsumerProtocolSchema): MessageSpec {
  const spec = DATA.get(name);
  if (spec === undefined)
    throw new KafkaCodecError('UNSUPPORTED_VERSION', `${name} is not generated`);
  return spec;
}

export function encodeConsumerProtocol(
  name: ConsumerProtocolSchema,
  version: number,
  value: Message,
): Buffer {
  const w = new Writer(64);
  w.int16(version);
  encodeMessage(specOf(name), version, value, w);
  return w.toBuffer();
}

export function decodeConsumerProtocol(
  name: ConsumerProtocolSchema,
  bytes: Buffer,
): { version: number; value: Message } {
  const spec = specOf(name);
  const r = new Reader(bytes);
  const version = r.int16();
  if (version < 0) throw new KafkaCodecError('UNSUPPORTED_VERSION', `${name} version ${version}`);
  const start = r.pos;
  for (let v = Math.min(version, spec.validVersions[1]); ; v--) {
    r.pos = start;
    try {
      return { version, value: decodeMessage(spec, v, r) };
    } catch (err) {
      if (v === 0 || !(err instanceof KafkaCodecError) || err.code !== 'TRUNCATED') throw err;
    }
  }
}
