/** Human-readable text for benchmark results and live progress. */

import type { BenchResult, Progress } from './runner.js';
import { bytes, int, micros, si } from './stats.js';

export function formatProgress(p: Progress): string {
  const secs = (p.elapsedMs / 1000).toFixed(1);
  if (p.workload === 'reqrep') {
    return `reqrep  ${int(p.published)}/${int(p.msgs)} requests  ${si(rate(p.published, p.elapsedMs))} req/s  ${secs} s`;
  }
  const sent = `sent ${int(p.published)}/${int(p.msgs)}`;
  const recv = p.expected > 0 ? `  received ${int(p.received)}/${int(p.expected)}` : '';
  const speed = si(rate(p.expected > 0 ? p.received : p.published, p.elapsedMs));
  return `${p.workload}  ${sent}${recv}  ${speed} msgs/s  ${secs} s`;
}

export function formatSummary(r: BenchResult): string {
  const lines: string[] = [];
  const who =
    r.workload === 'fanout' || r.workload === 'queue'
      ? `, ${r.subs} subscribers${r.workload === 'queue' ? ' in one queue group' : ''}`
      : '';
  const what = r.workload === 'reqrep' ? 'requests' : 'msgs';
  lines.push(
    `weft bench ${r.workload}  ${r.server}${r.subServer ? ` → ${r.subServer}` : ''}  ${int(r.msgs)} ${what} × ${bytes(r.size)}${who}`,
  );
  if (r.workload === 'reqrep') {
    lines.push(
      `  requests  ${int(r.pub.msgs)} in ${ms(r.pub.elapsedMs)}  ${si(r.pub.msgsPerSec)} req/s (sequential)`,
    );
  } else {
    lines.push(
      `  pub  ${int(r.pub.msgs)} msgs in ${ms(r.pub.elapsedMs)}  ${si(r.pub.msgsPerSec)} msgs/s  ${r.pub.mbPerSec.toFixed(1)} MB/s`,
    );
  }
  if (r.sub) {
    const s = r.sub;
    const each =
      r.workload === 'pubsub' ? '' : `  [per subscriber: ${s.perSub.map(int).join(', ')}]`;
    lines.push(
      `  sub  ${int(s.received)} deliveries in ${ms(s.elapsedMs)}  ${si(s.msgsPerSec)} msgs/s  ${s.mbPerSec.toFixed(1)} MB/s${each}`,
    );
    lines.push(`  received ${int(s.received)} of ${int(s.expected)}, lost ${int(s.lost)}`);
  }
  if (r.latency && r.latency.samples > 0) {
    const l = r.latency;
    const kind =
      l.kind === 'round-trip'
        ? 'round trip'
        : `one-way, ${int(l.samples)} samples taken under full load`;
    lines.push(
      `  latency (${kind})  p50 ${micros(l.p50)}  p90 ${micros(l.p90)}  p99 ${micros(l.p99)}  max ${micros(l.max)}`,
    );
  }
  if (!r.complete) {
    const why: Record<BenchResult['ended'], string> = {
      done: 'not everything was sent or received',
      timeout: 'the deadline passed',
      stalled: 'deliveries stopped before everything arrived',
      error: 'a connection failed',
      aborted: 'interrupted',
    };
    lines.push(`  INCOMPLETE: ${why[r.ended]}`);
  }
  for (const e of r.errors) lines.push(`  error: ${e}`);
  return lines.join('\n');
}

function rate(n: number, elapsedMs: number): number {
  return elapsedMs > 0 ? (n * 1000) / elapsedMs : 0;
}

function ms(v: number): string {
  return v >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${v.toFixed(0)} ms`;
}

/**
 * A markdown table as lines: the header, the rule, one line per row, every
 * column padded to its widest cell. Columns are right-aligned (numbers)
 * except those in `left` (labels; default the first).
 */
export function markdownTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  left: readonly number[] = [0],
): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]) =>
    `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  const rule = widths.map((w, i) =>
    left.includes(i) ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`,
  );
  return [line(header), `|${rule.join('|')}|`, ...rows.map(line)];
}
