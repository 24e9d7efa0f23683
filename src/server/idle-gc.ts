/**
 * Gives V8's grown young generation back once the node goes quiet.
 *
 * Under load V8 grows the young generation (new space) for throughput, up
 * to two 16 MiB semi-spaces on 64-bit Node 20, and shrinks it only in a
 * collection that runs while its measure of the allocation rate (over the
 * last 5 s) is low. A node that goes quiet after a burst allocates almost
 * nothing, so that collection never comes and the grown new space stays
 * resident: 28 MiB of RSS after filling a stream with 1,000,000 messages,
 * ~29 B per stored message in the memory row (bench/PROFILE.md, "Issue 16
 * — memory").
 *
 * Every `checkMs` (IDLE_GC_CHECK_MS) the collector reads the event loop's
 * utilisation since the last check. Once it has stayed below `quietElu`
 * (IDLE_GC_QUIET_ELU: the loop idle 98 % of the time) for `firstMs`
 * (IDLE_GC_FIRST_MS) and the new space is above `minNewSpace`
 * (IDLE_GC_MIN_NEW_SPACE), it asks for a collection with
 * `vm.measureMemory({ execution: 'eager' })`, which starts a garbage
 * collection at once (Node's documented behaviour for `eager`). That first
 * one compacts the old generation; V8 still counts the burst's allocations
 * in its rate then, and keeps the new space. So while the new space stays
 * grown, it asks again after each further `quietMs` (IDLE_GC_QUIET_MS,
 * longer than V8's 5 s window; measured: the second one shrinks it), at
 * most IDLE_GC_TRIES times per quiet period; a busy check starts a new
 * period. Counted: `runs` (collections), `lastMs` (how long the last took:
 * a few ms for a quiet node's heap).
 */
import { type EventLoopUtilization, performance } from 'node:perf_hooks';
import v8 from 'node:v8';
import vm from 'node:vm';

/** How often the event loop's utilisation is read, ms. */
export const IDLE_GC_CHECK_MS = 1000;
/** "Quiet": the event loop busy less than this share of a check. */
export const IDLE_GC_QUIET_ELU = 0.02;
/** How long the loop must have been quiet before the first collection, ms. */
export const IDLE_GC_FIRST_MS = 1000;
/** Quiet time between the collections of one quiet period, ms (V8 judges the rate over 5 s). */
export const IDLE_GC_QUIET_MS = 6000;
/** A new space at or below this many bytes is not worth a collection (V8 starts at 1 MiB). */
export const IDLE_GC_MIN_NEW_SPACE = 4 * 1024 * 1024;
/** Collections per quiet period at most. */
export const IDLE_GC_TRIES = 3;

export interface IdleGcOptions {
  checkMs?: number;
  quietElu?: number;
  firstMs?: number;
  quietMs?: number;
  minNewSpace?: number;
}

/** Bytes V8 holds for the young generation now (its committed size). */
export function newSpaceBytes(): number {
  for (const s of v8.getHeapSpaceStatistics()) {
    if (s.space_name === 'new_space') return s.space_size;
  }
  return 0;
}

/**
 * `vm.measureMemory` eager, without Node's one-time ExperimentalWarning on
 * stderr (it is about the measurement, whose figures are not used here:
 * only the collection it starts is). Other warnings pass.
 */
function measureQuietly(): Promise<unknown> {
  const emit = process.emitWarning;
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    if (typeof warning === 'string' && warning.startsWith('vm.measureMemory')) return;
    (emit as (...a: unknown[]) => void).call(process, warning, ...rest);
  }) as typeof process.emitWarning;
  try {
    return vm.measureMemory({ mode: 'summary', execution: 'eager' });
  } finally {
    process.emitWarning = emit;
  }
}

export class IdleCollector {
  /** Collections asked for. */
  runs = 0;
  /** How long the last one took, ms (-1: none yet). */
  lastMs = -1;
  private readonly checkMs: number;
  private readonly quietElu: number;
  private readonly firstMs: number;
  private readonly quietMs: number;
  private readonly minNewSpace: number;
  private timer: NodeJS.Timeout | null = null;
  private last: EventLoopUtilization | null = null;
  /** Quiet time since the last busy check or collection, ms. */
  private quietFor = 0;
  /** Collections in this quiet period. */
  private tries = 0;
  private running = false;

  constructor(o: IdleGcOptions = {}) {
    this.checkMs = o.checkMs ?? IDLE_GC_CHECK_MS;
    this.quietElu = o.quietElu ?? IDLE_GC_QUIET_ELU;
    this.firstMs = o.firstMs ?? IDLE_GC_FIRST_MS;
    this.quietMs = o.quietMs ?? IDLE_GC_QUIET_MS;
    this.minNewSpace = o.minNewSpace ?? IDLE_GC_MIN_NEW_SPACE;
  }

  start(): void {
    if (this.timer !== null) return;
    this.last = performance.eventLoopUtilization();
    this.timer = setInterval(() => {
      const now = performance.eventLoopUtilization();
      const elu = performance.eventLoopUtilization(now, this.last!).utilization;
      this.last = now;
      void this.check(elu, this.checkMs);
    }, this.checkMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  /**
   * One check: `elu` is the loop's utilisation (0..1) over the last `ms`.
   * Collects when the loop has been quiet long enough and the new space is
   * grown; resolves to whether it did, once the collection has finished.
   */
  async check(elu: number, ms: number): Promise<boolean> {
    if (elu >= this.quietElu) {
      this.quietFor = 0;
      this.tries = 0;
      return false;
    }
    this.quietFor += ms;
    const need = this.tries === 0 ? this.firstMs : this.quietMs;
    if (this.quietFor < need || this.tries >= IDLE_GC_TRIES || this.running) return false;
    if (newSpaceBytes() <= this.minNewSpace) return false;
    this.quietFor = 0;
    this.tries++;
    this.running = true;
    const t0 = performance.now();
    try {
      await measureQuietly();
    } catch {
      // Not available here: stop asking.
      this.stop();
      return false;
    } finally {
      this.running = false;
    }
    this.lastMs = performance.now() - t0;
    this.runs++;
    return true;
  }
}
