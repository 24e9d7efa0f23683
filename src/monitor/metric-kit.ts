/**
 * Metrics read at scrape time: each series is a function of the node's own
 * counters, so the hot path keeps plain numbers and prom-client only reads
 * them when /metrics is asked for.
 */
import { Counter, Gauge, type Registry } from 'prom-client';

export type Reader = (name: string, help: string, read: () => number) => void;

/** Values by label value, read at each scrape. */
export type LabelledRead = () => Iterable<readonly [string, number]>;
export type LabelledReader = (
  name: string,
  help: string,
  label: string,
  read: LabelledRead,
) => void;

/**
 * The values of a count map by label, every one of `keys` included (0 when
 * never counted), so a series exists from the start.
 */
export function byKey(
  map: ReadonlyMap<string, number>,
  keys: readonly string[] = [],
): LabelledRead {
  return function* () {
    for (const k of new Set([...keys, ...map.keys()])) yield [k, map.get(k) ?? 0] as const;
  };
}

/**
 * Registers counters and gauges on `registry` whose value is `read()` at
 * each scrape; the labelled ones have one series per label value `read`
 * gives.
 */
export function scrapeReaders(registry: Registry): {
  counter: Reader;
  gauge: Reader;
  labelledCounter: LabelledReader;
  labelledGauge: LabelledReader;
} {
  return {
    labelledCounter(name, help, label, read) {
      new Counter({
        name,
        help,
        labelNames: [label],
        registers: [registry],
        collect() {
          this.reset();
          for (const [k, v] of read()) this.inc({ [label]: k }, v);
        },
      });
    },
    labelledGauge(name, help, label, read) {
      new Gauge({
        name,
        help,
        labelNames: [label],
        registers: [registry],
        collect() {
          this.reset();
          for (const [k, v] of read()) this.set({ [label]: k }, v);
        },
      });
    },
    counter(name, help, read) {
      new Counter({
        name,
        help,
        registers: [registry],
        collect() {
          this.reset();
          this.inc(read());
        },
      });
    },
    gauge(name, help, read) {
      new Gauge({
        name,
        help,
        registers: [registry],
        collect() {
          this.set(read());
        },
      });
    },
  };
}
