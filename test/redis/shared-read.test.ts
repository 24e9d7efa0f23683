/**
 * Plain-TCP Redis clients read into the shared read buffer
 * (src/connection/shared-read.ts): a read's bytes are valid only during
 * the call. The node runs with WEFT_POISON_READS=1 (each read overwritten
 * after its call), so bytes the face kept past a read without copying
 * them — the arguments of a command not complete yet, the bytes of one
 * not read whole — show here as 0xee.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, test } from 'node:test';
import { checkFor } from '../helpers/poll.js';
import { startNode, stopWeftProcess } from '../helpers/weft-process.js';
import { freePort } from './groups-helpers.js';

/** A raw client: everything it read, as latin1 text. */
async function client(port: number): Promise<{ s: net.Socket; text: () => string }> {
  const s = net.connect({ port, host: '127.0.0.1', noDelay: true });
  let got = '';
  s.on('data', (b: Buffer) => {
    got += b.toString('latin1');
  });
  s.write('PING\r\n');
  await checkFor(() => got.includes('+PONG\r\n'));
  return { s, text: () => got };
}

const bulk = (...args: string[]) =>
  `*${args.length}\r\n${args.map((a) => `$${a.length}\r\n${a}\r\n`).join('')}`;

describe('Redis reads of the shared buffer', () => {
  test('a command split over reads keeps its arguments and its unread bytes', async () => {
    const port = await freePort();
    const node = await startNode(['--redis-port', String(port)], {
      env: { WEFT_POISON_READS: '1' },
    });
    try {
      const a = await client(port);
      const watch = await client(port);
      // Four arguments read whole, the fifth not: the first read ends inside it.
      const cmd = bulk('XADD', 'poisoned', '1-1', 'field', 'value');
      const cut = cmd.length - 4;
      a.s.write(cmd.slice(0, cut));
      // The node has read it when CLIENT LIST shows the unread bytes (qbuf).
      await checkFor(async () => {
        const before = watch.text().length;
        watch.s.write(bulk('CLIENT', 'LIST'));
        await checkFor(() => watch.text().length > before);
        return /qbuf=[1-9]/.test(watch.text().slice(before));
      });
      a.s.write(cmd.slice(cut));
      await checkFor(() => a.text().includes('1-1'));
      a.s.write(bulk('XRANGE', 'poisoned', '-', '+'));
      await checkFor(() => a.text().includes('value\r\n'));
      assert.ok(
        a.text().endsWith('$3\r\n1-1\r\n*2\r\n$5\r\nfield\r\n$5\r\nvalue\r\n'),
        JSON.stringify(a.text()),
      );
      a.s.destroy();
      watch.s.destroy();
    } finally {
      await stopWeftProcess(node, 'redis shared read');
    }
  });
});
