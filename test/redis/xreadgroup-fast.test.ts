/**
 * The session's XREADGROUP fast path (xreadgroup-peek.ts,
 * commands/groups-read.ts `xreadgroupRanges`): a read found as ranges of
 * the bytes answers as the table's XREADGROUP does. The same script —
 * COUNT and NOACK in either order and any case, no COUNT, COUNT 0, counts
 * written otherwise (`007`, `-1`, `abc`, 13 digits), COUNT or NOACK twice,
 * GROUP not first, BLOCK, an ID other than `>`, `$`, two keys, an unknown
 * group or key, wrong arity, unbalanced STREAMS, empty names, a length
 * written otherwise, reads with nothing new, XADDs between — runs on a
 * stream per pass, in RESP2 and RESP3: pipelined in one write, cut at every
 * byte, and on a connection made while the table's XREADGROUP was another
 * function (the reader's fast path off: the reference). Every reply, and
 * the group's pending entries and counters after, must be the same bytes.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { fastPathSuite, type ScriptRun, sameAsReference, sendScript } from './fast-path-helpers.js';
import { resp } from './helpers.js';

const ENTRIES = 40;

/** The script of stream `k` (each one command). */
function script(k: string): Buffer[] {
  const read = (...opts: string[]) => resp('XREADGROUP', 'GROUP', 'g', ...opts, 'STREAMS', k, '>');
  const longLen = (b: Buffer) =>
    Buffer.from(b.toString('latin1').replace('$10\r\n', '$010\r\n'), 'latin1');
  return [
    read('c1', 'COUNT', '2'),
    resp('xreadgroup', 'group', 'g', 'c2', 'count', '3', 'streams', k, '>'),
    resp('XreadGroup', 'Group', 'g', 'c1', 'NoAck', 'Count', '1', 'Streams', k, '>'),
    read('c1', 'COUNT', '1', 'NOACK'),
    read('c3', 'COUNT', '007'),
    read('c3', 'COUNT', 'abc'),
    read('c3', 'COUNT', '1', 'COUNT', '2'),
    read('c3', 'NOACK', 'NOACK', 'COUNT', '1'),
    resp('XREADGROUP', 'COUNT', '1', 'GROUP', 'g', 'c4', 'STREAMS', k, '>'),
    read('c4', 'COUNT', '1', 'BLOCK', '5'),
    resp('XREADGROUP', 'GROUP', 'g', 'c1', 'COUNT', '5', 'STREAMS', k, '0'),
    resp('XREADGROUP', 'GROUP', 'g', 'c1', 'COUNT', '5', 'STREAMS', k, '$'),
    resp('XREADGROUP', 'GROUP', 'g', 'c1', 'COUNT', '1', 'STREAMS', k, k, '>', '>'),
    resp('XREADGROUP', 'GROUP', 'nogroup', 'c1', 'COUNT', '1', 'STREAMS', k, '>'),
    resp('XREADGROUP', 'GROUP', 'g', 'c1', 'COUNT', '1', 'STREAMS', `${k}:none`, '>'),
    resp('XREADGROUP', 'GROUP', 'g', 'c1', 'STREAMS', k, '>'),
    resp('XREADGROUP', 'GROUP', 'g', 'STREAMS', k, '>'),
    resp('XREADGROUP', 'GROUP', 'g', 'c1', 'COUNT', '1', 'STREAMS', k),
    resp('XREADGROUP', 'GROUP', 'g', '', 'COUNT', '1', 'STREAMS', k, '>'),
    resp('XREADGROUP', 'GROUP', '', 'c1', 'COUNT', '1', 'STREAMS', k, '>'),
    longLen(read('c5', 'COUNT', '1')),
    read('c5', 'COUNT', '-1'),
    read('c6', 'COUNT', '1'),
    resp('XADD', k, '2-1', 'f', 'a'),
    resp('XADD', k, '2-2', 'f', 'b'),
    read('c6', 'COUNT', '0'),
    resp('XADD', k, '2-3', 'f', 'c'),
    read('c7', 'COUNT', '1000000000000'),
    resp('XADD', k, '2-4', 'f', 'd'),
    read('c7'),
    read('c7', 'NOACK'),
    read('c8', 'COUNT', '9'),
  ];
}

describe('XREADGROUP fast path', () => {
  const { connect, freshStream } = fastPathSuite('xreadgroup');

  /** Runs the script on a fresh stream: the replies, then XPENDING's entries and summary, XINFO GROUPS. */
  const run: ScriptRun = async (protocol, reference, cut) => {
    const c = await connect(protocol, reference);
    try {
      const k = await freshStream(c, 'xrf', ENTRIES, (i) => `v${i}`);
      const replies = await sendScript(c, script(k), cut);
      const pending = await c.call(resp('XPENDING', k, 'g', '-', '+', '1000'));
      const summary = await c.call(resp('XPENDING', k, 'g'));
      const info = await c.call(resp('XINFO', 'GROUPS', k));
      // Each pending entry's idle time (after its consumer) differs from run to run.
      const masked = pending.replace(
        /(\*4\r\n\$\d+\r\n[^\r]+\r\n\$\d+\r\n[^\r]*\r\n):\d+\r\n/g,
        '$1:_\r\n',
      );
      // The key differs from pass to pass (a stream each).
      return `${replies}\n${summary}\n${masked}\n${info}`.replaceAll(k, 'xrf:__');
    } finally {
      c.close();
    }
  };

  sameAsReference('the replies and the group', run, (ref) => {
    assert.match(ref, /-ERR value is not an integer or out of range/);
    assert.match(ref, /-NOGROUP No such key 'xrf:__' or consumer group 'nogroup'/);
    assert.match(ref, /-ERR The \$ ID is meaningless/);
    assert.match(ref, /-ERR wrong number of arguments for 'xreadgroup' command/);
    assert.match(ref, /-ERR Unbalanced XREAD list/);
    assert.match(ref, /\$3\r\n1-1\r\n/);
    assert.match(ref, /\$3\r\n2-4\r\n/);
  });

  test('RESP2 subscribe mode refuses XREADGROUP, RESP3 takes it', async () => {
    const k = 'xrf:sub';
    const c2 = await connect(2, false);
    const c3 = await connect(3, false);
    try {
      await c2.call(resp('XGROUP', 'CREATE', k, 'g', '0', 'MKSTREAM'));
      await c2.call(resp('XADD', k, '1-1', 'f', 'v'));
      await c2.call(resp('SUBSCRIBE', 'x'));
      const read = resp('XREADGROUP', 'GROUP', 'g', 'c', 'COUNT', '1', 'STREAMS', k, '>');
      assert.match(await c2.call(read), /^-ERR Can't execute 'xreadgroup'/);
      await c3.call(resp('SUBSCRIBE', 'x'));
      assert.match(await c3.call(read), /\$3\r\n1-1\r\n/);
    } finally {
      c2.close();
      c3.close();
    }
  });
});
