/**
 * One server's numbers from its workers' (docs/workers.md): `/varz` and
 * Prometheus `/metrics`, whichever worker answers, are totalled over every
 * worker that answered in time (the ones that did not are named in
 * `workers.missing`).
 *
 * What is totalled: connections, messages and bytes in and out, slow
 * consumers, the clients' subscriptions (without the interest the workers
 * hold for each other), memory and CPU, and Weft's counters. What is the
 * answering worker's own: its id and name, the settings, uptime. `routes`
 * counts links to other servers: the workers' links to each other are not
 * among them.
 */
import type { Gathered } from './channel.js';

/** One worker's part of /varz: its varz and the interest it holds for the other workers. */
export interface VarzPart {
  readonly varz: Record<string, unknown>;
  /** Remote interest in its subject index (the other workers' subscriptions). */
  readonly remote: number;
  /** Its links to other workers. */
  readonly links: number;
}

const SUMMED = [
  'connections',
  'total_connections',
  'in_msgs',
  'out_msgs',
  'in_bytes',
  'out_bytes',
  'slow_consumers',
  'mem',
  'cpu',
] as const;

const WEFT_SUMMED = [
  'refused_connections',
  'refused_subscriptions',
  'uncaught_errors',
  'pending_total',
  'pending_total_hits',
  'slow_consumers_pending_total',
  'slow_consumers_write_deadline',
  'producer_stalls',
  'producer_stall_timeouts',
  'read_slices',
  'fair_share_waits',
  'monitor_unauthorized',
] as const;

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

function sumMaps(maps: unknown[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of maps) {
    if (typeof m !== 'object' || m === null) continue;
    for (const [k, v] of Object.entries(m)) out[k] = (out[k] ?? 0) + num(v);
  }
  return out;
}

/** /varz totalled over the workers' parts; `own` is the answering worker's. */
export function totalVarz(own: VarzPart, ownIndex: number, g: Gathered): Record<string, unknown> {
  const parts = g.parts
    .map((p) => ({ index: p.index, pid: p.pid, part: p.body as VarzPart | null }))
    .filter((p): p is { index: number; pid: number; part: VarzPart } => p.part !== null);
  if (!parts.some((p) => p.index === ownIndex)) {
    parts.push({ index: ownIndex, pid: process.pid, part: own });
  }
  const out: Record<string, unknown> = { ...own.varz };
  for (const k of SUMMED) out[k] = parts.reduce((n, p) => n + num(p.part.varz[k]), 0);
  out.cpu = Math.round(num(out.cpu) * 10) / 10;
  out.subscriptions = parts.reduce(
    (n, p) => n + Math.max(0, num(p.part.varz.subscriptions) - p.part.remote),
    0,
  );
  out.routes = Math.max(0, num(own.varz.routes) - own.links);
  const weft = { ...((own.varz.weft as Record<string, unknown>) ?? {}) };
  const weftOf = (p: VarzPart): Record<string, unknown> =>
    (p.varz.weft as Record<string, unknown>) ?? {};
  for (const k of WEFT_SUMMED) weft[k] = parts.reduce((n, p) => n + num(weftOf(p.part)[k]), 0);
  weft.closed_by_reason = sumMaps(parts.map((p) => weftOf(p.part).closed_by_reason));
  const faces = { ...((weft.faces as Record<string, Record<string, unknown>>) ?? {}) };
  for (const name of Object.keys(faces)) {
    faces[name] = {
      ...faces[name],
      connections: parts.reduce((n, p) => {
        const f = (weftOf(p.part).faces as Record<string, Record<string, unknown>>)?.[name];
        return n + num(f?.connections);
      }, 0),
    };
  }
  weft.faces = faces;
  out.weft = weft;
  out.workers = {
    count: g.count,
    answered_by: ownIndex,
    restarts: g.restarts,
    missing: g.missing,
    list: parts
      .sort((a, b) => a.index - b.index)
      .map((p) => ({
        index: p.index,
        pid: p.pid,
        server_id: p.part.varz.server_id,
        server_name: p.part.varz.server_name,
        connections: num(p.part.varz.connections),
        in_msgs: num(p.part.varz.in_msgs),
        out_msgs: num(p.part.varz.out_msgs),
        cpu: num(p.part.varz.cpu),
        mem: num(p.part.varz.mem),
      })),
  };
  return out;
}

/** The `server_name` label prom-client adds to every sample (the node's default label). */
const SERVER_NAME = /server_name="(?:[^"\\]|\\.)*"/;

/**
 * Prometheus text totalled over the workers: each sample (a name and its
 * labels) summed over the parts; the comment lines and order of the
 * answering worker's text. Every sample is labelled with worker 0's
 * `server_name` (the configured name), whichever worker answers, so a
 * series stays one series. The process's own samples (`weft_process_*`:
 * start time, heap, event loop lag) do not add up: they are the answering
 * worker's.
 */
export function totalMetrics(ownText: string, others: readonly string[], first: string): string {
  const label = SERVER_NAME.exec(first)?.[0] ?? null;
  const keyOf = (line: string): string => {
    const key = line.slice(0, line.lastIndexOf(' '));
    return label === null ? key : key.replace(SERVER_NAME, label);
  };
  const isOwn = (key: string): boolean => key.startsWith('weft_process_');
  const order: string[] = [];
  const sums = new Map<string, number>();
  const add = (text: string, own: boolean): void => {
    for (const line of text.split('\n')) {
      if (line === '' || line.startsWith('#')) continue;
      const key = keyOf(line);
      if (isOwn(key) && !own) continue;
      const v = Number(line.slice(line.lastIndexOf(' ') + 1));
      if (!sums.has(key)) {
        order.push(key);
        sums.set(key, 0);
      }
      sums.set(key, (sums.get(key) ?? 0) + (Number.isFinite(v) ? v : 0));
    }
  };
  add(ownText, true);
  for (const t of others) add(t, false);
  const out: string[] = [];
  const written = new Set<string>();
  for (const line of ownText.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('#')) {
      out.push(line);
      continue;
    }
    const key = keyOf(line);
    if (written.has(key)) continue;
    written.add(key);
    out.push(`${key} ${sums.get(key)}`);
  }
  // Samples only other workers have (a label value seen there only) go
  // after the last sample of their metric, keeping each family together.
  const nameOf = (key: string): string => key.split('{')[0];
  for (const key of order) {
    if (written.has(key)) continue;
    const name = nameOf(key);
    let at = out.length;
    for (let i = out.length - 1; i >= 0; i--) {
      if (!out[i].startsWith('#') && nameOf(out[i].slice(0, out[i].lastIndexOf(' '))) === name) {
        at = i + 1;
        break;
      }
    }
    out.splice(at, 0, `${key} ${sums.get(key)}`);
  }
  return `${out.join('\n')}\n`;
}
