/**
 * SSE where users run it: a real `EventSource` in headless Chromium
 * (Debian's /usr/bin/chromium, driven by puppeteer-core). The page is on
 * the API's origin (it loads /v1/openapi.json), so the example of
 * docs/http.md runs as written. The browser reads a stream-backed
 * subscription; the node stops (the response ends) and a new node starts
 * on the same port and data: the EventSource reconnects by itself with
 * `Last-Event-ID`, and sees every message once.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { connect } from 'nats';
import puppeteer from 'puppeteer-core';
import { checkFor } from '../helpers/poll.js';
import { type SseNode, startSseNode } from '../helpers/sse.js';

const CHROMIUM = '/usr/bin/chromium';

async function publish(node: SseNode, from: number, to: number): Promise<void> {
  const nc = await connect({ servers: node.natsUrl, reconnect: false });
  const js = nc.jetstream();
  for (let i = from; i <= to; i++) await js.publish('orders.new', Buffer.from(`order ${i}`));
  await nc.close();
}

test('EventSource in Chromium: events by subject, then a reconnect that resumes after Last-Event-ID', {
  skip: existsSync(CHROMIUM) ? false : `${CHROMIUM} is not installed`,
}, async (t) => {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'weft-sse-browser-'));
  t.after(() => rm(dataDir, { recursive: true, force: true }));
  let node = await startSseNode({ dataDir, httpSseRetryMs: 100 });
  const port = Number(new URL(node.base).port);
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu'],
    headless: true,
  });
  try {
    const nc = await connect({ servers: node.natsUrl, reconnect: false });
    await (await nc.jetstreamManager()).streams.add({ name: 'ORDERS', subjects: ['orders.>'] });
    await nc.close();
    await publish(node, 1, 3);
    const page = await browser.newPage();
    await page.goto(`${node.base}/v1/openapi.json`);
    // The example of docs/http.md, as a browser runs it.
    await page.evaluate(`
        window.got = [];
        window.opens = 0;
        const es = new EventSource('/v1/subscribe/orders.%3E?stream=ORDERS&start=first&format=json');
        es.onopen = () => window.opens++;
        es.addEventListener('orders.new', (e) => {
          window.got.push({ id: e.lastEventId, body: JSON.parse(e.data) });
        });
      `);
    const got = () =>
      page.evaluate('window.got') as Promise<{ id: string; body: { data: string } }[]>;
    await checkFor(async () => (await got()).length === 3, 10_000);
    // The node goes away; another takes its port and data; the browser comes back by itself.
    await node.close();
    node = await startSseNode({ dataDir, httpApiPort: port, httpSseRetryMs: 100 });
    await publish(node, 4, 6);
    await checkFor(async () => (await got()).length >= 6, 15_000);
    const all = await got();
    assert.deepEqual(
      all.map((e) => [e.id, e.body.data]),
      [1, 2, 3, 4, 5, 6].map((i) => [String(i), `order ${i}`]),
    );
    const opens = (await page.evaluate('window.opens')) as number;
    assert.ok(opens >= 2, `the EventSource reconnected (${opens} opens)`);
  } finally {
    await browser.close();
    await node.close();
  }
});
