/**
 * A compact way to write a command's table entry: name, Redis's arity and
 * flags, key positions (none unless given), and its run.
 */
import type { Command, CommandContext, CommandFlag, CommandResult } from '../command.js';

export function command(
  name: string,
  arity: number,
  flags: readonly CommandFlag[],
  run: ((ctx: CommandContext, args: readonly Buffer[]) => CommandResult) | undefined,
  more: Partial<Pick<Command, 'firstKey' | 'lastKey' | 'step' | 'subcommands' | 'concurrent'>> = {},
): Command {
  return {
    name,
    arity,
    flags,
    firstKey: more.firstKey ?? 0,
    lastKey: more.lastKey ?? 0,
    step: more.step ?? 0,
    ...(more.subcommands !== undefined ? { subcommands: more.subcommands } : {}),
    ...(more.concurrent !== undefined ? { concurrent: more.concurrent } : {}),
    ...(run !== undefined ? { run } : {}),
  };
}

/** An argument as text (option names, numbers). */
export function str(b: Buffer): string {
  return b.toString('utf8');
}

/** An option word, compared case-insensitively. */
export function is(b: Buffer, word: string): boolean {
  return b.length === word.length && b.toString('latin1').toLowerCase() === word;
}

/** A Redis integer argument (strict: an optional minus and digits, 64-bit), or null. */
export function integer(b: Buffer): bigint | null {
  const s = b.toString('latin1');
  if (!/^-?(0|[1-9][0-9]*)$/.test(s)) return null;
  const n = BigInt(s);
  if (n > 9223372036854775807n || n < -9223372036854775808n) return null;
  return n;
}

export const NOT_INTEGER = 'ERR value is not an integer or out of range';
export const SYNTAX = 'ERR syntax error';
