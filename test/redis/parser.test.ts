/**
 * The Redis request reader (src/protocols/redis/parser.ts): arrays of bulk
 * strings and inline commands, split anywhere across reads, pipelined; and
 * Redis's own answers to bad input — the cases of Redis's
 * tests/unit/protocol.tcl, with its error texts, which clients match on.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RespProtocolError, RespReader, splitArgs } from '../../src/protocols/redis/parser.js';

const text = (cmd: Buffer[] | null) => cmd?.map((a) => a.toString('latin1')) ?? null;

/** Every command in `input`, fed in pieces of `step` bytes. */
function readAll(input: string | Buffer, step = Number.POSITIVE_INFINITY, maxBulk?: number) {
  const r = new RespReader(maxBulk);
  const b = typeof input === 'string' ? Buffer.from(input, 'latin1') : input;
  const out: string[][] = [];
  for (let i = 0; i < b.length; i += Math.min(step, b.length)) {
    r.push(b.subarray(i, Math.min(b.length, i + step)));
    for (let c = r.next(); c !== null; c = r.next()) out.push(text(c)!);
  }
  return { out, pending: r.pending };
}

function errorOf(input: string, maxBulk?: number): string {
  try {
    readAll(input, Number.POSITIVE_INFINITY, maxBulk);
  } catch (err) {
    assert.ok(err instanceof RespProtocolError);
    return err.message;
  }
  return '(no error)';
}

test('arrays of bulk strings, pipelined, split at every byte', () => {
  const wire = '*2\r\n$4\r\nECHO\r\n$5\r\nhi\r\nx\r\n*1\r\n$4\r\nPING\r\n';
  for (const step of [1, 2, 3, 7, 1000]) {
    const { out, pending } = readAll(wire, step);
    assert.deepEqual(out, [['ECHO', 'hi\r\nx'], ['PING']], `step ${step}`);
    assert.equal(pending, 0);
  }
});

test('binary arguments are kept byte for byte, an empty one included', () => {
  const payload = Buffer.from([0, 255, 13, 10, 42, 36]);
  const wire = Buffer.concat([
    Buffer.from(`*3\r\n$3\r\nSET\r\n$0\r\n\r\n$${payload.length}\r\n`),
    payload,
    Buffer.from('\r\n'),
  ]);
  const r = new RespReader();
  r.push(wire);
  const cmd = r.next()!;
  assert.equal(cmd[1]!.length, 0);
  assert.deepEqual(cmd[2], payload);
});

test('inline commands: spaces, quotes and escapes as redis-cli and telnet send them', () => {
  assert.deepEqual(readAll('PING\r\n').out, [['PING']]);
  assert.deepEqual(readAll('  set  k   v \n').out, [['set', 'k', 'v']]);
  assert.deepEqual(readAll('SET k "a b\\x41\\n\\"" \'it\\\'s\'\r\n').out, [
    ['SET', 'k', 'a bA\n"', "it's"],
  ]);
  assert.deepEqual(readAll('ECHO foo"bar baz"\r\n').out, [['ECHO', 'foobar baz']]);
});

test('empty queries are skipped: an empty line, *0, *-10 (protocol.tcl)', () => {
  assert.deepEqual(readAll('\r\n*0\r\n*-10\r\nPING\r\n').out, [['PING']]);
});

test("Redis's errors: multibulk length, '$' expected, bulk length, quotes, sizes", () => {
  assert.equal(errorOf('*20000000\r\n'), 'Protocol error: invalid multibulk length');
  assert.equal(errorOf('*3000000000\r\n'), 'Protocol error: invalid multibulk length');
  assert.equal(errorOf('*x\r\n'), 'Protocol error: invalid multibulk length');
  assert.equal(
    errorOf('*3\r\n$3\r\nSET\r\n$1\r\nx\r\nfooz\r\n'),
    "Protocol error: expected '$', got 'f'",
  );
  assert.equal(
    errorOf('*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$-10\r\n'),
    'Protocol error: invalid bulk length',
  );
  assert.equal(
    errorOf('*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$2000000000\r\n'),
    'Protocol error: invalid bulk length',
  );
  assert.equal(errorOf('*1\r\n$9\r\n', 8), 'Protocol error: invalid bulk length');
  assert.equal(errorOf('SET "k v\r\n'), 'Protocol error: unbalanced quotes in request');
  assert.equal(errorOf('SET "k"v\r\n'), 'Protocol error: unbalanced quotes in request');
  assert.equal(errorOf('x'.repeat(70 * 1024)), 'Protocol error: too big inline request');
  assert.equal(errorOf(`*${'1'.repeat(70 * 1024)}`), 'Protocol error: too big mbulk count string');
  assert.equal(
    errorOf(`*1\r\n$${'1'.repeat(70 * 1024)}`),
    'Protocol error: too big bulk count string',
  );
});

test('after an error the reader stays failed: the connection is done', () => {
  const r = new RespReader();
  r.push(Buffer.from('*1\r\nfoo\r\n'));
  assert.throws(() => r.next(), RespProtocolError);
  r.push(Buffer.from('PING\r\n'));
  assert.throws(() => r.next(), /expected '\$', got 'f'/);
});

test('a command not yet complete holds only its own bytes', () => {
  const r = new RespReader();
  r.push(Buffer.from('*2\r\n$3\r\nGET\r\n$10\r\nabc'));
  assert.equal(r.next(), null);
  assert.equal(r.pending, 8, 'the length line and the partial bulk (the length is read again)');
  r.push(Buffer.from('defghij\r\n'));
  assert.deepEqual(text(r.next()), ['GET', 'abcdefghij']);
  assert.equal(r.pending, 0);
});

test('splitArgs alone: an empty line has no arguments; a lone quote is unbalanced', () => {
  assert.deepEqual(splitArgs(Buffer.from('   ')), []);
  assert.equal(splitArgs(Buffer.from('"')), null);
  assert.equal(splitArgs(Buffer.from("'abc")), null);
  assert.deepEqual(text(splitArgs(Buffer.from('"" \'\''))), ['', '']);
});

test('a transient read: arguments are copies, and release keeps what is not taken', () => {
  const r = new RespReader();
  const read = Buffer.from(
    '*2\r\n$4\r\nECHO\r\n$5\r\nhello\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3\r\nv',
  );
  r.push(read, true);
  const echo = r.next()!;
  assert.equal(r.next(), null, 'SET is not complete');
  r.release();
  read.fill(0xee); // the read buffer is reused
  assert.deepEqual(echo.map(String), ['ECHO', 'hello']);
  r.push(Buffer.from('al\r\n'), true);
  assert.deepEqual(r.next()!.map(String), ['SET', 'k', 'val']);
  r.release();
  assert.equal(r.pending, 0);
});

test('a name read again is the same Buffer, for the last two names: a consumer alternates two commands', () => {
  const r = new RespReader();
  const names: Buffer[] = [];
  const read = Buffer.from(
    '*1\r\n$10\r\nXREADGROUP\r\n*1\r\n$4\r\nXACK\r\n'
      .repeat(3)
      .concat('*1\r\n$4\r\nPING\r\n*1\r\n$4\r\nxack\r\n'),
  );
  r.push(read, true);
  for (let c = r.next(); c !== null; c = r.next()) names.push(c[0]!);
  r.release();
  read.fill(0xee); // copies, not views of the read
  assert.deepEqual(names.map(String), [
    'XREADGROUP',
    'XACK',
    'XREADGROUP',
    'XACK',
    'XREADGROUP',
    'XACK',
    'PING',
    'xack',
  ]);
  assert.equal(names[2], names[0]);
  assert.equal(names[4], names[0]);
  assert.equal(names[3], names[1]);
  assert.equal(names[5], names[1]);
  // Another case is another name.
  assert.notEqual(names[7], names[1]);
});

test('a transient read copies arguments of every length, each on its own (loop and native copy)', () => {
  const r = new RespReader();
  const want = [0, 1, 47, 48, 49, 200].map((n, i) => Buffer.alloc(n, 0x61 + i));
  const read = Buffer.concat([
    Buffer.from(`*${want.length + 1}\r\n$4\r\nECHO\r\n`),
    ...want.flatMap((a) => [Buffer.from(`$${a.length}\r\n`), a, Buffer.from('\r\n')]),
  ]);
  r.push(read, true);
  const cmd = r.next()!;
  r.release();
  read.fill(0xee); // the read buffer is reused
  assert.deepEqual(cmd.slice(1), want);
  // Separate copies: writing one leaves the others as they were.
  cmd[3]!.fill(0x30);
  assert.deepEqual(cmd[4], want[3]);
});
