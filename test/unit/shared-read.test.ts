/**
 * Plain-TCP NATS clients read into one buffer shared by all of them and
 * reused by every read (src/connection/shared-read.ts). What a read
 * delivers is valid only during the call: the node is run with
 * WEFT_POISON_READS=1 (each read overwritten after its call), so a keeper of
 * a read's bytes that does not copy them shows here as 0xee bytes.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, test } from 'node:test';
import { adoptSharedRead, isSharedRead, onReads } from '../../src/connection/shared-read.js';
import { checkFor } from '../helpers/poll.js';
import { startNode, stopWeftProcess } from '../helpers/weft-process.js';

/** A raw client: everything it read, as latin1 text. */
async function client(port: number): Promise<{ s: net.Socket; text: () => string }> {
  const s = net.connect({ port, host: '127.0.0.1', noDelay: true });
  let got = '';
  s.on('data', (b: Buffer) => {
    got += b.toString('latin1');
  });
  s.write('CONNECT {"verbose":false,"pedantic":false}\r\nPING\r\n');
  await checkFor(() => got.includes('PONG\r\n'));
  return { s, text: () => got };
}

describe('shared read buffer', () => {
  test('an accepted socket reads into the shared buffer; a read before attach waits', async () => {
    let adopted = false;
    const chunks: Buffer[] = [];
    let accepted = null as net.Socket | null;
    const server = net.createServer({ pauseOnConnect: true }, (s) => {
      accepted = s;
      adopted = adoptSharedRead(s);
      s.resume();
      // Attached only later: the first read is copied and waits.
      setTimeout(() => onReads(s, (c) => chunks.push(Buffer.from(c))), 50);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const c = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
    c.write('hello');
    await checkFor(() => Buffer.concat(chunks).toString() === 'hello');
    assert.equal(adopted, true, 'this Node has the onread slots');
    let shared = false;
    onReads(new net.Socket(), () => {}); // not adopted: 'data' (no throw)
    accepted!.removeAllListeners('data');
    c.write(' again');
    await checkFor(() => Buffer.concat(chunks).toString() === 'hello again');
    accepted!.on('data', () => {});
    shared = isSharedRead(Buffer.alloc(1));
    assert.equal(shared, false, 'a buffer of its own is not the shared read');
    c.destroy();
    accepted!.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  });

  test('a large payload to a subscriber that is not reading arrives intact (queued as a copy)', async () => {
    const node = await startNode([], { env: { WEFT_POISON_READS: '1' } });
    try {
      const sub = await client(node.port);
      sub.s.write('SUB big 1\r\nPING\r\n');
      await checkFor(() => sub.text().split('PONG').length === 3);
      sub.s.pause(); // the subscriber's socket backs up: the MSGs wait in the node
      const pub = await client(node.port);
      const size = 20 * 1024; // past COPY_LIMIT: queued by reference, not copied
      const count = 400;
      let out = '';
      for (let i = 0; i < count; i++) {
        const payload = Buffer.alloc(size, 0x41 + (i % 26)).toString('latin1');
        out += `PUB big ${size}\r\n${payload}\r\n`;
      }
      pub.s.write(out);
      pub.s.write('PING\r\n');
      await checkFor(() => pub.text().split('PONG').length === 3);
      sub.s.resume();
      const want = count * (size + 'MSG big 1 20480\r\n\r\n'.length);
      await checkFor(() => sub.text().length >= want + 100, 20_000);
      const body = sub.text();
      for (let i = 0; i < count; i++) {
        const at = body.indexOf(`MSG big 1 ${size}\r\n`, i === 0 ? 0 : undefined);
        assert.ok(at >= 0);
      }
      const msgs = body.split(`MSG big 1 ${size}\r\n`).slice(1);
      assert.equal(msgs.length, count);
      msgs.forEach((m, i) => {
        const payload = m.slice(0, size);
        assert.equal(payload, String.fromCharCode(0x41 + (i % 26)).repeat(size), `message ${i}`);
      });
      sub.s.destroy();
      pub.s.destroy();
    } finally {
      await stopWeftProcess(node, 'shared read');
    }
  });
});
