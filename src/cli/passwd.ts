/**
 * `weft passwd`: a bcrypt hash of a password, for a user's `password` in the
 * config (as `nats server passwd` does). The password comes from
 * `--password`, or from standard input (one line; a terminal is asked twice
 * without echo), never from a positional argument that `ps` would show.
 */
import { createInterface } from 'node:readline';
import bcrypt from 'bcryptjs';
import { type CommandSpec, EXIT_OK, parse, reportError, UsageError } from './args.js';

/** nats-server's default cost (`nats server passwd` uses 11). */
export const DEFAULT_COST = 11;
/** Shorter than this is refused: nats-server's tool asks for at least 8 characters. */
export const MIN_PASSWORD = 8;

const OPTIONS = {
  password: { type: 'string', short: 'p' },
  cost: { type: 'string' },
} as const;

const SPEC: CommandSpec<typeof OPTIONS> = {
  name: 'passwd',
  required: [],
  options: OPTIONS,
  usage: `Usage: weft passwd [flags]

Prints a bcrypt hash of a password for a user's "password" in the config
(users: [{user: alice, password: "$2a$11$..."}]). The password is read from
standard input (asked twice on a terminal) unless --password is given.

Flags:
  -p, --password TEXT  the password (visible to ps: prefer standard input)
      --cost N         bcrypt cost, 4 to 31 (default ${DEFAULT_COST})

Examples:
  weft passwd
  echo 's3cret-pass' | weft passwd`,
};

async function readLine(prompt: string, terminal: boolean): Promise<string> {
  const rl = createInterface({
    input: process.stdin,
    output: terminal ? process.stderr : undefined,
    terminal,
  });
  try {
    if (terminal) {
      // Typed characters are not echoed.
      (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput = (s: string) => {
        if (s.startsWith(prompt)) process.stderr.write(prompt);
      };
    }
    return await new Promise<string>((resolve, reject) => {
      rl.question(prompt, resolve);
      rl.once('close', () => reject(new UsageError('no password on standard input')));
    });
  } finally {
    rl.close();
    if (terminal) process.stderr.write('\n');
  }
}

export async function run(argv: string[]): Promise<number> {
  try {
    const { values, help } = parse(SPEC, argv);
    if (help) {
      process.stdout.write(SPEC.usage + '\n');
      return EXIT_OK;
    }
    const cost = values.cost === undefined ? DEFAULT_COST : Number(values.cost);
    if (!Number.isInteger(cost) || cost < 4 || cost > 31) {
      throw new UsageError(
        `--cost: must be a whole number from 4 to 31, got ${JSON.stringify(values.cost)}`,
      );
    }
    let password = values.password;
    if (password === undefined) {
      const tty = process.stdin.isTTY === true;
      password = await readLine(tty ? 'Password: ' : '', tty);
      if (tty && (await readLine('Again: ', true)) !== password) {
        throw new UsageError('the two passwords differ');
      }
    }
    if (password.length < MIN_PASSWORD) {
      throw new UsageError(`the password must have at least ${MIN_PASSWORD} characters`);
    }
    // bcryptjs writes $2b$; $2a$ is the same hash for any password under
    // 72 bytes and is the prefix every nats-server version reads as bcrypt.
    const hash = (await bcrypt.hash(password, cost)).replace(/^\$2b\$/, '$2a$');
    process.stdout.write(`${hash}\n`);
    return EXIT_OK;
  } catch (err) {
    return reportError('passwd', err);
  }
}
