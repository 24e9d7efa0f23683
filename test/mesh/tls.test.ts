/**
 * Mutual TLS on mesh links (mesh.tls): links of 2 and 3 nodes carry
 * messages over TLS; a certificate of another CA, an expired one, one that
 * names another node, and none at all are each refused, logged and counted
 * in /meshz (`refused.tls`, `refused.certificate`) while the nodes keep
 * working; mTLS and the token together; a reload of the certificate files
 * reaches new links and leaves established ones up.
 */
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { type TLSSocket, connect as tlsConnect } from 'node:tls';
import { parseConfigText, validateOptions } from '../../src/config/config.js';
import { withDefaults } from '../../src/config/options.js';
import { parseTlsBlock } from '../../src/connection/tls.js';
import type { Mesh as MeshCore } from '../../src/mesh/mesh.js';
import { type CertFiles, type MeshCerts, makeMeshCerts } from '../helpers/mesh-certs.js';
import {
  assertExactly,
  checkFor,
  type MeshNode,
  type Meshz,
  publishN,
  record,
  settle,
  startNode,
  startProcessNode,
  waitConverged,
} from './helpers.js';
import { ERR, RawPeer } from './raw-peer.js';

type T = { after(fn: () => Promise<void>): void };
type Refused = Record<string, number>;

let certs: MeshCerts;
before(() => {
  certs = makeMeshCerts();
});
after(() => certs.remove());

const tlsOf = (f: CertFiles) => parseTlsBlock('mesh.tls', f);

async function node(
  t: T,
  name: string,
  files: CertFiles,
  o: { links?: string[]; meshToken?: string } = {},
): Promise<MeshNode & { mesh: MeshCore }> {
  const n = await startNode({
    name,
    links: o.links ?? [],
    meshToken: o.meshToken ?? '',
    extra: { meshTls: tlsOf(files) },
  });
  t.after(() => n.close());
  return n as MeshNode & { mesh: MeshCore };
}

const upLinks = (z: Meshz) => z.links.filter((l) => l.state === 'up');
const refused = async (n: MeshNode): Promise<Refused> =>
  (await n.meshz()).refused as unknown as Refused;

/** A client round trip between two nodes' clients over the mesh. */
async function flows(from: MeshNode, to: MeshNode, tag: string): Promise<void> {
  const sub = await to.connect();
  const r = record(sub, `tls.${tag}`);
  await sub.flush();
  const pub = await from.connect();
  await checkFor(async () => {
    const z = await from.meshz();
    const v = z.nodes.find((n) => n.name === to.name);
    if (v === undefined || v.interest < 1)
      throw new Error(`${from.name} has no interest of ${to.name}`);
  }, 5000);
  await publishN(pub, `tls.${tag}`, 20, tag);
  await settle([r], 20);
  assertExactly(r, tag, 20, `${to.name} from ${from.name}`);
  await pub.close();
  await sub.close();
}

/** The node counts a refusal of `reason` and has no link up; it still serves clients. */
async function refusedWith(n: MeshNode, reason: string): Promise<void> {
  await checkFor(async () => (await refused(n))[reason]! >= 1, 5000);
  assert.deepEqual(upLinks(await n.meshz()), [], `no link up on ${n.name}`);
  const nc = await n.connect();
  const r = record(nc, 'alive');
  await nc.flush();
  await publishN(nc, 'alive', 2, 'ok');
  await settle([r], 2);
  await nc.close();
}

describe('mesh links with mutual TLS', () => {
  test('two nodes: the link is TLS, messages flow both ways', async (t) => {
    const a = await node(t, 'a', certs.issue('a'));
    const b = await node(t, 'b', certs.issue('b'), { links: [a.linkUrl] });
    await waitConverged([a, b], false);
    const z = await a.meshz();
    const link = upLinks(z)[0] as unknown as { tls_version: string };
    assert.match(link.tls_version, /^TLSv1\.[23]$/);
    assert.deepEqual((z as unknown as { tls: unknown }).tls, {
      enabled: true,
      reloads: 0,
      handshakes: 0,
    });
    await flows(a, b, 'ab');
    await flows(b, a, 'ba');
    const r = await refused(a);
    assert.equal(r.tls, 0);
    assert.equal(r.certificate, 0);
  });

  test('three nodes in a chain: messages cross two TLS links', async () => {
    const files = new Map(['n1', 'n2', 'n3'].map((n) => [n, certs.issue(n)]));
    const m = await startMeshWithTls(files);
    try {
      await flows(m.node('n1'), m.node('n3'), 'chain13');
      await flows(m.node('n3'), m.node('n1'), 'chain31');
    } finally {
      await m.stopAll();
    }
  });

  test('mTLS and the token together: the right token links, a wrong one is refused', async (t) => {
    const a = await node(t, 'a', certs.issue('a'), { meshToken: 's3cret' });
    const b = await node(t, 'b', certs.issue('b'), { links: [a.linkUrl], meshToken: 's3cret' });
    await waitConverged([a, b], false);
    await flows(b, a, 'both');
    const c = await node(t, 'c', certs.issue('c'), { links: [a.linkUrl], meshToken: 'wrong' });
    await checkFor(async () => (await refused(a)).token! >= 1, 5000);
    assert.deepEqual(upLinks(await c.meshz()), []);
  });
});

/** A 3-node chain (n2 dials n1, n3 dials n2), each with its own certificate, no token. */
async function startMeshWithTls(files: Map<string, CertFiles>) {
  const nodes: MeshNode[] = [];
  const add = async (name: string, links: string[]) => {
    const n = await startNode({
      name,
      links,
      meshToken: '',
      extra: { meshTls: tlsOf(files.get(name)!) },
    });
    nodes.push(n);
    return n;
  };
  try {
    const n1 = await add('n1', []);
    const n2 = await add('n2', [n1.linkUrl]);
    await add('n3', [n2.linkUrl]);
    await waitConverged(nodes, false);
  } catch (err) {
    await Promise.all(nodes.map((n) => n.close()));
    throw err;
  }
  return {
    node: (name: string) => nodes.find((n) => n.name === name)!,
    stopAll: () => Promise.all(nodes.map((n) => n.close())),
  };
}

describe('mesh links with a bad certificate', () => {
  test('a dialer with a certificate of another CA: refused.tls on the listener', async (t) => {
    const a = await node(t, 'a', certs.issue('a'));
    const b = await node(t, 'b', certs.issue('b', { ca: 'other' }), { links: [a.linkUrl] });
    await refusedWith(a, 'tls');
    assert.deepEqual(upLinks(await b.meshz()), []);
  });

  test('a listener with a certificate of another CA: refused.tls on the dialer', async (t) => {
    const a = await node(t, 'a', certs.issue('a', { ca: 'other' }));
    const b = await node(t, 'b', certs.issue('b'), { links: [a.linkUrl] });
    await refusedWith(b, 'tls');
    const d = (await b.meshz()) as unknown as { dialers: { last_error?: string }[] };
    assert.match(String(d.dialers[0]!.last_error), /certificate|verify/i);
  });

  test('a listener whose certificate does not name the host dialled: refused.tls on the dialer', async (t) => {
    const a = await node(t, 'a', certs.issue('a', { ip: false }));
    const b = await node(t, 'b', certs.issue('b'), { links: [a.linkUrl] });
    await refusedWith(b, 'tls');
    const d = (await b.meshz()) as unknown as { dialers: { last_error?: string }[] };
    assert.match(String(d.dialers[0]!.last_error), /altnames/);
  });

  test('an expired certificate: refused.tls', async (t) => {
    const a = await node(t, 'a', certs.issue('a'));
    // The node starts (the files are valid PEM); its peers refuse the certificate.
    const b = await node(t, 'b', certs.issue('b', { expired: true }), { links: [a.linkUrl] });
    await refusedWith(a, 'tls');
    assert.deepEqual(upLinks(await b.meshz()), []);
  });

  test('a certificate that names another node: refused.certificate, by either end', async (t) => {
    const a = await node(t, 'a', certs.issue('a'));
    // b presents a certificate of the mesh CA made out to "x".
    await node(t, 'b', certs.issue('x'), { links: [a.linkUrl] });
    await refusedWith(a, 'certificate');
    // (b, the dialer, counts its link up once it has checked a, until a's
    // verdict on b's identity arrives: the listener decides last. So only
    // a's side is stable: no link, no node b.)
    assert.ok(!(await a.meshz()).nodes.some((n) => n.name === 'b' && n.reachable));
    // A listener whose certificate names another node: its dialer refuses it.
    const c = await node(t, 'c', certs.issue('y'));
    const d = await node(t, 'd', certs.issue('d'), { links: [c.linkUrl] });
    await refusedWith(d, 'certificate');
  });

  test('no certificate at all: refused.tls, and the peer is told why', async (t) => {
    const a = await node(t, 'a', certs.issue('a'));
    const s: TLSSocket = tlsConnect({
      host: '127.0.0.1',
      port: a.meshPort,
      ca: readFileSync(certs.caFile),
    });
    s.on('error', () => {});
    const p = new RawPeer(s);
    const err = await p.next(ERR, 5000);
    assert.match(err.body.toString(), /certificate refused: the peer presented no certificate/);
    await p.waitClosed(5000);
    await refusedWith(a, 'tls');
  });

  test('a plaintext peer on a TLS mesh port: refused.tls', async (t) => {
    const a = await node(t, 'a', certs.issue('a'));
    const p = await RawPeer.connect(a.meshPort);
    p.write(Buffer.from('plain text, not a TLS hello'));
    await p.waitClosed(5000);
    await refusedWith(a, 'tls');
  });
});

describe('mesh TLS from the config file', () => {
  test('weft server --config with mesh.tls: two processes link over TLS', async (t) => {
    const yaml = (name: string, f: CertFiles, links: string[]) =>
      [
        `name: ${name}`,
        'mesh:',
        '  port: 0',
        `  links: [${links.map((l) => `"${l}"`).join(', ')}]`,
        '  tls:',
        `    cert_file: ${f.cert_file}`,
        `    key_file: ${f.key_file}`,
        `    ca_file: ${f.ca_file}`,
        '    timeout: 2',
        '',
      ].join('\n');
    const a = await startProcessNode({ name: 'a', configYaml: yaml('a', certs.issue('a'), []) });
    t.after(() => a.close());
    const b = await startProcessNode({
      name: 'b',
      configYaml: yaml('b', certs.issue('b'), [a.linkUrl]),
    });
    t.after(() => b.close());
    await waitConverged([a, b], false);
    assert.match(a.log(), /Listening for mesh links on [^\s]+ \(tls\)/);
    // No token, but TLS: no warning that links need no token.
    assert.doesNotMatch(a.log(), /mesh links need no token/);
    await flows(b, a, 'config');
  });

  test('mesh.tls without ca_file: exit 2 naming the key', async () => {
    const f = certs.issue('a');
    const bad = [
      'name: a',
      'mesh:',
      '  port: 0',
      '  tls:',
      `    cert_file: ${f.cert_file}`,
      `    key_file: ${f.key_file}`,
      '',
    ].join('\n');
    await assert.rejects(
      startProcessNode({ name: 'a', configYaml: bad }),
      /mesh\.tls\.ca_file.*required/s,
    );
  });
});

test('mesh.tls with verify_and_map is refused naming the key', () => {
  const f = certs.issue('a');
  const text = [
    'mesh:',
    '  tls:',
    `    cert_file: ${f.cert_file}`,
    `    key_file: ${f.key_file}`,
    `    ca_file: ${f.ca_file}`,
    '    verify_and_map: true',
    '',
  ].join('\n');
  assert.throws(
    () => validateOptions(withDefaults(parseConfigText(text, 'mesh.yaml'))),
    /mesh\.tls\.verify_and_map: is not for links/,
  );
});

describe('mesh TLS reload', () => {
  test('new links use the reloaded certificate; the link up stays up', async (t) => {
    const aFiles = certs.issue('a');
    const a = await node(t, 'a', aFiles);
    const b = await node(t, 'b', certs.issue('b'), { links: [a.linkUrl] });
    await waitConverged([a, b], false);
    const before = upLinks(await a.meshz())[0]!;
    const fingerprint = async (): Promise<string> => {
      const s = tlsConnect({ host: '127.0.0.1', port: a.meshPort, rejectUnauthorized: false });
      s.on('error', () => {});
      await new Promise<void>((r) => s.once('secureConnect', () => r()));
      const f = s.getPeerCertificate().fingerprint256;
      s.destroy();
      return f;
    };
    const old = await fingerprint();
    const next = certs.issue('a');
    copyFileSync(next.cert_file, aFiles.cert_file);
    copyFileSync(next.key_file, aFiles.key_file);
    a.mesh.reloadTls();
    assert.notEqual(await fingerprint(), old, 'a new connection sees the new certificate');
    const z = await a.meshz();
    assert.equal(upLinks(z)[0]!.peer_id, before.peer_id);
    assert.equal((z as unknown as { tls: { reloads: number } }).tls.reloads, 1);
    // The same link: never went down (b redialled nothing).
    assert.equal(upLinks(await b.meshz())[0]!.reconnects, 0);
    await flows(a, b, 'after-reload');
    // A new node links with the new certificate.
    const c = await node(t, 'c', certs.issue('c'), { links: [a.linkUrl] });
    await waitConverged([a, b, c], false);
  });

  test('a reload with a bad file keeps the old certificate and says which key', async (t) => {
    const aFiles = certs.issue('a');
    const a = await node(t, 'a', aFiles);
    writeFileSync(aFiles.cert_file, 'not a certificate');
    assert.throws(() => a.mesh.reloadTls(), /mesh\.tls/);
    const b = await node(t, 'b', certs.issue('b'), { links: [a.linkUrl] });
    await waitConverged([a, b], false);
  });
});
