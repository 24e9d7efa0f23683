/**
 * Finding the command a request names, and checking its arity, with
 * Redis 7's own error texts (clients and people match on them). Pure: the
 * table and the arguments in, a command or an error text out.
 */
import type { Command } from './command.js';
import { RecentNames } from './recent-names.js';

export { sameBytes } from './recent-names.js';

/** Commands a RESP2 client may send while subscribed (Redis's words in SUBSCRIBE_MODE_ERROR). */
const SUBSCRIBE_MODE_OK = new Set([
  'subscribe',
  'unsubscribe',
  'psubscribe',
  'punsubscribe',
  'ssubscribe',
  'sunsubscribe',
  'ping',
  'quit',
  'reset',
]);

/** Whether a RESP2 connection in subscribe mode may run the command `name` (lower case). */
export function allowedWhileSubscribed(name: string): boolean {
  return SUBSCRIBE_MODE_OK.has(name);
}

/** Commands by lower-case name. */
export type CommandTable = ReadonlyMap<string, Command>;

export function buildTable(commands: readonly Command[]): CommandTable {
  const table = new Map<string, Command>();
  for (const c of commands) {
    if (table.has(c.name)) throw new Error(`redis command ${c.name} defined twice`);
    table.set(c.name, c);
  }
  return table;
}

/** Redis's error texts are one line: CR and LF become spaces (addReplyErrorFormat). */
function oneLine(s: string): string {
  return s.replace(/[\r\n]/g, ' ');
}

function text(b: Buffer, max: number): string {
  return b.subarray(0, max).toString('utf8');
}

/**
 * `unknown command 'foo', with args beginning with: 'a' 'b' ` as Redis 7
 * words it: the name cut at 128 bytes, then each argument quoted and
 * followed by a space, while the list is shorter than 128 bytes (the last
 * one cut to what is left of them).
 */
export function unknownCommand(args: readonly Buffer[]): string {
  let list = '';
  for (let i = 1; i < args.length && Buffer.byteLength(list) < 128; i++) {
    list += `'${text(args[i]!, 128 - Buffer.byteLength(list))}' `;
  }
  return oneLine(`ERR unknown command '${text(args[0]!, 128)}', with args beginning with: ${list}`);
}

export function wrongArity(name: string): string {
  return `ERR wrong number of arguments for '${name}' command`;
}

function arityOk(arity: number, n: number): boolean {
  return arity > 0 ? n === arity : n >= -arity;
}

/** The command found, or Redis's error text (a string). */
export type Lookup = Command | string;

/**
 * Most command names remembered with their command (`find`), in the bytes
 * a client sent them: a client alternates a few commands (XREADGROUP and
 * XACK; XADD, PUBLISH), and a miss is a string, its lower case, a copy of
 * the name and a hash lookup. One name was remembered before, so every
 * command of an alternating client missed (bench/PROFILE.md, "Issue 16 —
 * rgroup5 (round 11)"). Replaced round-robin.
 */
export const NAMES_CACHED = 8;
/** Names of commands found, by the bytes sent (for `cachedTable`): also read by the tests. */
export const recentCommands = new RecentNames<Command>(NAMES_CACHED, 32);
let cachedTable: CommandTable | null = null;

function find(table: CommandTable, name: Buffer): Command | undefined {
  if (cachedTable !== table) {
    cachedTable = table;
    recentCommands.clear();
  } else {
    const hit = recentCommands.get(name);
    if (hit !== undefined) return hit;
  }
  const cmd = table.get(name.toString('latin1').toLowerCase());
  // Only commands found are kept: unknown names do not push them out.
  if (cmd !== undefined) recentCommands.add(name, cmd);
  return cmd;
}

/** The command `args` names (a subcommand where the command has them), or Redis's error. */
export function lookup(table: CommandTable, args: readonly Buffer[]): Lookup {
  const cmd = find(table, args[0]!);
  if (cmd === undefined) return unknownCommand(args);
  if (!arityOk(cmd.arity, args.length)) return wrongArity(cmd.name);
  const subs = cmd.subcommands;
  if (subs === undefined || subs.length === 0 || args.length < 2) return cmd;
  const want = `${cmd.name}|${args[1]!.toString('latin1').toLowerCase()}`;
  const sub = subs.find((s) => s.name === want);
  if (sub === undefined) {
    return oneLine(
      `ERR unknown subcommand '${text(args[1]!, 128)}'. Try ${cmd.name.toUpperCase()} HELP.`,
    );
  }
  if (!arityOk(sub.arity, args.length)) return wrongArity(sub.name);
  return sub;
}
