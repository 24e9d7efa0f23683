/**
 * Damage on disk, end to end: `weft server` (the CLI, from dist) as a child
 * process, the official client, and `weft stream check`.
 *
 * - One byte flipped in the last record of a segment and four in the middle
 *   (the two cases of issue 10, item 11) and stream.json damaged: after a
 *   restart the stream is there, every untouched message is readable, the
 *   damaged ones are reported (error log with file and offset, `weft_damage`
 *   in stream info, /healthz degraded naming the stream), stream.json is
 *   restored from its copy, the stream takes new messages after the last
 *   sequence, and `weft stream check` exits 1 listing the damage.
 * - Both copies of stream.json damaged (truncated): the stream is kept
 *   offline, its API answers 10118 naming stream.json but no host path, it
 *   cannot be re-created over its files, /healthz says so.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { AckPolicy, connect, type NatsConnection, StorageType } from 'nats';
import { recSeq, recType, T_MSG } from '../../src/streams/file-record.js';
import { scanSegment } from '../../src/streams/segment-scan.js';
import { freePort } from '../helpers/nats-server.js';
import { checkFor, within } from '../helpers/poll.js';
import { prng } from '../streams/crash-messages.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const dirs: string[] = [];
after(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

interface Node {
  proc: ChildProcess;
  port: number;
  http: number;
  closed: Promise<unknown>;
  stderr: () => string;
}

async function startNode(dir: string): Promise<Node> {
  const port = await freePort();
  const http = await freePort();
  const proc = spawn(
    process.execPath,
    [
      MAIN,
      'server',
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--http-port',
      String(http),
    ].concat(['--mesh-port=-1', '--data-dir', dir]),
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let err = '';
  proc.stderr!.on('data', (b: Buffer) => {
    err += b.toString();
  });
  const closed = new Promise((res) => proc.on('close', res));
  await checkFor(() => {
    if (proc.exitCode !== null) throw new Error(`weft server exited: ${err}`);
    // Ready: every listener, the monitor (/healthz) too, is open.
    return /Server is ready/.test(err);
  }, 20_000);
  return { proc, port, http, closed, stderr: () => err };
}

async function stopNode(n: Node): Promise<void> {
  n.proc.kill('SIGTERM');
  try {
    await within(n.closed, 10_000, 'the node to stop');
  } catch (err) {
    n.proc.kill('SIGKILL');
    throw new Error(`${(err as Error).message}; its log:\n${n.stderr()}`);
  }
}

async function healthz(
  n: Node,
): Promise<{ status: string; problems?: { component: string; detail: string }[] }> {
  const r = await fetch(`http://127.0.0.1:${n.http}/healthz`);
  return (await r.json()) as { status: string };
}

function check(dataDir: string): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, [MAIN, 'stream', 'check', '--data-dir', dataDir], {
    encoding: 'utf8',
  });
  return { status: r.status, out: r.stdout + r.stderr };
}

/** seq → [file, offset, length] of each MSG record. */
function records(msgs: string): Map<number, [string, number, number]> {
  const out = new Map<number, [string, number, number]>();
  for (const f of fs.readdirSync(msgs).filter((x) => x.endsWith('.seg'))) {
    const fd = fs.openSync(join(msgs, f), 'r');
    scanSegment(
      fd,
      fs.fstatSync(fd).size,
      (buf, rel, pos) => {
        if (recType(buf, rel) === T_MSG) out.set(recSeq(buf, rel), [f, pos, buf.readUInt32LE(rel)]);
      },
      () => {},
    );
    fs.closeSync(fd);
  }
  return out;
}

function flip(file: string, at: number, n: number): void {
  const b = fs.readFileSync(file);
  for (let i = 0; i < n; i++) b[at + i] ^= 0xa5;
  fs.writeFileSync(file, b);
}

async function fillStream(url: string, name: string, count: number): Promise<void> {
  const nc: NatsConnection = await connect({ servers: url });
  const jsm = await nc.jetstreamManager();
  await jsm.streams.add({ name, subjects: [`${name}.>`], storage: StorageType.File });
  await jsm.consumers.add(name, { durable_name: 'C', ack_policy: AckPolicy.Explicit });
  const js = nc.jetstream();
  for (let i = 1; i <= count; i++) await js.publish(`${name}.x`, Buffer.from(`m${i}`));
  await nc.close();
}

test('damaged records are skipped and reported; everything else is served', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'weft-damage-e2e-'));
  dirs.push(dataDir);
  let node = await startNode(dataDir);
  await fillStream(`nats://127.0.0.1:${node.port}`, 'D', 40);
  await stopNode(node);
  assert.equal(check(dataDir).status, 0, 'clean before the damage');

  const sdir = join(dataDir, 'streams', '$G', 'D');
  const msgs = join(sdir, 'msgs');
  const where = records(msgs);
  const [file, lastOff, lastLen] = where.get(40)!;
  const seg = join(msgs, file);
  flip(seg, lastOff + lastLen - 1, 1); // (a) the last record, acked and fsynced
  const [, midOff] = where.get(20)!;
  flip(seg, midOff + 34, 4); // (b) four bytes inside record 20
  flip(join(sdir, 'stream.json'), 40, 2);
  fs.truncateSync(join(sdir, 'consumers', 'C', 'state.json'), 10);

  node = await startNode(dataDir);
  try {
    const nc = await connect({ servers: `nats://127.0.0.1:${node.port}` });
    const jsm = await nc.jetstreamManager();
    const info = (await jsm.streams.info('D')) as unknown as {
      state: { messages: number; last_seq: number };
      weft_damage: { ranges: number; damaged: { first_seq: number; last_seq: number }[] };
    };
    assert.equal(info.state.messages, 38);
    assert.equal(info.weft_damage.ranges, 2);
    assert.deepEqual(
      info.weft_damage.damaged.map((d) => [d.first_seq, d.last_seq]),
      [
        [20, 20],
        [40, 40],
      ],
    );
    for (let i = 1; i <= 40; i++) {
      if (i === 20 || i === 40) {
        await assert.rejects(jsm.streams.getMessage('D', { seq: i }), /no message found/);
      } else {
        const m = await jsm.streams.getMessage('D', { seq: i });
        assert.equal(Buffer.from(m.data).toString(), `m${i}`);
      }
    }
    const ack = await nc.jetstream().publish('D.x', Buffer.from('after'));
    assert.equal(ack.seq, 41, 'writable, and no sequence used twice');
    const h = await healthz(node);
    assert.equal(h.status, 'degraded');
    assert.ok(
      h.problems!.some((p) => p.component === 'stream D' && /2 damaged ranges/.test(p.detail)),
    );
    const log = node.stderr();
    assert.match(log, new RegExp(`\\[ERR\\].*damaged data in .*${file} at offset ${midOff}`));
    assert.match(
      log,
      new RegExp(`\\[ERR\\].*damaged data in .*${file} at offset ${lastOff},.*sequence 40`),
    );
    assert.match(log, /stream\.json: checksum mismatch.*rewritten from the intact copy/);
    // The consumer whose state file is damaged: reported, out of service, not re-created over it.
    assert.match(
      log,
      /\[ERR\].*consumer state file .*C\/state\.json of stream "D" is not valid JSON/,
    );
    assert.ok(
      h.problems!.some(
        (p) => p.component === 'stream D' && /consumers\/C\/state\.json/.test(p.detail),
      ),
    );
    await assert.rejects(
      jsm.consumers.add('D', { durable_name: 'C', ack_policy: AckPolicy.Explicit }),
      /consumer is offline: its state file C\/state\.json is not valid JSON/i,
    );
    assert.equal(
      fs.statSync(join(sdir, 'consumers', 'C', 'state.json')).size,
      10,
      'left as it was',
    );
    await nc.close();
  } finally {
    await stopNode(node);
  }
  const c = check(dataDir);
  assert.equal(c.status, 1, c.out);
  assert.match(c.out, /\$G\/D: DAMAGED/);
  assert.match(c.out, /consumer: consumers\/C\/state\.json: /);
  assert.match(
    c.out,
    new RegExp(`damaged: msgs/${file} offset ${lastOff}, .*sequence 40; in quarantine`),
  );
});

test('stream.json damaged in both copies: the stream is kept offline, named, not replaced', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'weft-damage-e2e-'));
  dirs.push(dataDir);
  let node = await startNode(dataDir);
  await fillStream(`nats://127.0.0.1:${node.port}`, 'M', 3);
  await stopNode(node);
  const sdir = join(dataDir, 'streams', '$G', 'M');
  for (const f of ['stream.json', 'stream.json.bak']) {
    const p = join(sdir, f);
    fs.truncateSync(p, Math.floor(fs.statSync(p).size / 2));
  }
  node = await startNode(dataDir);
  try {
    const nc = await connect({ servers: `nats://127.0.0.1:${node.port}` });
    const jsm = await nc.jetstreamManager();
    const err = await jsm.streams.info('M').then(
      () => null,
      (e: Error & { api_error?: { err_code: number; description: string } }) => e,
    );
    assert.ok(err !== null);
    assert.equal(err.api_error?.err_code, 10118);
    assert.match(err.message, /stream is offline: stream\.json: invalid JSON/i);
    assert.ok(!err.message.includes(dataDir), 'no host path in what clients see');
    await assert.rejects(
      jsm.streams.add({ name: 'M', subjects: ['M.>'], storage: StorageType.File }),
      /stream is offline/,
    );
    const h = await healthz(node);
    assert.ok(
      h.problems!.some((p) => p.component === 'stream M' && /out of service/.test(p.detail)),
    );
    assert.match(
      node.stderr(),
      /\[ERR\].*stream "M" in .* is out of service: stream\.json: invalid JSON/,
    );
    await nc.close();
  } finally {
    await stopNode(node);
  }
  assert.ok(fs.existsSync(join(sdir, 'msgs')), 'its messages are left as they are');
  const c = check(dataDir);
  assert.equal(c.status, 1);
  assert.match(c.out, /stream\.json: invalid JSON.*no usable copy/);
});

test('weft stream check: usage errors exit 2', () => {
  const missing = spawnSync(
    process.execPath,
    [MAIN, 'stream', 'check', '--data-dir', join(tmpdir(), 'weft-no-such-dir-x')],
    { encoding: 'utf8' },
  );
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /is not a directory/);
  const action = spawnSync(process.execPath, [MAIN, 'stream', 'fix'], { encoding: 'utf8' });
  assert.equal(action.status, 2);
  assert.match(action.stderr, /unknown action "fix"/);
});

const SEED = Number(process.env['WEFT_DAMAGE_SEED'] ?? String(Math.floor(Math.random() * 2 ** 31)));

test(`random flips in a stream's files, through a node (seed ${SEED})`, async () => {
  console.log(`damage e2e: WEFT_DAMAGE_SEED=${SEED}`);
  const rnd = prng(SEED);
  const dataDir = await mkdtemp(join(tmpdir(), 'weft-damage-e2e-'));
  dirs.push(dataDir);
  let node = await startNode(dataDir);
  await fillStream(`nats://127.0.0.1:${node.port}`, 'R', 60);
  await stopNode(node);
  const sdir = join(dataDir, 'streams', '$G', 'R');
  const msgs = join(sdir, 'msgs');
  const where = records(msgs);
  const files = [
    ...fs.readdirSync(msgs).map((f) => join('msgs', f)),
    'stream.json',
    'stream.json.bak',
    join('consumers', 'C', 'state.json'),
  ];
  const touched: [string, number][] = [];
  for (let i = 0; i < 6; i++) {
    const f = files[Math.floor(rnd() * files.length)]!;
    const size = fs.statSync(join(sdir, f)).size;
    const at = Math.floor(rnd() * size);
    flip(join(sdir, f), at, 1);
    touched.push([f, at]);
  }
  const hit = (f: string): boolean => touched.some(([t]) => t === f);
  node = await startNode(dataDir);
  try {
    const nc = await connect({ servers: `nats://127.0.0.1:${node.port}` });
    const jsm = await nc.jetstreamManager();
    const why = JSON.stringify(touched);
    if (hit('stream.json') && hit('stream.json.bak')) {
      await assert.rejects(jsm.streams.info('R'), /stream is offline/i);
      await nc.close();
      return;
    }
    const info = (await jsm.streams.info('R')) as unknown as {
      weft_damage?: {
        damaged: { first_seq?: number; last_seq?: number }[];
        torn_tail_bytes?: number;
      };
    };
    const ranges = info.weft_damage?.damaged ?? [];
    const torn = info.weft_damage?.torn_tail_bytes ?? 0;
    for (let seq = 1; seq <= 60; seq++) {
      const [file, off, len] = where.get(seq)!;
      const mine = touched.some(
        ([f, at]) => f === join('msgs', file) && at >= off && at < off + len,
      );
      const m = await jsm.streams.getMessage('R', { seq }).catch(() => null);
      if (m !== null) {
        assert.equal(Buffer.from(m.data).toString(), `m${seq}`, `${why}: seq ${seq}`);
        continue;
      }
      assert.ok(mine, `${why}: seq ${seq} is gone though its bytes were not touched`);
      const reported = ranges.some((r) => r.first_seq! <= seq && seq <= r.last_seq!);
      assert.ok(
        reported || (torn > 0 && hit(join('msgs', 'synced.mark'))),
        `${why}: seq ${seq} is gone without a report`,
      );
    }
    if (ranges.length > 0) assert.equal((await healthz(node)).status, 'degraded');
    await nc.close();
  } finally {
    await stopNode(node);
  }
});
