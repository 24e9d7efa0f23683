/**
 * The primary of `weft server --workers N` (docs/workers.md). It serves no
 * client itself: it forks N workers (node:cluster), each a full Weft node,
 * and through the cluster module holds the client-facing listeners they
 * share, handing each new connection to one worker in turn (round robin),
 * so a client sees one server on one port.
 *
 * - Start: every worker must report ready; one that exits first stops the
 *   others and the primary exits with its status (2: configuration, 1:
 *   cannot start), as a single node would.
 * - A worker that dies later is logged and restarted with the same plan
 *   (same name, data directory and mesh port), counted in /varz
 *   (`workers.restarts`). More than RESTARTS_MAX restarts within
 *   RESTART_WINDOW_MS means something is wrong with every start: the
 *   primary stops the others and exits 1.
 * - SIGINT and SIGTERM stop every worker gracefully (a second one kills
 *   them at once); SIGHUP reloads each one's configuration. The primary
 *   exits once all are gone: 0 when each stopped cleanly, else 1.
 * - It answers a worker's gather (the monitor's totals) by asking every
 *   live worker and waiting at most COLLECT_TIMEOUT_MS for them.
 */
import cluster, { type Worker } from 'node:cluster';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:net';
import type { ServerOptions } from '../config/options.js';
import { brokerIdentity } from '../protocols/kafka/node-id.js';
import { FATAL_STOP_MS } from '../server/fatal.js';
import type { Logger } from '../util/logger.js';
import {
  type CollectedMsg,
  type GatherMsg,
  isWeftMessage,
  type ReadyMsg,
  type ToPrimary,
  type ToWorker,
  type WorkerPart,
} from './messages.js';
import { WORKER_ENV, WORKER_MESH_HOST, type WorkerPlan } from './plan.js';

/** Restarts allowed within RESTART_WINDOW_MS before the server gives up. */
export const RESTARTS_MAX = 10;
export const RESTART_WINDOW_MS = 60_000;
/** How long the primary waits for the workers' parts of a gather, ms. */
export const COLLECT_TIMEOUT_MS = 2000;

/** Free loopback ports for the workers' mesh listeners, held for the server's life. */
async function freePorts(n: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const s = createServer();
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.listen({ port: 0, host: WORKER_MESH_HOST, exclusive: true }, () => resolve());
      });
      servers.push(s);
    }
    return servers.map((s) => {
      const a = s.address();
      return typeof a === 'object' && a !== null ? a.port : 0;
    });
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  }
}

interface Slot {
  readonly plan: WorkerPlan;
  worker: Worker | null;
  ready: boolean;
}

interface Collecting {
  readonly asker: Worker;
  /** The asker's id for its gather. */
  readonly askerId: number;
  readonly parts: WorkerPart[];
  readonly expected: Set<number>;
  readonly timer: NodeJS.Timeout;
}

export class Primary {
  private readonly slots: Slot[] = [];
  private started = false;
  private stopping = false;
  private exitCode = 0;
  restarts = 0;
  private readonly recent: number[] = [];
  private nextCollect = 1;
  private readonly collecting = new Map<number, Collecting>();
  private done: (code: number) => void = () => {};
  private readonly finished = new Promise<number>((r) => {
    this.done = r;
  });
  private killTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly options: ServerOptions,
    private readonly log: Logger,
  ) {}

  /** Forks the workers; resolves with the process's exit status once they are all gone. */
  async run(): Promise<number> {
    const n = this.options.workers;
    const meshPorts = await freePorts(n);
    const token = randomBytes(24).toString('base64url');
    // Worker 0's Kafka identity, read (or made) once, before any worker runs.
    const o = this.options;
    const kafka = o.kafkaPort >= 0 ? await brokerIdentity(o.dataDir, o.name) : null;
    // Round robin: the primary accepts and hands each connection to the
    // next worker, so long-lived connections spread evenly (the kernel's
    // own spreading of one shared accept queue is uneven under load).
    cluster.schedulingPolicy = cluster.SCHED_RR;
    cluster.setupPrimary({ silent: false });
    cluster.on('message', (w, m) => this.receive(w, m));
    cluster.on('exit', (w, code, signal) => this.exited(w, code, signal));
    this.log.info(`Starting ${n} workers (primary pid ${process.pid})`);
    for (let index = 0; index < n; index++) {
      this.slots.push({
        plan: { index, count: n, meshPorts, token, kafka },
        worker: null,
        ready: false,
      });
    }
    for (const slot of this.slots) this.fork(slot);
    return this.finished;
  }

  /** SIGINT/SIGTERM: stop every worker gracefully; a second call kills them. */
  stop(signal: string): void {
    if (this.stopping) {
      this.log.warn(`Received ${signal} again, killing the workers now`);
      for (const s of this.slots) s.worker?.process.kill('SIGKILL');
      this.exitCode = 1;
      return;
    }
    this.stopping = true;
    this.log.info(`Received ${signal}, stopping ${this.live().length} workers`);
    for (const s of this.slots) this.tell(s.worker, { weft: 'stop' });
    // Each worker bounds its own shutdown; this bounds a worker that hangs.
    this.killTimer = setTimeout(() => {
      for (const s of this.slots) {
        if (s.worker !== null) {
          this.log.error(`worker ${s.plan.index} did not stop in time: killing it`);
          s.worker.process.kill('SIGKILL');
          this.exitCode = 1;
        }
      }
    }, this.options.shutdownGraceMs + FATAL_STOP_MS);
    this.killTimer.unref();
    this.finishIfGone();
  }

  /** SIGHUP: every worker reads its configuration again. */
  reload(): void {
    if (this.stopping) return;
    this.log.info('Received SIGHUP, reloading every worker');
    for (const s of this.slots) this.tell(s.worker, { weft: 'reload' });
  }

  private live(): Worker[] {
    return this.slots.flatMap((s) => (s.worker === null ? [] : [s.worker]));
  }

  private fork(slot: Slot): void {
    slot.ready = false;
    slot.worker = cluster.fork({ [WORKER_ENV]: JSON.stringify(slot.plan) });
  }

  private tell(w: Worker | null, m: ToWorker): void {
    if (w === null || !w.isConnected()) return;
    try {
      w.send(m);
    } catch {
      // The worker is going: its exit is handled there.
    }
  }

  private slotOf(w: Worker): Slot | undefined {
    return this.slots.find((s) => s.worker === w);
  }

  private receive(w: Worker, raw: unknown): void {
    if (!isWeftMessage(raw)) return;
    const m = raw as ToPrimary;
    switch (m.weft) {
      case 'ready':
        this.ready(w, m);
        return;
      case 'gather':
        this.gather(w, m);
        return;
      case 'collected':
        this.collected(m);
        return;
    }
  }

  private ready(w: Worker, m: ReadyMsg): void {
    const slot = this.slotOf(w);
    if (slot === undefined) return;
    slot.ready = true;
    if (this.started) {
      this.log.info(`worker ${m.index} (pid ${w.process.pid}, "${m.name}") is back`);
      return;
    }
    if (this.slots.every((s) => s.ready)) {
      this.started = true;
      const pids = this.slots.map((s) => s.worker?.process.pid).join(', ');
      this.log.info(`Server is ready: ${this.slots.length} workers (pids ${pids})`);
    }
  }

  private gather(asker: Worker, m: GatherMsg): void {
    const id = this.nextCollect++;
    const expected = new Set<number>();
    for (const s of this.slots) {
      if (s.worker !== null && s.ready && s.worker.isConnected()) expected.add(s.plan.index);
    }
    const c: Collecting = {
      asker,
      askerId: m.id,
      parts: [],
      expected,
      timer: setTimeout(() => this.answer(id), COLLECT_TIMEOUT_MS),
    };
    this.collecting.set(id, c);
    for (const index of expected) {
      this.tell(this.slots[index].worker, { weft: 'collect', id, what: m.what });
    }
    if (expected.size === 0) this.answer(id);
  }

  private collected(m: CollectedMsg): void {
    const c = this.collecting.get(m.id);
    if (c === undefined || !c.expected.has(m.index)) return;
    c.expected.delete(m.index);
    const pid = this.slots[m.index].worker?.process.pid ?? 0;
    c.parts.push({ index: m.index, pid, body: m.body });
    if (c.expected.size === 0) this.answer(m.id);
  }

  private answer(id: number): void {
    const c = this.collecting.get(id);
    if (c === undefined) return;
    this.collecting.delete(id);
    clearTimeout(c.timer);
    const parts = [...c.parts].sort((a, b) => a.index - b.index);
    const missing = this.slots
      .map((s) => s.plan.index)
      .filter((i) => !parts.some((p) => p.index === i));
    this.tell(c.asker, {
      weft: 'gathered',
      id: c.askerId,
      parts,
      missing,
      restarts: this.restarts,
      count: this.slots.length,
    });
  }

  private exited(w: Worker, code: number | null, signal: string | null): void {
    const slot = this.slotOf(w);
    if (slot === undefined) return;
    slot.worker = null;
    const how = signal !== null ? `signal ${signal}` : `exit status ${code}`;
    const wasReady = slot.ready;
    slot.ready = false;
    for (const [id, c] of this.collecting) {
      if (c.expected.delete(slot.plan.index) && c.expected.size === 0) {
        this.answer(id);
      }
    }
    if (this.stopping) {
      if (code !== 0) this.exitCode = 1;
      this.log.info(`worker ${slot.plan.index} (pid ${w.process.pid}) stopped (${how})`);
      this.finishIfGone();
      return;
    }
    if (!this.started && !wasReady) {
      // As a single node: a worker that cannot start stops the server, with its status.
      this.log.error(
        `worker ${slot.plan.index} (pid ${w.process.pid}) could not start (${how}): stopping the others`,
      );
      this.exitCode = code === 2 ? 2 : 1;
      this.stopping = true;
      for (const s of this.slots) this.tell(s.worker, { weft: 'stop' });
      this.finishIfGone();
      return;
    }
    const now = Date.now();
    this.recent.push(now);
    while (this.recent.length > 0 && now - this.recent[0] > RESTART_WINDOW_MS) this.recent.shift();
    if (this.recent.length > RESTARTS_MAX) {
      this.log.error(
        `worker ${slot.plan.index} (pid ${w.process.pid}) died (${how}); ${this.recent.length} restarts within ${RESTART_WINDOW_MS / 1000}s: giving up, stopping the others`,
      );
      this.exitCode = 1;
      this.stopping = true;
      for (const s of this.slots) this.tell(s.worker, { weft: 'stop' });
      this.finishIfGone();
      return;
    }
    this.restarts++;
    this.log.warn(
      `worker ${slot.plan.index} (pid ${w.process.pid}) died (${how}): restarting it (restart ${this.restarts})`,
    );
    this.fork(slot);
  }

  private finishIfGone(): void {
    if (this.live().length > 0) return;
    if (this.killTimer !== null) clearTimeout(this.killTimer);
    this.log.info(`All workers stopped; exit status ${this.exitCode}`);
    this.done(this.exitCode);
  }
}
