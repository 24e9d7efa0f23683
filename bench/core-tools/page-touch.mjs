/**
 * What a buffered write costs when the page cache takes fresh pages: writes
 * `mb` MiB to a new file in 1 MiB writes, reports MB/s and CPU per `step`
 * MiB; deletes it and writes again at once (the pages just freed are
 * reused); then waits `waitS` seconds and writes a third time. On a VM
 * whose balloon reports free pages to the host (virtio-balloon feature
 * bit 5, REPORTING), pages freed for a few seconds go back to the host and
 * their next first touch costs a host fault: the first and third passes
 * run ~10× slower than the second once the warm pages run out.
 * bench/PROFILE.md, "the Kafka rows' bracket".
 *   node bench/core-tools/page-touch.mjs [dir] [mb] [step] [waitS]
 */
import { closeSync, openSync, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';

const [dir = '/tmp', mbS = '2048', stepS = '256', waitS = '10'] = process.argv.slice(2);
const [mb, step] = [Number(mbS), Number(stepS)];
const buf = Buffer.alloc(1 << 20, 1);

function pass(file) {
  const fd = openSync(file, 'w');
  const out = [];
  for (let done = 0; done < mb; done += step) {
    const t = process.hrtime.bigint();
    const c = process.cpuUsage();
    for (let i = 0; i < step; i++) writeSync(fd, buf);
    const s = Number(process.hrtime.bigint() - t) / 1e9;
    const u = process.cpuUsage(c);
    out.push(`${Math.round(step / s)} MB/s ${Math.round((u.user + u.system) / 1000)} ms`);
  }
  closeSync(fd);
  unlinkSync(file);
  return out.join(' | ');
}

console.log(`first       ${pass(path.join(dir, 'page-touch-1'))}`);
console.log(`right after ${pass(path.join(dir, 'page-touch-2'))}`);
await new Promise((r) => setTimeout(r, Number(waitS) * 1000));
console.log(`after ${waitS} s  ${pass(path.join(dir, 'page-touch-3'))}`);
