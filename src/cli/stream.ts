/**
 * `weft stream check [STREAM]`: reads a node's data directory offline and
 * reports, per file stream, what a start would find — records and messages,
 * damaged ranges (file, offset, length, sequences), bytes in quarantine, a
 * torn tail, and the state of stream.json (both copies) and of the durable
 * consumers' state files. It only reads: nothing is cut, rewritten or
 * quarantined (a start does that), so it is safe beside a running node.
 *
 * Exit status: 0 nothing damaged (a torn tail is not damage: it is a write
 * a crash cut short, cut at the next start), 1 damage found, 2 bad usage.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseCheckedJson } from '../jetstream/checked-json.js';
import { STATE_FILE } from '../jetstream/consumer-state.js';
import { unpackPending } from '../jetstream/pending-codec.js';
import { readStreamMeta } from '../jetstream/stream-meta.js';
import { checkStore, type StoreCheck } from '../streams/file-check.js';
import { isValidStreamName } from '../streams/stream-config.js';
import { type CommandSpec, EXIT_FAILURE, EXIT_OK, parse, reportError, UsageError } from './args.js';

const OPTIONS = {
  'data-dir': { type: 'string', short: 'd' },
  json: { type: 'boolean' },
} as const;

const SPEC: CommandSpec<typeof OPTIONS> = {
  name: 'stream',
  required: ['ACTION'],
  optional: ['STREAM'],
  options: OPTIONS,
  usage: `Usage: weft stream check [STREAM] [flags]

Checks the file streams in a node's data directory (all of them, or STREAM)
without changing anything, and reports per stream: records, messages,
damaged ranges (file, offset, length, sequences that may have been in them),
bytes kept in the quarantine file, a torn tail, stream.json and the durable
consumers' state files. A node does the same at start (and quarantines and
cuts what it must); this command only reads, so it is safe while one runs.

Exit status: 0 no damage, 1 damage found, 2 usage error.

Flags:
  -d, --data-dir DIR  the node's data directory (default ./data)
      --json          one JSON object per stream, one per line

Examples:
  weft stream check
  weft stream check ORDERS --data-dir /var/lib/weft`,
};

interface StreamReport {
  account: string;
  stream: string;
  /** Problems with stream.json and its copy (empty: fine). */
  meta: string[];
  metaUsable: boolean;
  store: StoreCheck | null;
  storeError: string | null;
  consumers: { ok: number; damaged: string[] };
  damaged: boolean;
}

function checkConsumers(dir: string): { ok: number; damaged: string[] } {
  const out = { ok: 0, damaged: [] as string[] };
  const cdir = path.join(dir, 'consumers');
  if (!existsSync(cdir)) return out;
  // consumers/<name>/state.json, or consumers/<name>.json as before
  const files = readdirSync(cdir, { withFileTypes: true })
    .map((e) =>
      e.isDirectory() ? `${e.name}/${STATE_FILE}` : e.name.endsWith('.json') ? e.name : '',
    )
    .filter((f) => f !== '')
    .sort();
  for (const f of files) {
    // A consumer whose state was never written (a create that failed): the node removes it.
    if (!existsSync(path.join(cdir, f))) continue;
    try {
      const s = parseCheckedJson(readFileSync(path.join(cdir, f), 'utf8'));
      if (typeof s.config !== 'object' || s.config === null) throw new Error('no config');
      // A packing damaged behind a valid checksum keeps the consumer out of service at start too.
      if (s.packedPending !== undefined) unpackPending(s.packedPending, () => {});
      out.ok++;
    } catch (err) {
      out.damaged.push(`consumers/${f}: ${(err as Error).message}`);
    }
  }
  return out;
}

async function checkStream(account: string, name: string, dir: string): Promise<StreamReport> {
  const meta = await readStreamMeta(dir, false);
  let store: StoreCheck | null = null;
  let storeError: string | null = null;
  const msgs = path.join(dir, 'msgs');
  if (existsSync(msgs)) {
    try {
      store = checkStore(msgs);
    } catch (err) {
      storeError = (err as Error).message;
    }
  }
  const consumers = checkConsumers(dir);
  const damaged =
    meta.problems.length > 0 ||
    storeError !== null ||
    (store !== null && store.damage.ranges > 0) ||
    consumers.damaged.length > 0;
  return {
    account,
    stream: name,
    meta: meta.problems,
    metaUsable: meta.meta !== null,
    store,
    storeError,
    consumers,
    damaged,
  };
}

function seqText(from: number | null, to: number | null): string {
  if (from === null || to === null) return 'no message sequence';
  return from === to ? `sequence ${from}` : `sequences ${from}..${to}`;
}

function print(r: StreamReport): void {
  const w = (s: string): boolean => process.stdout.write(s + '\n');
  const s = r.store;
  w(
    `${r.account}/${r.stream}: ${r.damaged ? 'DAMAGED' : 'ok'}` +
      (s === null
        ? ''
        : `, ${s.segments} segments, ${s.records} records, ${s.messages} messages` +
          (s.messages > 0
            ? ` (sequences ${s.firstSeq}..${s.lastSeq})`
            : `, last sequence ${s.lastSeq}`)),
  );
  if (r.meta.length > 0) {
    w(
      `  stream.json: ${r.meta.join('; ')}${r.metaUsable ? ' (the other copy is intact)' : ' (no usable copy: the stream stays offline)'}`,
    );
  }
  if (r.storeError !== null) w(`  store: cannot be read: ${r.storeError}`);
  if (s !== null) {
    const d = s.damage;
    for (const x of d.list) {
      w(
        `  damaged: msgs/${x.file} offset ${x.offset}, ${x.length} bytes (${x.why}), ` +
          `${seqText(x.seqFrom, x.seqTo)}; ${x.quarantined ? 'in quarantine' : 'not yet in quarantine'}`,
      );
    }
    if (d.ranges > d.list.length) w(`  damaged: ${d.ranges - d.list.length} more ranges`);
    if (d.ranges > 0) w(`  damaged bytes: ${d.bytes} in ${d.ranges} ranges`);
    if (s.truncatedBytes > 0) {
      w(
        `  torn tail: ${s.truncatedBytes} bytes at the end of msgs/${path.basename(s.truncatedFile!)}` +
          ` (${s.truncatedReason}): a write cut short by a crash; the next start cuts it`,
      );
    }
    if (d.markProblem !== null) w(`  synced mark: ${d.markProblem} (ignored)`);
    if (s.quarantineEntries > 0 || d.quarantineBytes > 0) {
      w(
        `  quarantine: msgs/${path.basename(d.quarantineFile)}, ${s.quarantineEntries} entries, ${d.quarantineBytes} bytes`,
      );
    }
    if (d.quarantineProblem !== null) w(`  quarantine: ${d.quarantineProblem}`);
  }
  for (const c of r.consumers.damaged) w(`  consumer: ${c}`);
}

export async function run(argv: string[]): Promise<number> {
  try {
    const { values, positionals, help } = parse(SPEC, argv);
    if (help) {
      process.stdout.write(SPEC.usage + '\n');
      return EXIT_OK;
    }
    if (positionals[0] !== 'check') {
      throw new UsageError(`unknown action ${JSON.stringify(positionals[0])} (expected check)`);
    }
    const only = positionals[1];
    const dataDir = values['data-dir'] ?? './data';
    if (!existsSync(dataDir) || !statSync(dataDir).isDirectory()) {
      throw new UsageError(`--data-dir: ${dataDir} is not a directory`);
    }
    const root = path.join(dataDir, 'streams');
    const reports: StreamReport[] = [];
    const accounts = existsSync(root) ? readdirSync(root).sort() : [];
    for (const account of accounts) {
      const adir = path.join(root, account);
      if (!statSync(adir).isDirectory()) continue;
      for (const name of readdirSync(adir).sort()) {
        if (!isValidStreamName(name) || (only !== undefined && name !== only)) continue;
        const dir = path.join(adir, name);
        if (!statSync(dir).isDirectory() || readdirSync(dir).length === 0) continue;
        reports.push(await checkStream(account, name, dir));
      }
    }
    if (only !== undefined && reports.length === 0) {
      throw new UsageError(`no stream ${JSON.stringify(only)} under ${root}`);
    }
    for (const r of reports) {
      if (values.json === true) process.stdout.write(JSON.stringify(r) + '\n');
      else print(r);
    }
    if (values.json !== true) {
      const bad = reports.filter((r) => r.damaged).length;
      process.stdout.write(
        `${reports.length} stream${reports.length === 1 ? '' : 's'} checked, ${bad} with damage\n`,
      );
    }
    return reports.some((r) => r.damaged) ? EXIT_FAILURE : EXIT_OK;
  } catch (err) {
    return reportError('stream', err);
  }
}
