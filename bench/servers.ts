/**
 * The servers under comparison, as child processes: nats-server (the
 * reference, from Debian's packages) and a Weft node. Both listen on loopback
 * only, on free ports, and are always stopped when the comparison ends —
 * normally, on error, or on Ctrl-C.
 */

import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { waitForPath } from '../src/bench/probe.js';
import { parseServerUrl } from '../src/bench/protocol.js';

export interface ServerProc {
  name: string;
  port: number;
  /** Monitoring port, when the server was given one (mesh nodes: for /meshz). */
  httpPort?: number;
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

/**
 * Ports freePort handed out in this run, oldest first: one is never handed
 * out twice (the kernel may offer a just-closed port again, and two ports
 * asked for back to back — a node's client and cluster ports — must differ).
 */
const handedOut = new Set<number>();
/** How many handed-out ports are remembered. */
const HANDED_OUT_MAX = 4096;

/** A loopback port free now and not handed out before in this run. */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await probePort();
    if (handedOut.has(port)) continue;
    handedOut.add(port);
    if (handedOut.size > HANDED_OUT_MAX) handedOut.delete(handedOut.values().next().value!);
    return port;
  }
}

/** A port that was free a moment ago: listen on port 0, note the port, close. */
function probePort(): Promise<number> {
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

export async function startNatsServer(bin: string, monitor = false): Promise<ServerProc> {
  const port = await freePort();
  const args = ['-a', '127.0.0.1', '-p', String(port)];
  const httpPort = monitor ? await freePort() : -1;
  if (monitor) args.push('-m', String(httpPort));
  const proc = await launch('nats-server', bin, args, port);
  if (monitor) proc.httpPort = httpPort;
  return proc;
}

/** nats-server with `args` (a config file, say) listening on `port`. */
export function startNatsServerWith(
  bin: string,
  args: string[],
  port: number,
  name = 'nats-server',
): Promise<ServerProc> {
  return launch(name, bin, args, port);
}

/** Any server binary with `args`, listening on `port` (mosquitto, for the MQTT workloads). */
export function startListening(
  name: string,
  bin: string,
  args: string[],
  port: number,
): Promise<ServerProc> {
  return launch(name, bin, args, port);
}

/**
 * nats-server with JetStream, storing under a throwaway directory. With
 * `syncAlways`, a config file sets `jetstream { sync_interval: always }`
 * (fsync on every write); nats-server before 2.10 refuses that field, and
 * then this throws an error whose message says "unknown field".
 */
export async function startNatsJetStream(bin: string, syncAlways = false): Promise<ServerProc> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'weft-bench-nats-js-'));
  tmpDirs.add(dir);
  const storeDir = path.join(dir, 'store');
  let args = ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', storeDir];
  if (syncAlways) {
    const conf = path.join(dir, 'nats.conf');
    writeFileSync(
      conf,
      `listen: "127.0.0.1:${port}"\njetstream { store_dir: ${JSON.stringify(storeDir)}, sync_interval: always }\n`,
    );
    args = ['-c', conf];
  }
  let proc: ServerProc;
  try {
    proc = await launch(syncAlways ? 'nats-server-sync' : 'nats-server', bin, args, port);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    tmpDirs.delete(dir);
    throw err;
  }
  const stop = proc.stop;
  proc.stop = async () => {
    await stop();
    rmSync(dir, { recursive: true, force: true });
    tmpDirs.delete(dir);
  };
  return proc;
}

/**
 * A nats-server cluster of `n` nodes on loopback: each node listens for routes
 * on its own port and solicits a route to every node started before it (nats
 * routes form a full mesh, so any two nodes are one hop apart). Resolves once
 * a message published on every later node reaches a subscriber on the first.
 */
export async function startNatsCluster(
  bin: string,
  n = 2,
  notes: string[] = [],
): Promise<ServerProc[]> {
  const nodes: ServerProc[] = [];
  const clusterPorts: number[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const port = await freePort();
      const clusterPort = await freePort();
      const args = ['-a', '127.0.0.1', '-p', String(port), '-n', `bench-${NODE_NAMES[i]}`];
      args.push('--cluster_name', 'weft-bench', '--cluster', `nats://127.0.0.1:${clusterPort}`);
      if (clusterPorts.length > 0) {
        args.push('--routes', clusterPorts.map((p) => `nats://127.0.0.1:${p}`).join(','));
      }
      nodes.push(await launch(`nats-${NODE_NAMES[i]}`, bin, args, port));
      clusterPorts.push(clusterPort);
    }
    for (let i = 1; i < n; i++) await linkUp(nodes[i]!, nodes[0]!, notes);
    return nodes;
  } catch (err) {
    await Promise.all(nodes.map((s) => s.stop()));
    throw err;
  }
}

/**
 * A chain of `n` Weft nodes linked by the mesh, a - b - c - …: each node
 * listens for links on its own port and dials the node before it. Resolves
 * once a message published on the first node reaches a subscriber on the last
 * (and the reverse), i.e. every link is up and routes have converged.
 */
export async function startWeftChain(
  mainJs: string,
  n: number,
  notes: string[] = [],
): Promise<ServerProc[]> {
  const nodes: ServerProc[] = [];
  let previous: number | null = null;
  try {
    for (let i = 0; i < n; i++) {
      const meshPort = await freePort();
      const name = NODE_NAMES[i]!;
      const args = ['--name', name, '--mesh-port', String(meshPort), '--mesh-token', 'bench'];
      if (previous !== null) args.push('--link', `weft://127.0.0.1:${previous}`);
      nodes.push(await startWeft(mainJs, args, `weft-${name}`));
      previous = meshPort;
    }
    if (n > 1) {
      await linkUp(nodes[0]!, nodes[n - 1]!, notes);
      await linkUp(nodes[n - 1]!, nodes[0]!, notes);
    }
    return nodes;
  } catch (err) {
    await Promise.all(nodes.map((s) => s.stop()));
    throw err;
  }
}

const NODE_NAMES = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];

/**
 * Waits for a path from → to: a probe subscription on `to` must receive a
 * message published on `from`. A probe that gets nothing for 5 s is replaced
 * by a fresh one (new connection, new subject), up to 4 times: a lost
 * interest update would otherwise fail the whole run; it is noted in `notes`.
 */
async function linkUp(from: ServerProc, to: ServerProc, notes: string[]): Promise<void> {
  const attempts = 4;
  const failures: string[] = [];
  for (let i = 1; i <= attempts; i++) {
    try {
      const [a, b] = [parseServerUrl(from.url), parseServerUrl(to.url)];
      await waitForPath(a, b, { timeoutMs: 5000 });
      if (failures.length > 0) {
        notes.push(
          `${from.name} → ${to.name}: the first ${failures.length} probe subscription(s) on ${to.name} got nothing in 5 s; subscription ${i} worked (${failures[0]})`,
        );
      }
      return;
    } catch (err) {
      failures.push((err as Error).message);
      if (from.exited() || to.exited()) break;
    }
  }
  const tails = [from, to].map((s) => `${s.name}${s.exited() ? ' (exited)' : ''}:\n${s.tail()}`);
  throw new Error(
    `${from.name} → ${to.name}: ${failures.length} probes failed: ${failures.at(-1)}\n${tails.join('\n')}`,
  );
}

/**
 * Starts `node <mainJs> server` on a free port with a throwaway data directory
 * (`extraArgs` are appended: mesh flags, for instance).
 */
export async function startWeft(
  mainJs: string,
  extraArgs: string[] = [],
  name = 'weft',
  monitor = false,
): Promise<ServerProc> {
  if (!existsSync(mainJs)) throw new Error(`${mainJs} not found: run npm run build`);
  const port = await freePort();
  // Mesh nodes get a monitoring port, so /meshz can tell why messages went missing.
  const httpPort =
    monitor || extraArgs.includes('--link') || extraArgs.includes('--name') ? await freePort() : -1;
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'weft-bench-'));
  tmpDirs.add(dataDir);
  // WEFT_BENCH_NODE_ARGS: flags for the Weft node's node process, e.g.
  // `--cpu-prof --cpu-prof-dir=/tmp/prof` to profile it under the benchmark.
  const nodeArgs = (process.env['WEFT_BENCH_NODE_ARGS'] ?? '').split(' ').filter(Boolean);
  // WEFT_BENCH_SERVER_ARGS: flags for `weft server` itself, e.g. `--workers 2`
  // (docs/workers.md; not with the mesh rows, whose nodes link to each other).
  const serverArgs = (process.env['WEFT_BENCH_SERVER_ARGS'] ?? '').split(' ').filter(Boolean);
  const args = [
    ...nodeArgs,
    mainJs,
    'server',
    '--host',
    '127.0.0.1',
    '--port',
    String(port),
    '--http-port',
    String(httpPort),
    '--data-dir',
    dataDir,
    ...serverArgs,
    ...extraArgs,
  ];
  let proc: ServerProc;
  try {
    proc = await launch(name, process.execPath, args, port);
  } catch (err) {
    rmSync(dataDir, { recursive: true, force: true });
    tmpDirs.delete(dataDir);
    throw err;
  }
  if (httpPort > 0) proc.httpPort = httpPort;
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
