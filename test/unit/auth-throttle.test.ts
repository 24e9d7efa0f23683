/**
 * The per-address slow-down of failed logins: free failures, then doubling
 * delays to a cap, a bound on waiting checks per address, a bound on the
 * addresses remembered, and nobody else affected.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  AuthThrottle,
  FIRST_DELAY_MS,
  FORGET_MS,
  FREE_FAILURES,
  MAX_ADDRESSES,
  MAX_DELAY_MS,
  MAX_WAITING_PER_ADDRESS,
} from '../../src/auth/throttle.js';

describe('AuthThrottle', () => {
  test('free failures, then doubling delays up to the cap, for that address only', () => {
    const t = new AuthThrottle();
    const now = 1_000_000;
    for (let i = 0; i < FREE_FAILURES; i++) {
      assert.equal(t.delayFor('10.0.0.1', now), 0);
      t.failed('10.0.0.1', now);
    }
    assert.equal(t.delayFor('10.0.0.1', now), FIRST_DELAY_MS);
    t.failed('10.0.0.1', now);
    assert.equal(t.delayFor('10.0.0.1', now), FIRST_DELAY_MS * 2);
    for (let i = 0; i < 20; i++) t.failed('10.0.0.1', now);
    assert.equal(t.delayFor('10.0.0.1', now), MAX_DELAY_MS);
    assert.equal(t.delayFor('10.0.0.2', now), 0);
    // Quiet long enough, the address is forgotten.
    assert.equal(t.delayFor('10.0.0.1', now + FORGET_MS + 1), 0);
  });

  test('too many waiting checks from one address are refused unchecked', () => {
    const t = new AuthThrottle();
    for (let i = 0; i < FREE_FAILURES; i++) t.failed('a', 0);
    for (let i = 0; i < MAX_WAITING_PER_ADDRESS; i++) {
      assert.ok(t.delayFor('a', 1) > 0);
      t.wait('a');
    }
    assert.equal(t.delayFor('a', 1), -1);
    assert.equal(t.refused, 1);
    t.done('a');
    assert.ok(t.delayFor('a', 1) > 0);
    assert.equal(t.delayFor('b', 1), 0);
  });

  test('the addresses remembered are bounded, oldest forgotten first', () => {
    const t = new AuthThrottle();
    for (let i = 0; i < MAX_ADDRESSES + 10; i++) t.failed(`h${i}`, i);
    assert.equal(t.size, MAX_ADDRESSES);
  });
});
