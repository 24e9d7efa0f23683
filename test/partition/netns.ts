/**
 * Network namespaces joined by veth pairs, for partition tests with real
 * network cuts. Needs root and iproute2 (`ip netns`); `netnsUnavailable()`
 * says why not when the machine does not allow them, so tests can skip.
 *
 * Every name made here starts with the test process's pid (`weft-p<pid>-…` for
 * namespaces, `w<pid>v<n>…` for veth ends), so parallel runs do not clash, and
 * leftovers of runs that died are recognised by their dead pid and removed.
 *
 * Addresses: each lab takes one free 10.213.K.0/24 (K not used by any address
 * of the root namespace) and hands out /30s from it, one per veth pair. The
 * namespaces get no default route, so traffic from them can only reach the
 * other ends of their own veth pairs. The test process reaches a node through
 * a veth pair between the root namespace and the node's namespace.
 *
 * Two ways to cut a link:
 *  - `down`: `ip link set <veth> down` on one end; the other end loses carrier.
 *  - `silent`: both ends stay up with their routes, and each end drops what
 *    arrives on its end of the pair, SYNs and ARP included, without a word
 *    back (a policy rule `ip rule add iif <veth> blackhole`; no netem, tc
 *    drop action, nft or iptables needed, and this kernel and image have none
 *    of those; early demux is off in the lab's namespaces so established
 *    connections are dropped too). Senders see nothing: only heartbeats can
 *    notice this cut.
 */
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { promisify } from 'node:util';

const pexecFile = promisify(execFile);

export type CutMode = 'down' | 'silent';

const PID = process.pid;
const NS_PREFIX = `weft-p${PID}-`;
const NS_RE = /^weft-p(\d+)-/;
const VETH_RE = /^w(\d+)v\d+[a-z]$/;

/** Runs `ip …`; rejects with its stderr. */
export async function ip(...args: string[]): Promise<string> {
  try {
    const { stdout } = await pexecFile('ip', args, { timeout: 10_000 });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`ip ${args.join(' ')}: ${(e.stderr ?? '').trim() || e.message}`);
  }
}

/** Runs `ip netns exec <ns> ip …`. */
export function ipIn(ns: string, ...args: string[]): Promise<string> {
  return ip('netns', 'exec', ns, 'ip', ...args);
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function listNetns(): Promise<string[]> {
  const out = await ip('netns', 'list');
  return out
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter((n) => n !== '');
}

/**
 * Removes namespaces (and processes left in them) and root-side veth ends
 * that earlier runs of this test left behind: those whose pid is not running.
 */
export async function removeStale(): Promise<void> {
  for (const ns of await listNetns()) {
    const m = NS_RE.exec(ns);
    if (m === null) continue;
    const owner = Number(m[1]);
    if (owner !== PID && pidAlive(owner)) continue;
    await killNetnsPids(ns);
    await ip('netns', 'del', ns).catch(() => {});
  }
  const links = await ip('-o', 'link', 'show').catch(() => '');
  for (const line of links.split('\n')) {
    const name = /^\d+:\s+([^:@\s]+)/.exec(line)?.[1];
    if (name === undefined) continue;
    const m = VETH_RE.exec(name);
    if (m === null) continue;
    const owner = Number(m[1]);
    if (owner !== PID && pidAlive(owner)) continue;
    await ip('link', 'del', name).catch(() => {});
  }
}

/** SIGKILLs the processes inside one of our namespaces, by pid. */
async function killNetnsPids(ns: string): Promise<void> {
  const out = await ip('netns', 'pids', ns).catch(() => '');
  for (const p of out.split('\n')) {
    const pid = Number(p.trim());
    if (Number.isInteger(pid) && pid > 1 && pid !== PID) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}

let probed: Promise<string | null> | undefined;

/**
 * Null when namespaces and veth pairs can be made here, else the reason they
 * cannot (for `test.skip`). Probes once per process.
 */
export function netnsUnavailable(): Promise<string | null> {
  probed ??= probe();
  return probed;
}

/**
 * For `describe(…, { skip })`: false when namespaces work here, else the
 * reason, logged once. With WEFT_REQUIRE_NETNS=1 (for CI machines that must
 * run the partition tests) it throws instead of skipping.
 */
export async function netnsSkip(): Promise<string | false> {
  const why = await netnsUnavailable();
  if (why === null) return false;
  if (process.env.WEFT_REQUIRE_NETNS === '1') {
    throw new Error(`partition tests required (WEFT_REQUIRE_NETNS=1) but: ${why}`);
  }
  if (!skipLogged) console.log(`# partition tests skipped: ${why}`);
  skipLogged = true;
  return why;
}
let skipLogged = false;

async function probe(): Promise<string | null> {
  if (process.platform !== 'linux') return `network namespaces need Linux (${process.platform})`;
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    return 'network namespaces need root (run the partition tests as root)';
  }
  try {
    await ip('-V');
  } catch (err) {
    return `iproute2 is missing (apt-get install -y iproute2): ${(err as Error).message}`;
  }
  const ns = `${NS_PREFIX}probe`;
  const a = `w${PID}v0a`;
  const b = `w${PID}v0b`;
  try {
    await removeStale();
    await ip('netns', 'add', ns);
    await ip('link', 'add', a, 'type', 'veth', 'peer', 'name', b);
    await ip('link', 'set', b, 'netns', ns);
    await ipIn(ns, 'link', 'set', 'lo', 'up');
    return null;
  } catch (err) {
    return `this machine does not allow network namespaces with veth pairs: ${(err as Error).message}`;
  } finally {
    await ip('link', 'del', a).catch(() => {});
    await ip('netns', 'del', ns).catch(() => {});
  }
}

/** A /30 inside the lab's /24: `.1` and `.2` of block `n` (`4n+1`, `4n+2`). */
function pair(octet: number, block: number): [string, string] {
  return [`10.213.${octet}.${block * 4 + 1}`, `10.213.${octet}.${block * 4 + 2}`];
}

/** An octet K such that no root-namespace address is in 10.213.K.0/24. */
async function freeOctet(): Promise<number> {
  const out = await ip('-4', '-o', 'addr', 'show');
  const used = new Set<number>();
  for (const m of out.matchAll(/inet 10\.213\.(\d+)\./g)) used.add(Number(m[1]));
  const start = (PID % 200) + 20;
  for (let i = 0; i < 230; i++) {
    const k = ((start + i) % 230) + 20;
    if (!used.has(k)) return k;
  }
  throw new Error('no free 10.213.K.0/24 for the lab');
}

export interface Node {
  /** Short name, as given to `addNode`. */
  readonly name: string;
  /** Namespace name. */
  readonly ns: string;
  /** This node's address on its veth to the root namespace: the test reaches it here. */
  readonly addr: string;
}

export interface Link {
  readonly a: Node;
  readonly b: Node;
  /** `a`'s address on this link (what `b` dials). */
  readonly aAddr: string;
  /** `b`'s address on this link (what `a` dials). */
  readonly bAddr: string;
  readonly aDev: string;
  readonly bDev: string;
  /** Whether (and how) the link is cut now. */
  readonly cutMode: CutMode | null;
  cut(mode: CutMode): Promise<void>;
  restore(): Promise<void>;
}

const EARLY_DEMUX_OFF = 'echo 0 > /proc/sys/net/ipv4/ip_early_demux';

let labCount = 0;
const liveLabs = new Set<Lab>();

// Last resort when the process exits without the `after` hooks (a crash):
// kill our children and remove our namespaces synchronously.
process.on('exit', () => {
  for (const lab of liveLabs) lab.destroySync();
});

export class Lab {
  readonly id: string;
  private readonly octet: number;
  private block = 0;
  private veth = 0;
  private readonly nodes = new Map<string, Node>();
  private readonly children = new Set<ChildProcess>();

  private constructor(id: string, octet: number) {
    this.id = id;
    this.octet = octet;
  }

  /** Makes an empty lab after removing what dead runs left behind. */
  static async create(): Promise<Lab> {
    await removeStale();
    labCount++;
    const lab = new Lab(`${NS_PREFIX}${labCount}`, await freeOctet());
    liveLabs.add(lab);
    return lab;
  }

  private nextDev(): string {
    this.veth++;
    return `w${PID}v${this.veth}`;
  }

  private nextPair(): [string, string] {
    const p = pair(this.octet, this.block);
    this.block++;
    if (this.block > 63) throw new Error('lab out of /30s');
    return p;
  }

  /** A namespace with `lo` up and a veth pair to the root namespace. */
  async addNode(name: string): Promise<Node> {
    if (!/^[a-z0-9]{1,8}$/.test(name)) throw new Error(`bad node name ${name}`);
    const ns = `${this.id}-${name}`;
    const dev = this.nextDev();
    const [rootAddr, addr] = this.nextPair();
    const node: Node = { name, ns, addr };
    this.nodes.set(name, node);
    await ip('netns', 'add', ns);
    await ipIn(ns, 'link', 'set', 'lo', 'up');
    // Established TCP sockets may skip the route lookup on input (early
    // demux, with a cached route). Adding a rule invalidates that cache, but
    // a silent cut must not depend on it: off, in this namespace only.
    await pexecFile('ip', ['netns', 'exec', ns, 'sh', '-c', EARLY_DEMUX_OFF]);
    // The `local` table comes first (preference 0), before any rule that
    // could drop: move it after the cut rules' preference (10).
    await ipIn(ns, 'rule', 'add', 'preference', '100', 'lookup', 'local');
    await ipIn(ns, 'rule', 'del', 'preference', '0', 'lookup', 'local');
    await ip('link', 'add', `${dev}r`, 'type', 'veth', 'peer', 'name', `${dev}n`);
    await ip('link', 'set', `${dev}n`, 'netns', ns);
    await ip('addr', 'add', `${rootAddr}/30`, 'dev', `${dev}r`);
    await ip('link', 'set', `${dev}r`, 'up');
    await ipIn(ns, 'addr', 'add', `${addr}/30`, 'dev', `${dev}n`);
    await ipIn(ns, 'link', 'set', `${dev}n`, 'up');
    return node;
  }

  /** A veth pair between two nodes' namespaces, with a /30. */
  async link(a: Node, b: Node): Promise<Link> {
    const dev = this.nextDev();
    const aDev = `${dev}a`;
    const bDev = `${dev}b`;
    const [aAddr, bAddr] = this.nextPair();
    await ip(
      'link',
      'add',
      aDev,
      'netns',
      a.ns,
      'type',
      'veth',
      'peer',
      'name',
      bDev,
      'netns',
      b.ns,
    );
    await ipIn(a.ns, 'addr', 'add', `${aAddr}/30`, 'dev', aDev);
    await ipIn(b.ns, 'addr', 'add', `${bAddr}/30`, 'dev', bDev);
    await ipIn(a.ns, 'link', 'set', aDev, 'up');
    await ipIn(b.ns, 'link', 'set', bDev, 'up');
    let cutMode: CutMode | null = null;
    return {
      a,
      b,
      aAddr,
      bAddr,
      aDev,
      bDev,
      get cutMode() {
        return cutMode;
      },
      async cut(mode: CutMode) {
        if (cutMode !== null) throw new Error(`link ${a.name}-${b.name} is already cut`);
        cutMode = mode;
        if (mode === 'down') {
          await ipIn(a.ns, 'link', 'set', aDev, 'down');
        } else {
          // Each end drops whatever arrives on its end of the pair.
          await Promise.all([
            ipIn(a.ns, 'rule', 'add', 'preference', '10', 'iif', aDev, 'blackhole'),
            ipIn(b.ns, 'rule', 'add', 'preference', '10', 'iif', bDev, 'blackhole'),
          ]);
        }
      },
      async restore() {
        if (cutMode === 'down') {
          await ipIn(a.ns, 'link', 'set', aDev, 'up');
        } else if (cutMode === 'silent') {
          await Promise.all([
            ipIn(a.ns, 'rule', 'del', 'preference', '10', 'iif', aDev, 'blackhole'),
            ipIn(b.ns, 'rule', 'del', 'preference', '10', 'iif', bDev, 'blackhole'),
          ]);
        }
        cutMode = null;
      },
    };
  }

  /**
   * Runs a command inside a node's namespace (`ip netns exec` execs it, so
   * the child's pid is the command's). Killed by `destroy`.
   */
  spawnIn(node: Node, cmd: string, args: string[]): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', node.ns, cmd, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.children.add(child);
    child.on('exit', () => this.children.delete(child));
    return child;
  }

  /** Stops the children (SIGTERM, then SIGKILL) and removes the namespaces. */
  async destroy(): Promise<void> {
    const exits = [...this.children].map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null || c.signalCode !== null) return resolve();
          const t = setTimeout(() => c.kill('SIGKILL'), 3000);
          c.once('exit', () => {
            clearTimeout(t);
            resolve();
          });
          c.kill('SIGTERM');
        }),
    );
    await Promise.all(exits);
    for (const node of this.nodes.values()) {
      await killNetnsPids(node.ns);
      await ip('netns', 'del', node.ns).catch(() => {});
    }
    this.nodes.clear();
    liveLabs.delete(this);
  }

  /** `destroy` for the process 'exit' handler. */
  destroySync(): void {
    for (const c of this.children) {
      if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    }
    for (const node of this.nodes.values()) {
      try {
        execFileSync('ip', ['netns', 'del', node.ns], { stdio: 'ignore' });
      } catch {
        // best effort
      }
    }
    this.nodes.clear();
  }
}
