/**
 * The NATS face's MSG encoding in process, CPU ns per delivery: 16 B
 * messages (RangeMessage) to one subscription, 1,000 per flush, into a
 * socket that takes every write at once. node bench/mesh-tools/encode-msgs.mjs [dist]
 */
import { EventEmitter } from 'node:events';
import { resolve } from 'node:path';

const dist = resolve(process.argv[2] ?? 'dist');
const { Flusher } = await import(`${dist}/src/connection/connection.js`);
const { RangeMessage } = await import(`${dist}/src/core/message.js`);
const { MsgOutput } = await import(`${dist}/src/protocols/nats/msg-output.js`);

class Sink extends EventEmitter {
  remoteAddress = '127.0.0.1';
  remotePort = 1;
  destroyed = false;
  closed = false;
  writableLength = 0;
  write(_chunk, cb) {
    cb?.();
    return true;
  }
  cork() {}
  uncork() {}
}
class Out extends MsgOutput {
  deliver(ns, msg) {
    return this.queueDelivery(ns, msg, true);
  }
  onSlowConsumer() {}
}
const subject = 'bench.pubsub.aaaaaaaaaaaaaaaa';
const ns = {
  subject,
  queue: '',
  sid: '1',
  owner: null,
  max: 0,
  delivered: 0,
  target: Buffer.alloc(0),
  targetLen: 0,
  targetSubject: '',
  check: false,
};
const read = Buffer.alloc(64 * 1024, 0x61);
const msgs = [];
for (let i = 0; i < 1000; i++)
  msgs.push(new RangeMessage(subject, '', read, i * 40, -1, i * 40 + 16));
const flusher = new Flusher();
const out = new Out(1, new Sink(), flusher, 1 << 30);
const batch = () => {
  flusher.begin();
  for (let i = 0; i < msgs.length; i++) out.deliver(ns, msgs[i]);
  flusher.end();
};
for (let w = 0; w < 3000; w++) batch();
const t = process.cpuUsage();
const R = 10_000;
for (let r = 0; r < R; r++) batch();
const u = process.cpuUsage(t);
console.log(dist, 'ns/delivery', (((u.user + u.system) * 1000) / (R * msgs.length)).toFixed(1));
