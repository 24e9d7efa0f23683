/**
 * Entry point of an MQTT load-generator worker thread (the MQTT twin of
 * worker.ts): publishers (one connection, or many for fan-in; QoS 0 in
 * batches, QoS 1 with a window of unacknowledged messages), subscribers
 * (counting deliveries, acknowledging QoS 1), or idle connections.
 *
 * Lifecycle as in worker.ts: connect → 'ready' → on 'start' run → 'done'.
 */

import { workerData } from 'node:worker_threads';
import { COUNTER, emptyReport, nowNs } from './messages.js';
import { type MqttAddress, MqttBenchConn } from './mqtt-conn.js';
import type { MqttIdleTask, MqttPubTask, MqttSubTask, MqttTask } from './mqtt-runner.js';
import { batchFor, publishBatch, publishPacket } from './mqtt-wire.js';
import { fail, finish, type Role, runWorker, send, stopped } from './worker-life.js';

const task = workerData as MqttTask;
const counters = new Int32Array(task.counters);

/** Opens `n` connections, `concurrency` at a time. */
async function openMany(
  n: number,
  concurrency: number,
  addrOf: (i: number) => MqttAddress,
  idOf: (i: number) => string,
  opened?: (conn: MqttBenchConn) => void,
): Promise<MqttBenchConn[]> {
  const conns: MqttBenchConn[] = new Array(n);
  let next = 0;
  const lane = async () => {
    while (next < n && !stopped) {
      const i = next++;
      conns[i] = await MqttBenchConn.open(addrOf(i), idOf(i));
      opened?.(conns[i]);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, n) }, lane));
  } catch (err) {
    for (const c of conns) c?.close();
    throw err;
  }
  return conns;
}

/** How many of `total` messages connection `i` of `n` publishes. */
const share = (total: number, n: number, i: number) =>
  Math.floor(total / n) + (i < total % n ? 1 : 0);

async function publisher(t: MqttPubTask): Promise<Role> {
  const conns = await openMany(
    t.conns,
    64,
    () => t.addr,
    (i) => `${t.clientPrefix}-pub-${t.first + i}`,
  );
  const report = emptyReport();
  for (const c of conns) c.onClose((why) => fail(why));
  const one = async (conn: MqttBenchConn, count: number): Promise<void> => {
    if (t.qos === 0) {
      const batch = publishBatch(
        t.topic,
        t.size,
        Math.max(1, Math.min(batchFor(publishPacket(t.topic, t.size, 0).buf.length), count)),
      );
      let sent = 0;
      while (sent < count && !stopped) {
        const n = Math.min(batch.count, count - sent);
        const wait = conn.write(
          n === batch.count ? batch.buf : batch.buf.subarray(0, n * batch.frameLength),
        );
        sent += n;
        Atomics.add(counters, COUNTER.published, n);
        if (wait !== undefined) await wait;
      }
      report.sent += sent;
      if (!stopped) await conn.flush();
      return;
    }
    // QoS 1: at most `window` unacknowledged; each PUBACK lets the next one go.
    const { buf: template, idOffset } = publishPacket(t.topic, t.size, 1);
    let sent = 0;
    let acked = 0;
    let nextId = 1;
    await new Promise<void>((resolve, reject) => {
      conn.onClose((why) => reject(new Error(why)));
      const pump = () => {
        const n = Math.min(t.window - (sent - acked), count - sent);
        if (n <= 0 || stopped) return;
        const out = Buffer.allocUnsafe(n * template.length);
        for (let k = 0; k < n; k++) {
          template.copy(out, k * template.length);
          out.writeUInt16BE(nextId, k * template.length + idOffset);
          nextId = nextId === 65535 ? 1 : nextId + 1;
        }
        sent += n;
        Atomics.add(counters, COUNTER.published, n);
        conn.socket.write(out);
      };
      conn.onPuback = () => {
        acked++;
        if (acked === count) resolve();
        else if (t.window - (sent - acked) >= Math.min(64, t.window >> 1)) pump();
      };
      pump();
      if (count === 0) resolve();
    });
    report.sent += sent;
  };
  return {
    start: () => {
      report.t0 = nowNs();
      send({ type: 'started', t0: report.t0 });
      Promise.all(conns.map((c, i) => one(c, share(t.count, t.conns, i))))
        .then(() => {
          report.t1 = nowNs();
          finish();
        })
        .catch(fail);
    },
    report: () => {
      for (const c of conns) report.errors.push(...c.errors);
      return report;
    },
    close: () => {
      for (const c of conns) c.close();
    },
  };
}

async function subscribers(t: MqttSubTask): Promise<Role> {
  const conns = await openMany(
    t.conns,
    16,
    () => t.addr,
    (i) => `${t.clientPrefix}-sub-${t.first + i}`,
  );
  await Promise.all(conns.map((c) => c.subscribe(t.filter, t.qos)));
  const report = emptyReport();
  conns.forEach((conn, i) => {
    const slot = COUNTER.subs + t.first + i;
    report.received.push(0);
    report.firstNs.push(0);
    report.lastNs.push(0);
    conn.onPublish = () => {
      const now = report.received[i] === 0 || (report.received[i] & 1023) === 0 ? nowNs() : 0;
      if (report.received[i] === 0) report.firstNs[i] = now;
      report.received[i]++;
      Atomics.store(counters, slot, report.received[i]);
    };
    // Arrival of the last message: stamped per read, cheap enough.
    conn.socket.on('data', () => {
      report.lastNs[i] = nowNs();
    });
  });
  return {
    report: () => {
      for (const c of conns) report.errors.push(...c.errors);
      return report;
    },
    close: () => {
      for (const c of conns) c.close();
    },
  };
}

async function idle(t: MqttIdleTask): Promise<Role> {
  const report = emptyReport();
  const conns = await openMany(
    t.conns,
    t.concurrency,
    (i) => ({ ...t.addr, localAddress: t.localAddresses[i % t.localAddresses.length] }),
    (i) => `${t.clientPrefix}-idle-${t.first + i}`,
    () => Atomics.add(counters, COUNTER.opened, 1),
  );
  report.opened = conns.length;
  return {
    report: () => {
      report.opened = conns.filter((c) => !c.closed).length;
      for (const c of conns) report.errors.push(...c.errors.slice(0, 3));
      return report;
    },
    close: () => {
      for (const c of conns) c.close();
    },
  };
}

async function setup(t: MqttTask): Promise<Role> {
  switch (t.role) {
    case 'mqtt-pub':
      return publisher(t);
    case 'mqtt-sub':
      return subscribers(t);
    case 'mqtt-idle':
      return idle(t);
  }
}

runWorker(setup(task));
