/**
 * Command-line parsing shared by every `weft` subcommand: a thin layer over
 * `node:util` parseArgs that turns its errors into one clear line naming the
 * offending flag, plus number and duration parsers with precise messages.
 *
 * Exit codes follow the usual convention: 0 success, 1 runtime failure
 * (server unreachable, timeout, …), 2 bad usage.
 */
import { type ParseArgsConfig, parseArgs } from 'node:util';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** A failure the user can fix; `code` is the process exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly code: number = EXIT_FAILURE,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** Bad flags or arguments: exit 2 and point at --help. */
export class UsageError extends CliError {
  constructor(message: string) {
    super(message, EXIT_USAGE);
    this.name = 'UsageError';
  }
}

type OptionsConfig = NonNullable<ParseArgsConfig['options']>;

/** Parsed flag values: every flag optional, typed by its declared kind. */
export type Values<O extends OptionsConfig> = {
  [K in keyof O]?: O[K] extends { type: 'boolean' }
    ? O[K] extends { multiple: true }
      ? boolean[]
      : boolean
    : O[K] extends { multiple: true }
      ? string[]
      : string;
};

export interface Parsed<O extends OptionsConfig> {
  values: Values<O>;
  positionals: string[];
  /** `-h`/`--help` was given: print the usage and stop. */
  help: boolean;
}

export interface CommandSpec<O extends OptionsConfig> {
  /** Subcommand name as typed, e.g. `pub`. */
  name: string;
  /** Full help text printed by `--help`. */
  usage: string;
  options: O;
  /** Names of required positionals, then optional ones (e.g. SUBJECT, then DATA). */
  required: readonly string[];
  optional?: readonly string[];
}

const HELP = { help: { type: 'boolean', short: 'h' } } as const;

/** Parses argv against a spec; throws UsageError with a precise message. */
export function parse<O extends OptionsConfig>(spec: CommandSpec<O>, argv: string[]): Parsed<O> {
  let parsed: { values: Record<string, unknown>; positionals: string[] };
  try {
    parsed = parseArgs({
      args: joinNegativeValues(spec.options, argv),
      options: { ...spec.options, ...HELP },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    throw new UsageError(describeParseError(err));
  }
  const { values, positionals } = parsed;
  const help = values['help'] === true;
  if (!help) {
    const optional = spec.optional ?? [];
    if (positionals.length < spec.required.length) {
      throw new UsageError(`missing ${spec.required[positionals.length]}`);
    }
    if (positionals.length > spec.required.length + optional.length) {
      const extra = positionals[spec.required.length + optional.length];
      const hint = optional.length > 0 ? ` (quote ${optional.at(-1)} if it contains spaces)` : '';
      throw new UsageError(`unexpected argument ${JSON.stringify(extra)}${hint}`);
    }
  }
  return { values: values as Values<O>, positionals, help };
}

/**
 * parseArgs reads `--port -1` as two flags; a value that is a negative number
 * is plainly meant as the value, so rewrite it as `--port=-1` first.
 */
function joinNegativeValues(options: OptionsConfig, argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      out.push(...argv.slice(i));
      break;
    }
    const next = argv[i + 1];
    const long = /^--([^=]+)$/.exec(arg)?.[1];
    const name =
      long ??
      (/^-[^-]$/.test(arg)
        ? Object.keys(options).find((k) => options[k]!.short === arg[1])
        : undefined);
    if (
      name !== undefined &&
      options[name]?.type === 'string' &&
      next !== undefined &&
      /^-\d+(\.\d+)?[a-z]*$/i.test(next)
    ) {
      out.push(`--${name}=${next}`);
      i++;
    } else {
      out.push(arg);
    }
  }
  return out;
}

/** Rewrites parseArgs' TypeErrors (ERR_PARSE_ARGS_*) as one line naming the flag. */
function describeParseError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as NodeJS.ErrnoException).code;
  const msg = err.message;
  // parseArgs names the option as '--long', '-s' or '-s, --long <value>'.
  const flag = /--[\w-]+/.exec(msg)?.[0] ?? /'(-[^\s',]+)/.exec(msg)?.[1] ?? '?';
  switch (code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown flag ${flag}`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      if (msg.includes('does not take an argument')) return `flag ${flag} does not take a value`;
      if (msg.includes('ambiguous')) {
        return `flag ${flag} needs a value (to pass one starting with "-", write ${flag}=VALUE)`;
      }
      return `flag ${flag} needs a value`;
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL': {
      const arg = /'([^']*)'/.exec(msg)?.[1];
      return arg === undefined
        ? 'unexpected argument'
        : `unexpected argument ${JSON.stringify(arg)}`;
    }
    default:
      return msg;
  }
}

export interface IntRange {
  min?: number;
  max?: number;
}

/** Parses a base-10 integer flag value, e.g. `--count 10`. */
export function parseInteger(flag: string, text: string, range: IntRange = {}): number {
  const { min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER } = range;
  const t = text.trim().replaceAll('_', '');
  if (!/^[+-]?\d+$/.test(t)) {
    throw new UsageError(`${flag} must be an integer, got ${JSON.stringify(text)}`);
  }
  const n = Number(t);
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    const bounds =
      max === Number.MAX_SAFE_INTEGER
        ? `at least ${min}`
        : min === Number.MIN_SAFE_INTEGER
          ? `at most ${max}`
          : `between ${min} and ${max}`;
    throw new UsageError(`${flag} must be ${bounds}, got ${JSON.stringify(text)}`);
  }
  return n;
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * Parses a duration such as `500ms`, `2s`, `1.5s`, `1m30s` into milliseconds.
 * A unit is required (a bare `5` is ambiguous between seconds and ms).
 */
export function parseDuration(flag: string, text: string, range: IntRange = {}): number {
  const t = text.trim();
  const bad = (why: string) => new UsageError(`${flag} ${why}, got ${JSON.stringify(text)}`);
  let ms = 0;
  if (t !== '0') {
    if (/^\d+(\.\d+)?$/.test(t)) throw bad('needs a unit: ms, s, m or h (e.g. 2s)');
    if (t === '') throw bad('must be a duration like 500ms, 2s, 1m30s');
    const part = /(\d+(?:\.\d+)?)(ms|s|m|h)/y;
    while (part.lastIndex < t.length) {
      const m = part.exec(t);
      if (m === null) throw bad('must be a duration like 500ms, 2s, 1m30s');
      ms += Number(m[1]) * UNIT_MS[m[2]!]!;
    }
  }
  ms = Math.round(ms);
  const { min = 0, max = Number.MAX_SAFE_INTEGER } = range;
  if (ms < min) throw bad(`must be at least ${formatDuration(min)}`);
  if (ms > max) throw bad(`must be at most ${formatDuration(max)}`);
  return ms;
}

/** Renders milliseconds the way parseDuration reads them back (`1.5s`, `250ms`). */
export function formatDuration(ms: number): string {
  if (ms < 1000 || ms % 1 !== 0) return `${ms}ms`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  return `${ms / 1000}s`;
}

/** Prints a CliError the way every command does; returns its exit code. */
export function reportError(command: string, err: unknown): number {
  if (err instanceof CliError) {
    process.stderr.write(`weft ${command}: ${err.message}\n`);
    if (err instanceof UsageError) {
      process.stderr.write(`Run 'weft ${command} --help' for usage.\n`);
    }
    return err.code;
  }
  const msg = err instanceof Error ? err.message : String(err);
  process.stderr.write(`weft ${command}: ${msg}\n`);
  return EXIT_FAILURE;
}
