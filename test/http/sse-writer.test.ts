/**
 * The SSE writer against a fake response: nothing before `begin`, then the
 * `retry:` field first; every event of one turn of the event loop in one
 * write; the byte bound closes (slow_consumer) and destroys; a full socket
 * marks it congested until 'drain'; heartbeats only while idle.
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { test } from 'node:test';
import { setImmediate as tick } from 'node:timers/promises';
import {
  type SseCloseReason,
  type SseSink,
  SseWriter,
} from '../../src/protocols/http/sse-writer.js';
import { checkFor } from '../helpers/poll.js';

class FakeSink extends EventEmitter implements SseSink {
  writes: string[] = [];
  writableLength = 0;
  full = false;
  destroyed = false;
  ended = false;
  write(chunk: string): boolean {
    this.writes.push(chunk);
    if (this.full) this.writableLength += Buffer.byteLength(chunk);
    return !this.full;
  }
  destroy(): void {
    this.destroyed = true;
  }
  end(): void {
    this.ended = true;
  }
}

const opts = { maxPending: 1000, pauseBytes: 300, heartbeatMs: 0, writeDeadlineMs: 60_000 };

test('nothing before begin; then retry first and one write per turn', async () => {
  const sink = new FakeSink();
  const w = new SseWriter(sink, opts);
  w.send('event: a\ndata: 1\n\n');
  await tick();
  assert.deepEqual(sink.writes, []);
  w.begin('retry: 5\n\n');
  assert.deepEqual(sink.writes, ['retry: 5\n\nevent: a\ndata: 1\n\n']);
  for (let i = 0; i < 10; i++) w.send(`data: ${i}\n\n`);
  await tick();
  assert.equal(sink.writes.length, 2);
  assert.equal(sink.writes[1], Array.from({ length: 10 }, (_, i) => `data: ${i}\n\n`).join(''));
  w.close('server_shutdown');
  assert.equal(sink.ended, true);
});

test('the byte bound closes and destroys (slow_consumer); a full socket is congested until drain', async () => {
  const sink = new FakeSink();
  const w = new SseWriter(sink, opts);
  const closed: SseCloseReason[] = [];
  w.onClose = (why) => closed.push(why);
  let woken = 0;
  w.onWritable = () => woken++;
  w.begin('');
  sink.full = true;
  w.send('x'.repeat(200));
  await tick();
  assert.equal(w.congested, true, 'the socket took the write but is full');
  sink.full = false;
  sink.writableLength = 0;
  sink.emit('drain');
  assert.equal(w.congested, false);
  assert.ok(woken >= 1);
  w.send('y'.repeat(400));
  assert.equal(w.congested, true, 'queued past pauseBytes');
  assert.equal(w.send('z'.repeat(700)), false);
  assert.deepEqual(closed, ['slow_consumer']);
  assert.equal(sink.destroyed, true);
  assert.equal(w.send('more'), false);
});

test('heartbeats only while idle', async () => {
  const sink = new FakeSink();
  const w = new SseWriter(sink, { ...opts, heartbeatMs: 30 });
  w.begin('retry: 1\n\n');
  await checkFor(() => sink.writes.includes(': hb\n\n'), 2000);
  w.close('client_closed');
  assert.equal(w.send(': hb\n\n'), false, 'nothing after close');
  assert.equal(sink.ended, false, 'the client closed: nothing is ended by the writer');
});
