/**
 * The account limits' rules (src/jetstream/account-limits.ts) as pure
 * functions, and account names that cannot leave the streams directory.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parseSecurity } from '../../src/auth/config.js';
import {
  consumerLimit,
  NO_JS_LIMITS,
  publishLimitError,
  streamLimitError,
} from '../../src/jetstream/account-limits.js';
import { accountDir } from '../../src/jetstream/service.js';
import { normalizeConfig, type StreamConfig } from '../../src/streams/stream-config.js';

const cfg = (name: string, more: Record<string, unknown> = {}): StreamConfig =>
  normalizeConfig({ name, subjects: [name.toLowerCase()], ...more }, name);

const limits = { maxStreams: 2, maxConsumers: 3, maxStore: 1000, maxMemory: 100 };

describe('stream limits', () => {
  it('no limits: anything goes', () => {
    const many = Array.from({ length: 50 }, (_, i) => cfg(`S${i}`, { max_bytes: 1e9 }));
    assert.equal(streamLimitError(NO_JS_LIMITS, many, cfg('X', { max_bytes: 1e12 }), false), null);
  });

  it('max_streams counts the other streams, not an update of one', () => {
    const two = [cfg('A'), cfg('B', { storage: 'memory' })];
    const big = { ...limits, maxStore: -1, maxMemory: -1 };
    assert.equal(streamLimitError(big, two, cfg('C'), false)?.errCode, 10027);
    assert.equal(streamLimitError(big, two, cfg('A', { max_msgs: 5 }), true), null);
    // 0 is no limit, as nats-server 2.9 reads it.
    assert.equal(streamLimitError({ ...big, maxStreams: 0 }, two, cfg('C'), false), null);
  });

  it('reservations are per storage type; one without max_bytes needs a byte', () => {
    const l = { ...limits, maxStreams: -1 };
    const held = [cfg('A', { max_bytes: 600 }), cfg('M', { storage: 'memory', max_bytes: 100 })];
    assert.equal(streamLimitError(l, held, cfg('B', { max_bytes: 400 }), false), null);
    assert.equal(streamLimitError(l, held, cfg('B', { max_bytes: 401 }), false)?.errCode, 10047);
    const full = [...held, cfg('B', { max_bytes: 400 })];
    assert.equal(streamLimitError(l, full, cfg('C'), false)?.errCode, 10047);
    assert.equal(streamLimitError(l, held, cfg('N', { storage: 'memory' }), false)?.errCode, 10028);
    // An update does not count the stream's own reservation twice.
    assert.equal(streamLimitError(l, full, cfg('A', { max_bytes: 600 }), true), null);
    assert.equal(streamLimitError(l, full, cfg('A', { max_bytes: 601 }), true)?.errCode, 10047);
  });

  it('a stream takes the smaller of its max_consumers and the account’s', () => {
    assert.equal(consumerLimit(limits, cfg('A')), 3);
    assert.equal(consumerLimit(limits, cfg('A', { max_consumers: 2 })), 2);
    assert.equal(consumerLimit(limits, cfg('A', { max_consumers: 9 })), 3);
    assert.equal(consumerLimit(NO_JS_LIMITS, cfg('A', { max_consumers: 9 })), 9);
    assert.equal(consumerLimit(NO_JS_LIMITS, cfg('A')), 0);
  });

  it('a publish is refused when it would pass the byte limit, not when it reaches it', () => {
    const m = (bytes: number, used: number) => () => ({ bytes, used });
    assert.equal(publishLimitError(limits, 'file', m(100, 900)), null);
    assert.equal(publishLimitError(limits, 'file', m(101, 900))?.errCode, 10002);
    assert.equal(publishLimitError(limits, 'memory', m(1, 100))?.errCode, 10002);
    let asked = false;
    const used = () => {
      asked = true;
      return { bytes: 1e12, used: 0 };
    };
    assert.equal(publishLimitError(NO_JS_LIMITS, 'file', used), null);
    assert.equal(asked, false, 'usage is not summed without a limit');
  });
});

describe('account names and the streams directory', () => {
  it('an account name cannot hold a path separator (config)', () => {
    for (const name of ['a/b', 'a\\b', '..', '.', 'a\u0000b']) {
      assert.throws(
        () => parseSecurity({ accounts: { [name]: { jetstream: 'enabled' } } }),
        /accounts\..*account name has no spaces, dots, wildcards or slashes/,
        name,
      );
    }
    assert.doesNotThrow(() => parseSecurity({ accounts: { 'team-1_$x': {} } }));
  });

  it('accountDir refuses a name that would leave the directory', () => {
    const root = path.join('data', 'streams');
    assert.equal(accountDir(root, 'A'), path.join(root, 'A'));
    assert.equal(accountDir(root, '$G'), path.join(root, '$G'));
    for (const name of ['', '.', '..', '../x', 'a/b', 'a\\b', '.hidden']) {
      assert.throws(() => accountDir(root, name), /cannot name a stream directory/, name);
    }
  });
});
