/**
 * The MQTT load generator (src/bench/mqtt-*.ts): its scanner counts packets
 * whatever the splits, and end to end against mosquitto (the reference,
 * started on a free port; skipped when it is not installed) every message
 * published is counted by the subscribers, for each workload.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import mqttPacket from 'mqtt-packet';
import { freePort, type ServerProc, startListening, which } from '../../bench/servers.js';
import { openMqttIdle, runMqttBench } from '../../src/bench/mqtt-runner.js';
import { MqttScanner, publishBatch, publishPacket } from '../../src/bench/mqtt-wire.js';
import { makeRng } from '../fuzz/nats-frames.js';

test('the scanner reads packets across any split', () => {
  const gen = (p: object) => mqttPacket.generate(p as mqttPacket.Packet);
  const stream = Buffer.concat([
    gen({ cmd: 'connack', returnCode: 0, sessionPresent: false }),
    gen({ cmd: 'suback', messageId: 1, granted: [1] }),
    publishBatch('a/b', 16, 5).buf,
    gen({
      cmd: 'publish',
      topic: 'x/y',
      payload: Buffer.alloc(3000),
      qos: 1,
      messageId: 4242,
      dup: false,
      retain: false,
    }),
    gen({ cmd: 'puback', messageId: 7 }),
    gen({ cmd: 'pingresp' }),
  ]);
  const seen = (chunks: Buffer[]) => {
    const out: string[] = [];
    const s = new MqttScanner({
      onConnack: (rc) => out.push(`connack ${rc}`),
      onSuback: (g) => out.push(`suback ${g}`),
      onPublish: (qos, id) => out.push(`publish ${qos} ${id}`),
      onPuback: (id) => out.push(`puback ${id}`),
      onPingresp: () => out.push('pingresp'),
      onDisconnect: () => out.push('disconnect'),
      onProtocolError: (t) => out.push(`error ${t}`),
    });
    for (const c of chunks) s.push(c);
    return out;
  };
  const whole = seen([stream]);
  assert.deepEqual(whole, [
    'connack 0',
    'suback 1',
    ...Array(5).fill('publish 0 0'),
    'publish 1 4242',
    'puback 7',
    'pingresp',
  ]);
  const bytewise = [...stream].map((b) => Buffer.from([b]));
  assert.deepEqual(seen(bytewise), whole);
  const rng = makeRng(99);
  for (let k = 0; k < 20; k++) {
    const chunks: Buffer[] = [];
    for (let i = 0; i < stream.length; ) {
      const n = rng.range(1, 300);
      chunks.push(stream.subarray(i, i + n));
      i += n;
    }
    assert.deepEqual(seen(chunks), whole);
  }
  assert.equal(publishPacket('t', 4, 1).idOffset, 5);
});

const bin = which('mosquitto');

describe('MQTT generator against mosquitto', {
  skip: bin === null && 'mosquitto is not installed',
}, () => {
  let server: ServerProc;
  let dir: string;
  let port: number;
  before(async () => {
    port = await freePort();
    dir = mkdtempSync(path.join(os.tmpdir(), 'weft-test-mosquitto-'));
    const conf = path.join(dir, 'mosquitto.conf');
    writeFileSync(
      conf,
      `listener ${port} 127.0.0.1\nallow_anonymous true\nmax_queued_messages 0\n`,
    );
    server = await startListening('mosquitto', bin!, ['-c', conf], port);
  });
  after(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const cases = [
    { workload: 'pubsub', msgs: 20_000, size: 16, qos: 0 },
    { workload: 'pubsub', msgs: 2000, size: 1024, qos: 0 },
    { workload: 'pubsub', msgs: 5000, size: 16, qos: 1 },
    { workload: 'fanout', msgs: 5000, size: 16, qos: 0, subs: 4 },
    { workload: 'fanin', msgs: 5000, size: 16, qos: 0, pubs: 50 },
  ] as const;
  for (const c of cases) {
    test(`${c.workload} QoS ${c.qos} ${c.size} B: every message is delivered`, async () => {
      const r = await runMqttBench({ ...c, addr: { host: '127.0.0.1', port }, timeoutMs: 30_000 });
      assert.deepEqual(r.errors, []);
      assert.equal(r.ended, 'done');
      assert.equal(r.published, c.msgs);
      assert.equal(r.received, r.expected);
      assert.equal(r.lost, 0);
      assert.ok(r.complete && r.msgsPerSec > 0);
    });
  }

  test('idle connections open from two source addresses and close', async () => {
    const idle = await openMqttIdle({ host: '127.0.0.1', port }, 200, ['127.0.0.1', '127.0.0.2']);
    assert.equal(idle.opened, 200);
    assert.deepEqual(await idle.close(), []);
  });
});
