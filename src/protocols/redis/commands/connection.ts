/**
 * Connection commands: HELLO, AUTH, PING, ECHO, SELECT, CLIENT …, QUIT,
 * RESET — what clients send on connect and to keep the connection alive,
 * with Redis 7's replies and error texts.
 */
import type { RedisClient } from '../client.js';
import type { Command, CommandContext } from '../command.js';
import { R, type Reply } from '../encoder.js';
import { command, integer, is, NOT_INTEGER, SYNTAX, str } from './define.js';

/** The Redis version Weft answers as (the behaviour it is checked against: redis-server 7.0). */
export const REDIS_VERSION = '7.0.15';

function client(ctx: CommandContext): RedisClient {
  return ctx.client as RedisClient;
}

/** A client name: printable ASCII without spaces, as Redis's clientSetName checks. */
function badName(b: Buffer): boolean {
  for (const c of b) if (c < 0x21 || c > 0x7e) return true;
  return false;
}
const BAD_NAME = 'ERR Client names cannot contain spaces, newlines or special characters.';

function helloMap(ctx: CommandContext): Reply {
  const c = client(ctx);
  return R.map([
    [R.bulk('server'), R.bulk('redis')],
    [R.bulk('version'), R.bulk(REDIS_VERSION)],
    [R.bulk('proto'), R.int(c.protocol)],
    [R.bulk('id'), R.int(c.id)],
    [R.bulk('mode'), R.bulk('standalone')],
    [R.bulk('role'), R.bulk('master')],
    [R.bulk('modules'), R.array([])],
  ]);
}

async function hello(ctx: CommandContext, args: readonly Buffer[]): Promise<Reply> {
  const c = client(ctx);
  let ver: 2 | 3 | null = null;
  if (args.length >= 2) {
    const v = integer(args[1]!);
    if (v === null) return R.error('ERR Protocol version is not an integer or out of range');
    if (v < 2n || v > 3n) return R.error('NOPROTO unsupported protocol version');
    ver = v === 3n ? 3 : 2;
  }
  let user: Buffer | null = null;
  let pass: Buffer | null = null;
  let name: Buffer | null = null;
  for (let j = 2; j < args.length; j++) {
    const more = args.length - 1 - j;
    if (is(args[j]!, 'auth') && more >= 2) {
      user = args[j + 1]!;
      pass = args[j + 2]!;
      j += 2;
    } else if (is(args[j]!, 'setname') && more >= 1) {
      name = args[j + 1]!;
      j++;
    } else {
      return R.error(`ERR Syntax error in HELLO option '${str(args[j]!)}'`);
    }
  }
  if (user !== null && pass !== null) {
    const refused = await c.login(str(user), str(pass));
    if (refused !== null) return refused;
  }
  if (!c.authenticated) {
    return R.error(
      'NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time',
    );
  }
  if (name !== null) {
    if (badName(name)) return R.error(BAD_NAME);
    c.name = str(name);
  }
  if (ver !== null) c.setProtocol(ver);
  return helloMap(ctx);
}

async function auth(ctx: CommandContext, args: readonly Buffer[]): Promise<Reply> {
  if (args.length > 3) return R.error(SYNTAX);
  const c = client(ctx);
  const refused =
    args.length === 2
      ? await c.login(null, str(args[1]!))
      : await c.login(str(args[1]!), str(args[2]!));
  return refused ?? R.ok;
}

function ping(ctx: CommandContext, args: readonly Buffer[]): Reply {
  if (args.length > 2) return R.error("ERR wrong number of arguments for 'ping' command");
  const c = client(ctx);
  if (c.protocol === 2 && c.subscribed) {
    return R.array([R.bulk('pong'), R.bulk(args.length === 2 ? args[1]! : '')]);
  }
  return args.length === 2 ? R.bulk(args[1]!) : R.simple('PONG');
}

function select(_ctx: CommandContext, args: readonly Buffer[]): Reply {
  const n = integer(args[1]!);
  if (n === null) return R.error(NOT_INTEGER);
  // Weft has one keyspace, as Redis Cluster: database 0 alone.
  if (n !== 0n) return R.error('ERR SELECT is not allowed in cluster mode');
  return R.ok;
}

function verbatim(ctx: CommandContext, text: string): Reply {
  return ctx.client.protocol === 3 ? { t: 'verbatim', format: 'txt', v: text } : R.bulk(text);
}

const CLIENT_SUBCOMMANDS: readonly Command[] = [
  command('client|id', 2, ['noscript', 'loading', 'stale'], (ctx) => R.int(ctx.client.id)),
  command('client|getname', 2, ['noscript', 'loading', 'stale'], (ctx) => {
    const name = client(ctx).name;
    return name === '' ? R.null : R.bulk(name);
  }),
  command('client|setname', 3, ['noscript', 'loading', 'stale'], (ctx, args) => {
    if (badName(args[2]!)) return R.error(BAD_NAME);
    client(ctx).name = str(args[2]!);
    return R.ok;
  }),
  command('client|setinfo', 4, ['noscript', 'loading', 'stale'], (ctx, args) => {
    const c = client(ctx);
    const value = args[3]!;
    for (const b of value) {
      if (b < 0x21 || b > 0x7e) {
        return R.error(
          `ERR ${str(args[2]!)} cannot contain spaces, newlines or special characters.`,
        );
      }
    }
    if (is(args[2]!, 'lib-name')) c.libName = str(value);
    else if (is(args[2]!, 'lib-ver')) c.libVersion = str(value);
    else return R.error(`ERR Unrecognized option '${str(args[2]!)}'`);
    return R.ok;
  }),
  command('client|info', 2, ['noscript', 'loading', 'stale'], (ctx) =>
    verbatim(ctx, `${client(ctx).info()}\n`),
  ),
  command('client|list', -2, ['admin', 'noscript', 'loading', 'stale'], (ctx, args) => {
    if (args.length > 2) {
      if (!is(args[2]!, 'type') && !is(args[2]!, 'id')) return R.error(SYNTAX);
    }
    // A client sees the connections of its own account.
    const account = ctx.client.account;
    let text = '';
    for (const other of ctx.face.core.clients()) {
      if (other.authenticated && other.account === account) text += `${other.info()}\n`;
    }
    return verbatim(ctx, text);
  }),
  command('client|no-evict', 3, ['admin', 'noscript', 'loading', 'stale'], () => R.ok),
  command('client|no-touch', 3, ['noscript', 'loading', 'stale'], () => R.ok),
  command('client|help', 2, ['loading', 'stale'], () =>
    R.array(
      [
        'CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
        'GETNAME',
        '    Return the name of the current connection.',
        'ID',
        '    Return the ID of the current connection.',
        'INFO',
        '    Return information about the current client connection.',
        'LIST',
        '    Return information about client connections of this account.',
        'SETINFO <LIB-NAME|LIB-VER> <value>',
        '    Set client library name or version.',
        'SETNAME <name>',
        '    Assign the name <name> to the current connection.',
        'HELP',
        '    Print this help.',
      ].map((l) => R.simple(l)),
    ),
  ),
];

export const CONNECTION_COMMANDS: readonly Command[] = [
  command('hello', -1, ['noscript', 'loading', 'stale', 'fast', 'no_auth', 'allow_busy'], hello),
  command('auth', -2, ['noscript', 'loading', 'stale', 'fast', 'no_auth', 'allow_busy'], auth),
  command('ping', -1, ['fast'], ping),
  command('echo', 2, ['fast'], (_ctx, args) => R.bulk(args[1]!)),
  command('select', 2, ['loading', 'stale', 'fast'], select),
  command('client', -2, [], undefined, { subcommands: CLIENT_SUBCOMMANDS }),
  command('quit', -1, ['allow_busy', 'noscript', 'loading', 'stale', 'fast', 'no_auth'], (ctx) => {
    client(ctx).quit();
    return R.ok;
  }),
  command('reset', 1, ['noscript', 'loading', 'stale', 'fast', 'no_auth', 'allow_busy'], (ctx) => {
    client(ctx).reset();
    return R.simple('RESET');
  }),
];
