/**
 * JetStream's Prometheus metrics: node totals, and series per stream and
 * per durable consumer, read from the streams when scraped.
 *
 * Label cardinality is bounded: every series name has at most
 * METRICS_MAX_STREAMS streams (`account`, `stream`) and
 * METRICS_MAX_CONSUMERS consumers (`account`, `stream`, `consumer`), the
 * first by account and name; what is left out is counted in
 * `weft_jetstream_metrics_omitted{kind}`. Ephemeral consumers never get
 * series of their own: their names are random and they come and go by the
 * thousand (each ordered consumer is one), which would leave Prometheus a
 * new series per consumer; `weft_stream_consumers` counts them.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Consumer, ConsumerCounts } from '../jetstream/consumer.js';
import type { CapturedStream } from '../jetstream/service.js';
import { scrapeReaders } from './metric-kit.js';
import type { MonitoredNode } from './node-view.js';

/** Streams with series of their own, at most (by account and name). */
export const METRICS_MAX_STREAMS = 1000;
/** Durable consumers with series of their own, at most (by account, stream and name). */
export const METRICS_MAX_CONSUMERS = 1000;

interface Row {
  account: string;
  cs: CapturedStream;
}

const byName =
  <T>(key: (x: T) => string) =>
  (a: T, b: T) =>
    key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0;

/** Every stream of the node, by account and name. */
function allStreams(node: MonitoredNode): Row[] {
  const rows: Row[] = [];
  for (const js of node.jetstream?.accounts() ?? []) {
    for (const cs of js.streams.values()) rows.push({ account: js.account.name, cs });
  }
  return rows.sort(byName((r) => `${r.account}\u0000${r.cs.stream.name}`));
}

/** Every durable consumer of `streams`, by stream and name. */
function allDurables(streams: Row[]): { row: Row; c: Consumer }[] {
  const out: { row: Row; c: Consumer }[] = [];
  for (const row of streams) {
    const ds = [...row.cs.consumers.byName.values()].filter((c) => c.durable);
    for (const c of ds.sort(byName((x) => x.name))) out.push({ row, c });
  }
  return out;
}

/** The bounds on series (tests pass small ones). */
export interface SeriesBounds {
  streams: number;
  consumers: number;
}

export function addJetStreamMetrics(
  registry: Registry,
  node: MonitoredNode,
  bounds: SeriesBounds = { streams: METRICS_MAX_STREAMS, consumers: METRICS_MAX_CONSUMERS },
): void {
  const accounts = () => [...(node.jetstream?.accounts() ?? [])];
  const total = (read: (r: Row) => number) => allStreams(node).reduce((n, r) => n + read(r), 0);
  const { counter, gauge } = scrapeReaders(registry);
  gauge('weft_jetstream_streams', 'Streams on this node', () => allStreams(node).length);
  gauge('weft_jetstream_consumers', 'Consumers on this node', () =>
    total((r) => r.cs.consumers.size),
  );
  gauge('weft_jetstream_memory_bytes', 'Bytes held by memory streams', () =>
    total((r) => (r.cs.stream.config.storage === 'memory' ? r.cs.stream.state().bytes : 0)),
  );
  gauge('weft_jetstream_storage_bytes', 'Bytes held by file streams', () =>
    total((r) => (r.cs.stream.config.storage === 'file' ? r.cs.stream.state().bytes : 0)),
  );
  counter('weft_jetstream_api_requests_total', 'JetStream API requests handled', () =>
    accounts().reduce((n, js) => n + js.apiTotal, 0),
  );
  counter('weft_jetstream_api_errors_total', 'JetStream API requests answered with an error', () =>
    accounts().reduce((n, js) => n + js.apiErrors, 0),
  );

  new Counter({
    name: 'weft_jetstream_limit_refusals_total',
    help: 'Requests and publishes refused by an account JetStream limit (streams, consumers, storage, memory at create; publish)',
    labelNames: ['account', 'limit'],
    registers: [registry],
    collect() {
      this.reset();
      for (const js of accounts()) {
        for (const [limit, n] of Object.entries(js.limitsHit)) {
          if (n > 0) this.inc({ account: js.account.name, limit }, n);
        }
      }
    },
  });

  const perStream = (name: string, help: string, read: (cs: CapturedStream) => number): void => {
    new Gauge({
      name,
      help,
      labelNames: ['account', 'stream'],
      registers: [registry],
      collect() {
        this.reset();
        for (const r of allStreams(node).slice(0, bounds.streams)) {
          this.set({ account: r.account, stream: r.cs.stream.name }, read(r.cs));
        }
      },
    });
  };
  perStream(
    'weft_stream_messages',
    'Messages held by the stream',
    (cs) => cs.stream.state().messages,
  );
  perStream('weft_stream_bytes', 'Bytes held by the stream', (cs) => cs.stream.state().bytes);
  perStream('weft_stream_first_seq', 'First sequence held (0 before the first message)', (cs) => {
    const st = cs.stream.state();
    return st.lastSeq === 0 ? 0 : st.firstSeq;
  });
  perStream('weft_stream_last_seq', 'Last sequence stored', (cs) => cs.stream.state().lastSeq);
  perStream('weft_stream_consumers', 'Consumers of the stream (durable and ephemeral)', (cs) =>
    Number(cs.consumers.size),
  );

  const perConsumer = (name: string, help: string, key: keyof ConsumerCounts): void => {
    new Gauge({
      name,
      help,
      labelNames: ['account', 'stream', 'consumer'],
      registers: [registry],
      collect() {
        this.reset();
        const streams = allStreams(node).slice(0, bounds.streams);
        for (const { row, c } of allDurables(streams).slice(0, bounds.consumers)) {
          const labels = { account: row.account, stream: row.cs.stream.name, consumer: c.name };
          this.set(labels, c.counts()[key]);
        }
      },
    });
  };
  perConsumer(
    'weft_consumer_num_pending',
    'Messages matching the consumer not yet delivered',
    'num_pending',
  );
  perConsumer('weft_consumer_num_ack_pending', 'Deliveries awaiting their ack', 'num_ack_pending');
  perConsumer(
    'weft_consumer_num_redelivered',
    'Deliveries awaiting their ack that were delivered more than once',
    'num_redelivered',
  );
  perConsumer('weft_consumer_num_waiting', 'Pull requests waiting', 'num_waiting');

  new Gauge({
    name: 'weft_jetstream_metrics_omitted',
    help: `Streams and durable consumers without series of their own (beyond ${bounds.streams} streams, ${bounds.consumers} consumers)`,
    labelNames: ['kind'],
    registers: [registry],
    collect() {
      const streams = allStreams(node);
      const shown = streams.slice(0, bounds.streams);
      const durables = allDurables(streams).length;
      const shownDurables = Math.min(allDurables(shown).length, bounds.consumers);
      this.set({ kind: 'stream' }, streams.length - shown.length);
      this.set({ kind: 'consumer' }, durables - shownDurables);
    },
  });
}
