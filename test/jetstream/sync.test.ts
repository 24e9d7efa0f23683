/**
 * The `sync_interval` setting reaches the file streams: by default every
 * publish ack waits for an fsync (one per ack when publishes come one at a
 * time); with an interval, acks come once written and fsyncs happen on the
 * timer. Counted with the file store's own fsync counter.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { connect, StringCodec } from 'nats';
import { startServer } from '../../src/index.js';
import type { FileStore } from '../../src/streams/file-store.js';

const sc = StringCodec();
const ACKS = 50;

async function fsyncsFor(syncIntervalMs: number): Promise<number> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'weft-sync-'));
  const s = await startServer({
    host: '127.0.0.1',
    port: 0,
    httpPort: -1,
    meshPort: -1,
    dataDir,
    logLevel: 'silent',
    syncIntervalMs,
  });
  try {
    const nc = await connect({ port: s.port });
    const jsm = await nc.jetstreamManager();
    await jsm.streams.add({ name: 'S', subjects: ['s.>'] });
    const store = s.node.jetstream!.account('$G')!.streams.get('S')!.stream.messages as FileStore;
    const before = store.stats.fsyncs;
    const js = nc.jetstream();
    for (let i = 0; i < ACKS; i++) await js.publish('s.x', sc.encode(String(i)));
    const n = store.stats.fsyncs - before;
    await nc.close();
    return n;
  } finally {
    await s.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

describe('sync_interval', () => {
  test('always (the default): an fsync behind every ack', async () => {
    assert.ok((await fsyncsFor(0)) >= ACKS);
  });

  test('an interval: acks do not wait for fsyncs', async () => {
    // 50 sequential round trips take well under the 10 s interval.
    assert.ok((await fsyncsFor(10_000)) < ACKS / 5);
  });
});
