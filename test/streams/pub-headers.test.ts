/**
 * The publish headers `Stream.store` reads (readPubHeaders), and `store`
 * with them handed in by the caller: the same checks as when they are read
 * from the block, and a block without `Nats-` names read no further.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { NO_PUB_HEADERS, readPubHeaders } from '../../src/streams/headers.js';
import { createMemoryStore } from '../../src/streams/memory-store.js';
import { Stream } from '../../src/streams/stream.js';
import { normalizeConfig } from '../../src/streams/stream-config.js';
import { StreamApiError } from '../../src/streams/stream-errors.js';

const block = (text: string): Buffer => Buffer.from(`NATS/1.0\r\n${text}\r\n`, 'latin1');

describe('readPubHeaders', () => {
  test('none: no block, an empty one, or no Nats- name', () => {
    assert.equal(readPubHeaders(null), NO_PUB_HEADERS);
    assert.equal(readPubHeaders(Buffer.alloc(0)), NO_PUB_HEADERS);
    assert.equal(readPubHeaders(block('X-Trace: 1\r\nNats: no dash\r\n')), NO_PUB_HEADERS);
    assert.equal(readPubHeaders(Buffer.from('NATS/1.0 503\r\n\r\n')), NO_PUB_HEADERS);
  });

  test('names in any case, first value wins, values trimmed', () => {
    const h = readPubHeaders(
      block(
        'nats-msg-id:  a \r\nNATS-MSG-ID: b\r\nNats-Expected-Stream: S\r\n' +
          'Nats-Expected-Last-Sequence: 3\r\nNats-Expected-Last-Subject-Sequence: 2\r\n' +
          'Nats-Expected-Last-Msg-Id: z\r\nNats-Rollup: sub\r\n',
      ),
    );
    assert.deepEqual(
      { ...h },
      {
        msgId: 'a',
        expectedStream: 'S',
        expectedLastSeq: '3',
        expectedLastSubjectSeq: '2',
        expectedLastMsgId: 'z',
        rollup: 'sub',
      },
    );
  });

  test('a Nats- name the stream does not read gives none of them', () => {
    const h = readPubHeaders(block('X-Nats-Thing: 1\r\nNats-Other: 2\r\n'));
    assert.equal(h.msgId, undefined);
    assert.equal(h.expectedStream, undefined);
  });

  test('the same answers as parsing every block of a small alphabet (fuzz)', () => {
    const names = ['Nats-Msg-Id', 'nats-msg-id', 'X-Nats-', 'Nats-Expected-Stream', 'n', 'NATS-'];
    let seed = 7;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    for (let i = 0; i < 2000; i++) {
      let text = '';
      for (let k = rnd(4); k > 0; k--) text += `${names[rnd(names.length)]}: v${rnd(3)}\r\n`;
      const h = readPubHeaders(block(text));
      const lines = text.split('\r\n').filter((l) => l !== '');
      const first = (name: string): string | undefined =>
        lines
          .map((l) => [
            l.slice(0, l.indexOf(':')).trim().toLowerCase(),
            l.slice(l.indexOf(':') + 1).trim(),
          ])
          .find(([k]) => k === name)?.[1];
      assert.equal(h.msgId, first('nats-msg-id'), text);
      assert.equal(h.expectedStream, first('nats-expected-stream'), text);
    }
  });
});

describe('Stream.store with the publish headers handed in', () => {
  const open = async (): Promise<Stream> => {
    const s = new Stream(
      normalizeConfig({ name: 'S', subjects: ['s.>'], storage: 'memory' }, 'S'),
      createMemoryStore(),
      new Date(),
    );
    await s.open();
    return s;
  };

  test('a message id handed in de-duplicates as one read from the block', async () => {
    const s = await open();
    const a = await s.store('s.a', null, Buffer.from('1'), { msgId: 'x' });
    const b = await s.store('s.a', block('Nats-Msg-Id: x\r\n'), Buffer.from('1'));
    assert.equal(a.seq, 1);
    assert.deepEqual(b, { seq: 1, duplicate: true });
    await s.close();
  });

  test('NO_PUB_HEADERS: the block is not read (its Nats- headers are not applied)', async () => {
    const s = await open();
    const h = block('Nats-Expected-Stream: OTHER\r\n');
    await assert.rejects(s.store('s.a', h, Buffer.from('1')), StreamApiError);
    const ok = await s.store('s.a', h, Buffer.from('1'), NO_PUB_HEADERS);
    assert.equal(ok.seq, 1);
    // Stored as given.
    assert.deepEqual((await s.messages.get(1))!.headers, h);
    await s.close();
  });

  test('expected last sequence handed in is checked', async () => {
    const s = await open();
    await s.store('s.a', null, Buffer.from('1'));
    await assert.rejects(
      s.store('s.a', null, Buffer.from('2'), { expectedLastSeq: '5' }),
      (e: unknown) => e instanceof StreamApiError && e.errCode === 10071,
    );
    assert.equal((await s.store('s.a', null, Buffer.from('2'), { expectedLastSeq: '1' })).seq, 2);
    await s.close();
  });
});
