/**
 * What the memory store does beyond the shared contract suite (which
 * conformance.test.ts runs on it): its layout survives long trims from the
 * front, and seqForTime copes with times that go backwards.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createMemoryStore } from '../../src/streams/memory-store.js';

describe('memory store', () => {
  test('trimming far past the compaction point keeps every sequence addressable', async () => {
    const s = createMemoryStore();
    for (let i = 1; i <= 5000; i++) await s.append(`t.${i % 3}`, null, Buffer.from(`${i}`), i);
    // Limits trim from the front one message at a time.
    for (let i = 1; i <= 3000; i++) assert.equal(await s.remove(i), true);
    assert.equal(await s.purge({ upToSeq: 3500 }), 499);
    const st = s.state();
    assert.deepEqual(
      [st.messages, st.firstSeq, st.lastSeq, st.firstTime, st.lastTime, st.subjects],
      [1501, 3500, 5000, 3500, 5000, 3],
    );
    assert.equal(await s.get(3499), null);
    assert.equal((await s.get(3500))!.payload.toString(), '3500');
    assert.equal((await s.get(5000))!.payload.toString(), '5000');
    assert.equal((await s.next(0, 't.1'))!.seq, 3502);
    assert.equal(s.seqForTime(4000), 4000);
    assert.equal(s.subjectSeqs('t.2').length, 501);
    assert.equal(s.subjectSeqs('t.2')[0], 3500);
    assert.equal((await s.append('t.0', null, Buffer.alloc(0), 5001)).seq, 5001);
  });

  test('seqForTime finds the first held at or after a time even when times go back', async () => {
    const s = createMemoryStore();
    for (const t of [100, 300, 200, 400]) await s.append('a', null, Buffer.alloc(0), t);
    assert.equal(s.seqForTime(150), 2);
    assert.equal(s.seqForTime(301), 4);
    assert.equal(await s.remove(2), true);
    assert.equal(s.seqForTime(150), 3);
    assert.equal(s.seqForTime(401), 5);
  });

  test('subjectSeqs hands out a copy', async () => {
    const s = createMemoryStore();
    for (let i = 0; i < 3; i++) await s.append('a', null, Buffer.alloc(0), i);
    const seqs = s.subjectSeqs('a');
    // The stream layer removes while walking this list.
    for (const seq of seqs) assert.equal(await s.remove(seq), true);
    assert.deepEqual(seqs, [1, 2, 3]);
    assert.deepEqual(s.subjectSeqs('a'), []);
  });
});
