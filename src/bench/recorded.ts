/**
 * The recorded ratios `npm run bench -- --check` compares a run with, and
 * `--record` rewrites. They live in BENCHMARKS.md, in a markdown table right
 * under a heading that names them, so the page shows what the check reads:
 *
 *   ### Recorded ratios (bench --check reads this)
 *
 *   | id | ratio | date | commit | note |
 *   |----|------:|------|--------|------|
 *   | pub | 0.731 | 2026-12-06 | 4de119e | 3 rounds, load 8 |
 *
 * Pure functions: no file access (compare.ts reads and writes the file).
 */

import { markdownTable } from './report.js';
import type { RowSummary } from './rows.js';

export const RECORDED_HEADING = 'Recorded ratios (bench --check reads this)';
export const RECORDED_COLUMNS = ['id', 'ratio', 'date', 'commit', 'note'] as const;
/** A row fails --check when its median ratio is below recorded × (1 − this). */
export const CHECK_TOLERANCE = 0.1;

export interface Recorded {
  id: string;
  ratio: number;
  /** YYYY-MM-DD. */
  date: string;
  /** Short or full commit hash, or '-' when unknown. */
  commit: string;
  note: string;
}

/** A malformed recorded block; `line` is 1-based in the markdown given. */
export class RecordedError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(line > 0 ? `line ${line}: ${message}` : message);
    this.name = 'RecordedError';
  }
}

const ID = /^[A-Za-z0-9][A-Za-z0-9._@/-]*$/;
const RATIO = /^\d+(\.\d+)?$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const COMMIT = /^([0-9a-f]{7,40}|-)$/;
const RULE_CELL = /^:?-+:?$/;

interface Located {
  /** 0-based index of the heading line. */
  heading: number;
  /** 0-based [start, end) of the table lines; start === end when there is no table yet. */
  start: number;
  end: number;
}

function cells(line: string): string[] | null {
  const t = line.trim();
  if (!t.startsWith('|') || !t.endsWith('|') || t.length < 2) return null;
  return t
    .slice(1, -1)
    .split('|')
    .map((c) => c.trim());
}

function locate(lines: string[]): Located {
  const headingRe = /^#{1,6}\s+(.*?)\s*#*\s*$/;
  const found: number[] = [];
  lines.forEach((l, i) => {
    const m = headingRe.exec(l);
    if (m !== null && m[1] === RECORDED_HEADING) found.push(i);
  });
  if (found.length === 0) {
    throw new RecordedError(0, `no heading "${RECORDED_HEADING}" (any level, ## or ###)`);
  }
  if (found.length > 1) {
    throw new RecordedError(
      found[1]! + 1,
      `heading "${RECORDED_HEADING}" appears again (first on line ${found[0]! + 1}); keep one`,
    );
  }
  const heading = found[0]!;
  let i = heading + 1;
  // Prose may sit between the heading and the table; the next heading ends the section.
  while (i < lines.length && !lines[i]!.trim().startsWith('|') && !headingRe.test(lines[i]!)) i++;
  if (i >= lines.length || headingRe.test(lines[i]!)) return { heading, start: i, end: i };
  let end = i;
  while (end < lines.length && lines[end]!.trim().startsWith('|')) end++;
  return { heading, start: i, end };
}

/**
 * The recorded ratios, by row id. Throws RecordedError naming the line and
 * what is wrong with it: a missing heading, a header that is not
 * `| id | ratio | date | commit | note |`, a row with the wrong number of
 * cells, a bad id, ratio, date or commit, a duplicate id.
 */
export function parseRecorded(markdown: string): Map<string, Recorded> {
  const lines = markdown.split('\n');
  const at = locate(lines);
  const out = new Map<string, Recorded>();
  if (at.start === at.end) return out;
  const header = cells(lines[at.start]!);
  const want = RECORDED_COLUMNS.join(' | ');
  if (header === null || header.join(' | ') !== want) {
    throw new RecordedError(at.start + 1, `table header must be "| ${want} |"`);
  }
  const rule = at.start + 1 < at.end ? cells(lines[at.start + 1]!) : null;
  if (
    rule === null ||
    rule.length !== RECORDED_COLUMNS.length ||
    !rule.every((c) => RULE_CELL.test(c))
  ) {
    throw new RecordedError(
      at.start + 2,
      'the line under the table header must be |---|---:|…| with 5 cells',
    );
  }
  const firstLine = new Map<string, number>();
  for (let i = at.start + 2; i < at.end; i++) {
    const n = i + 1;
    const c = cells(lines[i]!);
    if (c === null || c.length !== RECORDED_COLUMNS.length) {
      throw new RecordedError(
        n,
        `a row has 5 cells (id | ratio | date | commit | note), this one ${c?.length ?? 0}`,
      );
    }
    const [id, ratio, date, commit, note] = c as [string, string, string, string, string];
    if (!ID.test(id))
      throw new RecordedError(n, `id "${id}" is not a row id (letters, digits, . _ @ / -)`);
    if (!RATIO.test(ratio) || !(Number(ratio) > 0)) {
      throw new RecordedError(n, `ratio "${ratio}" of ${id} is not a positive decimal number`);
    }
    if (!DATE.test(date) || Number.isNaN(Date.parse(`${date}T00:00:00Z`))) {
      throw new RecordedError(n, `date "${date}" of ${id} is not YYYY-MM-DD`);
    }
    if (!COMMIT.test(commit)) {
      throw new RecordedError(n, `commit "${commit}" of ${id} is not a hex hash (7–40) or -`);
    }
    const seen = firstLine.get(id);
    if (seen !== undefined)
      throw new RecordedError(n, `${id} is recorded twice (also line ${seen})`);
    firstLine.set(id, n);
    out.set(id, { id, ratio: Number(ratio), date, commit, note });
  }
  return out;
}

/** The table lines for `entries`, in the order given. */
export function renderRecorded(entries: readonly Recorded[]): string[] {
  return [
    `| ${RECORDED_COLUMNS.join(' | ')} |`,
    '|----|------:|------|--------|------|',
    ...entries.map(
      (e) =>
        `| ${e.id} | ${e.ratio.toFixed(3)} | ${e.date} | ${e.commit} | ${e.note.replace(/\|/g, '/')} |`,
    ),
  ];
}

/** Old entries updated by fresh ones (same id), new ids appended, in order. */
export function mergeRecorded(
  old: ReadonlyMap<string, Recorded>,
  fresh: readonly Recorded[],
): Recorded[] {
  const byId = new Map(old);
  for (const f of fresh) byId.set(f.id, f);
  return [...byId.values()];
}

/** `markdown` with the recorded table replaced by `entries` (inserted under the heading if absent). */
export function replaceRecorded(markdown: string, entries: readonly Recorded[]): string {
  const lines = markdown.split('\n');
  const at = locate(lines);
  const table = renderRecorded(entries);
  if (at.start === at.end) {
    lines.splice(at.heading + 1, 0, '', ...table);
  } else {
    lines.splice(at.start, at.end - at.start, ...table);
  }
  return lines.join('\n');
}

export type Verdict = 'ok' | 'regressed' | 'unrecorded' | 'no ratio';

export interface CheckRow {
  id: string;
  label: string;
  recorded?: number;
  measured?: number;
  floor?: number;
  min?: number;
  max?: number;
  verdict: Verdict;
}

export interface CheckResult {
  rows: CheckRow[];
  /** True when any row regressed. */
  failed: boolean;
}

/**
 * The check's decision for each row of this run: `regressed` when its median
 * ratio is below recorded × (1 − tolerance); `unrecorded` (reported, not a
 * failure) when BENCHMARKS.md has no ratio for it; `no ratio` (not a failure:
 * the run's problems list says why) when a side did not produce a value.
 * Recorded rows this run did not measure are not mentioned.
 */
export function checkRows(
  rows: readonly RowSummary[],
  recorded: ReadonlyMap<string, Recorded>,
  tolerance = CHECK_TOLERANCE,
): CheckResult {
  const out: CheckRow[] = [];
  for (const r of rows) {
    const rec = recorded.get(r.id);
    const row: CheckRow = { id: r.id, label: r.label, verdict: 'ok' };
    if (r.ratio !== undefined) row.measured = r.ratio;
    if (r.ratioMin !== undefined) row.min = r.ratioMin;
    if (r.ratioMax !== undefined) row.max = r.ratioMax;
    if (rec === undefined) {
      if (r.ratio === undefined && r.ref === '') continue; // nothing to compare, ever
      row.verdict = 'unrecorded';
    } else {
      row.recorded = rec.ratio;
      row.floor = rec.ratio * (1 - tolerance);
      if (r.ratio === undefined) row.verdict = 'no ratio';
      // A hair of slack so a ratio exactly at the floor does not fail on rounding.
      else if (r.ratio < row.floor - 1e-9) row.verdict = 'regressed';
    }
    out.push(row);
  }
  return { rows: out, failed: out.some((r) => r.verdict === 'regressed') };
}

export function renderCheck(result: CheckResult, tolerance = CHECK_TOLERANCE): string {
  const x = (v: number | undefined) => (v === undefined ? '—' : `${v.toFixed(2)}×`);
  const header = ['id', 'recorded', 'measured (median)', 'min–max', 'allowed floor', 'verdict'];
  const lines = result.rows.map((r) => [
    r.id,
    x(r.recorded),
    x(r.measured),
    r.min === undefined ? '—' : `${r.min.toFixed(2)}–${x(r.max)}`,
    x(r.floor),
    r.verdict === 'regressed' ? 'REGRESSED' : r.verdict,
  ]);
  const bad = result.rows.filter((r) => r.verdict === 'regressed');
  const unrecorded = result.rows.filter((r) => r.verdict === 'unrecorded').length;
  return [
    `bench --check: a row fails when its median ratio is more than ${tolerance * 100} % below its recorded ratio.`,
    '',
    ...markdownTable(header, lines, [0, 5]),
    '',
    bad.length > 0
      ? `FAILED: ${bad.length} row${bad.length > 1 ? 's' : ''} below the floor: ${bad.map((r) => r.id).join(', ')}.`
      : 'passed: no row below its floor.',
    ...(unrecorded > 0
      ? [
          `${unrecorded} row${unrecorded > 1 ? 's have' : ' has'} no recorded ratio (reported, not failed; --record adds them).`,
        ]
      : []),
  ].join('\n');
}
