/**
 * Certificates for mesh TLS tests, made at run time with the `openssl` CLI
 * in a temp dir (no key is ever committed): a mesh CA, a second CA that the
 * mesh does not trust, and node certificates that name a node (CN and a DNS
 * SAN) and the loopback address the tests dial (unless told not to). EC
 * P-256 keys: quick to make.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface CertFiles {
  cert_file: string;
  key_file: string;
  ca_file: string;
}

export interface IssueOptions {
  /** The issuing CA: 'mesh' (default) or 'other' (not trusted by the mesh). */
  ca?: 'mesh' | 'other';
  /** DNS names beyond the node name; IP 127.0.0.1 is always in. Default: localhost. */
  dns?: string[];
  /** Whether the certificate names 127.0.0.1 (an IP SAN); default true. */
  ip?: boolean;
  /** Already expired (valid in 2020 only). */
  expired?: boolean;
  /** Days valid; default 2. */
  days?: number;
}

export interface MeshCerts {
  readonly dir: string;
  /** The mesh CA's certificate (what every node trusts). */
  readonly caFile: string;
  /** A certificate and key for `name` (CN and DNS SAN), in the `tls` block's key names. */
  issue(name: string, o?: IssueOptions): CertFiles;
  remove(): void;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

function newKey(dir: string, file: string): void {
  openssl(
    ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', file],
    dir,
  );
}

function makeCa(dir: string, name: string): void {
  newKey(dir, `${name}-key.pem`);
  openssl(
    [
      'req',
      '-x509',
      '-new',
      '-key',
      `${name}-key.pem`,
      '-subj',
      `/CN=${name}`,
      '-days',
      '3',
      '-out',
      `${name}.pem`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ],
    dir,
  );
}

export function makeMeshCerts(): MeshCerts {
  const dir = mkdtempSync(path.join(tmpdir(), 'weft-mesh-certs-'));
  makeCa(dir, 'mesh-ca');
  makeCa(dir, 'other-ca');
  let n = 0;
  return {
    dir,
    caFile: path.join(dir, 'mesh-ca.pem'),
    issue(name, o = {}) {
      const base = `node-${++n}`;
      const ca = o.ca === 'other' ? 'other-ca' : 'mesh-ca';
      newKey(dir, `${base}-key.pem`);
      openssl(
        ['req', '-new', '-key', `${base}-key.pem`, '-subj', `/CN=${name}`, '-out', `${base}.csr`],
        dir,
      );
      const sans = [name, ...(o.dns ?? ['localhost'])].map((d) => `DNS:${d}`);
      writeFileSync(
        path.join(dir, `${base}.ext`),
        [
          `subjectAltName=${[...sans, ...(o.ip === false ? [] : ['IP:127.0.0.1'])].join(',')}`,
          'basicConstraints=CA:FALSE',
          'keyUsage=digitalSignature,keyEncipherment',
          'extendedKeyUsage=serverAuth,clientAuth',
          '',
        ].join('\n'),
      );
      if (o.expired) {
        // `openssl x509` (3.0) cannot backdate; `openssl ca` can.
        writeFileSync(path.join(dir, `${base}.idx`), '');
        writeFileSync(
          path.join(dir, `${base}.cnf`),
          [
            '[ca]',
            'default_ca = c',
            '[c]',
            `database = ${base}.idx`,
            `new_certs_dir = .`,
            `serial = ${base}.srl`,
            'default_md = sha256',
            'policy = p',
            'unique_subject = no',
            '[p]',
            'commonName = supplied',
            '',
          ].join('\n'),
        );
        writeFileSync(
          path.join(dir, `${base}.srl`),
          `${(4096 + n).toString(16).padStart(4, '0')}\n`,
        );
        openssl(
          [
            'ca',
            '-batch',
            '-config',
            `${base}.cnf`,
            '-cert',
            `${ca}.pem`,
            '-keyfile',
            `${ca}-key.pem`,
            '-in',
            `${base}.csr`,
            '-out',
            `${base}.pem`,
            '-startdate',
            '20200101000000Z',
            '-enddate',
            '20200102000000Z',
            '-extfile',
            `${base}.ext`,
            '-notext',
          ],
          dir,
        );
      } else {
        openssl(
          [
            'x509',
            '-req',
            '-in',
            `${base}.csr`,
            '-CA',
            `${ca}.pem`,
            '-CAkey',
            `${ca}-key.pem`,
            '-CAcreateserial',
            '-days',
            String(o.days ?? 2),
            '-extfile',
            `${base}.ext`,
            '-out',
            `${base}.pem`,
          ],
          dir,
        );
      }
      return {
        cert_file: path.join(dir, `${base}.pem`),
        key_file: path.join(dir, `${base}-key.pem`),
        ca_file: path.join(dir, 'mesh-ca.pem'),
      };
    },
    remove() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
