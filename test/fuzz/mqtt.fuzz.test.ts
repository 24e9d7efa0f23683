/**
 * A time-bounded fuzz of the MQTT parser (src/protocols/mqtt/codec.ts:
 * mqtt-packet behind our bounds). Inputs are random bytes, mutated valid
 * packet streams (bit flips, inserted, deleted and repeated bytes, splices,
 * truncation) and generated valid streams for MQTT 3.1, 3.1.1 and 5.0, each
 * fed whole and in random pieces. It checks:
 *   - `feed` never throws: it returns null or an MqttWireError with a known
 *     reason code, promptly, and no packet comes out after an error;
 *   - it never holds more than the maximum packet size, and no packet it
 *     emits is larger (bounded buffering, also for a body that never ends);
 *   - the split feed gives exactly what the whole feed gives, and for valid
 *     streams that is the packets they were generated from.
 *
 * WEFT_FUZZ_SECONDS sets the time (default 5, shared by the parts);
 * WEFT_FUZZ_SEED replays a run, WEFT_FUZZ_CASE starts a part at a case.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import mqttPacket, { type Packet } from 'mqtt-packet';
import {
  MqttParser,
  MqttReason,
  MqttWireError,
  type ProtocolVersion,
} from '../../src/protocols/mqtt/codec.js';
import {
  describeSplits,
  makeRng,
  type Rng,
  randomSplits,
  seedFromEnv,
  subSeed,
  withContext,
} from './nats-frames.js';

const SECONDS = Number(process.env.WEFT_FUZZ_SECONDS ?? '5');
const SEED = seedFromEnv();
const FIRST_CASE = Number(process.env.WEFT_FUZZ_CASE ?? '0');
/** A single feed of at most a few hundred KB must not take longer than this. */
const FEED_MS_MAX = 1000;
const HEAP_GROWTH_MAX = 256 * 1024 * 1024;
const MAX_SIZES = [16, 64, 300, 4096, 70_000];
const REASONS: readonly number[] = Object.values(MqttReason);

// --- generating valid streams ----------------------------------------------------

const TOPIC_PIECES = ['a', 'b', 'sensor', '/', '/', '$SYS', 'größe', '😀', ' ', '.', '*', 'x1'];

function text(rng: Rng, max = 6): string {
  let s = '';
  const n = rng.range(0, max);
  for (let i = 0; i < n; i++) s += rng.pick(TOPIC_PIECES);
  return s;
}

function randomBytes(rng: Rng, n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = rng.int(256);
  return b;
}

function userProperties(rng: Rng): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  const n = rng.range(1, 3);
  for (let i = 0; i < n; i++)
    out[`k${text(rng, 2)}`] = rng.chance(0.3) ? [text(rng), text(rng)] : text(rng);
  return out;
}

function packet(rng: Rng, v: ProtocolVersion): Packet {
  const v5 = v === 5;
  const id = rng.range(1, 65535);
  switch (rng.int(9)) {
    case 0:
    case 1:
    case 2: {
      const qos = rng.int(3) as 0 | 1 | 2;
      return {
        cmd: 'publish',
        topic: `t${text(rng)}`,
        payload: randomBytes(rng, rng.chance(0.8) ? rng.range(0, 64) : rng.range(0, 3000)),
        qos,
        dup: qos > 0 && rng.chance(0.3),
        retain: rng.chance(0.3),
        ...(qos > 0 ? { messageId: id } : {}),
        ...(v5 && rng.chance(0.5)
          ? {
              properties: {
                contentType: text(rng),
                messageExpiryInterval: rng.range(0, 1e6),
                ...(rng.chance(0.5) ? { userProperties: userProperties(rng) } : {}),
                ...(rng.chance(0.3) ? { correlationData: randomBytes(rng, 8) } : {}),
              },
            }
          : {}),
      };
    }
    case 3:
      return { cmd: rng.pick(['puback', 'pubrec', 'pubrel', 'pubcomp'] as const), messageId: id };
    case 4:
    case 5: {
      const n = rng.range(1, 4);
      return {
        cmd: 'subscribe',
        messageId: id,
        subscriptions: Array.from({ length: n }, () => ({
          topic: rng.chance(0.5) ? `${text(rng)}/#` : `+/${text(rng)}`,
          qos: rng.int(3) as 0 | 1 | 2,
          ...(v5 ? { nl: rng.chance(0.5), rap: rng.chance(0.5), rh: rng.int(3) } : {}),
        })),
        ...(v5 && rng.chance(0.4)
          ? { properties: { subscriptionIdentifier: rng.range(1, 1000) } }
          : {}),
      } as Packet;
    }
    case 6:
      return {
        cmd: 'unsubscribe',
        messageId: id,
        unsubscriptions: [`u${text(rng)}`, text(rng) || 'x'],
      };
    case 7:
      return { cmd: 'pingreq' };
    default:
      return v5 && rng.chance(0.5)
        ? ({
            cmd: 'auth',
            reasonCode: 0x18,
            properties: { authenticationMethod: text(rng) },
          } as Packet)
        : { cmd: 'pingreq' };
  }
}

function connect(rng: Rng, v: ProtocolVersion): Buffer {
  const withWill = rng.chance(0.3);
  return mqttPacket.generate(
    {
      cmd: 'connect',
      protocolId: v === 3 ? 'MQIsdp' : 'MQTT',
      protocolVersion: v,
      clean: rng.chance(0.5),
      clientId: `c${text(rng)}`,
      keepalive: rng.range(0, 65535),
      ...(rng.chance(0.3) ? { username: text(rng), password: randomBytes(rng, 4) } : {}),
      ...(withWill
        ? {
            will: {
              topic: `w${text(rng)}`,
              payload: randomBytes(rng, 5),
              qos: rng.int(3),
              retain: false,
            },
          }
        : {}),
      ...(v === 5 && rng.chance(0.5)
        ? { properties: { sessionExpiryInterval: rng.range(0, 1e6) } }
        : {}),
    } as Packet,
    { protocolVersion: v },
  );
}

interface Stream {
  wire: Buffer;
  count: number;
}

function validStream(rng: Rng, v: ProtocolVersion, n: number): Stream {
  const parts = [connect(rng, v)];
  for (let i = 0; i < n; i++)
    parts.push(mqttPacket.generate(packet(rng, v), { protocolVersion: v }));
  return { wire: Buffer.concat(parts), count: n + 1 };
}

// --- mutations ----------------------------------------------------------------------

const INTERESTING = [0x00, 0x7f, 0x80, 0xff, 0xc0, 0xed, 0xf4, 0x30, 0x36, 0x82, 0xe0, 0xf0];

function mutate(rng: Rng, input: Buffer): Buffer {
  let b = input;
  const rounds = rng.range(1, 4);
  for (let r = 0; r < rounds; r++) {
    const at = rng.int(b.length + 1);
    switch (rng.int(6)) {
      case 0: {
        if (b.length === 0) break;
        const c = Buffer.from(b);
        c[Math.min(at, c.length - 1)] ^= 1 << rng.int(8);
        b = c;
        break;
      }
      case 1: {
        const ins = Buffer.from(
          Array.from({ length: rng.range(1, 4) }, () => rng.pick(INTERESTING)),
        );
        b = Buffer.concat([b.subarray(0, at), ins, b.subarray(at)]);
        break;
      }
      case 2:
        b = Buffer.concat([b.subarray(0, at), b.subarray(at + rng.range(1, 8))]);
        break;
      case 3: {
        if (b.length === 0) break;
        const c = Buffer.from(b);
        c[Math.min(at, c.length - 1)] = rng.pick(INTERESTING);
        b = c;
        break;
      }
      case 4:
        b = b.subarray(0, at);
        break;
      default: {
        const piece = b.subarray(at, at + rng.range(1, 64));
        b = Buffer.concat([
          b.subarray(0, at),
          ...Array(rng.range(2, 32)).fill(piece),
          b.subarray(at),
        ]);
      }
    }
  }
  return b;
}

// --- checking -----------------------------------------------------------------------

interface Outcome {
  packets: Packet[];
  error: { reason: number; message: string } | null;
}

/** Feeds `chunks`, checking every invariant that holds for any input. */
function checkedFeed(chunks: readonly Buffer[], max: number): Outcome {
  const packets: Packet[] = [];
  let afterError = 0;
  let failed = false;
  const parser = new MqttParser(
    (p) => {
      if (failed) afterError++;
      const size = (p as { length?: number }).length ?? 0;
      assert.ok(size + 2 <= max, `emitted a packet of ${size} bytes > ${max}`);
      packets.push(p);
    },
    { maxPacketSize: max },
  );
  let error: Outcome['error'] = null;
  for (const c of chunks) {
    const t = performance.now();
    let result: MqttWireError | null;
    try {
      result = parser.feed(c);
    } catch (e) {
      assert.fail(`feed threw ${String(e)}`);
    }
    const ms = performance.now() - t;
    assert.ok(ms < FEED_MS_MAX, `a feed of ${c.length} bytes took ${ms.toFixed(0)} ms`);
    assert.ok(parser.bufferedBytes <= max, `holds ${parser.bufferedBytes} bytes > ${max}`);
    if (result !== null) {
      assert.ok(result instanceof MqttWireError, `feed returned ${String(result)}`);
      assert.ok(REASONS.includes(result.reasonCode), `reason code ${result.reasonCode}`);
      assert.ok(result.message.length > 0);
      error ??= { reason: result.reasonCode, message: result.message };
      failed = true;
    }
  }
  assert.equal(afterError, 0, 'packets after an error');
  return { packets, error };
}

function hex(b: Buffer): string {
  const shown = b.subarray(0, 512).toString('hex');
  return b.length > 512 ? `${shown}… (${b.length} bytes)` : shown;
}

function differential(
  rng: Rng,
  input: Buffer,
  max: number,
  context: (d: string) => string,
): Outcome {
  const chunks = randomSplits(input, rng).map((c) => Buffer.from(c.buffer, c.byteOffset, c.length));
  let out!: Outcome;
  withContext(
    () => context(`max ${max}\ninput ${hex(input)}\nchunks ${describeSplits(chunks)}`),
    () => {
      const whole = checkedFeed([input], max);
      out = checkedFeed(chunks, max);
      assert.deepEqual(out, whole, 'split feed differs from whole feed');
    },
  );
  return out;
}

function timeBoxed(
  part: number,
  name: string,
  ms: number,
  one: (rng: Rng, context: (detail: string) => string) => void,
): number {
  const deadline = performance.now() + ms;
  const partSeed = subSeed(SEED, part);
  const heapBase = process.memoryUsage().heapUsed;
  let cases = 0;
  for (let c = FIRST_CASE; performance.now() < deadline || cases === 0; c++) {
    const rng = makeRng(subSeed(partSeed, c));
    const context = (detail: string) =>
      `${name}: WEFT_FUZZ_SEED=${SEED} WEFT_FUZZ_CASE=${c}\n${detail}`;
    one(rng, context);
    cases++;
    if ((cases & 255) === 0) {
      const grown = process.memoryUsage().heapUsed - heapBase;
      assert.ok(
        grown < HEAP_GROWTH_MAX,
        context(`heap grew by ${(grown / 2 ** 20).toFixed(0)} MiB`),
      );
    }
  }
  return cases;
}

const share = (fraction: number) => Math.max(200, SECONDS * 1000 * fraction);
const version = (rng: Rng) => rng.pick([3, 4, 4, 5, 5] as ProtocolVersion[]);

describe(`MqttParser fuzz (${SECONDS}s, WEFT_FUZZ_SEED=${SEED})`, () => {
  test('random bytes, after a valid CONNECT or not', (t) => {
    const n = timeBoxed(1, 'random bytes', share(0.2), (rng, context) => {
      const junk = randomBytes(rng, rng.range(0, 600));
      const input = rng.chance(0.7) ? Buffer.concat([connect(rng, version(rng)), junk]) : junk;
      differential(rng, input, rng.pick(MAX_SIZES), context);
    });
    t.diagnostic(`${n} cases`);
  });

  test('mutated valid streams', (t) => {
    const n = timeBoxed(2, 'mutations', share(0.45), (rng, context) => {
      const s = validStream(rng, version(rng), rng.range(1, 8));
      differential(rng, mutate(rng, s.wire), rng.pick(MAX_SIZES), context);
    });
    t.diagnostic(`${n} cases`);
  });

  test('valid streams: split feeds give every generated packet', (t) => {
    const n = timeBoxed(3, 'valid streams', share(0.25), (rng, context) => {
      const s = validStream(rng, version(rng), rng.range(1, 12));
      const out = differential(rng, s.wire, MAX_SIZES[MAX_SIZES.length - 1], context);
      withContext(
        () => context(`input ${hex(s.wire)}`),
        () => {
          assert.equal(out.error, null);
          assert.equal(out.packets.length, s.count);
        },
      );
    });
    t.diagnostic(`${n} cases`);
  });

  test('a body that never ends is held within the maximum packet size', (t) => {
    const n = timeBoxed(4, 'bounded buffering', share(0.1), (rng, context) => {
      const max = rng.pick(MAX_SIZES);
      const parser = new MqttParser(() => {});
      assert.equal(parser.feed(connect(rng, 4)), null, context('CONNECT refused'));
      parser.setMaxPacketSize(max); // as after CONNACK
      // A PUBLISH announcing up to 2× the maximum; then endless junk.
      const remaining = rng.range(0, 2 * max);
      const len: number[] = [];
      let r = remaining;
      do {
        len.push((r & 0x7f) | (r > 0x7f ? 0x80 : 0));
        r >>= 7;
      } while (r > 0);
      const head = Buffer.from([0x30, ...len]);
      let result = parser.feed(head);
      for (let fed = 0; result === null && fed < 3 * max + 100; fed += 97) {
        assert.ok(parser.bufferedBytes <= max, context(`holds ${parser.bufferedBytes} > ${max}`));
        result = parser.feed(randomBytes(rng, 97));
      }
      assert.ok(parser.bufferedBytes <= max);
      if (head.length + remaining > max) {
        assert.equal(result?.reasonCode, MqttReason.PacketTooLarge, context('oversized accepted'));
        assert.equal(parser.bufferedBytes, 0);
      }
    });
    t.diagnostic(`${n} cases`);
  });
});
