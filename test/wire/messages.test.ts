/**
 * Wire-level: message framing (MSG/HMSG byte for byte), UNSUB with a maximum,
 * and the per-connection and per-server limits as the raw protocol sees them.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { checkFor, rawPool, startTarget, type Target } from '../helpers/harness.js';

describe('wire: messages', () => {
  let srv: Target;
  const pool = rawPool();
  before(async () => {
    srv = await startTarget();
  });
  after(async () => {
    pool.closeAll();
    await srv.close();
  });

  test('PUB with a reply subject arrives as MSG <subject> <sid> <reply> <size>', async () => {
    const sub = await pool.handshake(srv.port);
    sub.send('SUB greet.* 7\r\n');
    await sub.ping();
    const pub = await pool.handshake(srv.port);
    pub.send('PUB greet.joe _INBOX.abc 5\r\nhello\r\nPUB greet.sue 3\r\nbye\r\nPING\r\n');
    await pub.expectLine('PONG');
    await sub.expectLine('MSG greet.joe 7 _INBOX.abc 5');
    assert.equal((await sub.readBytes(7)).toString(), 'hello\r\n');
    await sub.expectLine('MSG greet.sue 7 3');
    assert.equal((await sub.readBytes(5)).toString(), 'bye\r\n');
  });

  test('payloads are opaque bytes: empty, CRLF inside, binary', async () => {
    const c = await pool.handshake(srv.port);
    c.send('SUB bin 1\r\n');
    const binary = Buffer.from([0, 1, 2, 13, 10, 255, 254, 13, 10]);
    c.send('PUB bin 0\r\n\r\n');
    c.send('PUB bin 6\r\na\r\nb\r\n\r\n');
    c.send(
      Buffer.concat([Buffer.from(`PUB bin ${binary.length}\r\n`), binary, Buffer.from('\r\n')]),
    );
    c.send('PING\r\n');
    await c.expectMsg('bin', 1, '');
    await c.expectMsg('bin', 1, 'a\r\nb\r\n');
    await c.expectMsg('bin', 1, binary);
    await c.expectLine('PONG');
  });

  test('HPUB arrives as HMSG with the header block and body byte for byte', async () => {
    const sub = await pool.handshake(srv.port, { headers: true });
    sub.send('SUB h 1\r\n');
    await sub.ping();
    const pub = await pool.handshake(srv.port, { headers: true });
    const hdr = 'NATS/1.0\r\nA: b\r\nA: c\r\nX-Key: v 1\r\n\r\n';
    const body = 'payload';
    const total = hdr.length + body.length;
    pub.send(`HPUB h reply.to ${hdr.length} ${total}\r\n${hdr}${body}\r\n`);
    // Headers only, no body.
    pub.send(`HPUB h ${hdr.length} ${hdr.length}\r\n${hdr}\r\nPING\r\n`);
    await pub.expectLine('PONG');
    await sub.expectLine(`HMSG h 1 reply.to ${hdr.length} ${total}`);
    assert.equal((await sub.readBytes(total + 2)).toString(), `${hdr}${body}\r\n`);
    await sub.expectLine(`HMSG h 1 ${hdr.length} ${hdr.length}`);
    assert.equal((await sub.readBytes(hdr.length + 2)).toString(), `${hdr}\r\n`);
  });

  test('a subscriber without header support gets HPUB as a plain MSG of the body', async () => {
    const sub = await pool.handshake(srv.port, { headers: false });
    sub.send('SUB h 1\r\n');
    await sub.ping();
    const pub = await pool.handshake(srv.port, { headers: true });
    const hdr = 'NATS/1.0\r\nA: b\r\n\r\n';
    pub.send(`HPUB h ${hdr.length} ${hdr.length + 2}\r\n${hdr}hi\r\nPING\r\n`);
    await pub.expectLine('PONG');
    await sub.expectMsg('h', 1, 'hi');
  });

  test('MSG and HMSG bytes exact at the copy edges (64 B, 8 KiB), with and without header support', async () => {
    const withH = await pool.handshake(srv.port, { headers: true });
    const noH = await pool.handshake(srv.port, { headers: false });
    withH.send('SUB edge 1\r\n');
    noH.send('SUB edge 2\r\n');
    await withH.ping();
    await noH.ping();
    const pub = await pool.handshake(srv.port, { headers: true });
    const hdr = 'NATS/1.0\r\nK: v\r\n\r\n';
    const body = (n: number) => Buffer.alloc(n, 0x61 + (n % 26));
    const totals = [0, 1, 63, 64, 65, 8191, 8192, 8193];
    for (const n of totals) {
      pub.send(Buffer.concat([Buffer.from(`PUB edge ${n}\r\n`), body(n), Buffer.from('\r\n')]));
      if (n >= hdr.length) {
        const p = n - hdr.length;
        pub.send(
          Buffer.concat([
            Buffer.from(`HPUB edge ${hdr.length} ${n}\r\n${hdr}`),
            body(p),
            Buffer.from('\r\n'),
          ]),
        );
      }
    }
    pub.send('PING\r\n');
    await pub.expectLine('PONG');
    for (const n of totals) {
      await withH.expectLine(`MSG edge 1 ${n}`);
      assert.ok(
        (await withH.readBytes(n + 2)).equals(Buffer.concat([body(n), Buffer.from('\r\n')])),
      );
      await noH.expectLine(`MSG edge 2 ${n}`);
      assert.ok((await noH.readBytes(n + 2)).equals(Buffer.concat([body(n), Buffer.from('\r\n')])));
      if (n >= hdr.length) {
        const p = n - hdr.length;
        const tail = Buffer.concat([body(p), Buffer.from('\r\n')]);
        await withH.expectLine(`HMSG edge 1 ${hdr.length} ${n}`);
        assert.ok((await withH.readBytes(n + 2)).equals(Buffer.concat([Buffer.from(hdr), tail])));
        await noH.expectLine(`MSG edge 2 ${p}`);
        assert.ok((await noH.readBytes(p + 2)).equals(tail));
      }
    }
  });

  test('a 4 MB burst of ~1 KiB messages arrives byte for byte and in order (reads and output chunks end mid-frame)', async () => {
    const sub = await pool.handshake(srv.port);
    sub.send('SUB burst 1\r\n');
    await sub.ping();
    const pub = await pool.handshake(srv.port);
    // Sizes 1000–1100 (and every 7th with a reply subject: the other
    // encoder) shift where each 64 KiB read and each output chunk ends.
    const frames: Buffer[] = [];
    const expected: Buffer[] = [];
    for (let i = 0; i < 4000; i++) {
      const n = 1000 + ((i * 37) % 101);
      const body = Buffer.allocUnsafe(n);
      for (let k = 0; k < n; k++) body[k] = (i * 31 + k * 7) & 0xff;
      const reply = i % 7 === 0 ? ` r.${i}` : '';
      frames.push(Buffer.from(`PUB burst${reply} ${n}\r\n`), body, Buffer.from('\r\n'));
      expected.push(Buffer.from(`MSG burst 1${reply} ${n}\r\n`), body, Buffer.from('\r\n'));
    }
    pub.send(Buffer.concat(frames));
    pub.send('PING\r\n');
    await pub.expectLine('PONG', 10_000);
    const want = Buffer.concat(expected);
    const got = await sub.readBytes(want.length, 10_000);
    assert.ok(got.equals(want), 'every MSG byte for byte, in publish order');
  });

  test('HPUB from a client that did not announce headers: closed', async () => {
    const c = await pool.handshake(srv.port, { headers: false });
    const hdr = 'NATS/1.0\r\nA: b\r\n\r\n';
    c.send(`HPUB h ${hdr.length} ${hdr.length + 2}\r\n${hdr}hi\r\nPING\r\n`);
    // The reference closes silently; one -ERR line first is allowed.
    await c.expectClosed(2000, [/^-ERR '[^']+'$/]);
  });

  test('HPUB with a header size larger than the total size: closed', async () => {
    const c = await pool.handshake(srv.port, { headers: true });
    c.send('HPUB h 22 20\r\nNATS/1.0\r\nA: b\r\n\r\nhi\r\nPING\r\n');
    await c.expectClosed(2000, [/^-ERR '[^']+'$/]);
  });

  test('UNSUB <sid> <max> delivers exactly max more messages', async () => {
    const c = await pool.handshake(srv.port);
    c.send('SUB foo 1\r\nSUB bar 2\r\nUNSUB 1 2\r\n');
    c.send('PUB foo 1\r\na\r\nPUB foo 1\r\nb\r\nPUB foo 1\r\nc\r\nPUB bar 1\r\nz\r\nPING\r\n');
    await c.expectMsg('foo', 1, 'a');
    await c.expectMsg('foo', 1, 'b');
    await c.expectMsg('bar', 2, 'z');
    await c.expectLine('PONG');
  });

  test('UNSUB with a max already reached removes the subscription at once', async () => {
    const c = await pool.handshake(srv.port);
    c.send('SUB foo 1\r\nSUB bar 2\r\nPUB foo 1\r\na\r\nPUB foo 1\r\nb\r\n');
    await c.expectMsg('foo', 1, 'a');
    await c.expectMsg('foo', 1, 'b');
    c.send('UNSUB 1 1\r\nPUB foo 1\r\nc\r\nPUB bar 1\r\nz\r\nPING\r\n');
    await c.expectMsg('bar', 2, 'z');
    await c.expectLine('PONG');
  });

  test('UNSUB of an unknown sid is ignored', async () => {
    const c = await pool.handshake(srv.port);
    c.send('UNSUB 99\r\nPING\r\n');
    await c.expectLine('PONG');
  });

  test('a plain subscriber and a queue subscriber on one connection both get the message', async () => {
    const c = await pool.handshake(srv.port);
    c.send('SUB foo q 1\r\nSUB foo 2\r\nPUB foo 1\r\na\r\nPING\r\n');
    const got: string[] = [];
    for (let i = 0; i < 2; i++) {
      const m = await c.expectLine(/^MSG foo (\d) 1$/);
      got.push(m[1]!);
      assert.equal((await c.readBytes(3)).toString(), 'a\r\n');
    }
    assert.deepEqual(got.sort(), ['1', '2']);
    await c.expectLine('PONG');
  });

  test('a publish nobody wants is still answered: +OK, no responders; delivered once subscribed, not after UNSUB', async () => {
    // The session skips building a message when the match is empty: what
    // the client sees must not change.
    const c = await pool.handshake(srv.port, { verbose: true, no_responders: true });
    c.send('PUB nobody.here 5\r\nhello\r\n');
    await c.expectLine('+OK');
    c.send('SUB _INBOX.r1 9\r\n');
    await c.expectLine('+OK');
    c.send('PUB nobody.here _INBOX.r1 2\r\nhi\r\n');
    await c.expectLine('+OK');
    await c.expectLine('HMSG _INBOX.r1 9 16 16');
    assert.equal((await c.readBytes(18)).toString(), 'NATS/1.0 503\r\n\r\n\r\n');
    c.send('SUB nobody.here 10\r\n');
    await c.expectLine('+OK');
    // Split across writes: the assembled payload takes the same path.
    c.send('PUB nobody.here 5\r\nhel');
    c.send('lo\r\nPUB nobody.here 3\r\nbye\r\n');
    await c.expectLine('+OK');
    await c.expectMsg('nobody.here', 10, 'hello');
    await c.expectLine('+OK');
    await c.expectMsg('nobody.here', 10, 'bye');
    // The session reuses the last subject's match until interest changes:
    // after the UNSUB the same subject reaches no one again.
    c.send('UNSUB 10\r\nPUB nobody.here 3\r\nbye\r\nPING\r\n');
    await c.expectLine('+OK');
    await c.expectLine('+OK');
    await c.expectLine('PONG');
  });

  test('echo off: a connection does not receive its own messages', async () => {
    const c = await pool.handshake(srv.port, { echo: false });
    c.send('SUB foo 1\r\n');
    await c.ping();
    const other = await pool.handshake(srv.port);
    c.send('PUB foo 4\r\nmine\r\nPING\r\n');
    await c.expectLine('PONG');
    other.send('PUB foo 6\r\ntheirs\r\n');
    await c.expectMsg('foo', 1, 'theirs');
  });
});

describe('wire: lenient control lines (what hand-written and older clients send)', () => {
  let srv: Target;
  const pool = rawPool();
  before(async () => {
    srv = await startTarget();
  });
  after(async () => {
    pool.closeAll();
    await srv.close();
  });

  test('arguments may be separated by runs of spaces and tabs, with trailing blanks', async () => {
    const c = await pool.handshake(srv.port);
    c.send('SUB  foo   1 \r\nSUB\tbar\t2\r\n');
    c.send('PUB foo  2 \r\nhi\r\nPUB\tbar\tr\t2\r\nho\r\nPING \r\n');
    await c.expectMsg('foo', 1, 'hi');
    await c.expectMsg('bar', 2, 'ho', 'r');
    await c.expectLine('PONG');
  });

  test('control lines may end in a bare LF; payloads may not', async () => {
    const c = await pool.handshake(srv.port);
    c.send('SUB foo 1\nPUB foo 2\nhi\r\nPING\n');
    await c.expectMsg('foo', 1, 'hi');
    await c.expectLine('PONG');
    c.send('PUB foo 2\r\nhi\nPING\r\n');
    await c.expectLine("-ERR 'Unknown Protocol Operation'");
    await c.expectClosed();
  });

  test('CONNECT may be separated by a tab and followed by blanks', async () => {
    for (const line of ['CONNECT\t{"verbose":false}\r\n', 'CONNECT {"verbose":false} \r\n']) {
      const c = await pool.open(srv.port);
      c.send(`${line}PING\r\n`);
      await c.expectLine('PONG');
    }
  });

  test('PONG from the client is accepted at any time', async () => {
    const c = await pool.handshake(srv.port);
    c.send('PONG\r\nPONG \r\nPING\r\n');
    await c.expectLine('PONG');
  });

  test('a second CONNECT updates the options (here: verbose on)', async () => {
    const c = await pool.handshake(srv.port);
    c.send('CONNECT {"verbose":true}\r\nPING\r\n');
    await c.expectLine('+OK');
    await c.expectLine('PONG');
  });
});

describe('wire: limits', () => {
  test('max subscriptions: -ERR and the connection stays open', async (t) => {
    const srv = await startTarget({ maxSubscriptions: 3 });
    const pool = rawPool();
    t.after(async () => {
      pool.closeAll();
      await srv.close();
    });
    const c = await pool.handshake(srv.port);
    c.send('SUB a 1\r\nSUB b 2\r\nSUB c 3\r\nSUB d 4\r\nPING\r\n');
    await c.expectLine("-ERR 'maximum subscriptions exceeded'");
    await c.expectLine('PONG');
    // The fourth subscription does not exist; the third does.
    c.send('PUB d 1\r\nx\r\nPUB c 1\r\ny\r\nPING\r\n');
    await c.expectMsg('c', 3, 'y');
    await c.expectLine('PONG');
    // The limit is per connection.
    const other = await pool.handshake(srv.port);
    other.send('SUB a 1\r\nSUB b 2\r\nSUB c 3\r\nPING\r\n');
    await other.expectLine('PONG');
  });

  test('max connections: the extra connection gets INFO, -ERR and is closed', async (t) => {
    const srv = await startTarget({ maxConnections: 2 });
    const pool = rawPool();
    t.after(async () => {
      pool.closeAll();
      await srv.close();
    });
    const a = await pool.handshake(srv.port);
    await pool.handshake(srv.port);
    const extra = await pool.open(srv.port);
    await extra.expectLine("-ERR 'maximum connections exceeded'");
    await extra.expectClosed();
    // A slot frees up when a connection goes away.
    a.destroy();
    await checkFor(async () => {
      const c = await pool.open(srv.port);
      c.send('CONNECT {"verbose":false}\r\nPING\r\n');
      await c.expectLine('PONG');
    }, 3000);
  });
});
