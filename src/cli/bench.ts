/**
 * `weft bench WORKLOAD`: load-test any NATS-protocol server (Weft or
 * nats-server) with the raw-protocol generator in src/bench/, which runs its
 * publishers and subscribers on worker threads and is never the bottleneck.
 */

import { parseServerUrl } from '../bench/protocol.js';
import { formatProgress, formatSummary } from '../bench/report.js';
import { type BenchResult, isWorkload, runBench, WORKLOADS } from '../bench/runner.js';
import {
  type CommandSpec,
  EXIT_FAILURE,
  EXIT_OK,
  parse,
  parseInteger,
  reportError,
  UsageError,
} from './args.js';

const DEFAULT_SERVER = 'nats://127.0.0.1:4222';
const DEFAULT_MSGS = 1_000_000;
const DEFAULT_REQUESTS = 20_000;

const OPTIONS = {
  server: { type: 'string', short: 's' },
  'sub-server': { type: 'string' },
  msgs: { type: 'string', short: 'n' },
  size: { type: 'string' },
  subs: { type: 'string' },
  timeout: { type: 'string' },
  json: { type: 'boolean' },
} as const;

const SPEC: CommandSpec<typeof OPTIONS> = {
  name: 'bench',
  required: ['WORKLOAD'],
  options: OPTIONS,
  usage: `Usage: weft bench <${WORKLOADS.join('|')}> [flags]

Measures a NATS-protocol server (Weft or nats-server) with a raw-protocol load
generator whose publishers and subscribers run on their own threads.

Workloads:
  pub       publish only (no subscribers)
  pubsub    one publisher, one subscriber; also samples one-way latency
  fanout    one publisher, --subs subscribers each receiving every message
  queue     one publisher, --subs subscribers in one queue group
  reqrep    sequential request-reply; reports latency percentiles

Flags:
  -s, --server URL    server to test (default ${DEFAULT_SERVER})
  --sub-server URL    connect the subscribers (reqrep: the responder) to this
                      server instead, e.g. another node of a mesh or cluster
  -n, --msgs N        messages to publish (default ${DEFAULT_MSGS.toLocaleString('en-US')};
                      reqrep: requests, default ${DEFAULT_REQUESTS.toLocaleString('en-US')}); k and M suffixes allowed
      --size BYTES    payload size (default 16); k/KiB and M/MiB suffixes allowed
      --subs N        subscribers for fanout and queue (default 4)
      --timeout SECS  give up after this many seconds, reporting what was lost (default 60)
      --json          print one JSON object instead of a summary
  -h, --help          show this help

Exit status: 0 when everything was delivered, 1 when not (or on error), 2 on bad usage.

Examples:
  weft bench pubsub --msgs 5M
  weft bench fanout --subs 8 --size 1KiB --server nats://127.0.0.1:4333
  weft bench reqrep --json`,
};

export async function run(argv: string[]): Promise<number> {
  let abort: AbortController | undefined;
  // First Ctrl-C ends the run and still prints what was measured; a second one quits.
  const onSigint = () => {
    if (abort?.signal.aborted) process.exit(130);
    abort?.abort();
  };
  try {
    const { values, positionals, help } = parse(SPEC, argv);
    if (help) {
      process.stdout.write(`${SPEC.usage}\n`);
      return EXIT_OK;
    }
    const workload = positionals[0]!;
    if (!isWorkload(workload)) {
      throw new UsageError(
        `unknown workload ${JSON.stringify(workload)} (one of ${WORKLOADS.join(', ')})`,
      );
    }
    const server = values.server ?? DEFAULT_SERVER;
    const subServer = values['sub-server'];
    try {
      parseServerUrl(server);
      if (subServer !== undefined) parseServerUrl(subServer);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    const msgs =
      values.msgs === undefined
        ? workload === 'reqrep'
          ? DEFAULT_REQUESTS
          : DEFAULT_MSGS
        : parseScaled('--msgs', values.msgs, 1000, 1, 2 ** 31 - 1);
    const size =
      values.size === undefined
        ? 16
        : parseScaled('--size', values.size, 1024, 0, 64 * 1024 * 1024);
    const subs =
      values.subs === undefined ? 4 : parseInteger('--subs', values.subs, { min: 1, max: 1000 });
    const timeoutMs =
      values.timeout === undefined
        ? 60_000
        : parseInteger('--timeout', values.timeout, { min: 1 }) * 1000;

    const live = process.stderr.isTTY === true;
    abort = new AbortController();
    process.on('SIGINT', onSigint);
    const result: BenchResult = await runBench({
      workload,
      server,
      ...(subServer === undefined ? {} : { subServer }),
      msgs,
      size,
      subs,
      timeoutMs,
      signal: abort.signal,
      onProgress: live ? (p) => process.stderr.write(`\r${formatProgress(p)}\x1b[K`) : undefined,
    });
    if (live) process.stderr.write('\r\x1b[K');
    process.stdout.write(
      values.json ? `${JSON.stringify(result)}\n` : `${formatSummary(result)}\n`,
    );
    if (result.ended === 'aborted') return 130;
    return result.complete ? EXIT_OK : EXIT_FAILURE;
  } catch (err) {
    if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
    return reportError('bench', err);
  } finally {
    process.off('SIGINT', onSigint);
  }
}

/**
 * A positive count with an optional suffix: `k`/`M` (×1000 or ×1024 by `unit`)
 * or, for sizes, `KiB`/`MiB`/`KB`/`MB`; `_` and `,` separators are ignored.
 */
function parseScaled(
  flag: string,
  text: string,
  unit: 1000 | 1024,
  min: number,
  max: number,
): number {
  const m = /^(\d+(?:\.\d+)?)\s*(k|kb|kib|m|mb|mib|b)?$/i.exec(text.trim().replace(/[_,]/g, ''));
  if (m === null) {
    throw new UsageError(
      `${flag} must be a number like 1000, 64k or 1M, got ${JSON.stringify(text)}`,
    );
  }
  const suffix = (m[2] ?? '').toLowerCase();
  const base = suffix.endsWith('ib') ? 1024 : suffix.length === 2 && suffix !== 'b' ? 1000 : unit;
  const scale = suffix.startsWith('k') ? base : suffix.startsWith('m') ? base * base : 1;
  const n = Number(m[1]) * scale;
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new UsageError(
      `${flag} must be a whole number between ${min} and ${max}, got ${JSON.stringify(text)}`,
    );
  }
  return n;
}
