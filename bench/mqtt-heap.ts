/**
 * Where an idle MQTT connection's memory goes: starts a Weft node (a child
 * process, `--heapsnapshot-signal=SIGUSR2`), takes a heap snapshot, opens N
 * idle MQTT 3.1.1 connections (CONNECT, CONNACK, then nothing; keep alive 0,
 * as the `mqtt-idle` benchmark row), takes another, and prints the growth
 * of the JS heap per connection by constructor (self sizes; V8 collects
 * garbage before it writes a snapshot), with the process's RSS growth
 * (inflated by the snapshots themselves: read it from the benchmark).
 *
 *   node dist/bench/mqtt-heap.js [--conns 2000] [--keep DIR] [--top 30]
 *
 * The heap is not all of RSS: sockets' native parts (libuv handles, the
 * TCP wrap), ArrayBuffer backing stores and malloc overhead are outside it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { readRssBytes } from '../src/bench/idle.js';
import { connectPacket } from '../src/bench/mqtt-wire.js';
import { freePort } from './servers.js';

interface Args {
  conns: number;
  keep: string | null;
  top: number;
}

function args(): Args {
  const a: Args = { conns: 2000, keep: null, top: 30 };
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--conns') a.conns = Number(argv[++i]);
    else if (argv[i] === '--keep') a.keep = argv[++i]!;
    else if (argv[i] === '--top') a.top = Number(argv[++i]);
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  return a;
}

/** Self size and count of a snapshot's nodes, by constructor (type and name). */
function byConstructor(file: string): Map<string, { size: number; count: number }> {
  const snap = JSON.parse(readFileSync(file, 'utf8')) as {
    snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
    nodes: number[];
    strings: string[];
  };
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const width = fields.length;
  const fType = fields.indexOf('type');
  const fName = fields.indexOf('name');
  const fSize = fields.indexOf('self_size');
  const out = new Map<string, { size: number; count: number }>();
  const { nodes, strings } = snap;
  for (let i = 0; i < nodes.length; i += width) {
    const type = types[nodes[i + fType]!]!;
    const name = strings[nodes[i + fName]!]!;
    let key: string;
    if (type === 'object' || type === 'native') key = name;
    else if (type === 'closure') key = `(closure)`;
    else if (type.includes('string')) key = '(string)';
    else if (type === 'hidden' || type === 'object shape') key = `(${type}) ${name}`;
    else key = `(${type})`;
    const e = out.get(key) ?? { size: 0, count: 0 };
    e.size += nodes[i + fSize]!;
    e.count++;
    out.set(key, e);
  }
  return out;
}

async function snapshot(child: ChildProcess, dir: string): Promise<string> {
  const before = new Set(readdirSync(dir));
  child.kill('SIGUSR2');
  const deadline = Date.now() + 120_000;
  for (;;) {
    const fresh = readdirSync(dir).filter((f) => f.endsWith('.heapsnapshot') && !before.has(f));
    if (fresh.length > 0) {
      // Written when its size stops changing.
      const file = path.join(dir, fresh[0]!);
      let last = -1;
      for (;;) {
        await sleep(500);
        const size = readFileSync(file).length;
        if (size === last && size > 0) return file;
        last = size;
      }
    }
    if (Date.now() > deadline) throw new Error('no heap snapshot within 120 s');
    await sleep(200);
  }
}

function openIdle(port: number, n: number): Promise<net.Socket[]> {
  const socks: net.Socket[] = [];
  let next = 0;
  const one = (i: number) =>
    new Promise<void>((resolve, reject) => {
      const s = net.connect({ host: '127.0.0.1', port }, () => {
        s.write(connectPacket(`heap-${i}`));
      });
      s.once('data', (b: Buffer) =>
        b[0] === 0x20 ? resolve() : reject(new Error(`not a CONNACK: ${b.toString('hex')}`)),
      );
      s.once('error', reject);
      socks.push(s);
    });
  const lane = async () => {
    while (next < n) await one(next++);
  };
  return Promise.all(Array.from({ length: 32 }, lane)).then(() => socks);
}

async function main(): Promise<void> {
  const a = args();
  const here = path.dirname(fileURLToPath(import.meta.url));
  const mainJs = path.join(here, '..', 'src', 'cli', 'main.js');
  const dir = a.keep ?? mkdtempSync(path.join(os.tmpdir(), 'weft-mqtt-heap-'));
  const mqttPort = await freePort();
  const child = spawn(
    process.execPath,
    [
      '--heapsnapshot-signal=SIGUSR2',
      mainJs,
      'server',
      '--host',
      '127.0.0.1',
      '--port',
      String(await freePort()),
      '--http-port',
      '-1',
      '--mesh-port',
      '-1',
      '--mqtt-port',
      String(mqttPort),
      '--data-dir',
      dir,
    ],
    { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] },
  );
  try {
    for (let i = 0; ; i++) {
      const up = await new Promise<boolean>((r) => {
        const s = net.connect({ host: '127.0.0.1', port: mqttPort }, () => {
          s.destroy();
          r(true);
        });
        s.on('error', () => r(false));
      });
      if (up) break;
      if (i > 100) throw new Error('the node did not open its MQTT port');
      await sleep(100);
    }
    // One connection first, so what the process makes once (mqtt-packet's
    // cache of 65,536 two-byte numbers, made at its first encode; lazily
    // loaded code) is in both snapshots.
    for (const s of await openIdle(mqttPort, 1)) s.destroy();
    await sleep(1000);
    const base = await snapshot(child, dir);
    const rssBefore = readRssBytes(child.pid!);
    const socks = await openIdle(mqttPort, a.conns);
    await sleep(1000);
    const rssAfter = readRssBytes(child.pid!);
    const full = await snapshot(child, dir);
    const b = byConstructor(base);
    const f = byConstructor(full);
    const rows = [...f.entries()].map(([k, v]) => {
      const o = b.get(k) ?? { size: 0, count: 0 };
      return { k, bytes: (v.size - o.size) / a.conns, count: (v.count - o.count) / a.conns };
    });
    rows.sort((x, y) => y.bytes - x.bytes);
    const total = rows.reduce((s, r) => s + r.bytes, 0);
    console.log(`${a.conns} idle MQTT connections`);
    console.log(`RSS growth per connection: ${((rssAfter - rssBefore) / a.conns).toFixed(0)} B`);
    console.log(`JS heap growth per connection: ${total.toFixed(0)} B`);
    console.log('bytes/conn  objects/conn  constructor');
    for (const r of rows.slice(0, a.top)) {
      console.log(`${r.bytes.toFixed(0).padStart(10)}  ${r.count.toFixed(2).padStart(12)}  ${r.k}`);
    }
    for (const s of socks) s.destroy();
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    if (a.keep === null) rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
