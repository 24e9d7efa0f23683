/**
 * XREADGROUP `>` and XACK answer only once their group record is written:
 * with the record stream's "written" held back, the client has no reply
 * (over many loop turns), and has it as soon as the write is told — in the
 * turn the write is told, flushed at the end of that task (settle-turn.ts),
 * not by a later setImmediate pass. Replies of several clients told in one
 * task all go out.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Stream } from '../../src/streams/stream.js';
import type { StoreDone, StoreNotice } from '../../src/streams/stream-notice.js';
import { tell } from '../../src/streams/stream-notice.js';
import { checkFor } from '../helpers/poll.js';
import { nodeAndClient } from './groups-helpers.js';

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Holds the "written" of the group records: each is told only at `release`. */
function holdRecords(records: Stream) {
  const held: (() => void)[] = [];
  const orig = records.storeNotifyRange;
  let written = 0;
  records.storeNotifyRange = function (subject, buf, start, end, done) {
    const hold = (err: unknown, seq: number, dup: boolean): void => {
      written++;
      held.push(() => tell(done as StoreDone | StoreNotice, err, seq, dup));
    };
    orig.call(this, subject, buf, start, end, hold);
  };
  return {
    get written() {
      return written;
    },
    get held() {
      return held.length;
    },
    /** Tells every held write, in one task. */
    release(): void {
      for (const f of held.splice(0)) f();
    },
    restore(): void {
      records.storeNotifyRange = orig;
    },
  };
}

describe('consumer groups: a reply waits for its record', () => {
  const s = nodeAndClient();

  test('XREADGROUP and XACK replies are sent only once the record is written, then at once', async () => {
    const { node, r } = s;
    for (let i = 1; i <= 4; i++) await r.xadd('order', `${i}-0`, 'n', String(i));
    await r.xgroup('CREATE', 'order', 'g', '0');
    // The first read makes the group's store stream (and estimates its counters).
    await r.xreadgroup('GROUP', 'g', 'c0', 'COUNT', 1, 'STREAMS', 'order', '>');
    const records = node.srv.node.jetstream!.account('$G')!.streams.get('$REDIS_groups')!.stream;
    const h = holdRecords(records);
    const r2 = r.duplicate();
    try {
      let read: unknown;
      const p = r.xreadgroup('GROUP', 'g', 'c1', 'COUNT', 2, 'STREAMS', 'order', '>').then((v) => {
        read = v;
      });
      await checkFor(() => h.held === 1, 5000);
      for (let i = 0; i < 50; i++) await turn();
      assert.equal(read, undefined, 'no reply while its record is not written');
      h.release();
      await p;
      assert.deepEqual(read, [
        [
          'order',
          [
            ['2-0', ['n', '2']],
            ['3-0', ['n', '3']],
          ],
        ],
      ]);
      // Two clients' XACKs held, then told in one task: both answered.
      let acked = 0;
      const a = r.xack('order', 'g', '2-0', '3-0').then((n) => {
        acked += n;
      });
      const b = r2.xack('order', 'g', '1-0').then((n) => {
        acked += n;
      });
      await checkFor(() => h.held === 2, 5000);
      for (let i = 0; i < 50; i++) await turn();
      assert.equal(acked, 0, 'no XACK reply while its record is not written');
      h.release();
      await Promise.all([a, b]);
      assert.equal(acked, 3);
      assert.equal(h.written, 3);
    } finally {
      h.restore();
      r2.disconnect();
    }
    assert.deepEqual(await r.xpending('order', 'g'), [0, null, null, null]);
  });
});
