/**
 * Test certificates, made at run time with the `openssl` CLI (never
 * committed): a CA, a server certificate for localhost and 127.0.0.1, a
 * client certificate, an expired one and one from a second CA. EC P-256 keys
 * keep generation fast. Every leaf may serve as a server or a client
 * certificate (both extended key usages, SANs for localhost), so mesh tests
 * can use them for mutual TLS too.
 *
 *   const certs = await makeCerts(dir);
 *   startServer({ tls: { certFile: certs.server.cert, keyFile: certs.server.key, ... } })
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A certificate and its private key, as PEM file paths. */
export interface CertPair {
  readonly cert: string;
  readonly key: string;
}

export interface TestCerts {
  /** The CA that signs server, client and expired. */
  readonly ca: string;
  /** CN=localhost, SAN DNS:localhost, IP:127.0.0.1, IP:::1. */
  readonly server: CertPair;
  /** CN=alice, SAN email:alice@example.com, DNS:alice.example.com (and localhost). */
  readonly client: CertPair;
  /** Signed by `ca`, expired a day ago (CN=expired). */
  readonly expired: CertPair;
  /** A second CA, trusted by nobody. */
  readonly otherCa: string;
  /** Signed by `otherCa` (CN=stranger, SANs as server). */
  readonly untrusted: CertPair;
  /** The directory holding them. */
  readonly dir: string;
}

async function openssl(args: string[]): Promise<void> {
  try {
    await run('openssl', args);
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`openssl ${args[0]} failed: ${e.stderr?.trim() || e.message}`);
  }
}

async function newKey(file: string): Promise<void> {
  await openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', file]);
}

async function makeCa(dir: string, name: string): Promise<CertPair> {
  const pair = { cert: path.join(dir, `${name}.pem`), key: path.join(dir, `${name}-key.pem`) };
  await newKey(pair.key);
  await openssl([
    'req',
    '-x509',
    '-new',
    '-key',
    pair.key,
    '-subj',
    `/O=Weft tests/CN=${name}`,
    '-days',
    '30',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
    '-out',
    pair.cert,
  ]);
  return pair;
}

/** A leaf signed by `ca`, valid for `days` (negative: already expired). */
async function makeLeaf(
  dir: string,
  name: string,
  cn: string,
  sans: string,
  ca: CertPair,
  days: number,
): Promise<CertPair> {
  const pair = { cert: path.join(dir, `${name}.pem`), key: path.join(dir, `${name}-key.pem`) };
  const csr = path.join(dir, `${name}.csr`);
  const ext = path.join(dir, `${name}.ext`);
  await newKey(pair.key);
  await openssl(['req', '-new', '-key', pair.key, '-subj', `/O=Weft tests/CN=${cn}`, '-out', csr]);
  await writeFile(
    ext,
    [
      'basicConstraints=CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth,clientAuth',
      `subjectAltName=${sans}`,
      '',
    ].join('\n'),
  );
  await openssl([
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    ca.cert,
    '-CAkey',
    ca.key,
    '-set_serial',
    String(Date.now() * 1000 + Math.floor(Math.random() * 1000)),
    '-days',
    String(days),
    '-extfile',
    ext,
    '-out',
    pair.cert,
  ]);
  return pair;
}

const LOCAL = 'DNS:localhost,IP:127.0.0.1,IP:::1';

/** Generates the test certificates into `dir` (which must exist). */
export async function makeCerts(dir: string): Promise<TestCerts> {
  const [ca, other] = await Promise.all([makeCa(dir, 'ca'), makeCa(dir, 'other-ca')]);
  const [server, client, expired, untrusted] = await Promise.all([
    makeLeaf(dir, 'server', 'localhost', LOCAL, ca, 30),
    makeLeaf(
      dir,
      'client',
      'alice',
      `email:alice@example.com,DNS:alice.example.com,${LOCAL}`,
      ca,
      30,
    ),
    makeLeaf(dir, 'expired', 'expired', LOCAL, ca, -1),
    makeLeaf(dir, 'untrusted', 'stranger', LOCAL, other, 30),
  ]);
  return { ca: ca.cert, server, client, expired, otherCa: other.cert, untrusted, dir };
}

/**
 * A new server certificate for localhost signed by the same CA, written over
 * `certs.server` (a rotation, as an operator does before a SIGHUP), with
 * subject CN `cn` so a test can tell the two apart.
 */
export async function rotateServerCert(certs: TestCerts, cn = 'localhost-rotated'): Promise<void> {
  const ca = { cert: certs.ca, key: path.join(certs.dir, 'ca-key.pem') };
  await makeLeaf(certs.dir, 'server', cn, LOCAL, ca, 30);
}
