/**
 * A JetStream-enabled target over a data directory that outlives it, so a
 * test can stop the server and start it again on the same data: a Weft node
 * in-process, or `nats-server -js -sd <dir>` with WEFT_TEST_TARGET=nats-server.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { connect, type JetStreamClient, type JetStreamManager, type NatsConnection } from 'nats';
import { startServer } from '../../src/index.js';
import { TARGET } from '../helpers/harness.js';
import { freePort } from '../helpers/nats-server.js';
import { checkFor, within } from '../helpers/poll.js';

export interface JsTarget {
  url: string;
  /** The monitoring port (`/jsz`, `/varz`, …). */
  httpPort: number;
  stop(): Promise<void>;
}

export interface JsData {
  dir: string;
  /** Starts the target on this data. */
  start(): Promise<JsTarget>;
  remove(): Promise<void>;
}

export async function jsData(): Promise<JsData> {
  const dir = await mkdtemp(path.join(tmpdir(), 'weft-js-'));
  return {
    dir,
    start: () => (TARGET === 'nats-server' ? startReference(dir) : startWeft(dir)),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

async function startWeft(dataDir: string): Promise<JsTarget> {
  const s = await startServer({
    host: '127.0.0.1',
    port: 0,
    httpPort: 0,
    meshPort: -1,
    dataDir,
    logLevel: 'silent',
  });
  return {
    url: `nats://127.0.0.1:${s.port}`,
    httpPort: s.httpPort,
    stop: () => within(s.close(), 5000, 'the Weft server to close'),
  };
}

const BIN = process.env.NATS_SERVER_BIN ?? 'nats-server';

async function startReference(dir: string): Promise<JsTarget> {
  const port = await freePort();
  const httpPort = await freePort();
  const child: ChildProcess = spawn(
    BIN,
    [
      '-js',
      '-sd',
      path.join(dir, 'ref'),
      '-a',
      '127.0.0.1',
      '-p',
      String(port),
      '-m',
      String(httpPort),
    ],
    { stdio: 'ignore' },
  );
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
    url: `nats://127.0.0.1:${port}`,
    httpPort,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** A started target with an official-client connection and its JetStream handles. */
export interface JsSession {
  srv: JsTarget;
  nc: NatsConnection;
  jsm: JetStreamManager;
  js: JetStreamClient;
}

/** Starts the target on `data` and connects the `nats` v2 client to it. */
export async function openJs(data: JsData): Promise<JsSession> {
  const srv = await data.start();
  const nc = await connect({ servers: srv.url });
  return { srv, nc, jsm: await nc.jetstreamManager(), js: nc.jetstream() };
}

/** Closes what `openJs` (and `jsData`) opened; any of it may be missing after a failed start. */
export async function closeJs(
  s: Partial<Pick<JsSession, 'srv' | 'nc'>>,
  data?: JsData,
): Promise<void> {
  await s.nc?.close();
  await s.srv?.stop();
  await data?.remove();
}
