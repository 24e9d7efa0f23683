/** Percentiles and number formatting for benchmark reports. */

export interface Percentiles {
  samples: number;
  min: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

/** Nearest-rank percentiles of `values` (µs); all zero when there are none. */
export function percentiles(values: Float64Array | number[]): Percentiles {
  const n = values.length;
  if (n === 0) return { samples: 0, min: 0, p50: 0, p90: 0, p99: 0, max: 0, mean: 0 };
  const sorted = Float64Array.from(values).sort();
  const at = (q: number) => sorted[Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1))]!;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += sorted[i]!;
  return {
    samples: n,
    min: sorted[0]!,
    p50: at(0.5),
    p90: at(0.9),
    p99: at(0.99),
    max: sorted[n - 1]!,
    mean: sum / n,
  };
}

/** 1234567 → '1,234,567'. */
export function int(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** A rate with three significant digits and a unit: 1234567 → '1.23M'. */
export function si(n: number): string {
  const abs = Math.abs(n);
  if (abs >= 1e9) return `${(n / 1e9).toPrecision(3)}G`;
  if (abs >= 1e6) return `${(n / 1e6).toPrecision(3)}M`;
  if (abs >= 1e3) return `${(n / 1e3).toPrecision(3)}k`;
  return abs >= 100 ? n.toFixed(0) : n.toPrecision(3);
}

/** Microseconds, human scale: 12.3 µs, 4.56 ms, 1.20 s. */
export function micros(us: number): string {
  if (us >= 1e6) return `${(us / 1e6).toFixed(2)} s`;
  if (us >= 1e3) return `${(us / 1e3).toFixed(2)} ms`;
  return `${us.toFixed(us >= 100 ? 0 : 1)} µs`;
}

export function bytes(n: number): string {
  const abs = Math.abs(n);
  if (abs >= 1024 ** 3) return `${(n / 1024 ** 3).toFixed(2)} GiB`;
  if (abs >= 1024 ** 2) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  if (abs >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${Math.round(n)} B`;
}
