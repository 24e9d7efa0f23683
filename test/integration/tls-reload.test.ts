/**
 * Certificates are reloaded on SIGHUP without dropping established
 * connections: `weft server` as a child process, its server certificate
 * rotated on disk, `kill -HUP`; a new connection sees the new certificate,
 * the old one keeps working; a bad file keeps the current certificates.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import tls from 'node:tls';
import { connect } from 'nats';
import { makeCerts, rotateServerCert } from '../helpers/certs.js';
import { checkFor, within } from '../helpers/poll.js';
import { startWeftProcess, stopWeftProcess, tempDir } from '../helpers/weft-process.js';

const enc = new TextEncoder();

/** The subject CN of the certificate a new TLS connection is shown. */
async function serverCn(port: number, ca: string): Promise<string> {
  const raw = net.connect(port, '127.0.0.1');
  await within(
    new Promise<void>((resolve, reject) => {
      raw.once('data', () => resolve());
      raw.once('error', reject);
    }),
    3000,
    'INFO',
  );
  raw.pause();
  const sock = tls.connect({ socket: raw, servername: 'localhost', ca: readFileSync(ca) });
  try {
    await within(
      new Promise<void>((resolve, reject) => {
        sock.once('secureConnect', () => resolve());
        sock.once('error', reject);
      }),
      3000,
      'the TLS handshake',
    );
    return String(sock.getPeerCertificate().subject.CN);
  } finally {
    sock.destroy();
  }
}

test('SIGHUP reloads the certificates; established connections keep going', async () => {
  const dir = tempDir('weft-tls-reload-');
  const certs = await makeCerts(dir);
  const conf = join(dir, 'weft.yaml');
  writeFileSync(
    conf,
    [
      'tls:',
      `  cert_file: ${JSON.stringify(certs.server.cert)}`,
      `  key_file: ${JSON.stringify(certs.server.key)}`,
      '',
    ].join('\n'),
  );
  const node = await startWeftProcess([
    '-c',
    conf,
    '--port',
    '0',
    '--http-port=-1',
    '--mesh-port=-1',
    '--data-dir',
    join(dir, 'data'),
  ]);
  try {
    const port = Number(/client connections on [^\s]+:(\d+)/.exec(node.stderr())![1]);
    assert.equal(await serverCn(port, certs.ca), 'localhost');
    const url = `tls://127.0.0.1:${port}`;
    const old = await connect({ servers: url, reconnect: false, tls: { caFile: certs.ca } });
    const sub = old.subscribe('reload.>');
    await old.flush();

    await rotateServerCert(certs, 'localhost-rotated');
    node.child.kill('SIGHUP');
    await checkFor(async () => (await serverCn(port, certs.ca)) === 'localhost-rotated', 5000);
    assert.match(node.stderr(), /Reloaded TLS certificates/);

    // The connection made before the reload still publishes and receives.
    const fresh = await connect({ servers: url, reconnect: false, tls: { caFile: certs.ca } });
    fresh.publish('reload.one', enc.encode('after reload'));
    await fresh.flush();
    const got = await within(
      (async () => {
        for await (const m of sub) return m.subject;
        return '';
      })(),
      3000,
      'the message on the old connection',
    );
    assert.equal(got, 'reload.one');
    assert.equal(old.isClosed(), false);

    // A bad file: the reload is refused as a whole, the error names the
    // key, the current certificates (and everything else) stay.
    writeFileSync(certs.server.cert, 'not a certificate\n');
    node.child.kill('SIGHUP');
    await checkFor(
      () => /reload failed, nothing changed: tls: cannot use cert_file/.test(node.stderr()),
      5000,
    );
    assert.equal(await serverCn(port, certs.ca), 'localhost-rotated');
    old.publish('reload.two', enc.encode('still here'));
    await old.flush();

    await fresh.close();
    await old.close();
  } finally {
    await stopWeftProcess(node, 'tls reload');
  }
});
