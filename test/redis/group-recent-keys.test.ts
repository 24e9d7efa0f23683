/**
 * The group's memo of the keys its reads made (recent-keys.ts): an XACK of
 * the IDs a read answered with gets the read's own key strings (found by
 * their text, in order or not), anything else is keyed from its bytes as
 * before; the ring keeps RECENT_KEYS IDs, the oldest go first, and texts
 * over RECENT_TEXT_MAX bytes are not kept. NewRead fills it from the
 * entries' header blocks.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { strictIds } from '../../src/protocols/redis/groups/access.js';
import type { GroupFeed } from '../../src/protocols/redis/groups/feed.js';
import { idKey } from '../../src/protocols/redis/groups/ids.js';
import { NewRead } from '../../src/protocols/redis/groups/read-new.js';
import {
  RECENT_KEYS,
  RECENT_TEXT_MAX,
  RecentKeys,
} from '../../src/protocols/redis/groups/recent-keys.js';
import { GroupState, UNKNOWN_READ } from '../../src/protocols/redis/groups/state.js';
import { keyOfCanonical, MappedStreams } from '../../src/protocols/redis/groups/streams-view.js';
import type { EntryMessage } from '../../src/protocols/redis/groups/view.js';

const b = (t: string) => Buffer.from(t, 'latin1');
const keyOf = (t: string) => keyOfCanonical(b(t), 0, t.length);
const args = (...ids: string[]) => ['XACK', 's', 'g', ...ids].map(b);

describe('the keys of the IDs last read (recent-keys.ts)', () => {
  test('found by text, in order or not; a miss is undefined', () => {
    const m = new RecentKeys();
    const texts = ['1733550000000-0', '1733550000000-1', '1733550000001-0', '7-12'];
    // A block with the text inside it, as a header block holds it.
    for (const t of texts) m.add(b(`xx${t}\r\n`), 2, 2 + t.length, `key:${t}`);
    for (const t of [...texts, ...texts.reverse()]) assert.equal(m.keyOf(b(t)), `key:${t}`);
    for (const t of ['1733550000000-2', '7-1', '17-12', '']) assert.equal(m.keyOf(b(t)), undefined);
  });

  test('a ring of RECENT_KEYS: the oldest go first; long texts are not kept', () => {
    const m = new RecentKeys();
    const t = (i: number) => `1733550000000-${i}`;
    for (let i = 0; i < RECENT_KEYS + 5; i++) m.add(b(t(i)), 0, t(i).length, keyOf(t(i)));
    for (let i = 0; i < 5; i++) assert.equal(m.keyOf(b(t(i))), undefined, `${i} gone`);
    for (let i = 5; i < RECENT_KEYS + 5; i++) assert.equal(m.keyOf(b(t(i))), keyOf(t(i)));
    const long = `${'1'.repeat(20)}-${'2'.repeat(21)}`;
    assert.ok(long.length > RECENT_TEXT_MAX);
    m.add(b(long), 0, long.length, 'long');
    assert.equal(m.keyOf(b(long)), undefined);
    // The longest ID's text fits.
    const max = '18446744073709551615-18446744073709551615';
    assert.equal(max.length, RECENT_TEXT_MAX);
    m.add(b(max), 0, max.length, keyOf(max));
    assert.equal(m.keyOf(b(max)), keyOf(max));
  });

  test("XACK takes the read's keys from the memo; other IDs keyed from their bytes", () => {
    const state = new GroupState('g', idKey(0n, 0n), UNKNOWN_READ, 0);
    // A marker key shows which way each ID went (a real key equals its text's).
    state.recentKeys().add(b('5-1'), 0, 3, 'from the memo');
    const ack = strictIds(args('5-0', '5-1'), 3, state)!;
    assert.deepEqual(ack.ids, [idKey(5n, 0n), 'from the memo']);
    assert.ok(ack.texts !== undefined, 'texts kept: every ID canonical');
    // Without the state, or a state with no memo: keyed from the bytes.
    assert.deepEqual(strictIds(args('5-0', '5-1'), 3)!.ids, [idKey(5n, 0n), idKey(5n, 1n)]);
    const fresh = new GroupState('g', idKey(0n, 0n), UNKNOWN_READ, 0);
    assert.deepEqual(strictIds(args('5-1'), 3, fresh)!.ids, [idKey(5n, 1n)]);
    // A non-canonical ID is never looked up (its text is not a read's).
    state.recentKeys().add(b('05-1'), 0, 4, 'wrong');
    assert.deepEqual(strictIds(args('05-1'), 3, state)!.ids, [idKey(5n, 1n)]);
  });

  test("NewRead fills the group's memo from the entries' header blocks", () => {
    const entry = (seq: number, idText: string, field?: string): EntryMessage => {
      const lines = ['NATS/1.0', `Redis-Stream-Id: ${idText}`];
      if (field !== undefined) lines.push(`Redis-Field: ${field}`);
      return {
        seq,
        subject: 'redis.s',
        headers: b(`${lines.join('\r\n')}\r\n\r\n`),
        payload: Buffer.from(`v${seq}`),
        time: 1,
      };
    };
    const view = new MappedStreams(null as never);
    const feed = { takeOwed: () => false, ack: () => {} } as unknown as GroupFeed;
    const state = new GroupState('g', idKey(0n, 0n), UNKNOWN_READ, 0);
    const r = new NewRead(view, null as never, state, feed, 10);
    for (const [i, t] of ['1733550000000-0', '1733550000000-1', '1733550000002-7'].entries())
      r.consider(entry(i + 1, t, i === 1 ? 'name' : undefined));
    const keys = r.taken.map((e) => e.id);
    for (const [i, t] of ['1733550000000-0', '1733550000000-1', '1733550000002-7'].entries())
      assert.equal(state.recentKey(b(t)), keys[i]);
    assert.deepEqual(strictIds(args('1733550000000-1', '1733550000002-7'), 3, state)!.ids, [
      keys[1],
      keys[2],
    ]);
  });
});
