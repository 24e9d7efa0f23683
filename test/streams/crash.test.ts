/**
 * Crash safety of the file store under SIGKILL: a child process
 * (crash-child.ts) appends from several writers with sync 'always' and
 * reports every acknowledged append; we kill it at a random moment, check
 * what survived, start it again (it recovers, lists what it holds, and goes
 * on appending), and repeat.
 *
 * After every restart and at the end: every acknowledged sequence is held
 * with the content it was acknowledged with, sequences run 1, 2, 3… without
 * a hole (nothing is ever removed, and a killed process loses nothing it
 * wrote, so only a torn tail may go, and only unacknowledged), no message
 * is torn, state agrees, and new appends follow lastSeq. Every other cycle
 * this test also opens the store itself before the restart, so both the
 * child and this process run recovery on a freshly killed store.
 *
 * WEFT_CRASH_CYCLES (default 5) and WEFT_CRASH_SEED make runs longer or
 * repeatable; the seed is printed.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { StoreState } from '../../src/streams/store.js';
import { within } from '../helpers/poll.js';
import { checkMessage, makeMessage, prng } from './crash-messages.js';
import { loadFileStore } from './load-stores.js';

const CHILD = fileURLToPath(new URL('./crash-child.js', import.meta.url));
const CYCLES = Number(process.env['WEFT_CRASH_CYCLES'] ?? '5');
const SEED = Number(process.env['WEFT_CRASH_SEED'] ?? String(Math.floor(Math.random() * 2 ** 31)));
/** Small segments from some seeds, so that kills also land on segment rolls. */
const SEGMENT_BYTES = SEED % 2 === 0 ? 256 * 1024 : 32 * 1024;
const WRITERS = 8;

const openFileStore = await loadFileStore();

interface Held {
  seq: number;
  sum: string;
  intact: boolean;
}

type Counts = Pick<StoreState, 'messages' | 'firstSeq' | 'lastSeq'>;

/** seq → digest of every append any child reported as acknowledged. */
const acked = new Map<number, string>();

/** Checks what one recovery found against what was acknowledged before it started. */
function checkHeld(where: string, held: Held[], state: Counts, acked: Map<number, string>): void {
  const torn = held.filter((h) => !h.intact).map((h) => h.seq);
  assert.deepEqual(torn, [], `${where}: messages whose content does not match their digest`);
  for (let i = 0; i < held.length; i++) {
    if (held[i]!.seq !== i + 1) {
      assert.fail(
        `${where}: held sequences are not 1..${held.length}: position ${i} holds ${held[i]!.seq}` +
          ` (previous ${i === 0 ? 'none' : held[i - 1]!.seq})`,
      );
    }
  }
  const bySeq = new Map(held.map((h) => [h.seq, h.sum]));
  const missing: number[] = [];
  const changed: string[] = [];
  for (const [seq, sum] of acked) {
    const got = bySeq.get(seq);
    if (got === undefined) missing.push(seq);
    else if (got !== sum) changed.push(`${seq}: acked ${sum}, held ${got}`);
  }
  assert.deepEqual(
    missing.slice(0, 20),
    [],
    `${where}: ${missing.length} acknowledged messages missing (first 20 shown); held 1..${held.length}`,
  );
  assert.deepEqual(changed.slice(0, 20), [], `${where}: acknowledged messages with other content`);
  const last = held.length === 0 ? 0 : held[held.length - 1]!.seq;
  assert.deepEqual(
    state,
    { messages: held.length, firstSeq: held.length === 0 ? last + 1 : held[0]!.seq, lastSeq: last },
    `${where}: state disagrees with the messages walked`,
  );
}

interface Recovered {
  held: Held[];
  state: Counts;
  acked: Map<number, string>;
}

/** Children still running, killed if the test fails half-way. */
const running = new Set<Child>();

interface Child {
  proc: ChildProcess;
  /**
   * Resolves with what the child found on recovery, and the acknowledgements
   * it had to find (those reported before; its own follow at once, maybe in
   * the same chunk of output).
   */
  ready: Promise<Recovered>;
  /** Sequences acknowledged by this child, in the order reported. */
  acks: number[];
  closed: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr: () => string;
}

function startChild(dir: string, seed: number): Child {
  const proc = spawn(process.execPath, [CHILD], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      WEFT_CRASH_DIR: dir,
      WEFT_CRASH_SEED: String(seed),
      WEFT_CRASH_WRITERS: String(WRITERS),
      WEFT_CRASH_SEGMENT_BYTES: String(SEGMENT_BYTES),
    },
  });
  let err = '';
  proc.stderr!.on('data', (b: Buffer) => {
    err += b.toString();
  });
  const acks: number[] = [];
  const held: Held[] = [];
  let state: Counts | undefined;
  let partial = '';
  let onReady!: (r: Recovered) => void;
  let onFail!: (e: Error) => void;
  const ready = new Promise<Recovered>((res, rej) => {
    onReady = res;
    onFail = rej;
  });
  const line = (l: string): void => {
    const [kind, a, b, c] = l.split(' ');
    if (kind === 'a') {
      acks.push(Number(a));
      acked.set(Number(a), b!);
    } else if (kind === 'h') {
      held.push({ seq: Number(a), sum: b!, intact: c === 'intact' });
    } else if (kind === 'state') {
      state = { messages: Number(a), firstSeq: Number(b), lastSeq: Number(c) };
    } else if (kind === 'ready') {
      onReady({ held, state: state!, acked: new Map(acked) });
    } else {
      onFail(new Error(`crash-child printed an unknown line: ${l}`));
    }
  };
  proc.stdout!.on('data', (chunk: Buffer) => {
    const lines = (partial + chunk.toString()).split('\n');
    partial = lines.pop()!;
    for (const l of lines) line(l);
  });
  const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => {
    proc.on('close', (code, signal) => {
      onFail(new Error(`crash-child ended before ready (code ${code}, ${signal}): ${err}`));
      res({ code, signal });
    });
  });
  const child = { proc, ready, acks, closed, stderr: () => err };
  running.add(child);
  void closed.then(() => running.delete(child));
  return child;
}

/** Kills the child and checks it died of that, not of an error of its own. */
async function kill(c: Child, where: string): Promise<void> {
  c.proc.kill('SIGKILL');
  const { code, signal } = await within(c.closed, 10_000, `${where}: the child to die`);
  assert.equal(
    signal,
    'SIGKILL',
    `${where}: the child exited by itself (code ${code}): ${c.stderr()}`,
  );
  for (let i = 1; i < c.acks.length; i++) {
    if (c.acks[i]! <= c.acks[i - 1]!) {
      assert.fail(`${where}: appends resolved out of order: ${c.acks[i - 1]} then ${c.acks[i]}`);
    }
  }
}

test('file store: acknowledged appends survive SIGKILL', {
  skip: typeof openFileStore === 'string' ? openFileStore : false,
  timeout: 30_000 + CYCLES * 5_000,
}, async (t) => {
  if (typeof openFileStore === 'string') return;
  t.diagnostic(
    `seed ${SEED} (WEFT_CRASH_SEED=${SEED} repeats it), ${CYCLES} cycles, ${SEGMENT_BYTES}-byte segments`,
  );
  const rand = prng(SEED);
  const dir = await mkdtemp(join(tmpdir(), 'weft-crash-'));
  const opts = { sync: { kind: 'always' as const }, segmentBytes: SEGMENT_BYTES };

  /** Opens the store here, walks it, and checks it. */
  const verifyHere = async (where: string) => {
    const s = await openFileStore(dir, opts);
    const held: Held[] = [];
    for (let m = await s.next(0); m !== null; m = await s.next(m.seq + 1)) {
      held.push({ seq: m.seq, ...checkMessage(m) });
    }
    const { messages, firstSeq, lastSeq } = s.state();
    await s.close();
    checkHeld(where, held, { messages, firstSeq, lastSeq }, acked);
    return held.length;
  };

  let earlyKills = 0;
  try {
    for (let cycle = 1; cycle <= CYCLES; cycle++) {
      const where = `seed ${SEED}, cycle ${cycle}`;
      if (cycle > 1 && cycle % 2 === 1) await verifyHere(`${where}, opened by the test`);
      if (cycle > 1 && rand() < 0.3) {
        // Now and then kill it again while it recovers or just after.
        earlyKills++;
        const early = startChild(dir, SEED + cycle * 1000 + 1);
        early.ready.catch(() => {});
        await new Promise((r) => setTimeout(r, Math.floor(rand() * 150)));
        await kill(early, `${where}, early kill`);
      }
      const child = startChild(dir, SEED + cycle * 1000);
      const found = await within(child.ready, 20_000, `${where}: the child to recover`);
      checkHeld(`${where}, recovered by the child`, found.held, found.state, found.acked);
      const lastBefore = found.state.lastSeq;
      await new Promise((r) => setTimeout(r, 200 + Math.floor(rand() * 800)));
      await kill(child, where);
      assert.ok(child.acks.length > 0, `${where}: no append was acknowledged before the kill`);
      assert.equal(child.acks[0], lastBefore + 1, `${where}: the first append after recovery`);
      t.diagnostic(`${where}: held ${found.held.length} on start, ${child.acks.length} acked`);
    }

    const held = await verifyHere(`seed ${SEED}, at the end`);
    // The store still works: one more append follows lastSeq and survives a reopen.
    const s = await openFileStore(dir, opts);
    const msg = makeMessage(rand, 99);
    const m = await s.append(msg.subject, msg.headers, msg.payload);
    assert.equal(m.seq, held + 1);
    await s.close();
    const s2 = await openFileStore(dir, opts);
    const back = await s2.get(m.seq);
    assert.deepEqual(back === null ? null : checkMessage(back), { sum: msg.sum, intact: true });
    assert.equal(s2.state().lastSeq, m.seq);
    await s2.close();
    t.diagnostic(
      `seed ${SEED}: ${acked.size} acked, ${held} held at the end, ${earlyKills} early kills`,
    );
  } finally {
    for (const c of running) {
      c.proc.kill('SIGKILL');
      await c.closed;
    }
    await rm(dir, { recursive: true, force: true });
  }
});
