#!/usr/bin/env node
/**
 * The `weft` binary. Each subcommand lives in its own module, loaded on demand
 * so `weft pub` doesn't pay for the server's imports, and exports
 * `run(argv): Promise<number>` returning the exit code.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { VERSION } from '../version.js';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from './args.js';

interface Command {
  /** Module specifier relative to this file. */
  module: string;
  summary: string;
  /** Long-running commands that own their lifecycle: never process.exit() them. */
  ownsLifecycle?: boolean;
}

const COMMANDS: Record<string, Command> = {
  server: { module: './server.js', summary: 'run a Weft node', ownsLifecycle: true },
  pub: { module: './pub.js', summary: 'publish a message' },
  sub: { module: './sub.js', summary: 'subscribe and print messages' },
  req: { module: './req.js', summary: 'send a request and print the reply' },
  reply: { module: './reply.js', summary: 'answer requests' },
  bench: { module: './bench.js', summary: 'measure publish/subscribe throughput' },
  stream: { module: './stream.js', summary: 'check file streams on disk (weft stream check)' },
  passwd: { module: './passwd.js', summary: 'hash a password for the config (bcrypt)' },
  nkey: { module: './nkey.js', summary: 'generate an nkey pair (weft nkey gen user)' },
};

const USAGE = `Usage: weft COMMAND [ARGS] [flags]

Weft is an event mesh that speaks the NATS client protocol.

Commands:
${Object.entries(COMMANDS)
  .map(([name, c]) => `  ${name.padEnd(8)}${c.summary}`)
  .join('\n')}
  help    show help for a command (weft help pub)

Flags:
  -h, --help      show this help
  -V, --version   print the version

Run 'weft COMMAND --help' for a command's flags.`;

type CommandModule = { run: (argv: string[]) => Promise<number> };

async function main(argv: string[]): Promise<{ code: number; exit: boolean }> {
  const [first, ...rest] = argv;
  if (first === undefined || first === '--help' || first === '-h') {
    process.stdout.write(USAGE + '\n');
    return { code: EXIT_OK, exit: true };
  }
  if (first === 'help') {
    if (rest[0] === undefined) {
      process.stdout.write(USAGE + '\n');
      return { code: EXIT_OK, exit: true };
    }
    return main([rest[0], '--help']);
  }
  if (first === '--version' || first === '-V' || first === 'version') {
    process.stdout.write(`weft ${VERSION}\n`);
    return { code: EXIT_OK, exit: true };
  }
  const command = Object.hasOwn(COMMANDS, first) ? COMMANDS[first] : undefined;
  if (command === undefined) {
    const what = first.startsWith('-') ? 'flag' : 'command';
    process.stderr.write(`weft: unknown ${what} ${JSON.stringify(first)}\n`);
    process.stderr.write(`Run 'weft --help' for the list of commands.\n`);
    return { code: EXIT_USAGE, exit: true };
  }
  const url = new URL(command.module, import.meta.url);
  if (!existsSync(fileURLToPath(url))) {
    process.stderr.write(`weft: command ${JSON.stringify(first)} is not available in this build\n`);
    return { code: EXIT_FAILURE, exit: true };
  }
  const mod = (await import(url.href)) as CommandModule;
  if (typeof mod.run !== 'function') {
    process.stderr.write(`weft: command ${JSON.stringify(first)} has no run()\n`);
    return { code: EXIT_FAILURE, exit: true };
  }
  if (!command.ownsLifecycle) exitQuietlyOnBrokenPipe();
  const code = await mod.run(rest);
  return { code, exit: !command.ownsLifecycle };
}

/** `weft sub foo | head -1`: a closed stdout ends the command, without a stack trace. */
function exitQuietlyOnBrokenPipe(): void {
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(EXIT_OK);
    throw err;
  });
}

/** Resolves once everything written so far to `stream` has been handed to the OS. */
function flushed(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => {
    if (stream.destroyed || !stream.writable) resolve();
    else stream.write('', () => resolve());
  });
}

main(process.argv.slice(2)).then(
  async ({ code, exit }) => {
    process.exitCode = code;
    if (exit) {
      // Client commands may leave timers or sockets behind in the client
      // library; once output is out, nothing is left to do.
      await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
      process.exit(code);
    }
  },
  (err: unknown) => {
    process.stderr.write(
      `weft: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exitCode = EXIT_FAILURE;
  },
);
