/**
 * WebSocketTransport (src/connection/websocket-transport.ts): a WebSocket
 * with the net.Socket surface sessions use. Over a real ws server and
 * client on a random port: bytes written arrive as binary messages (a
 * corked batch as one), messages in arrive as 'data' (those of one read
 * together), backpressure is the WebSocket's bufferedAmount with a real
 * 'drain', and closing maps to close codes both ways.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { WebSocket, WebSocketServer } from 'ws';
import {
  CONCAT_MAX,
  WebSocketTransport,
  WS_HIGH_WATER_MARK,
} from '../../src/connection/websocket-transport.js';
import { checkFor, within } from '../helpers/poll.js';

interface Pair {
  server: WebSocketTransport;
  serverWs: WebSocket;
  client: WebSocket;
  /** Binary messages the client received, and whether each was binary. */
  got: { data: Buffer; binary: boolean }[];
  closed: Promise<{ code: number; reason: string }>;
}

let wss: WebSocketServer;
let url = '';
let binaryOnly = false;

before(async () => {
  wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`;
});

after(() => {
  wss.close();
});

async function pair(): Promise<Pair> {
  const accepted = new Promise<WebSocket>((r) => wss.once('connection', (ws) => r(ws)));
  const client = new WebSocket(url);
  const got: Pair['got'] = [];
  client.on('message', (data, binary) => got.push({ data: data as Buffer, binary }));
  const closed = new Promise<{ code: number; reason: string }>((r) =>
    client.on('close', (code, reason) => r({ code, reason: reason.toString() })),
  );
  await new Promise<void>((r, j) => {
    client.once('open', () => r());
    client.once('error', j);
  });
  const serverWs = await accepted;
  const server = new WebSocketTransport(serverWs, {
    remoteAddress: '127.0.0.1',
    remotePort: 1,
    binaryOnly,
  });
  return { server, serverWs, client, got, closed };
}

describe('WebSocketTransport', () => {
  test('bytes written arrive as binary messages; a corked batch as one message', async () => {
    const p = await pair();
    let called = 0;
    assert.equal(
      p.server.write(Buffer.from('hello'), () => called++),
      true,
    );
    p.server.cork();
    p.server.write(Buffer.from('a'));
    p.server.write('b');
    p.server.write(Buffer.from('c'), () => called++);
    p.server.uncork();
    // Larger than CONCAT_MAX: fragments of one message, no copy.
    const big = Buffer.alloc(CONCAT_MAX + 10, 7);
    p.server.cork();
    p.server.write(Buffer.from('x'));
    p.server.write(big, () => called++);
    p.server.uncork();
    await checkFor(() => p.got.length === 3 && called === 3);
    assert.deepEqual(
      p.got.map((m) => m.binary),
      [true, true, true],
    );
    assert.equal(p.got[0].data.toString(), 'hello');
    assert.equal(p.got[1].data.toString(), 'abc');
    assert.equal(p.got[2].data.length, CONCAT_MAX + 11);
    assert.equal(p.got[2].data[0], 'x'.charCodeAt(0));
    assert.equal(p.got[2].data[CONCAT_MAX + 10], 7);
    p.client.close();
  });

  test('messages in arrive as data; those of one read together', async () => {
    const p = await pair();
    const chunks: Buffer[] = [];
    p.server.on('data', (c: Buffer) => chunks.push(c));
    p.client.send(Buffer.from('one'));
    await checkFor(() => chunks.length === 1);
    assert.equal(chunks[0].toString(), 'one');
    // Three messages in one TCP write (corked): one 'data' for the read.
    const raw = (p.client as unknown as { _socket: import('node:net').Socket })._socket;
    raw.cork();
    p.client.send(Buffer.from('a'));
    p.client.send(Buffer.from('b'));
    p.client.send(Buffer.from('c'));
    raw.uncork();
    await checkFor(() => Buffer.concat(chunks).toString() === 'oneabc');
    assert.equal(chunks.length, 2, 'the three messages of one read are one chunk');
    // Paused: the socket under it stops reading until resumed.
    p.server.pause();
    assert.equal(p.server.isPaused(), true);
    const serverRaw = (p.serverWs as unknown as { _socket: import('node:net').Socket })._socket;
    assert.equal(serverRaw.isPaused(), true);
    p.client.send(Buffer.from('later'));
    p.server.resume();
    assert.equal(serverRaw.isPaused(), false);
    await checkFor(() => Buffer.concat(chunks).toString() === 'oneabclater');
    p.client.close();
  });

  test('backpressure: writableLength is bufferedAmount, write returns false, then drain', async () => {
    const p = await pair();
    // The client stops reading: the server's socket fills.
    p.client.pause();
    const chunk = Buffer.alloc(64 * 1024, 1);
    let sent = 0;
    let ok = true;
    for (let i = 0; i < 2000 && ok; i++) {
      ok = p.server.write(chunk);
      sent += chunk.length;
      if (ok) await new Promise((r) => setImmediate(r));
    }
    assert.equal(ok, false, 'write returned false once the socket was full');
    assert.ok(p.server.writableLength >= WS_HIGH_WATER_MARK);
    assert.equal(p.server.writableLength, p.serverWs.bufferedAmount);
    const drained = new Promise<void>((r) => p.server.once('drain', () => r()));
    p.client.resume();
    await within(drained, 5000, "'drain'");
    assert.ok(p.server.writableLength < WS_HIGH_WATER_MARK);
    await checkFor(() => p.got.reduce((n, m) => n + m.data.length, 0) === sent, 5000);
    p.client.close();
  });

  test('end() closes with 1000 after what was written; the code may be set (1001)', async () => {
    const p = await pair();
    const closedEvents: string[] = [];
    p.server.on('end', () => closedEvents.push('end'));
    p.server.on('close', () => closedEvents.push('close'));
    p.server.write(Buffer.from('last words'));
    p.server.end();
    assert.equal(p.server.write(Buffer.from('after')), false);
    const c = await within(p.closed, 2000, 'client close');
    assert.equal(c.code, 1000);
    assert.equal(p.got.map((m) => m.data.toString()).join(), 'last words');
    await checkFor(() => p.server.closed);
    assert.deepEqual(closedEvents, ['close'], 'no end: the server closed first');

    const q = await pair();
    q.server.closeCode = 1001;
    q.server.end(Buffer.from('bye'));
    assert.equal((await within(q.closed, 2000, 'client close')).code, 1001);
    assert.equal(q.got[0]?.data.toString(), 'bye');
  });

  test('destroy() drops the connection without a close frame (1006)', async () => {
    const p = await pair();
    p.server.destroy();
    assert.equal(p.server.destroyed, true);
    assert.equal((await within(p.closed, 2000, 'client close')).code, 1006);
    await checkFor(() => p.server.closed);
  });

  test("the peer's close is end then close", async () => {
    const p = await pair();
    const events: string[] = [];
    p.server.on('data', (c: Buffer) => events.push(`data:${c}`));
    p.server.on('end', () => events.push('end'));
    p.server.on('close', () => events.push('close'));
    p.client.send(Buffer.from('x'));
    p.client.close(1000);
    await checkFor(() => events.includes('close'));
    assert.deepEqual(events, ['data:x', 'end', 'close']);
    assert.equal(p.server.closed, true);
    assert.equal(p.server.destroyed, true);
    const q = await pair();
    const qe: string[] = [];
    q.server.on('close', () => qe.push('close'));
    q.client.terminate();
    await checkFor(() => qe.length === 1);
  });

  test('binaryOnly: a text frame is an error and closes with 1003 [MQTT-6.0.0-1]', async () => {
    binaryOnly = true;
    try {
      const p = await pair();
      const errors: string[] = [];
      const data: Buffer[] = [];
      p.server.on('error', (e: NodeJS.ErrnoException) => errors.push(e.code ?? ''));
      p.server.on('data', (c: Buffer) => data.push(c));
      p.client.send('text');
      const c = await within(p.closed, 2000, 'client close');
      assert.equal(c.code, 1003);
      assert.deepEqual(errors, ['WS_TEXT_FRAME']);
      assert.equal(data.length, 0);
    } finally {
      binaryOnly = false;
    }
  });
});
