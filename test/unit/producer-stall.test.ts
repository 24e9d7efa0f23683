/**
 * The fast-producer stall's bookkeeping (src/connection/producer-stall.ts):
 * its time grows from STALL_MIN_MS at half max_pending to STALL_MAX_MS at
 * max_pending; a producer is paused only after a read that fed a
 * connection that is behind, never for itself; it goes on when that
 * connection catches up, or at the stall's time, and each is counted.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  type Lagging,
  ProducerStall,
  STALL_MAX_MS,
  STALL_MIN_MS,
  stallMs,
} from '../../src/connection/producer-stall.js';
import type { Transport } from '../../src/connection/transport.js';
import { checkFor } from '../helpers/poll.js';

/** A socket that only remembers whether it is paused. */
function fakeSocket(): Transport & { resumes: number } {
  let paused = false;
  const s = {
    destroyed: false,
    resumes: 0,
    pause: () => {
      paused = true;
    },
    resume: () => {
      paused = false;
      s.resumes++;
    },
    isPaused: () => paused,
  };
  return s as unknown as Transport & { resumes: number };
}

const lagging = (): Lagging => ({ closed: false, producersWait: false });
const MAX = 1000;

describe('producer stall', () => {
  test('the stall grows from the shortest at half max_pending to the longest at it', () => {
    assert.equal(stallMs(MAX / 2, MAX), STALL_MIN_MS);
    assert.equal(stallMs(MAX * 0.75, MAX), (STALL_MIN_MS + STALL_MAX_MS) / 2);
    assert.equal(stallMs(MAX, MAX), STALL_MAX_MS);
    assert.equal(stallMs(MAX * 3, MAX), STALL_MAX_MS);
  });

  test('only a read that fed a connection behind pauses its producer, never for itself', () => {
    const st = new ProducerStall();
    const producer = {};
    const sock = fakeSocket();
    const c = lagging();
    st.behind(c, 600, MAX); // no producer reading: nothing noted
    st.afterRead(producer, sock);
    assert.equal(sock.isPaused(), false);
    st.producer = c; // a connection queueing to itself
    st.behind(c, 600, MAX);
    st.producer = null;
    st.afterRead(c, sock);
    assert.equal(sock.isPaused(), false);
    assert.equal(st.stalls, 0);
  });

  test('a paused producer goes on when the connection catches up', () => {
    const st = new ProducerStall();
    const producer = {};
    const sock = fakeSocket();
    const c = lagging();
    st.producer = producer;
    st.behind(c, 990, MAX);
    st.producer = null;
    st.afterRead(producer, sock);
    assert.equal(sock.isPaused(), true);
    assert.equal(c.producersWait, true);
    assert.equal(st.waitingNow, 1);
    st.caughtUp(c);
    assert.equal(sock.isPaused(), false);
    assert.equal(c.producersWait, false);
    assert.equal(st.waitingNow, 0);
    assert.deepEqual([st.stalls, st.timeouts], [1, 0]);
  });

  test('a paused producer goes on at the stall time when the connection takes nothing', async () => {
    const st = new ProducerStall();
    const producer = {};
    const sock = fakeSocket();
    const c = lagging();
    st.producer = producer;
    st.behind(c, MAX, MAX);
    st.producer = null;
    st.afterRead(producer, sock);
    assert.equal(sock.isPaused(), true);
    await checkFor(() => !sock.isPaused(), 1000, 1);
    assert.deepEqual([st.stalls, st.timeouts, st.waitingNow], [1, 1, 0]);
    assert.equal(c.producersWait, false);
    st.caughtUp(c); // late: nothing waits, nothing resumed twice
    assert.equal(sock.resumes, 1);
  });
});
