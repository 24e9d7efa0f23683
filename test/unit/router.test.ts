/**
 * The router with fake subscribers: every plain subscription gets a message,
 * each queue group exactly one member, spread across the members; echo off
 * keeps a publisher's own messages from it; local members win over links.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Account } from '../../src/core/account.js';
import type { InterestKind, Message, Subscriber, Subscription } from '../../src/core/message.js';
import { Router } from '../../src/core/router.js';

let nextId = 1;

class FakeSubscriber implements Subscriber {
  readonly id = nextId++;
  readonly got: { sid: string; subject: string; payload: string }[] = [];
  constructor(
    readonly name: string,
    readonly echo = true,
    readonly kind: InterestKind = 'client',
  ) {}
  deliver(sub: Subscription, msg: Message): void {
    this.got.push({ sid: sub.sid, subject: msg.subject, payload: msg.payload.toString() });
  }
}

function subscribe(
  account: Account,
  owner: Subscriber,
  subject: string,
  queue = '',
  distance = 0,
): Subscription {
  const s: Subscription = {
    subject,
    queue,
    sid: `${owner.id}.${subject}`,
    owner,
    max: 0,
    delivered: 0,
    distance,
  };
  account.sublist.insert(s);
  return s;
}

function msg(subject: string, payload = 'x'): Message {
  return { subject, reply: '', headers: null, payload: Buffer.from(payload) };
}

describe('Router: plain subscriptions', () => {
  test('every matching subscription receives the message', () => {
    const acc = new Account('A');
    const router = new Router();
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((n) => new FakeSubscriber(n));
    subscribe(acc, a, 'orders.new');
    subscribe(acc, b, 'orders.*');
    subscribe(acc, c, '>');
    subscribe(acc, d, 'orders.old');
    assert.equal(router.publish(acc, msg('orders.new', 'hi'), null), 3);
    for (const s of [a, b, c]) {
      assert.deepEqual(
        s.got.map((g) => [g.subject, g.payload]),
        [['orders.new', 'hi']],
      );
    }
    assert.equal(d.got.length, 0);
  });

  test('one subscriber with two matching subscriptions gets one copy per subscription', () => {
    const acc = new Account('A');
    const a = new FakeSubscriber('a');
    subscribe(acc, a, 'foo.bar');
    subscribe(acc, a, 'foo.>');
    assert.equal(new Router().publish(acc, msg('foo.bar'), null), 2);
    assert.deepEqual(a.got.map((g) => g.sid).sort(), [`${a.id}.foo.>`, `${a.id}.foo.bar`]);
  });

  test('no interest: nothing delivered', () => {
    const acc = new Account('A');
    subscribe(acc, new FakeSubscriber('a'), 'foo');
    assert.equal(new Router().publish(acc, msg('bar'), null), 0);
  });

  test('accounts do not see each other', () => {
    const a1 = new Account('A');
    const a2 = new Account('B');
    const x = new FakeSubscriber('x');
    subscribe(a2, x, 'foo');
    assert.equal(new Router().publish(a1, msg('foo'), null), 0);
    assert.equal(x.got.length, 0);
  });

  test('deliver works on a result matched earlier', () => {
    const acc = new Account('A');
    const a = new FakeSubscriber('a');
    subscribe(acc, a, 'foo');
    const result = acc.sublist.match('foo');
    const router = new Router();
    assert.equal(router.deliver(result, msg('foo', '1'), null), 1);
    assert.equal(router.deliver(result, msg('foo', '2'), null), 1);
    assert.deepEqual(
      a.got.map((g) => g.payload),
      ['1', '2'],
    );
  });
});

describe('Router: queue groups', () => {
  test('exactly one member of each group gets each message; plain subscribers get all', () => {
    const acc = new Account('A');
    const router = new Router();
    const workers = [1, 2, 3].map((i) => new FakeSubscriber(`w${i}`));
    const auditors = [1, 2].map((i) => new FakeSubscriber(`a${i}`));
    const plain = new FakeSubscriber('plain');
    for (const w of workers) subscribe(acc, w, 'jobs.*', 'workers');
    for (const a of auditors) subscribe(acc, a, 'jobs.>', 'audit');
    subscribe(acc, plain, 'jobs.run');
    const N = 300;
    for (let i = 0; i < N; i++) {
      assert.equal(router.publish(acc, msg('jobs.run', String(i)), null), 3);
    }
    const perGroup = (group: FakeSubscriber[]) => group.flatMap((s) => s.got.map((g) => g.payload));
    for (const group of [workers, auditors]) {
      const all = perGroup(group);
      assert.equal(all.length, N);
      assert.equal(new Set(all).size, N, 'no message twice in one group');
    }
    assert.equal(plain.got.length, N);
  });

  test('one group: members share the load', () => {
    const acc = new Account('A');
    const router = new Router();
    const members = [1, 2, 3, 4].map((i) => new FakeSubscriber(`m${i}`));
    for (const m of members) subscribe(acc, m, 'work', 'q');
    const N = 400;
    for (let i = 0; i < N; i++) router.publish(acc, msg('work'), null);
    for (const m of members) {
      assert.ok(m.got.length >= N / 8, `${m.name} got ${m.got.length} of ${N}`);
    }
  });

  test('two groups of two: every member of each group shares the load', () => {
    // The rotation must not lock onto one member of a group because other
    // groups take turns from the same counter.
    const acc = new Account('A');
    const router = new Router();
    const g1 = [new FakeSubscriber('g1a'), new FakeSubscriber('g1b')];
    const g2 = [new FakeSubscriber('g2a'), new FakeSubscriber('g2b')];
    for (const m of g1) subscribe(acc, m, 'work', 'g1');
    for (const m of g2) subscribe(acc, m, 'work', 'g2');
    const N = 200;
    for (let i = 0; i < N; i++) assert.equal(router.publish(acc, msg('work'), null), 2);
    for (const m of [...g1, ...g2]) {
      assert.ok(m.got.length >= N / 4, `${m.name} got ${m.got.length} of ${N}`);
    }
  });

  test('members on wildcard and literal subjects form one group', () => {
    const acc = new Account('A');
    const router = new Router();
    const a = new FakeSubscriber('a');
    const b = new FakeSubscriber('b');
    subscribe(acc, a, 'foo.bar', 'q');
    subscribe(acc, b, 'foo.*', 'q');
    for (let i = 0; i < 10; i++) assert.equal(router.publish(acc, msg('foo.bar'), null), 1);
    assert.equal(a.got.length + b.got.length, 10);
  });

  test('local members are preferred over remote ones (distance > 0)', () => {
    const acc = new Account('A');
    const router = new Router();
    const link1 = new FakeSubscriber('link1', true, 'link');
    const local = new FakeSubscriber('local');
    const link2 = new FakeSubscriber('link2', true, 'link');
    subscribe(acc, link1, 'foo', 'q', 1);
    subscribe(acc, local, 'foo', 'q');
    subscribe(acc, link2, 'foo', 'q', 1);
    for (let i = 0; i < 30; i++) router.publish(acc, msg('foo'), null);
    assert.equal(local.got.length, 30);
    assert.equal(link1.got.length + link2.got.length, 0);
  });

  test('without local members the nearest remote ones get the work, round robin', () => {
    const acc = new Account('A');
    const router = new Router();
    const far = new FakeSubscriber('far', true, 'link');
    const near1 = new FakeSubscriber('near1', true, 'link');
    const near2 = new FakeSubscriber('near2', true, 'link');
    subscribe(acc, far, 'foo', 'q', 3);
    subscribe(acc, near1, 'foo', 'q', 1);
    subscribe(acc, near2, 'foo', 'q', 1);
    for (let i = 0; i < 30; i++) router.publish(acc, msg('foo'), null);
    assert.equal(far.got.length, 0);
    assert.equal(near1.got.length, 15);
    assert.equal(near2.got.length, 15);
  });

  test('a group of remote members only still gets the message', () => {
    const acc = new Account('A');
    const router = new Router();
    const links = [1, 2].map((i) => new FakeSubscriber(`l${i}`, true, 'link'));
    for (const l of links) subscribe(acc, l, 'foo', 'q', 1);
    for (let i = 0; i < 10; i++) assert.equal(router.publish(acc, msg('foo'), null), 1);
    assert.equal(links[0].got.length + links[1].got.length, 10);
  });
});

describe('Router: echo', () => {
  test('with echo off a publisher does not get its own message; others do', () => {
    const acc = new Account('A');
    const router = new Router();
    const pub = new FakeSubscriber('pub', false);
    const other = new FakeSubscriber('other');
    subscribe(acc, pub, 'foo');
    subscribe(acc, other, 'foo');
    assert.equal(router.publish(acc, msg('foo'), pub), 1);
    assert.equal(pub.got.length, 0);
    assert.equal(other.got.length, 1);
  });

  test('with echo on a publisher gets its own message', () => {
    const acc = new Account('A');
    const pub = new FakeSubscriber('pub', true);
    subscribe(acc, pub, 'foo');
    assert.equal(new Router().publish(acc, msg('foo'), pub), 1);
    assert.equal(pub.got.length, 1);
  });

  test('echo off only concerns the origin: another echo-off subscriber still gets it', () => {
    const acc = new Account('A');
    const pub = new FakeSubscriber('pub', false);
    const quiet = new FakeSubscriber('quiet', false);
    subscribe(acc, quiet, 'foo');
    assert.equal(new Router().publish(acc, msg('foo'), pub), 1);
    assert.equal(quiet.got.length, 1);
  });

  test('with echo off the queue member picked is never the publisher', () => {
    const acc = new Account('A');
    const router = new Router();
    const pub = new FakeSubscriber('pub', false);
    const other = new FakeSubscriber('other');
    subscribe(acc, pub, 'foo', 'q');
    subscribe(acc, other, 'foo', 'q');
    for (let i = 0; i < 20; i++) assert.equal(router.publish(acc, msg('foo'), pub), 1);
    assert.equal(pub.got.length, 0);
    assert.equal(other.got.length, 20);
  });

  test('with echo off a group whose only member is the publisher gets nothing', () => {
    const acc = new Account('A');
    const pub = new FakeSubscriber('pub', false);
    subscribe(acc, pub, 'foo', 'q');
    assert.equal(new Router().publish(acc, msg('foo'), pub), 0);
    assert.equal(pub.got.length, 0);
  });
});

describe('Router: collectors', () => {
  /** A collector (as the mesh): `deliver` per matching subscription, `complete` once per message. */
  class FakeCollector extends FakeSubscriber {
    constructor(
      name: string,
      readonly log: string[],
    ) {
      super(name, true, 'link');
    }
    complete(m: Message): void {
      this.log.push(`${this.name}:${m.payload.toString()}`);
    }
  }

  test('each collector completes once per message, in the order first matched, after every delivery', () => {
    const acc = new Account('A');
    const router = new Router();
    const log: string[] = [];
    const c1 = new FakeCollector('c1', log);
    const c2 = new FakeCollector('c2', log);
    const c3 = new FakeCollector('c3', log);
    const client = new FakeSubscriber('client');
    // c1 matches twice plainly and in a group; c2 plainly; c3 only in a group.
    subscribe(acc, c1, 'foo', '', 1);
    subscribe(acc, c1, '*', '', 1);
    subscribe(acc, c2, '>', '', 1);
    subscribe(acc, client, 'foo');
    subscribe(acc, c1, 'foo', 'q1', 1);
    subscribe(acc, c3, 'foo', 'q2', 1);
    for (let i = 0; i < 3; i++) router.publish(acc, msg('foo', `m${i}`), null);
    const perMessage = (i: number) => log.filter((l) => l.endsWith(`:m${i}`));
    for (let i = 0; i < 3; i++) {
      const got = perMessage(i);
      assert.equal(got.length, 3, `three collectors complete m${i} once each: ${got}`);
      assert.equal(new Set(got).size, 3);
      // c3 is first matched in the queue groups, after the plain ones.
      assert.equal(got[2], `c3:m${i}`);
    }
    assert.equal(client.got.length, 3);
  });

  test('one collector alone completes once per message, however many of its subscriptions match', () => {
    const acc = new Account('A');
    const router = new Router();
    const log: string[] = [];
    const c = new FakeCollector('c', log);
    subscribe(acc, c, 'foo', '', 1);
    subscribe(acc, c, '*', '', 1);
    subscribe(acc, c, 'foo', 'q', 1);
    assert.equal(router.publish(acc, msg('foo', 'a'), null), 3);
    assert.equal(router.publish(acc, msg('bar', 'b'), null), 1);
    assert.deepEqual(log, ['c:a', 'c:b']);
    assert.equal(c.got.length, 4);
  });
});
