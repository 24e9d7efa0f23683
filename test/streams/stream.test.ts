/**
 * The stream layer over both stores: configuration defaults and refusals,
 * the header checks, de-duplication (also rebuilt after a reopen), limits,
 * and concurrent publishes numbered in arrival order.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { openFileStore } from '../../src/streams/file-store.js';
import { parseHeaders } from '../../src/streams/headers.js';
import { createMemoryStore } from '../../src/streams/memory-store.js';
import type { StreamStore } from '../../src/streams/store.js';
import { Stream } from '../../src/streams/stream.js';
import {
  normalizeConfig,
  type StreamConfig,
  subjectsOverlap,
} from '../../src/streams/stream-config.js';
import { StreamApiError } from '../../src/streams/stream-errors.js';

const hdr = (pairs: Record<string, string>): Buffer =>
  Buffer.from(
    `NATS/1.0\r\n${Object.entries(pairs)
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('')}\r\n`,
  );
const p = (s: string): Buffer => Buffer.from(s);

function cfg(extra: Record<string, unknown> = {}): StreamConfig {
  return normalizeConfig({ name: 'S', subjects: ['s.>'], ...extra }, 'S');
}

async function errCode(promise: Promise<unknown>): Promise<[number, string]> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof StreamApiError, String(err));
    return [err.errCode, err.message];
  }
  assert.fail('expected a StreamApiError');
}

describe('stream helpers', () => {
  test('parseHeaders reads keys case-insensitively, the first value wins', () => {
    const h = parseHeaders(
      Buffer.from('NATS/1.0\r\nNats-Msg-Id: a\r\nnats-msg-id: b\r\nX:  y \r\n\r\n'),
    );
    assert.equal(h.get('nats-msg-id'), 'a');
    assert.equal(h.get('x'), 'y');
    assert.equal(parseHeaders(null).size, 0);
    assert.equal(parseHeaders(Buffer.from('garbage')).size, 0);
  });

  test('subjectsOverlap', () => {
    assert.equal(subjectsOverlap('a.>', 'a.b'), true);
    assert.equal(subjectsOverlap('a.*', 'a.b.c'), false);
    assert.equal(subjectsOverlap('a.*.c', 'a.b.*'), true);
    assert.equal(subjectsOverlap('a', 'a.>'), false);
    assert.equal(subjectsOverlap('>', 'x'), true);
    assert.equal(subjectsOverlap('a.b', 'a.c'), false);
  });

  test('normalizeConfig fills defaults and refuses what nats-server refuses', () => {
    const c = normalizeConfig({ name: 'N' }, 'N');
    assert.deepEqual(c.subjects, ['N']);
    assert.equal(c.duplicate_window, 120_000_000_000);
    assert.equal(c.max_msgs, -1);
    assert.equal(normalizeConfig({ name: 'N', max_age: 1e9 }, 'N').duplicate_window, 1e9);
    const code = (body: unknown, name = 'N'): number => {
      try {
        normalizeConfig(body, name);
      } catch (err) {
        return (err as StreamApiError).errCode;
      }
      return 0;
    };
    assert.equal(code('x'), 10025);
    assert.equal(code({ name: 'M' }), 10056);
    assert.equal(code({ name: 'N', subjects: ['a..b'] }), 10052);
    assert.equal(code({ name: 'N', num_replicas: 3 }), 10074);
    assert.equal(code({ name: 'N', storage: 'disk' }), 10025);
    assert.equal(code({ name: 'N', max_msgs: 'many' }), 10025);
    assert.equal(code({ name: 'N', retention: 'workqueue' }), 0);
    assert.equal(code({ name: 'N', retention: 'interest' }), 0);
    assert.equal(code({ name: 'N', retention: 'queue' }), 10025);
    assert.equal(code({ name: 'N', subjects: ['a.>', 'a.b'] }), 10052);
    assert.equal(code({ name: 'a.b' }, 'a.b'), 10052);
  });
});

for (const kind of ['memory', 'file'] as const) {
  describe(`stream over the ${kind} store`, () => {
    async function withStream(
      config: StreamConfig,
      fn: (s: Stream, reopen: () => Promise<Stream>) => Promise<void>,
    ): Promise<void> {
      const dir = await mkdtemp(path.join(tmpdir(), 'weft-stream-'));
      const open = (): Promise<StreamStore> =>
        kind === 'memory'
          ? Promise.resolve(createMemoryStore())
          : openFileStore(dir, { sync: { kind: 'always' } });
      let s = new Stream(config, await open(), new Date());
      await s.open();
      try {
        await fn(s, async () => {
          await s.close();
          s = new Stream(config, await open(), s.created);
          await s.open();
          return s;
        });
      } finally {
        await s.close();
        await rm(dir, { recursive: true, force: true });
      }
    }

    test('concurrent publishes are numbered in arrival order', () =>
      withStream(cfg(), async (s) => {
        const acks = await Promise.all(
          Array.from({ length: 50 }, (_, i) => s.store(`s.${i}`, null, p(String(i)))),
        );
        assert.deepEqual(
          acks.map((a) => a.seq),
          Array.from({ length: 50 }, (_, i) => i + 1),
        );
        assert.equal((await s.messages.get(17))!.subject, 's.16');
      }));

    test('de-duplication, also of concurrent duplicates', () =>
      withStream(cfg(), async (s) => {
        const [a, b] = await Promise.all([
          s.store('s.a', hdr({ 'Nats-Msg-Id': 'x' }), p('1')),
          s.store('s.a', hdr({ 'Nats-Msg-Id': 'x' }), p('1')),
        ]);
        assert.deepEqual(a, { seq: 1 });
        assert.deepEqual(b, { seq: 1, duplicate: true });
        assert.equal(s.state().messages, 1);
      }));

    test('expected headers', () =>
      withStream(cfg(), async (s) => {
        await s.store('s.a', hdr({ 'Nats-Msg-Id': 'one' }), p('1'));
        assert.deepEqual(
          await errCode(s.store('s.a', hdr({ 'Nats-Expected-Stream': 'T' }), p(''))),
          [10060, 'expected stream does not match'],
        );
        assert.deepEqual(
          await errCode(s.store('s.a', hdr({ 'Nats-Expected-Last-Sequence': '0' }), p(''))),
          [10071, 'wrong last sequence: 1'],
        );
        assert.deepEqual(
          await errCode(s.store('s.b', hdr({ 'Nats-Expected-Last-Subject-Sequence': '1' }), p(''))),
          [10071, 'wrong last sequence: 0'],
        );
        assert.deepEqual(
          await errCode(s.store('s.a', hdr({ 'Nats-Expected-Last-Msg-Id': 'two' }), p(''))),
          [10070, 'wrong last msg ID: one'],
        );
        const ok = await s.store(
          's.a',
          hdr({
            'Nats-Expected-Stream': 'S',
            'Nats-Expected-Last-Sequence': '1',
            'Nats-Expected-Last-Subject-Sequence': '1',
            'Nats-Expected-Last-Msg-Id': 'one',
          }),
          p('2'),
        );
        assert.equal(ok.seq, 2);
      }));

    test('limits: max_bytes with discard old, discard new, max_msg_size', async () => {
      await withStream(cfg({ max_bytes: 100 }), async (s) => {
        for (let i = 0; i < 10; i++) await s.store('s.a', null, Buffer.alloc(30));
        const st = s.state();
        assert.ok(st.bytes <= 100, `bytes ${st.bytes}`);
        assert.equal(st.lastSeq, 10);
        assert.equal(st.messages, 3);
      });
      await withStream(cfg({ max_bytes: 100, discard: 'new' }), async (s) => {
        await s.store('s.a', null, Buffer.alloc(60));
        assert.deepEqual(await errCode(s.store('s.a', null, Buffer.alloc(60))), [
          10077,
          'maximum bytes exceeded',
        ]);
      });
      await withStream(cfg({ max_msg_size: 2 }), async (s) => {
        assert.equal((await errCode(s.store('s.a', null, p('abc'))))[0], 10054);
      });
    });

    test('limits apply again after an update', () =>
      withStream(cfg(), async (s) => {
        for (let i = 0; i < 5; i++) await s.store(`s.${i % 2}`, null, p(String(i)));
        await s.update(cfg({ max_msgs_per_subject: 1 }));
        assert.equal(s.state().messages, 2);
        await s.update(cfg({ max_msgs: 1 }));
        assert.equal(s.state().messages, 1);
        assert.equal(s.state().firstSeq, 5);
      }));

    if (kind === 'file') {
      test('the dedup window and last msg id are rebuilt on reopen', () =>
        withStream(cfg(), async (_s, reopen) => {
          await _s.store('s.a', hdr({ 'Nats-Msg-Id': 'k' }), p('1'));
          const s = await reopen();
          assert.deepEqual(await s.store('s.a', hdr({ 'Nats-Msg-Id': 'k' }), p('1')), {
            seq: 1,
            duplicate: true,
          });
          const ok = await s.store('s.a', hdr({ 'Nats-Expected-Last-Msg-Id': 'k' }), p('2'));
          assert.equal(ok.seq, 2);
        }));
    }
  });
}
