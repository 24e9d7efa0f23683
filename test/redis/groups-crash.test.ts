/**
 * Consumer groups survive a crash: a node (a child process) is killed with
 * SIGKILL right after its last reply, and started again on the same data.
 * Every change a client got an answer for is there — the PEL with owners
 * and delivery counts, the consumers, the last delivered ID — and `>`
 * goes on after it, though the group's JetStream consumer may not have
 * saved its own state before the kill (it is reconciled with the records).
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
});
