/**
 * `npm run bench`: Weft against the reference nats-server, same machine, same
 * load generator, one run. Prints a markdown table of the ratios we track.
 *
 *   node dist/bench/compare.js [--msgs N] [--js-msgs N] [--only a,b] [--quick] [--conns N] [--json out.json]
 *                              [--mqtt-msgs N] [--mqtt-conns N]
 */

import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { openIdleConnections, readRssBytes } from '../src/bench/idle.js';
import { formatProgress } from '../src/bench/report.js';
import { type BenchResult, headline, runBench, type Workload } from '../src/bench/runner.js';
import { bytes, int, micros, si } from '../src/bench/stats.js';
import { VERSION } from '../src/version.js';
import { HTTP_IDS, type HttpMeasured, renderHttpTable, runHttp } from './http.js';
import { JS_IDS, type JsMeasured, renderJsTable, runJetStreamCompare } from './jetstream.js';
import { KAFKA_IDS, type KafkaMeasured, renderKafkaTable, runKafkaCompare } from './kafka.js';
import { MESH_IDS, type MeshMeasured, renderMeshTable, runMesh } from './mesh.js';
import { MQTT_IDS, type MqttMeasured, renderMqttTable, runMqtt } from './mqtt.js';
import {
  PERMISSION_IDS,
  type PermissionsMeasured,
  renderPermissionsTable,
  runPermissions,
} from './permissions.js';
import { REDIS_IDS, type RedisMeasured, renderRedisTable, runRedis } from './redis.js';
import {
  ensureNatsServer,
  killAll,
  natsServerVersion,
  type ServerProc,
  startNatsServer,
  startWeft,
} from './servers.js';
import { renderSseTable, runSse, SSE_IDS, type SseMeasured } from './sse.js';
import {
  renderSubjectsTable,
  runSubjects,
  SUBJECT_IDS,
  type SubjectsMeasured,
} from './subjects.js';
import { startTlsServers } from './tls.js';
import { renderWebhooksTable, runWebhooks, WEBHOOK_IDS, type WebhookMeasured } from './webhooks.js';
import { renderWsTable, runWebSocket, WS_IDS, type WsMeasured } from './websocket.js';

interface Case {
  id: string;
  label: string;
  workload: Workload;
  size: number;
  subs: number;
  /** Share of --msgs this case publishes (requests for reqrep). */
  scale: number;
  /** Against a second pair of servers with TLS required on the client port (bench/tls.ts). */
  tls?: boolean;
}

const CASES: Case[] = [
  { id: 'pub', label: 'publish only, 16 B', workload: 'pub', size: 16, subs: 0, scale: 1 },
  { id: 'pubsub', label: 'pub/sub 1→1, 16 B', workload: 'pubsub', size: 16, subs: 1, scale: 1 },
  {
    id: 'pubsub-1k',
    label: 'pub/sub 1→1, 1 KiB',
    workload: 'pubsub',
    size: 1024,
    subs: 1,
    scale: 0.25,
  },
  { id: 'fanout', label: 'fan-out 1→4, 16 B', workload: 'fanout', size: 16, subs: 4, scale: 0.5 },
  { id: 'queue', label: 'queue group 1→4, 16 B', workload: 'queue', size: 16, subs: 4, scale: 1 },
  { id: 'reqrep', label: 'request-reply', workload: 'reqrep', size: 16, subs: 0, scale: 0.01 },
  {
    id: 'pubsub-tls',
    label: '1→1 pub/sub 16 B over TLS',
    workload: 'pubsub',
    size: 16,
    subs: 1,
    scale: 1,
    tls: true,
  },
];
const SINGLE_IDS = [...CASES.map((c) => c.id), 'idle'];
const IDS = [
  ...SINGLE_IDS,
  ...SUBJECT_IDS,
  ...PERMISSION_IDS,
  ...MESH_IDS,
  ...JS_IDS,
  ...MQTT_IDS,
  ...REDIS_IDS,
  ...WS_IDS,
  ...SSE_IDS,
  ...HTTP_IDS,
  ...WEBHOOK_IDS,
  ...KAFKA_IDS,
];

const USAGE = `Usage: node dist/bench/compare.js [flags]   (or: npm run bench -- [flags])

Runs every workload against nats-server and against a Weft node, both started
here on free loopback ports, with the same load generator, and prints a table.
The subject-index workloads (many distinct subjects, 1,000 wildcard patterns,
a wildcard SUB/UNSUB storm with health PINGs) follow on fresh servers.
The permissions workload (perms-100) runs 1→1 pub/sub on a Weft node as a
user with 100 rules per direction and as one without permissions.
The mesh workloads then start a 2-node nats-server cluster and Weft chains of
2, 3 and 5 nodes (one topology at a time), publisher and subscriber on
different nodes, and print a second table. The JetStream workloads then start
nats-server -js and a Weft node (file streams, each with its default sync
policy) and print a third table. The MQTT workloads then start mosquitto and a
Weft node with --mqtt-port and print a fourth table (rows of a missing server
are skipped with a line saying why). The WebSocket workload (ws-pubsub) then
starts nats-server with its websocket listener and a Weft node with
--websocket-port: NATS over WebSocket 1→1, 16 B, 3 rounds, medians.

Flags:
  --msgs N        messages per throughput workload (default 5000000; the 1 KiB
                  case uses N/4, fan-out N/2, request-reply N/100 requests;
                  mesh: 16 B N/2, 1 KiB N/8)
  --js-msgs N     JetStream messages (default 100000; js-pub-sync uses N/20;
                  the consumers drain a stream pre-filled with N)
  --conns N       idle connections for the memory test (default 10000)
  --mqtt-msgs N   MQTT messages for QoS 0 1→1 16 B (default 1000000; the
                  other MQTT rows use N/4)
  --mqtt-conns N  idle MQTT connections for the memory row (default 50000;
                  capped by the open-file limit, ulimit -n, with a note)
  --redis-msgs N  Redis PUBLISH count for 1→1 (default 1000000; 1→4 uses N/2);
                  Weft's Redis face against redis-server
  --http-seconds N  seconds per HTTP publish run (default 10); --http-rounds N
                  rounds of the bare node:http / Weft pair (default 3)
  --webhook-msgs N  messages per webhook round (default 10000; 3 rounds per
                  row, the median shown)
  --kafka-msgs N  Kafka records per 100 B produce row and per consume or group row (default
                  1000000; 1 KiB rows N/4); bench/kafka.ts
  --only IDS      run only these, comma separated: ${IDS.join(', ')}
  --quick         small counts, for a smoke run
  --json FILE     also write every measurement to FILE
  -h, --help      show this help`;

type Side = 'nats' | 'weft';

interface IdleResult {
  conns: number;
  opened: number;
  rssBefore: number;
  rssAfter: number;
  bytesPerConn: number;
  errors: string[];
}

interface Measured {
  results: Record<string, Partial<Record<Side, BenchResult>>>;
  idle: Partial<Record<Side, IdleResult>>;
  subjects?: SubjectsMeasured;
  permissions?: PermissionsMeasured;
  mesh?: MeshMeasured;
  jetstream?: JsMeasured;
  mqtt?: MqttMeasured;
  redis?: RedisMeasured;
  websocket?: WsMeasured;
  sse?: SseMeasured;
  http?: HttpMeasured;
  webhooks?: WebhookMeasured;
  kafka?: KafkaMeasured;
  problems: string[];
}

const log = (line: string) => process.stderr.write(`${line}\n`);
const live = process.stderr.isTTY === true;
const status = (text: string) => {
  if (live) process.stderr.write(`\r${text}\x1b[K`);
};
const clearStatus = () => status('');

async function main(argv: string[]): Promise<number> {
  let values: ReturnType<typeof parse>;
  try {
    values = parse(argv);
  } catch (err) {
    log(`compare: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const quick = values.quick === true;
  const msgs = values.msgs ? Number(values.msgs.replace(/_/g, '')) : quick ? 50_000 : 5_000_000;
  const jsMsgs = values['js-msgs']
    ? Number(values['js-msgs'].replace(/_/g, ''))
    : quick
      ? 10_000
      : 100_000;
  if (!Number.isInteger(jsMsgs) || jsMsgs < 100) return usage('--js-msgs must be an integer ≥ 100');
  const conns = values.conns ? Number(values.conns) : quick ? 1000 : 10_000;
  if (!Number.isInteger(msgs) || msgs < 100) return usage('--msgs must be an integer ≥ 100');
  if (!Number.isInteger(conns) || conns < 1 || conns > 15_000) {
    return usage('--conns must be an integer from 1 to 15000 (open-file limit)');
  }
  const mqttMsgs = values['mqtt-msgs']
    ? Number(values['mqtt-msgs'].replace(/_/g, ''))
    : quick
      ? 50_000
      : 1_000_000;
  if (!Number.isInteger(mqttMsgs) || mqttMsgs < 1000)
    return usage('--mqtt-msgs must be an integer ≥ 1000');
  const mqttConns = values['mqtt-conns']
    ? Number(values['mqtt-conns'].replace(/_/g, ''))
    : quick
      ? 1000
      : 50_000;
  if (!Number.isInteger(mqttConns) || mqttConns < 1)
    return usage('--mqtt-conns must be a positive integer');
  const only = values.only ? values.only.split(',').map((s) => s.trim()) : IDS;
  const unknown = only.filter((id) => !IDS.includes(id));
  if (unknown.length > 0)
    return usage(`unknown workload ${unknown.join(', ')} (one of ${IDS.join(', ')})`);

  const natsBin = ensureNatsServer(log);
  if (natsBin === null) return 1;
  const mainJs = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
  const measured: Measured = { results: {}, idle: {}, problems: [] };
  const tlsIds = CASES.filter((c) => c.tls).map((c) => c.id);
  if (only.some((id) => SINGLE_IDS.includes(id) && !tlsIds.includes(id))) {
    await runSingle(measured, only, natsBin, mainJs, msgs, conns);
  }
  if (CASES.some((c) => c.tls && only.includes(c.id))) {
    await runTls(measured, only, natsBin, mainJs, msgs);
  }
  // What every group of workloads is given.
  const group = {
    natsBin,
    mainJs,
    msgs,
    quick,
    only,
    problems: measured.problems,
    log,
    status,
    clearStatus,
    live,
  };
  if (only.some((id) => SUBJECT_IDS.includes(id))) measured.subjects = await runSubjects(group);
  if (only.some((id) => PERMISSION_IDS.includes(id))) {
    measured.permissions = await runPermissions(group);
  }
  if (only.some((id) => MESH_IDS.includes(id))) measured.mesh = await runMesh(group);

  if (only.some((id) => JS_IDS.includes(id))) {
    measured.jetstream = await runJetStreamCompare({ ...group, msgs: jsMsgs });
  }

  if (only.some((id) => MQTT_IDS.includes(id))) {
    measured.mqtt = await runMqtt({ ...group, msgs: mqttMsgs, conns: mqttConns });
  }
  if (only.some((id) => REDIS_IDS.includes(id))) {
    const n = values['redis-msgs']
      ? Number(values['redis-msgs'].replace(/_/g, ''))
      : quick
        ? 50_000
        : 1_000_000;
    if (!Number.isInteger(n) || n < 1000) return usage('--redis-msgs must be an integer ≥ 1000');
    measured.redis = await runRedis({ ...group, msgs: n });
  }
  if (only.some((id) => WS_IDS.includes(id))) measured.websocket = await runWebSocket(group);

  if (only.some((id) => SSE_IDS.includes(id))) {
    measured.sse = await runSse({ ...group, msgs: quick ? 2_000 : 50_000 });
  }

  if (only.some((id) => HTTP_IDS.includes(id))) {
    const secs = values['http-seconds'] ? Number(values['http-seconds']) : undefined;
    const rounds = values['http-rounds'] ? Number(values['http-rounds']) : undefined;
    measured.http = await runHttp({ ...group, seconds: secs, rounds });
  }

  if (only.some((id) => WEBHOOK_IDS.includes(id))) {
    const n = values['webhook-msgs']
      ? Number(values['webhook-msgs'].replace(/_/g, ''))
      : quick
        ? 1000
        : 10_000;
    if (!Number.isInteger(n) || n < 100) return usage('--webhook-msgs must be an integer ≥ 100');
    measured.webhooks = await runWebhooks({ ...group, msgs: n });
  }
  if (only.some((id) => KAFKA_IDS.includes(id))) {
    const n = values['kafka-msgs']
      ? Number(values['kafka-msgs'].replace(/_/g, ''))
      : quick
        ? 20_000
        : 1_000_000;
    if (!Number.isInteger(n) || n < 1000) return usage('--kafka-msgs must be an integer ≥ 1000');
    measured.kafka = await runKafkaCompare({ ...group, msgs: n });
  }

  const tables: string[] = [];
  if (only.some((id) => SINGLE_IDS.includes(id)))
    tables.push(renderTable(measured, only, msgs, conns));
  if (measured.subjects) tables.push(renderSubjectsTable(measured.subjects, only));
  if (measured.permissions) tables.push(renderPermissionsTable(measured.permissions));
  if (measured.mesh) tables.push(renderMeshTable(measured.mesh, only, msgs));
  if (measured.jetstream) tables.push(renderJsTable(measured.jetstream, only));
  if (measured.mqtt) tables.push(renderMqttTable(measured.mqtt, only, mqttMsgs));
  if (measured.redis) {
    const n = values['redis-msgs']
      ? Number(values['redis-msgs'].replace(/_/g, ''))
      : quick
        ? 50_000
        : 1_000_000;
    tables.push(renderRedisTable(measured.redis, only, n));
  }
  if (measured.websocket) {
    tables.push(renderWsTable(measured.websocket, natsServerVersion(natsBin)));
  }
  if (measured.sse) tables.push(renderSseTable(measured.sse));
  if (measured.http) tables.push(renderHttpTable(measured.http));
  if (measured.webhooks) tables.push(renderWebhooksTable(measured.webhooks, only));
  if (measured.kafka) tables.push(renderKafkaTable(measured.kafka, only));
  if (measured.problems.length > 0) {
    tables.push(
      ['Problems:', ...measured.problems.map((p) => `- ${p.replace(/\n/g, '\n  ')}`)].join('\n'),
    );
  }
  process.stdout.write(`${tables.join('\n\n')}\n`);
  if (values.json) {
    const doc = {
      date: new Date().toISOString(),
      machine: {
        cpus: os.availableParallelism(),
        node: process.version,
        platform: process.platform,
      },
      natsServer: natsServerVersion(natsBin),
      weft: VERSION,
      msgs,
      conns,
      ...measured,
    };
    writeFileSync(values.json, `${JSON.stringify(doc, null, 2)}\n`);
    log(`wrote ${values.json}`);
  }
  return measured.problems.length > 0 ? 1 : 0;
}

/** The single-server workloads: one nats-server, one Weft node, side by side. */
async function runSingle(
  measured: Measured,
  only: string[],
  natsBin: string,
  mainJs: string,
  msgs: number,
  conns: number,
): Promise<void> {
  const servers: Partial<Record<Side, ServerProc>> = {};
  try {
    servers.nats = await startNatsServer(natsBin);
    log(
      `nats-server ${natsServerVersion(natsBin)} on ${servers.nats.url} (pid ${servers.nats.pid})`,
    );
    try {
      // No mesh listener: the single node must not take (or fight over) port 7422.
      servers.weft = await startWeft(mainJs, ['--mesh-port', '-1']);
      log(`weft ${VERSION} on ${servers.weft.url} (pid ${servers.weft.pid})`);
    } catch (err) {
      const why = `Weft node did not start: ${(err as Error).message}`;
      measured.problems.push(why);
      log(why);
    }
    const sides = (['nats', 'weft'] as const).filter((s) => servers[s] !== undefined);

    // Memory first, on fresh servers, before the workloads grow their heaps.
    if (only.includes('idle')) {
      for (const side of sides) {
        measured.idle[side] = await measureIdle(servers[side]!, conns);
        const r = measured.idle[side]!;
        log(
          `idle ${servers[side]!.name}: ${int(r.opened)} connections, ${bytes(r.bytesPerConn)} each`,
        );
        for (const e of r.errors.slice(0, 3)) measured.problems.push(`idle ${side}: ${e}`);
      }
    }
    const cases = CASES.filter((c) => only.includes(c.id) && !c.tls);
    if (cases.length > 0) {
      // Not measured: lets V8 compile Weft's hot paths, and both servers size their buffers.
      for (const side of sides) await warmUp(servers[side]!, Math.min(msgs, 200_000));
    }
    for (const c of cases) {
      measured.results[c.id] = {};
      for (const side of sides) {
        const server = servers[side]!;
        if (server.exited()) {
          measured.problems.push(`${c.id} ${side}: server is no longer running\n${server.tail()}`);
          continue;
        }
        const r = await runCase(c, server, msgs);
        measured.results[c.id]![side] = r;
        log(`${c.id.padEnd(14)} ${server.name.padEnd(20)} ${describe(r)}`);
        if (!r.complete) {
          measured.problems.push(
            `${c.id} ${side}: ${r.ended}, ${r.errors.join('; ') || 'incomplete'}`,
          );
        }
      }
    }
  } finally {
    clearStatus();
    await Promise.all(Object.values(servers).map((s) => s?.stop()));
  }
}

/** The TLS workloads: a second nats-server and Weft node, TLS required, same certificates. */
async function runTls(
  measured: Measured,
  only: string[],
  natsBin: string,
  mainJs: string,
  msgs: number,
): Promise<void> {
  const servers = await startTlsServers(natsBin, mainJs);
  try {
    for (const p of servers.problems) {
      measured.problems.push(p);
      log(p);
    }
    const sides = (['nats', 'weft'] as const).filter((s) => servers[s] !== null);
    const tlsProc = (side: Side): ServerProc => {
      const s = servers[side]!;
      return { ...s, url: `tls://127.0.0.1:${s.port}?ca=${encodeURIComponent(servers.caFile)}` };
    };
    for (const side of sides) await warmUp(tlsProc(side), Math.min(msgs, 200_000));
    for (const c of CASES.filter((c) => c.tls && only.includes(c.id))) {
      measured.results[c.id] = {};
      for (const side of sides) {
        const server = tlsProc(side);
        if (server.exited()) {
          measured.problems.push(`${c.id} ${side}: server is no longer running\n${server.tail()}`);
          continue;
        }
        const r = await runCase(c, server, msgs);
        measured.results[c.id]![side] = r;
        log(`${c.id.padEnd(14)} ${server.name.padEnd(20)} ${describe(r)}`);
        if (!r.complete) {
          measured.problems.push(
            `${c.id} ${side}: ${r.ended}, ${r.errors.join('; ') || 'incomplete'}`,
          );
        }
      }
    }
  } finally {
    clearStatus();
    await servers.stop();
  }
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      msgs: { type: 'string' },
      'js-msgs': { type: 'string' },
      conns: { type: 'string' },
      'mqtt-msgs': { type: 'string' },
      'mqtt-conns': { type: 'string' },
      'redis-msgs': { type: 'string' },
      'http-seconds': { type: 'string' },
      'http-rounds': { type: 'string' },
      'webhook-msgs': { type: 'string' },
      'kafka-msgs': { type: 'string' },
      only: { type: 'string' },
      quick: { type: 'boolean' },
      json: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  }).values;
}

function usage(message: string): number {
  log(`compare: ${message}\n${USAGE}`);
  return 2;
}

async function runCase(c: Case, server: ServerProc, msgs: number): Promise<BenchResult> {
  const prefix = `${c.id} ${server.name}: `;
  return runBench({
    workload: c.workload,
    server: server.url,
    msgs: Math.max(100, Math.round(msgs * c.scale)),
    size: c.size,
    subs: c.subs,
    onProgress: live ? (p) => status(prefix + formatProgress(p)) : undefined,
  }).finally(clearStatus);
}

async function warmUp(server: ServerProc, msgs: number): Promise<void> {
  for (const workload of ['pubsub', 'reqrep'] as const) {
    status(`warming up ${server.name}: ${workload}`);
    await runBench({
      workload,
      server: server.url,
      msgs: workload === 'reqrep' ? Math.ceil(msgs / 100) : msgs,
      size: 16,
      subs: 1,
    }).catch(() => {});
  }
  clearStatus();
}

async function measureIdle(server: ServerProc, conns: number): Promise<IdleResult> {
  const rssBefore = readRssBytes(server.pid);
  const idle = await openIdleConnections(server.url, conns, {
    onProgress: (n) => status(`idle ${server.name}: ${int(n)}/${int(conns)} connections`),
  });
  clearStatus();
  // Let the server finish whatever it does per connection before measuring.
  await new Promise((r) => setTimeout(r, 1000));
  const rssAfter = readRssBytes(server.pid);
  const opened = idle.open();
  const errors = await idle.close();
  return {
    conns,
    opened,
    rssBefore,
    rssAfter,
    bytesPerConn: opened > 0 ? (rssAfter - rssBefore) / opened : 0,
    errors,
  };
}

function describe(r: BenchResult): string {
  const lost = r.sub && r.sub.lost > 0 ? `, lost ${int(r.sub.lost)}` : '';
  const state = r.complete ? '' : ` [${r.ended}${lost}]`;
  if (r.workload === 'reqrep') {
    const l = r.latency!;
    return `${si(r.pub.msgsPerSec)} req/s  p50 ${micros(l.p50)}  p99 ${micros(l.p99)}${state}`;
  }
  return `${si(headline(r))} msgs/s  ${(r.sub ?? r.pub).mbPerSec.toFixed(1)} MB/s  in ${(r.elapsedMs / 1000).toFixed(2)} s${state}`;
}

/** Markdown table; the ratio column is always "how many times better Weft is". */
function renderTable(m: Measured, only: string[], msgs: number, conns: number): string {
  const rows: string[][] = [];
  const cell = (r: BenchResult | undefined, value: (r: BenchResult) => string) => {
    if (r === undefined) return '—';
    const lost = r.sub && r.sub.lost > 0 ? `, ${int(r.sub.lost)} lost` : '';
    return r.complete ? value(r) : `${value(r)} ⚠ ${r.ended}${lost}`;
  };
  const ratio = (a: number | undefined, b: number | undefined) =>
    a === undefined || b === undefined || a <= 0 || b <= 0 ? '—' : `${(a / b).toFixed(2)}×`;
  for (const c of CASES.filter((c) => only.includes(c.id))) {
    const { nats, weft } = m.results[c.id] ?? {};
    if (c.workload === 'reqrep') {
      for (const q of ['p50', 'p99'] as const) {
        rows.push([
          `${c.label}, ${q} round trip (lower is better)`,
          cell(nats, (r) => micros(r.latency![q])),
          cell(weft, (r) => micros(r.latency![q])),
          ratio(nats?.latency?.[q], weft?.latency?.[q]),
        ]);
      }
      continue;
    }
    const unit = c.workload === 'pub' ? 'msgs/s published' : 'msgs/s delivered';
    rows.push([
      `${c.label} (${unit})`,
      cell(nats, (r) => si(headline(r))),
      cell(weft, (r) => si(headline(r))),
      ratio(weft && headline(weft), nats && headline(nats)),
    ]);
  }
  if (only.includes('idle')) {
    const { nats, weft } = m.idle;
    const mem = (r: IdleResult | undefined) =>
      r === undefined
        ? '—'
        : `${bytes(r.bytesPerConn)}${r.opened < r.conns ? ` ⚠ ${int(r.opened)} open` : ''}`;
    rows.push([
      `memory per idle connection, ${int(conns)} open (RSS, lower is better)`,
      mem(nats),
      mem(weft),
      ratio(nats?.bytesPerConn, weft?.bytesPerConn),
    ]);
  }
  const header = ['workload', 'nats-server', 'weft', 'weft vs nats (>1× = weft better)'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => `| ${r.map((v, i) => v.padEnd(widths[i]!)).join(' | ')} |`;
  const out = [
    line(header),
    `|${widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`,
    ...rows.map(line),
    '',
    `Throughput ratio = weft msgs/s ÷ nats msgs/s. Latency and memory ratio = nats ÷ weft,`,
    `so every ratio reads "times as good as nats-server". ${int(msgs)} msgs per throughput`,
    `workload (1 KiB: ÷4, fan-out: ÷2, request-reply: ÷100 requests); same generator for both;`,
    `${os.availableParallelism()} CPUs, Node ${process.version}.`,
  ];
  return out.join('\n');
}

// Servers are child processes: stop them however this process ends.
process.on('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    clearStatus();
    log(`compare: ${signal}, stopping servers`);
    killAll();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  });
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // Generator workers are gone; don't wait on anything a server left behind.
    setImmediate(() => process.exit(code));
  },
  (err: unknown) => {
    clearStatus();
    log(`compare: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    killAll();
    process.exit(1);
  },
);
