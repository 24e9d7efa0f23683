/**
 * The MQTT part of `npm run bench`: Weft's MQTT face against mosquitto 2.0
 * (the reference, Debian's `mosquitto`), same machine, same raw-protocol
 * generator (src/bench/mqtt-runner.ts), one run. MQTT 3.1.1 over TCP.
 *
 * mosquitto gets a throwaway config: `listener <port> 127.0.0.1`,
 * `allow_anonymous true`, `max_connections -1`, and `max_queued_messages 0`
 * (no limit: its default, 1000 per client, drops QoS 1 messages a subscriber
 * has not taken yet, and a dropped message would end the QoS 1 row as
 * "stalled"; Weft's session bound plays that role on its side).
 *
 * Weft is started with `--mqtt-port <free port>`. Until a node has an MQTT
 * listener, its rows are skipped with a line that says why.
 */

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { readCpuMs, readRssBytes } from '../src/bench/idle.js';
import { type MqttAddress, MqttBenchConn } from '../src/bench/mqtt-conn.js';
import {
  type MqttBenchResult,
  type MqttWorkload,
  openMqttIdle,
  runMqttBench,
} from '../src/bench/mqtt-runner.js';
import { markdownTable } from '../src/bench/report.js';
import { bytes, int, si } from '../src/bench/stats.js';
import { freePort, type ServerProc, startListening, startWeft, which } from './servers.js';

interface MqttCase {
  id: string;
  label: string;
  workload: MqttWorkload;
  size: number;
  qos: 0 | 1;
  /** Share of --mqtt-msgs. */
  scale: number;
}

const CASES: MqttCase[] = [
  {
    id: 'mqtt-pubsub',
    label: 'MQTT QoS 0 1→1, 16 B',
    workload: 'pubsub',
    size: 16,
    qos: 0,
    scale: 1,
  },
  {
    id: 'mqtt-pubsub-1k',
    label: 'MQTT QoS 0 1→1, 1 KiB',
    workload: 'pubsub',
    size: 1024,
    qos: 0,
    scale: 0.25,
  },
  {
    id: 'mqtt-qos1',
    label: 'MQTT QoS 1 1→1 with PUBACKs, 16 B',
    workload: 'pubsub',
    size: 16,
    qos: 1,
    scale: 0.25,
  },
  {
    id: 'mqtt-fanout',
    label: 'MQTT QoS 0 fan-out 1→4, 16 B',
    workload: 'fanout',
    size: 16,
    qos: 0,
    scale: 0.25,
  },
  {
    id: 'mqtt-fanin',
    label: 'MQTT QoS 0 fan-in 1,000→1, 16 B',
    workload: 'fanin',
    size: 16,
    qos: 0,
    scale: 0.25,
  },
];

/** The row label of an MQTT workload id (the id itself when unknown). */
export function mqttLabel(id: string): string {
  return CASES.find((c) => c.id === id)?.label ?? id;
}

export const MQTT_IDS: string[] = [...CASES.map((c) => c.id), 'mqtt-idle'];

type Side = 'mosquitto' | 'weft';

interface IdleResult {
  asked: number;
  conns: number;
  opened: number;
  bytesPerConn: number;
  errors: string[];
}

export interface MqttMeasured {
  results: Record<string, Partial<Record<Side, MqttBenchResult>>>;
  /** Server CPU (user + system) per message delivered, µs, per case and side. */
  cpuUsPerMsg: Record<string, Partial<Record<Side, number>>>;
  idle: Partial<Record<Side, IdleResult>>;
  /** Why a side or a count was skipped or reduced: printed under the table. */
  notes: string[];
  mosquittoVersion?: string;
}

export interface MqttContext {
  mainJs: string;
  /** Messages for the 16 B 1→1 row (others: a share of it). */
  msgs: number;
  /** Idle connections for the memory row. */
  conns: number;
  only: string[];
  problems: string[];
  log: (line: string) => void;
  status: (text: string) => void;
  clearStatus: () => void;
  live: boolean;
}

/** The open-file limit of this process (servers started from it inherit it). */
function openFileLimit(): number {
  const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'latin1'));
  return m === null || m[1] === 'unlimited' ? Number.MAX_SAFE_INTEGER : Number(m[1]);
}

/** Ephemeral ports per source address (net.ipv4.ip_local_port_range). */
function ephemeralPorts(): number {
  try {
    const [lo, hi] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'latin1')
      .trim()
      .split(/\s+/)
      .map(Number);
    return hi - lo + 1;
  } catch {
    return 28_000;
  }
}

/** `mosquitto -h` prints "mosquitto version 2.0.11" (and exits with status 3). */
export function mosquittoVersion(bin: string): string {
  const r = spawnSync(bin, ['-h'], { encoding: 'utf8' });
  return /version (\S+)/.exec(`${r.stdout}${r.stderr}`)?.[1] ?? 'unknown';
}

async function startMosquitto(bin: string): Promise<{ proc: ServerProc; addr: MqttAddress }> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'weft-bench-mosquitto-'));
  const conf = path.join(dir, 'mosquitto.conf');
  writeFileSync(
    conf,
    `listener ${port} 127.0.0.1\nallow_anonymous true\nmax_connections -1\nmax_queued_messages 0\n`,
  );
  const proc = await startListening('mosquitto', bin, ['-c', conf], port);
  const stop = proc.stop;
  proc.stop = async () => {
    await stop();
    rmSync(dir, { recursive: true, force: true });
  };
  return { proc, addr: { host: '127.0.0.1', port } };
}

/** A Weft node with `--mqtt-port`; null (and a note) when it has no MQTT listener. */
async function startWeftMqtt(
  mainJs: string,
  notes: string[],
): Promise<{ proc: ServerProc; addr: MqttAddress } | null> {
  const port = await freePort();
  let proc: ServerProc;
  try {
    proc = await startWeft(mainJs, ['--mesh-port', '-1', '--mqtt-port', String(port)], 'weft-mqtt');
  } catch (err) {
    const lines = (err as Error).message.split('\n').map((l) => l.trim());
    const why =
      lines.find((l) => /mqtt-port|unknown/i.test(l) && !l.startsWith('weft-mqtt exited')) ??
      lines[0];
    notes.push(`Weft MQTT rows skipped: the node has no MQTT listener (${why})`);
    return null;
  }
  const addr = { host: '127.0.0.1', port };
  const deadline = performance.now() + 5000;
  for (;;) {
    try {
      const c = await MqttBenchConn.open(addr, `wb${process.pid}-probe`, 2000);
      c.close();
      return { proc, addr };
    } catch (err) {
      if (performance.now() > deadline) {
        notes.push(
          `Weft MQTT rows skipped: the node does not answer MQTT on port ${port} (${(err as Error).message})`,
        );
        await proc.stop();
        return null;
      }
      await sleep(200);
    }
  }
}

export async function runMqtt(ctx: MqttContext): Promise<MqttMeasured> {
  const m: MqttMeasured = { results: {}, cpuUsPerMsg: {}, idle: {}, notes: [] };
  const bin = which('mosquitto');
  const servers: Partial<Record<Side, { proc: ServerProc; addr: MqttAddress }>> = {};
  try {
    if (bin === null) {
      m.notes.push(
        'mosquitto rows skipped: mosquitto is not installed (Debian: apt-get install mosquitto)',
      );
    } else {
      m.mosquittoVersion = mosquittoVersion(bin);
      servers.mosquitto = await startMosquitto(bin);
      ctx.log(
        `mosquitto ${m.mosquittoVersion} on 127.0.0.1:${servers.mosquitto.addr.port} (pid ${servers.mosquitto.proc.pid})`,
      );
    }
    const weft = await startWeftMqtt(ctx.mainJs, m.notes);
    if (weft !== null) {
      servers.weft = weft;
      ctx.log(`weft MQTT on 127.0.0.1:${weft.addr.port} (pid ${weft.proc.pid})`);
    }
    for (const n of m.notes) ctx.log(n);
    const sides = (['mosquitto', 'weft'] as const).filter((s) => servers[s] !== undefined);

    // Memory first, on fresh servers.
    if (ctx.only.includes('mqtt-idle')) {
      for (const side of sides) {
        m.idle[side] = await measureIdle(ctx, side, servers[side]!, m.notes);
        const r = m.idle[side]!;
        ctx.log(`mqtt-idle ${side}: ${int(r.opened)} connections, ${bytes(r.bytesPerConn)} each`);
        for (const e of r.errors.slice(0, 3)) ctx.problems.push(`mqtt-idle ${side}: ${e}`);
      }
    }
    const cases = CASES.filter((c) => ctx.only.includes(c.id));
    for (const side of sides) {
      if (cases.length === 0) break;
      ctx.status(`warming up ${side}`);
      // Not measured: lets V8 compile Weft's paths; both servers size their buffers.
      await runMqttBench({
        workload: 'pubsub',
        addr: servers[side]!.addr,
        msgs: Math.min(ctx.msgs, 100_000),
        size: 16,
        qos: 0,
      }).catch(() => {});
      ctx.clearStatus();
    }
    for (const c of cases) {
      m.results[c.id] = {};
      for (const side of sides) {
        const s = servers[side]!;
        if (s.proc.exited()) {
          ctx.problems.push(`${c.id} ${side}: server is no longer running\n${s.proc.tail()}`);
          continue;
        }
        const cpu0 = readCpuMs(s.proc.pid);
        const r = await runMqttBench({
          workload: c.workload,
          addr: s.addr,
          msgs: Math.max(1000, Math.round(ctx.msgs * c.scale)),
          size: c.size,
          qos: c.qos,
          onProgress: ctx.live
            ? (got, want) => ctx.status(`${c.id} ${side}: ${int(got)}/${int(want)}`)
            : undefined,
        });
        ctx.clearStatus();
        m.results[c.id]![side] = r;
        // The generator shares the two cores: where it saturates first, msgs/s
        // is the same for both servers, and the CPU each spent per message tells.
        const delivered = r.msgsPerSec * (r.elapsedMs / 1000);
        if (delivered > 0) {
          const cpu = m.cpuUsPerMsg[c.id] ?? {};
          cpu[side] = ((readCpuMs(s.proc.pid) - cpu0) * 1000) / delivered;
          m.cpuUsPerMsg[c.id] = cpu;
        }
        const lost = r.lost > 0 ? `, lost ${int(r.lost)}` : '';
        ctx.log(
          `${c.id.padEnd(15)} ${side.padEnd(10)} ${si(r.msgsPerSec)} msgs/s in ${(r.elapsedMs / 1000).toFixed(2)} s${r.complete ? '' : ` [${r.ended}${lost}]`}`,
        );
        if (!r.complete)
          ctx.problems.push(
            `${c.id} ${side}: ${r.ended}${lost}${r.errors.length > 0 ? `, ${r.errors.join('; ')}` : ''}`,
          );
      }
    }
  } finally {
    ctx.clearStatus();
    await Promise.all(Object.values(servers).map((s) => s?.proc.stop()));
  }
  return m;
}

async function measureIdle(
  ctx: MqttContext,
  side: Side,
  server: { proc: ServerProc; addr: MqttAddress },
  notes: string[],
): Promise<IdleResult> {
  // This process holds the clients and each server inherits its limit: both need one descriptor per connection.
  const limit = openFileLimit();
  const conns = Math.max(1, Math.min(ctx.conns, limit - 500));
  if (conns < ctx.conns) {
    const note = `memory row: ${int(conns)} idle connections instead of ${int(ctx.conns)}: the open-file limit is ${int(limit)} (ulimit -n); raise it above ${int(ctx.conns + 500)} for the full count`;
    if (!notes.includes(note)) notes.push(note);
  }
  // Binding many sockets to one source address makes each bind search longer: spread them thin.
  const perAddress = Math.min(5000, Math.max(1000, ephemeralPorts() - 2000));
  const addresses = Array.from(
    { length: Math.ceil(conns / perAddress) },
    (_, i) => `127.0.0.${i + 1}`,
  );
  const rssBefore = readRssBytes(server.proc.pid);
  const idle = await openMqttIdle(server.addr, conns, addresses, {
    onProgress: (n) => ctx.status(`mqtt-idle ${side}: ${int(n)}/${int(conns)} connections`),
  });
  ctx.clearStatus();
  await sleep(1000);
  const rssAfter = readRssBytes(server.proc.pid);
  const opened = idle.open();
  const errors = await idle.close();
  // Let the server close them before the next workload.
  await sleep(500);
  return {
    asked: ctx.conns,
    conns,
    opened,
    bytesPerConn: opened > 0 ? (rssAfter - rssBefore) / opened : 0,
    errors,
  };
}

/** Markdown table; every ratio reads "times as good as mosquitto". */
export function renderMqttTable(m: MqttMeasured, only: string[], msgs: number): string {
  const rows: string[][] = [];
  const ratio = (a: number | undefined, b: number | undefined) =>
    a === undefined || b === undefined || a <= 0 || b <= 0 ? '—' : `${(a / b).toFixed(2)}×`;
  const cell = (r: MqttBenchResult | undefined) => {
    if (r === undefined) return '—';
    const lost = r.lost > 0 ? `, ${int(r.lost)} lost` : '';
    return r.complete ? si(r.msgsPerSec) : `${si(r.msgsPerSec)} ⚠ ${r.ended}${lost}`;
  };
  for (const c of CASES.filter((c) => only.includes(c.id))) {
    const { mosquitto, weft } = m.results[c.id] ?? {};
    rows.push([
      `${c.label} (msgs/s delivered)`,
      cell(mosquitto),
      cell(weft),
      ratio(weft?.msgsPerSec, mosquitto?.msgsPerSec),
    ]);
    const cpu = m.cpuUsPerMsg[c.id] ?? {};
    const us = (v: number | undefined) => (v === undefined ? '—' : `${v.toFixed(2)} µs`);
    rows.push([
      `  server CPU per message (lower is better)`,
      us(cpu.mosquitto),
      us(cpu.weft),
      ratio(cpu.mosquitto, cpu.weft),
    ]);
  }
  if (only.includes('mqtt-idle')) {
    const { mosquitto, weft } = m.idle;
    const mem = (r: IdleResult | undefined) =>
      r === undefined
        ? '—'
        : `${bytes(r.bytesPerConn)}${r.opened < r.conns ? ` ⚠ ${int(r.opened)} open` : ''}`;
    const n = mosquitto?.conns ?? weft?.conns ?? 0;
    rows.push([
      `MQTT memory per idle connection, ${int(n)} open (RSS, lower is better)`,
      mem(mosquitto),
      mem(weft),
      ratio(mosquitto?.bytesPerConn, weft?.bytesPerConn),
    ]);
  }
  const header = [
    'MQTT workload',
    `mosquitto ${m.mosquittoVersion ?? ''}`.trim(),
    'weft',
    'weft vs mosquitto (>1× = weft better)',
  ];
  return [
    ...markdownTable(header, rows),
    '',
    `MQTT 3.1.1 over TCP, raw-protocol generator for both. ${int(msgs)} msgs for 16 B 1→1, ÷4 for the`,
    `others (fan-out: ×4 deliveries). Throughput ratio = weft ÷ mosquitto; memory ratio = mosquitto ÷ weft.`,
    ...m.notes.map((n) => `Note: ${n}.`),
  ].join('\n');
}
