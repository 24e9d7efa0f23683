/**
 * The servers under comparison, as child processes: nats-server (the
 * reference, from Debian's packages) and a Weft node. Both listen on loopback
 * only, on free ports, and are always stopped when the comparison ends —
 * normally, on error, or on Ctrl-C.
 */

import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface ServerProc {
  name: string;
  port: number;
  pid: number;
  url: string;
  /** Last lines the server printed, for error messages. */
  tail(): string;
  exited(): boolean;
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
const tmpDirs = new Set<string>();

/** Kills whatever is still running, synchronously: safe in an 'exit' handler. */
export function killAll(): void {
  for (const child of running) child.kill('SIGKILL');
  running.clear();
  for (const dir of tmpDirs) rmSync(dir, { recursive: true, force: true });
  tmpDirs.clear();
}

/** A port that was free a moment ago: listen on port 0, note the port, close. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** Full path of `cmd` on $PATH (plus the sbin directories Debian installs to), or null. */
export function which(cmd: string): string | null {
  const dirs = `${process.env['PATH'] ?? ''}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin`;
  for (const dir of dirs.split(':')) {
    if (dir === '') continue;
    const file = path.join(dir, cmd);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {}
  }
  return null;
}

/**
 * Finds nats-server, installing Debian's package when running as root.
 * Returns its path, or null after printing how to install it.
 */
export function ensureNatsServer(log: (line: string) => void): string | null {
  const found = which('nats-server');
  if (found !== null) return found;
  if (process.getuid?.() === 0 && which('apt-get') !== null) {
    log('nats-server is not installed; running apt-get install -y nats-server');
    const opts = {
      stdio: 'inherit',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    } as const;
    let r = spawnSync('apt-get', ['install', '-y', 'nats-server'], opts);
    if (r.status !== 0) {
      spawnSync('apt-get', ['update'], opts);
      r = spawnSync('apt-get', ['install', '-y', 'nats-server'], opts);
    }
    const installed = which('nats-server');
    if (installed !== null) return installed;
  }
  log(
    [
      'nats-server (the reference server) is not on PATH. Install it, then run again:',
      '  Debian/Ubuntu:  sudo apt-get install nats-server',
      '  elsewhere:      https://docs.nats.io/running-a-nats-service/introduction/installation',
    ].join('\n'),
  );
  return null;
}

export function natsServerVersion(bin: string): string {
  const r = spawnSync(bin, ['--version'], { encoding: 'utf8' });
  return (r.stdout || r.stderr || '').trim().replace(/^nats-server:\s*/, '') || 'unknown';
}

export async function startNatsServer(bin: string): Promise<ServerProc> {
  const port = await freePort();
  return launch('nats-server', bin, ['-a', '127.0.0.1', '-p', String(port)], port);
}

/** Starts `node <mainJs> server` on a free port with a throwaway data directory. */
export async function startWeft(mainJs: string): Promise<ServerProc> {
  if (!existsSync(mainJs)) throw new Error(`${mainJs} not found: run npm run build`);
  const port = await freePort();
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'weft-bench-'));
  tmpDirs.add(dataDir);
  const args = [
    mainJs,
    'server',
    '--host',
    '127.0.0.1',
    '--port',
    String(port),
    '--http-port',
    '-1',
    '--data-dir',
    dataDir,
  ];
  const proc = await launch('weft', process.execPath, args, port);
  const stop = proc.stop;
  proc.stop = async () => {
    await stop();
    rmSync(dataDir, { recursive: true, force: true });
    tmpDirs.delete(dataDir);
  };
  return proc;
}

async function launch(
  name: string,
  cmd: string,
  args: string[],
  port: number,
): Promise<ServerProc> {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  const lines: string[] = [];
  const keep = (chunk: Buffer) => {
    lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    if (lines.length > 20) lines.splice(0, lines.length - 20);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  let exitedWith: string | null = null;
  const exit = new Promise<void>((resolve) => {
    child.on('exit', (code, signal) => {
      exitedWith = signal ?? `code ${code}`;
      running.delete(child);
      resolve();
    });
    child.on('error', (err) => {
      exitedWith = err.message;
      running.delete(child);
      resolve();
    });
  });
  const proc: ServerProc = {
    name,
    port,
    pid: child.pid ?? 0,
    url: `nats://127.0.0.1:${port}`,
    tail: () => lines.join('\n'),
    exited: () => exitedWith !== null,
    stop: async () => {
      if (exitedWith !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exit;
      clearTimeout(timer);
    },
  };
  const deadline = performance.now() + 15_000;
  for (;;) {
    if (exitedWith !== null) {
      throw new Error(
        `${name} exited (${exitedWith}) before accepting connections:\n${proc.tail()}`,
      );
    }
    if (await accepts(port)) return proc;
    if (performance.now() > deadline) {
      await proc.stop();
      throw new Error(
        `${name} did not accept connections on port ${port} within 15 s:\n${proc.tail()}`,
      );
    }
    await sleep(100);
  }
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
