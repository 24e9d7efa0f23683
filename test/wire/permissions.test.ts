/**
 * Wire-level: permissions. Every violation text and what follows it, on raw
 * connections, against Weft and nats-server with the same config document
 * (WEFT_TEST_TARGET=nats-server). A violation is one -ERR line with
 * nats-server's exact text; the connection stays open and nothing refused
 * is routed. Where Weft is stricter than nats-server by design
 * (src/auth/permissions.ts), a case marked `onlyOn('weft')` asserts Weft's
 * behaviour and its twin `onlyOn('nats-server')` the reference's.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { onlyOn, type RawClient, rawPool, startTarget, type Target } from '../helpers/harness.js';

const pubViolation = (s: string) => `-ERR 'Permissions Violation for Publish to "${s}"'`;
const subViolation = (s: string, q = '') =>
  `-ERR 'Permissions Violation for Subscription to "${s}"${q === '' ? '' : ` using queue "${q}"`}'`;

const USERS: Record<string, Record<string, unknown> | undefined> = {
  admin: undefined,
  pubdeny: { publish: { deny: ['secret.>'] } },
  puballow: { publish: { allow: ['ok.>'] } },
  subdeny: { subscribe: { deny: ['secret.>'] } },
  queues: { subscribe: { allow: ['work.> q1', 'plain.>'] } },
  qdeny: { subscribe: { deny: ['work.> bad'] } },
  responder: { subscribe: { allow: ['req.>'] }, allow_responses: true },
  responder3: { subscribe: { allow: ['req.>'] }, allow_responses: { max: 3 } },
  expiring: { subscribe: { allow: ['req.>'] }, allow_responses: { max: 1000, expires: '300ms' } },
  jsuser: { publish: { deny: ['$JS.API.STREAM.CREATE.>', '$JS.API.STREAM.DELETE.>'] } },
  starallow: { subscribe: { allow: ['a.*'] } },
  qoverride: { subscribe: { deny: ['secret.>', 'secret.> q'] } },
  qfilter: { subscribe: { deny: ['secret.> q'] } },
};

describe('wire: permissions', () => {
  let srv: Target;
  let jsDir: string;
  const pool = rawPool();
  before(async () => {
    jsDir = await mkdtemp(path.join(tmpdir(), 'weft-perm-js-'));
    const users = Object.entries(USERS).map(([user, permissions]) => ({
      user,
      password: 'pw',
      ...(permissions === undefined ? {} : { permissions }),
    }));
    srv = await startTarget({
      // `jetstream` is for nats-server (Weft has JetStream on and ignores it here).
      securityDoc: { authorization: { users }, jetstream: { store_dir: jsDir } },
    });
  });
  after(async () => {
    pool.closeAll();
    await srv.close();
    await rm(jsDir, { recursive: true, force: true });
  });

  const as = (user: string) => pool.handshake(srv.port, { user, pass: 'pw' });

  /** Sends, then expects exactly these lines before the PONG of a PING sent after. */
  async function exchange(c: RawClient, send: string, lines: string[]): Promise<void> {
    c.send(`${send}PING\r\n`);
    for (const l of lines) await c.expectLine(l);
    await c.expectLine('PONG');
  }

  /** A subscriber (admin) on `subject` (sid 1) that must see exactly `payloads` next. */
  async function watcher(subject: string) {
    const w = await as('admin');
    await exchange(w, `SUB ${subject} 1\r\n`, []);
    return {
      w,
      async sees(msgs: [string, string][]) {
        w.send('PING\r\n');
        for (const [s, p] of msgs) await w.expectMsg(s, 1, p);
        await w.expectLine('PONG');
      },
    };
  }

  test('publish deny: -ERR with the subject, nothing routed, the connection stays', async () => {
    const { sees } = await watcher('>');
    const c = await as('pubdeny');
    await exchange(c, 'PUB secret.plans 2\r\nno\r\nPUB public.news 3\r\nyes\r\n', [
      pubViolation('secret.plans'),
    ]);
    await sees([['public.news', 'yes']]);
    // Still open, still refused: each time.
    await exchange(c, 'PUB secret.x 0\r\n\r\n', [pubViolation('secret.x')]);
  });

  test('publish allow list: anything outside it is refused', async () => {
    const { sees } = await watcher('>');
    const c = await as('puballow');
    await exchange(c, 'PUB ok.a 1\r\n1\r\nPUB other 1\r\n2\r\nPUB ok 1\r\n3\r\n', [
      pubViolation('other'),
      pubViolation('ok'),
    ]);
    await sees([['ok.a', '1']]);
  });

  test('subscribe deny: -ERR with the subject; the refused subscription gets nothing', async () => {
    const c = await as('subdeny');
    await exchange(c, 'SUB secret.x 1\r\nSUB secret.* 2\r\nSUB public.x 3\r\n', [
      subViolation('secret.x'),
      subViolation('secret.*'),
    ]);
    const p = await as('admin');
    await exchange(p, 'PUB secret.x 1\r\ns\r\nPUB public.x 1\r\np\r\n', []);
    c.send('PING\r\n');
    await c.expectMsg('public.x', 3, 'p');
    await c.expectLine('PONG');
  });

  test('a deny rule inside a wildcard subscription filters its deliveries (> with deny secret.>)', async () => {
    const c = await as('subdeny');
    await exchange(c, 'SUB > 1\r\n', []);
    const p = await as('admin');
    await exchange(
      p,
      'PUB secret.a 1\r\n1\r\nPUB public.a 1\r\n2\r\nPUB secret.b.c 1\r\n3\r\n',
      [],
    );
    c.send('PING\r\n');
    await c.expectMsg('public.a', 1, '2');
    await c.expectLine('PONG');
  });

  test('queue-group allow rule: only that group, and not as a plain subscription', async () => {
    const c = await as('queues');
    await exchange(
      c,
      'SUB work.a q1 1\r\nSUB work.a q2 2\r\nSUB work.a 3\r\nSUB plain.a 4\r\nSUB plain.b q9 5\r\n',
      [subViolation('work.a', 'q2'), subViolation('work.a')],
    );
    const p = await as('admin');
    await exchange(p, 'PUB work.a 1\r\nw\r\nPUB plain.b 1\r\nb\r\n', []);
    c.send('PING\r\n');
    await c.expectMsg('work.a', 1, 'w');
    await c.expectMsg('plain.b', 5, 'b');
    await c.expectLine('PONG');
  });

  test('queue-group deny rule: that group is refused, others and plain subscriptions are not', async () => {
    const c = await as('qdeny');
    await exchange(c, 'SUB work.a bad 1\r\nSUB work.a good 2\r\nSUB work.a 3\r\n', [
      subViolation('work.a', 'bad'),
    ]);
  });

  test('allow_responses: a responder without publish rights answers a request once', async () => {
    const req = await as('admin');
    await exchange(req, 'SUB _INBOX.r1 1\r\n', []);
    const r = await as('responder');
    await exchange(r, 'SUB req.time 9\r\n', []);
    // Not before a request with that reply.
    await exchange(r, 'PUB _INBOX.r1 5\r\nearly\r\n', [pubViolation('_INBOX.r1')]);
    await exchange(req, 'PUB req.time _INBOX.r1 1\r\n?\r\n', []);
    await r.expectMsg('req.time', 9, '?', '_INBOX.r1');
    await exchange(r, 'PUB _INBOX.r1 3\r\nnow\r\nPUB _INBOX.r1 5\r\nagain\r\n', [
      pubViolation('_INBOX.r1'),
    ]);
    // Its own subjects were never open to it.
    await exchange(r, 'PUB req.time 1\r\nx\r\n', [pubViolation('req.time')]);
    req.send('PING\r\n');
    await req.expectMsg('_INBOX.r1', 1, 'now');
    await req.expectLine('PONG');
  });

  test('allow_responses max: 3 answers per request, then refused', async () => {
    const req = await as('admin');
    await exchange(req, 'PUB req.x _INBOX.r3 0\r\n\r\n', []);
    const r = await as('responder3');
    await exchange(r, 'SUB req.x 1\r\n', []);
    await exchange(req, 'PUB req.x _INBOX.r3 0\r\n\r\n', []);
    await r.expectMsg('req.x', 1, '', '_INBOX.r3');
    await exchange(r, 'PUB _INBOX.r3 0\r\n\r\n'.repeat(4), [pubViolation('_INBOX.r3')]);
  });

  test('allow_responses expires: the reply is open at first, refused once it expired', async () => {
    const req = await as('admin');
    const r = await as('expiring');
    await exchange(r, 'SUB req.slow 1\r\n', []);
    await exchange(req, 'PUB req.slow _INBOX.late 0\r\n\r\n', []);
    await r.expectMsg('req.slow', 1, '', '_INBOX.late');
    const got = Date.now();
    await exchange(r, 'PUB _INBOX.late 0\r\n\r\n', []);
    // Polled with a deadline: answers pass until `expires` (300 ms) passed.
    const deadline = got + 5000;
    for (;;) {
      r.send('PUB _INBOX.late 0\r\n\r\nPING\r\n');
      const line = await r.nextLine();
      if (line === pubViolation('_INBOX.late')) {
        await r.expectLine('PONG');
        break;
      }
      assert.equal(line, 'PONG');
      assert.ok(Date.now() < deadline, 'the response permission never expired');
      await new Promise((res) => setTimeout(res, 25));
    }
    assert.ok(Date.now() - got >= 250, `refused after ${Date.now() - got} ms, before expires`);
    await r.ping();
  });

  test('JetStream API subjects denied: the request gets the violation, not a stream', async () => {
    const create = '{"name":"PERMS","subjects":["perms.>"],"storage":"memory"}';
    const u = await as('jsuser');
    await exchange(u, 'SUB _INBOX.js 1\r\n', []);
    await exchange(
      u,
      `PUB $JS.API.STREAM.CREATE.PERMS _INBOX.js ${create.length}\r\n${create}\r\n`,
      [pubViolation('$JS.API.STREAM.CREATE.PERMS')],
    );
    // No reply came: the stream was not created.
    await exchange(u, 'PUB $JS.API.STREAM.INFO.PERMS _INBOX.js 0\r\n\r\n', []);
    let head = await u.expectLine(/^MSG _INBOX\.js 1 (\d+)$/);
    let body = (await u.readBytes(Number(head[1]) + 2)).toString();
    assert.match(body, /"code":404/);
    // The same request from a user allowed to make it.
    const a = await as('admin');
    await exchange(a, 'SUB _INBOX.adm 1\r\n', []);
    a.send(`PUB $JS.API.STREAM.CREATE.PERMS _INBOX.adm ${create.length}\r\n${create}\r\n`);
    head = await a.expectLine(/^MSG _INBOX\.adm 1 (\d+)$/);
    body = (await a.readBytes(Number(head[1]) + 2)).toString();
    assert.match(body, /stream_create_response/);
    assert.doesNotMatch(body, /"error"/);
    // Deleting is denied too; the stream stays.
    await exchange(u, 'PUB $JS.API.STREAM.DELETE.PERMS _INBOX.js 0\r\n\r\n', [
      pubViolation('$JS.API.STREAM.DELETE.PERMS'),
    ]);
    await exchange(u, 'PUB $JS.API.STREAM.INFO.PERMS _INBOX.js 0\r\n\r\n', []);
    head = await u.expectLine(/^MSG _INBOX\.js 1 (\d+)$/);
    body = (await u.readBytes(Number(head[1]) + 2)).toString();
    assert.match(body, /"name":"PERMS"/);
  });

  test('a queue group gives a message a member filters to another member', async () => {
    // subdeny's `> mix` may not take secret.*; admin's member of mix takes them all.
    const d = await as('subdeny');
    await exchange(d, 'SUB > mix 1\r\n', []);
    const a = await as('admin');
    await exchange(a, 'SUB secret.* mix 1\r\n', []);
    const p = await as('admin');
    await exchange(p, 'PUB secret.x 1\r\nx\r\n'.repeat(10), []);
    a.send('PING\r\n');
    for (let i = 0; i < 10; i++) await a.expectMsg('secret.x', 1, 'x');
    await a.expectLine('PONG');
    await d.ping();
  });

  // --- where Weft is stricter than nats-server (src/auth/permissions.ts) ------

  test(
    'allow a.*: a subscription to a.> is refused (it could receive a.b.c)',
    onlyOn('weft', 'an allow rule must cover all a subscription can receive'),
    async () => {
      const c = await as('starallow');
      await exchange(c, 'SUB a.> 1\r\nSUB a.* 2\r\n', [subViolation('a.>')]);
    },
  );

  test(
    'allow a.*: nats-server accepts a subscription to a.>',
    onlyOn('nats-server', 'it looks the subscription up as a literal subject, and * matches >'),
    async () => {
      const c = await as('starallow');
      await exchange(c, 'SUB a.> 1\r\nSUB a.* 2\r\n', []);
    },
  );

  test(
    'deny secret.> and "secret.> q": a queue subscription in another group is refused',
    onlyOn('weft', 'a plain deny rule refuses every subscription it matches'),
    async () => {
      const c = await as('qoverride');
      await exchange(c, 'SUB secret.x w 1\r\nSUB secret.x q 2\r\n', [
        subViolation('secret.x', 'w'),
        subViolation('secret.x', 'q'),
      ]);
    },
  );

  test(
    'deny secret.> and "secret.> q": nats-server lets the queue rule override the plain one',
    onlyOn('nats-server', 'a queue deny rule matching the subject decides alone'),
    async () => {
      const c = await as('qoverride');
      await exchange(c, 'SUB secret.x w 1\r\nSUB secret.x q 2\r\n', [
        subViolation('secret.x', 'q'),
      ]);
    },
  );

  /** A `qfilter` subscriber on `> q`; what reaches it of secret.a and public.a. */
  async function queueFilter(): Promise<RawClient> {
    const c = await as('qfilter');
    await exchange(c, 'SUB > q 1\r\n', []);
    const p = await as('admin');
    await exchange(p, 'PUB secret.a 1\r\n1\r\nPUB public.a 1\r\n2\r\n', []);
    c.send('PING\r\n');
    return c;
  }

  test(
    'deny "secret.> q": a wider subscription in group q gets no secret.*',
    onlyOn('weft', 'a queue deny rule also filters deliveries to its group'),
    async () => {
      const c = await queueFilter();
      await c.expectMsg('public.a', 1, '2');
      await c.expectLine('PONG');
    },
  );

  test(
    'deny "secret.> q": nats-server delivers secret.* to a > subscription in group q',
    onlyOn('nats-server', 'its queue deny rules only refuse subscriptions'),
    async () => {
      const c = await queueFilter();
      await c.expectMsg('secret.a', 1, '1');
      await c.expectMsg('public.a', 1, '2');
      await c.expectLine('PONG');
    },
  );

  /** A `subdeny` (deny secret.>) subscriber on `*.a`, which the rule overlaps but is not inside. */
  async function overlapOnly(): Promise<RawClient> {
    const c = await as('subdeny');
    await exchange(c, 'SUB *.a 1\r\n', []);
    const p = await as('admin');
    await exchange(p, 'PUB secret.a 1\r\n1\r\nPUB public.a 1\r\n2\r\n', []);
    c.send('PING\r\n');
    return c;
  }

  test(
    'deny secret.>: a subscription to *.a it only overlaps gets no secret.a',
    onlyOn('weft', 'every delivery to a subscription a deny rule overlaps is checked'),
    async () => {
      const c = await overlapOnly();
      await c.expectMsg('public.a', 1, '2');
      await c.expectLine('PONG');
    },
  );

  test(
    'deny secret.>: nats-server delivers secret.a to a subscription to *.a',
    onlyOn('nats-server', 'its delivery filter loads only for a deny rule inside a subscription'),
    async () => {
      const c = await overlapOnly();
      await c.expectMsg('secret.a', 1, '1');
      await c.expectMsg('public.a', 1, '2');
      await c.expectLine('PONG');
    },
  );
});
