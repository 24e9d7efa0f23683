/**
 * A durable consumer's state file follows the stream's sync policy
 * (consumer-state.ts): under `always` every write is fsynced; under an
 * interval, writes in between are not, one per interval is (a write, or the
 * timer's for the last change), and an ack-ack (`persisted`) and `close`
 * are always durable. Each write leaves the whole, current state readable.
 * Counted with the state file's own `stats`.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { AckPolicy, connect } from 'nats';
import { startServer } from '../../src/index.js';
import { parseCheckedJson } from '../../src/jetstream/checked-json.js';
import {
  type ConsumerState,
  ConsumerStateFile,
  type StateOwner,
  stateFile,
} from '../../src/jetstream/consumer-state.js';
import type { SyncPolicy } from '../../src/streams/store.js';
import { checkFor } from '../helpers/poll.js';

let dir = '';
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'weft-cstate-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A consumer whose cursor the test moves. */
function owner(): StateOwner & { cursor: number } {
  return {
    name: 'C',
    durable: true,
    cursor: 1,
    snapshot(): ConsumerState {
      return {
        config: { durable_name: 'C', ack_policy: 'explicit' } as ConsumerState['config'],
        created: new Date(0).toISOString(),
        cursor: this.cursor,
        dseq: this.cursor - 1,
        ackFloor: { consumer_seq: 0, stream_seq: 0 },
        pending: [],
        startSeqs: [],
      };
    },
  };
}

const log = { error: (msg: string) => assert.fail(msg) };

async function onDisk(): Promise<number> {
  const text = await readFile(stateFile(dir, 'C'), 'utf8');
  return parseCheckedJson(text).cursor as number;
}

/** Saves `n` changes, each written (one write at a time) before the next. */
async function changes(f: ConsumerStateFile, o: { cursor: number }, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const before = f.stats.writes;
    o.cursor++;
    f.save();
    await checkFor(() => f.stats.writes > before);
    assert.equal(await onDisk(), o.cursor);
  }
}

describe('consumer state file: sync policy', () => {
  test('always (the default): every write is fsynced', async () => {
    const o = owner();
    const f = new ConsumerStateFile(dir, o, log);
    await changes(f, o, 4);
    assert.equal(f.stats.writes, 4);
    assert.equal(f.stats.durableWrites, 4);
    await f.close(false);
    assert.equal(f.stats.durableWrites, 5);
  });

  test('an interval: one durable write, then none until it passes; ack-ack and close are durable', async () => {
    const o = owner();
    const sync: SyncPolicy = { kind: 'interval', intervalMs: 600_000 };
    const f = new ConsumerStateFile(dir, o, log, sync);
    await changes(f, o, 4);
    assert.equal(f.stats.writes, 4);
    assert.equal(f.stats.durableWrites, 1, 'the first write only');
    o.cursor++;
    assert.equal(await f.persisted(), true);
    assert.equal(f.stats.durableWrites, 2, 'an ack-ack waits for an fsync');
    assert.equal(await onDisk(), o.cursor);
    o.cursor++;
    await f.close(false);
    assert.equal(f.stats.durableWrites, 3, 'close writes durably');
    assert.equal(await onDisk(), o.cursor);
  });

  test('an interval: the last change is fsynced when the interval ends, without another save', async () => {
    const o = owner();
    const f = new ConsumerStateFile(dir, o, log, { kind: 'interval', intervalMs: 300 });
    await changes(f, o, 1);
    assert.equal(f.stats.durableWrites, 1, 'the first write is durable');
    // Changes until one is written without an fsync (the next right after a
    // durable one is, unless the machine stalled a whole interval between).
    let durable: number;
    do {
      durable = f.stats.durableWrites;
      await changes(f, o, 1);
    } while (f.stats.durableWrites > durable);
    assert.ok(f.stats.writes > durable, 'the last write was not fsynced');
    await checkFor(() => f.stats.durableWrites > durable, 5000);
    assert.equal(await onDisk(), o.cursor);
    await f.close(false);
  });
});

describe('consumer state file: the node setting reaches it', () => {
  async function stateWrites(syncIntervalMs: number) {
    const s = await startServer({
      host: '127.0.0.1',
      port: 0,
      httpPort: -1,
      meshPort: -1,
      dataDir: dir,
      logLevel: 'silent',
      syncIntervalMs,
    });
    try {
      const nc = await connect({ port: s.port });
      const jsm = await nc.jetstreamManager();
      await jsm.streams.add({ name: 'S', subjects: ['s.>'] });
      await jsm.consumers.add('S', { durable_name: 'C', ack_policy: AckPolicy.Explicit });
      const js = nc.jetstream();
      const c = s.node.jetstream!.account('$G')!.streams.get('S')!.consumers.get('C');
      // Acks spread over several state writes (one per 100 ms at most).
      for (let i = 0; i < 4; i++) {
        const before = c.stateWrites.writes;
        await js.publish('s.x', new Uint8Array(1));
        const m = await js.pull('S', 'C');
        m.ack();
        await checkFor(() => c.stateWrites.writes > before);
      }
      const counts = { ...c.stateWrites };
      await nc.close();
      return counts;
    } finally {
      await s.close();
    }
  }

  test('always: every write fsynced; an interval: not each', async () => {
    const always = await stateWrites(0);
    assert.equal(always.durableWrites, always.writes);
    await rm(dir, { recursive: true, force: true });
    const interval = await stateWrites(600_000);
    assert.ok(interval.writes >= 4);
    assert.ok(interval.durableWrites < interval.writes, JSON.stringify(interval));
  });
});
