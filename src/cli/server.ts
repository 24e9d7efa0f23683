/**
 * `weft server`: runs a node in the foreground. Flags override the config
 * file; a bad flag or setting exits with code 2 and a message naming it.
 * SIGINT/SIGTERM start a graceful shutdown; a second signal exits at once.
 * SIGHUP reloads the TLS certificates.
 * A node that cannot start (a port taken, its data directory locked by
 * another node or not writable) exits with code 1 having released all it
 * opened; an internal error (uncaught exception) shuts down and exits 70.
 */
import type { ParseArgsConfig } from 'node:util';
import { loadConfigFile, negatedFlag, optionsFromFlags, SETTINGS } from '../config/config.js';
import { ConfigError } from '../errors.js';
import { armTestFault, EXIT_INTERNAL, FatalHandler } from '../server/fatal.js';
import { WeftNode } from '../server/server.js';
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

  // The configuration's sources, read again on SIGHUP.
  const readOptions = (): ReturnType<typeof optionsFromFlags> => {
    const file = typeof values.config === 'string' ? loadConfigFile(values.config) : {};
    return { ...file, ...optionsFromFlags(values) };
  };
  let options: ReturnType<typeof optionsFromFlags>;
  try {
    options = readOptions();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`weft server: invalid configuration: ${err.message}\n`);
      return EXIT_USAGE;
    }
    throw err;
  }

  let node: WeftNode;
  try {
    node = new WeftNode(options);
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
  process.on('SIGINT', hold);
  process.on('SIGTERM', hold);
  process.on('SIGHUP', hold);
  const release = (): void => {
    process.off('SIGINT', hold);
    process.off('SIGTERM', hold);
    process.off('SIGHUP', hold);
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
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
          process.off('SIGHUP', onHangup);
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
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
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
    process.on('SIGHUP', onHangup);
    release();
    if (early === 'SIGHUP') onHangup();
    else if (early !== null) onSignal(early);
  });
}
