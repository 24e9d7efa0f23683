/**
 * The forwarder's next-link lookup (src/mesh/forwarder.ts): the right link
 * per destination node, the last two routes kept (a relay between a
 * requester's node and a responder's alternates between two), a missing
 * route counted, and every kept route dropped by `forget`.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Forwarder } from '../../src/mesh/forwarder.js';
import type { Link } from '../../src/mesh/link.js';
import type { LinkStateDb } from '../../src/mesh/lsdb.js';

/** A route table whose lookups are counted, and two links. */
function setup() {
  const nodes = new Map<string, { reachable: boolean; nextHop: string }>([
    ['a', { reachable: true, nextHop: 'a' }],
    ['c', { reachable: true, nextHop: 'c' }],
    ['d', { reachable: true, nextHop: 'c' }],
    ['x', { reachable: false, nextHop: 'c' }],
  ]);
  let lookups = 0;
  const counted = {
    get(node: string) {
      lookups++;
      return nodes.get(node);
    },
  };
  const la = { name: 'link-a' } as unknown as Link;
  const lc = { name: 'link-c' } as unknown as Link;
  const links = new Map<string, Link>([
    ['a', la],
    ['c', lc],
  ]);
  const f = new Forwarder({ nodes: counted } as unknown as LinkStateDb, links);
  return { f, la, lc, nodes, lookups: () => lookups };
}

describe('Forwarder.nextLink', () => {
  test('gives the next link of each node, and counts a node without a route', () => {
    const { f, la, lc } = setup();
    assert.equal(f.nextLink('a'), la);
    assert.equal(f.nextLink('c'), lc);
    assert.equal(f.nextLink('d'), lc);
    assert.equal(f.nextLink('x'), null);
    assert.equal(f.nextLink('nowhere'), null);
    assert.equal(f.noRoute, 2);
  });

  test('requests and replies in turn (two nodes alternating) look the routes up once each', () => {
    const { f, la, lc, lookups } = setup();
    // Names as decoded from frames: equal strings, not the map's instances.
    const a = Buffer.from('a').toString();
    const c = Buffer.from('c').toString();
    for (let i = 0; i < 100; i++) {
      assert.equal(f.nextLink(c), lc);
      assert.equal(f.nextLink(a), la);
    }
    assert.equal(lookups(), 2);
    // A third node pushes the older one out: it is looked up again.
    assert.equal(f.nextLink('d'), lc);
    assert.equal(f.nextLink('a'), la);
    assert.equal(f.nextLink('c'), lc);
    assert.equal(lookups(), 4);
  });

  test('forget drops both kept routes: a changed next hop is seen at once', () => {
    const { f, la, lc, nodes } = setup();
    assert.equal(f.nextLink('a'), la);
    assert.equal(f.nextLink('c'), lc);
    nodes.set('a', { reachable: true, nextHop: 'c' });
    nodes.set('c', { reachable: true, nextHop: 'a' });
    f.forget();
    assert.equal(f.nextLink('a'), lc);
    assert.equal(f.nextLink('c'), la);
  });
});
