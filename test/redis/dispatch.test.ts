/**
 * Finding a command by name (src/protocols/redis/dispatch.ts): any case,
 * Redis's errors for unknown names and arities, and the names remembered
 * (NAMES_CACHED) so that a client alternating commands does not look each
 * one up again.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Command } from '../../src/protocols/redis/command.js';
import { COMMANDS } from '../../src/protocols/redis/commands/index.js';
import {
  buildTable,
  lookup,
  NAMES_CACHED,
  recentCommands,
} from '../../src/protocols/redis/dispatch.js';

const table = buildTable(COMMANDS);
const args = (...a: string[]) => a.map((s) => Buffer.from(s, 'latin1'));
const nameOf = (r: Command | string) => (typeof r === 'string' ? r : r.name);

test('alternating commands are looked up once each, in any case', () => {
  const xread = args('XREADGROUP', 'GROUP', 'g', 'c', 'STREAMS', 's', '>');
  const xack = args('xack', 's', 'g', '1-1');
  assert.equal(nameOf(lookup(table, xread)), 'xreadgroup');
  assert.equal(nameOf(lookup(table, xack)), 'xack');
  const before = recentCommands.misses;
  for (let i = 0; i < 100; i++) {
    assert.equal(nameOf(lookup(table, xread)), 'xreadgroup');
    assert.equal(nameOf(lookup(table, xack)), 'xack');
  }
  assert.equal(recentCommands.misses, before);
  // Another case of a remembered name is its own entry, and the same command.
  assert.equal(nameOf(lookup(table, args('XaCk', 's', 'g', '1-1'))), 'xack');
  assert.equal(recentCommands.misses, before + 1);
});

test('past NAMES_CACHED names the oldest goes, and every answer stays right', () => {
  const names = ['ping', 'echo', 'get', 'set', 'xlen', 'xadd', 'xack', 'xrange', 'xinfo', 'del'];
  assert.ok(names.length > NAMES_CACHED);
  const argsOf: Record<string, Buffer[]> = {
    ping: args('PING'),
    echo: args('ECHO', 'x'),
    get: args('GET', 'k'),
    set: args('SET', 'k', 'v'),
    xlen: args('XLEN', 's'),
    xadd: args('XADD', 's', '*', 'f', 'v'),
    xack: args('XACK', 's', 'g', '1-1'),
    xrange: args('XRANGE', 's', '-', '+'),
    xinfo: args('XINFO', 'STREAM', 's'),
    del: args('DEL', 'k'),
  };
  for (let round = 0; round < 3; round++) {
    for (const n of names) {
      const r = lookup(table, argsOf[n]!);
      if (table.has(n)) assert.equal(nameOf(r).split('|')[0], n);
      else assert.match(nameOf(r), /^ERR unknown command/);
    }
  }
  // Unknown names and wrong arities keep Redis's texts, remembered or not.
  for (let i = 0; i < 2; i++) {
    assert.equal(
      lookup(table, args('NOPE', 'a')),
      "ERR unknown command 'NOPE', with args beginning with: 'a' ",
    );
    assert.equal(
      lookup(table, args('XACK', 's')),
      "ERR wrong number of arguments for 'xack' command",
    );
  }
});

test('a name is looked up in the table it is asked of', () => {
  const only = buildTable(COMMANDS.filter((c) => c.name !== 'xack'));
  assert.equal(nameOf(lookup(table, args('XACK', 's', 'g', '1-1'))), 'xack');
  assert.match(nameOf(lookup(only, args('XACK', 's', 'g', '1-1'))), /^ERR unknown command/);
  assert.equal(nameOf(lookup(table, args('XACK', 's', 'g', '1-1'))), 'xack');
});
