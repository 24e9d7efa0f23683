/**
 * A target with several accounts, some with JetStream, over a data
 * directory that outlives it (to restart on the same data): a Weft node
 * in-process, or nats-server with the same accounts in its config
 * (WEFT_TEST_TARGET=nats-server).
 *
 * Requests are made in an account by a user of that account (`<account>`
 * lower-cased, password the same), with the official `nats` client, on
 * either server.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { connect, type NatsConnection } from 'nats';
import { parseSecurity } from '../../src/auth/config.js';
import { startServer, type WeftServer } from '../../src/index.js';
import { TARGET } from '../helpers/harness.js';
import { freePort } from '../helpers/nats-server.js';
import { checkFor, within } from '../helpers/poll.js';

// biome-ignore lint/suspicious/noExplicitAny: a JSON reply, read field by field by the tests
export type Reply = Record<string, any>;

/** Accounts by name: their `jetstream` setting as nats-server writes it (undefined: none). */
export type AccountsSpec = Record<string, string | Record<string, number> | undefined>;

export interface AccountsTarget {
  kind: 'weft' | 'nats-server';
  dataDir: string;
  /** The client port (users `<account>` lower-cased, password the same). */
  readonly port: number;
  /** The monitoring port (`/jsz`, `/varz`). */
  readonly httpPort: number;
  /** The Weft node (null on nats-server). */
  readonly weft: WeftServer | null;
  /**
   * A request in `account`: `body` an object (sent as JSON) or a string (as
   * it is); the parsed reply, or null when none came within `timeoutMs`.
   */
  ask(account: string, subject: string, body?: unknown, timeoutMs?: number): Promise<Reply | null>;
  restart(): Promise<void>;
  /** Weft only: reloads the node with these accounts (as SIGHUP would). */
  reload(spec: AccountsSpec): Promise<void>;
  close(): Promise<void>;
}

const userOf = (account: string) => account.toLowerCase();

function securityDoc(spec: AccountsSpec): Record<string, unknown> {
  const accounts: Record<string, unknown> = {};
  for (const [name, js] of Object.entries(spec)) {
    const u = userOf(name);
    accounts[name] = {
      users: [{ user: u, password: u }],
      ...(js === undefined ? {} : { jetstream: js }),
    };
  }
  return { accounts };
}

function natsConf(spec: AccountsSpec, port: number, httpPort: number, storeDir: string): string {
  const accounts = Object.entries(spec).map(([name, js]) => {
    const u = userOf(name);
    const jsLine = js === undefined ? '' : `, jetstream: ${JSON.stringify(js)}`;
    return `  ${name} { users: [{user: ${u}, password: ${u}}]${jsLine} }`;
  });
  return [
    `listen: "127.0.0.1:${port}"`,
    `http: "127.0.0.1:${httpPort}"`,
    `jetstream { store_dir: ${JSON.stringify(storeDir)} }`,
    'accounts {',
    ...accounts,
    '}',
    '',
  ].join('\n');
}

function encode(body: unknown): Buffer {
  if (body === undefined) return Buffer.alloc(0);
  return Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
}

async function startWeft(spec: AccountsSpec, dataDir: string): Promise<WeftServer> {
  return startServer({
    host: '127.0.0.1',
    port: 0,
    httpPort: 0,
    meshPort: -1,
    dataDir,
    logLevel: 'silent',
    security: parseSecurity(securityDoc(spec)).security,
  });
}

async function startReference(
  spec: AccountsSpec,
  dataDir: string,
): Promise<{ stop(): Promise<void>; port: number; httpPort: number }> {
  const port = await freePort();
  const httpPort = await freePort();
  const conf = path.join(dataDir, 'nats-server.conf');
  await writeFile(conf, natsConf(spec, port, httpPort, path.join(dataDir, 'ref')));
  const child: ChildProcess = spawn(process.env.NATS_SERVER_BIN ?? 'nats-server', ['-c', conf], {
    stdio: 'ignore',
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  await checkFor(
    () =>
      new Promise<boolean>((resolve, reject) => {
        const s = net.connect({ port, host: '127.0.0.1' });
        s.once('data', () => {
          s.destroy();
          resolve(true);
        });
        s.once('error', reject);
      }),
    5000,
    20,
  );
  return {
    port,
    httpPort,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** A server of either kind on the data directory, with its ports and how to stop it. */
interface Running {
  port: number;
  httpPort: number;
  weft: WeftServer | null;
  stop(): Promise<void>;
}

async function run(spec: AccountsSpec, dataDir: string): Promise<Running> {
  if (TARGET === 'nats-server') return { ...(await startReference(spec, dataDir)), weft: null };
  const s = await startWeft(spec, dataDir);
  return {
    port: s.port,
    httpPort: s.httpPort,
    weft: s,
    stop: () => within(s.close(), 5000, 'the Weft server to close'),
  };
}

export async function startAccountsTarget(spec: AccountsSpec): Promise<AccountsTarget> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'weft-jsacct-'));
  let srv = await run(spec, dataDir);
  const conns = new Map<string, NatsConnection>();
  const connFor = async (account: string): Promise<NatsConnection> => {
    let nc = conns.get(account);
    if (nc === undefined) {
      const u = userOf(account);
      nc = await connect({ port: srv.port, user: u, pass: u });
      conns.set(account, nc);
    }
    return nc;
  };
  const closeConns = async () => {
    for (const nc of conns.values()) await nc.close();
    conns.clear();
  };
  return {
    kind: TARGET === 'nats-server' ? 'nats-server' : 'weft',
    dataDir,
    get weft() {
      return srv.weft;
    },
    get port() {
      return srv.port;
    },
    get httpPort() {
      return srv.httpPort;
    },
    ask: async (account, subject, body, timeoutMs = 2000) => {
      const nc = await connFor(account);
      try {
        const m = await nc.request(subject, encode(body), { timeout: timeoutMs });
        return JSON.parse(Buffer.from(m.data).toString('utf8')) as Reply;
      } catch {
        return null;
      }
    },
    reload: async (next) => {
      const node = srv.weft?.node;
      if (node === undefined) throw new Error('reload is for Weft');
      await node.reload({ ...node.options, security: parseSecurity(securityDoc(next)).security });
    },
    restart: async () => {
      await closeConns();
      await srv.stop();
      srv = await run(spec, dataDir);
    },
    close: async () => {
      await closeConns();
      await srv.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
