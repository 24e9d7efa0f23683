/**
 * Metrics read at scrape time: each series is a function of the node's own
 * counters, so the hot path keeps plain numbers and prom-client only reads
 * them when /metrics is asked for.
 */
import { Counter, Gauge, type Registry } from 'prom-client';

export type Reader = (name: string, help: string, read: () => number) => void;

/** Registers counters and gauges on `registry` whose value is `read()` at each scrape. */
export function scrapeReaders(registry: Registry): { counter: Reader; gauge: Reader } {
  return {
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
