/**
 * Imports in the core, with fake subscribers: the subject mapping rule;
 * stream imports deliver into the importing account under the mapped
 * subject, only while it has interest, once, and never around a cycle;
 * service imports map the reply to `_R_.…` and route one response back,
 * with the bound and the expiry counted; the mesh's view (localOnly).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type Account, Accounts } from '../../src/core/account.js';
import { type AccountImports, type ImportSpec, Imports } from '../../src/core/imports.js';
import type { Message, Subscriber, Subscription } from '../../src/core/message.js';
import { Router } from '../../src/core/router.js';
import { mappingError, SubjectMapping } from '../../src/core/subject-mapping.js';

let nextId = 1;

class Client implements Subscriber {
  readonly id = nextId++;
  readonly kind = 'client' as const;
  readonly echo = true;
  readonly got: { subject: string; reply: string; payload: string }[] = [];
  deliver(_sub: Subscription, msg: Message): void {
    this.got.push({ subject: msg.subject, reply: msg.reply, payload: msg.payload.toString() });
  }
}

function sub(account: Account, owner: Subscriber, subject: string): Subscription {
  const s: Subscription = { subject, queue: '', sid: `${owner.id}`, owner, max: 0, delivered: 0 };
  account.subscribe(s);
  return s;
}

function msg(subject: string, reply = '', payload = 'x'): Message {
  return { subject, reply, headers: null, payload: Buffer.from(payload) };
}

function setup(configs: AccountImports[], opts = {}) {
  const accounts = new Accounts();
  const router = new Router();
  const imports = new Imports(accounts, router, configs, opts);
  imports.install();
  const acc = (n: string) => accounts.getOrCreate(n);
  const pub = (a: string, m: Message, origin: Subscriber | null = null) =>
    router.publish(acc(a), m, origin);
  return { accounts, router, imports, acc, pub };
}

const stream = (account: string, subject: string, to = ''): ImportSpec => ({
  kind: 'stream',
  account,
  subject,
  to,
});
const service = (account: string, subject: string, to = ''): ImportSpec => ({
  kind: 'service',
  account,
  subject,
  to,
});

describe('subject mapping', () => {
  test('literal tokens, positional and explicit wildcards, the > tail', () => {
    const m = (from: string, to: string, s: string) => SubjectMapping.compile(from, to).map(s);
    assert.equal(m('events.>', '', 'events.a.b'), 'events.a.b');
    assert.equal(m('events.>', 'imp.events.>', 'events.a.b'), 'imp.events.a.b');
    assert.equal(m('events.*.created', 'a.*.new', 'events.eu.created'), 'a.eu.new');
    assert.equal(m('x.*.*', 'y.$2.$1', 'x.p.q'), 'y.q.p');
    assert.equal(m('x.*.*', 'y.{{wildcard(2)}}.{{wildcard(1)}}', 'x.p.q'), 'y.q.p');
    assert.equal(m('x.*.>', 'z.*.>', 'x.1.2.3'), 'z.1.2.3');
    assert.equal(m('svc.time', 'local.time', 'svc.time'), 'local.time');
    assert.throws(() => SubjectMapping.compile('a.*', 'b'), /every '\*'/);
  });

  test('invalid mappings name the reason', () => {
    assert.match(mappingError('events.>', 'imp.events') ?? '', /end in '>'/);
    assert.match(mappingError('events.*', 'imp.*.*') ?? '', /more '\*'/);
    assert.match(mappingError('x.*.*', 'y.*') ?? '', /every '\*'/);
    assert.match(mappingError('x.*', 'y.$2') ?? '', /wildcard 2/);
    assert.equal(mappingError('a.b', 'c.d.e'), null);
  });
});

describe('stream imports', () => {
  test('a message published in A reaches B under the mapped subject, once', () => {
    const { acc, pub, imports } = setup([
      { name: 'B', imports: [stream('A', 'events.>', 'from_a.events.>')] },
    ]);
    const b = new Client();
    const a = new Client();
    sub(acc('B'), b, 'from_a.>');
    sub(acc('A'), a, 'events.>');
    assert.equal(pub('A', msg('events.x.y', 'r')), 2);
    assert.deepEqual(b.got, [{ subject: 'from_a.events.x.y', reply: 'r', payload: 'x' }]);
    assert.equal(a.got.length, 1);
    // Not exported (not imported): stays in A.
    pub('A', msg('other.x'));
    assert.equal(b.got.length, 1);
    // B's own publishes on the mapped subject do not go back to A.
    pub('B', msg('from_a.events.z'));
    assert.equal(a.got.length, 1);
    assert.equal(imports.streams[0].counters.forwarded, 1);
  });

  test('the import subscription exists only while B has overlapping interest', () => {
    const { acc, imports } = setup([{ name: 'B', imports: [stream('A', 'events.>')] }]);
    const a = acc('A');
    assert.equal(a.sublist.count, 0);
    const s1 = sub(acc('B'), new Client(), 'events.x');
    const s2 = sub(acc('B'), new Client(), '>');
    sub(acc('B'), new Client(), 'unrelated');
    assert.equal(a.sublist.count, 1);
    acc('B').unsubscribe(s1);
    assert.equal(a.sublist.count, 1);
    acc('B').unsubscribe(s2);
    assert.equal(a.sublist.count, 0);
    assert.equal(imports.streams[0].installed, false);
  });

  test('interest present before install is counted', () => {
    const accounts = new Accounts();
    const router = new Router();
    const b = new Client();
    sub(accounts.getOrCreate('B'), b, 'events.>');
    const imports = new Imports(accounts, router, [
      { name: 'B', imports: [stream('A', 'events.>')] },
    ]);
    imports.install();
    router.publish(accounts.getOrCreate('A'), msg('events.1'), null);
    assert.equal(b.got.length, 1);
  });

  test('a mutual import does not loop, and nobody gets a second copy', () => {
    const { acc, pub, imports } = setup([
      { name: 'A', imports: [stream('B', 'events.>')] },
      { name: 'B', imports: [stream('A', 'events.>')] },
    ]);
    const a = new Client();
    const b = new Client();
    sub(acc('A'), a, 'events.>');
    sub(acc('B'), b, 'events.>');
    pub('A', msg('events.1'));
    assert.equal(a.got.length, 1);
    assert.equal(b.got.length, 1);
    pub('B', msg('events.2'));
    assert.equal(a.got.length, 2);
    assert.equal(b.got.length, 2);
    const loops = imports.streams.reduce((n, s) => n + s.counters.loops, 0);
    assert.equal(loops, 2);
  });

  test('a chain A→B→C carries a message on; the cycle A→B→C→A stops', () => {
    const { acc, pub } = setup([
      { name: 'B', imports: [stream('A', 'e.>', 'b.e.>')] },
      { name: 'C', imports: [stream('B', 'b.>', 'c.b.>')] },
      { name: 'A', imports: [stream('C', 'c.>')] },
    ]);
    const a = new Client();
    const c = new Client();
    sub(acc('A'), a, '>');
    sub(acc('C'), c, 'c.>');
    pub('A', msg('e.1'));
    assert.deepEqual(
      c.got.map((m) => m.subject),
      ['c.b.e.1'],
    );
    assert.deepEqual(
      a.got.map((m) => m.subject),
      ['e.1'],
    );
  });

  test('an import delivers after collectors: a collector never sees two messages interleave', () => {
    const { acc, pub } = setup([{ name: 'B', imports: [stream('A', 'events.>')] }]);
    // A collector (like the mesh) gathering one message at a time, subscribed
    // in A before the import is, and in B.
    const log: string[] = [];
    let current: Message | null = null;
    const collector: Subscriber = {
      id: 77,
      kind: 'link',
      echo: false,
      deliver: (_s, m) => {
        if (current !== null && current !== m) log.push(`interleaved ${m.subject}`);
        current = m;
      },
      complete: (m) => {
        log.push(`${current === m ? 'complete' : 'lost'} ${m.subject}`);
        current = null;
      },
    };
    sub(acc('A'), collector, 'events.>');
    sub(acc('B'), collector, 'events.>');
    pub('A', msg('events.1'));
    assert.deepEqual(log, ['complete events.1', 'complete events.1']);
  });

  test('the mesh sees no import interest, and messages from the mesh are not imported again', () => {
    const { acc, router } = setup([{ name: 'B', imports: [stream('A', 'events.>')] }]);
    const b = new Client();
    sub(acc('B'), b, 'events.>');
    const importSub = [...acc('A').sublist.all()][0];
    assert.equal(importSub.owner.localOnly, true);
    const m = msg('events.remote');
    router.deliverAssigned(acc('A').sublist.match(m.subject), m, true, []);
    assert.equal(b.got.length, 0);
  });
});

describe('service imports', () => {
  function serviceSetup(opts = {}) {
    const s = setup([{ name: 'B', imports: [service('A', 'svc.*', 'a.svc.*')] }], opts);
    const responder = new Client();
    sub(s.acc('A'), responder, 'svc.>');
    const requester = new Client();
    sub(s.acc('B'), requester, '_INBOX.>');
    return { ...s, responder, requester };
  }

  test('a request in B reaches A with a mapped reply; the response comes back once', () => {
    const { pub, responder, requester, imports } = serviceSetup();
    assert.equal(pub('B', msg('a.svc.time', '_INBOX.1', 'req')), 1);
    assert.equal(responder.got.length, 1);
    const got = responder.got[0];
    assert.equal(got.subject, 'svc.time');
    assert.match(got.reply, /^_R_\.[A-Za-z0-9]+\.[A-Za-z0-9_-]+$/);
    assert.equal(imports.openResponses, 1);
    pub('A', msg(got.reply, '', 'resp'));
    assert.deepEqual(requester.got, [{ subject: '_INBOX.1', reply: '', payload: 'resp' }]);
    assert.equal(imports.openResponses, 0);
    // A second response is dropped (singleton), counted.
    pub('A', msg(got.reply, '', 'again'));
    assert.equal(requester.got.length, 1);
    assert.equal(imports.responder(imports.services[0].target).unknown, 1);
  });

  test('nobody answering in A: zero deliveries (no responders), no mapping kept', () => {
    const { pub, acc, imports } = setup([{ name: 'B', imports: [service('A', 'svc.x')] }]);
    assert.equal(pub('B', msg('svc.x', '_INBOX.2')), 0);
    assert.equal(imports.openResponses, 0);
    assert.equal(acc('A').sublist.count, 1); // the _R_ responder subscription only
  });

  test('open responses are bounded per import, oldest dropped first', () => {
    const { pub, responder, requester, imports } = serviceSetup({ maxResponses: 3 });
    for (let i = 0; i < 5; i++) pub('B', msg('a.svc.x', `_INBOX.${i}`));
    assert.equal(imports.openResponses, 3);
    assert.equal(imports.services[0].counters.responsesDropped, 2);
    // The first two were dropped: their responses go nowhere.
    for (const r of responder.got) pub('A', msg(r.reply, '', 'ok'));
    assert.deepEqual(
      requester.got.map((m) => m.subject),
      ['_INBOX.2', '_INBOX.3', '_INBOX.4'],
    );
  });

  test('mappings expire after the response timeout', () => {
    let now = 1000;
    const { pub, responder, requester, imports } = serviceSetup({
      responseTtlMs: 100,
      now: () => now,
    });
    pub('B', msg('a.svc.x', '_INBOX.a'));
    now += 50;
    pub('B', msg('a.svc.x', '_INBOX.b'));
    now += 60;
    imports.sweep();
    assert.equal(imports.openResponses, 1);
    assert.equal(imports.services[0].counters.responsesExpired, 1);
    pub('A', msg(responder.got[0].reply, '', 'late'));
    pub('A', msg(responder.got[1].reply, '', 'ok'));
    assert.deepEqual(
      requester.got.map((m) => m.payload),
      ['ok'],
    );
  });

  test('a mutual service import does not loop', () => {
    const { pub, acc, imports } = setup([
      { name: 'A', imports: [service('B', 'svc.x')] },
      { name: 'B', imports: [service('A', 'svc.x')] },
    ]);
    const requester = new Client();
    sub(acc('B'), requester, '_INBOX.>');
    pub('B', msg('svc.x', '_INBOX.1'));
    const loops = imports.services.reduce((n, s) => n + s.counters.loops, 0);
    assert.equal(loops, 1);
  });

  test('headers pass through both ways', () => {
    const { router, acc, responder, requester } = serviceSetup();
    const headers = Buffer.from('NATS/1.0\r\nX: 1\r\n\r\n');
    router.publish(
      acc('B'),
      { subject: 'a.svc.h', reply: '_INBOX.h', headers, payload: Buffer.from('q') },
      null,
    );
    assert.equal(responder.got.length, 1);
    let seen: Buffer | null = null;
    const spy: Subscriber = {
      id: 999,
      kind: 'client',
      echo: true,
      deliver: (_s, m) => {
        seen = m.headers;
      },
    };
    sub(acc('B'), spy, '_INBOX.h');
    router.publish(
      acc('A'),
      { subject: responder.got[0].reply, reply: '', headers, payload: Buffer.from('r') },
      null,
    );
    assert.deepEqual(seen, headers);
    assert.equal(requester.got.length, 1);
  });
});
