/**
 * The TLS workload's servers: nats-server and a Weft node with the same
 * certificates (made with openssl into a throwaway directory), TLS required
 * on the client port (server certificate only, as most deployments), so the
 * load generator reads INFO in clear and then shakes hands, as clients do.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { makeCerts } from '../test/helpers/certs.js';
import { freePort, type ServerProc, startNatsServerWith, startWeft } from './servers.js';

export interface TlsServers {
  nats: ServerProc | null;
  weft: ServerProc | null;
  /** The CA both servers' certificate is signed by (the generator trusts it). */
  caFile: string;
  problems: string[];
  stop(): Promise<void>;
}

export async function startTlsServers(natsBin: string, mainJs: string): Promise<TlsServers> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'weft-bench-tls-'));
  const certs = await makeCerts(dir);
  const problems: string[] = [];
  const block = (q: (s: string) => string) =>
    `tls {\n  cert_file: ${q(certs.server.cert)}\n  key_file: ${q(certs.server.key)}\n}\n`;
  let nats: ServerProc | null = null;
  let weft: ServerProc | null = null;
  try {
    const port = await freePort();
    const conf = path.join(dir, 'nats.conf');
    writeFileSync(conf, `listen: "127.0.0.1:${port}"\n${block((s) => JSON.stringify(s))}`);
    nats = await startNatsServerWith(natsBin, ['-c', conf], port, 'nats-server-tls');
  } catch (err) {
    problems.push(`nats-server with TLS did not start: ${(err as Error).message}`);
  }
  try {
    const conf = path.join(dir, 'weft.yaml');
    writeFileSync(
      conf,
      `tls:\n  cert_file: ${JSON.stringify(certs.server.cert)}\n  key_file: ${JSON.stringify(certs.server.key)}\n`,
    );
    weft = await startWeft(mainJs, ['-c', conf, '--mesh-port', '-1'], 'weft-tls');
  } catch (err) {
    problems.push(`Weft with TLS did not start: ${(err as Error).message}`);
  }
  return {
    nats,
    weft,
    caFile: certs.ca,
    problems,
    stop: async () => {
      await Promise.all([nats?.stop(), weft?.stop()]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
