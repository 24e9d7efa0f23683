/**
 * bpftrace's output of hop.bt.template, summed up per process: one line
 * each with the averages (ns in the output, shown in µs) and counts; the histograms are dropped.
 */
export function hopSummary(text, names = {}) {
  const per = new Map();
  for (const m of text.matchAll(
    /^@(\w+)\[(\d+)\]: (?:count (\d+), average (\d+), total (\d+)|(\d+))$/gm,
  )) {
    const [, key, pid, count, avg, , n] = m;
    if (!per.has(pid)) per.set(pid, {});
    const o = per.get(pid);
    if (count !== undefined) o[key] = `${(Number(avg) / 1000).toFixed(1)} µs ×${count}`;
    else o[key] = n;
  }
  // lhist blocks (100 ns units): the median of each.
  for (const block of text.split(/\n(?=@)/)) {
    const head = block.match(/^@(\w+)l\[(\d+)\]:/);
    if (head === null) continue;
    const rows = [...block.matchAll(/^\[(\d+), \d+\)\s+(\d+)/gm)].map((r) => [
      Number(r[1]),
      Number(r[2]),
    ]);
    const total = rows.reduce((s, r) => s + r[1], 0);
    let seen = 0;
    const mid = rows.find((r) => {
      seen += r[1];
      return seen >= total / 2;
    });
    if (mid === undefined) continue;
    if (!per.has(head[2])) per.set(head[2], {});
    per.get(head[2])[`${head[1]} p50`] = `${(mid[0] / 10).toFixed(1)} µs`;
  }
  return [...per.entries()]
    .sort(([p], [q]) => String(names[p] ?? p).localeCompare(String(names[q] ?? q)))
    .map(
      ([pid, o]) =>
        `  ${names[pid] ?? pid}: ${Object.entries(o)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')}`,
    )
    .join('\n');
}
