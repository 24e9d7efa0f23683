/**
 * The receiver of docs/webhooks.md ("Verifying the signature") works when
 * pasted: the block is written to a file and run with node, a webhook
 * POSTs to it, and it accepts the signed delivery (and refuses one signed
 * with another secret).
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { connect, type NatsConnection, StringCodec } from 'nats';
import { parseWebhookList } from '../../src/protocols/http/webhooks/spec.js';
import { startServer, type WeftServer } from '../../src/server/server.js';
import { checkFor } from '../helpers/poll.js';

const DOC = fileURLToPath(new URL('../../../docs/webhooks.md', import.meta.url));
const SECRET = 'whsec_docs-example';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

describe('docs/webhooks.md receiver', () => {
  let dir = '';
  let child: ChildProcess;
  let out = '';
  let srv: WeftServer;
  let nc: NatsConnection;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'weft-webhooks-docs-'));
    const text = readFileSync(DOC, 'utf8');
    const m = /```js\n(\/\/ receiver\.mjs\n[\s\S]*?)```/.exec(text);
    assert.ok(m !== null, 'no receiver.mjs block in docs/webhooks.md');
    const file = path.join(dir, 'receiver.mjs');
    writeFileSync(file, m[1]!);
    const port = await freePort();
    child = spawn(process.execPath, [file], {
      env: { ...process.env, WEFT_WEBHOOK_SECRET: SECRET, PORT: String(port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
    });
    child.stderr!.on('data', (c: Buffer) => {
      out += c.toString();
    });
    await checkFor(() => out.includes(`listening on ${port}`), 10_000);
    const url = `http://127.0.0.1:${port}/`;
    srv = await startServer({
      port: 0,
      httpPort: 0,
      host: '127.0.0.1',
      dataDir: dir,
      logLevel: 'silent',
      jetstream: false,
      webhooks: parseWebhookList('webhooks', [
        { name: 'good', url, subject: 'docs.good', secret: SECRET },
        { name: 'forged', url, subject: 'docs.forged', secret: 'another', max_deliver: 1 },
      ]),
    });
    nc = await connect({ port: srv.port });
  });
  after(async () => {
    await nc?.close();
    await srv?.close();
    child?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  async function webhook(name: string): Promise<Record<string, number | string>> {
    const v = (await (await fetch(`http://127.0.0.1:${srv.httpPort}/varz`)).json()) as {
      weft: {
        faces: {
          http: { webhooks: { webhooks: Record<string, Record<string, number | string>> } };
        };
      };
    };
    return v.weft.faces.http.webhooks.webhooks[name]!;
  }

  test('accepts a signed delivery, refuses one signed with another secret (401)', async () => {
    const sc = StringCodec();
    nc.publish('docs.good', sc.encode('{"order":1}'));
    await checkFor(() => out.includes('docs.good {"order":1}'), 5000);
    await checkFor(async () => (await webhook('good')).delivered === 1);
    nc.publish('docs.forged', sc.encode('x'));
    const s = await checkFor(async () => {
      const w = await webhook('forged');
      return w.dead_lettered === 1 ? w : false;
    }, 5000);
    assert.match(String(s.last_error), /HTTP 401/);
    assert.ok(!out.includes('docs.forged'));
  });
});
