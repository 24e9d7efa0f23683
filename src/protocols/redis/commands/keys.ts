/**
 * The keyspace as a Redis client sees it on Weft: every key is a stream
 * of the account (stream-map.ts), on any node of the mesh. DEL/UNLINK,
 * EXISTS, TYPE, KEYS and SCAN (MATCH, COUNT, TYPE) work on them; TTL says
 * that no key expires. Weft is not a cache: EXPIRE and its kin, and the
 * commands of Redis's other data types (strings, lists, hashes, sets,
 * sorted sets, …) answer a clear -ERR — or WRONGTYPE, as Redis would,
 * when the key is a stream.
 *
 * A listing (KEYS, SCAN) is bounded by the account's streams (the
 * JetStream account limits); SCAN's cursor is a position in the sorted
 * list of names, so a stream made or deleted between calls may be seen
 * twice or missed, as Redis allows for keys changed during a scan.
 */
import type { Command, CommandContext } from '../command.js';
import { R, type Reply } from '../encoder.js';
import { globMatch } from '../glob.js';
import { streamsOf } from '../stream-access.js';
import { keyOfStream } from '../stream-map.js';
import { command, integer, is, SYNTAX } from './define.js';
import { failure, hidden, mayRead, mayWrite, nameOf } from './stream-args.js';

/** Names whose streams the client may see (not the node's own state streams). */
async function visibleKeys(ctx: CommandContext): Promise<Buffer[]> {
  const streams = streamsOf(ctx.face);
  const out: Buffer[] = [];
  for (const name of await streams.names(ctx.client.account)) {
    if (name.startsWith('$MQTT_') || name.startsWith('$WEFT')) continue;
    out.push(keyOfStream(name));
  }
  return out;
}

async function del(ctx: CommandContext, args: readonly Buffer[]): Promise<Reply> {
  const streams = streamsOf(ctx.face);
  let n = 0;
  try {
    for (const key of args.slice(1)) {
      const name = nameOf(key);
      if (typeof name !== 'string') continue;
      await streams.settled(ctx.client.account, name);
      const v = await streams.open(ctx.client.account, name);
      if (v === null) continue;
      const no = mayWrite(ctx, v);
      if (no !== null) return R.error(no);
      await v.destroy();
      n++;
    }
  } catch (err) {
    return failure(err);
  }
  return R.int(n);
}

async function exists(ctx: CommandContext, args: readonly Buffer[]): Promise<Reply> {
  const streams = streamsOf(ctx.face);
  let n = 0;
  try {
    for (const key of args.slice(1)) {
      const name = nameOf(key);
      if (typeof name !== 'string') continue;
      await streams.settled(ctx.client.account, name);
      const v = await streams.open(ctx.client.account, name);
      if (v !== null && !hidden(v)) n++;
    }
  } catch (err) {
    return failure(err);
  }
  return R.int(n);
}

/** Whether the key is a stream the client may see. */
async function isStream(ctx: CommandContext, key: Buffer): Promise<boolean> {
  const name = nameOf(key);
  if (typeof name !== 'string') return false;
  const v = await streamsOf(ctx.face).open(ctx.client.account, name);
  return v !== null && !hidden(v) && mayRead(ctx, v) === null;
}

async function type(ctx: CommandContext, args: readonly Buffer[]): Promise<Reply> {
  try {
    return R.simple((await isStream(ctx, args[1]!)) ? 'stream' : 'none');
  } catch (err) {
    return failure(err);
  }
}

async function keys(ctx: CommandContext, args: readonly Buffer[]): Promise<Reply> {
  try {
    const all = await visibleKeys(ctx);
    return R.array(all.filter((k) => globMatch(args[1]!, k)).map((k) => R.bulk(k)));
  } catch (err) {
    return failure(err);
  }
}

async function scan(ctx: CommandContext, args: readonly Buffer[]): Promise<Reply> {
  const c = /^[0-9]+$/.test(args[1]!.toString('latin1')) ? Number(args[1]!.toString('latin1')) : -1;
  if (!Number.isSafeInteger(c) || c < 0) return R.error('ERR invalid cursor');
  let pattern: Buffer | null = null;
  let count = 10;
  let typeName: string | null = null;
  for (let i = 2; i < args.length; i += 2) {
    if (i + 1 >= args.length) return R.error(SYNTAX);
    const v = args[i + 1]!;
    if (is(args[i]!, 'match')) pattern = v;
    else if (is(args[i]!, 'count')) {
      const n = integer(v);
      if (n === null) return R.error('ERR value is not an integer or out of range');
      if (n < 1n) return R.error(SYNTAX);
      count = n > 1_000_000n ? 1_000_000 : Number(n);
    } else if (is(args[i]!, 'type')) typeName = v.toString('latin1').toLowerCase();
    else return R.error(SYNTAX);
  }
  try {
    const all = await visibleKeys(ctx);
    const page = all.slice(c, c + count);
    const next = c + count >= all.length ? 0 : c + count;
    const shown = page.filter(
      (k) =>
        (pattern === null || globMatch(pattern, k)) && (typeName === null || typeName === 'stream'),
    );
    return R.array([R.bulk(String(next)), R.array(shown.map((k) => R.bulk(k)))]);
  } catch (err) {
    return failure(err);
  }
}

async function ttl(ctx: CommandContext, args: readonly Buffer[]): Promise<Reply> {
  try {
    return R.int((await isStream(ctx, args[1]!)) ? -1 : -2);
  } catch (err) {
    return failure(err);
  }
}

function noExpiry(_ctx: CommandContext, args: readonly Buffer[]): Reply {
  return R.error(
    `ERR Weft streams do not expire: ${args[0]!.toString('latin1').toUpperCase()} is not supported (give the stream a max_age instead)`,
  );
}

/**
 * A command of another data type: WRONGTYPE on a stream key, as Redis
 * answers; else Weft's refusal.
 */
function notACache(kind: string) {
  return async (ctx: CommandContext, args: readonly Buffer[]): Promise<Reply> => {
    const name = args[0]!.toString('latin1').toUpperCase();
    if (args.length > 1) {
      try {
        if (await isStream(ctx, args[1]!)) {
          return R.error('WRONGTYPE Operation against a key holding the wrong kind of value');
        }
      } catch {
        // Not reachable: the refusal below says enough.
      }
    }
    return R.error(
      `ERR Weft is not a cache: ${name} (${kind}) is not supported; Weft serves streams, consumer groups and pub/sub`,
    );
  };
}

/** Other data types' commands: [name, arity, kind]. */
const OTHER_TYPES: readonly (readonly [string, number, string])[] = [
  ['get', 2, 'strings'],
  ['set', -3, 'strings'],
  ['setnx', 3, 'strings'],
  ['setex', 4, 'strings'],
  ['psetex', 4, 'strings'],
  ['getset', 3, 'strings'],
  ['getdel', 2, 'strings'],
  ['getex', -2, 'strings'],
  ['mget', -2, 'strings'],
  ['mset', -3, 'strings'],
  ['msetnx', -3, 'strings'],
  ['append', 3, 'strings'],
  ['strlen', 2, 'strings'],
  ['incr', 2, 'strings'],
  ['incrby', 3, 'strings'],
  ['incrbyfloat', 3, 'strings'],
  ['decr', 2, 'strings'],
  ['decrby', 3, 'strings'],
  ['getrange', 4, 'strings'],
  ['setrange', 4, 'strings'],
  ['setbit', 4, 'strings'],
  ['getbit', 3, 'strings'],
  ['bitcount', -2, 'strings'],
  ['lpush', -3, 'lists'],
  ['rpush', -3, 'lists'],
  ['lpop', -2, 'lists'],
  ['rpop', -2, 'lists'],
  ['llen', 2, 'lists'],
  ['lrange', 4, 'lists'],
  ['lindex', 3, 'lists'],
  ['lset', 4, 'lists'],
  ['lrem', 4, 'lists'],
  ['ltrim', 4, 'lists'],
  ['blpop', -3, 'lists'],
  ['brpop', -3, 'lists'],
  ['lmove', 5, 'lists'],
  ['hset', -4, 'hashes'],
  ['hsetnx', 4, 'hashes'],
  ['hget', 3, 'hashes'],
  ['hmset', -4, 'hashes'],
  ['hmget', -3, 'hashes'],
  ['hgetall', 2, 'hashes'],
  ['hdel', -3, 'hashes'],
  ['hlen', 2, 'hashes'],
  ['hexists', 3, 'hashes'],
  ['hkeys', 2, 'hashes'],
  ['hvals', 2, 'hashes'],
  ['hincrby', 4, 'hashes'],
  ['sadd', -3, 'sets'],
  ['srem', -3, 'sets'],
  ['smembers', 2, 'sets'],
  ['sismember', 3, 'sets'],
  ['scard', 2, 'sets'],
  ['spop', -2, 'sets'],
  ['zadd', -4, 'sorted sets'],
  ['zrem', -3, 'sorted sets'],
  ['zrange', -4, 'sorted sets'],
  ['zscore', 3, 'sorted sets'],
  ['zcard', 2, 'sorted sets'],
  ['zincrby', 4, 'sorted sets'],
  ['pfadd', -2, 'HyperLogLog'],
  ['pfcount', -2, 'HyperLogLog'],
  ['geoadd', -5, 'geo'],
  ['rename', 3, 'keyspace'],
  ['renamenx', 3, 'keyspace'],
  ['copy', -3, 'keyspace'],
  ['move', 3, 'keyspace'],
  ['dump', 2, 'keyspace'],
  ['restore', -4, 'keyspace'],
  ['flushdb', -1, 'keyspace'],
  ['flushall', -1, 'keyspace'],
  ['randomkey', 1, 'keyspace'],
  ['dbsize', 1, 'keyspace'],
];

const KEY1 = { firstKey: 1, lastKey: 1, step: 1 };
const KEYS_ALL = { firstKey: 1, lastKey: -1, step: 1 };

export const KEY_COMMANDS: readonly Command[] = [
  command('del', -2, ['write'], del, KEYS_ALL),
  command('unlink', -2, ['write', 'fast'], del, KEYS_ALL),
  command('exists', -2, ['readonly', 'fast'], exists, KEYS_ALL),
  command('type', 2, ['readonly', 'fast'], type, KEY1),
  command('keys', 2, ['readonly'], keys),
  command('scan', -2, ['readonly'], scan),
  command('ttl', 2, ['readonly', 'fast'], ttl, KEY1),
  command('pttl', 2, ['readonly', 'fast'], ttl, KEY1),
  command('expire', -3, ['write', 'fast'], noExpiry, KEY1),
  command('pexpire', -3, ['write', 'fast'], noExpiry, KEY1),
  command('expireat', -3, ['write', 'fast'], noExpiry, KEY1),
  command('pexpireat', -3, ['write', 'fast'], noExpiry, KEY1),
  command('persist', 2, ['write', 'fast'], noExpiry, KEY1),
  ...OTHER_TYPES.map(([name, arity, kind]) =>
    command(name, arity, ['readonly'], notACache(kind), arity === 1 || arity === -1 ? {} : KEY1),
  ),
];
