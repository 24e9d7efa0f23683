/**
 * The bytes a subscriber receives, compared between builds: each `dist`
 * runs a node; the same script of raw MQTT packets (mqtt-packet) is played
 * against each: 3.1.1 and 5.0 subscribers (5.0 ones with a Topic Alias
 * Maximum and subscription identifiers, overlapping filters), publishers of
 * both versions sending QoS 0/1/2 with every PUBLISH property kind, a
 * retained message and a response topic. Prints whether every byte each
 * subscriber read is the same across the builds.
 *   node bench/core-tools/mqtt-wire-eq.mjs /tmp/base10c/dist dist
 */
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import mqttPacket from 'mqtt-packet';

const dists = process.argv.slice(2);
const W = fileURLToPath(new URL('../../dist/', import.meta.url));
const { startWeft, freePort } = await import(path.join(W, 'bench/servers.js'));
const gen = (p, v) => mqttPacket.generate(p, { protocolVersion: v });

function client(port, id, v, props) {
  return new Promise((ok, fail) => {
    const s = net.connect(port, '127.0.0.1');
    const got = [];
    s.on('data', (b) => got.push(b));
    s.on('error', fail);
    s.on('connect', () => {
      s.write(
        gen(
          {
            cmd: 'connect',
            protocolId: 'MQTT',
            protocolVersion: v,
            clean: true,
            clientId: id,
            keepalive: 0,
            ...(v === 5 ? { properties: props } : {}),
          },
          v,
        ),
      );
      ok({ s, got, v, bytes: () => Buffer.concat(got) });
    });
  });
}
const until = async (f) => {
  for (let i = 0; i < 200 && !f(); i++) await new Promise((ok) => setTimeout(ok, 10));
};

async function play(port) {
  const s4 = await client(port, 's4', 4);
  const s5 = await client(port, 's5', 5, { topicAliasMaximum: 3 });
  const s5b = await client(port, 's5b', 5, {});
  const p4 = await client(port, 'p4', 4);
  const p5 = await client(port, 'p5', 5, {});
  const all = [s4, s5, s5b, p4, p5];
  await until(() => all.every((c) => c.bytes().length > 0));
  let mid = 1;
  const sub = (c, subs, properties) =>
    c.s.write(
      gen(
        {
          cmd: 'subscribe',
          messageId: mid++,
          subscriptions: subs,
          ...(properties ? { properties } : {}),
        },
        c.v,
      ),
    );
  // A retained message first, seen by each subscriber as it subscribes.
  p4.s.write(
    gen({ cmd: 'publish', topic: 'r/x', payload: Buffer.from('kept'), qos: 0, retain: true }, 4),
  );
  await new Promise((ok) => setTimeout(ok, 100));
  sub(s4, [
    { topic: 't/#', qos: 2 },
    { topic: 't/+/q', qos: 1 },
    { topic: 'r/x', qos: 0 },
  ]);
  sub(
    s5,
    [
      { topic: 't/#', qos: 2, rap: true },
      { topic: 'r/x', qos: 1 },
    ],
    { subscriptionIdentifier: 7 },
  );
  sub(s5, [{ topic: 't/+/q', qos: 1 }], { subscriptionIdentifier: 9 });
  sub(s5b, [
    { topic: 't/#', qos: 0, nl: true },
    { topic: 'r/#', qos: 2 },
  ]);
  await new Promise((ok) => setTimeout(ok, 200));
  const propSets = [
    undefined,
    { payloadFormatIndicator: true, contentType: 'text/plain' },
    { responseTopic: 'reply/here', correlationData: Buffer.from([1, 2, 3]) },
    { userProperties: { a: '1', b: ['x', 'y'] }, messageExpiryInterval: 300 },
    {
      userProperties: { specversion: '1.0', type: 't', source: 's', id: '1' },
      contentType: 'application/json',
    },
  ];
  let n = 0;
  // One publisher at a time, so the order of deliveries is the same on every run.
  for (const [pub, v] of [
    [p4, 4],
    [p5, 5],
  ]) {
    for (const topic of ['t/a', 't/b/q', 't/a', 't/c/q', 't/a'])
      for (const qos of [0, 1, 2])
        for (const props of propSets) {
          const payload = Buffer.from(`{"n":${n++},"data":"x"}`);
          const p = { cmd: 'publish', topic, payload, qos, retain: false, dup: false };
          if (qos > 0) p.messageId = mid++;
          if (v === 5 && props) p.properties = props;
          pub.s.write(gen(p, v));
        }
    await new Promise((ok) => setTimeout(ok, 300));
  }
  // Subscribers acknowledge nothing: the in-flight window bounds what they get, the same on both.
  await new Promise((ok) => setTimeout(ok, 1000));
  const out = { s4: s4.bytes(), s5: s5.bytes(), s5b: s5b.bytes() };
  for (const c of all) c.s.destroy();
  return out;
}

const results = [];
for (const d of dists) {
  const port = await freePort();
  const proc = await startWeft(
    path.join(path.resolve(d), 'src/cli/main.js'),
    ['--mesh-port', '-1', '--mqtt-port', String(port)],
    'weft-mqtt',
  );
  try {
    for (let i = 0; i < 50; i++) {
      try {
        await new Promise((ok, fail) => net.connect(port, '127.0.0.1', ok).on('error', fail)).then(
          () => {},
        );
        break;
      } catch {
        await new Promise((ok) => setTimeout(ok, 100));
      }
    }
    results.push(await play(port));
  } finally {
    await proc.stop();
  }
}
const [a, ...rest] = results;
let same = true;
for (const r of rest)
  for (const k of Object.keys(a)) {
    const eq = a[k].equals(r[k]);
    same &&= eq;
    let at = 0;
    while (at < a[k].length && a[k][at] === r[k][at]) at++;
    console.log(
      `${k}: ${a[k].length} vs ${r[k].length} bytes, ${eq ? 'same' : `DIFFERENT at ${at}`}`,
    );
    if (!eq) console.log(a[k].subarray(at - 8, at + 24), r[k].subarray(at - 8, at + 24));
  }
console.log(same ? 'same bytes' : 'DIFFERENT');
process.exitCode = same ? 0 : 1;
