/** Per-thread CPU of a process from /proc, for the tools that split a node's CPU by thread. */
import { readdirSync, readFileSync } from 'node:fs';

/** utime and stime (s) of every thread of `pid`, by tid (a thread gone while read is left out). */
export function threadTimes(pid) {
  const m = new Map();
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    let st;
    try {
      st = readFileSync(`/proc/${pid}/task/${t}/stat`, 'utf8');
    } catch {
      continue;
    }
    const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
    m.set(Number(t), { u: Number(f[11]) / 100, s: Number(f[12]) / 100 });
  }
  return m;
}
