/**
 * The session's XACK fast path (xack-peek.ts, commands/groups-ack.ts): an
 * XACK read as ranges of the bytes answers as the table's XACK does. The
 * same script of XACKs — canonical IDs, any case, non-canonical forms,
 * bad IDs, wrong arity, an unknown group or key, repeats, more IDs than
 * the fast path takes, a length written otherwise — runs on a stream per
 * pass, in RESP2 and RESP3: pipelined in one write, cut at every byte, and
 * on a connection made while the table's XACK was another function (so
 * the reader's fast path is off: the reference). Every reply, and the
 * group's pending entries after, must be the same bytes.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { fastPathSuite, type ScriptRun, sameAsReference, sendScript } from './fast-path-helpers.js';
import { resp } from './helpers.js';

const ENTRIES = 90;

/** The script's XACKs of stream `k` (each one command; 18 of them). */
function script(k: string): Buffer[] {
  const id = (n: number) => `1-${n}`;
  const many = Array.from({ length: 70 }, (_, i) => id(20 + i));
  const sixtyFour = Array.from({ length: 64 }, (_, i) => `2-${i}`);
  return [
    resp('XACK', k, 'g', id(1), id(2)),
    resp('XACK', k, 'g', id(1)),
    resp('xack', k, 'g', id(3)),
    resp('XaCk', k, 'g', '01-4'),
    resp('XACK', k, 'g', id(5), '1'),
    resp('XACK', k, 'g', id(6), 'abc'),
    resp('XACK', k, 'g', '-'),
    resp('XACK', k, 'g'),
    resp('XACK', k),
    resp('XACK', k, 'nogroup', id(7)),
    resp('XACK', `${k}:none`, 'g', id(7)),
    resp('XACK', k, 'g', id(7), id(7), id(8)),
    resp('XACK', k, 'g', ...many),
    resp('XACK', k, 'g', ...sixtyFour, id(9)),
    resp('XACK', k, 'g', '18446744073709551615-18446744073709551615', '18446744073709551616-0'),
    resp('XACK', k, 'g', '', id(10)),
    Buffer.from(
      resp('XACK', k, 'g', id(11)).toString('latin1').replace('$4\r\n', '$04\r\n'),
      'latin1',
    ),
    resp('XACK', k, '', id(12)),
  ];
}

describe('XACK fast path', () => {
  const { connect, freshStream } = fastPathSuite('xack');

  /** Runs the script on a fresh stream: the replies, then XPENDING's summary and its entries. */
  const run: ScriptRun = async (protocol, reference, cut) => {
    const c = await connect(protocol, reference);
    try {
      const k = await freshStream(c, 'xf', ENTRIES, () => 'v');
      const sixtyFour = Array.from({ length: 64 }, (_, i) => resp('XADD', k, `2-${i}`, 'f', 'v'));
      await c.call(Buffer.concat(sixtyFour), 64);
      await c.call(resp('XREADGROUP', 'GROUP', 'g', 'c', 'STREAMS', k, '>'));
      const replies = await sendScript(c, script(k), cut);
      const pending = await c.call(resp('XPENDING', k, 'g', '-', '+', '1000'));
      const summary = await c.call(resp('XPENDING', k, 'g'));
      // Each pending entry's idle time (after its consumer, `c`) differs from run to run.
      return `${replies}\n${summary}\n${pending.replace(/(\$1\r\nc\r\n):\d+\r\n/g, '$1:_\r\n')}`;
    } finally {
      c.close();
    }
  };

  sameAsReference('the replies and the PEL', run, (ref) => {
    assert.match(ref, /^:2\r\n:0\r\n:1\r\n:1\r\n/);
    assert.match(ref, /-ERR Invalid stream ID specified as stream command argument/);
    assert.match(ref, /-ERR wrong number of arguments for 'xack' command/);
  });

  test('RESP2 subscribe mode refuses XACK, RESP3 takes it', async () => {
    const k = 'xf:sub';
    const c2 = await connect(2, false);
    const c3 = await connect(3, false);
    try {
      await c2.call(resp('XGROUP', 'CREATE', k, 'g', '0', 'MKSTREAM'));
      await c2.call(resp('XADD', k, '1-1', 'f', 'v'));
      await c2.call(resp('XREADGROUP', 'GROUP', 'g', 'c', 'STREAMS', k, '>'));
      await c2.call(resp('SUBSCRIBE', 'x'));
      assert.match(await c2.call(resp('XACK', k, 'g', '1-1')), /^-ERR Can't execute 'xack'/);
      await c3.call(resp('SUBSCRIBE', 'x'));
      assert.equal(await c3.call(resp('XACK', k, 'g', '1-1')), ':1\r\n');
    } finally {
      c2.close();
      c3.close();
    }
  });
});
