/**
 * The link-state database (src/mesh/lsdb.ts): which LSAs and interest
 * updates are new, old, conflicting or skip a sequence; incarnations; and
 * the shortest paths from this node over links both ends list.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  type InterestEntry,
  type InterestUpdate,
  interestKey,
  LinkStateDb,
  type Lsa,
  SNAPSHOT_CHUNK,
} from '../../src/mesh/lsdb.js';

const T0 = 1_000_000;

function lsa(
  node: string,
  links: Record<string, number>,
  seq = 1,
  id = `${node}-1`,
  boot = 1,
): Lsa {
  return {
    node,
    id,
    boot,
    seq,
    links: Object.entries(links).map(([n, cost]) => ({ node: n, cost })),
  };
}

function upd(
  node: string,
  op: InterestUpdate['op'],
  seq: number,
  add: InterestEntry[],
  del: InterestEntry[] = [],
  extra: Partial<InterestUpdate> = {},
): InterestUpdate {
  return { node, id: `${node}-1`, boot: 1, seq, op, add, del, ...extra };
}

const e = (subject: string, queue = '', account = '$G'): InterestEntry => [account, subject, queue];

function keys(db: LinkStateDb, node: string): string[] {
  const s = db.nodes.get(node);
  assert.ok(s !== undefined, `node ${node} known`);
  return [...s.interest.values()].map((x) => x.join('|')).sort();
}

/**
 * A db for `self` that knows the graph `edges` (undirected, cost per
 * direction the same unless given as [a, b, costAB, costBA]).
 */
function graph(
  self: string,
  edges: Array<[string, string, number?, number?]>,
  order?: (names: string[]) => string[],
): LinkStateDb {
  const links = new Map<string, Record<string, number>>();
  const add = (a: string, b: string, c: number): void => {
    let m = links.get(a);
    if (m === undefined) {
      m = {};
      links.set(a, m);
    }
    m[b] = c;
  };
  for (const [a, b, ab = 1, ba = ab] of edges) {
    add(a, b, ab);
    add(b, a, ba);
  }
  const db = new LinkStateDb(self, `${self}-1`, 1);
  let names = [...links.keys()];
  if (order !== undefined) names = order(names);
  for (const n of names) {
    const l = links.get(n)!;
    if (n === self) {
      db.setLocalLinks(Object.entries(l).map(([node, cost]) => ({ node, cost })));
    } else {
      assert.equal(db.applyLsa(lsa(n, l)), 'new');
    }
  }
  db.computeRoutes(T0);
  return db;
}

function routes(db: LinkStateDb): Record<string, string> {
  const out: Record<string, string> = {};
  const names = [...db.nodes.keys()].sort();
  for (const n of names) {
    const s = db.nodes.get(n)!;
    if (s === db.self) continue;
    out[n] = s.reachable ? `${s.distance} via ${s.nextHop}` : 'unreachable';
  }
  return out;
}

describe('lsdb: LSAs', () => {
  test('new, then old for the same or a lower sequence, new for a higher one', () => {
    const db = new LinkStateDb('a', 'a-1', 1);
    assert.equal(db.applyLsa(lsa('b', { a: 1 }, 1)), 'new');
    assert.equal(db.applyLsa(lsa('b', { a: 1 }, 1)), 'old');
    assert.equal(db.applyLsa(lsa('b', { a: 5 }, 3)), 'new');
    assert.equal(db.applyLsa(lsa('b', { a: 9 }, 2)), 'old');
    assert.equal(db.applyLsa(lsa('b', { a: 9 }, 3)), 'old');
    assert.deepEqual(db.nodes.get('b')?.links, [{ node: 'a', cost: 5 }]);
    assert.equal(db.nodes.get('b')?.lsaSeq, 3);
  });

  test("this node's own LSA coming back is old; its name with another id is a conflict", () => {
    const db = new LinkStateDb('a', 'a-5', 10);
    const mine = db.setLocalLinks([{ node: 'b', cost: 1 }]);
    assert.equal(mine.seq, 1);
    assert.equal(db.applyLsa(mine), 'old');
    assert.equal(db.applyLsa({ ...mine, seq: 99 }), 'old');
    assert.equal(db.nameConflicts, 0);
    // Another node with this name, started later (or at the same time with a larger id).
    assert.equal(db.applyLsa({ ...mine, id: 'impostor', boot: 99, seq: 5 }), 'conflict');
    assert.equal(db.applyLsa({ ...mine, id: 'z-impostor', seq: 1 }), 'conflict');
    assert.equal(db.nameConflicts, 2);
    assert.deepEqual(db.self.links, [{ node: 'b', cost: 1 }]);
    assert.equal(db.self.id, 'a-5');
    assert.equal(
      db.applyInterest({ ...upd('a', 'snapshot', 1, [e('x')]), id: 'impostor', boot: 11 }).result,
      'conflict',
    );
    assert.equal(db.nameConflicts, 3);
    assert.equal(db.self.interest.size, 0);
  });

  test('an earlier incarnation of this node (before a restart) is old, not a conflict', () => {
    const db = new LinkStateDb('a', 'a-5', 10);
    db.setLocalLinks([]);
    assert.equal(db.applyLsa(lsa('a', { b: 1 }, 40, 'a-4', 9)), 'old');
    assert.equal(db.applyLsa(lsa('a', { b: 1 }, 40, 'a-0', 10)), 'old', 'same boot, smaller id');
    assert.equal(
      db.applyInterest({ ...upd('a', 'delta', 7, [e('x')]), id: 'a-4', boot: 9 }).result,
      'old',
    );
    assert.equal(db.nameConflicts, 0);
    assert.deepEqual(db.self.links, []);
    assert.equal(db.self.interest.size, 0);
  });

  test('a later incarnation replaces the earlier one whatever the sequences', () => {
    const db = new LinkStateDb('a', 'a-1', 1);
    assert.equal(db.applyLsa(lsa('b', { a: 1, c: 1 }, 500, 'b-old', 100)), 'new');
    // Restarted: boot later, sequence back to 1.
    assert.equal(db.applyLsa(lsa('b', { a: 2 }, 1, 'b-new', 200)), 'new');
    const b = db.nodes.get('b')!;
    assert.equal(b.id, 'b-new');
    assert.equal(b.boot, 200);
    assert.equal(b.lsaSeq, 1);
    assert.deepEqual(b.links, [{ node: 'a', cost: 2 }]);
    // The earlier incarnation, still flooding somewhere, is ignored.
    assert.equal(db.applyLsa(lsa('b', { c: 1 }, 501, 'b-old', 100)), 'old');
    assert.equal(db.applyLsa(lsa('b', { c: 1 }, 9999, 'b-old', 100)), 'old');
    assert.deepEqual(db.nodes.get('b')?.links, [{ node: 'a', cost: 2 }]);
    // Same boot time: the larger id wins, deterministically on every node.
    assert.equal(db.applyLsa(lsa('b', { a: 3 }, 1, 'b-newer', 200)), 'new');
    assert.equal(db.applyLsa(lsa('b', { a: 4 }, 7, 'b-new', 200)), 'old');
    assert.equal(db.nodes.get('b')?.id, 'b-newer');
  });

  test('setLocalLinks numbers its LSAs', () => {
    const db = new LinkStateDb('a', 'a-1', 5);
    assert.equal(db.setLocalLinks([]).seq, 1);
    const l = db.setLocalLinks([{ node: 'b', cost: 2 }]);
    assert.deepEqual(l, { node: 'a', id: 'a-1', boot: 5, seq: 2, links: [{ node: 'b', cost: 2 }] });
    assert.deepEqual(db.lsaOf(db.self), l);
  });
});

describe('lsdb: interest', () => {
  test('snapshot, more, delta: diffs of what appeared and vanished', () => {
    const db = new LinkStateDb('a', 'a-1', 1);
    let d = db.applyInterest(upd('b', 'snapshot', 4, [e('x'), e('y', 'q')], [], { part: 0 }));
    assert.deepEqual(d, { result: 'new', added: [e('x'), e('y', 'q')], removed: [] });
    d = db.applyInterest(upd('b', 'more', 4, [e('z'), e('x')], [], { part: 1 }));
    assert.deepEqual(d, { result: 'new', added: [e('z')], removed: [] });
    d = db.applyInterest(upd('b', 'delta', 5, [e('w'), e('x')], [e('y', 'q'), e('nope')]));
    assert.deepEqual(d, { result: 'new', added: [e('w')], removed: [e('y', 'q')] });
    assert.deepEqual(keys(db, 'b'), ['$G|w|', '$G|x|', '$G|z|']);
    // A fresh snapshot replaces everything: the diff against what was known.
    d = db.applyInterest(upd('b', 'snapshot', 9, [e('x'), e('v')], [], { part: 0 }));
    assert.deepEqual(d.result, 'new');
    assert.deepEqual(d.added, [e('v')]);
    assert.deepEqual(d.removed.map(interestKey).sort(), [e('w'), e('z')].map(interestKey).sort());
    assert.deepEqual(keys(db, 'b'), ['$G|v|', '$G|x|']);
  });

  test('duplicates are old: same delta, older snapshot, a part seen already', () => {
    const db = new LinkStateDb('a', 'a-1', 1);
    const snap = upd('b', 'snapshot', 2, [e('x')], [], { part: 0 });
    const more = upd('b', 'more', 2, [e('y')], [], { part: 1 });
    assert.equal(db.applyInterest(snap).result, 'new');
    assert.equal(db.applyInterest(more).result, 'new');
    // The same frames again, as another path floods them: old, so floods end.
    assert.equal(db.applyInterest(snap).result, 'old');
    assert.equal(db.applyInterest(more).result, 'old');
    const delta = upd('b', 'delta', 3, [e('z')]);
    assert.equal(db.applyInterest(delta).result, 'new');
    assert.deepEqual(db.applyInterest(delta), { result: 'old', added: [], removed: [] });
    assert.equal(db.applyInterest(upd('b', 'delta', 1, [e('q')])).result, 'old');
    assert.equal(db.applyInterest(upd('b', 'snapshot', 3, [])).result, 'old');
    assert.equal(db.applyInterest(upd('b', 'more', 2, [e('q')], [], { part: 2 })).result, 'old');
    assert.deepEqual(keys(db, 'b'), ['$G|x|', '$G|y|', '$G|z|']);
    assert.equal(db.gaps, 0);
  });

  test('a snapshot of a node with no interest yet (sequence 0) is new once, then old', () => {
    // A node that never had a subscription advertises sequence 0. Its
    // snapshot comes back over every other path of a mesh; if each copy is
    // 'new' again it is flooded again, for ever in a full mesh of 4.
    const db = new LinkStateDb('a', 'a-1', 1);
    const snap = upd('b', 'snapshot', 0, [], [], { part: 0 });
    assert.equal(db.applyInterest(snap).result, 'new');
    assert.equal(db.applyInterest(snap).result, 'old', 'a duplicate seq-0 snapshot is old');
  });

  test('a delta that skips a sequence is a gap, counted, and changes nothing', () => {
    const db = new LinkStateDb('a', 'a-1', 1);
    db.applyInterest(upd('b', 'snapshot', 2, [e('x')]));
    assert.deepEqual(db.applyInterest(upd('b', 'delta', 4, [e('y')], [e('x')])), {
      result: 'gap',
      added: [],
      removed: [],
    });
    assert.equal(db.gaps, 1);
    assert.deepEqual(keys(db, 'b'), ['$G|x|']);
    // The next in sequence still applies; a snapshot repairs any gap.
    assert.equal(db.applyInterest(upd('b', 'delta', 3, [e('y')])).result, 'new');
    assert.equal(db.applyInterest(upd('b', 'delta', 9, [e('z')])).result, 'gap');
    assert.equal(db.gaps, 2);
    const d = db.applyInterest(upd('b', 'snapshot', 9, [e('z')]));
    assert.equal(d.result, 'new');
    assert.deepEqual(keys(db, 'b'), ['$G|z|']);
    assert.equal(db.applyInterest(upd('b', 'delta', 10, [], [e('z')])).result, 'new');
    assert.deepEqual(keys(db, 'b'), []);
  });

  test('a more out of order (a part missing) is not applied', () => {
    const db = new LinkStateDb('a', 'a-1', 1);
    db.applyInterest(upd('b', 'snapshot', 2, [e('x')], [], { part: 0 }));
    const skipped = db.applyInterest(upd('b', 'more', 2, [e('z')], [], { part: 2 }));
    assert.notEqual(skipped.result, 'new');
    const otherSeq = db.applyInterest(upd('b', 'more', 3, [e('z')], [], { part: 1 }));
    assert.notEqual(otherSeq.result, 'new');
    assert.deepEqual(keys(db, 'b'), ['$G|x|']);
  });

  test("this node's own interest coming back is old", () => {
    const db = new LinkStateDb('a', 'a-1', 1);
    const d = db.localDelta([e('x')], []);
    assert.deepEqual(d, {
      node: 'a',
      id: 'a-1',
      boot: 1,
      seq: 1,
      op: 'delta',
      add: [e('x')],
      del: [],
    });
    assert.equal(db.applyInterest(d).result, 'old');
    assert.equal(db.localDelta([], [e('x')]).seq, 2);
    assert.equal(db.self.interest.size, 0);
  });

  test('interest of a later incarnation: the earlier one is ignored, and its interest goes', () => {
    const db = new LinkStateDb('a', 'a-1', 1);
    const old = { id: 'b-old', boot: 100 };
    const neu = { id: 'b-new', boot: 200 };
    db.applyInterest(upd('b', 'snapshot', 0, [e('x')], [], old));
    db.applyInterest(upd('b', 'delta', 1, [e('old')], [], old));
    // The restarted node's first delta (sequence 1 of its new life).
    const d = db.applyInterest(upd('b', 'delta', 1, [e('y')], [], neu));
    assert.equal(d.result, 'new');
    assert.deepEqual(d.added, [e('y')]);
    assert.equal(db.applyInterest(upd('b', 'delta', 2, [e('late')], [], old)).result, 'old');
    assert.equal(db.applyInterest(upd('b', 'snapshot', 50, [e('late')], [], old)).result, 'old');
    // "A restarted node's state replaces the old one at once" (docs/mesh.md):
    // what the earlier incarnation advertised must not survive it.
    assert.deepEqual(keys(db, 'b'), ['$G|y|'], 'earlier incarnation interest dropped');
    assert.deepEqual(
      d.removed.map(interestKey).sort(),
      [e('old'), e('x')].map(interestKey).sort(),
      'and reported as removed',
    );
  });

  test('a later incarnation snapshot at sequence 0 replaces the interest', () => {
    const db = new LinkStateDb('a', 'a-1', 1);
    db.applyInterest(upd('b', 'snapshot', 7, [e('x'), e('y')], [], { id: 'b-1', boot: 1 }));
    const d = db.applyInterest(upd('b', 'snapshot', 0, [e('y')], [], { id: 'b-2', boot: 2 }));
    assert.equal(d.result, 'new');
    assert.deepEqual(d.removed, [e('x')]);
    assert.deepEqual(keys(db, 'b'), ['$G|y|']);
  });

  test('snapshotOf chunks by SNAPSHOT_CHUNK and a peer rebuilds the same set', () => {
    for (const n of [
      0,
      1,
      SNAPSHOT_CHUNK - 1,
      SNAPSHOT_CHUNK,
      SNAPSHOT_CHUNK + 1,
      2 * SNAPSHOT_CHUNK + 7,
    ]) {
      const src = new LinkStateDb('b', 'b-1', 1);
      const add: InterestEntry[] = [];
      for (let i = 0; i < n; i++) add.push(e(`s.${i}`, i % 3 === 0 ? 'q' : ''));
      if (n > 0) src.localDelta(add, []);
      const frames = src.snapshotOf(src.self);
      const expectFrames = Math.max(1, Math.ceil(n / SNAPSHOT_CHUNK));
      assert.equal(frames.length, expectFrames, `${n} entries`);
      frames.forEach((f, i) => {
        assert.equal(f.op, i === 0 ? 'snapshot' : 'more');
        assert.equal(f.part, i);
        assert.equal(f.seq, src.self.interestSeq);
        assert.ok(f.add.length <= SNAPSHOT_CHUNK);
        assert.deepEqual(f.del, []);
      });
      const dst = new LinkStateDb('a', 'a-1', 1);
      let added = 0;
      for (const f of frames) {
        const d = dst.applyInterest(f);
        assert.equal(d.result, 'new');
        added += d.added.length;
      }
      assert.equal(added, n);
      assert.deepEqual(keys(dst, 'b'), keys(src, 'b'));
    }
  });
});

/**
 * Floods `frames` from `origin` through the graph `edges` the way the mesh
 * does: a node that finds an update 'new' sends it to its other neighbours.
 * Returns how many frames crossed links (it stops at `limit`).
 */
function flood(
  edges: Array<[string, string]>,
  origin: string,
  frames: InterestUpdate[],
  limit: number,
): { sent: number; dbs: Map<string, LinkStateDb> } {
  const adj = new Map<string, string[]>();
  for (const [a, b] of edges) {
    for (const [x, y] of [
      [a, b],
      [b, a],
    ]) {
      const l = adj.get(x) ?? [];
      l.push(y);
      adj.set(x, l);
    }
  }
  const dbs = new Map<string, LinkStateDb>();
  for (const n of adj.keys()) dbs.set(n, new LinkStateDb(n, `${n}-1`, 1));
  const queue: Array<[string, string, InterestUpdate]> = [];
  for (const f of frames) for (const n of adj.get(origin)!) queue.push([origin, n, f]);
  let sent = 0;
  while (queue.length > 0 && sent < limit) {
    const [from, to, f] = queue.shift()!;
    sent++;
    if (dbs.get(to)!.applyInterest(f).result !== 'new') continue;
    for (const n of adj.get(to)!) if (n !== from) queue.push([to, n, f]);
  }
  return { sent, dbs };
}

describe('lsdb: flooding ends', () => {
  const names = ['a', 'b', 'c', 'd', 'e'];
  const full: Array<[string, string]> = [];
  for (let i = 0; i < names.length; i++) {
    for (let j = i + 1; j < names.length; j++) full.push([names[i], names[j]]);
  }
  // Each node passes each update on at most once, to all but the sender.
  const bound = names.length - 1 + (names.length - 1) * (names.length - 2);

  test('a snapshot with entries, then deltas, through a full mesh', () => {
    const src = new LinkStateDb('a', 'a-1', 1);
    const d1 = src.localDelta([e('x')], []);
    const snap = src.snapshotOf(src.self);
    const d2 = src.localDelta([e('y')], [e('x')]);
    const { sent, dbs } = flood(full, 'a', [...snap, d1, d2], 100_000);
    assert.ok(sent <= 3 * bound, `${sent} frames for 3 updates`);
    for (const n of names.slice(1)) assert.deepEqual(keys(dbs.get(n)!, 'a'), ['$G|y|']);
  });

  test('a snapshot in several parts, through a full mesh', () => {
    const src = new LinkStateDb('a', 'a-1', 1);
    const add: InterestEntry[] = [];
    for (let i = 0; i < 2 * SNAPSHOT_CHUNK + 1; i++) add.push(e(`s.${i}`));
    src.localDelta(add, []);
    const frames = src.snapshotOf(src.self);
    assert.equal(frames.length, 3);
    const { sent, dbs } = flood(full, 'a', frames, 100_000);
    assert.ok(sent <= 3 * bound, `${sent} frames for 3 parts`);
    for (const n of names.slice(1)) {
      assert.equal(dbs.get(n)!.nodes.get('a')?.interest.size, add.length);
    }
  });

  // The snapshot of a node that never had a subscription has sequence 0,
  // and mesh.ts sendState sends its own snapshot at every link up. If each
  // copy is 'new', it goes round any cycle that does not pass its origin
  // for ever (an edge on a triangle, a full mesh of 4 or more).
  const graphs: Array<[string, Array<[string, string]>]> = [
    ['a full mesh of 5', full],
    [
      'an edge node on a triangle',
      [
        ['e', 'a'],
        ['a', 'b'],
        ['b', 'c'],
        ['c', 'a'],
      ],
    ],
  ];
  for (const [name, edges] of graphs) {
    test(`the snapshot of a node that never had interest (sequence 0): ${name}`, () => {
      const origin = edges[0][0];
      const src = new LinkStateDb(origin, `${origin}-1`, 1);
      const { sent } = flood(edges, origin, src.snapshotOf(src.self), 10_000);
      assert.ok(sent <= 2 * edges.length, `${sent} frames (stopped at 10000) for 1 update`);
    });
  }
});

describe('lsdb: routes', () => {
  test('chain a-b-c-d', () => {
    const db = graph('a', [
      ['a', 'b'],
      ['b', 'c'],
      ['c', 'd'],
    ]);
    assert.deepEqual(routes(db), { b: '1 via b', c: '2 via b', d: '3 via b' });
    // From the middle.
    const mid = graph('c', [
      ['a', 'b'],
      ['b', 'c'],
      ['c', 'd'],
    ]);
    assert.deepEqual(routes(mid), { a: '2 via b', b: '1 via b', d: '1 via d' });
  });

  test('ring of 5: both directions, the tie at the far side to the smaller next hop', () => {
    const edges: Array<[string, string]> = [
      ['a', 'b'],
      ['b', 'c'],
      ['c', 'd'],
      ['d', 'e'],
      ['e', 'a'],
    ];
    assert.deepEqual(routes(graph('a', edges)), {
      b: '1 via b',
      c: '2 via b',
      d: '2 via e',
      e: '1 via e',
    });
    const ring4: Array<[string, string]> = [
      ['a', 'b'],
      ['b', 'c'],
      ['c', 'd'],
      ['d', 'a'],
    ];
    // c is 2 away both ways: via b (smaller than d).
    assert.deepEqual(routes(graph('a', ring4)), { b: '1 via b', c: '2 via b', d: '1 via d' });
  });

  test('full mesh: everyone direct', () => {
    const names = ['a', 'b', 'c', 'd', 'e'];
    const edges: Array<[string, string]> = [];
    for (let i = 0; i < names.length; i++) {
      for (let j = i + 1; j < names.length; j++) edges.push([names[i], names[j]]);
    }
    assert.deepEqual(routes(graph('c', edges)), {
      a: '1 via a',
      b: '1 via b',
      d: '1 via d',
      e: '1 via e',
    });
  });

  test('star: leaves reach each other through the hub', () => {
    const edges: Array<[string, string]> = [
      ['hub', 'l1'],
      ['hub', 'l2'],
      ['hub', 'l3'],
    ];
    assert.deepEqual(routes(graph('l1', edges)), {
      hub: '1 via hub',
      l2: '2 via hub',
      l3: '2 via hub',
    });
    assert.deepEqual(routes(graph('hub', edges)), {
      l1: '1 via l1',
      l2: '1 via l2',
      l3: '1 via l3',
    });
  });

  test('a link counts only when both ends list it', () => {
    const db = new LinkStateDb('a', 'a-1', 1);
    db.setLocalLinks([{ node: 'b', cost: 1 }]);
    db.applyLsa(lsa('b', { a: 1, c: 1 }));
    // c does not list b (yet): unreachable.
    db.applyLsa(lsa('c', { d: 1 }));
    db.applyLsa(lsa('d', { c: 1 }));
    db.computeRoutes(T0);
    assert.deepEqual(routes(db), {
      b: '1 via b',
      c: 'unreachable',
      d: 'unreachable',
    });
    const changed = db.applyLsa(lsa('c', { b: 1, d: 1 }, 2));
    assert.equal(changed, 'new');
    const moved = db.computeRoutes(T0 + 1).map((s) => s.name);
    assert.deepEqual(moved.sort(), ['c', 'd']);
    assert.deepEqual(routes(db), { b: '1 via b', c: '2 via b', d: '3 via b' });
    // Only this node lists the link: b is not a neighbour.
    const one = new LinkStateDb('a', 'a-1', 1);
    one.setLocalLinks([{ node: 'b', cost: 1 }]);
    one.applyLsa(lsa('b', {}));
    one.computeRoutes(T0);
    assert.deepEqual(routes(one), { b: 'unreachable' });
  });

  test('costs: a cheaper 2-hop path beats an expensive direct link', () => {
    const db = graph('a', [
      ['a', 'c', 10],
      ['a', 'b', 2],
      ['b', 'c', 3],
    ]);
    assert.deepEqual(routes(db), { b: '2 via b', c: '5 via b' });
    // Made dearer, the direct link wins back.
    const db2 = graph('a', [
      ['a', 'c', 4],
      ['a', 'b', 2],
      ['b', 'c', 3],
    ]);
    assert.deepEqual(routes(db2), { b: '2 via b', c: '4 via c' });
  });

  test('costs are per direction: the sender end of each hop counts', () => {
    // a lists b at 1, b lists a at 50: from a, b costs 1; from b, a costs 50.
    const edges: Array<[string, string, number, number]> = [
      ['a', 'b', 1, 50],
      ['b', 'c', 1, 1],
      ['c', 'a', 10, 10],
    ];
    assert.deepEqual(routes(graph('a', edges)), { b: '1 via b', c: '2 via b' });
    assert.deepEqual(routes(graph('b', edges)), { a: '11 via c', c: '1 via c' });
  });

  test('ties go to the smaller next hop whatever the order state arrived in', () => {
    // Two equal paths to z: via m and via n; and a third via p, equal too.
    const edges: Array<[string, string, number?]> = [
      ['a', 'p', 2],
      ['a', 'n', 1],
      ['a', 'm', 1],
      ['n', 'x'],
      ['m', 'y'],
      ['p', 'z', 2],
      ['x', 'z', 2],
      ['y', 'z', 2],
      ['z', 'far'],
    ];
    const orders: Array<(n: string[]) => string[]> = [
      (n) => n,
      (n) => n.slice().reverse(),
      (n) => n.slice().sort(),
      (n) => n.slice().sort().reverse(),
      (n) => [...n.slice(3), ...n.slice(0, 3)],
    ];
    for (const order of orders) {
      const db = graph('a', edges, order);
      assert.deepEqual(routes(db), {
        far: '5 via m',
        m: '1 via m',
        n: '1 via n',
        p: '2 via p',
        x: '2 via n',
        y: '2 via m',
        z: '4 via m',
      });
    }
  });

  test('link costs below 1 count as 1', () => {
    assert.deepEqual(
      routes(
        graph('a', [
          ['a', 'b', 0],
          ['b', 'c', -5],
        ]),
      ),
      { b: '1 via b', c: '2 via b' },
    );
  });

  test('a link disappears: routes move, then nodes become unreachable; forget after the delay', () => {
    const db = graph('a', [
      ['a', 'b'],
      ['b', 'c'],
      ['c', 'd'],
      ['a', 'd', 5],
    ]);
    assert.deepEqual(routes(db), { b: '1 via b', c: '2 via b', d: '3 via b' });
    // b drops its link to c: c and d now through the dear link a-d.
    db.applyLsa(lsa('b', { a: 1 }, 2));
    let changed = db.computeRoutes(T0 + 100).map((s) => s.name);
    assert.deepEqual(changed.sort(), ['c', 'd']);
    assert.deepEqual(routes(db), { b: '1 via b', c: '6 via d', d: '5 via d' });
    // a drops a-d: c and d are cut off.
    db.setLocalLinks([{ node: 'b', cost: 1 }]);
    changed = db.computeRoutes(T0 + 200).map((s) => s.name);
    assert.deepEqual(changed.sort(), ['c', 'd']);
    assert.deepEqual(routes(db), { b: '1 via b', c: 'unreachable', d: 'unreachable' });
    assert.equal(db.nodes.get('c')?.unreachableSince, T0 + 200);
    assert.equal(db.nodes.get('c')?.nextHop, '');
    // Nothing changed: nothing reported.
    assert.deepEqual(db.computeRoutes(T0 + 300), []);
    assert.deepEqual(db.forget(T0 + 200 + 5000, 5000), []);
    const gone = db.forget(T0 + 200 + 5001, 5000).map((s) => s.name);
    assert.deepEqual(gone.sort(), ['c', 'd']);
    assert.deepEqual([...db.nodes.keys()].sort(), ['a', 'b']);
    assert.deepEqual(db.forget(T0 + 999_999, 5000), [], 'reachable nodes and self stay');
  });

  test('a node known but not reachable yet is not forgotten before the delay', () => {
    // d's LSA (listing c) arrives before c's LSA listing d: d is known and
    // unreachable for a moment. Forgetting it at once loses its LSA, and it
    // stays unreachable once c's LSA arrives.
    const db = graph('a', [
      ['a', 'b'],
      ['b', 'c'],
    ]);
    assert.equal(db.applyLsa(lsa('d', { c: 1 })), 'new');
    db.computeRoutes(T0 + 10);
    assert.deepEqual(db.forget(T0 + 20, 60_000), [], 'd known for 10ms, not 60s');
    assert.equal(db.applyLsa(lsa('c', { b: 1, d: 1 }, 2)), 'new');
    db.computeRoutes(T0 + 30);
    assert.equal(routes(db).d, '3 via b');
  });

  test('a node back before the delay is not forgotten, and its routes return', () => {
    const db = graph('a', [
      ['a', 'b'],
      ['b', 'c'],
    ]);
    db.applyLsa(lsa('b', { a: 1 }, 2));
    db.computeRoutes(T0 + 1);
    assert.equal(routes(db).c, 'unreachable');
    db.applyLsa(lsa('b', { a: 1, c: 1 }, 3));
    db.computeRoutes(T0 + 2);
    assert.deepEqual(db.forget(T0 + 1_000_000, 10), []);
    assert.equal(routes(db).c, '2 via b');
  });
});
