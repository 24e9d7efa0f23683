/**
 * A full disk, for real (issue 10, item 9): `weft server` (from dist, as a
 * child process) runs on a 2 MiB tmpfs. Through the official client it
 * fills a stream until publishes are refused with 10023 "insufficient
 * resources" (503), what nats-server 2.9 answers, and then checks that:
 * - no publish is acknowledged while the disk is full;
 * - the node serves everything else: core request/reply, a memory stream,
 *   reads of the full stream and of another file stream, a consumer;
 * - /healthz is degraded naming the stream and ENOSPC, and the log has an
 *   error line saying so;
 * - once space is freed (a file deleted), the stream writes again by
 *   itself, /healthz is ok, and publishes are acknowledged;
 * - after a kill -9 and a restart, every acknowledged message is there.
 *
 * With WEFT_TEST_TARGET=nats-server the reference runs instead, for the
 * parts it shares (the refusal, serving on, nothing acked lost; it has no
 * degraded /healthz and refuses until restarted, so those are Weft's only).
 *
 * Mounting needs root: the test is skipped with the reason otherwise, and
 * fails instead when WEFT_REQUIRE_TMPFS=1 or WEFT_REQUIRE_NETNS=1 (CI runs
 * as root and sets one).
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import {
  closeSync,
  mkdtempSync,
  openSync,
  rmSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  AckPolicy,
  connect,
  type JetStreamClient,
  type JetStreamManager,
  type NatsConnection,
  type NatsError,
  StorageType,
} from 'nats';
import { TARGET } from '../helpers/harness.js';
import { freePort } from '../helpers/nats-server.js';
import { checkFor, within } from '../helpers/poll.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const PAYLOAD_BYTES = 8192;
/** Far more than fit in the tmpfs: the fill stops at the first refusal. */
const REFERENCE = TARGET === 'nats-server';
const FILL_MAX = 1000;

/** Why a tmpfs cannot be mounted here, or null; throws when it is required. */
function tmpfsSkip(): string | false {
  let why: string | null = null;
  if (process.platform !== 'linux') why = `tmpfs mounts need Linux (${process.platform})`;
  else if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    why = 'mounting a tmpfs needs root (run as root, as CI does)';
  }
  if (why === null) return false;
  if (process.env.WEFT_REQUIRE_TMPFS === '1' || process.env.WEFT_REQUIRE_NETNS === '1') {
    throw new Error(`disk-full test required (WEFT_REQUIRE_TMPFS/NETNS=1) but: ${why}`);
  }
  return why;
}

interface Node {
  proc: ChildProcess;
  url: string;
  httpPort: number;
  closed: Promise<void>;
  stderr: () => string;
}

async function startNode(dir: string, port: number, httpPort: number): Promise<Node> {
  const [bin, args] = REFERENCE
    ? [
        process.env.NATS_SERVER_BIN ?? 'nats-server',
        ['-js', '-sd', join(dir, 'ref'), '-a', '127.0.0.1', '-p', String(port)],
      ]
    : [
        process.execPath,
        [
          MAIN,
          'server',
          '--host',
          '127.0.0.1',
          '--port',
          String(port),
          '--http-port',
          String(httpPort),
          '--mesh-port=-1',
          '--data-dir',
          dir,
        ],
      ];
  const proc = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  proc.stderr!.on('data', (b: Buffer) => {
    err += b.toString();
  });
  const closed = new Promise<void>((res) => proc.on('close', () => res()));
  await checkFor(() => {
    if (proc.exitCode !== null) throw new Error(`weft server exited: ${err}`);
    return /Server is ready/.test(err);
  }, 20_000);
  return { proc, url: `nats://127.0.0.1:${port}`, httpPort, closed, stderr: () => err };
}

async function health(
  node: Node,
): Promise<{ status: string; problems?: Record<string, string>[] }> {
  const res = await fetch(`http://127.0.0.1:${node.httpPort}/healthz`);
  return (await res.json()) as { status: string; problems?: Record<string, string>[] };
}

function payload(i: number): Buffer {
  const b = Buffer.alloc(PAYLOAD_BYTES, i & 0xff);
  b.write(`msg ${i} `, 0);
  return b;
}

const refused = (err: unknown): boolean => {
  const api = (err as NatsError).api_error;
  return (
    api?.err_code === 10023 && api.code === 503 && api.description === 'insufficient resources'
  );
};

test('a full disk: publishes refused with 10023, the node serves on, writes resume, nothing acked lost', {
  skip: tmpfsSkip(),
  timeout: 120_000,
}, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'weft-diskfull-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'weft-disk-full', dir]);
  let node: Node | undefined;
  let nc: NatsConnection | undefined;
  t.after(async () => {
    await nc?.close().catch(() => {});
    if (node !== undefined && node.proc.exitCode === null) {
      node.proc.kill('SIGKILL');
      await node.closed;
    }
    execFileSync('umount', [dir]);
    rmSync(dir, { recursive: true, force: true });
  });
  // Room to free later: a file the node knows nothing of.
  const ballast = join(dir, 'ballast');
  writeFileSync(ballast, Buffer.alloc(512 * 1024, 1));

  const port = await freePort();
  const httpPort = await freePort();
  node = await startNode(dir, port, httpPort);
  nc = await connect({ servers: node.url });
  let jsm: JetStreamManager = await nc.jetstreamManager();
  let js: JetStreamClient = nc.jetstream();
  await jsm.streams.add({ name: 'FULL', subjects: ['full.>'], storage: StorageType.File });
  await jsm.streams.add({ name: 'OTHER', subjects: ['other.>'], storage: StorageType.File });
  await jsm.streams.add({ name: 'MEM', subjects: ['mem.>'], storage: StorageType.Memory });
  await jsm.consumers.add('FULL', { durable_name: 'C', ack_policy: AckPolicy.Explicit });
  for (let i = 0; i < 3; i++) await js.publish('other.x', payload(i));

  // Fill FULL until the disk refuses.
  const acked = new Map<number, number>();
  let refusal: unknown = null;
  let i = 0;
  for (; i < FILL_MAX && refusal === null; i++) {
    try {
      acked.set((await js.publish('full.x', payload(i))).seq, i);
    } catch (err) {
      refusal = err;
    }
  }
  assert.ok(refused(refusal), `the fill ended with 10023, got ${JSON.stringify(refusal)}`);
  assert.ok(acked.size > 50, `${acked.size} publishes acknowledged before the disk filled`);
  t.diagnostic(`${acked.size} messages of ${PAYLOAD_BYTES} bytes filled the 2 MiB tmpfs`);
  // Top the disk off: the pages a failed write's clean-up freed would let a
  // retry succeed and the next publish in, sooner or later (a matter of
  // timing under load). Now no page is left for an 8 KiB record.
  const filler = openSync(join(dir, 'filler'), 'w');
  try {
    for (;;) writeSync(filler, Buffer.alloc(4096, 2));
  } catch {
    // ENOSPC: full.
  } finally {
    closeSync(filler);
  }

  // While full: every publish to FULL is refused, none acknowledged.
  for (let k = 0; k < 5; k++, i++) {
    await assert.rejects(js.publish('full.x', payload(i)), refused);
  }
  if (!REFERENCE) {
    const h = await health(node);
    assert.equal(h.status, 'degraded');
    const problem = h.problems?.find((p) => p.component === 'stream FULL');
    assert.ok(problem !== undefined, `no problem for stream FULL in ${JSON.stringify(h)}`);
    assert.match(problem.detail!, /ENOSPC/);
    assert.match(node.stderr(), /\[ERR\] stream "FULL".*ENOSPC/);
    // A purge needs a record written too: refused the same way, nothing removed.
    await assert.rejects(jsm.streams.purge('FULL'), refused);
  }

  // ...and the node serves everything else.
  const echo = nc.subscribe('svc.echo', { callback: (_e, m) => m.respond(m.data) });
  const reply = await nc.request('svc.echo', Buffer.from('ping'), { timeout: 2000 });
  assert.equal(Buffer.from(reply.data).toString(), 'ping');
  echo.unsubscribe();
  assert.equal((await js.publish('mem.x', Buffer.from('in memory'))).stream, 'MEM');
  const info = await jsm.streams.info('FULL');
  assert.equal(info.state.messages, acked.size);
  const [firstSeq, firstI] = [...acked][0]!;
  const got = await jsm.streams.getMessage('FULL', { seq: firstSeq });
  assert.ok(Buffer.from(got.data).equals(payload(firstI)));
  assert.equal((await jsm.streams.getMessage('OTHER', { seq: 1 })).data.length, PAYLOAD_BYTES);
  const consumer = await js.consumers.get('FULL', 'C');
  const batch = await consumer.fetch({ max_messages: 3, expires: 2000 });
  let fetched = 0;
  for await (const m of batch) {
    assert.ok(acked.has(m.seq));
    m.ack();
    fetched++;
  }
  assert.equal(fetched, 3, 'a consumer reads the full stream');

  // Space comes back: the stream writes again by itself (nats-server
  // refuses until restarted).
  unlinkSync(ballast);
  if (!REFERENCE) {
    await checkFor(async () => (await health(node!)).status === 'ok', 10_000, 50);
    assert.match(node.stderr(), /\[INF\] stream "FULL".*writes work again/);
    for (let k = 0; k < 20; k++, i++) {
      acked.set((await js.publish('full.x', payload(i))).seq, i);
    }
  }

  // A crash and a restart: every acknowledged message is there, intact.
  node.proc.kill('SIGKILL');
  await node.closed;
  await nc.close();
  node = await startNode(dir, port, httpPort);
  nc = await connect({ servers: node.url });
  jsm = await nc.jetstreamManager();
  js = nc.jetstream();
  const after = await jsm.streams.info('FULL');
  assert.equal(after.state.messages, acked.size);
  for (const [seq, n] of acked) {
    const m = await jsm.streams.getMessage('FULL', { seq });
    assert.ok(Buffer.from(m.data).equals(payload(n)), `seq ${seq} intact after the restart`);
  }
  assert.equal((await jsm.streams.info('OTHER')).state.messages, 3);
  if (!REFERENCE) {
    // (nats-server sizes its storage limit from the free space at start,
    // and on this small disk refuses this one too.)
    const next = await js.publish('full.x', payload(i));
    assert.ok(next.seq > Math.max(...acked.keys()));
    assert.equal((await health(node)).status, 'ok');
  }
  await within(nc.close(), 5000, 'the client to close');
  nc = undefined;
});
