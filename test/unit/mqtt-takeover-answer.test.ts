/**
 * A session handed over by another node of the mesh is input like any
 * other: its shape is checked before anything of it is stored
 * (src/protocols/mqtt/takeover.ts answerProblem).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Answer, answerProblem } from '../../src/protocols/mqtt/takeover.js';

const session = {
  clientId: 'c',
  protocol: 4,
  expiryInterval: 60,
  subscriptions: [{ filter: 'a/#', qos: 1 }],
  disconnectedAt: null,
};

const answer = (over: Record<string, unknown>): Answer =>
  ({
    found: true,
    session,
    queue: [{ m: 'AAAA', p: 7, r: true }],
    incoming: [1, 65535],
    ...over,
  }) as Answer;

test('a sound answer passes', () => {
  assert.equal(answerProblem(answer({})), null);
  assert.equal(answerProblem(answer({ queue: undefined, incoming: undefined })), null);
});

test('every malformed part is refused with its reason', () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ session: null }, /no session/],
    [{ session: 'x' }, /no session/],
    [{ session: { ...session, protocol: 3 } }, /protocol/],
    [{ session: { ...session, subscriptions: 'a/#' } }, /not a list/],
    [{ session: { ...session, subscriptions: [null] } }, /malformed subscription/],
    [
      { session: { ...session, subscriptions: [{ filter: 'a', qos: 3 }] } },
      /malformed subscription/,
    ],
    [{ session: { ...session, subscriptions: [{ filter: 7, qos: 0 }] } }, /malformed subscription/],
    [{ queue: {} }, /queue is not a list/],
    [{ queue: [{ m: 5 }] }, /malformed queue entry/],
    [{ queue: [null] }, /malformed queue entry/],
    [{ queue: [{ m: 'AAAA', p: 0 }] }, /malformed queue entry/],
    [{ queue: [{ m: 'AAAA', p: 70000 }] }, /malformed queue entry/],
    [{ queue: [{ m: 'AAAA', p: 1.5 }] }, /malformed queue entry/],
    [{ incoming: [0] }, /packet ids/],
    [{ incoming: 'x' }, /packet ids/],
    [{ incoming: [65536] }, /packet ids/],
  ];
  for (const [over, why] of cases) {
    const p = answerProblem(answer(over));
    assert.ok(p !== null && why.test(p), `${JSON.stringify(over)} gave ${p}`);
  }
});
