/**
 * The namespace plumbing itself, with plain TCP: an echo server in namespace
 * a, a relay in namespace b that dials a over the a-b veth pair, and the test
 * process talking to the relay over b's veth to the root namespace. A cut
 * stops the echo without either end hearing of it, and a restore brings the
 * same connection back (TCP retransmits what was lost).
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { type Socket, connect as tcpConnect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { checkFor, within } from '../helpers/poll.js';
import { type CutMode, Lab, type Link, type Node, netnsSkip } from './netns.js';

const skip = await netnsSkip();

const ECHO = `
const net = require('node:net');
net.createServer((s) => { s.on('error', () => {}); s.pipe(s); })
  .listen(7000, '0.0.0.0', () => console.log('listening'));
`;

const RELAY = `
const net = require('node:net');
const target = process.argv[1];
net.createServer((s) => {
  s.on('error', () => {});
  const out = net.connect(7000, target);
  out.on('error', (e) => { s.end('ERR ' + e.code + '\\n'); });
  out.on('connect', () => { s.pipe(out); out.pipe(s); });
}).listen(7001, '0.0.0.0', () => console.log('listening'));
`;

interface LineClient {
  sock: Socket;
  lines: string[];
  error: () => Error | undefined;
  closed: () => boolean;
}

async function lineClient(host: string, port: number): Promise<LineClient> {
  const sock = tcpConnect(port, host);
  const lines: string[] = [];
  let buf = '';
  let error: Error | undefined;
  let closed = false;
  sock.on('data', (b: Buffer) => {
    buf += b.toString();
    let i = buf.indexOf('\n');
    while (i >= 0) {
      lines.push(buf.slice(0, i));
      buf = buf.slice(i + 1);
      i = buf.indexOf('\n');
    }
  });
  sock.on('error', (e) => {
    error = e;
  });
  sock.on('close', () => {
    closed = true;
  });
  await within(
    new Promise<void>((resolve, reject) => {
      sock.once('connect', resolve);
      sock.once('error', reject);
    }),
    3000,
    `TCP connect to ${host}:${port}`,
  );
  return { sock, lines, error: () => error, closed: () => closed };
}

async function started(child: ChildProcess, what: string): Promise<void> {
  let out = '';
  let err = '';
  child.stdout!.on('data', (b: Buffer) => {
    out += b.toString();
  });
  child.stderr!.on('data', (b: Buffer) => {
    err += b.toString();
  });
  await checkFor(() => {
    if (child.exitCode !== null) throw new Error(`${what} exited ${child.exitCode}: ${err}`);
    return out.includes('listening');
  }, 5000);
}

for (const mode of ['silent', 'down'] as CutMode[]) {
  describe(`netns plumbing, ${mode} cut`, { skip }, () => {
    let lab: Lab;
    let a: Node;
    let b: Node;
    let ab: Link;
    const clients: LineClient[] = [];

    before(async () => {
      lab = await Lab.create();
      a = await lab.addNode('a');
      b = await lab.addNode('b');
      ab = await lab.link(a, b);
      await started(lab.spawnIn(a, process.execPath, ['-e', ECHO]), 'echo server');
      await started(lab.spawnIn(b, process.execPath, ['-e', RELAY, ab.aAddr]), 'relay');
    });

    after(async () => {
      for (const c of clients) c.sock.destroy();
      await lab?.destroy();
    });

    test('echo across the link before, none during the cut, the same connection after', async () => {
      // Root to a directly, over a's root veth.
      const direct = await lineClient(a.addr, 7000);
      clients.push(direct);
      direct.sock.write('direct\n');
      await checkFor(() => direct.lines.includes('direct'), 2000);

      // Root to b, b to a over the a-b pair.
      const c = await lineClient(b.addr, 7001);
      clients.push(c);
      c.sock.write('before\n');
      await checkFor(() => c.lines.includes('before'), 2000);

      await ab.cut(mode);
      c.sock.write('during\n');
      const t0 = Date.now();
      await checkFor(() => Date.now() - t0 >= 1000, 2000);
      assert.deepEqual(c.lines, ['before'], 'nothing crosses a cut link');
      assert.equal(c.error(), undefined, 'the cut is not reported to the connection');
      assert.equal(c.closed(), false);

      // A new connection through the relay: its dial over the cut link gets
      // no answer at all when the cut is silent.
      const fresh = await lineClient(b.addr, 7001);
      clients.push(fresh);
      if (mode === 'silent') {
        const t1 = Date.now();
        await checkFor(() => Date.now() - t1 >= 500, 1000);
        assert.deepEqual(fresh.lines, [], 'a dial over a silent cut hears nothing back');
      }
      fresh.sock.destroy();

      // The other veth pairs are untouched by the cut.
      direct.sock.write('direct2\n');
      await checkFor(() => direct.lines.includes('direct2'), 2000);

      await ab.restore();
      // TCP retransmits 'during' (its backoff is a few seconds by now).
      await checkFor(() => c.lines.includes('during'), 8000, 50);
      c.sock.write('after\n');
      await checkFor(() => c.lines.includes('after'), 2000);
      assert.deepEqual(c.lines, ['before', 'during', 'after'], 'each line exactly once, in order');
    });
  });
}
