/**
 * The webhooks API (`/v1/webhooks`) with accounts and permissions: a
 * webhook runs in its creator's account and needs subscribe permission on
 * its subject; another account neither sees nor deletes it; bad bodies
 * get 400 naming the field; status in the API and /metrics. The config's
 * `webhooks:` list: errors name the key and `weft server` exits 2.
 * Without JetStream, an API create is refused with 409.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { connect, type NatsConnection, StringCodec } from 'nats';
import { parseConfigText, validateOptions } from '../../src/config/config.js';
import { withDefaults } from '../../src/config/options.js';
import { ConfigError } from '../../src/errors.js';
import { startServer, type WeftServer } from '../../src/server/server.js';
import { checkFor } from '../helpers/poll.js';
import { Receiver } from './webhook-receiver.js';

const sc = StringCodec();
const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const basic = (user: string, pass: string) =>
  `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
const ALICE = basic('alice', 'a-pass');
const BOB = basic('bob', 'b-pass');

function apiPort(srv: WeftServer): number {
  return srv.node.faces.find((f) => f.name === 'http')!.listeners[0]!.port;
}

describe('webhooks API', () => {
  let srv: WeftServer;
  let dir = '';
  let alice: NatsConnection;
  let bob: NatsConnection;
  const rx = new Receiver();
  const cfg = new Receiver();

  const call = async (auth: string, method: string, p: string, body?: unknown) => {
    const res = await fetch(`http://127.0.0.1:${apiPort(srv)}${p}`, {
      method,
      headers: { authorization: auth, 'content-type': 'application/json' },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    return {
      status: res.status,
      // biome-ignore lint/suspicious/noExplicitAny: answers are read loosely, field by field, in assertions
      body: text === '' ? null : (JSON.parse(text) as Record<string, any>),
    };
  };

  /** A node of accounts A (with JetStream) and B, and a config webhook in B, on these ports (0: any). */
  const start = async (port: number, api: number) => {
    const yaml = `
accounts:
  A:
    jetstream: enabled
    users:
      - user: alice
        password: a-pass
        permissions:
          publish: ["alice.>", "$WEFT.WEBHOOK.>"]
          subscribe: ["alice.>", "_INBOX.>"]
  B:
    users:
      - user: bob
        password: b-pass
webhooks:
  - name: from-config
    url: ${cfg.url}
    subject: cfg.>
    account: B
`;
    srv = await startServer({
      ...parseConfigText(yaml),
      port,
      httpPort: 0,
      httpApiPort: api,
      host: '127.0.0.1',
      dataDir: dir,
      logLevel: 'silent',
    });
    alice = await connect({ port: srv.port, user: 'alice', pass: 'a-pass' });
    bob = await connect({ port: srv.port, user: 'bob', pass: 'b-pass' });
  };

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'weft-webhooks-api-'));
    await rx.start();
    await cfg.start();
    await start(0, 0);
  });
  after(async () => {
    await alice?.close();
    await bob?.close();
    await srv?.close();
    await rx.stop();
    await cfg.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('creating needs subscribe permission on the subject (403), and a login (401)', async () => {
    const r = await call(ALICE, 'POST', '/v1/webhooks', {
      name: 'spy',
      url: rx.url,
      subject: 'bob.>',
    });
    assert.equal(r.status, 403, JSON.stringify(r.body));
    assert.match(r.body!.error.description, /Permissions Violation for Subscription to "bob\.>"/);
    const noLogin = await call('', 'GET', '/v1/webhooks');
    assert.equal(noLogin.status, 401);
  });

  test("a webhook runs in its creator's account; the other account neither sees it nor gets its messages", async () => {
    const r = await call(ALICE, 'POST', '/v1/webhooks', {
      name: 'a1',
      url: rx.url,
      subject: 'alice.>',
      concurrency: 2,
      timeout: '2s',
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(r.body!.account, 'A');
    assert.equal(r.body!.concurrency, 2);
    assert.equal(r.body!.timeout, '2000ms');
    assert.match(r.body!.secret, /^whsec_/);
    assert.equal(r.body!.status.state, 'running');
    bob.publish('alice.x', sc.encode('from B'));
    alice.publish('alice.x', sc.encode('from A'));
    await checkFor(() => rx.received.length === 1);
    await bob.flush();
    assert.deepEqual(rx.bodies(), ['from A']);
    const mine = await call(ALICE, 'GET', '/v1/webhooks');
    assert.deepEqual(
      mine.body!.webhooks.map((w: { name: string }) => w.name),
      ['a1'],
    );
    const theirs = await call(BOB, 'GET', '/v1/webhooks');
    assert.deepEqual(
      theirs.body!.webhooks.map((w: { name: string }) => w.name),
      ['from-config'],
    );
    assert.equal((await call(BOB, 'GET', '/v1/webhooks/a1')).status, 404);
    assert.equal((await call(BOB, 'DELETE', '/v1/webhooks/a1')).status, 404);
    const one = await call(ALICE, 'GET', '/v1/webhooks/a1');
    assert.equal(one.status, 200);
    assert.equal(one.body!.secret, undefined);
    assert.equal(one.body!.signed, true);
    await checkFor(
      async () => (await call(ALICE, 'GET', '/v1/webhooks/a1')).body!.status.delivered === 1,
    );
  });

  test('bad bodies: 400 naming the field; a taken name 409', async () => {
    const cases: [unknown, string, RegExp][] = [
      [{ name: 'x', subject: 'alice.y' }, 'url', /is required/],
      [{ name: 'x', url: 'ftp://h/', subject: 'alice.y' }, 'url', /http/],
      [{ name: 'x y', url: rx.url, subject: 'alice.y' }, 'name', /letters/],
      [{ name: 'x', url: rx.url, subject: 'alice..y' }, 'subject', /valid subject/],
      [{ name: 'x', url: rx.url, subject: 'alice.y', timeout: 'soon' }, 'timeout', /duration/],
      [{ name: 'x', url: rx.url, subject: 'alice.y', concurrency: 0 }, 'concurrency', /1 to 256/],
      [{ name: 'x', url: rx.url, subject: 'alice.y', account: 'B' }, 'account', /creator/],
      [{ name: 'x', url: rx.url, subject: 'alice.y', colour: 'red' }, 'colour', /unknown key/],
    ];
    for (const [body, field, why] of cases) {
      const r = await call(ALICE, 'POST', '/v1/webhooks', body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.equal(r.body!.error.field, field, JSON.stringify(r.body));
      assert.match(r.body!.error.description, why);
    }
    const notJson = await call(ALICE, 'POST', '/v1/webhooks', '{"name":');
    assert.equal(notJson.status, 400);
    const taken = await call(ALICE, 'POST', '/v1/webhooks', {
      name: 'a1',
      url: rx.url,
      subject: 'alice.z',
    });
    assert.equal(taken.status, 409);
    const config = await call(BOB, 'POST', '/v1/webhooks', {
      name: 'from-config',
      url: rx.url,
      subject: 'q',
    });
    assert.equal(config.status, 409);
  });

  test('status in /metrics; a config webhook cannot be deleted (409), an API one can', async () => {
    const text = await (await fetch(`http://127.0.0.1:${srv.httpPort}/metrics`)).text();
    assert.match(text, /weft_webhook_delivered_total\{[^}]*webhook="a1"[^}]*\} 1\n/);
    assert.match(text, /weft_webhook_lag\{[^}]*webhook="from-config"[^}]*\} 0\n/);
    assert.match(text, /weft_webhook_running\{[^}]*webhook="a1"[^}]*\} 1\n/);
    assert.equal((await call(BOB, 'DELETE', '/v1/webhooks/from-config')).status, 409);
    const del = await call(ALICE, 'DELETE', '/v1/webhooks/a1');
    assert.equal(del.status, 200);
    assert.equal((await call(ALICE, 'GET', '/v1/webhooks/a1')).status, 404);
    alice.publish('alice.after', sc.encode('gone'));
    await alice.flush();
    assert.deepEqual(rx.bodies(), ['from A']);
  });

  test("an API webhook is kept in its creator's account's JetStream (not another's) and comes back there after a restart (a deleted one does not)", async () => {
    const made = await call(ALICE, 'POST', '/v1/webhooks', {
      name: 'a2',
      url: rx.url,
      subject: 'alice.>',
    });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    const store = '$WEFT_webhooks';
    const js = srv.node.jetstream!;
    assert.equal(js.account('A')?.streams.has(store), true, 'kept in account A');
    assert.notEqual(js.account('B')?.streams.has(store), true, 'nothing of A in B');
    assert.notEqual(js.account('$G')?.streams.has(store), true, 'nothing of A in $G');
    const before = rx.received.length;
    await alice.close();
    await bob.close();
    const ports = { port: srv.port, api: apiPort(srv) };
    await srv.close();
    await start(ports.port, ports.api);
    assert.equal((await call(ALICE, 'GET', '/v1/webhooks/a1')).status, 404, 'a1 was deleted');
    const back = await call(ALICE, 'GET', '/v1/webhooks/a2');
    assert.equal(back.status, 200, JSON.stringify(back.body));
    assert.equal(back.body!.account, 'A');
    assert.equal(back.body!.origin, 'api');
    assert.equal((await call(BOB, 'GET', '/v1/webhooks/a2')).status, 404);
    alice.publish('alice.after', sc.encode('after restart'));
    await checkFor(() => rx.received.length === before + 1);
    assert.equal(rx.bodies().at(-1), 'after restart');
  });
});

describe('webhooks API without JetStream', () => {
  test('creating answers 409 and says why; listing works', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'weft-webhooks-nojs-'));
    const srv = await startServer({
      port: 0,
      httpPort: -1,
      httpApiPort: 0,
      host: '127.0.0.1',
      dataDir: dir,
      logLevel: 'silent',
      jetstream: false,
    });
    try {
      const base = `http://127.0.0.1:${apiPort(srv)}/v1/webhooks`;
      const res = await fetch(base, {
        method: 'POST',
        body: JSON.stringify({ name: 'n', url: 'http://127.0.0.1:9/', subject: 'x' }),
      });
      assert.equal(res.status, 409);
      const body = (await res.json()) as { error: { description: string } };
      assert.match(body.error.description, /JetStream/);
      assert.deepEqual(await (await fetch(base)).json(), { webhooks: [] });
    } finally {
      await srv.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('webhooks in the config file', () => {
  test('each error names its key', () => {
    const bad: [string, string][] = [
      ['webhooks: 3', 'webhooks'],
      ['webhooks:\n  - {url: "http://h/", subject: a}', 'webhooks[0].name'],
      [
        'webhooks:\n  - {name: a, url: "http://h/", subject: a, retry_base: 2s, retry_max: 1s}',
        'webhooks[0].retry_max',
      ],
      [
        'webhooks:\n  - {name: a, url: "http://h/", subject: a}\n  - {name: a, url: "http://h/", subject: b}',
        'webhooks[1].name',
      ],
      [
        'webhooks:\n  - {name: a, url: "http://h/", subject: a, max_deliver: 0}',
        'webhooks[0].max_deliver',
      ],
      [
        'webhooks:\n  - {name: a, url: "http://h/", subject: a, dead_letter: "x.*"}',
        'webhooks[0].dead_letter',
      ],
    ];
    for (const [text, key] of bad) {
      assert.throws(
        () => parseConfigText(text),
        (e: unknown) => e instanceof ConfigError && e.key === key,
        text,
      );
    }
    const ok = parseConfigText(
      'webhooks:\n  - {name: a, url: "http://h/", subject: "a.>", timeout: 2, queue_bytes: 1MiB}',
    );
    assert.equal(ok.webhooks?.[0]?.timeoutMs, 2000);
    assert.equal(ok.webhooks?.[0]?.queueBytes, 1024 * 1024);
    assert.equal(ok.webhooks?.[0]?.deadLetter, '$WEFT.WEBHOOK.a.DEAD');
  });

  test('a webhook names an account the node has', () => {
    const text = 'webhooks:\n  - {name: a, url: "http://h/", subject: a, account: NOPE}';
    assert.throws(
      () => validateOptions(withDefaults(parseConfigText(text))),
      (e: unknown) => e instanceof ConfigError && e.key === 'webhooks[0].account',
    );
  });

  test('weft server exits 2 on a bad webhook, naming the key', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'weft-webhooks-cfg-'));
    try {
      const file = path.join(dir, 'weft.yaml');
      writeFileSync(
        file,
        'webhooks:\n  - name: a\n    url: "http://h/"\n    subject: a\n    timeout: never\n',
      );
      const r = spawnSync(process.execPath, [MAIN, 'server', '--config', file], {
        encoding: 'utf8',
        timeout: 20_000,
      });
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, /webhooks\[0\]\.timeout: must be a duration/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
