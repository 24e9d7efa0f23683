/**
 * The durable MQTT store under SIGKILL: a child (store-crash-child.ts)
 * writes to the store from concurrent writers and reports every write the
 * store acknowledged; it is killed mid-stream, twice, and after each kill
 * the store reopened from the same data holds every acknowledged write:
 * the session, each queued message with its content and in-flight mark,
 * each QoS 2 packet id, and for each retained topic the acknowledged
 * message or a later one.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { within } from '../helpers/poll.js';
import { openStreamStore, startJetStream } from './store-open.js';

const CHILD = fileURLToPath(new URL('./store-crash-child.js', import.meta.url));

interface Acked {
  queued: Map<number, number>;
  marks: Map<number, number>;
  /** Per retained topic, the issue rank of its last acknowledged write. */
  retained: Map<string, number>;
  /** Write number → the order its setRetained was issued in, over both runs. */
  issued: Map<number, number>;
  incoming: Set<number>;
  /** The first write number of the next run (numbers never repeat across runs). */
  next: number;
}

/** Runs the child until it reports `killAfter` more acknowledged writes, then SIGKILLs it. */
async function runAndKill(dir: string, killAfter: number, acked: Acked): Promise<void> {
  const child = spawn(process.execPath, [CHILD], {
    env: { ...process.env, WEFT_MQTT_CRASH_DIR: dir, WEFT_MQTT_CRASH_FIRST: String(acked.next) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<string | null>((resolve) =>
    child.on('exit', (_c, sig) => resolve(sig)),
  );
  let seen = 0;
  let rest = '';
  await within(
    new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        const lines = (rest + d.toString()).split('\n');
        rest = lines.pop()!;
        for (const line of lines) {
          const [kind, a, b] = line.split(' ');
          if (kind === 'R') {
            acked.issued.set(Number(b), acked.issued.size);
            acked.next = Math.max(acked.next, Number(b) + 1);
            continue;
          }
          if (kind === 'q') {
            acked.queued.set(Number(a), Number(b));
            acked.next = Math.max(acked.next, Number(b) + 1);
          } else if (kind === 'm') acked.marks.set(Number(a), Number(b));
          else if (kind === 'r')
            acked.retained.set(
              a!,
              Math.max(acked.retained.get(a!) ?? -1, acked.issued.get(Number(b)) ?? -1),
            );
          else if (kind === 'i') acked.incoming.add(Number(a));
          else if (kind === 'done') reject(new Error('the child finished before it was killed'));
          else continue;
          // Killed right after an acknowledged write, with others in flight.
          if (++seen === killAfter) {
            child.kill('SIGKILL');
            resolve();
          }
        }
      });
      exited.then(() => reject(new Error(`child exited before the kill: ${stderr}`)));
    }),
    30_000,
    `${killAfter} acknowledged writes`,
  );
  assert.equal(await exited, 'SIGKILL');
}

async function check(dir: string, acked: Acked, where: string): Promise<void> {
  const js = await startJetStream(dir);
  try {
    const store = await openStreamStore(js);
    assert.equal((await store.loadSession('c'))?.clientId, 'c', `${where}: session`);
    const queued = new Map((await store.queued('c')).map((q) => [q.id, q]));
    for (const [id, n] of acked.queued) {
      const q = queued.get(id);
      assert.ok(q !== undefined, `${where}: acknowledged queue entry ${id} (m${n}) missing`);
      assert.equal(q.message.payload.toString(), `m${n}`, `${where}: entry ${id}`);
    }
    for (const [id, pid] of acked.marks) {
      assert.equal(queued.get(id)?.packetId, pid, `${where}: mark of entry ${id}`);
    }
    // The acknowledged write, or one issued after it (writers run concurrently,
    // so a lower-numbered write may be issued, and win, later).
    for (const [topic, rank] of acked.retained) {
      const got = await store.retained(topic);
      assert.equal(got.length, 1, `${where}: retained ${topic}`);
      const held = Number(got[0]!.payload.toString().slice(1));
      const heldRank = acked.issued.get(held) ?? -1;
      assert.ok(
        heldRank >= rank,
        `${where}: retained ${topic} holds m${held} (issued ${heldRank}), a write issued ${rank} was acknowledged`,
      );
    }
    const incoming = new Set(await store.incoming('c'));
    for (const pid of acked.incoming) assert.ok(incoming.has(pid), `${where}: packet id ${pid}`);
    assert.equal(store.skippedRecords, 0, `${where}: records that did not decode`);
    await store.close();
  } finally {
    await js.stop();
  }
}

test('durable MQTT store: every acknowledged write survives SIGKILL', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'weft-mqtt-crash-'));
  try {
    const acked: Acked = {
      queued: new Map(),
      marks: new Map(),
      retained: new Map(),
      issued: new Map(),
      incoming: new Set(),
      next: 0,
    };
    await runAndKill(dir, 40, acked);
    await check(dir, acked, 'after the first kill');
    await runAndKill(dir, 90, acked);
    await check(dir, acked, 'after the second kill');
    assert.ok(acked.queued.size >= 20 && acked.incoming.size >= 10);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
