/**
 * Multi-node meshes for the tests: nodes started in-process through the
 * embedding API or as `weft server` child processes, linked in a named
 * topology, and waited on until every node sees every other one (and,
 * separately, everyone's interest). Clients are the official `nats` client.
 *
 * Links are written as [dialer, listener]: a node dials only nodes started
 * before it, so a spec lists listeners first (a ring's last node dials both
 * its neighbours).
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ConnectionOptions, type NatsConnection, StringCodec, type Subscription } from 'nats';
import { startServer } from '../../src/index.js';
import { EXIT_INTERNAL } from '../../src/server/fatal.js';
import { type ClientPool, clientPool } from '../helpers/clients.js';
import { checkFor, within } from '../helpers/poll.js';

export { checkFor, within } from '../helpers/poll.js';

export const TOKEN = 't';
/** Fast heartbeats and redials, so heals are seen in well under a second. */
export const HEARTBEAT_MS = 100;
export const RECONNECT_MAX_MS = 200;
/**
 * dead_after for most meshes. Every node of a mesh shares the test process,
 * and on a loaded 2-core machine its event loop can stall for half a second;
 * a link then looks silent to both ends and is rightly closed. Closed nodes
 * and cut links are seen at once (the socket closes), so only a silent link
 * needs a short dead_after: FAST_DEAD_AFTER_MS, used where that is tested.
 */
export const DEAD_AFTER_MS = 2000;
export const FAST_DEAD_AFTER_MS = 500;
/** How long convergence (routes, interest) may take on loopback. */
export const CONVERGE_MS = 5000;
/**
 * Absence (no duplicate, nothing forwarded) can only be observed over a
 * window. A hop on loopback takes well under a millisecond; this window is
 * long enough for anything still in flight through several hops to land.
 */
export const QUIET_MS = 200;

// ---------------------------------------------------------------- /meshz

export interface MeshzLink {
  peer: string;
  peer_id: string;
  direction: 'in' | 'out';
  state: string;
  cost: number;
  rtt_ms: number;
  in_msgs: number;
  out_msgs: number;
  in_bytes: number;
  out_bytes: number;
  dropped_msgs: number;
  reconnects: number;
}

export interface MeshzNode {
  name: string;
  id: string;
  reachable: boolean;
  distance: number;
  next_hop: string;
  links: { node: string; cost: number }[];
  interest: number;
}

export interface Meshz {
  server_id: string;
  name: string;
  links: MeshzLink[];
  nodes: MeshzNode[];
  interest: { local: number; advertised: number; remote: number };
  refused: { token: number; version: number; self: number; duplicate: number; name: number };
}

export async function getMeshz(httpPort: number): Promise<Meshz> {
  const res = await fetch(`http://127.0.0.1:${httpPort}/meshz`);
  const text = await res.text();
  if (!res.ok) throw new Error(`GET /meshz: HTTP ${res.status}: ${text.slice(0, 200)}`);
  return JSON.parse(text) as Meshz;
}

/** Sums of the data-message counters over all of a node's links. */
export function linkTotals(z: Meshz): { in: number; out: number } {
  let i = 0;
  let o = 0;
  for (const l of z.links) {
    i += l.in_msgs;
    o += l.out_msgs;
  }
  return { in: i, out: o };
}

/** The link to `peer` (by name) that is up, if any. */
export function linkTo(z: Meshz, peer: string): MeshzLink | undefined {
  return z.links.find((l) => l.peer === peer && l.state === 'up');
}

/** What `z` knows of the node with this id (not its own entry). */
export function nodeView(z: Meshz, id: string): MeshzNode | undefined {
  return z.nodes.find((n) => n.id === id);
}

// ---------------------------------------------------------------- nodes

export interface NodeOptions {
  name: string;
  /** 0 (default) picks a free port; -1 listens for no links (an edge). */
  meshPort?: number;
  /** Peer URLs to dial, `weft://127.0.0.1:<port>`. */
  links?: string[];
  meshToken?: string;
  /** Default DEAD_AFTER_MS. */
  deadAfterMs?: number;
  /**
   * Process nodes only: YAML written to a config file passed with --config;
   * then name, token and mesh settings come from it alone (no mesh flags).
   */
  configYaml?: string;
  /** Any other server options (in-process) or ignored (process). */
  extra?: Record<string, unknown>;
}

export interface MeshNode {
  readonly name: string;
  readonly port: number;
  readonly httpPort: number;
  /** The bound mesh port, or -1 for an edge node. */
  readonly meshPort: number;
  readonly url: string;
  /** `weft://127.0.0.1:<meshPort>` for others to dial. */
  readonly linkUrl: string;
  readonly closed: boolean;
  meshz(): Promise<Meshz>;
  /** An official-client connection (no reconnect), closed with the node. */
  connect(opts?: ConnectionOptions): Promise<NatsConnection>;
  /** Closes the node (its clients see it go); idempotent. */
  close(): Promise<void>;
}

interface EmbeddedServer {
  port: number;
  httpPort: number;
  meshPort?: number;
  name: string;
  serverId: string;
  node?: { mesh: unknown };
  close(): Promise<void>;
}
type StartMeshServer = (opts: Record<string, unknown>) => Promise<EmbeddedServer>;

function wrap(
  name: string,
  ports: { port: number; httpPort: number; meshPort: number },
  stop: () => Promise<void>,
): MeshNode {
  const url = `nats://127.0.0.1:${ports.port}`;
  const pool: ClientPool = clientPool(url);
  let closing: Promise<void> | null = null;
  return {
    name,
    ...ports,
    url,
    linkUrl: `weft://127.0.0.1:${ports.meshPort}`,
    get closed() {
      return closing !== null;
    },
    meshz: () => getMeshz(ports.httpPort),
    connect: (opts) => pool.connect(opts),
    close() {
      closing ??= (async () => {
        try {
          await stop();
        } finally {
          await pool.closeAll();
        }
      })();
      return closing;
    },
  };
}

/** Starts one node in-process through `startServer`. */
export async function startNode(o: NodeOptions): Promise<MeshNode> {
  const dataDir = await mkdtemp(path.join(tmpdir(), `weft-mesh-${o.name.slice(0, 32)}-`));
  let s: EmbeddedServer;
  try {
    // The mesh options are the embedding contract of docs/mesh.md; the cast
    // keeps this file compiling whatever ServerOptions declares today.
    s = await (startServer as unknown as StartMeshServer)({
      host: '127.0.0.1',
      port: 0,
      httpPort: 0,
      dataDir,
      // WEFT_MESH_TEST_LOG=warn shows why links went down while debugging.
      logLevel: process.env.WEFT_MESH_TEST_LOG ?? 'silent',
      name: o.name,
      meshPort: o.meshPort ?? 0,
      links: o.links ?? [],
      meshToken: o.meshToken ?? TOKEN,
      meshHeartbeatMs: HEARTBEAT_MS,
      meshDeadAfterMs: o.deadAfterMs ?? DEAD_AFTER_MS,
      meshReconnectMaxMs: RECONNECT_MAX_MS,
      // Off unless a test asks for it: these tests count interest exactly,
      // and JetStream advertises its own (test/jetstream/mesh.test.ts).
      jetstream: false,
      ...o.extra,
    });
  } catch (err) {
    await rm(dataDir, { recursive: true, force: true });
    throw err;
  }
  const stop = async () => {
    try {
      await within(s.close(), 5000, `node ${o.name} to close`);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  };
  if (typeof s.meshPort !== 'number') {
    await stop();
    throw new Error('startServer resolved without meshPort: the mesh is not in (yet)');
  }
  const n = wrap(o.name, { port: s.port, httpPort: s.httpPort, meshPort: s.meshPort }, stop);
  // In-process only: the node's Mesh, for tests that drive a link directly,
  // and the node itself (its accounts and router, for the embedding API).
  return Object.assign(n, { mesh: s.node?.mesh ?? null, node: s.node ?? null });
}

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
/** Children still running, killed if the test process exits abruptly. */
const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

export interface ProcessNode extends MeshNode {
  /** Everything the process wrote to stdout and stderr so far. */
  log(): string;
  /** Sends a signal (SIGKILL: death without goodbyes). */
  kill(signal: NodeJS.Signals): void;
}

/**
 * Starts `weft server` as a child process and reads its bound ports from the
 * log (`Listening for mesh links on HOST:PORT` and the client/monitor lines).
 */
export async function startProcessNode(o: NodeOptions): Promise<ProcessNode> {
  const dataDir = await mkdtemp(path.join(tmpdir(), `weft-mesh-${o.name.slice(0, 32)}-`));
  const args = [
    MAIN,
    'server',
    '--host',
    '127.0.0.1',
    '--port',
    '0',
    '--http-port',
    '0',
    '--data-dir',
    dataDir,
    '--log-level',
    'info',
  ];
  if (o.configYaml !== undefined) {
    const file = path.join(dataDir, 'weft.yaml');
    await writeFile(file, o.configYaml);
    args.push('--config', file);
  } else {
    args.push(...meshFlags(o));
  }
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let out = '';
  const onData = (b: Buffer) => {
    out += b.toString();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  let exitCode: number | null | undefined;
  const exited = new Promise<number | null>((r) =>
    child.on('exit', (code) => {
      exitCode = code;
      children.delete(child);
      r(code);
    }),
  );
  const stop = async () => {
    try {
      if (exitCode === undefined) {
        child.kill('SIGTERM');
        await within(exited, 10_000, `process ${o.name} to exit after SIGTERM`);
      }
    } finally {
      if (exitCode === undefined) child.kill('SIGKILL');
      await rm(dataDir, { recursive: true, force: true });
    }
    // 70: the node hit an internal error (src/server/fatal.ts); no test path may.
    if (exitCode === EXIT_INTERNAL)
      throw new Error(`${o.name} exited 70 (internal error):\n${out}`);
  };
  let ports: { port: number; httpPort: number; meshPort: number };
  try {
    ports = await checkFor(() => {
      if (exitCode !== undefined) {
        throw new Error(`weft server ${o.name} exited with ${exitCode}: ${out}`);
      }
      const c = /client connections on [^\s]+:(\d+)/.exec(out);
      const h = /monitoring on http:\/\/[^\s]+:(\d+)/.exec(out);
      const m = /Listening for mesh links on [^\s]+:(\d+)/.exec(out);
      const ready = c !== null && h !== null && (m !== null || o.meshPort === -1);
      if (!ready || !/Server is ready/.test(out)) {
        throw new Error(`${o.name} not listening yet; log so far:\n${out}`);
      }
      return { port: Number(c[1]), httpPort: Number(h[1]), meshPort: m ? Number(m[1]) : -1 };
    }, 10_000);
  } catch (err) {
    await stop();
    throw err;
  }
  return Object.assign(wrap(o.name, ports, stop), {
    log: () => out,
    kill: (signal: NodeJS.Signals) => {
      child.kill(signal);
    },
  });
}

/** The name and mesh flags of a process node. */
function meshFlags(o: NodeOptions): string[] {
  const args = [
    '--name',
    o.name,
    '--mesh-port',
    String(o.meshPort ?? 0),
    '--mesh-token',
    o.meshToken ?? TOKEN,
    '--mesh-heartbeat',
    `${HEARTBEAT_MS}ms`,
    '--mesh-dead-after',
    `${o.deadAfterMs ?? DEAD_AFTER_MS}ms`,
    '--mesh-reconnect-max',
    `${RECONNECT_MAX_MS}ms`,
  ];
  for (const l of o.links ?? []) args.push('--link', l);
  return args;
}

// ---------------------------------------------------------------- topologies

export interface NodeSpec {
  name: string;
  /** Names of nodes (listed earlier) this one dials. */
  dials: string[];
  /** Of `dials`, those dialled through a LinkProxy, so the link can be cut. */
  proxied?: string[];
  /** Link costs (`?cost=N`) by dialled name; default 1. */
  costs?: Record<string, number>;
  /** Listens for no links (meshPort -1): an edge that only dials out. */
  edge?: boolean;
}

export type MeshSpec = NodeSpec[];

/** 'a', 'b', 'c', … */
export const nodeName = (i: number): string => String.fromCharCode(97 + i);

/** Every pair linked; each node dials all nodes before it. */
export function fullMesh(n: number): MeshSpec {
  return Array.from({ length: n }, (_, i) => ({
    name: nodeName(i),
    dials: Array.from({ length: i }, (_, j) => nodeName(j)),
  }));
}

/** a - b - c - …: each node dials the one before it. */
export function chain(n: number): MeshSpec {
  return Array.from({ length: n }, (_, i) => ({
    name: nodeName(i),
    dials: i === 0 ? [] : [nodeName(i - 1)],
  }));
}

/** A chain whose last node also dials the first. */
export function ring(n: number): MeshSpec {
  const spec = chain(n);
  spec[n - 1]!.dials.push(nodeName(0));
  return spec;
}

/** `hub` and edges `e1`…`en` that listen for nothing and dial the hub. */
export function star(edges: number): MeshSpec {
  return [
    { name: 'hub', dials: [] },
    ...Array.from({ length: edges }, (_, i) => ({ name: `e${i + 1}`, dials: ['hub'], edge: true })),
  ];
}

// ---------------------------------------------------------------- meshes

export interface Mesh {
  /** The current node of each name (a restart replaces it). */
  readonly nodes: Map<string, MeshNode>;
  node(name: string): MeshNode;
  /** The proxy carrying the link `dialer` -> `listener` (see NodeSpec.proxied). */
  proxy(dialer: string, listener: string): LinkProxy;
  /** Nodes still running. */
  running(): MeshNode[];
  /** Starts one more node; `dials` names running nodes. */
  add(spec: NodeSpec, opts?: Partial<NodeOptions>): Promise<MeshNode>;
  /** Waits until every running node sees every other one reachable. */
  converged(timeoutMs?: number): Promise<void>;
  /** `converged`, and every node's view of every other one's interest is current. */
  synced(timeoutMs?: number): Promise<void>;
  stopAll(): Promise<void>;
}

export interface MeshOptions {
  /** Run each node as a `weft server` child process. */
  processes?: boolean;
  /** Skip waiting for convergence after start. */
  noWait?: boolean;
  /** dead_after of every node (default DEAD_AFTER_MS). */
  deadAfterMs?: number;
  /** Options for every in-process node (e.g. `{ jetstream: true }`). */
  extra?: Record<string, unknown>;
}

export async function startMesh(spec: MeshSpec, opts: MeshOptions = {}): Promise<Mesh> {
  const nodes = new Map<string, MeshNode>();
  const all: MeshNode[] = [];
  const proxies = new Map<string, LinkProxy>();
  const retired: LinkProxy[] = [];
  const start = opts.processes ? startProcessNode : startNode;

  const mesh: Mesh = {
    nodes,
    node(name) {
      const n = nodes.get(name);
      if (n === undefined) throw new Error(`no node ${name}`);
      return n;
    },
    proxy(dialer, listener) {
      const p = proxies.get(`${dialer}>${listener}`);
      if (p === undefined) throw new Error(`no proxy on ${dialer} -> ${listener}`);
      return p;
    },
    running: () => [...nodes.values()].filter((n) => !n.closed),
    async add(s, o = {}) {
      const links: string[] = [];
      for (const d of s.dials) {
        const peer = mesh.node(d);
        if (peer.meshPort < 0) throw new Error(`${s.name} cannot dial edge node ${d}`);
        if (s.proxied?.includes(d)) {
          const p = await startProxy(peer.meshPort);
          // A node started again gets a new proxy; the old one is closed with the rest.
          const old = proxies.get(`${s.name}>${d}`);
          if (old !== undefined) retired.push(old);
          proxies.set(`${s.name}>${d}`, p);
          links.push(`weft://127.0.0.1:${p.port}`);
        } else {
          links.push(peer.linkUrl);
        }
        const cost = s.costs?.[d];
        if (cost !== undefined) links[links.length - 1] += `?cost=${cost}`;
      }
      const n = await start({
        name: s.name,
        links,
        meshPort: s.edge ? -1 : 0,
        ...(opts.deadAfterMs !== undefined ? { deadAfterMs: opts.deadAfterMs } : {}),
        ...o,
        extra: { ...opts.extra, ...o.extra },
      });
      nodes.set(s.name, n);
      all.push(n);
      return n;
    },
    converged: (timeoutMs = CONVERGE_MS) => waitConverged(mesh.running(), false, timeoutMs),
    synced: (timeoutMs = CONVERGE_MS) => waitConverged(mesh.running(), true, timeoutMs),
    async stopAll() {
      const errors: unknown[] = [];
      await Promise.all(all.map((n) => n.close().catch((e: unknown) => errors.push(e))));
      await Promise.all([...proxies.values(), ...retired].map((p) => p.close()));
      if (errors.length > 0) throw errors[0];
    },
  };
  try {
    for (const s of spec) await mesh.add(s);
    if (!opts.noWait) await mesh.converged();
  } catch (err) {
    await mesh.stopAll().catch(() => {});
    throw err;
  }
  return mesh;
}

/**
 * Polls every node's /meshz until each sees every other node of `nodes`
 * (by its current id) reachable, with its links up; with `interest`, also
 * until each node's view of each other node's interest count equals what
 * that node advertises.
 */
export async function waitConverged(
  nodes: MeshNode[],
  interest: boolean,
  timeoutMs = CONVERGE_MS,
): Promise<void> {
  await checkFor(
    async () => {
      const zs = await Promise.all(nodes.map((n) => n.meshz()));
      for (const [i, z] of zs.entries()) {
        for (const [j, other] of zs.entries()) {
          if (i === j) continue;
          const v = nodeView(z, other.server_id);
          if (v === undefined || !v.reachable) {
            throw new Error(
              `${z.name} does not see ${other.name} reachable: ${JSON.stringify(z.nodes)}`,
            );
          }
          if (interest && v.interest !== other.interest.advertised) {
            throw new Error(
              `${z.name} sees ${v.interest} interest entries of ${other.name}, ` +
                `which advertises ${other.interest.advertised}`,
            );
          }
        }
        const down = z.links.filter((l) => l.state !== 'up');
        if (down.length > 0) throw new Error(`${z.name} has links not up: ${JSON.stringify(down)}`);
      }
    },
    timeoutMs,
    25,
  );
}

// ---------------------------------------------------------------- link cuts

/**
 * A TCP relay in front of a node's mesh port, so a test can cut one link and
 * leave both nodes running. `cut()` closes the relayed connections and refuses
 * new ones (a partition the OS reports at once); `freeze()` keeps the sockets
 * open but stops relaying (a silent link, found only by heartbeats);
 * `heal()` relays again.
 */
export interface LinkProxy {
  readonly port: number;
  /** Connections accepted so far (the dialler's attempts while healthy). */
  readonly accepted: number;
  cut(): void;
  freeze(): void;
  heal(): void;
  close(): Promise<void>;
}

export async function startProxy(targetPort: number): Promise<LinkProxy> {
  let mode: 'open' | 'cut' | 'frozen' = 'open';
  let accepted = 0;
  const pairs = new Set<[Socket, Socket]>();
  const server: Server = createServer((inbound) => {
    inbound.on('error', () => {});
    if (mode !== 'open') {
      inbound.destroy();
      return;
    }
    accepted++;
    const outbound = tcpConnect(targetPort, '127.0.0.1');
    outbound.on('error', () => {});
    const pair: [Socket, Socket] = [inbound, outbound];
    pairs.add(pair);
    const relay = (from: Socket, to: Socket) => {
      from.on('data', (b: Buffer) => {
        // A frozen link swallows bytes: neither side hears the other.
        if (mode === 'open') to.write(b);
      });
      from.on('close', () => {
        pairs.delete(pair);
        to.destroy();
      });
    };
    relay(inbound, outbound);
    relay(outbound, inbound);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const destroyAll = () => {
    for (const [a, b] of pairs) {
      a.destroy();
      b.destroy();
    }
    pairs.clear();
  };
  return {
    port,
    get accepted() {
      return accepted;
    },
    cut() {
      mode = 'cut';
      destroyAll();
    },
    freeze() {
      mode = 'frozen';
    },
    heal() {
      // Connections that were frozen are half-dead: drop them so the link is
      // redialled cleanly rather than resuming mid-frame.
      if (mode === 'frozen') destroyAll();
      mode = 'open';
    },
    async close() {
      mode = 'cut';
      destroyAll();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

// ---------------------------------------------------------------- counting

const sc = StringCodec();
export const enc = (s: string): Uint8Array => sc.encode(s);

/** A subscription that records every payload it receives. */
export interface Recorder {
  /** The connection it subscribed on (flush it after an unsubscribe). */
  readonly nc: NatsConnection;
  readonly got: string[];
  readonly subjects: string[];
  readonly sub: Subscription;
  /** How many times each payload arrived more than once. */
  dupes(): string[];
  /** Deliveries whose payload starts with `prefix`. */
  count(prefix?: string): number;
}

export function record(nc: NatsConnection, subject: string, queue?: string): Recorder {
  const got: string[] = [];
  const subjects: string[] = [];
  const sub = nc.subscribe(subject, {
    ...(queue !== undefined ? { queue } : {}),
    callback: (_err, m) => {
      got.push(sc.decode(m.data));
      subjects.push(m.subject);
    },
  });
  return {
    nc,
    got,
    subjects,
    sub,
    dupes() {
      const seen = new Set<string>();
      const d: string[] = [];
      for (const g of got) {
        if (seen.has(g)) d.push(g);
        seen.add(g);
      }
      return d;
    },
    count: (prefix = '') => got.filter((g) => g.startsWith(prefix)).length,
  };
}

/** Publishes `${tag}-0` … `${tag}-${n-1}` and round-trips with the server. */
export async function publishN(
  nc: NatsConnection,
  subject: string,
  n: number,
  tag: string,
): Promise<void> {
  for (let i = 0; i < n; i++) nc.publish(subject, enc(`${tag}-${i}`));
  await nc.flush();
}

/**
 * Waits until the total of `count()` reaches `atLeast`, then until no
 * recorder changed for QUIET_MS, so late duplicates have landed.
 */
export async function settle(
  recs: Recorder[],
  atLeast: number,
  timeoutMs = CONVERGE_MS,
): Promise<void> {
  const total = () => recs.reduce((s, r) => s + r.got.length, 0);
  await checkFor(() => {
    const t = total();
    if (t < atLeast) throw new Error(`${t} of ${atLeast} deliveries so far`);
  }, timeoutMs);
  await quiet(total, timeoutMs);
}

/** Waits until `value()` stays the same for QUIET_MS. */
export async function quiet(value: () => number, timeoutMs = CONVERGE_MS): Promise<void> {
  let last = value();
  let since = Date.now();
  await checkFor(() => {
    const v = value();
    if (v !== last) {
      last = v;
      since = Date.now();
    }
    return Date.now() - since >= QUIET_MS;
  }, timeoutMs + QUIET_MS);
}

/** Asserts `r` got exactly the payloads `${tag}-0 … ${tag}-${n-1}`, each once. */
export function assertExactly(r: Recorder, tag: string, n: number, who: string): void {
  const mine = r.got.filter((g) => g.startsWith(`${tag}-`));
  assert.deepEqual(r.dupes(), [], `${who}: duplicates`);
  assert.equal(mine.length, n, `${who}: ${mine.length} of ${n} messages tagged ${tag}`);
  const want = new Set(Array.from({ length: n }, (_, i) => `${tag}-${i}`));
  for (const g of mine) assert.ok(want.has(g), `${who}: unexpected payload ${g}`);
}

/** Publishes `${tag}-0`, `${tag}-1`, … every `everyMs` until stopped. */
export interface Pump {
  /** Messages published so far. */
  readonly sent: number;
  /** Stops and round-trips with the server; resolves to the number sent. */
  stop(): Promise<number>;
}

export function pump(nc: NatsConnection, subject: string, tag: string, everyMs = 2): Pump {
  let sent = 0;
  const timer = setInterval(() => {
    if (nc.isClosed()) return;
    nc.publish(subject, enc(`${tag}-${sent++}`));
  }, everyMs);
  return {
    get sent() {
      return sent;
    },
    async stop() {
      clearInterval(timer);
      await nc.flush();
      return sent;
    },
  };
}

/** The highest index received among payloads `${tag}-<index>`, or -1. */
export function highest(r: Recorder, tag: string): number {
  let max = -1;
  for (const g of r.got) {
    if (!g.startsWith(`${tag}-`)) continue;
    const i = Number(g.slice(tag.length + 1));
    if (i > max) max = i;
  }
  return max;
}
