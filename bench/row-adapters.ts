/**
 * Adapters: each group's own measurements (its `…Measured`, unchanged) as
 * rows of the shared model (src/bench/rows.ts), one sample per row per
 * round. Groups keep measuring and rendering their own tables as before;
 * compare.ts calls the adapter after every round. Rows are found from the
 * results themselves (every key a group filled), so a row another helper
 * adds to a group shows up here without an edit; known ids get a label.
 *
 * Row ids: the group's workload id, with `.p50`/`.p99`/`.cpu`/… for a second
 * figure of the same run, and `@<side>` when a workload has a second
 * reference (JetStream's "sync always" nats-server).
 */

import type { JsResult } from '../src/bench/jetstream.js';
import type { MqttBenchResult } from '../src/bench/mqtt-runner.js';
import type { Better, RowSample } from '../src/bench/rows.js';
import { type BenchResult, headline } from '../src/bench/runner.js';
import type { HttpMeasured } from './http.js';
import { type JsMeasured, jsLabel } from './jetstream.js';
import { type KafkaMeasured, kafkaLabel } from './kafka.js';
import { MESH_CASES, type MeshMeasured } from './mesh.js';
import { type MqttMeasured, mqttLabel } from './mqtt.js';
import type { PermissionsMeasured } from './permissions.js';
import { ROWS as REDIS_ROWS, type RedisMeasured } from './redis.js';
import type { SseMeasured } from './sse.js';
import type { SubjectsMeasured } from './subjects.js';
import type { WebhookMeasured } from './webhooks.js';
import type { WsMeasured } from './websocket.js';

type Values = { refValue?: number; weftValue?: number; warning?: string };

function sample(
  id: string,
  label: string,
  unit: string,
  ref: string,
  better: Better,
  v: Values,
): RowSample {
  const s: RowSample = { id, label, unit, ref, better };
  if (v.refValue !== undefined) s.refValue = v.refValue;
  if (v.weftValue !== undefined) s.weftValue = v.weftValue;
  if (v.warning !== undefined) s.warning = v.warning;
  return s;
}

/** "weft: stalled, 12 lost" when a run was not clean. */
function warnOf(
  sides: Record<string, { complete: boolean; ended: string; lost?: number } | undefined>,
) {
  const bad = Object.entries(sides)
    .filter(([, r]) => r !== undefined && !r.complete)
    .map(([side, r]) => `${side}: ${r!.ended}${r!.lost ? `, ${r!.lost} lost` : ''}`);
  return bad.length > 0 ? bad.join('; ') : undefined;
}

const benchWarn = (r: BenchResult | undefined) =>
  r === undefined ? undefined : { complete: r.complete, ended: r.ended, lost: r.sub?.lost ?? 0 };

/** A load-generator run as rows: msgs/s, or for request-reply its p50 and p99 round trip. */
export function benchRows(
  id: string,
  label: string,
  ref: string,
  nats: BenchResult | undefined,
  weft: BenchResult | undefined,
): RowSample[] {
  const warning = warnOf({ [ref]: benchWarn(nats), weft: benchWarn(weft) });
  const w = warning === undefined ? {} : { warning };
  if ((nats ?? weft)?.workload === 'reqrep') {
    return (['p50', 'p99'] as const).map((q) =>
      sample(`${id}.${q}`, `${label}, ${q} round trip`, 'µs', ref, 'lower', {
        ...w,
        ...(nats?.latency ? { refValue: nats.latency[q] } : {}),
        ...(weft?.latency ? { weftValue: weft.latency[q] } : {}),
      }),
    );
  }
  const unit = (nats ?? weft)?.workload === 'pub' ? 'msgs/s published' : 'msgs/s delivered';
  return [
    sample(id, label, unit, ref, 'higher', {
      ...w,
      ...(nats ? { refValue: headline(nats) } : {}),
      ...(weft ? { weftValue: headline(weft) } : {}),
    }),
  ];
}

export function subjectsRows(m: SubjectsMeasured): RowSample[] {
  const out: RowSample[] = [];
  for (const [id, { nats, weft }] of Object.entries(m.spread)) {
    out.push(...benchRows(id, id, 'nats-server', nats, weft));
    out.push(
      sample(`${id}.cpu`, `${id}, server CPU per message`, 'µs', 'nats-server', 'lower', {
        ...(nats ? { refValue: nats.cpuUsPerMsg } : {}),
        ...(weft ? { weftValue: weft.cpuUsPerMsg } : {}),
      }),
    );
  }
  const { nats, weft } = m.storm;
  if (nats || weft) {
    const bad = [nats, weft].some((r) => r !== undefined && r.delivered !== r.due);
    out.push(
      sample('sub-storm', 'wildcard SUB+UNSUB storm, full cache', 'ms', 'nats-server', 'lower', {
        ...(nats ? { refValue: nats.stormMs } : {}),
        ...(weft ? { weftValue: weft.stormMs } : {}),
        ...(bad ? { warning: 'not every storm delivery arrived' } : {}),
      }),
    );
  }
  return out;
}

export function permissionsRows(m: PermissionsMeasured): RowSample[] {
  const ref = 'weft, no permissions';
  const label = `pub/sub 1→1 16 B as a user with ${m.rules} rules per direction`;
  return [
    ...benchRows('perms-100', label, ref, m.runs.open, m.runs.ruled),
    sample('perms-100.cpu', `${label}, server CPU per message`, 'µs', ref, 'lower', {
      ...(m.cpuUsPerMsg.open !== undefined ? { refValue: m.cpuUsPerMsg.open } : {}),
      ...(m.cpuUsPerMsg.ruled !== undefined ? { weftValue: m.cpuUsPerMsg.ruled } : {}),
    }),
  ];
}

export function meshRows(m: MeshMeasured): RowSample[] {
  const out: RowSample[] = [];
  const ref = 'nats-server cluster of 2';
  for (const [id, { nats, weft }] of Object.entries(m.results)) {
    const label = MESH_CASES.find((c) => c.id === id)?.label ?? id;
    out.push(...benchRows(id, label, ref, nats, weft));
  }
  const chain = m.results['mesh-chain3']?.weft;
  const oneLink = m.results['mesh-pubsub']?.weft ?? m.weftOneLink;
  if (chain !== undefined && oneLink !== undefined) {
    out.push(
      ...benchRows(
        'mesh-chain3.vs-1-link',
        "chain of 3 against Weft's own 1 link, 16 B",
        'weft, 1 link',
        oneLink,
        chain,
      ),
    );
  }
  for (const q of ['p50', 'max'] as const) {
    const { nats, weft } = m.interest;
    if (nats === undefined && weft === undefined) break;
    const v = (r: typeof nats) => (r && r.stats.samples > 0 ? r.stats[q] : undefined);
    const missed = (nats?.misses ?? 0) + (weft?.misses ?? 0);
    out.push(
      sample(
        `mesh-interest.${q}`,
        `interest propagation SUB → first delivery, ${q}`,
        'ms',
        ref,
        'lower',
        {
          ...(v(nats) !== undefined ? { refValue: v(nats)! } : {}),
          ...(v(weft) !== undefined ? { weftValue: v(weft)! } : {}),
          ...(missed > 0 ? { warning: `${missed} trials missed` } : {}),
        },
      ),
    );
  }
  return out;
}

const JS_REFS: Record<string, string> = {
  nats: 'nats-server -js',
  natsSync: 'nats-server -js, sync always',
};

/** Every JetStream key against every reference side it has (nats, and natsSync when measured). */
export function jetstreamRows(m: JsMeasured): RowSample[] {
  const out: RowSample[] = [];
  for (const [key, sides] of Object.entries(m.results)) {
    const all = sides as Record<string, JsResult | undefined>;
    const weft = all['weft'];
    for (const side of Object.keys(all).filter((s) => s !== 'weft')) {
      const ref = all[side];
      const id = side === 'nats' ? key : `${key}@${side}`;
      const refName = JS_REFS[side] ?? `nats-server (${side})`;
      const label = jsLabel(key);
      const warning = warnOf({ [side]: ref, weft });
      const w = warning === undefined ? {} : { warning };
      const unit = key.startsWith('js-pub') ? 'acks/s' : 'msgs/s consumed';
      out.push(
        sample(id, label, unit, refName, 'higher', {
          ...w,
          ...(ref ? { refValue: ref.msgsPerSec } : {}),
          ...(weft ? { weftValue: weft.msgsPerSec } : {}),
        }),
      );
      if (ref?.latency || weft?.latency) {
        for (const q of ['p50', 'p99'] as const) {
          out.push(
            sample(`${id}.${q}`, `${label}, ${q} publish → ack`, 'µs', refName, 'lower', {
              ...w,
              ...(ref?.latency ? { refValue: ref.latency[q] } : {}),
              ...(weft?.latency ? { weftValue: weft.latency[q] } : {}),
            }),
          );
        }
      }
    }
  }
  return out;
}

export function mqttRows(m: MqttMeasured): RowSample[] {
  const out: RowSample[] = [];
  const ref = 'mosquitto';
  for (const [id, sides] of Object.entries(m.results)) {
    const { mosquitto, weft } = sides as Partial<Record<'mosquitto' | 'weft', MqttBenchResult>>;
    const warning = warnOf({ mosquitto, weft });
    out.push(
      sample(id, mqttLabel(id), 'msgs/s delivered', ref, 'higher', {
        ...(warning === undefined ? {} : { warning }),
        ...(mosquitto ? { refValue: mosquitto.msgsPerSec } : {}),
        ...(weft ? { weftValue: weft.msgsPerSec } : {}),
      }),
    );
    const cpu = m.cpuUsPerMsg[id] ?? {};
    out.push(
      sample(`${id}.cpu`, `${mqttLabel(id)}, server CPU per message`, 'µs', ref, 'lower', {
        ...(cpu.mosquitto !== undefined ? { refValue: cpu.mosquitto } : {}),
        ...(cpu.weft !== undefined ? { weftValue: cpu.weft } : {}),
      }),
    );
  }
  const { mosquitto, weft } = m.idle;
  if (mosquitto || weft) {
    const short = [mosquitto, weft].some((r) => r !== undefined && r.opened < r.conns);
    out.push(
      sample('mqtt-idle', 'MQTT memory per idle connection (RSS)', 'B', ref, 'lower', {
        ...(mosquitto ? { refValue: mosquitto.bytesPerConn } : {}),
        ...(weft ? { weftValue: weft.bytesPerConn } : {}),
        ...(short ? { warning: 'not every connection opened' } : {}),
      }),
    );
  }
  return out;
}

export function redisRows(m: RedisMeasured): RowSample[] {
  const out: RowSample[] = [];
  const ref = 'redis-server';
  for (const [id, { redis, weft }] of Object.entries(m.results)) {
    const row = REDIS_ROWS.find((r) => r.id === id);
    const label = row?.label ?? id;
    const warning = warnOf({ redis, weft });
    out.push(
      sample(id, label, row?.unit ?? 'ops/s', ref, 'higher', {
        ...(warning === undefined ? {} : { warning }),
        ...(redis ? { refValue: redis.perSec } : {}),
        ...(weft ? { weftValue: weft.perSec } : {}),
      }),
    );
    const cpu = m.cpuUs[id] ?? {};
    out.push(
      sample(`${id}.cpu`, `${label}, server CPU per operation`, 'µs', ref, 'lower', {
        ...(cpu.redis !== undefined ? { refValue: cpu.redis } : {}),
        ...(cpu.weft !== undefined ? { weftValue: cpu.weft } : {}),
      }),
    );
  }
  return out;
}

/** Kafka face against Weft's own JetStream (the NATS face), as bench/kafka.ts compares them. */
export function kafkaRows(m: KafkaMeasured): RowSample[] {
  const ref = 'weft JetStream (NATS face)';
  const jsMean = (key: string) => {
    const runs = [m.js[`${key}-before`], m.js[`${key}-after`]].filter(
      (r): r is JsResult => r !== undefined,
    );
    return runs.length === 0 ? undefined : runs.reduce((a, r) => a + r.msgsPerSec, 0) / runs.length;
  };
  const out: RowSample[] = [];
  const add = (
    id: string,
    r: { msgsPerSec: number; complete: boolean; ended: string },
    js: number | undefined,
  ) =>
    out.push(
      sample(id, kafkaLabel(id), 'records/s', ref, 'higher', {
        weftValue: r.msgsPerSec,
        ...(js !== undefined ? { refValue: js } : {}),
        ...(r.complete ? {} : { warning: `kafka: ${r.ended}` }),
      }),
    );
  // Each produce row has its own bracket of JetStream runs (bench/kafka.ts).
  for (const [key, r] of Object.entries(m.produce)) add(key, r, jsMean(key));
  for (const [key, r] of Object.entries(m.consume)) add(key, r, jsMean('js-consume-pull-100'));
  if (m.group) add('kafka-group', m.group, jsMean('js-consume-pull-100'));
  for (const c of m.codec) {
    out.push(
      sample(
        `kafka-codec.${slug(c.name)}`,
        `Kafka codec in process: ${c.name}`,
        `${c.unit}/s`,
        '',
        'higher',
        { weftValue: c.perSec },
      ),
    );
  }
  return out;
}

/** 'RecordBatch encode, 100 records of 100 B' → 'recordbatch-encode-100-records-of-100-b'. */
const slug = (name: string) =>
  name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');

/** WebSocket: its own rounds (alternating servers) become samples. */
export function wsRows(m: WsMeasured): RowSample[] {
  const out: RowSample[] = [];
  const n = Math.max(m.rounds.nats?.length ?? 0, m.rounds.weft?.length ?? 0);
  for (let i = 0; i < n; i++) {
    out.push(
      ...benchRows(
        'ws-pubsub',
        'NATS over WebSocket 1→1, 16 B',
        'nats-server',
        m.rounds.nats?.[i],
        m.rounds.weft?.[i],
      ),
    );
    const rc = m.cpuUs.nats?.[i];
    const wc = m.cpuUs.weft?.[i];
    out.push(
      sample(
        'ws-pubsub.cpu',
        'NATS over WebSocket, server CPU per message',
        'µs',
        'nats-server',
        'lower',
        {
          ...(rc !== undefined ? { refValue: rc } : {}),
          ...(wc !== undefined ? { weftValue: wc } : {}),
        },
      ),
    );
  }
  return out;
}

/** HTTP publish: its own rounds (bare node:http, then Weft) become samples. */
export function httpRows(m: HttpMeasured): RowSample[] {
  const bare = m.rounds.filter((r) => r.side === 'bare');
  const weft = m.rounds.filter((r) => r.side === 'weft');
  const out: RowSample[] = [];
  const ref = 'bare node:http';
  for (let i = 0; i < Math.max(bare.length, weft.length); i++) {
    const b = bare[i];
    const w = weft[i];
    out.push(
      sample('http-pub', 'HTTP POST /v1/publish, keep-alive, 16 B', 'req/s', ref, 'higher', {
        ...(b ? { refValue: b.rps } : {}),
        ...(w ? { weftValue: w.rps } : {}),
      }),
      sample('http-pub.cpu', 'HTTP publish, server CPU per request', 'µs', ref, 'lower', {
        ...(b ? { refValue: b.cpuUsPerReq } : {}),
        ...(w ? { weftValue: w.cpuUsPerReq } : {}),
      }),
    );
  }
  return out;
}

/** SSE has no reference (nats-server has no SSE): Weft's value only. */
export function sseRows(m: SseMeasured): RowSample[] {
  return m.rounds.map((rate) =>
    sample('sse-fanout', 'SSE delivery to subscribers', 'msgs/s delivered', '', 'higher', {
      weftValue: rate,
    }),
  );
}

/** Webhooks have no reference either. */
export function webhookRows(m: WebhookMeasured): RowSample[] {
  const out: RowSample[] = [];
  for (const [id, rates] of Object.entries(m.rates)) {
    for (const rate of rates) out.push(sample(id, id, 'msgs/s', '', 'higher', { weftValue: rate }));
  }
  return out;
}
