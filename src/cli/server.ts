/**
 * `weft server`: runs a node in the foreground. Flags override the config
 * file; a bad flag or setting exits with code 2 and a message naming it.
 * SIGINT/SIGTERM start a graceful shutdown; a second signal exits at once.
 * SIGHUP reloads the TLS certificates.
 * A node that cannot start (a port taken, its data directory locked by
 * another node or not writable) exits with code 1 having released all it
 * opened; an internal error (uncaught exception) shuts down and exits 70.
 *
 * With `--workers N` (N > 1) this process is the primary: it runs N
 * workers, each this same command in a process of its own running one
 * node (src/workers, docs/workers.md). A worker takes its signals from the
 * primary: the terminal's SIGINT and SIGHUP, which reach the whole process
 * group, are the primary's to act on.
 */
import type { ParseArgsConfig } from 'node:util';
import {
  loadConfigFile,
  negatedFlag,
  optionsFromFlags,
  SETTINGS,
  validateOptions,
} from '../config/config.js';
import { type ServerOptions, withDefaults } from '../config/options.js';
import { ConfigError } from '../errors.js';
import { armTestFault, EXIT_INTERNAL, FatalHandler } from '../server/fatal.js';
import { WeftNode } from '../server/server.js';
import { createLogger } from '../util/logger.js';
import { WorkerChannel } from '../workers/channel.js';
import {
  checkWorkerSettings,
  WORKER_ENV,
  workerOptions,
  workerPlanFromEnv,
} from '../workers/plan.js';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, parse, reportError } from './args.js';

type Options = NonNullable<ParseArgsConfig['options']>;

function flagOptions(): Options {
  const options: Options = {
    config: { type: 'string', short: 'c' },
  };
  for (const s of SETTINGS) {
    if (s.fileOnly) continue;
    if (s.kind === 'boolean') {
      // A switch: --jetstream turns it on, --no-jetstream off.
      options[s.flag] = { type: 'boolean' };
      options[negatedFlag(s)] = { type: 'boolean' };
      continue;
    }
    // --link may be given several times.
    const multiple = s.kind === 'links';
    options[s.flag] =
      s.short === undefined
        ? { type: 'string', multiple }
        : { type: 'string', short: s.short, multiple };
  }
  return options;
}

export function usage(): string {
  const rows: [string, string][] = [
    ['-c, --config FILE', 'config file, YAML or nats-server format (.conf); flags override it'],
  ];
  for (const s of SETTINGS) {
    if (s.fileOnly) continue;
    const name =
      s.kind === 'boolean'
        ? `    --${s.flag}, --${negatedFlag(s)}`
        : `${s.short === undefined ? '    ' : `-${s.short}, `}--${s.flag} VALUE`;
    rows.push([name, s.help]);
  }
  rows.push(['-h, --help', 'show this help']);
  const width = Math.max(...rows.map((r) => r[0].length)) + 2;
  return [
    'Usage: weft server [flags]',
    '',
    'Runs a Weft node: NATS clients connect on --port, monitoring is served on',
    '--http-port (/varz /connz /subsz /healthz /metrics). Every flag can also be',
    'set in the config file, by its name with underscores (http_port: 8222).',
    '',
    'Flags:',
    ...rows.map(([a, b]) => `  ${a.padEnd(width)}${b}`),
    '',
  ].join('\n');
}

export async function run(argv: string[]): Promise<number> {
  let values: Record<string, unknown>;
  try {
    const parsed = parse(
      { name: 'server', usage: usage(), options: flagOptions(), required: [] },
      argv,
    );
    if (parsed.help) {
      process.stdout.write(usage());
      return EXIT_OK;
    }
    values = parsed.values;
  } catch (err) {
    return reportError('server', err);
  }

  // A worker of `--workers N` runs the node its plan makes of the configuration.
  const plan = await workerPlan();
  // The configuration's sources, read again on SIGHUP.
  const readOptions = (): ReturnType<typeof optionsFromFlags> => {
    const file = typeof values.config === 'string' ? loadConfigFile(values.config) : {};
    const configured = { ...file, ...optionsFromFlags(values) };
    return plan === null ? configured : workerOptions(configured, plan);
  };
  let options: ReturnType<typeof optionsFromFlags>;
  try {
    options = readOptions();
    if (plan === null && (options.workers ?? 1) > 1) {
      const all = withDefaults(options);
      checkWorkerSettings(all);
      validateOptions(all);
      return runPrimary(all);
    }
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`weft server: invalid configuration: ${err.message}\n`);
      return EXIT_USAGE;
    }
    throw err;
  }
  if (plan === null) return runNode(options, readOptions, null);
  // The IPC channel holds a worker's process open: it is closed however the node ends.
  const channel = new WorkerChannel(plan);
  try {
    return await runNode(options, readOptions, channel);
  } finally {
    channel.close();
    if (process.connected) process.disconnect();
  }
}

/**
 * This process's plan when it is a worker of `--workers N`, else null.
 * node:cluster is loaded only when the primary's variable is set: a node
 * that is no worker does not load it (and child_process, dgram with it).
 */
async function workerPlan(): Promise<ReturnType<typeof workerPlanFromEnv>> {
  if ((process.env[WORKER_ENV] ?? '') === '') return null;
  const { default: cluster } = await import('node:cluster');
  return cluster.isWorker ? workerPlanFromEnv() : null;
}

/** The primary of `--workers N`: runs the workers until they are all gone. */
async function runPrimary(options: ServerOptions): Promise<number> {
  // Imported here: a node that runs no workers does not load the primary.
  const { Primary } = await import('../workers/primary.js');
  const primary = new Primary(options, createLogger(options.logLevel));
  const onStop = (signal: NodeJS.Signals): void => primary.stop(signal);
  const onHangup = (): void => primary.reload();
  process.on('SIGINT', onStop);
  process.on('SIGTERM', onStop);
  process.on('SIGHUP', onHangup);
  const code = await primary.run();
  process.off('SIGINT', onStop);
  process.off('SIGTERM', onStop);
  process.off('SIGHUP', onHangup);
  return code;
}

/** Runs one node in this process: alone, or as a worker (`channel`) of a primary. */
async function runNode(
  options: Partial<ServerOptions>,
  readOptions: () => Partial<ServerOptions>,
  channel: WorkerChannel | null,
): Promise<number> {
  let node: WeftNode;
  try {
    node = new WeftNode(options);
    node.workers = channel;
    armTestFault(node.log);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`weft server: invalid configuration: ${err.message}\n`);
      return EXIT_USAGE;
    }
    throw err;
  }
  // From here on, an internal error shuts the node down and exits 70.
  const fatal = new FatalHandler(node);
  fatal.install();
  // A signal during start (the log may already say "Server is ready") is
  // held and acted on once start has finished, never left to the default
  // handler, which would kill the process without a shutdown.
  let early: NodeJS.Signals | null = null;
  const hold = (signal: NodeJS.Signals): void => {
    early ??= signal;
  };
  // A worker's SIGINT and SIGHUP come from the terminal to the whole group:
  // the primary acts on them and tells the workers (stop, reload).
  const signals = workerSignals(channel);
  for (const sig of signals.own) process.on(sig, hold);
  if (channel !== null) channel.onStop = () => hold('SIGTERM');
  const release = (): void => {
    for (const sig of signals.own) process.off(sig, hold);
  };
  try {
    await node.start();
  } catch (err) {
    release();
    // start() has released everything it opened; nothing keeps the process alive.
    if (err instanceof ConfigError) {
      process.stderr.write(`weft server: invalid configuration: ${err.message}\n`);
      return EXIT_USAGE;
    }
    process.stderr.write(`weft server: cannot start: ${(err as Error).message}\n`);
    return EXIT_FAILURE;
  }

  channel?.ready(node.name, node.serverId);
  return new Promise<number>((resolve) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals): void => {
      if (stopping) {
        node.log.warn(`Received ${signal} again, exiting now`);
        process.exit(fatal.tripped ? EXIT_INTERNAL : EXIT_FAILURE);
      }
      stopping = true;
      node.log.info(`Received ${signal}, shutting down (again to exit at once)`);
      node.shutdown().then(
        () => {
          for (const sig of signals.own) process.off(sig, sig === 'SIGHUP' ? onHangup : onSignal);
          signals.done();
          resolve(EXIT_OK);
        },
        (err: Error) => {
          // What failed to stop may hold the process open: exit (stderr is
          // synchronous for files, pipes and terminals).
          node.log.error(`shutdown failed: ${err.message}`);
          process.exit(fatal.tripped ? EXIT_INTERNAL : EXIT_FAILURE);
        },
      );
    };
    for (const sig of signals.own) if (sig !== 'SIGHUP') process.on(sig, onSignal);
    // A worker whose primary is gone (killed) has nobody to hand it clients: it stops.
    // The primary's stop may come on top of a SIGTERM sent to the whole
    // process group: only a second signal exits at once (the primary's
    // second one kills its workers itself).
    // (A worker whose primary is gone exits at once: node:cluster ends it
    // when the IPC channel closes; the data directory's lock goes with it.)
    const fromPrimary = (): void => {
      if (!stopping) onSignal('SIGTERM');
    };
    if (channel !== null) channel.onStop = fromPrimary;
    // As nats-server: SIGHUP reloads the configuration (users, permissions,
    // accounts, certificates, log level). A bad file changes nothing.
    let reloading: Promise<unknown> = Promise.resolve();
    const onHangup = (): void => {
      if (stopping) return;
      node.log.info('Received SIGHUP, reloading the configuration');
      reloading = reloading.then(async () => {
        try {
          await node.reload(readOptions());
        } catch (err) {
          node.log.error(`reload failed, nothing changed: ${(err as Error).message}`);
        }
      });
    };
    if (signals.own.includes('SIGHUP')) process.on('SIGHUP', onHangup);
    if (channel !== null) channel.onReload = onHangup;
    release();
    if (early === 'SIGHUP') onHangup();
    else if (early !== null) onSignal(early);
  });
}

/**
 * The signals a node acts on itself (`own`): all three when alone; only
 * SIGTERM in a worker, which ignores the terminal's SIGINT and SIGHUP until
 * `done` (the primary forwards them as stop and reload).
 */
function workerSignals(channel: WorkerChannel | null): {
  own: NodeJS.Signals[];
  done: () => void;
} {
  if (channel === null) return { own: ['SIGINT', 'SIGTERM', 'SIGHUP'], done: () => {} };
  const ignore = (): void => {};
  process.on('SIGINT', ignore);
  process.on('SIGHUP', ignore);
  return {
    own: ['SIGTERM'],
    done: () => {
      process.off('SIGINT', ignore);
      process.off('SIGHUP', ignore);
    },
  };
}
