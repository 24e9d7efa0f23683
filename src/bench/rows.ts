/**
 * The one row model every group of `npm run bench` reports in, and the one
 * table they are all printed in. A group measures however it likes; an
 * adapter (bench/row-adapters.ts) turns each round of its results into
 * samples, one per row; `summarize` folds the rounds of each row into a
 * median ratio and its min–max (the noise band).
 *
 * Every ratio reads "times as good as the reference": reference ÷ weft when
 * lower is better (latency, CPU, memory), weft ÷ reference when higher is.
 */

import { markdownTable } from './report.js';
import { bytes, micros, si } from './stats.js';

export type Better = 'higher' | 'lower';

export interface RowDef {
  /** Stable id: what --check and the recorded ratios in BENCHMARKS.md key on. */
  id: string;
  label: string;
  /** What the values count: 'msgs/s', 'µs', 'ms', 'B', …; also picks the number format. */
  unit: string;
  /** What Weft is compared with ('nats-server', 'mosquitto', …); '' when nothing. */
  ref: string;
  better: Better;
}

/** One round of one row. */
export interface RowSample extends RowDef {
  /** The reference's value this round; absent when that side did not run. */
  refValue?: number;
  weftValue?: number;
  /** This round was not clean (incomplete run, lost messages): shown as ⚠. */
  warning?: string;
}

export interface RowSummary extends RowDef {
  /** Samples folded in (rounds that produced this row). */
  rounds: number;
  /** Each round's ratio, where both sides had a value. */
  ratios: number[];
  ratio?: number;
  ratioMin?: number;
  ratioMax?: number;
  refMedian?: number;
  weftMedian?: number;
  warnings: string[];
}

/** The ratio that reads "times as good as the reference"; undefined unless both are > 0. */
export function rowRatio(better: Better, ref?: number, weft?: number): number | undefined {
  if (ref === undefined || weft === undefined) return undefined;
  if (!(ref > 0) || !(weft > 0) || !Number.isFinite(ref) || !Number.isFinite(weft)) {
    return undefined;
  }
  return better === 'higher' ? weft / ref : ref / weft;
}

/** Median; for an even count the mean of the middle two. Undefined for none. */
export function median(xs: readonly number[]): number | undefined {
  if (xs.length === 0) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/**
 * Folds samples into one summary per row id, in the order ids first appear.
 * The ratio is the median of the per-round ratios (each round's pair was
 * measured close together, so load drift hits both sides of it), not the
 * ratio of the medians; the medians of the values are shown beside it.
 */
export function summarize(samples: readonly RowSample[]): RowSummary[] {
  const byId = new Map<string, RowSample[]>();
  for (const s of samples) {
    const list = byId.get(s.id);
    if (list === undefined) byId.set(s.id, [s]);
    else list.push(s);
  }
  const out: RowSummary[] = [];
  for (const [id, list] of byId) {
    const last = list[list.length - 1]!;
    const ratios: number[] = [];
    for (const s of list) {
      const r = rowRatio(last.better, s.refValue, s.weftValue);
      if (r !== undefined) ratios.push(r);
    }
    const values = (pick: (s: RowSample) => number | undefined) =>
      list.map(pick).filter((v): v is number => v !== undefined && Number.isFinite(v));
    const summary: RowSummary = {
      id,
      label: last.label,
      unit: last.unit,
      ref: last.ref,
      better: last.better,
      rounds: list.length,
      ratios,
      warnings: list.map((s) => s.warning).filter((w): w is string => w !== undefined),
    };
    const ratio = median(ratios);
    if (ratio !== undefined) {
      summary.ratio = ratio;
      summary.ratioMin = Math.min(...ratios);
      summary.ratioMax = Math.max(...ratios);
    }
    const refMedian = median(values((s) => s.refValue));
    const weftMedian = median(values((s) => s.weftValue));
    if (refMedian !== undefined) summary.refMedian = refMedian;
    if (weftMedian !== undefined) summary.weftMedian = weftMedian;
    out.push(summary);
  }
  return out;
}

/** A value in its unit's usual form: 1.23M msgs/s, 12.3 µs, 906 B. */
export function formatValue(v: number, unit: string): string {
  if (unit === 'µs') return micros(v);
  if (unit === 'ms') return micros(v * 1000);
  if (unit === 'B') return bytes(v);
  return si(v);
}

export function formatRatio(r: number | undefined): string {
  return r === undefined ? '—' : `${r.toFixed(2)}×`;
}

/** The markdown table of summaries: one line per row, whatever group it came from. */
export function renderRows(rows: readonly RowSummary[]): string {
  const header = [
    'id',
    'workload',
    'reference',
    'reference (median)',
    'weft (median)',
    'weft vs ref (median)',
    'min–max',
    'rounds',
  ];
  const lines = rows.map((r) => {
    const value = (v: number | undefined) => (v === undefined ? '—' : formatValue(v, r.unit));
    const band =
      r.ratioMin === undefined || r.ratioMax === undefined
        ? '—'
        : `${r.ratioMin.toFixed(2)}–${r.ratioMax.toFixed(2)}×`;
    const warn = r.warnings.length > 0 ? ` ⚠ ${r.warnings.length}` : '';
    const count =
      r.ref === '' || r.ratios.length === r.rounds
        ? `${r.rounds}`
        : `${r.ratios.length}/${r.rounds}`;
    return [
      r.id,
      `${r.label} (${r.unit}, ${r.better} is better)`,
      r.ref === '' ? '—' : r.ref,
      value(r.refMedian),
      value(r.weftMedian),
      `${formatRatio(r.ratio)}${warn}`,
      band,
      count,
    ];
  });
  return markdownTable(header, lines, [0, 1, 2]).join('\n');
}
