/**
 * The soak test, on demand (`npm run test:soak`, not part of `npm test`): a
 * node as a child process under mixed load for WEFT_SOAK_MINUTES (default 2),
 * killed (SIGKILL) or stopped (SIGTERM) and started again on the same data
 * every WEFT_SOAK_RESTART_SECONDS (default 20). The load, all at once:
 * - JetStream publishers with publish acks, checksummed messages;
 * - a durable pull consumer that fetches and acks;
 * - core pub/sub: a publisher in bursts, a healthy wildcard subscriber;
 * - WEFT_SOAK_STALLED (default 200) subscribers on the busy subject that
 *   never read (raw sockets, paused), topped up as the node closes them;
 * - a wildcard SUB/UNSUB churn;
 * - a PING probe (round trips of a quiet connection).
 *
 * What must hold: the node's RSS stays under WEFT_SOAK_RSS_MIB (default
 * 1024); it exits only when told to (SIGKILL by us, or status 0 after
 * SIGTERM) and never logs an uncaught error; every acknowledged publish is
 * in the stream, intact, at its acked sequence; a quiet connection's PING
 * round trip stays under WEFT_SOAK_PING_MAX_MS (default 1000; what the
 * probe measures includes this process's own event loop, busy with the load).
 * WEFT_SOAK_SEED repeats a run; the seed is printed.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { AckPolicy, connect, type NatsConnection } from 'nats';
import { freePort } from '../helpers/nats-server.js';
import { within } from '../helpers/poll.js';
import {
  killWeftProcess,
  type Proc,
  startWeftProcess,
  stopWeftProcess,
} from '../helpers/weft-process.js';
import { checkMessage, makeMessage } from '../jetstream/checked-messages.js';
import { prng } from '../streams/crash-messages.js';

const env = (name: string, dflt: number): number => Number(process.env[name] ?? String(dflt));
const MINUTES = env('WEFT_SOAK_MINUTES', 2);
const RESTART_S = env('WEFT_SOAK_RESTART_SECONDS', 20);
const STALLED = env('WEFT_SOAK_STALLED', 200);
const RSS_MAX = env('WEFT_SOAK_RSS_MIB', 1024) * 1024 * 1024;
const PING_MAX_MS = env('WEFT_SOAK_PING_MAX_MS', 1000);
const SEED = env('WEFT_SOAK_SEED', Math.floor(Math.random() * 2 ** 31));
const JS_PUBLISHERS = 3;
const STREAM = 'SOAK';

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function rssOf(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
  return kb === undefined ? 0 : Number(kb) * 1024;
}

/** A subscriber that never reads: the node must close it, not hold for it. */
function stalledSubscriber(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1' }, () => {
      s.write('CONNECT {"verbose":false,"pedantic":false}\r\nSUB load.> 1\r\nPING\r\n');
      s.pause();
      resolve(s);
    });
    s.on('error', reject);
  });
}

test('soak: mixed load, stalled consumers, kills and restarts', {
  timeout: (MINUTES * 60 + 180) * 1000,
}, async (t) => {
  t.diagnostic(
    `seed ${SEED}, ${MINUTES} min, restart every ${RESTART_S}s, ${STALLED} stalled subscribers`,
  );
  const t0 = Date.now();
  const at = () => `${((Date.now() - t0) / 1000).toFixed(0)}s`;
  const rand = prng(SEED);
  const dir = await mkdtemp(join(tmpdir(), 'weft-soak-'));
  const port = await freePort();
  const httpPort = await freePort();
  const args = ['--port', String(port), '--http-port', String(httpPort), '--mesh-port=-1'];
  const start = () => startWeftProcess([...args, '--data-dir', dir]);
  let node: Proc = await start();
  const logs: string[] = [];
  let maxRss = 0;
  let rssSamples = 0;
  /** The first sample over RSS_MAX. */
  let rssOver = '';
  let stopped = false;
  let restarting = false;
  let epoch = 0;

  const conns: NatsConnection[] = [];
  const client = async (name: string): Promise<NatsConnection> => {
    const nc = await connect({
      servers: `127.0.0.1:${port}`,
      name,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 100,
      reconnectJitter: 0,
      pingInterval: 2000,
    });
    conns.push(nc);
    return nc;
  };
  const stalled = new Set<net.Socket>();

  try {
    const nc = await client('soak-js');
    const jsm = await nc.jetstreamManager();
    const js = nc.jetstream();
    await jsm.streams.add({ name: STREAM, subjects: ['soak.>'] });
    await jsm.consumers.add(STREAM, { durable_name: 'C', ack_policy: AckPolicy.Explicit });

    const acked = new Map<number, string>();
    const ackConflicts: string[] = [];
    let publishFailures = 0;
    const jsPublisher = async (w: number): Promise<void> => {
      const r = prng(SEED * 7 + w);
      while (!stopped) {
        const m = makeMessage(r, `soak.w${w}`);
        try {
          const ack = await js.publish(m.subject, m.payload, { timeout: 2000 });
          const before = acked.get(ack.seq);
          if (before !== undefined && before !== m.sum)
            ackConflicts.push(`${ack.seq}: acked for ${before} and ${m.sum}`);
          acked.set(ack.seq, m.sum);
        } catch {
          publishFailures++;
          await pause(20);
        }
      }
    };

    let consumed = 0;
    const consumer = async (): Promise<void> => {
      while (!stopped) {
        try {
          for await (const m of js.fetch(STREAM, 'C', { batch: 200, expires: 500 })) {
            m.ack();
            consumed++;
          }
        } catch {
          await pause(50);
        }
      }
    };

    const corePub = await client('soak-core-pub');
    const coreSub = await client('soak-core-sub');
    let coreReceived = 0;
    coreSub.subscribe('load.>', { callback: () => coreReceived++ });
    let corePublished = 0;
    const payload = Buffer.alloc(512, 'x');
    const corePublisher = async (): Promise<void> => {
      while (!stopped) {
        try {
          for (let i = 0; i < 500; i++) corePub.publish(`load.${i & 15}`, payload);
          corePublished += 500;
          await within(corePub.flush(), 5000, 'a core flush');
        } catch {
          await pause(50);
        }
      }
    };

    const churnConn = await client('soak-churn');
    let churned = 0;
    const churn = async (): Promise<void> => {
      const r = prng(SEED * 13);
      while (!stopped) {
        const subs = Array.from({ length: 100 }, () =>
          churnConn.subscribe(`load.*.c${Math.floor(r() * 1000)}.>`),
        );
        for (const s of subs) s.unsubscribe();
        churned += subs.length;
        try {
          await within(churnConn.flush(), 5000, 'a churn flush');
        } catch {
          await pause(50);
        }
      }
    };

    const stallTopUp = async (): Promise<void> => {
      while (!stopped) {
        for (const s of stalled) if (s.destroyed) stalled.delete(s);
        while (!restarting && !stopped && stalled.size < STALLED) {
          try {
            const s = await stalledSubscriber(port);
            s.on('close', () => stalled.delete(s));
            stalled.add(s);
          } catch {
            break;
          }
        }
        await pause(1000);
      }
    };

    const pingConn = await client('soak-ping');
    const pings: number[] = [];
    const pingProbe = async (): Promise<void> => {
      while (!stopped) {
        const e = epoch;
        try {
          const ms = await within(pingConn.rtt(), 10_000, 'a PING');
          if (e === epoch && !restarting) pings.push(ms);
        } catch {
          // restarting
        }
        await pause(100);
      }
    };

    const rssWatch = async (): Promise<void> => {
      while (!stopped) {
        const pid = node.child.pid;
        if (pid !== undefined && !restarting) {
          const rss = await rssOf(pid);
          if (rss > 0) {
            rssSamples++;
            if (rss > maxRss) maxRss = rss;
            if (rss >= RSS_MAX && rssOver === '')
              rssOver = `${(rss / 2 ** 20).toFixed(0)} MiB at ${at()}`;
          }
        }
        await pause(250);
      }
    };

    const workers = [
      ...Array.from({ length: JS_PUBLISHERS }, (_, w) => jsPublisher(w)),
      consumer(),
      corePublisher(),
      churn(),
      stallTopUp(),
      pingProbe(),
    ];
    const watcher = rssWatch();

    const end = t0 + MINUTES * 60_000;
    let restarts = 0;
    while (Date.now() + RESTART_S * 1000 < end) {
      await pause(RESTART_S * 1000 * (0.5 + rand()));
      const where = `seed ${SEED}, restart ${restarts + 1} at ${at()}`;
      restarting = true;
      logs.push(node.stderr());
      if (restarts % 2 === 0) await killWeftProcess(node, where);
      else await stopWeftProcess(node, where);
      epoch++;
      for (const s of stalled) s.destroy();
      node = await start();
      restarting = false;
      restarts++;
      t.diagnostic(
        `${where}: ${acked.size} acked, ${consumed} consumed, ${corePublished} core published, ` +
          `${coreReceived} received, ${churned} churned, max RSS ${(maxRss / 2 ** 20).toFixed(0)} MiB`,
      );
    }
    await pause(Math.max(0, end - Date.now()));
    stopped = true;
    await within(Promise.all(workers), 30_000, 'the load to stop');
    await watcher;
    for (const s of stalled) s.destroy();
    const varz = (await (await fetch(`http://127.0.0.1:${httpPort}/varz`)).json()) as {
      slow_consumers: number;
    };
    logs.push(node.stderr());

    // Every acknowledged publish is in the stream, intact, at its sequence.
    const last = (await jsm.streams.info(STREAM)).state;
    await jsm.consumers.add(STREAM, { durable_name: 'WALK', ack_policy: AckPolicy.None });
    const held = new Map<number, { sum: string; intact: boolean }>();
    let next = last.first_seq;
    while (next <= last.last_seq) {
      const want = Math.min(1000, last.last_seq - next + 1);
      let got = 0;
      for await (const m of js.fetch(STREAM, 'WALK', { batch: want, expires: 5000 })) {
        held.set(m.seq, checkMessage(m.subject, m.data));
        next = m.seq + 1;
        got++;
      }
      assert.ok(got > 0, `the walk stalled at ${next} of ${last.last_seq}`);
    }
    const missing: number[] = [];
    const changed: string[] = [];
    for (const [seq, sum] of acked) {
      const h = held.get(seq);
      if (h === undefined) missing.push(seq);
      else if (h.sum !== sum || !h.intact) changed.push(`${seq}: acked ${sum}, held ${h.sum}`);
    }
    pings.sort((a, b) => a - b);
    const p99 = pings[Math.floor(pings.length * 0.99)] ?? 0;
    const pingMax = pings[pings.length - 1] ?? 0;
    t.diagnostic(
      `seed ${SEED} (${at()}): ${restarts} restarts; ${acked.size} publishes acked ` +
        `(${publishFailures} failed), ${last.messages} held; ${consumed} consumed; ` +
        `core ${corePublished} published, ${coreReceived} received; ${churned} SUB+UNSUB; ` +
        `slow consumers closed in the last run: ${varz.slow_consumers}; ` +
        `max RSS ${(maxRss / 2 ** 20).toFixed(0)} MiB over ${rssSamples} samples; ` +
        `PING p99 ${p99.toFixed(0)} ms, max ${pingMax.toFixed(0)} ms over ${pings.length}`,
    );
    assert.deepEqual(missing.slice(0, 20), [], `${missing.length} acked publishes missing`);
    assert.deepEqual(changed.slice(0, 20), [], 'acked publishes held with other content');
    assert.deepEqual(ackConflicts, [], 'one sequence acked for two messages');
    assert.ok(acked.size > 0 && coreReceived > 0 && restarts > 0, 'the load ran');
    assert.ok(rssSamples > 0, 'RSS was sampled');
    assert.equal(rssOver, '', `RSS over ${RSS_MAX / 2 ** 20} MiB`);
    const uncaught = logs.join('').match(/.*(uncaught|unhandled).*/gi) ?? [];
    assert.deepEqual(uncaught, [], 'the node logged an uncaught error');
    assert.ok(pingMax < PING_MAX_MS, `a PING took ${pingMax.toFixed(0)} ms`);
  } finally {
    stopped = true;
    for (const s of stalled) s.destroy();
    await Promise.all(conns.map((c) => c.close().catch(() => {})));
    if (node.child.exitCode === null && node.child.signalCode === null) {
      node.child.kill('SIGKILL');
      await node.exited;
    }
    await rm(dir, { recursive: true, force: true });
  }
});
