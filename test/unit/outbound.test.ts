/**
 * The node-wide bounds on bytes held for clients (src/connection/outbound.ts):
 * max_pending_total closes the biggest holders first, only as many as it
 * takes, and never rescans per frame; write_deadline closes blocked holders
 * that made no progress. Plus the two settings in config.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseConfigText, validateOptions } from '../../src/config/config.js';
import { DEFAULTS, withDefaults } from '../../src/config/options.js';
import {
  Outbound,
  type OutboundHolder,
  type SlowReason,
  STUCK_MS,
} from '../../src/connection/outbound.js';
import { CloseReason, ConfigError } from '../../src/errors.js';

class Holder implements OutboundHolder {
  held = 0;
  blockedSince = 0;
  closed = false;
  reason: SlowReason | null = null;
  constructor(
    readonly name: string,
    private readonly out: Outbound,
  ) {}
  queue(n: number): void {
    this.held += n;
    this.out.bytes += n;
    if (this.out.bytes > this.out.threshold) this.out.overLimit();
  }
  closeSlow(reason: SlowReason): void {
    this.closed = true;
    this.reason = reason;
    this.out.release(this.held);
    this.held = 0;
  }
}

function setup(max: number, deadline = 0) {
  const holders: Holder[] = [];
  const out = new Outbound(max, deadline, () => holders.filter((h) => !h.closed));
  const add = (name: string) => {
    const h = new Holder(name, out);
    holders.push(h);
    return h;
  };
  return { out, add };
}

describe('Outbound: max_pending_total', () => {
  test('closes the biggest holders first, only until the total is under the bound', () => {
    const { out, add } = setup(1000);
    const [a, b, c] = [add('a'), add('b'), add('c')];
    a.queue(300);
    b.queue(500);
    c.queue(150);
    assert.equal(out.limitHits, 0);
    c.queue(100); // 1050 > 1000: b (500) goes, 550 left
    assert.deepEqual(
      [a, b, c].map((h) => h.reason),
      [null, CloseReason.SlowConsumerPendingTotal, null],
    );
    assert.equal(out.bytes, 550);
    assert.equal(out.limitHits, 1);
    assert.equal(out.limitCloses, 1);
    a.queue(500); // 1050: a (800) goes before c (250)
    assert.equal(a.reason, CloseReason.SlowConsumerPendingTotal);
    assert.equal(c.reason, null);
    assert.equal(out.bytes, 250);
  });

  test('a holder whose socket has taken nothing for a while goes before a bigger one still draining', () => {
    const { out, add } = setup(1000);
    const [draining, stuck, fresh] = [add('draining'), add('stuck'), add('fresh')];
    draining.queue(600);
    stuck.queue(300);
    stuck.blockedSince = Date.now() - STUCK_MS - 1;
    fresh.blockedSince = Date.now(); // blocked just now: not stuck yet
    fresh.queue(200);
    assert.deepEqual(
      [draining, stuck, fresh].map((h) => h.closed),
      [false, true, false],
    );
    assert.equal(out.bytes, 800);
  });

  test('bytes it cannot close do not make it scan again for every frame', () => {
    const { out, add } = setup(1600);
    out.bytes = 2000; // held by connections already closing: nobody to close
    const a = add('a');
    a.queue(1); // pass 1 closes all it can (a), and is still over
    assert.equal(out.limitHits, 1);
    assert.equal(a.closed, true);
    assert.equal(out.threshold, 2000 + 100, 'the next pass waits for 1/16 of the bound more');
    const b = add('b');
    b.queue(50);
    assert.equal(out.limitHits, 1);
    assert.equal(b.closed, false);
    b.queue(60);
    assert.equal(out.limitHits, 2);
    assert.equal(b.closed, true);
    out.release(out.bytes - 100); // the closing connections' bytes went out
    assert.equal(out.threshold, 1600, 'under the bound, the threshold is the bound again');
  });
});

describe('Outbound: write_deadline', () => {
  test('closes only holders blocked for the deadline or longer', () => {
    const { out, add } = setup(Number.POSITIVE_INFINITY, 1000);
    const [old, recent, moving] = [add('old'), add('recent'), add('moving')];
    old.blockedSince = 10_000;
    recent.blockedSince = 10_500;
    moving.blockedSince = 10_200;
    for (const h of [old, recent, moving]) out.blocked.add(h);
    moving.blockedSince = 0; // it drained: progress
    out.sweep(11_000);
    assert.equal(old.reason, CloseReason.SlowConsumerWriteDeadline);
    assert.equal(recent.reason, null);
    assert.equal(moving.reason, null);
    assert.deepEqual([...out.blocked], [recent]);
    assert.equal(out.deadlineCloses, 1);
  });
});

describe('config: write_deadline and max_pending_total', () => {
  test('defaults: nats-server write deadline (10 s), 256 MiB for all clients', () => {
    assert.equal(DEFAULTS.writeDeadlineMs, 10_000);
    assert.equal(DEFAULTS.maxPendingTotal, 256 * 1024 * 1024);
  });

  test('read from a file as nats-server writes them', () => {
    assert.deepEqual(parseConfigText('write_deadline: "2s"\nmax_pending_total: 1GB\n'), {
      writeDeadlineMs: 2000,
      maxPendingTotal: 1024 ** 3,
    });
    assert.deepEqual(parseConfigText('write_deadline: 0.5\n'), { writeDeadlineMs: 500 });
  });

  test('a max_payload no client could be sent under max_pending_total is refused', () => {
    assert.throws(
      () => validateOptions(withDefaults({ maxPendingTotal: 1024, maxPayload: 2048 })),
      (e: unknown) => e instanceof ConfigError && /max_pending_total/.test(e.message),
    );
    assert.throws(
      () => validateOptions(withDefaults({ writeDeadlineMs: 0 })),
      (e: unknown) => e instanceof ConfigError && e.key === 'write_deadline',
    );
  });
});
