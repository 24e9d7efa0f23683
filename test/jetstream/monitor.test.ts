/**
 * JetStream in the monitoring endpoints: `/jsz` and `/varz`'s `jetstream`
 * with nats-server's fields (against Weft or, with
 * WEFT_TEST_TARGET=nats-server, `nats-server -js -m`), and Weft's stream and
 * consumer series in `/metrics`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  AckPolicy,
  connect,
  type JetStreamClient,
  type JetStreamManager,
  type NatsConnection,
  StringCodec,
} from 'nats';
import { Registry } from 'prom-client';
import { startServer } from '../../src/index.js';
import { addJetStreamMetrics } from '../../src/monitor/jetstream-metrics.js';
import { monitorJson, onlyOn } from '../helpers/harness.js';
import { closeJs, type JsData, type JsTarget, jsData, openJs } from './target.js';

const sc = StringCodec();

type Json = Record<string, unknown>;

interface AccountDetail extends Json {
  name: string;
  stream_detail?: StreamDetail[];
}

interface StreamDetail extends Json {
  name: string;
  config?: Json;
  state: { messages: number; bytes: number; first_seq: number; last_seq: number };
  consumer_detail?: (Json & { name: string; num_pending: number; config?: Json })[];
}

describe('JetStream monitoring', () => {
  let data: JsData;
  let srv: JsTarget;
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  let js: JetStreamClient;

  before(async () => {
    data = await jsData();
    ({ srv, nc, jsm, js } = await openJs(data));
    await jsm.streams.add({ name: 'MON', subjects: ['mon.>'] });
    await jsm.streams.add({ name: 'MEM', subjects: ['mem.>'], storage: 'memory' as never });
    for (let i = 1; i <= 3; i++) await js.publish(`mon.${i}`, sc.encode('abc'));
    await js.publish('mem.1', sc.encode('x'));
    await jsm.consumers.add('MON', { durable_name: 'D', ack_policy: AckPolicy.Explicit });
    // An ephemeral too (with nats-server's default inactivity threshold: lives through the test).
    await jsm.consumers.add('MON', { ack_policy: AckPolicy.Explicit });
  });
  after(() => closeJs({ srv, nc }, data));

  test('/jsz: totals with nats-server’s fields', async () => {
    const j = await monitorJson<Json>(srv, '/jsz');
    assert.equal(typeof j.server_id, 'string');
    assert.equal(typeof j.now, 'string');
    const config = j.config as Json;
    assert.equal(typeof config.max_memory, 'number');
    assert.equal(typeof config.max_storage, 'number');
    assert.equal(typeof config.store_dir, 'string');
    assert.equal(j.streams, 2);
    assert.equal(j.consumers, 2);
    assert.equal(j.messages, 4);
    const bytes = j.bytes as number;
    assert.ok(bytes > 0);
    assert.ok((j.storage as number) > 0 && (j.memory as number) > 0);
    assert.equal((j.storage as number) + (j.memory as number), bytes);
    assert.equal(j.accounts, 1);
    const api = j.api as { total: number; errors: number };
    assert.ok(api.total >= 5, `api.total ${api.total}`);
    assert.equal(typeof api.errors, 'number');
    assert.equal(j.account_details, undefined);
  });

  test('/jsz?consumers=1&config=1: each stream and consumer', async () => {
    const j = await monitorJson<{ account_details: AccountDetail[] }>(
      srv,
      '/jsz?consumers=1&config=1',
    );
    const acc = j.account_details.find((a) => a.name === '$G');
    assert.ok(acc !== undefined);
    const mon = acc.stream_detail?.find((s) => s.name === 'MON');
    assert.ok(mon !== undefined);
    assert.equal(mon.state.messages, 3);
    assert.equal(mon.state.first_seq, 1);
    assert.equal(mon.state.last_seq, 3);
    assert.equal((mon.config as Json).name, 'MON');
    const d = mon.consumer_detail?.find((c) => c.name === 'D');
    assert.ok(d !== undefined);
    assert.equal(d.num_pending, 3);
    assert.equal(d.num_ack_pending, 0);
    assert.equal((d.config as Json).durable_name, 'D');
    assert.equal(mon.consumer_detail?.length, 2);
    // Without config=1, no configs.
    const plain = await monitorJson<{ account_details: AccountDetail[] }>(srv, '/jsz?streams=1');
    const s = plain.account_details[0]!.stream_detail!.find((x) => x.name === 'MON')!;
    assert.equal(s.config, undefined);
    assert.equal(s.consumer_detail, undefined);
  });

  test('/varz: a jetstream section with config and stats', async () => {
    const v = await monitorJson<Json>(srv, '/varz');
    const j = v.jetstream as { config: Json; stats: Json };
    assert.equal(typeof j.config.store_dir, 'string');
    assert.ok((j.stats.storage as number) > 0);
    assert.ok((j.stats.memory as number) > 0);
    assert.equal(j.stats.accounts, 1);
    assert.equal(typeof (j.stats.api as Json).total, 'number');
  });

  test(
    '/metrics: per stream and per durable consumer; ephemerals only counted',
    onlyOn('weft', 'Weft’s Prometheus endpoint'),
    async () => {
      const res = await fetch(`http://127.0.0.1:${srv.httpPort}/metrics`);
      const text = await res.text();
      const value = (name: string, labels: string): number => {
        const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(labels));
        assert.ok(line !== undefined, `${name}{${labels}} is exported`);
        return Number(line.slice(line.lastIndexOf(' ') + 1));
      };
      const mon = 'account="$G",stream="MON"';
      assert.equal(value('weft_stream_messages', mon), 3);
      assert.ok(value('weft_stream_bytes', mon) > 0);
      assert.equal(value('weft_stream_first_seq', mon), 1);
      assert.equal(value('weft_stream_last_seq', mon), 3);
      assert.equal(value('weft_stream_consumers', mon), 2);
      const d = 'account="$G",stream="MON",consumer="D"';
      assert.equal(value('weft_consumer_num_pending', d), 3);
      assert.equal(value('weft_consumer_num_ack_pending', d), 0);
      assert.equal(value('weft_consumer_num_redelivered', d), 0);
      // Only the durable has series.
      const consumerLines = text
        .split('\n')
        .filter((l) => l.startsWith('weft_consumer_num_pending{'));
      assert.equal(consumerLines.length, 1);
      assert.equal(value('weft_jetstream_streams', ''), 2);
      assert.equal(value('weft_jetstream_consumers', ''), 2);
      assert.ok(value('weft_jetstream_api_requests_total', '') >= 5);
      assert.equal(value('weft_jetstream_metrics_omitted', 'kind="stream"'), 0);
      assert.equal(value('weft_jetstream_metrics_omitted', 'kind="consumer"'), 0);
    },
  );
});

describe('JetStream off', onlyOn('weft', 'a Weft setting'), () => {
  test('INFO lacks jetstream, /varz has an empty section, /jsz says disabled', async () => {
    const dir = await jsData();
    const s = await startServer({
      host: '127.0.0.1',
      port: 0,
      httpPort: 0,
      meshPort: -1,
      jetstream: false,
      dataDir: dir.dir,
      logLevel: 'silent',
    });
    try {
      const nc = await connect({ servers: `nats://127.0.0.1:${s.port}` });
      assert.equal(nc.info?.jetstream, undefined);
      await nc.close();
      const v = await monitorJson<Json>(s, '/varz');
      assert.deepEqual(v.jetstream, {});
      const j = await monitorJson<Json>(s, '/jsz');
      assert.equal(j.disabled, true);
      assert.equal(j.streams, 0);
    } finally {
      await s.close();
      await dir.remove();
    }
  });
});

describe('JetStream metrics bounds', onlyOn('weft', 'Weft’s Prometheus series'), () => {
  test('series stop at the bounds; what is left out is counted', async () => {
    const dir = await jsData();
    const s = await startServer({
      host: '127.0.0.1',
      port: 0,
      httpPort: -1,
      meshPort: -1,
      dataDir: dir.dir,
      logLevel: 'silent',
    });
    const nc = await connect({ servers: `nats://127.0.0.1:${s.port}` });
    try {
      const jsm = await nc.jetstreamManager();
      for (const name of ['B1', 'B2', 'B3']) {
        await jsm.streams.add({ name, subjects: [name.toLowerCase()] });
        for (const d of ['X', 'Y']) {
          await jsm.consumers.add(name, { durable_name: d, ack_policy: AckPolicy.Explicit });
        }
      }
      const registry = new Registry();
      addJetStreamMetrics(registry, s.node, { streams: 2, consumers: 3 });
      const lines = (await registry.metrics()).split('\n');
      const series = (name: string) => lines.filter((l) => l.startsWith(`${name}{`));
      assert.deepEqual(
        series('weft_stream_messages').map((l) => /stream="(\w+)"/.exec(l)?.[1]),
        ['B1', 'B2'],
      );
      assert.deepEqual(
        series('weft_consumer_num_pending').map((l) =>
          /stream="(\w+)",consumer="(\w+)"/.exec(l)?.slice(1).join('/'),
        ),
        ['B1/X', 'B1/Y', 'B2/X'],
      );
      assert.ok(lines.includes('weft_jetstream_metrics_omitted{kind="stream"} 1'));
      // 6 durables, 3 with series.
      assert.ok(lines.includes('weft_jetstream_metrics_omitted{kind="consumer"} 3'));
    } finally {
      await nc.close();
      await s.close();
      await dir.remove();
    }
  });
});
