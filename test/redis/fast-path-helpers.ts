/**
 * Helpers of the tests that hold a reader fast path (XACK, XREADGROUP) to
 * the command table's own command: a connection with the fast path off is
 * the reference, and a script's replies must be the same bytes on both.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Command } from '../../src/protocols/redis/command.js';
import { type RedisNode, startRedisNode } from './groups-helpers.js';
import { RawRedis, resp } from './helpers.js';

/** A fast path's describe: connections, and fresh streams to run its script on. */
export interface FastPathSuite {
  /** A connection with (`reference` false) or without `name`'s fast path. */
  connect(protocol: 2 | 3, reference: boolean): Promise<RawRedis>;
  /**
   * On `c`, a new stream `<prefix>:NN` with group `g` at 0 and entries
   * `1-1` … `1-<entries>`, field `f`, value `value(i)`: its key.
   */
  freshStream(
    c: RawRedis,
    prefix: string,
    entries: number,
    value: (i: number) => string,
  ): Promise<string>;
}

/** The enclosing describe's node (started before its tests, closed after), for the fast path of `name`. */
export function fastPathSuite(name: string): FastPathSuite {
  let node: RedisNode | undefined;
  let pass = 0;
  before(async () => {
    node = await startRedisNode();
  });
  after(async () => {
    await node?.close();
  });
  return {
    connect: (protocol, reference) => connectFastOrReference(node!, name, protocol, reference),
    async freshStream(c, prefix, entries, value) {
      const k = `${prefix}:${String(pass++).padStart(2, '0')}`;
      await c.call(resp('XGROUP', 'CREATE', k, 'g', '0', 'MKSTREAM'));
      const adds = Array.from({ length: entries }, (_, i) =>
        resp('XADD', k, `1-${i + 1}`, 'f', value(i)),
      );
      await c.call(Buffer.concat(adds), entries);
      return k;
    },
  };
}

/** A script's run: its replies and whatever state it checks after, as one string. */
export type ScriptRun = (protocol: 2 | 3, reference: boolean, cut: boolean) => Promise<string>;

/**
 * A connection to `node` in RESP `protocol`. With `reference`, it is made
 * while the table's `name` is a wrapper of the real command, so the
 * reader's fast path for `name` is off on it.
 */
export async function connectFastOrReference(
  node: RedisNode,
  name: string,
  protocol: 2 | 3,
  reference: boolean,
): Promise<RawRedis> {
  const face = node.srv.node.faces.find((f) => f.name === 'redis') as unknown as {
    table: Map<string, Command>;
  };
  const table = face.table;
  const real = table.get(name)!;
  if (reference) table.set(name, { ...real, run: (ctx, args) => real.run!(ctx, args) });
  try {
    const c = await RawRedis.connect(node.port);
    c.sock.setNoDelay(true);
    if (protocol === 3) await c.call(resp('HELLO', '3'));
    return c;
  } finally {
    table.set(name, real);
  }
}

/** Sends `cmds` in one write, or with `cut` a byte a write, and reads their replies. */
export async function sendScript(c: RawRedis, cmds: Buffer[], cut: boolean): Promise<string> {
  const wire = Buffer.concat(cmds);
  if (cut) {
    for (let i = 0; i < wire.length; i++) c.write(wire.subarray(i, i + 1));
  } else c.write(wire);
  return c.read(cmds.length);
}

/**
 * A test per RESP version: the reference run, pipelined, is checked by
 * `check`; the fast path pipelined and cut at every byte, and the reference
 * cut, must each give the same bytes.
 */
export function sameAsReference(what: string, run: ScriptRun, check: (ref: string) => void): void {
  for (const protocol of [2, 3] as const) {
    test(`RESP${protocol}: pipelined and cut at every byte, ${what} are the reference's`, async () => {
      const ref = await run(protocol, true, false);
      check(ref);
      assert.equal(await run(protocol, false, false), ref);
      assert.equal(await run(protocol, false, true), ref);
      assert.equal(await run(protocol, true, true), ref);
    });
  }
}
