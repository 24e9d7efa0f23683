/**
 * A group read's IDs taken from the bytes at hand: the record's IDs copied
 * from the entries' header blocks as XADD wrote them (record-bytes.ts
 * `IdBytes`), and the ID's end found once per entry (read-new.ts) for the
 * key, the record and the reply. The stored bytes stay the same.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { encode as encodeReply } from '../../src/protocols/redis/encoder.js';
import { strictId, strictIds, strictIdsAt } from '../../src/protocols/redis/groups/access.js';
import type { GroupFeed } from '../../src/protocols/redis/groups/feed.js';
import { type IdKey, idKey, MAX_ID } from '../../src/protocols/redis/groups/ids.js';
import { NewRead } from '../../src/protocols/redis/groups/read-new.js';
import { type IdBytes, recordAt } from '../../src/protocols/redis/groups/record-bytes.js';
import { GroupState, UNKNOWN_READ } from '../../src/protocols/redis/groups/state.js';
import { encode } from '../../src/protocols/redis/groups/store.js';
import { MappedStreams } from '../../src/protocols/redis/groups/streams-view.js';
import type { EntryMessage } from '../../src/protocols/redis/groups/view.js';
import { storedEntryReply, xaddIdEnd } from '../../src/protocols/redis/stream-map.js';

/** A stored entry as XADD writes it (field `payload`, or `Redis-Field: <f>`), or another block. */
function entry(seq: number, idText: string, field?: string): EntryMessage {
  const lines = [`NATS/1.0`, `Redis-Stream-Id: ${idText}`];
  if (field !== undefined) lines.push(`Redis-Field: ${field}`);
  return {
    seq,
    subject: 'redis.s',
    headers: Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'),
    payload: Buffer.from(`v${seq}`),
    time: 1,
  };
}

const view = new MappedStreams(null as never);
const U64 = 18446744073709551615n;

function idBytes(m: EntryMessage): IdBytes {
  return { msg: m, idEnd: xaddIdEnd(m.headers) };
}

describe('group read records: IDs from the entries header blocks', () => {
  test('the same bytes as encode, for every kind of ID and block', () => {
    const ids = [
      '0-1',
      '1-0',
      '1733500000123-0',
      '1733500000123-7',
      '18446744073709551615-18446744073709551615',
      '99999999999999999999-0', // over 2^64-1: not XADD's form, the key's bytes instead
      '007-1', // not canonical: the key's bytes instead
    ];
    const msgs = ids.map((t, i) => entry(i + 1, t, i % 2 === 0 ? undefined : 'f'));
    // One from another face (no Redis-Stream-Id), and one with no headers.
    msgs.push({ seq: 20, subject: 'x', headers: null, payload: Buffer.alloc(0), time: 5 });
    msgs.push({
      seq: 21,
      subject: 'x',
      headers: Buffer.from('NATS/1.0\r\nOther: 1\r\n\r\n'),
      payload: Buffer.alloc(0),
      time: 6,
    });
    const from = msgs.map(idBytes);
    assert.deepEqual(
      from.map((b) => b.idEnd > 0),
      [true, true, true, true, true, false, false, false, false],
    );
    const keys: IdKey[] = msgs.map((m) => view.idOf(null as never, m));
    const buf = Buffer.alloc(8192, 0xee);
    const cases: [IdKey[], IdBytes[], IdKey][] = [
      [keys, from, keys[keys.length - 1]!],
      [keys.slice(0, 5), from.slice(0, 5), keys[4]!], // last from the last entry's block
      [keys.slice(0, 5), from.slice(0, 5), MAX_ID], // last above the entries (late entries)
      [keys.slice(2, 3), from.slice(2, 3), keys[2]!],
    ];
    for (const [ks, src, last] of cases) {
      for (const noack of [false, true]) {
        const op = {
          o: 'read' as const,
          c: 'consumer-1',
          t: 1733500000123,
          n: ks.map((k, i) => [k, i + 1] as [IdKey, number]),
          last,
          er: UNKNOWN_READ,
          ...(noack ? { noack: 1 as const } : {}),
        };
        buf.fill(0xee);
        const len = recordAt(op, buf, src);
        assert.ok(len > 0);
        assert.equal(buf.subarray(0, len).toString('latin1'), encode(op).toString('latin1'));
        assert.ok(buf.subarray(len).every((b) => b === 0xee));
      }
    }
  });

  test('the IDs are copied from the blocks, not formatted from the keys', () => {
    // A block whose ID differs from the key given: the block's text is written.
    const m = entry(1, '7-1');
    const op = {
      o: 'read' as const,
      c: 'c',
      t: 1,
      n: [[idKey(5n, 0n), 1] as [IdKey, number]],
      last: idKey(5n, 0n),
      er: 1,
    };
    const buf = Buffer.alloc(1024);
    const len = recordAt(op, buf, [idBytes(m)]);
    assert.equal(
      buf.subarray(0, len).toString(),
      '{"o":"read","c":"c","t":1,"n":[["7-1",1]],"last":"7-1","er":1}',
    );
    // Without the blocks (or a count that does not match), the keys.
    const plain = recordAt(op, buf);
    assert.equal(buf.subarray(0, plain).toString(), encode(op).toString());
    const other = recordAt(op, buf, []);
    assert.equal(buf.subarray(0, other).toString(), encode(op).toString());
  });
});

describe('a group read finds each entry ID end once', () => {
  test('NewRead keeps the end for the key, the record and the reply', () => {
    let ends = 0;
    const seen: (number | undefined)[] = [];
    const counting = {
      idEnd: (m: EntryMessage) => {
        ends++;
        return view.idEnd(m);
      },
      idOf: (cs: never, m: EntryMessage, end?: number) => {
        seen.push(end);
        return view.idOf(cs, m, end);
      },
    } as unknown as ConstructorParameters<typeof NewRead>[0];
    const feed = { takeOwed: () => false, ack: () => {} } as unknown as GroupFeed;
    const state = new GroupState('g', idKey(0n, 0n), UNKNOWN_READ, 0);
    const r = new NewRead(counting, null as never, state, feed, 10);
    const msgs = [entry(1, '5-0'), entry(2, '5-1', 'name'), entry(3, '6-0')];
    for (const m of msgs) r.consider(m);
    assert.equal(ends, 3);
    assert.deepEqual(
      seen,
      msgs.map((m) => xaddIdEnd(m.headers)),
    );
    const got = r.entries();
    assert.deepEqual(
      got.map((e) => e.idEnd),
      msgs.map((m) => xaddIdEnd(m.headers)),
    );
    // The reply made with the kept end: the bytes of the reply made without it.
    for (const e of got) {
      for (const p of [2, 3] as const) {
        assert.deepEqual(
          encodeReply(view.entry(null as never, e.msg, e.idEnd), p),
          encodeReply(storedEntryReply(e.msg), p),
        );
      }
    }
  });
});

describe('group ack records: IDs from XACK arguments', () => {
  const args = (...ids: string[]) => ['XACK', 's', 'g', ...ids].map((t) => Buffer.from(t));

  test('strictIds keeps the texts only when every ID is in its short form', () => {
    const canonical = strictIds(args('1733500000123-0', '0-1', '18446744073709551615-1'), 3);
    assert.ok(canonical !== null && canonical.texts !== undefined);
    assert.deepEqual(canonical.ids, [idKey(1733500000123n, 0n), idKey(0n, 1n), idKey(U64, 1n)]);
    for (const other of ['5', '05-0', '5-00', '0005']) {
      const got = strictIds(args('1-0', other), 3);
      assert.ok(got !== null && got.texts === undefined, other);
      assert.deepEqual(got.ids, [idKey(1n, 0n), strictId(Buffer.from(other))]);
    }
    assert.equal(strictIds(args('1-0', 'x'), 3), null);
    assert.equal(strictIds(args('18446744073709551616-0'), 3), null);
  });

  test('the same bytes as encode, the IDs copied from the texts', () => {
    const buf = Buffer.alloc(4096, 0xee);
    const lists = [
      ['1-0'],
      ['1733500000123-0', '1733500000123-17', '18446744073709551615-18446744073709551615'],
    ];
    for (const list of lists) {
      const ack = strictIds(args(...list), 3)!;
      const op = { o: 'ack' as const, ids: ack.ids };
      buf.fill(0xee);
      const len = recordAt(op, buf, ack.texts);
      assert.equal(buf.subarray(0, len).toString(), encode(op).toString());
      assert.ok(buf.subarray(len).every((b) => b === 0xee));
    }
    // Texts that differ from the keys: the texts are written.
    const len = recordAt({ o: 'ack', ids: [idKey(5n, 0n)] }, buf, args('7-1'));
    assert.equal(buf.subarray(0, len).toString(), '{"o":"ack","ids":["7-1"]}');
  });

  test('XACK read as ranges (strictIdsAt): the keys and the record of strictIds, else null', () => {
    const ranges = (texts: string[]) => {
      // The IDs amid other bytes, as in a read: `$n\r\n<id>\r\n` each.
      const buf = Buffer.from(texts.map((t) => `$${t.length}\r\n${t}\r\n`).join(''));
      const starts = new Uint32Array(64);
      const ends = new Uint32Array(64);
      let at = 0;
      texts.forEach((t, i) => {
        at = buf.indexOf('\n', at) + 1;
        starts[i] = at;
        ends[i] = at + t.length;
        at = ends[i]! + 2;
      });
      return { buf, starts, ends };
    };
    const state = new GroupState('g', idKey(0n, 0n), UNKNOWN_READ, 0);
    // One ID a read answered with: its kept key is the one given.
    const kept = `${idKey(1733500000123n, 17n)}`.slice(0);
    state.recentKeys().add(Buffer.from('1733500000123-17'), 0, 16, kept);
    const out = Buffer.alloc(4096);
    const list = ['1-0', '1733500000123-17', '18446744073709551615-18446744073709551615', '0-0'];
    const { buf, starts, ends } = ranges(list);
    const got = strictIdsAt(buf, starts, ends, list.length, state)!;
    const want = strictIds(args(...list), 3)!;
    assert.deepEqual(got.ids, want.ids);
    assert.equal(got.ids[1], kept);
    const len = recordAt({ o: 'ack', ids: got.ids }, out, got.texts);
    assert.equal(out.subarray(0, len).toString(), encode({ o: 'ack', ids: want.ids }).toString());
    // Any ID not in its short form, or not an ID: null (read as arguments instead).
    for (const other of ['5', '05-0', '5-00', 'x', '', '-', '18446744073709551616-0']) {
      const r = ranges(['1-0', other]);
      assert.equal(strictIdsAt(r.buf, r.starts, r.ends, 2, state), null, other);
    }
  });
});
