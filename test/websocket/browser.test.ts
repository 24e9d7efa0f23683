/**
 * NATS over WebSocket where users run it: Debian's Chromium, headless,
 * driven by puppeteer-core (no browser download), loads a page that imports
 * the nats.ws browser bundle, and connects to a Weft node's WebSocket
 * listener: publish, subscribe, request-reply with a responder on the TCP
 * port, a JetStream pull consume, a browser origin outside
 * `websocket.allowed_origins` refused, and a reconnect after the node
 * restarts on the same ports and data directory.
 *
 * Skipped (saying why) when /usr/bin/chromium is missing, unless CI is set:
 * then it fails, since .ci/run installs it.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { AckPolicy, connect, type NatsConnection, StringCodec } from 'nats';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import type { ServerOptions } from '../../src/config/options.js';
import { startServer, type WeftServer } from '../../src/server/server.js';
import { checkFor } from '../helpers/poll.js';

const CHROMIUM = '/usr/bin/chromium';
/** nats.ws's browser bundle (from dist/test/websocket/ up to the repository). */
const BUNDLE = fileURLToPath(new URL('../../../node_modules/nats.ws/esm/nats.js', import.meta.url));
const sc = StringCodec();

const missing = !existsSync(CHROMIUM);
if (missing && process.env.CI) {
  throw new Error(`${CHROMIUM} is missing and CI is set: .ci/run installs Debian's chromium`);
}

/** The test page: nats.ws from the same origin, and small functions the test calls. */
const PAGE = `<!doctype html><meta charset="utf-8"><title>weft nats.ws</title>
<script type="module">
import { connect, StringCodec } from '/nats.js';
const sc = StringCodec();
const t = { got: [], js: [], events: [] };
t.start = async (url) => {
  t.nc = await connect({ servers: url, name: 'chromium', reconnectTimeWait: 100,
    maxReconnectAttempts: -1, pingInterval: 2000 });
  (async () => { for await (const s of t.nc.status()) t.events.push(s.type); })();
  const sub = t.nc.subscribe('browser.in');
  (async () => { for await (const m of sub) t.got.push(sc.decode(m.data)); })();
  await t.nc.flush();
};
t.publish = async (subject, text) => { t.nc.publish(subject, sc.encode(text)); await t.nc.flush(); };
t.request = async (subject, text) =>
  sc.decode((await t.nc.request(subject, sc.encode(text), { timeout: 3000 })).data);
t.consume = async (stream, durable) => {
  const c = await t.nc.jetstream().consumers.get(stream, durable);
  const it = await c.consume({ max_messages: 10 });
  (async () => { for await (const m of it) { t.js.push(sc.decode(m.data)); m.ack(); } })();
};
t.tryConnect = async (url) => {
  try {
    const nc = await connect({ servers: url, reconnect: false });
    await nc.close();
    return 'connected';
  } catch (err) {
    return 'refused: ' + (err.code || err.message);
  }
};
window.t = t;
</script>`;

/** Serves the page and the bundle on 127.0.0.1, a random port. */
async function pageServer(): Promise<{ server: Server; origin: string }> {
  const bundle = readFileSync(BUNDLE);
  const server = createServer((req, res) => {
    if (req.url === '/nats.js') {
      res.writeHead(200, { 'Content-Type': 'text/javascript' }).end(bundle);
    } else if (req.url === '/') {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(PAGE);
    } else res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/** The page's `window.t` (code passed to page.evaluate runs in the page). */
type PageGlobal<T> = { t: Record<string, T> };

/** The page's state (`window.t`), read from Node. */
const state = (page: Page, key: 'got' | 'js' | 'events'): Promise<string[]> =>
  page.evaluate((k) => (globalThis as unknown as PageGlobal<string[]>).t[k]!, key);

/** Calls `window.t[fn](...args)` in the page. */
const call = (page: Page, fn: string, ...args: string[]): Promise<unknown> =>
  page.evaluate(
    (f, a) => (globalThis as unknown as PageGlobal<(...x: string[]) => unknown>).t[f]!(...a),
    fn,
    args,
  );

async function openPage(browser: Browser, url: string): Promise<Page> {
  const page = await browser.newPage();
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(String(err)));
  await page.goto(url);
  await checkFor(
    async () =>
      (await page.evaluate(() => 't' in globalThis)) ||
      (problems.length > 0 ? problems.join('; ') : false),
    5000,
    20,
  ).then((v) => {
    if (v !== true) throw new Error(`the page failed: ${String(v)}`);
  });
  return page;
}

test('Chromium with the nats.ws bundle: pub, sub, request, JetStream consume, origin check, reconnect after a restart', {
  skip: missing ? `${CHROMIUM} is not installed (apt-get install chromium)` : false,
  timeout: 60_000,
}, async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'weft-browser-'));
  const { server, origin } = await pageServer();
  // Another origin (another port) serves the same page: not allowed.
  const other = await pageServer();
  const base: Partial<ServerOptions> = {
    host: '127.0.0.1',
    httpPort: -1,
    dataDir: dir,
    logLevel: 'error',
    websocketAllowedOrigins: [origin],
  };
  let srv: WeftServer | null = await startServer({ ...base, port: 0, websocketPort: 0 });
  const ports = { port: srv.port, websocketPort: srv.node.websocket!.listeners[0]!.port };
  const wsUrl = `ws://127.0.0.1:${ports.websocketPort}`;
  let browser: Browser | null = null;
  let tcp: NatsConnection | null = null;
  try {
    browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
    });
    tcp = await connect({
      port: ports.port,
      reconnectTimeWait: 100,
      maxReconnectAttempts: -1,
    });
    tcp.subscribe('svc.echo', {
      callback: (_e, m) => m.respond(sc.encode(`echo ${sc.decode(m.data)}`)),
    });
    const fromBrowser = tcp.subscribe('browser.out', { max: 1 });
    await tcp.flush();

    const page = await openPage(browser, `${origin}/`);
    await call(page, 'start', wsUrl);
    // Subscribe (in the page) ← publish (TCP).
    tcp.publish('browser.in', sc.encode('one'));
    await checkFor(async () => (await state(page, 'got')).includes('one'), 5000, 20);
    // Publish (in the page) → subscribe (TCP).
    await call(page, 'publish', 'browser.out', 'from chromium');
    for await (const m of fromBrowser) assert.equal(sc.decode(m.data), 'from chromium');
    // Request (in the page) → a responder on the TCP port.
    assert.equal(await call(page, 'request', 'svc.echo', 'hi'), 'echo hi');
    const c = [...srv.node.connections.values()].find((x) => x.client?.name === 'chromium');
    assert.equal(c?.face, 'nats');

    // JetStream: the stream and a durable pull consumer made from Node, consumed in the page.
    const jsm = await tcp.jetstreamManager();
    await jsm.streams.add({ name: 'ORDERS', subjects: ['orders.>'] });
    await jsm.consumers.add('ORDERS', { durable_name: 'web', ack_policy: AckPolicy.Explicit });
    await call(page, 'consume', 'ORDERS', 'web');
    const js = tcp.jetstream();
    for (const n of [1, 2, 3]) await js.publish(`orders.${n}`, sc.encode(`order ${n}`));
    await checkFor(async () => (await state(page, 'js')).length === 3, 5000, 20);
    assert.deepEqual(await state(page, 'js'), ['order 1', 'order 2', 'order 3']);

    // A page from an origin not in websocket.allowed_origins: its upgrade is refused (403).
    const stranger = await openPage(browser, `${other.origin}/`);
    assert.match(String(await call(stranger, 'tryConnect', wsUrl)), /^refused/);
    const refused = srv.node.websocket!.varz() as { refused: Record<string, number> };
    assert.equal(refused.refused.origin, 1);
    await stranger.close();

    // The node restarts on the same ports and data directory: the page reconnects.
    await srv.close();
    srv = null;
    srv = await startServer({ ...base, ...ports });
    await checkFor(async () => (await state(page, 'events')).includes('reconnect'), 10_000, 20);
    // Its subscription is back: a message published now arrives (the TCP
    // client reconnects too; publish until one gets through).
    await checkFor(
      async () => {
        tcp!.publish('browser.in', sc.encode('after restart'));
        await tcp!.flush();
        return (await state(page, 'got')).includes('after restart');
      },
      10_000,
      50,
    );
    assert.equal(await call(page, 'request', 'svc.echo', 'again'), 'echo again');
    // The durable consumer survived the restart, and the page's consume goes on.
    await js.publish('orders.4', sc.encode('order 4'));
    await checkFor(async () => (await state(page, 'js')).includes('order 4'), 10_000, 20);
    assert.deepEqual((await state(page, 'js')).slice(0, 3), ['order 1', 'order 2', 'order 3']);
  } finally {
    await browser?.close();
    await tcp?.close();
    await srv?.close();
    server.close();
    other.server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
