/**
 * Telling people what a file stream's store found on open: damaged ranges
 * at error level in the log (file, offset, length, sequences), a torn tail
 * at warn level, the node's health degraded while a stream holds damage or
 * is out of service, and a `weft_damage` field in stream info (a Weft
 * extension; absent when there is nothing to say, so the info of a clean
 * stream is what nats-server sends).
 *
 * The log names files by their path; what clients see (stream info, API
 * errors) names them relative to the stream's directory.
 */
import path from 'node:path';
import type { DamagedRange, FileStore, RecoveryReport } from '../streams/file-store.js';

/** The node's health list, as `src/util/health.ts` has it. */
export interface HealthSink {
  report(key: string, component: string, detail: string): void;
  clear(key: string): void;
}

export interface DamageLog {
  warn(msg: string): void;
  error(msg: string): void;
}

/** Damaged ranges listed in stream info (the rest are counted). */
export const INFO_DAMAGE_LIST_MAX = 10;

export const damageKey = (account: string, name: string): string =>
  `stream:${account}:${name}:damage`;
export const offlineKey = (account: string, name: string): string =>
  `stream:${account}:${name}:offline`;
export const consumerKey = (account: string, name: string, consumer: string): string =>
  `stream:${account}:${name}:consumer:${consumer}`;

function seqs(r: DamagedRange): string {
  if (r.seqFrom === null || r.seqTo === null) return 'no message sequence known to be in it';
  return r.seqFrom === r.seqTo ? `sequence ${r.seqFrom}` : `sequences ${r.seqFrom}..${r.seqTo}`;
}

/** Logs what open found and reports damage to the node's health. */
export function reportRecovery(
  log: DamageLog,
  health: HealthSink | undefined,
  account: string,
  name: string,
  store: FileStore,
): void {
  const rec = store.recovered;
  const d = rec.damage;
  const q = d.quarantineFile;
  if (d.markProblem !== null) {
    log.warn(
      `stream "${name}": ${d.markProblem} in ${store.dir}; ignored (tail damage is taken for a torn write)`,
    );
  }
  if (d.quarantineProblem !== null)
    log.warn(`stream "${name}": ${d.quarantineProblem} in ${store.dir}`);
  if (rec.truncatedBytes > 0) {
    log.warn(
      `stream "${name}": cut a torn tail of ${rec.truncatedBytes} bytes from ${rec.truncatedFile}` +
        ` (${rec.truncatedReason}): a write a crash cut short, past the last fsync; kept in ${q}`,
    );
  }
  const key = damageKey(account, name);
  if (d.ranges === 0) {
    health?.clear(key);
    return;
  }
  for (const r of d.list) {
    log.error(
      `stream "${name}": damaged data in ${path.join(store.dir, r.file)} at offset ${r.offset},` +
        ` ${r.length} bytes (${r.why}), ${seqs(r)}: skipped; ` +
        (r.quarantined
          ? `its bytes are in ${q}`
          : 'its bytes were NOT kept: the quarantine file is full'),
    );
  }
  if (d.ranges > d.list.length) {
    log.error(`stream "${name}": ${d.ranges - d.list.length} more damaged ranges not listed`);
  }
  health?.report(key, `stream ${name}`, summary(rec));
}

/** A record found damaged on read (after open): logged, and the health report updated. */
export function reportReadDamage(
  log: DamageLog,
  health: HealthSink | undefined,
  account: string,
  name: string,
  store: FileStore,
  r: DamagedRange,
): void {
  log.error(
    `stream "${name}": record damaged since start in ${path.join(store.dir, r.file)} at offset` +
      ` ${r.offset}, ${r.length} bytes, ${seqs(r)}: dropped; ` +
      (r.quarantined
        ? `its bytes are in ${store.recovered.damage.quarantineFile}`
        : 'its bytes were NOT kept: the quarantine file is full'),
  );
  health?.report(damageKey(account, name), `stream ${name}`, summary(store.recovered));
}

/** One sentence on a store's damage, for /healthz. */
function summary(rec: RecoveryReport): string {
  const d = rec.damage;
  const lost = d.list.reduce(
    (n, r) => n + (r.seqFrom === null || r.seqTo === null ? 0 : r.seqTo - r.seqFrom + 1),
    0,
  );
  return (
    `${d.ranges} damaged range${d.ranges === 1 ? '' : 's'} (${d.bytes} bytes, up to ${lost}` +
    ` message${lost === 1 ? '' : 's'}) found in the store and skipped; the rest is` +
    ` served. Bytes kept in msgs/${path.basename(d.quarantineFile)}` +
    (d.notKeptBytes > 0 ? ` except ${d.notKeptBytes} (quarantine full)` : '') +
    `; details in the log and from 'weft stream check'`
  );
}

/** The `weft_damage` field of a file stream's info, or nothing. */
export function damageInfo(store: FileStore): Record<string, unknown> {
  const rec = store.recovered;
  const d = rec.damage;
  if (d.ranges === 0 && rec.truncatedBytes === 0) return {};
  return {
    weft_damage: {
      ranges: d.ranges,
      bytes: d.bytes,
      damaged: d.list.slice(0, INFO_DAMAGE_LIST_MAX).map((r) => ({
        file: `msgs/${r.file}`,
        offset: r.offset,
        length: r.length,
        reason: r.why,
        ...(r.seqFrom === null ? {} : { first_seq: r.seqFrom, last_seq: r.seqTo }),
        quarantined: r.quarantined,
      })),
      quarantine_file: `msgs/${path.basename(d.quarantineFile)}`,
      quarantine_bytes: d.quarantineBytes,
      ...(d.notKeptBytes > 0 ? { not_kept_bytes: d.notKeptBytes } : {}),
      ...(rec.truncatedBytes > 0 ? { torn_tail_bytes: rec.truncatedBytes } : {}),
    },
  };
}
