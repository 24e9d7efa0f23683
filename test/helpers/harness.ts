/**
 * One test suite, two servers. Every integration and wire test starts its
 * server through `startTarget`, which runs a Weft node in-process (default) or
 * the reference nats-server as a child process (`WEFT_TEST_TARGET=nats-server`).
 * The suite is written against the reference first, so what it expects of Weft
 * is what real NATS clients already see.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before } from 'node:test';
import type { ServerOptions } from '../../src/config/options.js';
import { type ClientPool, clientPool } from './clients.js';
import { startNatsServer } from './nats-server.js';
import { within } from './poll.js';
import { rawPool } from './raw.js';

export { checkFor, within } from './poll.js';
export { RawClient, rawPool, type ServerInfo } from './raw.js';

/**
 * Starts one target for the enclosing describe (before/after hooks) with a
 * pool of official-client connections to it, closed afterwards.
 */
export function useTarget(opts: TargetOptions = {}): {
  readonly srv: Target;
  readonly pool: ClientPool;
} {
  let srv: Target | undefined;
  let pool: ClientPool | undefined;
  before(async () => {
    srv = await startTarget(opts);
    pool = clientPool(srv.url);
  });
  after(async () => {
    await pool?.closeAll();
    await srv?.close();
  });
  return {
    get srv() {
      return srv!;
    },
    get pool() {
      return pool!;
    },
  };
}

export type TargetKind = 'weft' | 'nats-server';

export const TARGET: TargetKind =
  process.env.WEFT_TEST_TARGET === 'nats-server' ? 'nats-server' : 'weft';

export type TargetOptions = Partial<
  Pick<
    ServerOptions,
    | 'name'
    | 'maxPayload'
    | 'maxControlLine'
    | 'maxPending'
    | 'maxConnections'
    | 'maxSubscriptions'
    | 'authTimeoutMs'
    | 'pingIntervalMs'
    | 'maxPingsOut'
    | 'writeDeadlineMs'
    | 'maxPendingTotal'
    | 'tls'
  >
> & {
  /**
   * nats-server only applies its auth timeout and its "CONNECT first" rule when
   * authentication is required; this turns on token auth for the reference so
   * those rules can be observed there. Weft always applies them; ignored there.
   */
  referenceRequiresAuth?: boolean;
  /**
   * nats-server's write deadline (default 10s), for the reference only. A
   * write to a consumer that stopped reading blocks the reference's read loop
   * until this expires, and that, not max_pending, is usually how it detects
   * the slow consumer. Weft queues instead of blocking; ignored there (use
   * `writeDeadlineMs` for both).
   */
  referenceWriteDeadlineMs?: number;
  /** nats-server's `websocket { port, no_tls: true }`, for the reference only (Weft: `websocketPort`). */
  referenceWebsocketPort?: number;
  /**
   * Security blocks with nats-server's key names (`authorization`,
   * `accounts`, `system_account`, `no_auth_user`, …), as a config document:
   * Weft reads them with its config reader, nats-server gets them as JSON
   * in its config file (its format reads JSON).
   */
  securityDoc?: Record<string, unknown>;
};

export interface Target {
  kind: TargetKind;
  port: number;
  httpPort: number;
  /** `nats://127.0.0.1:<port>` for clients. */
  url: string;
  close(): Promise<void>;
}

interface WeftServer {
  port: number;
  httpPort: number;
  close(): Promise<void>;
}
type StartServer = (opts: Partial<ServerOptions>) => Promise<WeftServer>;

async function startWeft(opts: TargetOptions): Promise<Target> {
  // Loaded lazily so runs against nats-server never import Weft at all.
  const mod = (await import('../../src/index.js')) as unknown as { startServer?: StartServer };
  if (typeof mod.startServer !== 'function') {
    throw new Error('src/index.ts does not export startServer (yet)');
  }
  const {
    referenceRequiresAuth: _a,
    referenceWriteDeadlineMs: _w,
    securityDoc,
    ...weftOpts
  } = opts;
  const security =
    securityDoc === undefined
      ? {}
      : (
          (await import('../../src/auth/config.js')) as typeof import('../../src/auth/config.js')
        ).parseSecurity(securityDoc);
  const dataDir = await mkdtemp(path.join(tmpdir(), 'weft-test-'));
  let s: WeftServer;
  try {
    s = await mod.startServer({
      host: '127.0.0.1',
      port: 0,
      httpPort: 0,
      dataDir,
      logLevel: 'silent',
      meshPort: -1,
      ...weftOpts,
      ...security,
    });
  } catch (err) {
    await rm(dataDir, { recursive: true, force: true });
    throw err;
  }
  return {
    kind: 'weft',
    port: s.port,
    httpPort: s.httpPort,
    url: `nats://127.0.0.1:${s.port}`,
    close: async () => {
      try {
        // A close that never finishes would hang the whole file; fail instead.
        await within(s.close(), 5000, 'the Weft server to close');
      } finally {
        await rm(dataDir, { recursive: true, force: true });
      }
    },
  };
}

/** Starts the server under test on random ports with the given limits. */
export function startTarget(opts: TargetOptions = {}): Promise<Target> {
  return TARGET === 'nats-server' ? startNatsServer(opts) : startWeft(opts);
}

/**
 * Starts a target for one test with a pool of official-client connections
 * and a pool of raw sockets, all closed by `t.after`.
 */
export async function startTargetFor(
  t: { after: (fn: () => Promise<void>) => void },
  opts: TargetOptions = {},
) {
  const srv = await startTarget(opts);
  const pool = clientPool(srv.url);
  const raw = rawPool();
  t.after(async () => {
    raw.closeAll();
    await pool.closeAll();
    await srv.close();
  });
  return { srv, pool, raw };
}

/**
 * For `test(name, onlyOn('weft', why), fn)`: runs only against one target and
 * says why in the skip message, so target-specific behaviour is marked.
 */
export function onlyOn(kind: TargetKind, why: string): { skip: string | false } {
  return { skip: TARGET === kind ? false : `${kind} only: ${why}` };
}

/** GETs a monitoring endpoint and parses its JSON body. */
export async function monitorJson<T = Record<string, unknown>>(
  t: Pick<Target, 'httpPort'>,
  pathAndQuery: string,
): Promise<T> {
  const res = await fetch(`http://127.0.0.1:${t.httpPort}${pathAndQuery}`);
  const text = await res.text();
  if (!res.ok) throw new Error(`GET ${pathAndQuery}: HTTP ${res.status}: ${text.slice(0, 200)}`);
  return JSON.parse(text) as T;
}
