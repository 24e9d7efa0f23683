/**
 * The reference for the Redis request reader's errors: the same bad bytes
 * sent to Debian's redis-server (installed by .ci/run) and read by
 * src/protocols/redis/parser.ts must give the same `-ERR` text, which
 * clients match on. Skipped, with the reason, only when redis-server is
 * missing outside CI.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createServer, connect as netConnect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { RespProtocolError, RespReader } from '../../src/protocols/redis/parser.js';
import { checkFor } from '../helpers/poll.js';

const HAVE = spawnSync('redis-server', ['--version']).status === 0;
if (!HAVE && process.env.CI) throw new Error('redis-server is missing (.ci/run installs it)');

// `*20000000` is left out: Redis 7 takes up to INT_MAX arguments, Weft
// refuses more than MAX_ARGS (1,048,576, Redis 6's bound) with the same text.
const CASES = [
  '*3000000000\r\n',
  '*x\r\n',
  '*3\r\n$3\r\nSET\r\n$1\r\nx\r\nfooz\r\n',
  '*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$-10\r\n',
  '*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$2000000000\r\n',
  'SET "k v\r\n',
  'SET "k"v\r\n',
  "SET 'k\r\n",
  `*${'1'.repeat(70 * 1024)}`,
  `*1\r\n$${'1'.repeat(70 * 1024)}`,
  'x'.repeat(70 * 1024),
];

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** What redis-server answers `wire` with, up to its close (or 2 s). */
function ask(port: number, wire: string): Promise<string> {
  return new Promise((resolve) => {
    const sock = netConnect(port, '127.0.0.1');
    let got = '';
    const done = () => {
      sock.destroy();
      resolve(got);
    };
    sock.setTimeout(2000, done);
    sock.on('data', (d) => {
      got += d.toString('latin1');
    });
    sock.on('close', done);
    sock.on('error', done);
    sock.end(Buffer.from(wire, 'latin1'));
  });
}

function weft(wire: string): string {
  const r = new RespReader();
  r.push(Buffer.from(wire, 'latin1'));
  try {
    while (r.next() !== null);
  } catch (err) {
    if (err instanceof RespProtocolError) return `-ERR ${err.message}\r\n`;
    throw err;
  }
  return '';
}

describe('Redis request errors against redis-server', {
  skip: HAVE ? false : 'redis-server is not installed',
}, () => {
  let port = 0;
  let child: ChildProcess | null = null;
  before(async () => {
    port = await freePort();
    child = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      {
        stdio: 'ignore',
      },
    );
    await checkFor(async () => (await ask(port, 'PING\r\n')) === '+PONG\r\n', 10_000);
  });
  after(() => {
    child?.kill();
  });

  for (const wire of CASES) {
    const label =
      wire.length > 60 ? `${wire.slice(0, 20)}… (${wire.length} bytes)` : JSON.stringify(wire);
    test(`the same error as redis-server for ${label}`, async () => {
      const theirs = await ask(port, wire);
      assert.match(
        theirs,
        /^-ERR Protocol error: /,
        `redis-server answered ${JSON.stringify(theirs)}`,
      );
      assert.equal(weft(wire), theirs);
    });
  }
});
