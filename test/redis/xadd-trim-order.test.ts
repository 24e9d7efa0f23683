/**
 * A trimming XADD (MAXLEN / MINID) trims once its entry is durable; MAXLEN
 * counts from its own entry back (`trimStream`'s `upTo`), so entries stored
 * after it (pipelined behind it, or another client's) are kept. Before,
 * the trim counted them, and `XADD x3; XADD MAXLEN 2; XADD` pipelined left
 * 2 entries where Redis keeps 3 (checked against redis-server 7 by hand):
 * an acknowledged entry removed. A command pipelined right behind the trim
 * may still see the untrimmed stream (docs/redis.md, "Weak spots").
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { TrimArgs } from '../../src/protocols/redis/commands/stream-args.js';
import { trimStream } from '../../src/protocols/redis/commands/streams.js';
import type { StreamView } from '../../src/protocols/redis/stream-views.js';
import { RawRedis, type RedisNode, resp, startRedisNode } from './helpers.js';

describe('XADD with trimming, pipelined', () => {
  let dir: string;
  let node: RedisNode;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'weft-redis-xadd-trim-'));
    node = await startRedisNode({ jetstream: true, dataDir: dir });
  });
  after(async () => {
    await node?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('what is pipelined after a trimming XADD is kept', async () => {
    const c = await RawRedis.connect(node.port);
    try {
      const cmds = [
        resp('XADD', 'tq', '*', 'a', '1'),
        resp('XADD', 'tq', '*', 'a', '2'),
        resp('XADD', 'tq', '*', 'a', '3'),
        resp('XADD', 'tq', 'MAXLEN', '2', '*', 'a', '4'),
        resp('XLEN', 'tq'),
        resp('XADD', 'tq', 'MINID', '0', '*', 'a', '5'),
        resp('XLEN', 'tq'),
      ];
      c.write(Buffer.concat(cmds));
      await c.read(cmds.length);
      // Every reply is in: each trim has run (a reply waits for its trim).
      c.write(resp('XLEN', 'tq'));
      assert.equal(await c.read(1), ':3\r\n');
      c.write(resp('XRANGE', 'tq', '-', '+'));
      const range = await c.read(1);
      const values = [...range.matchAll(/\$1\r\n(\d)\r\n/g)].map((m) => m[1]);
      assert.deepEqual(values, ['3', '4', '5']);
    } finally {
      c.sock.destroy();
    }
  });
});

describe('trimStream', () => {
  /** A view of a stream holding sequences first..last (none deleted); records what is purged. */
  function view(first: number, last: number) {
    const purged: unknown[] = [];
    const v = {
      state: () => ({ messages: last - first + 1, firstSeq: first, lastSeq: last }),
      purge: async (o: { keep?: number; seq?: number }) => {
        purged.push(o);
        if (o.keep !== undefined) return Math.max(0, last - first + 1 - o.keep);
        return 0;
      },
    } as unknown as StreamView;
    return { v, purged };
  }
  const maxlen = (n: number): TrimArgs => ({
    strategy: 'maxlen',
    approx: false,
    maxlen: n,
    minid: { ms: 0n, seq: 0n },
    limit: 0,
  });

  test('MAXLEN from the XADD entry back keeps the entries stored after it', async () => {
    // The XADD stored seq 4; seqs 5 and 6 arrived before its trim ran.
    const { v, purged } = view(1, 6);
    assert.equal(await trimStream(v, maxlen(2), 4), 2);
    assert.deepEqual(purged, [{ keep: 4 }]);
  });

  test('without an entry (XTRIM) MAXLEN counts from the stream top', async () => {
    const { v, purged } = view(1, 6);
    assert.equal(await trimStream(v, maxlen(2)), 4);
    assert.deepEqual(purged, [{ keep: 2 }]);
  });

  test('nothing to trim below the entry: nothing purged', async () => {
    const { v, purged } = view(3, 6);
    assert.equal(await trimStream(v, maxlen(2), 4), 0);
    assert.deepEqual(purged, []);
  });
});
