import mqttPacket from 'mqtt-packet';
import { encodePublish } from '../../dist/src/protocols/mqtt/encoder.js';

let n = 0;
const topics = ['a', 'weft/bench/x', 'ü/€/𝄞', '', 'x'.repeat(300), 'y'.repeat(20000)];
const sizes = [0, 1, 16, 100, 127, 128, 16383, 16384, 70000, 2100000];
for (const v of [3, 4, 5])
  for (const topic of topics)
    for (const size of sizes)
      for (const qos of [0, 1, 2])
        for (const dup of [false, true])
          for (const retain of [false, true]) {
            const payload = Buffer.alloc(size, 7);
            const messageId = qos ? (n * 7919) % 65536 : undefined;
            const a = encodePublish(v, {
              topic,
              payload,
              qos,
              dup,
              retain,
              ...(messageId !== undefined ? { messageId } : {}),
            });
            const pk = { cmd: 'publish', topic, payload, qos, dup, retain };
            if (qos) pk.messageId = messageId;
            const b = mqttPacket.generate(pk, { protocolVersion: v });
            if (!a.equals(b)) {
              console.log('DIFF', v, topic.length, size, qos, dup, retain);
              process.exit(1);
            }
            n++;
          }
console.log('same bytes', n);
