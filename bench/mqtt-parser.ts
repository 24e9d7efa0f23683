/**
 * The MQTT wire in-process, no sockets: packets per second through
 * MqttParser (codec.ts: mqtt-packet behind the bounds and checks) and through
 * bare mqtt-packet, for QoS 0 PUBLISH with 16 B and 1 KiB payloads fed in
 * 64 KiB reads (as a socket delivers them), and through the PUBLISH encoder.
 * Best of 7 repetitions (this machine is shared; the best is the least
 * disturbed). The NATS parser's figure for the same payloads is the yardstick:
 * the issue asks for our own MQTT parser only if mqtt-packet caps throughput.
 *
 *   node dist/bench/mqtt-parser.js
 */
import mqttPacket from 'mqtt-packet';
import { MqttParser } from '../src/protocols/mqtt/codec.js';
import { encodePublish } from '../src/protocols/mqtt/encoder.js';
import { NatsParser } from '../src/protocols/nats/parser.js';

const READ = 64 * 1024;
const TOPIC = 'weft/bench/pubsub/12345';

function reads(packet: Buffer, count: number): Buffer[] {
  const all = Buffer.concat(Array.from({ length: count }, () => packet));
  const out: Buffer[] = [];
  for (let i = 0; i < all.length; i += READ) out.push(all.subarray(i, i + READ));
  return out;
}

function best(reps: number, ops: number, run: () => void): number {
  let rate = 0;
  for (let r = 0; r < reps; r++) {
    const t = performance.now();
    run();
    rate = Math.max(rate, ops / ((performance.now() - t) / 1000));
  }
  return rate;
}

const fmt = (r: number) => `${(r / 1e6).toFixed(2)} M/s`;

const connect = mqttPacket.generate({
  cmd: 'connect',
  protocolId: 'MQTT',
  protocolVersion: 4,
  clean: true,
  clientId: 'bench',
  keepalive: 0,
});

for (const size of [16, 1024]) {
  const count = size === 16 ? 400_000 : 100_000;
  const payload = Buffer.alloc(size, 0x61);
  const pub = encodePublish(4, { topic: TOPIC, payload, qos: 0 });
  const chunks = reads(pub, count);

  let seen = 0;
  const ours = best(7, count, () => {
    const p = new MqttParser(() => seen++);
    p.feed(connect);
    for (const c of chunks) if (p.feed(c) !== null) throw new Error('parse error');
  });

  const bare = best(7, count, () => {
    const p = mqttPacket.parser({ protocolVersion: 4 });
    p.on('packet', () => seen++);
    for (const c of chunks) p.parse(c);
  });

  const natsFrame = Buffer.from(`PUB ${TOPIC.replaceAll('/', '.')} ${size}\r\n${payload}\r\n`);
  const natsChunks = reads(natsFrame, count);
  const nats = best(7, count, () => {
    const p = new NatsParser(
      {
        onConnect() {},
        onPub() {
          seen++;
        },
        onSub() {},
        onUnsub() {},
        onPing() {},
        onPong() {},
        onRefused() {},
      },
      { maxPayload: 1024 * 1024, maxControlLine: 4096 },
    );
    for (const c of natsChunks) p.feed(c);
  });

  const encode = best(7, count, () => {
    for (let i = 0; i < count; i++) encodePublish(4, { topic: TOPIC, payload, qos: 0 });
  });

  console.log(
    `QoS 0 PUBLISH ${String(size).padStart(4)} B: MqttParser ${fmt(ours)}, bare mqtt-packet ${fmt(bare)}, ` +
      `NATS parser (PUB) ${fmt(nats)}, encodePublish ${fmt(encode)}`,
  );
}
