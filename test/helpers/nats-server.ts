/**
 * Runs the reference server (nats-server) as a child process with a generated
 * config file, so the same tests can pin down its real behaviour.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Target, TargetOptions } from './harness.js';
import { checkFor } from './poll.js';

const BIN = process.env.NATS_SERVER_BIN ?? 'nats-server';

/** Children still running, killed if the test process exits abruptly. */
const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

/** A port that was free a moment ago (bound to 0, then released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** Seconds with millisecond precision, as nats-server's float fields want. */
const seconds = (ms: number) => String(ms / 1000);

export function natsServerConfig(opts: TargetOptions, port: number, httpPort: number): string {
  const lines = [`listen: "127.0.0.1:${port}"`, `http: "127.0.0.1:${httpPort}"`];
  if (opts.name !== undefined) lines.push(`server_name: ${JSON.stringify(opts.name)}`);
  if (opts.maxPayload !== undefined) lines.push(`max_payload: ${opts.maxPayload}`);
  if (opts.maxControlLine !== undefined) lines.push(`max_control_line: ${opts.maxControlLine}`);
  if (opts.maxPending !== undefined) lines.push(`max_pending: ${opts.maxPending}`);
  if (opts.maxConnections !== undefined) lines.push(`max_connections: ${opts.maxConnections}`);
  if (opts.maxSubscriptions !== undefined) {
    lines.push(`max_subscriptions: ${opts.maxSubscriptions}`);
  }
  if (opts.pingIntervalMs !== undefined) lines.push(`ping_interval: "${opts.pingIntervalMs}ms"`);
  if (opts.maxPingsOut !== undefined) lines.push(`ping_max: ${opts.maxPingsOut}`);
  // max_pending_total is Weft's own: nats-server has no node-wide bound.
  if (opts.writeDeadlineMs !== undefined) lines.push(`write_deadline: "${opts.writeDeadlineMs}ms"`);
  if (opts.referenceWriteDeadlineMs !== undefined) {
    lines.push(`write_deadline: "${opts.referenceWriteDeadlineMs}ms"`);
  }
  if (opts.referenceWebsocketPort !== undefined) {
    lines.push(`websocket { listen: "127.0.0.1:${opts.referenceWebsocketPort}", no_tls: true }`);
  }
  if (opts.tls !== undefined && opts.tls !== null) {
    const t = opts.tls;
    const tls = [
      `cert_file: ${JSON.stringify(t.certFile)}`,
      `key_file: ${JSON.stringify(t.keyFile)}`,
      `timeout: ${seconds(t.timeoutMs)}`,
    ];
    if (t.caFile !== '') tls.push(`ca_file: ${JSON.stringify(t.caFile)}`);
    if (t.verifyAndMap) tls.push('verify_and_map: true');
    else if (t.verify) tls.push('verify: true');
    lines.push(`tls { ${tls.join(', ')} }`);
  }
  // nats-server has no top-level auth timeout: it lives in the authorization
  // block, and only takes effect when authentication is required.
  const auth: string[] = [];
  if (opts.authTimeoutMs !== undefined) auth.push(`timeout: ${seconds(opts.authTimeoutMs)}`);
  if (opts.referenceRequiresAuth) auth.push('token: "weft-test-token"');
  if (opts.securityDoc !== undefined) {
    for (const [k, v] of Object.entries(opts.securityDoc)) {
      if (k === 'authorization' && auth.length > 0) {
        throw new Error(
          'securityDoc.authorization and authTimeoutMs/referenceRequiresAuth together',
        );
      }
      lines.push(`${k}: ${JSON.stringify(v)}`);
    }
  }
  if (auth.length > 0) lines.push(`authorization { ${auth.join(', ')} }`);
  return lines.join('\n') + '\n';
}

async function acceptsConnections(port: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    s.once('data', () => {
      s.destroy();
      resolve();
    });
    s.once('error', (err) => {
      s.destroy();
      reject(err);
    });
  });
}

async function attempt(opts: TargetOptions, dir: string): Promise<Target> {
  const [port, httpPort] = [await freePort(), await freePort()];
  const conf = path.join(dir, 'nats-server.conf');
  await writeFile(conf, natsServerConfig(opts, port, httpPort));
  const child = spawn(BIN, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  live.add(child);
  let log = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (d: string) => {
    if (log.length < 64 * 1024) log += d;
  });
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      live.delete(child);
      resolve(code);
    });
  });
  let gone = false;
  void exited.then(() => {
    gone = true;
  });
  try {
    const state = await checkFor(
      async () => {
        if (gone) return 'exited';
        await acceptsConnections(port);
        const res = await fetch(`http://127.0.0.1:${httpPort}/healthz`);
        await res.arrayBuffer();
        if (!res.ok) throw new Error(`healthz ${res.status}`);
        return 'ready';
      },
      5000,
      20,
    );
    if (state === 'exited') throw new Error(`nats-server exited during start:\n${log}`);
  } catch (err) {
    child.kill('SIGKILL');
    await exited;
    throw err;
  }
  return {
    kind: 'nats-server',
    port,
    httpPort,
    url: `nats://127.0.0.1:${port}`,
    close: async () => {
      if (!gone) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
        await exited;
        clearTimeout(timer);
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export async function startNatsServer(opts: TargetOptions): Promise<Target> {
  const dir = await mkdtemp(path.join(tmpdir(), 'weft-ref-'));
  let last: unknown;
  // The free ports may be taken between probing and binding; try again.
  for (let i = 0; i < 3; i++) {
    try {
      return await attempt(opts, dir);
    } catch (err) {
      last = err;
      if (!/address already in use/i.test(String((err as Error).message))) break;
    }
  }
  await rm(dir, { recursive: true, force: true });
  throw last;
}
