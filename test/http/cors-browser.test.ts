/**
 * CORS where it matters: a real browser (Debian's /usr/bin/chromium,
 * headless, driven by puppeteer-core). Pages are served from two local
 * origins other than the API's; only the first is in
 * `http.allowed_origins`. From it, `fetch` publishes with an
 * `Authorization` header (a preflight happens first), reads a reply's
 * exposed header and a 401's body and `WWW-Authenticate`; an `EventSource`
 * (the public no_auth_user) receives a message published from Node over
 * NATS. From the other origin, the same `fetch` and `EventSource` fail and
 * nothing is published.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { connect, headers as natsHeaders, StringCodec } from 'nats';
import puppeteer, { type Page } from 'puppeteer-core';
import { parseConfigText } from '../../src/config/config.js';
import { startServer } from '../../src/server/server.js';
import { checkFor } from '../helpers/poll.js';
import { apiUrl } from './helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const sc = StringCodec();
const ALICE = `Basic ${Buffer.from('alice:wonder').toString('base64')}`;

const missing = !existsSync(CHROMIUM);
if (missing && process.env.CI) {
  throw new Error(`${CHROMIUM} is missing and CI is set: .ci/run installs Debian's chromium`);
}

/** The page: calls the API on another origin (`api`), as a browser app would. */
const PAGE = `<!doctype html><meta charset="utf-8"><title>weft cors</title>
<script>
window.t = {
  got: [],
  open: false,
  async publish(api, auth, subject, body) {
    try {
      const r = await fetch(api + '/v1/publish/' + subject, {
        method: 'POST', credentials: 'include', body,
        headers: { Authorization: auth, 'Content-Type': 'text/plain', 'Nats-Msg-Id': body },
      });
      return r.status + ' ' + (await r.text());
    } catch (err) { return 'blocked: ' + err.name; }
  },
  async request(api, auth, subject, body) {
    const r = await fetch(api + '/v1/request/' + subject, {
      method: 'POST', body, headers: { Authorization: auth },
    });
    return [r.status, await r.text(), r.headers.get('X-Nats-Header-Trace')];
  },
  async wrongPassword(api) {
    const r = await fetch(api + '/v1/publish/orders.new', {
      method: 'POST', body: 'x', headers: { Authorization: 'Basic ' + btoa('alice:nope') },
    });
    return [r.status, (await r.json()).error.code, r.headers.get('WWW-Authenticate')];
  },
  subscribe(api, subject, event) {
    const es = new EventSource(api + '/v1/subscribe/' + subject);
    es.onopen = () => { t.open = true; };
    es.addEventListener(event, (e) => t.got.push(e.data));
    t.es = es;
  },
};
</script>`;

async function pageServer(): Promise<{ server: Server; origin: string }> {
  const server = createServer((req, res) => {
    if (req.url === '/') res.writeHead(200, { 'Content-Type': 'text/html' }).end(PAGE);
    else res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

const USERS = `
authorization:
  users:
    - user: alice
      password: wonder
      permissions:
        publish: { allow: ["orders.>", "svc.>"] }
        subscribe: { allow: ["_INBOX.>"] }
    - user: guest
      password: guest
      permissions:
        publish: { deny: [">"] }
        subscribe: { allow: ["orders.>"] }
    - user: svc
      password: svc
no_auth_user: guest
`;

/** Runs `js` (a call on the page's `t`) in the page. */
const run = <T>(page: Page, js: string): Promise<T> => page.evaluate(js) as Promise<T>;

test('Chromium: fetch with Authorization and EventSource from an allowed origin; blocked from another', {
  skip: missing ? `${CHROMIUM} is not installed` : false,
  timeout: 30_000,
}, async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'weft-cors-browser-'));
  const good = await pageServer();
  const evil = await pageServer();
  const srv = await startServer({
    ...parseConfigText(USERS),
    port: 0,
    httpPort: -1,
    host: '127.0.0.1',
    dataDir: dir,
    logLevel: 'silent',
    httpApiPort: 0,
    jetstream: false,
    httpAllowedOrigins: [good.origin],
  });
  const api = apiUrl(srv);
  const face = srv.node.faces.find((x) => x.name === 'http')!;
  const varz = () => face.varz!() as { preflights: number; refused: Record<string, number> };
  const nc = await connect({ port: srv.port, user: 'svc', pass: 'svc' });
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu'],
    headless: true,
  });
  try {
    const seen: string[] = [];
    nc.subscribe('orders.>', { callback: (_e, m) => seen.push(sc.decode(m.data)) });
    nc.subscribe('svc.echo', {
      callback: (_e, m) => {
        const h = natsHeaders();
        h.set('Trace', 'abc');
        m.respond(m.data, { headers: h });
      },
    });
    await nc.flush();
    const page = await browser.newPage();
    await page.goto(`${good.origin}/`);
    const other = await browser.newPage();
    await other.goto(`${evil.origin}/`);
    const a = JSON.stringify(api);

    // Another origin: the preflight is refused, so the POST never leaves the browser.
    assert.equal(
      await run(other, `t.publish(${a}, ${JSON.stringify(ALICE)}, 'orders.new', 'from evil')`),
      'blocked: TypeError',
    );
    assert.ok((varz().refused.origin_not_allowed ?? 0) >= 1, 'the refused preflight is counted');
    // Its EventSource gets no CORS headers: the browser fails it (CLOSED).
    await run(other, `t.subscribe(${a}, 'orders.%3E', 'orders.new')`);
    await checkFor(() => run<number>(other, 't.es.readyState').then((s) => s === 2), 5000);

    // The allowed origin: an EventSource as the public no_auth_user, then a publish from NATS.
    await run(page, `t.subscribe(${a}, 'orders.%3E', 'orders.new')`);
    await checkFor(() => run<boolean>(page, 't.open'), 5000);
    nc.publish('orders.new', sc.encode('from nats'));
    await checkFor(async () => (await run<string[]>(page, 't.got')).includes('from nats'), 5000);

    // fetch with Authorization (and a Nats-* header): preflight, then the POST.
    const before = varz().preflights;
    assert.equal(
      await run(
        page,
        `t.publish(${a}, ${JSON.stringify(ALICE)}, 'orders.new', 'from the browser')`,
      ),
      '202 ',
    );
    assert.ok(varz().preflights > before, 'a preflight was answered');
    await checkFor(() => seen.includes('from the browser'), 5000);
    await checkFor(
      async () => (await run<string[]>(page, 't.got')).includes('from the browser'),
      5000,
    );
    // A reply's header is readable (exposed); so is an error's status, body and WWW-Authenticate.
    assert.deepEqual(
      await run(page, `t.request(${a}, ${JSON.stringify(ALICE)}, 'svc.echo', 'ping')`),
      [200, 'ping', 'abc'],
    );
    const [status, code, challenge] = await run<[number, number, string]>(
      page,
      `t.wrongPassword(${a})`,
    );
    assert.deepEqual([status, code], [401, 401]);
    assert.match(challenge, /^Basic realm="weft"/);
    assert.ok(!seen.includes('from evil'), 'nothing from the other origin was published');
  } finally {
    await browser.close();
    await nc.close();
    await srv.close();
    good.server.close();
    evil.server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
