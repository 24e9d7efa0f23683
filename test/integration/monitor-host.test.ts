/**
 * Where monitoring listens (`http_host`, default the client host) and how a
 * refused request is logged: every one counted, at most one warning per
 * UNAUTHORIZED_LOG_MS, so a scanner cannot flood the log.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { startServer } from '../../src/server/server.js';

async function start(
  t: { after: (fn: () => Promise<void>) => void },
  extra: Record<string, unknown>,
  sink?: string[],
) {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'weft-monhost-'));
  const srv = await startServer({
    host: '127.0.0.1',
    port: 0,
    httpPort: 0,
    dataDir,
    logLevel: sink === undefined ? 'silent' : 'warn',
    meshPort: -1,
    ...extra,
  });
  t.after(async () => {
    await srv.close();
    await rm(dataDir, { recursive: true, force: true });
  });
  return srv;
}

test('http_host binds monitoring apart from the client host', async (t) => {
  const srv = await start(t, { httpHost: '127.0.0.2' });
  const ok = await fetch(`http://127.0.0.2:${srv.httpPort}/healthz`);
  assert.equal(ok.status, 200);
  await assert.rejects(fetch(`http://127.0.0.1:${srv.httpPort}/healthz`));
});

test('refused monitoring requests are all counted, and logged at most once per window', async (t) => {
  const lines: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
    if (text.includes('monitoring: refused')) {
      lines.push(text);
      return true;
    }
    return (write as (c: unknown, ...r: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof process.stderr.write;
  t.after(() => {
    process.stderr.write = write;
  });
  const srv = await start(t, { monitorToken: 's3cret' }, lines);
  for (let i = 0; i < 20; i++) {
    const r = await fetch(`http://127.0.0.1:${srv.httpPort}/varz`);
    assert.equal(r.status, 401);
    await r.arrayBuffer();
  }
  const ok = await fetch(`http://127.0.0.1:${srv.httpPort}/varz`, {
    headers: { authorization: 'Bearer s3cret' },
  });
  const varz = (await ok.json()) as { weft: { monitor_unauthorized: number } };
  assert.equal(varz.weft.monitor_unauthorized, 20);
  assert.equal(lines.length, 1, lines.join(''));
});
