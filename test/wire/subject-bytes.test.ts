/**
 * Wire-level: subjects are exact. Two subjects that differ in a byte never
 * meet, whatever the bytes are.
 *
 * nats-server 2.9 compares bytes and accepts any byte >= 0x80. Weft's core
 * compares strings, so it refuses arguments that are not valid UTF-8 (the
 * subject, reply, queue group and sid of PUB/HPUB/SUB/UNSUB) with
 * `-ERR 'Invalid <what>: not valid UTF-8'` and keeps the connection; valid
 * UTF-8 goes through byte for byte. The delivery rules below hold on both
 * servers (run with WEFT_TEST_TARGET=nats-server); the -ERR lines are Weft's.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { rawPool, startTarget, TARGET, type Target } from '../helpers/harness.js';

const weft = TARGET === 'weft';
const bytes = (text: string) => Buffer.from(text, 'latin1');
const err = (what: string) => `-ERR 'Invalid ${what}: not valid UTF-8'`;

describe('wire: subjects are compared exactly', () => {
  let srv: Target;
  const pool = rawPool();
  before(async () => {
    srv = await startTarget();
  });
  after(async () => {
    pool.closeAll();
    await srv.close();
  });

  test('after SUB a.\\xff, PUB a.\\xfe is not delivered', async () => {
    const c = await pool.handshake(srv.port);
    c.send(bytes('SUB a.\xff 1\r\nSUB sentinel 2\r\nPUB a.\xfe 2\r\nhi\r\n'));
    if (weft) {
      await c.expectLine(err('Subject'));
      await c.expectLine(err('Publish Subject'));
    }
    // The sentinel arrives first: nothing from a.\xfe reached sid 1.
    c.send('PUB sentinel 1\r\nx\r\n');
    await c.expectMsg('sentinel', 2, 'x');
    await c.ping();
  });

  test('a wildcard never receives a subject that is not valid UTF-8 from Weft', async () => {
    const c = await pool.handshake(srv.port);
    c.send(bytes('SUB a.* 1\r\nPUB a.\xfe 2\r\nhi\r\nPUB a.ok 2\r\nhi\r\n'));
    if (weft) await c.expectLine(err('Publish Subject'));
    else {
      // nats-server delivers the raw bytes; the test's line reader decodes them.
      await c.expectLine(/^MSG a\.\ufffd 1 2$/);
      await c.readBytes(4);
    }
    await c.expectMsg('a.ok', 1, 'hi');
    await c.ping();
  });

  test('valid UTF-8 subjects are delivered byte for byte, and only to themselves', async () => {
    const c = await pool.handshake(srv.port);
    const sub = 'SUB caf\u00e9.\u65e5\u672c 1\r\nSUB caf\u00e8.> 2\r\n';
    c.send(
      Buffer.from(
        `${sub}PUB caf\u00e8.\u65e5\u672c 2\r\nhi\r\nPUB caf\u00e9.\u65e5\u672c 2\r\nho\r\n`,
      ),
    );
    await c.expectMsg('caf\u00e8.\u65e5\u672c', 2, 'hi');
    await c.expectMsg('caf\u00e9.\u65e5\u672c', 1, 'ho');
    await c.ping();
  });

  test('queue groups whose names differ in a byte stay apart', async () => {
    const c = await pool.handshake(srv.port);
    c.send(bytes('SUB q.a g\xff 1\r\nSUB q.a g\xfe 2\r\nPUB q.a 2\r\nhi\r\n'));
    if (weft) {
      // Both refused: nothing is subscribed, nothing delivered.
      await c.expectLine(err('Queue Group'));
      await c.expectLine(err('Queue Group'));
    } else {
      // Two groups: one member each gets the message.
      const seen = new Set<string>();
      for (let i = 0; i < 2; i++) {
        seen.add((await c.expectLine(/^MSG q\.a (\d) 2$/))[1]!);
        await c.readBytes(4);
      }
      assert.deepEqual([...seen].sort(), ['1', '2']);
    }
    await c.ping();
  });

  test('Weft: every refused argument has its own -ERR, and the connection stays', async (t) => {
    if (!weft) return t.skip('nats-server accepts these bytes');
    const c = await pool.handshake(srv.port);
    c.send(bytes('SUB r.* 1\r\n'));
    c.send(bytes('PUB r.x r.\xc3 2\r\nhi\r\n')); // truncated sequence in the reply
    await c.expectLine(err('Reply Subject'));
    c.send(bytes('HPUB r.\xc0\xaf 12 14\r\nNATS/1.0\r\n\r\nhi\r\n')); // overlong '/'
    await c.expectLine(err('Publish Subject'));
    c.send(bytes('SUB r.y 9\xff\r\n'));
    await c.expectLine(err('Subscription ID'));
    c.send(bytes('UNSUB 1\xff\r\n'));
    await c.expectLine(err('Subscription ID'));
    c.send(bytes('SUB r.\xed\xa0\x80 3\r\n')); // an encoded surrogate is not UTF-8
    await c.expectLine(err('Subject'));
    // A refused PUB's payload was consumed: the stream is still in step.
    c.send('PUB r.x 2\r\nok\r\n');
    await c.expectMsg('r.x', 1, 'ok');
    await c.ping();
  });
});
