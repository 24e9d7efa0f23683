/**
 * Partitions with real network cuts. Weft nodes run as `weft server`
 * processes, each in its own network namespace, linked over veth pairs; the
 * test process publishes a numbered stream (one message every 5 ms) to one
 * node and counts what a subscriber on another node receives, per sequence
 * number, before, during and after a link is cut and restored.
 *
 * - Triangle a-b, b-c, c-a, publisher on a, subscriber on b. Cutting a-b
 *   leaves the path a-c-b: once the link is dead (dead_after) delivery
 *   resumes through c; after the restore everything arrives again within 2 s,
 *   and then over the direct link (cutting both of c's links loses nothing).
 * - Two nodes a-b: during the cut nothing arrives and nothing crashes; after
 *   the restore delivery resumes within 2 s (plus dead_after if the cut was
 *   silent).
 *
 * Each in two ways (see netns.ts): `down` (one end's link down) and `silent`
 * (both ends up, every packet dropped without a word: only heartbeats can
 * notice). No sequence number is ever delivered twice. Core pub/sub is
 * at-most-once, so losses are allowed only in the windows named above.
 *
 * Needs root and `ip netns`; skips, saying why, where the machine does not
 * allow them (fails instead with WEFT_REQUIRE_NETNS=1).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type NatsConnection, StringCodec } from 'nats';
import { checkFor } from '../helpers/poll.js';
import { type CutMode, Lab, type Link, type Node, netnsSkip } from './netns.js';
import {
  clientTo,
  DEAD_AFTER_MS,
  diagnostics,
  HEARTBEAT_MS,
  MESH_PORT,
  startWeft,
  type WeftProc,
} from './weft.js';

/** The bound: after a heal, routing is correct again within this. */
const HEAL_MS = 2000;
/** After a cut, delivery through the other path resumes within this. */
const REROUTE_MS = DEAD_AFTER_MS + 1000;
const PUBLISH_EVERY_MS = 5;
const SETUP_TIMEOUT = { timeout: 30_000 };
const TEST_TIMEOUT = { timeout: 30_000 };

const skip = await netnsSkip();

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- the stream

/**
 * Publishes 0, 1, 2, … on `pub`, one every PUBLISH_EVERY_MS, and counts what
 * the subscription on `sub` receives, per sequence number.
 */
class Stream {
  next = 0;
  readonly pubAt: number[] = [];
  readonly counts: number[] = [];
  readonly recvAt: number[] = [];
  maxSeen = -1;
  errors: string[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly sc = StringCodec();

  constructor(
    private readonly pub: NatsConnection,
    sub: NatsConnection,
    private readonly subject: string,
  ) {
    sub.subscribe(subject, {
      callback: (err, m) => {
        if (err !== null) {
          this.errors.push(`subscription: ${err.message}`);
          return;
        }
        const s = Number(this.sc.decode(m.data));
        this.counts[s] = (this.counts[s] ?? 0) + 1;
        this.recvAt[s] ??= performance.now();
        if (s > this.maxSeen) this.maxSeen = s;
      },
    });
  }

  start(): void {
    this.timer = setInterval(() => {
      const s = this.next++;
      this.pubAt[s] = performance.now();
      try {
        this.pub.publish(this.subject, this.sc.encode(String(s)));
      } catch (err) {
        this.errors.push(`publish ${s}: ${(err as Error).message}`);
      }
    }, PUBLISH_EVERY_MS);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /**
   * Waits until what was published before `to` has had its chance to land:
   * `to - 1` (or something later) was received, then a little more for
   * stragglers on another path; at most 1.5 s if `to - 1` was lost.
   */
  async settle(to: number): Promise<void> {
    await checkFor(() => this.maxSeen >= to - 1, 1500).catch(() => {});
    await sleep(100);
  }

  /** Sequence numbers in [from, to) never received, and received twice or more. */
  tally(from: number, to: number): { missing: number[]; dups: number[] } {
    const missing: number[] = [];
    const dups: number[] = [];
    for (let s = from; s < to; s++) {
      const c = this.counts[s] ?? 0;
      if (c === 0) missing.push(s);
      if (c > 1) dups.push(s);
    }
    return { missing, dups };
  }

  /** Every duplicate so far. */
  allDups(): number[] {
    const d: number[] = [];
    this.counts.forEach((c, s) => {
      if (c > 1) d.push(s);
    });
    return d;
  }

  /** Runs of sequence numbers with their publish times relative to `t0`. */
  describe(seqs: number[], t0: number): string {
    if (seqs.length === 0) return 'none';
    const runs: string[] = [];
    let start = seqs[0]!;
    let prev = start;
    const flush = () => {
      const at = (s: number) => Math.round(this.pubAt[s]! - t0);
      runs.push(
        start === prev
          ? `${start} (@${at(start)}ms)`
          : `${start}-${prev} (@${at(start)}..${at(prev)}ms)`,
      );
    };
    for (const s of seqs.slice(1)) {
      if (s !== prev + 1) {
        flush();
        start = s;
      }
      prev = s;
    }
    flush();
    const shown = runs.length > 12 ? [...runs.slice(0, 6), '…', ...runs.slice(-6)] : runs;
    return `${seqs.length} in ${runs.length} run(s): ${shown.join(', ')}`;
  }
}

/** A window of the stream: publishes for `ms`, then lets it settle. */
async function window(stream: Stream, ms: number): Promise<{ from: number; to: number }> {
  const from = stream.next;
  await sleep(ms);
  const to = stream.next;
  await stream.settle(to);
  return { from, to };
}

// ---------------------------------------------------------------- fixture

interface Mesh {
  lab: Lab;
  procs: WeftProc[];
  clients: NatsConnection[];
  stream: Stream;
  /** Fails with `msg`, the stream's errors and every node's diagnostics. */
  fail(msg: string): Promise<never>;
  check(ok: boolean, msg: () => string): Promise<void>;
  /** Every node still running, both clients still connected. */
  checkAlive(when: string): Promise<void>;
}

/** Streams and clients to stop in `after`, even when `before` failed midway. */
const open: { streams: Stream[]; clients: NatsConnection[] } = { streams: [], clients: [] };

async function stopAll(): Promise<void> {
  for (const s of open.streams.splice(0)) s.stop();
  for (const c of open.clients.splice(0)) await c.close().catch(() => {});
}

async function startMesh(
  lab: Lab,
  nodes: { node: Node; links: string[] }[],
  pubOn: Node,
  subOn: Node,
  subject: string,
): Promise<Mesh> {
  const procs: WeftProc[] = [];
  for (const n of nodes) procs.push(await startWeft(lab, n.node, n.links));
  const pub = await clientTo(pubOn);
  open.clients.push(pub);
  const sub = await clientTo(subOn);
  open.clients.push(sub);
  await sub.flush();
  const stream = new Stream(pub, sub, subject);
  const fail = async (msg: string): Promise<never> => {
    const errs = stream.errors.length > 0 ? `\nclient errors: ${stream.errors.slice(0, 5)}` : '';
    throw new assert.AssertionError({ message: `${msg}${errs}\n${await diagnostics(procs)}` });
  };
  const mesh: Mesh = {
    lab,
    procs,
    clients: [pub, sub],
    stream,
    fail,
    async check(ok, msg) {
      if (!ok) await fail(msg());
    },
    async checkAlive(when) {
      for (const p of procs) {
        if (!p.alive()) await fail(`${p.node.name} is not running ${when}`);
      }
      for (const [i, c] of [pub, sub].entries()) {
        if (c.isClosed())
          await fail(`the ${i === 0 ? 'publisher' : 'subscriber'} lost its node ${when}`);
      }
    },
  };
  open.streams.push(stream);
  stream.start();
  // The mesh converges: links up, the subscriber's interest known at the
  // publisher's node. Then a warm-up, so that routes settle on the best path.
  const t0 = performance.now();
  await checkFor(() => stream.maxSeen >= 0, 10_000, 20).catch(() =>
    fail(`nothing delivered within 10 s of starting (${Math.round(performance.now() - t0)}ms)`),
  );
  await sleep(700);
  return mesh;
}

/** Phase checks shared by both topologies. */
async function expectAllDelivered(m: Mesh, what: string, w: { from: number; to: number }) {
  const { missing, dups } = m.stream.tally(w.from, w.to);
  const t0 = m.stream.pubAt[w.from]!;
  await m.check(
    dups.length === 0,
    () => `${what}: duplicates (expected none): ${m.stream.describe(dups, t0)}`,
  );
  await m.check(
    missing.length === 0,
    () =>
      `${what}: ${w.to - w.from} published, missing (expected none): ${m.stream.describe(missing, t0)}`,
  );
}

/**
 * After an event at `t0` (a cut or a restore), everything published from
 * some point on in [from, to) must arrive, and that point must come within
 * `boundMs` of `t0`. Returns when it came (ms after `t0`).
 */
async function expectRecoveredWithin(
  m: Mesh,
  what: string,
  w: { from: number; to: number },
  t0: number,
  boundMs: number,
): Promise<number> {
  const { missing, dups } = m.stream.tally(w.from, w.to);
  await m.check(
    dups.length === 0,
    () => `${what}: duplicates (expected none): ${m.stream.describe(dups, t0)}`,
  );
  const last = missing.at(-1);
  const firstGood = last === undefined ? w.from : last + 1;
  await m.check(
    firstGood < w.to,
    () =>
      `${what}: delivery never resumed in the ${Math.round(m.stream.pubAt[w.to - 1]! - t0)}ms observed ` +
      `(expected within ${boundMs}ms); missing ${m.stream.describe(missing, t0)}`,
  );
  const at = Math.max(0, m.stream.pubAt[firstGood]! - t0);
  await m.check(
    at <= boundMs,
    () =>
      `${what}: everything arrives only from ${Math.round(at)}ms after it ` +
      `(expected within ${boundMs}ms); missing ${m.stream.describe(missing, t0)}`,
  );
  return at;
}

// ---------------------------------------------------------------- tests

const MODES: CutMode[] = ['silent', 'down'];

for (const mode of MODES) {
  describe(`partition: triangle a-b-c, a-b cut (${mode})`, { skip }, () => {
    let lab: Lab;
    let m: Mesh | undefined;
    let ab: Link;
    let bc: Link;
    let ca: Link;

    before(async () => {
      lab = await Lab.create();
      const a = await lab.addNode('a');
      const b = await lab.addNode('b');
      const c = await lab.addNode('c');
      ab = await lab.link(a, b);
      bc = await lab.link(b, c);
      ca = await lab.link(c, a);
      const url = (addr: string) => `weft://${addr}:${MESH_PORT}`;
      // Each node dials the next one around the triangle.
      m = await startMesh(
        lab,
        [
          { node: a, links: [url(ab.bAddr)] },
          { node: b, links: [url(bc.bAddr)] },
          { node: c, links: [url(ca.bAddr)] },
        ],
        a,
        b,
        `partition.triangle.${mode}`,
      );
    }, SETUP_TIMEOUT);

    after(async () => {
      await stopAll();
      await lab?.destroy();
    });

    test(
      'delivery before, during (through c) and after the cut, never twice',
      TEST_TIMEOUT,
      async (t) => {
        const mesh = m!;
        const s = mesh.stream;

        const before = await window(s, 1000);
        await expectAllDelivered(mesh, 'before the cut', before);

        const tCut = performance.now();
        await ab.cut(mode);
        const during = await window(s, REROUTE_MS + 1000);
        const rerouted = await expectRecoveredWithin(
          mesh,
          `after cutting a-b (${mode})`,
          during,
          tCut,
          REROUTE_MS,
        );
        await mesh.checkAlive('during the cut');

        // The heal. From HEAL_MS after the restore on, routing must be right
        // again: the direct link, so that cutting both of c's links then
        // loses nothing published on a for b while c drops out of the mesh.
        const tRestore = performance.now();
        const healFrom = s.next;
        await ab.restore();
        await sleep(HEAL_MS - (performance.now() - tRestore));
        const isolateFrom = s.next;
        await Promise.all([bc.cut(mode), ca.cut(mode)]);
        const isolated = await window(s, DEAD_AFTER_MS + 1000);
        const heal = await expectRecoveredWithin(
          mesh,
          `after restoring a-b (${mode}), with c cut off from ${HEAL_MS}ms on`,
          { from: healFrom, to: isolated.to },
          tRestore,
          HEAL_MS,
        );
        await expectAllDelivered(mesh, `after the heal, with c cut off (${mode})`, {
          from: isolateFrom,
          to: isolated.to,
        });
        await mesh.checkAlive('at the end');

        await mesh.check(
          s.allDups().length === 0,
          () => `duplicates over the whole run: ${s.describe(s.allDups(), tCut)}`,
        );
        t.diagnostic(
          `triangle ${mode}: ${s.next} published; delivery through c ${Math.round(rerouted)}ms ` +
            `after the cut, all delivered from ${Math.round(heal)}ms after the restore`,
        );
      },
    );
  });

  describe(`partition: two nodes a-b, link cut (${mode})`, { skip }, () => {
    let lab: Lab;
    let m: Mesh | undefined;
    let ab: Link;

    before(async () => {
      lab = await Lab.create();
      const a = await lab.addNode('a');
      const b = await lab.addNode('b');
      ab = await lab.link(a, b);
      m = await startMesh(
        lab,
        [
          { node: a, links: [] },
          { node: b, links: [`weft://${ab.aAddr}:${MESH_PORT}`] },
        ],
        a,
        b,
        `partition.pair.${mode}`,
      );
    }, SETUP_TIMEOUT);

    after(async () => {
      await stopAll();
      await lab?.destroy();
    });

    test(
      'nothing during the cut, nothing crashes, delivery resumes after the restore',
      TEST_TIMEOUT,
      async (t) => {
        const mesh = m!;
        const s = mesh.stream;

        const before = await window(s, 1000);
        await expectAllDelivered(mesh, 'before the cut', before);

        const tCut = performance.now();
        await ab.cut(mode);
        const cutFrom = s.next;
        await sleep(DEAD_AFTER_MS + 1500);
        const tRestore = performance.now();
        const cutTo = s.next;
        // Published after the cut was in place, received before the restore.
        const leaked: number[] = [];
        for (let q = cutFrom; q < cutTo; q++) {
          const at = s.recvAt[q];
          if (at !== undefined && at < tRestore) leaked.push(q);
        }
        await mesh.check(
          leaked.length === 0,
          () => `during the cut (${mode}) received (expected none): ${s.describe(leaked, tCut)}`,
        );
        await mesh.checkAlive('during the cut');

        await ab.restore();
        const resumeBound = HEAL_MS + (mode === 'silent' ? DEAD_AFTER_MS : 0);
        const after = await window(s, resumeBound + 1000);
        const resumed = await expectRecoveredWithin(
          mesh,
          `after restoring a-b (${mode})`,
          after,
          tRestore,
          resumeBound,
        );

        // Once the link was dead (dead_after, and a heartbeat to notice), b's
        // interest was dropped at a: what a got then is dropped, not queued
        // and delivered after the restore.
        const deadBy = tCut + DEAD_AFTER_MS + 2 * HEARTBEAT_MS;
        const late: number[] = [];
        for (let q = cutFrom; q < cutTo; q++) {
          if (s.pubAt[q]! >= deadBy && s.counts[q] !== undefined) late.push(q);
        }
        await mesh.check(
          late.length === 0,
          () =>
            `published while b was unreachable, delivered after the restore (expected dropped): ` +
            s.describe(late, tCut),
        );
        await mesh.checkAlive('at the end');
        await mesh.check(
          s.allDups().length === 0,
          () => `duplicates over the whole run: ${s.describe(s.allDups(), tCut)}`,
        );
        t.diagnostic(
          `pair ${mode}: ${s.next} published; delivery resumed ${Math.round(resumed)}ms after the restore`,
        );
      },
    );
  });
}
