/**
 * The file store when the disk fails it (issue 10, item 9), through a
 * fault-injecting file layer (fault-ops.ts).
 *
 * The sweep: a scripted workload (appends alone and in batches, a remove,
 * a purge, a skip, segments rolling and compacted) runs once to count its
 * write and fsync calls; then, for every call index, once per fault (ENOSPC,
 * EIO, a short write; for fsyncs ENOSPC and EIO; and ENOSPC lasting three
 * calls, so retries fail too) the workload runs again with that call
 * failing. Each run checks that every rejection is StoreError 'unwritable',
 * that the store writes again by itself, and then — on a copy of its files
 * taken as they were (a crash) and after close + reopen — that every
 * acknowledged message is there with its content, that no message whose
 * append failed is, that acknowledged removals stay removed, and that new
 * sequences follow every acknowledged one.
 *
 * WEFT_FAULT_SWEEP=quick runs every third index (a faster check while
 * working); the default is every index (a few seconds).
 */
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { openFileStore } from '../../src/streams/file-store.js';
import { StoreError, type StreamStore } from '../../src/streams/store.js';
import { Stream } from '../../src/streams/stream.js';
import { normalizeConfig } from '../../src/streams/stream-config.js';
import { StreamApiError } from '../../src/streams/stream-errors.js';
import { checkFor } from '../helpers/poll.js';
import { type Fault, type FaultKind, FaultOps } from './fault-ops.js';

const root = mkdtempSync(join(tmpdir(), 'weft-faults-'));
after(() => rmSync(root, { recursive: true, force: true }));
let nextDir = 0;
const newDir = (): string => join(root, String(nextDir++));

const RETRY = { minMs: 1, maxMs: 4 };
const SEGMENT_BYTES = 512;

const unwritable = (err: unknown): boolean =>
  err instanceof StoreError && err.code === 'unwritable' && err.errno !== '';

/** What the workload saw: acknowledged and failed operations, in order. */
interface Outcome {
  /** seq → payload of every acknowledged append. */
  acked: Map<number, string>;
  /** Payloads of appends that were rejected. */
  failed: Set<string>;
  /** Sequences an acknowledged remove or purge took away (must stay away). */
  removed: Set<number>;
  /** Sequences a rejected remove or purge may or may not have taken away. */
  maybeRemoved: Set<number>;
  /** Rejections that were not StoreError 'unwritable'. */
  wrong: string[];
}

/** A copy of the store's files taken when an append was rejected, and what was known then. */
interface Image {
  dir: string;
  o: Outcome;
}

function copyOutcome(o: Outcome): Outcome {
  return {
    acked: new Map(o.acked),
    failed: new Set(o.failed),
    removed: new Set(o.removed),
    maybeRemoved: new Set(o.maybeRemoved),
    wrong: [],
  };
}

/**
 * Runs the script against `s`; each step waits for the store to write
 * again if it failed. When an append is first rejected, `image` is called
 * at once (before any retry can write), for a crash image.
 */
async function workload(
  s: StreamStore,
  heal: () => void,
  image: (o: Outcome) => void,
): Promise<Outcome> {
  const o: Outcome = {
    acked: new Map(),
    failed: new Set(),
    removed: new Set(),
    maybeRemoved: new Set(),
    wrong: [],
  };
  let n = 0;
  const append = (subject: string): Promise<void> => {
    const payload = `${subject}#${n++}:${'x'.repeat(40)}`;
    return s.append(subject, null, Buffer.from(payload)).then(
      (m) => void o.acked.set(m.seq, payload),
      (err: unknown) => {
        o.failed.add(payload);
        if (o.failed.size === 1) image(o);
        if (!unwritable(err)) o.wrong.push(`append: ${String(err)}`);
      },
    );
  };
  const removal = async (targets: number[], op: () => Promise<unknown>): Promise<void> => {
    try {
      await op();
      for (const t of targets) o.removed.add(t);
    } catch (err) {
      for (const t of targets) o.maybeRemoved.add(t);
      if (!unwritable(err)) o.wrong.push(`remove/purge: ${String(err)}`);
    }
  };
  const writable = () => checkFor(() => s.writeError === null, 2000, 1);

  for (const subject of ['a.1', 'p.x', 'a.2', 'p.x', 'a.3']) {
    await append(subject);
    await writable();
  }
  await Promise.all(['b.1', 'b.2', 'p.x', 'b.3', 'b.4', 'b.5'].map(append));
  await writable();
  const second = [...o.acked.keys()].sort((a, b) => a - b)[1];
  if (second !== undefined) await removal([second], () => s.remove(second));
  await writable();
  const px = [...o.acked].filter(([, p]) => p.startsWith('p.x#')).map(([seq]) => seq);
  await removal(px, () => s.purge({ subject: 'p.x' }));
  await writable();
  await s.skip(s.state().lastSeq + 3).catch((err: unknown) => {
    if (!unwritable(err)) o.wrong.push(`skip: ${String(err)}`);
  });
  await writable();
  await Promise.all(['c.1', 'c.2', 'c.3'].map(append));
  // No fault left to come: once the store has written again by itself,
  // appends must be acknowledged.
  heal();
  await writable();
  const before = o.failed.size;
  await Promise.all(['d.1', 'd.2'].map(append));
  assert.equal(o.failed.size, before, 'appends after the store wrote again were refused');
  return o;
}

/** Checks a reopened store against what the workload was told. */
async function check(where: string, s: StreamStore, o: Outcome): Promise<void> {
  const held = new Map<number, string>();
  for (let m = await s.next(0); m !== null; m = await s.next(m.seq + 1)) {
    held.set(m.seq, m.payload.toString());
  }
  for (const [seq, payload] of o.acked) {
    if (o.removed.has(seq)) {
      assert.equal(held.get(seq), undefined, `${where}: removed seq ${seq} came back`);
    } else if (!o.maybeRemoved.has(seq)) {
      assert.equal(held.get(seq), payload, `${where}: acknowledged seq ${seq} lost or changed`);
    }
  }
  for (const [seq, payload] of held) {
    assert.equal(o.failed.has(payload), false, `${where}: failed append is held at ${seq}`);
    assert.equal(o.acked.get(seq), payload, `${where}: seq ${seq} holds what was not acked`);
  }
  const st = s.state();
  assert.equal(st.messages, held.size, `${where}: state().messages`);
  const maxAcked = Math.max(0, ...o.acked.keys());
  assert.ok(st.lastSeq >= maxAcked, `${where}: lastSeq ${st.lastSeq} < acked ${maxAcked}`);
  const next = await s.append('after', null, Buffer.from('after'));
  assert.ok(next.seq > maxAcked, `${where}: new seq ${next.seq} reuses an acknowledged one`);
}

interface Run {
  kind: FaultKind;
  at: number;
  fault: Fault;
  times: number;
}

/** One run: the workload with one fault, then both restarts checked. */
async function runOnce(
  r: Run | null,
): Promise<{ ops: FaultOps; o: Outcome; healed: Record<FaultKind, number> }> {
  const dir = newDir();
  const ops = new FaultOps();
  if (r !== null) ops.inject(r.kind, r.at, r.fault, r.times);
  const opts = {
    sync: { kind: 'always' as const },
    segmentBytes: SEGMENT_BYTES,
    writeRetry: RETRY,
  };
  const s = await openFileStore(dir, { ...opts, fileOps: ops });
  const what = r === null ? 'no fault' : `${r.fault}×${r.times} at ${r.kind} call ${r.at}`;
  let o: Outcome;
  /** The calls made before the workload healed the disk (faults can land only there). */
  let healed = { ...ops.calls };
  const images: Image[] = [];
  const image = (now: Outcome): void => {
    // Synchronous, right as the first append is rejected: the files as a
    // crash then would leave them.
    const copy = newDir();
    cpSync(dir, copy, { recursive: true });
    images.push({ dir: copy, o: copyOutcome(now) });
  };
  try {
    o = await workload(
      s,
      () => {
        healed = { ...ops.calls };
        ops.heal();
      },
      image,
    );
    assert.deepEqual(o.wrong, [], `${what}: rejections that are not 'unwritable'`);
    for (const im of images) {
      const c = await openFileStore(im.dir, opts);
      try {
        await check(`${what}, crash image at the failure`, c, im.o);
      } finally {
        await c.close();
      }
    }
    // A crash now: the files as they are, opened elsewhere.
    const copy = newDir();
    cpSync(dir, copy, { recursive: true });
    const c = await openFileStore(copy, opts);
    try {
      await check(`${what}, crash image`, c, o);
    } finally {
      await c.close();
    }
  } finally {
    await s.close();
  }
  const re = await openFileStore(dir, opts);
  try {
    await check(`${what}, reopened`, re, o);
  } finally {
    await re.close();
  }
  return { ops, o, healed };
}

describe('file store: write faults', () => {
  test('every write and fsync call of a workload, failed each way, loses nothing acknowledged', async (t) => {
    const clean = await runOnce(null);
    // The calls made until the workload heals the disk (not those after:
    // the last appends, zero-fill ahead, close).
    const { write, sync } = clean.healed;
    assert.ok(write >= 10 && sync >= 10, `workload makes ${write} writes, ${sync} syncs`);
    assert.equal(clean.o.failed.size, 0);
    const step = process.env['WEFT_FAULT_SWEEP'] === 'quick' ? 3 : 1;
    const runs: Run[] = [];
    for (let at = 1; at <= write; at += step) {
      for (const fault of ['ENOSPC', 'EIO', 'short'] as const) {
        runs.push({ kind: 'write', at, fault, times: 1 });
      }
      runs.push({ kind: 'write', at, fault: 'ENOSPC', times: 3 });
    }
    for (let at = 1; at <= sync; at += step) {
      for (const fault of ['ENOSPC', 'EIO'] as const)
        runs.push({ kind: 'sync', at, fault, times: 1 });
      runs.push({ kind: 'sync', at, fault: 'EIO', times: 3 });
    }
    let fired = 0;
    let failedAppends = 0;
    for (const r of runs) {
      const { ops, o } = await runOnce(r);
      if (ops.fired > 0) fired++;
      failedAppends += o.failed.size;
    }
    // Batching may shift a call or two between runs; nearly every fault must land.
    assert.ok(fired >= runs.length * 0.9, `${fired} of ${runs.length} faults fired`);
    assert.ok(failedAppends > 0, 'some appends were refused');
    t.diagnostic(
      `${runs.length} runs over ${write} writes and ${sync} fsyncs: ${fired} faults fired, ` +
        `${failedAppends} appends refused, none acknowledged lost`,
    );
  });

  test('while refusing writes: reads work, writes are refused at once and change nothing', async () => {
    const ops = new FaultOps();
    const states: (string | null)[] = [];
    const s = await openFileStore(newDir(), {
      sync: { kind: 'always' },
      fileOps: ops,
      writeRetry: { minMs: 5, maxMs: 20 },
      onWriteState: (e) => states.push(e === null ? null : e.errno),
    });
    await s.append('a', null, Buffer.from('one'));
    ops.inject('write', 1, 'ENOSPC', Infinity);
    await assert.rejects(s.append('a', null, Buffer.from('two')), unwritable);
    assert.deepEqual(states, ['ENOSPC']);
    assert.equal(s.writeError?.errno, 'ENOSPC');
    const st = s.state();
    assert.equal(st.messages, 1);
    assert.equal((await s.get(1))?.payload.toString(), 'one');
    assert.equal(await s.get(2), null, 'the failed append is not readable');
    assert.equal((await s.next(0))?.seq, 1);
    assert.equal((await s.lastBySubject('a'))?.seq, 1);
    for (const op of [
      () => s.append('a', null, Buffer.from('three')),
      () => s.remove(1),
      () => s.purge(),
      () => s.skip(100),
    ]) {
      await assert.rejects(op(), unwritable);
    }
    assert.deepEqual(s.state(), st, 'refused writes changed nothing');
    // Retries back off while the disk stays full...
    await checkFor(() => (s as { stats: { writeRetries: number } }).stats.writeRetries >= 3);
    assert.equal(s.writeError?.errno, 'ENOSPC');
    // ...and the store writes again by itself once it has room.
    ops.heal();
    await checkFor(() => s.writeError === null);
    assert.deepEqual(states, ['ENOSPC', null]);
    const m = await s.append('a', null, Buffer.from('four'));
    assert.ok(m.seq > 2, `seq ${m.seq} is past the failed one`);
    await s.close();
  });

  test('interval policy: a failed fsync keeps what was acknowledged and fsyncs it on retry', async () => {
    const ops = new FaultOps();
    const dir = newDir();
    const s = await openFileStore(dir, {
      sync: { kind: 'interval', intervalMs: 5 },
      fileOps: ops,
      writeRetry: RETRY,
    });
    const syncsBefore = ops.calls.sync;
    // Acknowledged once written; the timer's fsync then fails.
    ops.inject('sync', 1, 'EIO');
    const acked = await Promise.all(
      ['one', 'two', 'three'].map((p) => s.append('i', null, Buffer.from(p))),
    );
    await checkFor(() => ops.fired === 1 && s.writeError === null);
    assert.ok(ops.calls.sync >= syncsBefore + 2, 'the failed fsync was followed by another');
    await s.append('i', null, Buffer.from('four'));
    await s.close();
    const re = await openFileStore(dir, { sync: { kind: 'always' } });
    for (const m of acked) {
      assert.equal((await re.get(m.seq))?.payload.toString(), m.payload.toString());
    }
    assert.equal(re.state().messages, 4);
    await re.close();
  });

  test('a failed cut-back is retried before anything else is written', async () => {
    const ops = new FaultOps();
    const dir = newDir();
    const s = await openFileStore(dir, {
      sync: { kind: 'always' },
      fileOps: ops,
      writeRetry: RETRY,
    });
    await s.append('a', null, Buffer.from('kept'));
    // The batch is written, its fsync fails, and so does the first cut-back.
    ops.inject('sync', 1, 'EIO');
    ops.inject('truncate', 1, 'EIO');
    const failing = s.append('a', null, Buffer.from('lost'));
    await assert.rejects(failing, unwritable);
    await checkFor(() => s.writeError === null);
    assert.ok(
      ops.calls.truncate >= 2,
      `${ops.calls.truncate} truncates: the failed one was retried`,
    );
    const ok = await s.append('a', null, Buffer.from('after'));
    await s.close();
    const re = await openFileStore(dir, { sync: { kind: 'always' } });
    const held: string[] = [];
    for (let m = await re.next(0); m !== null; m = await re.next(m.seq + 1)) {
      held.push(m.payload.toString());
    }
    assert.deepEqual(held, ['kept', 'after']);
    assert.equal((await re.get(ok.seq))?.payload.toString(), 'after');
    await re.close();
  });

  test('a failed segment delete is retried; removed messages stay removed', async () => {
    const ops = new FaultOps();
    const dir = newDir();
    const opts = { sync: { kind: 'always' as const }, segmentBytes: 256 };
    const s = await openFileStore(dir, { ...opts, fileOps: ops, writeRetry: RETRY });
    for (let i = 0; i < 12; i++) await s.append(`a.${i}`, null, Buffer.from(`m${i}`));
    ops.inject('unlink', 1, 'EIO');
    await s.purge({ upToSeq: 10 });
    await checkFor(() => ops.fired === 1 && s.writeError === null && ops.calls.unlink >= 2);
    await checkFor(() => (s as { stats: { segmentsDeleted: number } }).stats.segmentsDeleted > 0);
    await s.close();
    const re = await openFileStore(dir, opts);
    assert.deepEqual(
      [(await re.next(0))?.seq, re.state().messages, re.state().lastSeq],
      [10, 3, 12],
    );
    await re.close();
  });

  test('a store that cannot write at open opens readable and writes once it can', async () => {
    const dir = newDir();
    const first = await openFileStore(dir, { sync: { kind: 'always' }, segmentBytes: 256 });
    for (let i = 0; i < 10; i++) await first.append('a', null, Buffer.from(`m${i}`));
    await first.close();
    const ops = new FaultOps();
    // The first write of this open is the META a new empty segment needs,
    // if there is one; a full disk fails every write from here on.
    ops.inject('write', 1, 'ENOSPC', Infinity);
    const s = await openFileStore(dir, {
      sync: { kind: 'always' },
      segmentBytes: 256,
      fileOps: ops,
      writeRetry: RETRY,
    });
    assert.equal(s.state().messages, 10);
    assert.equal((await s.get(10))?.payload.toString(), 'm9');
    ops.heal();
    await s.append('a', null, Buffer.from('m10'));
    await s.close();
  });

  test('the stream answers 10023, keeps the last msg id, and stores again after', async () => {
    const ops = new FaultOps();
    const store = await openFileStore(newDir(), {
      sync: { kind: 'always' },
      fileOps: ops,
      writeRetry: { minMs: 5, maxMs: 20 },
    });
    const cfg = normalizeConfig({ name: 'S', subjects: ['s.>'], storage: 'file' }, 'S');
    const stream = new Stream(cfg, store, new Date());
    await stream.open();
    const hdr = (id: string) => Buffer.from(`NATS/1.0\r\nNats-Msg-Id: ${id}\r\n\r\n`);
    assert.equal((await stream.store('s.1', hdr('one'), Buffer.from('1'))).seq, 1);
    ops.inject('write', 1, 'ENOSPC', Infinity);
    const refused = (err: unknown) =>
      err instanceof StreamApiError &&
      err.errCode === 10023 &&
      err.code === 503 &&
      err.message === 'insufficient resources';
    await assert.rejects(stream.store('s.1', hdr('two'), Buffer.from('2')), refused);
    await assert.rejects(stream.store('s.1', null, Buffer.from('3')), refused);
    // A duplicate of a stored message is still answered as one.
    assert.deepEqual(await stream.store('s.1', hdr('one'), Buffer.from('1')), {
      seq: 1,
      duplicate: true,
    });
    ops.heal();
    await checkFor(() => store.writeError === null);
    // The last stored id is still 'one': the failed 'two' never counted.
    const expectOne = Buffer.from('NATS/1.0\r\nNats-Expected-Last-Msg-Id: one\r\n\r\n');
    const r = await stream.store('s.1', expectOne, Buffer.from('4'));
    assert.ok(r.seq > 2);
    // 'two' was never stored: publishing it again stores it.
    assert.notEqual((await stream.store('s.1', hdr('two'), Buffer.from('2'))).duplicate, true);
    await stream.close();
  });
});
