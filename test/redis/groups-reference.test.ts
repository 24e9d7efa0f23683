/**
 * Consumer groups against redis-server: the same script of commands is run
 * on a Weft node and on Debian's redis-server 7.0, and every reply —
 * values, nils, and error texts, which clients match on — must be the
 * same. Idle times and delivery times are masked (they depend on the
 * moment); everything else is compared as it is. Skipped, with the
 * reason, only when redis-server is missing outside CI.
 */
import assert from 'node:assert/strict';
import { connect as netConnect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { checkFor } from '../helpers/poll.js';
import { HAVE_REDIS, type RedisNode, startRedisNode, startRedisServer } from './groups-helpers.js';

type Step =
  | string
  /** An entry (XADD with this ID on redis-server). */
  | { add: [string, string, ...string[]] }
  /** An entry removed (XDEL on redis-server). */
  | { del: [string, string] };

/** Masks the times in replies whose value depends on the moment. */
function mask(cmd: string, reply: unknown): unknown {
  const c = cmd.toUpperCase();
  if (c.startsWith('XPENDING') && cmd.split(' ').length > 3 && Array.isArray(reply)) {
    return reply.map((e) => (Array.isArray(e) ? [e[0], e[1], '<idle>', e[3]] : e));
  }
  if (c.startsWith('XINFO CONSUMERS') && Array.isArray(reply)) {
    return reply.map((e) =>
      Array.isArray(e) ? e.map((v, i) => (i > 0 && e[i - 1] === 'idle' ? '<idle>' : v)) : e,
    );
  }
  if (c.startsWith('XINFO STREAM') && Array.isArray(reply)) {
    // The groups part only (the rest is the streams commands'), times masked.
    const groups = reply[reply.indexOf('groups') + 1] as unknown[][];
    return groups.map((g) => {
      const out = [...g];
      const at = (k: string) => out.indexOf(k) + 1;
      out[at('pending')] = (out[at('pending')] as unknown[][]).map((p) => [
        p[0],
        p[1],
        '<t>',
        p[3],
      ]);
      out[at('consumers')] = (out[at('consumers')] as unknown[][]).map((cn) => {
        const x = [...cn];
        x[x.indexOf('seen-time') + 1] = '<t>';
        x[x.indexOf('pending') + 1] = (x[x.indexOf('pending') + 1] as unknown[][]).map((p) => [
          p[0],
          '<t>',
          p[2],
        ]);
        return x;
      });
      return out;
    });
  }
  return reply;
}

const SCRIPT: Step[] = [
  { add: ['s', '1-1', 'a', '1'] },
  { add: ['s', '2-1', 'b', '2'] },
  { add: ['s', '3-1', 'c', '3'] },
  // XGROUP
  'XGROUP CREATE s g 0',
  'XGROUP CREATE s g 0',
  'XGROUP CREATE nokey g 0',
  'XGROUP CREATE s g2 bad',
  'XGROUP CREATE s g2 -',
  'XGROUP CREATE s g2 0 ENTRIESREAD -5',
  'XGROUP CREATE s g2 0 ENTRIESREAD x',
  'XGROUP CREATE s g2 0 foo',
  'XGROUP CREATE s g3 $',
  'XGROUP CREATE s g4 1-1 ENTRIESREAD 1',
  'XGROUP CREATE s g5 0 ENTRIESREAD -1',
  'XINFO GROUPS s',
  'XGROUP SETID s nog 0',
  'XGROUP CREATECONSUMER s nog c',
  'XGROUP CREATECONSUMER nokey g c',
  'XGROUP CREATECONSUMER s g c0',
  'XGROUP CREATECONSUMER s g c0',
  'XGROUP DELCONSUMER s g c0',
  'XGROUP DELCONSUMER s g nobody',
  'XGROUP FOO s',
  'XGROUP CREATE s',
  'XGROUP DESTROY s',
  // XREADGROUP
  'XREADGROUP GROUP g c COUNT 1 STREAMS s >',
  'XREADGROUP GROUP g c STREAMS s >',
  'XREADGROUP GROUP g c STREAMS s >',
  'XREADGROUP GROUP g c STREAMS s 0',
  'XREADGROUP GROUP g c COUNT 1 STREAMS s 1-1',
  'XREADGROUP GROUP g c2 STREAMS s 0',
  'XREADGROUP GROUP g c2 STREAMS s >',
  'XREADGROUP GROUP g c3 STREAMS s s > 0',
  'XREADGROUP GROUP nog c STREAMS s >',
  'XREADGROUP GROUP g c STREAMS nokey >',
  'XREADGROUP GROUP g c STREAMS s $',
  'XREADGROUP GROUP g c STREAMS s x',
  'XREADGROUP GROUP g c STREAMS s s >',
  'XREADGROUP GROUP g c BLOCK -1 STREAMS s >',
  'XREADGROUP GROUP g c BLOCK x STREAMS s >',
  'XREADGROUP GROUP g c COUNT x STREAMS s >',
  'XREADGROUP GROUP g c FOO STREAMS s >',
  'XREADGROUP COUNT 1 STREAMS s >',
  'XREADGROUP GROUP g c COUNT 1',
  'XREADGROUP GROUP g c STREAMS',
  'XREADGROUP GROUP g4 c4 STREAMS s >',
  'XREADGROUP GROUP g3 c STREAMS s >',
  // XPENDING
  'XPENDING s g',
  'XPENDING s g - + 10',
  'XPENDING s g IDLE 0 - + 10 c',
  'XPENDING s g - + 10 nobody',
  'XPENDING s g (1-1 + 10',
  'XPENDING s g - (3-1 10',
  'XPENDING s g - + 1',
  'XPENDING s g - + -1',
  'XPENDING s g - +',
  'XPENDING s g - + x',
  'XPENDING s g IDLE x - + 10',
  'XPENDING s g IDLE 10 - +',
  'XPENDING s g x + 10',
  'XPENDING s nog',
  'XPENDING nokey g',
  'XPENDING s g3',
  // XINFO
  'XINFO GROUPS s',
  'XINFO CONSUMERS s g',
  'XINFO CONSUMERS s nog',
  'XINFO CONSUMERS nokey g',
  'XINFO GROUPS nokey',
  // XACK
  'XACK s g 1-1 bad',
  'XACK s g 1-1 1-1',
  'XACK s g 1-1',
  'XACK s nog 1-1',
  'XACK nokey g 1-1',
  'XACK s g -',
  // XCLAIM
  'XCLAIM s g d 0 2-1',
  'XCLAIM s g d 0 2-1 JUSTID',
  'XCLAIM s g d 0 3-1 RETRYCOUNT 7',
  'XCLAIM s g d 100000000 2-1',
  'XCLAIM s g newc 100000000 2-1',
  'XCLAIM s g4 e 0 2-1 FORCE',
  'XCLAIM s g4 e 100000000 3-1 FORCE',
  'XCLAIM s g4 e 0 9-9 FORCE',
  'XCLAIM s g d x 1-1',
  'XCLAIM s g d 0 1-1 IDLE x',
  'XCLAIM s g d 0 1-1 TIME x',
  'XCLAIM s g d 0 1-1 RETRYCOUNT x',
  'XCLAIM s g d 0 1-1 foo',
  'XCLAIM s g d 0 1-1 LASTID x',
  'XCLAIM s nog d 0 1-1',
  'XCLAIM nokey g d 0 1-1',
  'XCLAIM s g d 0 2-1 IDLE 5000 RETRYCOUNT 3',
  'XINFO CONSUMERS s g',
  'XPENDING s g',
  'XPENDING s g - + 10',
  'XPENDING s g4 - + 10',
  'XPENDING s g IDLE 4000 - + 10',
  'XINFO STREAM s FULL',
  'XINFO STREAM s FULL COUNT 1',
  // XAUTOCLAIM
  'XAUTOCLAIM s g f 0 0 COUNT 1',
  'XAUTOCLAIM s g f 0 0 COUNT 1 JUSTID',
  'XAUTOCLAIM s g f 0 (2-1',
  'XAUTOCLAIM s g f 100000000 0',
  'XAUTOCLAIM s g f 0 0 COUNT 0',
  'XAUTOCLAIM s g f 0 0 foo',
  'XAUTOCLAIM s g f x 0',
  'XAUTOCLAIM s g f 0 x',
  'XAUTOCLAIM s nog f 0 0',
  'XAUTOCLAIM nokey g f 0 0',
  'XPENDING s g',
  // Deleted entries: history shows them as nil, claims drop them.
  { add: ['s', '4-1', 'd', '4'] },
  'XREADGROUP GROUP g h STREAMS s >',
  { del: ['s', '4-1'] },
  'XREADGROUP GROUP g h STREAMS s 0',
  'XPENDING s g',
  'XCLAIM s g h 0 4-1',
  'XPENDING s g',
  { add: ['s', '5-1', 'e', '5'] },
  { add: ['s', '6-1', 'f', '6'] },
  'XREADGROUP GROUP g h STREAMS s >',
  { del: ['s', '5-1'] },
  'XAUTOCLAIM s g i 0 0',
  'XPENDING s g',
  'XINFO GROUPS s',
  'XINFO STREAM s FULL',
  // NOACK
  { add: ['s', '7-1', 'g', '7'] },
  'XREADGROUP GROUP g j NOACK STREAMS s >',
  'XPENDING s g',
  // SETID, DELCONSUMER, DESTROY
  'XGROUP SETID s g 0',
  'XINFO GROUPS s',
  'XGROUP SETID s g $ ENTRIESREAD 5',
  'XGROUP SETID s g (1',
  'XGROUP SETID s g 1-1 ENTRIESREAD',
  'XINFO GROUPS s',
  'XGROUP SETID s g 0',
  'XREADGROUP GROUP g k COUNT 2 STREAMS s >',
  'XPENDING s g',
  'XINFO CONSUMERS s g',
  'XGROUP DELCONSUMER s g k',
  'XGROUP DELCONSUMER s g k',
  'XINFO CONSUMERS s g',
  'XGROUP DESTROY s g',
  'XGROUP DESTROY s g',
  'XGROUP DESTROY nokey g',
  'XINFO GROUPS s',
  // MKSTREAM
  'XGROUP CREATE fresh g $ MKSTREAM',
  'XINFO GROUPS fresh',
  'XREADGROUP GROUP g c STREAMS fresh >',
  'XPENDING fresh g',
  // Entries-read unknown: estimated on each read from the stream's first entry
  // (kept while the first sequence stays), after its deletion too.
  { add: ['fe', '1-1', 'f', 'v'] },
  { add: ['fe', '2-1', 'f', 'v'] },
  { add: ['fe', '3-1', 'f', 'v'] },
  { add: ['fe', '4-1', 'f', 'v'] },
  'XGROUP CREATE fe g 0',
  'XGROUP CREATE fe g2 1-1',
  'XREADGROUP GROUP g c COUNT 1 STREAMS fe >',
  'XREADGROUP GROUP g2 c COUNT 1 STREAMS fe >',
  'XINFO GROUPS fe',
  'XREADGROUP GROUP g2 c COUNT 1 STREAMS fe >',
  'XINFO GROUPS fe',
  { del: ['fe', '1-1'] },
  'XGROUP SETID fe g2 0',
  'XREADGROUP GROUP g2 c COUNT 1 STREAMS fe >',
  'XINFO GROUPS fe',
  'XTRIM fe MAXLEN 2',
  'XGROUP SETID fe g2 2-1',
  'XREADGROUP GROUP g2 c COUNT 1 STREAMS fe >',
  'XINFO GROUPS fe',
];

async function run(r: Redis, words: string[]): Promise<unknown> {
  try {
    return await r.call(words[0]!, ...words.slice(1));
  } catch (err) {
    return `ERROR: ${(err as Error).message}`;
  }
}

describe('consumer groups against redis-server', {
  skip: HAVE_REDIS ? false : 'redis-server is not installed',
}, () => {
  let node: RedisNode;
  let ref: { port: number; stop(): void };
  let weft: Redis;
  let theirs: Redis;
  before(async () => {
    node = await startRedisNode();
    ref = await startRedisServer();
    weft = new Redis({ port: node.port, host: '127.0.0.1', maxRetriesPerRequest: 0 });
    theirs = new Redis({ port: ref.port, host: '127.0.0.1', maxRetriesPerRequest: 0 });
  });
  after(async () => {
    weft.disconnect();
    theirs.disconnect();
    ref.stop();
    await node.close();
  });

  test('RESP3: the same bytes as redis-server 7.0', async () => {
    for (const c of [theirs, weft]) {
      await c.call('XADD', 'r3', '1-1', 'a', '1');
      await c.call('XADD', 'r3', '2-1', 'a', '1');
    }
    const cmds = [
      'XGROUP CREATE r3 g 0',
      'XREADGROUP GROUP g c COUNT 1 STREAMS r3 >',
      'XREADGROUP GROUP g c STREAMS r3 r3 > 0',
      'XREADGROUP GROUP g c STREAMS r3 >',
      'XINFO GROUPS r3',
      'XPENDING r3 g',
      'XAUTOCLAIM r3 g d 0 0 COUNT 1',
      'XCLAIM r3 g d 0 2-1 JUSTID',
      'XPENDING r3 nog',
    ];
    assert.deepEqual(await rawResp3(node.port, cmds), await rawResp3(ref.port, cmds));
  });

  test("every reply and error text is redis-server 7.0's", async () => {
    const diffs: string[] = [];
    for (const step of SCRIPT) {
      if (typeof step !== 'string') {
        if ('add' in step) {
          const [key, id, ...fields] = step.add;
          await theirs.call('XADD', key, id, ...fields);
          await weft.call('XADD', key, id, ...fields);
        } else {
          const [key, id] = step.del;
          await theirs.call('XDEL', key, id);
          await weft.call('XDEL', key, id);
        }
        continue;
      }
      const words = step.split(' ');
      const want = mask(step, await run(theirs, words));
      const got = mask(step, await run(weft, words));
      try {
        assert.deepEqual(got, want);
      } catch {
        diffs.push(`${step}\n  redis: ${JSON.stringify(want)}\n  weft:  ${JSON.stringify(got)}`);
      }
    }
    assert.equal(diffs.length, 0, `replies differ:\n${diffs.join('\n')}`);
  });
});

/** RESP3 bytes for each command, after HELLO 3, on a raw socket. */
async function rawResp3(port: number, commands: string[]): Promise<string[]> {
  const sock = netConnect(port, '127.0.0.1');
  let buf = '';
  sock.on('data', (d) => {
    buf += d.toString('latin1');
  });
  const wire = (words: string[]) =>
    `*${words.length}\r\n${words.map((w) => `$${Buffer.byteLength(w)}\r\n${w}\r\n`).join('')}`;
  const ask = async (cmd: string): Promise<string> => {
    buf = '';
    sock.write(wire(cmd.split(' ')));
    // One reply each: wait until a complete RESP value is in.
    await checkFor(() => complete(buf), 5000);
    return buf;
  };
  await ask('HELLO 3');
  const out: string[] = [];
  for (const c of commands) out.push(await ask(c));
  sock.destroy();
  return out;
}

/** Whether `s` holds exactly one whole RESP2/RESP3 value. */
function complete(s: string): boolean {
  let i = 0;
  const value = (): boolean => {
    const end = s.indexOf('\r\n', i);
    if (end < 0) return false;
    const t = s[i]!;
    const n = Number(s.slice(i + 1, end));
    i = end + 2;
    if (t === '$' || t === '=' || t === '!') {
      if (n < 0) return true;
      if (s.length < i + n + 2) return false;
      i += n + 2;
      return true;
    }
    if (t === '*' || t === '~' || t === '>' || t === '%' || t === '|') {
      const items = t === '%' || t === '|' ? n * 2 : n;
      for (let k = 0; k < items; k++) if (!value()) return false;
      return true;
    }
    return true;
  };
  return value() && i === s.length;
}
