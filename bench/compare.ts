/**
 * `npm run bench`: Weft against the reference servers (nats-server, mosquitto,
 * redis-server, …), same machine, same load generator. Every group of
 * workloads reports rows of one model (src/bench/rows.ts, adapters in
 * bench/row-adapters.ts); each row is measured --rounds times and printed as
 * its median ratio with the min–max of the rounds. --check compares the
 * medians with the ratios recorded in BENCHMARKS.md; --record rewrites them.
 *
 *   node dist/bench/compare.js [--rounds N] [--check | --record] [--only a,b] [--quick] …
 */

import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  checkRows,
  mergeRecorded,
  parseRecorded,
  type Recorded,
  renderCheck,
  replaceRecorded,
} from '../src/bench/recorded.js';
import { type RowSample, renderRows, summarize } from '../src/bench/rows.js';
import { VERSION } from '../src/version.js';
import { HTTP_IDS, renderHttpTable, runHttp } from './http.js';
import { JS_IDS, renderJsTable, runJetStreamCompare } from './jetstream.js';
import { KAFKA_IDS, renderKafkaTable, runKafkaCompare } from './kafka.js';
import { MEMORY_IDS, memoryRows, runMemory } from './memory.js';
import { MESH_IDS, renderMeshTable, runMesh } from './mesh.js';
import { MQTT_IDS, renderMqttTable, runMqtt } from './mqtt.js';
import { PERMISSION_IDS, renderPermissionsTable, runPermissions } from './permissions.js';
import { REDIS_IDS, renderRedisTable, runRedis } from './redis.js';
import {
  httpRows,
  jetstreamRows,
  kafkaRows,
  meshRows,
  mqttRows,
  permissionsRows,
  redisRows,
  sseRows,
  subjectsRows,
  webhookRows,
  wsRows,
} from './row-adapters.js';
import { ensureNatsServer, killAll, natsServerVersion } from './servers.js';
import {
  CASES,
  newSingleMeasured,
  renderTable,
  runSingle,
  runTls,
  SINGLE_IDS,
  type SingleContext,
} from './single.js';
import { renderSseTable, runSse, SSE_IDS } from './sse.js';
import { renderSubjectsTable, runSubjects, SUBJECT_IDS } from './subjects.js';
import { renderWebhooksTable, runWebhooks, WEBHOOK_IDS } from './webhooks.js';
import { renderWsTable, runWebSocket, WS_IDS } from './websocket.js';

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
  ...MEMORY_IDS,
];

/** Where the recorded ratios live: BENCHMARKS.md at the repository's root. */
const RECORDED_FILE = fileURLToPath(new URL('../../BENCHMARKS.md', import.meta.url));
const REPO = fileURLToPath(new URL('../..', import.meta.url));

const USAGE = `Usage: node dist/bench/compare.js [flags]   (or: npm run bench -- [flags])

Runs every workload against nats-server and against a Weft node, both started
here on free loopback ports, with the same load generator, and prints one
table of every row: Weft / reference, the median ratio over --rounds rounds
and its min–max (the noise band). Each group's own table goes to stderr.
The subject-index workloads (many distinct subjects, 1,000 wildcard patterns,
a wildcard SUB/UNSUB storm with health PINGs) follow on fresh servers.
The permissions workload (perms-100) runs 1→1 pub/sub on a Weft node as a
user with 100 rules per direction and as one without permissions.
The mesh workloads then start a 2-node nats-server cluster and Weft chains of
2, 3 and 5 nodes (one topology at a time), publisher and subscriber on
different nodes. The JetStream workloads then start
nats-server -js and a Weft node (file streams, each with its default sync
policy). The MQTT workloads then start mosquitto and a
Weft node with --mqtt-port (rows of a missing server are skipped with a line
saying why); the Redis rows start redis-server. The WebSocket workload (ws-pubsub) then
starts nats-server with its websocket listener and a Weft node with
--websocket-port: NATS over WebSocket 1→1, 16 B. Then SSE, HTTP, webhooks,
the Kafka face, and last the memory rows (memory: RSS at idle, per idle
connection, per subscription and per stored message, each on a fresh
nats-server -js and Weft node, RSS polled until it settles; bench/README.md).

Flags:
  --msgs N        messages per throughput workload (default 5000000; the 1 KiB
                  case uses N/4, fan-out N/2, request-reply N/100 requests;
                  mesh: 16 B N/2, 1 KiB N/8)
  --js-msgs N     JetStream messages (default 100000; js-pub-sync uses N/20;
                  the consumers drain a stream pre-filled with N)
  --conns N       idle connections for the idle and memory rows (default 10000)
  --mem-subs N    memory: distinct subscriptions on one connection (default 100000)
  --mem-msgs N    memory: 16 B messages stored in one file stream (default 1000000)
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
  --rounds N      measure every row N times (default 3; --quick: 1): the
                  single-server rows alternate nats, weft, nats, weft … per
                  row; the other groups run N times in turn (ws-pubsub,
                  http-pub, sse-fanout and webhooks use their own rounds)
  --check         after the run, compare each row's median ratio with its
                  recorded ratio (BENCHMARKS.md, "Recorded ratios (bench
                  --check reads this)"); exit 1 when one is more than 10 %
                  below it. A row with no recorded ratio is listed, not failed
  --record        after the run, write this run's median ratios into that
                  table (rows not run keep theirs); --note TEXT goes with them
  --recorded FILE read/write the recorded ratios here (default BENCHMARKS.md)
  --tables        also print each group's own table (last round) on stdout
  --quick         small counts, for a smoke run
  --json FILE     also write every measurement to FILE
  -h, --help      show this help`;

const log = (line: string) => process.stderr.write(`${line}\n`);
const live = process.stderr.isTTY === true;
const status = (text: string) => {
  if (live) process.stderr.write(`\r${text}\x1b[K`);
};
const clearStatus = () => status('');

const count = (v: string | undefined, fallback: number) =>
  v === undefined ? fallback : Number(v.replace(/_/g, ''));

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
  const msgs = count(values.msgs, quick ? 50_000 : 5_000_000);
  const jsMsgs = count(values['js-msgs'], quick ? 10_000 : 100_000);
  if (!Number.isInteger(jsMsgs) || jsMsgs < 100) return usage('--js-msgs must be an integer ≥ 100');
  const conns = count(values.conns, quick ? 1000 : 10_000);
  if (!Number.isInteger(msgs) || msgs < 100) return usage('--msgs must be an integer ≥ 100');
  if (!Number.isInteger(conns) || conns < 1 || conns > 15_000) {
    return usage('--conns must be an integer from 1 to 15000 (open-file limit)');
  }
  const mqttMsgs = count(values['mqtt-msgs'], quick ? 50_000 : 1_000_000);
  if (!Number.isInteger(mqttMsgs) || mqttMsgs < 1000)
    return usage('--mqtt-msgs must be an integer ≥ 1000');
  const mqttConns = count(values['mqtt-conns'], quick ? 1000 : 50_000);
  if (!Number.isInteger(mqttConns) || mqttConns < 1)
    return usage('--mqtt-conns must be a positive integer');
  const redisMsgs = count(values['redis-msgs'], quick ? 50_000 : 1_000_000);
  if (!Number.isInteger(redisMsgs) || redisMsgs < 1000)
    return usage('--redis-msgs must be an integer ≥ 1000');
  const webhookMsgs = count(values['webhook-msgs'], quick ? 1000 : 10_000);
  if (!Number.isInteger(webhookMsgs) || webhookMsgs < 100)
    return usage('--webhook-msgs must be an integer ≥ 100');
  const kafkaMsgs = count(values['kafka-msgs'], quick ? 20_000 : 1_000_000);
  if (!Number.isInteger(kafkaMsgs) || kafkaMsgs < 1000)
    return usage('--kafka-msgs must be an integer ≥ 1000');
  const memSubs = count(values['mem-subs'], quick ? 10_000 : 100_000);
  const memMsgs = count(values['mem-msgs'], quick ? 50_000 : 1_000_000);
  if (!Number.isInteger(memSubs) || memSubs < 100)
    return usage('--mem-subs must be an integer ≥ 100');
  if (!Number.isInteger(memMsgs) || memMsgs < 1000)
    return usage('--mem-msgs must be an integer ≥ 1000');
  const rounds = count(values.rounds, quick ? 1 : 3);
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > 50) {
    return usage('--rounds must be an integer from 1 to 50');
  }
  if (values.check && values.record) return usage('--check and --record do not go together');
  const only = values.only ? values.only.split(',').map((s) => s.trim()) : IDS;
  const unknown = only.filter((id) => !IDS.includes(id));
  if (unknown.length > 0)
    return usage(`unknown workload ${unknown.join(', ')} (one of ${IDS.join(', ')})`);

  // Read the recorded ratios before measuring: a malformed table fails at once, not after an hour.
  const recordedFile = values.recorded ?? RECORDED_FILE;
  let recorded = new Map<string, Recorded>();
  if (values.check || values.record) {
    try {
      recorded = parseRecorded(readFileSync(recordedFile, 'utf8'));
    } catch (err) {
      log(`compare: ${recordedFile}: ${(err as Error).message}`);
      return 2;
    }
  }

  const natsBin = ensureNatsServer(log);
  if (natsBin === null) return 1;
  const mainJs = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
  const problems: string[] = [];
  const samples: RowSample[] = [];
  /** Each group's measurements, one entry per round (for --json). */
  const groups: Record<string, unknown[]> = {};
  /** Each group's own table of its last round (for --tables). */
  const tables = new Map<string, string>();
  const single = newSingleMeasured();
  const singleCtx: SingleContext = {
    natsBin,
    mainJs,
    msgs,
    conns,
    rounds,
    only,
    problems,
    samples,
    log,
    status,
    clearStatus,
    live,
  };
  const tlsIds = CASES.filter((c) => c.tls).map((c) => c.id);
  if (only.some((id) => SINGLE_IDS.includes(id) && !tlsIds.includes(id))) {
    await runSingle(singleCtx, single);
  }
  if (CASES.some((c) => c.tls && only.includes(c.id))) await runTls(singleCtx, single);
  if (only.some((id) => SINGLE_IDS.includes(id))) {
    groups['single'] = [single];
    tables.set('single', renderTable(single, only, msgs, conns));
    log(`\n${tables.get('single')}\n`);
  }

  // What every group of workloads is given.
  const group = { natsBin, mainJs, msgs, quick, only, problems, log, status, clearStatus, live };
  /** Runs a group `times` times in turn, its rows into the samples, its table to stderr. */
  async function repeat<T>(
    name: string,
    ids: string[],
    times: number,
    run: () => Promise<T>,
    rows: (m: T) => RowSample[],
    render: (m: T) => string,
  ): Promise<void> {
    if (!only.some((id) => ids.includes(id))) return;
    for (let r = 1; r <= times; r++) {
      if (times > 1) log(`${name}: round ${r}/${times}`);
      const m = await run();
      const kept = groups[name] ?? [];
      kept.push(m);
      groups[name] = kept;
      // Rows a group measured but --only did not ask for are left out (e.g. mesh-chain3's baseline).
      const base = (id: string) => id.split(/[.@]/)[0]!;
      samples.push(...rows(m).filter((s) => only.some((o) => base(s.id).startsWith(o))));
      const table = render(m);
      tables.set(name, table);
      log(`\n${table}\n`);
    }
  }
  await repeat(
    'subjects',
    SUBJECT_IDS,
    rounds,
    () => runSubjects(group),
    subjectsRows,
    (m) => renderSubjectsTable(m, only),
  );
  await repeat(
    'permissions',
    PERMISSION_IDS,
    rounds,
    () => runPermissions(group),
    permissionsRows,
    renderPermissionsTable,
  );
  await repeat(
    'mesh',
    MESH_IDS,
    rounds,
    () => runMesh(group),
    meshRows,
    (m) => renderMeshTable(m, only, msgs),
  );
  await repeat(
    'jetstream',
    JS_IDS,
    rounds,
    () => runJetStreamCompare({ ...group, msgs: jsMsgs }),
    jetstreamRows,
    (m) => renderJsTable(m, only),
  );
  await repeat(
    'mqtt',
    MQTT_IDS,
    rounds,
    () => runMqtt({ ...group, msgs: mqttMsgs, conns: mqttConns }),
    mqttRows,
    (m) => renderMqttTable(m, only, mqttMsgs),
  );
  await repeat(
    'redis',
    REDIS_IDS,
    rounds,
    () => runRedis({ ...group, msgs: redisMsgs }),
    redisRows,
    (m) => renderRedisTable(m, only, redisMsgs),
  );
  // These four take their rounds inside (alternating the servers); each round is a sample.
  await repeat(
    'websocket',
    WS_IDS,
    1,
    () => runWebSocket(group),
    wsRows,
    (m) => renderWsTable(m, natsServerVersion(natsBin)),
  );
  await repeat(
    'sse',
    SSE_IDS,
    1,
    () => runSse({ ...group, msgs: quick ? 2_000 : 50_000 }),
    sseRows,
    renderSseTable,
  );
  const httpSeconds = values['http-seconds'] ? Number(values['http-seconds']) : undefined;
  const httpRounds = values['http-rounds'] ? Number(values['http-rounds']) : rounds;
  await repeat(
    'http',
    HTTP_IDS,
    1,
    () => runHttp({ ...group, seconds: httpSeconds, rounds: httpRounds }),
    httpRows,
    renderHttpTable,
  );
  await repeat(
    'webhooks',
    WEBHOOK_IDS,
    1,
    () => runWebhooks({ ...group, msgs: webhookMsgs }),
    webhookRows,
    (m) => renderWebhooksTable(m, only),
  );
  await repeat(
    'kafka',
    KAFKA_IDS,
    rounds,
    () => runKafkaCompare({ ...group, msgs: kafkaMsgs }),
    kafkaRows,
    (m) => renderKafkaTable(m, only),
  );
  if (only.includes('memory')) {
    const m = await runMemory({
      natsBin,
      mainJs,
      rounds,
      conns,
      subs: memSubs,
      storeMsgs: memMsgs,
      problems,
      log,
      status,
      clearStatus,
    });
    groups['memory'] = [m];
    samples.push(...memoryRows(m));
  }

  const rows = summarize(samples);
  const load = os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');
  const out: string[] = [
    renderRows(rows),
    '',
    `Ratio = weft ÷ reference when higher is better, reference ÷ weft when lower is better:`,
    `every ratio reads "times as good as the reference". Median of ${rounds} round${rounds > 1 ? 's' : ''}`,
    `(the ratio of each round's pair, then the median); min–max is the band of those ratios.`,
    `${os.availableParallelism()} CPUs, load average ${load}, Node ${process.version}, nats-server ${natsServerVersion(natsBin)}, weft ${VERSION}.`,
  ];
  if (values.tables) out.push('', ...[...tables.values()].flatMap((t) => [t, '']));
  let failed = false;
  if (values.check) {
    const result = checkRows(rows, recorded);
    out.push('', renderCheck(result));
    failed = result.failed;
  }
  if (problems.length > 0) {
    out.push('', 'Problems:', ...problems.map((p) => `- ${p.replace(/\n/g, '\n  ')}`));
  }
  process.stdout.write(`${out.join('\n')}\n`);
  if (values.record) {
    // The counts a ratio was measured at go with it: --check should be run at the same ones.
    const counts = Object.entries(values)
      .filter(([k, v]) => typeof v === 'string' && /msgs|conns|subs|seconds/.test(k))
      .map(([k, v]) => `--${k} ${v}`);
    if (quick) counts.unshift('--quick');
    const fresh = freshRecords(rows, rounds, load, values.note, counts);
    const text = replaceRecorded(
      readFileSync(recordedFile, 'utf8'),
      mergeRecorded(recorded, fresh),
    );
    writeFileSync(recordedFile, text);
    log(`recorded ${fresh.length} ratios in ${recordedFile}`);
  }
  if (values.json) {
    const doc = {
      date: new Date().toISOString(),
      machine: {
        cpus: os.availableParallelism(),
        node: process.version,
        platform: process.platform,
        loadavg: os.loadavg(),
      },
      natsServer: natsServerVersion(natsBin),
      weft: VERSION,
      msgs,
      conns,
      rounds,
      rows,
      samples,
      groups,
      problems,
    };
    writeFileSync(values.json, `${JSON.stringify(doc, null, 2)}\n`);
    log(`wrote ${values.json}`);
  }
  return problems.length > 0 || failed ? 1 : 0;
}

/** This run's median ratios as recorded entries: today, HEAD's short hash, what the run was. */
function freshRecords(
  rows: ReturnType<typeof summarize>,
  rounds: number,
  load: string,
  note: string | undefined,
  counts: string[],
): Recorded[] {
  const date = new Date().toISOString().slice(0, 10);
  let commit = '-';
  let dirty = false;
  try {
    const git = (args: string[]) =>
      execFileSync('git', args, {
        cwd: REPO,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      }).trim();
    commit = git(['rev-parse', '--short', 'HEAD']);
    dirty = git(['status', '--porcelain', '--untracked-files=no']) !== '';
  } catch {}
  const what =
    note ??
    [
      `${rounds} round${rounds > 1 ? 's' : ''}`,
      counts.length > 0 ? counts.join(' ') : 'default counts',
      `load ${load.split(' ')[0]}`,
      ...(dirty ? ['uncommitted changes'] : []),
    ].join(', ');
  return rows
    .filter((r) => r.ratio !== undefined)
    .map((r) => ({ id: r.id, ratio: Number(r.ratio!.toFixed(3)), date, commit, note: what }));
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
      'mem-subs': { type: 'string' },
      'mem-msgs': { type: 'string' },
      rounds: { type: 'string' },
      check: { type: 'boolean' },
      record: { type: 'boolean' },
      recorded: { type: 'string' },
      note: { type: 'string' },
      tables: { type: 'boolean' },
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
