/**
 * Consumer groups survive a crash: a node (a child process) is killed with
 * SIGKILL right after its last reply, and started again on the same data.
 * Every change a client got an answer for is there — the PEL with owners
 * and delivery counts, the consumers, the last delivered ID — and `>`
 * goes on after it, though the group's JetStream consumer may not have
 * saved its own state before the kill (it is reconciled with the records).
 *
 * The group's records are written to the OS before a command is answered
 * and fsynced on a timer (src/jetstream/sync-overrides.ts), XADDs fsynced
 * before their answer: the second test kills a node in the middle of
 * XADDs and four consumers reading and acking, and checks that no entry an
 * XADD was answered for is lost, nor lost to the group.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { killWeftProcess, startNode, tempDir } from '../helpers/weft-process.js';
import { freePort } from './groups-helpers.js';

type ReadReply = [string, [string, string[]][]][] | null;

describe('consumer groups after a crash', () => {
  test('what was answered survives SIGKILL; > goes on after it', async () => {
    const dataDir = tempDir('weft-redis-crash-');
    const port = await freePort();
    const args = ['--redis-port', String(port)];
    let node = await startNode(args, { dataDir });
    let r = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 0 });
    for (let i = 1; i <= 8; i++) await r.xadd('q', `${i}-0`, 'n', String(i));
    await r.xgroup('CREATE', 'q', 'g', '0');
    await r.xreadgroup('GROUP', 'g', 'a', 'COUNT', 3, 'STREAMS', 'q', '>');
    await r.xreadgroup('GROUP', 'g', 'b', 'COUNT', 2, 'STREAMS', 'q', '>');
    await r.xreadgroup('GROUP', 'g', 'a', 'STREAMS', 'q', '0');
    await r.xack('q', 'g', '2-0');
    await r.xclaim('q', 'g', 'c', 0, '4-0', 'RETRYCOUNT', 7);
    await r.xgroup('CREATECONSUMER', 'q', 'g', 'd');
    const want = await r.xpending('q', 'g', '-', '+', 10);
    r.disconnect();
    await killWeftProcess(node, 'after the last reply');

    node = await startNode(args, { dataDir });
    try {
      r = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 0 });
      const got = (await r.xpending('q', 'g', '-', '+', 10)) as unknown[][];
      const strip = (p: unknown) => (p as unknown[][]).map((e) => [e[0], e[1], e[3]]);
      assert.deepEqual(strip(got), strip(want));
      assert.deepEqual(strip(got), [
        ['1-0', 'a', 2],
        ['3-0', 'a', 2],
        ['4-0', 'c', 7],
        ['5-0', 'b', 1],
      ]);
      const consumers = (await r.xinfo('CONSUMERS', 'q', 'g')) as unknown[][];
      assert.deepEqual(
        consumers.map((c) => c[1]),
        ['a', 'b', 'c', 'd'],
      );
      const groups = (await r.xinfo('GROUPS', 'q')) as unknown[][];
      assert.equal(groups[0]![7], '5-0');
      // Nothing delivered before the kill comes again with `>`.
      const next = (await r.xreadgroup('GROUP', 'g', 'e', 'STREAMS', 'q', '>')) as ReadReply;
      assert.deepEqual(
        next![0]![1].map((e) => e[0]),
        ['6-0', '7-0', '8-0'],
      );
      assert.equal(await r.xreadgroup('GROUP', 'g', 'e', 'STREAMS', 'q', '>'), null);
      r.disconnect();
    } finally {
      await killWeftProcess(node, 'the end');
    }
  });

  test('kill -9 during XADD, XREADGROUP and XACK: no answered entry lost, none falls out of the group', async () => {
    const dataDir = tempDir('weft-redis-crash-');
    const port = await freePort();
    const args = ['--redis-port', String(port)];
    let node = await startNode(args, { dataDir });
    const opts = { port, host: '127.0.0.1', maxRetriesPerRequest: 0, retryStrategy: () => null };
    const setup = new Redis(opts);
    await setup.xgroup('CREATE', 'w', 'g', '0', 'MKSTREAM');
    const added = new Set<string>();
    const acked = new Set<string>();
    /** XACKs sent, answered or not (the kill may come between the ack and its answer). */
    const ackSent = new Set<string>();
    let stop = false;
    const producer = (async () => {
      const c = new Redis(opts);
      c.on('error', () => {});
      try {
        for (let i = 0; !stop; i++) {
          const p = c.pipeline();
          for (let j = 0; j < 20; j++) p.xadd('w', '*', 'n', String(i * 20 + j));
          const res = (await p.exec()) ?? [];
          for (const [err, id] of res) if (err === null) added.add(id as string);
          // Refused at once once the node is gone: stop, or this loop starves the test.
          if (res.length === 0 || res.some(([err]) => err !== null)) break;
        }
      } catch {
        // The node was killed.
      } finally {
        c.disconnect();
      }
    })();
    const readers = Array.from({ length: 4 }, async (_, i) => {
      const c = new Redis(opts);
      c.on('error', () => {});
      try {
        while (!stop) {
          const got = (await c.xreadgroup(
            'GROUP',
            'g',
            `c${i}`,
            'COUNT',
            10,
            'BLOCK',
            100,
            'STREAMS',
            'w',
            '>',
          )) as ReadReply;
          const ids = got?.[0]?.[1].map((e) => e[0]) ?? [];
          if (ids.length === 0) continue;
          for (const id of ids) ackSent.add(id);
          const n = await c.xack('w', 'g', ...ids);
          assert.equal(n, ids.length);
          for (const id of ids) acked.add(id);
        }
      } catch {
        // The node was killed.
      } finally {
        c.disconnect();
      }
    });
    // Kill once entries were both added and acked, in the middle of it all.
    const until = Date.now() + 20_000;
    while ((added.size < 2000 || acked.size < 500) && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(acked.size >= 500, `only ${acked.size} acked`);
    setup.disconnect();
    await killWeftProcess(node, 'in the middle of the traffic');
    stop = true;
    await Promise.all([producer, ...readers]);

    node = await startNode(args, { dataDir });
    try {
      const r = new Redis(opts);
      const stored = new Set(
        ((await r.xrange('w', '-', '+')) as [string, string[]][]).map((e) => e[0]),
      );
      for (const id of added) assert.ok(stored.has(id), `XADD ${id} was answered, then lost`);
      const pending = new Set(
        ((await r.xpending('w', 'g', '-', '+', 1_000_000)) as unknown[][]).map(
          (e) => e[0] as string,
        ),
      );
      // A kill -9 keeps what was written to the OS: an answered XACK stays done.
      for (const id of acked) assert.ok(!pending.has(id), `XACK of ${id} was answered, then lost`);
      const again = new Set<string>();
      for (;;) {
        const got = (await r.xreadgroup(
          'GROUP',
          'g',
          'after',
          'COUNT',
          1000,
          'STREAMS',
          'w',
          '>',
        )) as ReadReply;
        const ids = got?.[0]?.[1].map((e) => e[0]) ?? [];
        if (ids.length === 0) break;
        for (const id of ids) again.add(id);
      }
      // Every stored entry was acked, is pending, or is delivered again: none falls out.
      const missing = [...stored].filter(
        (id) => !(ackSent.has(id) || pending.has(id) || again.has(id)),
      );
      assert.deepEqual(
        missing,
        [],
        `${missing.length} of ${stored.size} entries neither acked, pending nor delivered again`,
      );
      r.disconnect();
    } finally {
      await killWeftProcess(node, 'the end');
    }
  });
});
