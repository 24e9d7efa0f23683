/**
 * Accounts across the mesh: each node serves `$G`, `$SYS` and its
 * configured accounts, announces them in the handshake, and sends a peer
 * only the interest and messages of accounts both serve. Accounts stay
 * isolated across three nodes; a difference between two nodes' lists is
 * shown in /meshz; and a frame naming an account a node does not serve
 * (from a raw peer) is dropped and counted, never delivered to another
 * account. Messages are published and received through the embedding API
 * (`node.accounts`, `node.router`), as a face would.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { AccountConfig, SecurityConfig } from '../../src/auth/types.js';
import { NO_LIMITS, NO_SECURITY } from '../../src/auth/types.js';
import type { Message, Subscriber, Subscription } from '../../src/core/message.js';
import type { WeftNode } from '../../src/server/server.js';
import {
  checkFor,
  type MeshNode,
  type Meshz,
  quiet,
  startNode,
  TOKEN,
  waitConverged,
} from './helpers.js';
import { INTEREST, json, LSA, msgFrame, PING, RawPeer } from './raw-peer.js';

type T = { after(fn: () => Promise<void>): void };
type Node = MeshNode & { node: WeftNode };

function accountConfig(name: string): AccountConfig {
  return {
    name,
    exports: [],
    imports: [],
    jetstream: { enabled: false, maxStreams: -1, maxConsumers: -1, maxStore: -1, maxMemory: -1 },
    defaultPermissions: null,
    limits: NO_LIMITS,
  };
}

const security = (...accounts: string[]): SecurityConfig => ({
  ...NO_SECURITY,
  accounts: accounts.map(accountConfig),
});

async function node(t: T, name: string, accounts: string[], links: string[] = []): Promise<Node> {
  const n = await startNode({ name, links, extra: { security: security(...accounts) } });
  t.after(() => n.close());
  return n as Node;
}

interface LinkAccounts {
  peer: string;
  accounts_missing_here: string[];
  accounts_missing_there: string[];
  withheld_msgs: number;
  foreign_account_msgs: number;
  foreign_account_interest: number;
}
interface AccountsMeshz {
  accounts: string[] | null;
  foreign_account: { msgs: number; interest: number };
  links: LinkAccounts[];
}
const accz = async (n: MeshNode): Promise<AccountsMeshz & Meshz> =>
  (await n.meshz()) as unknown as AccountsMeshz & Meshz;

let nextId = 900_000;
/** A subscriber in `account` of `n` on `subject`, recording payloads. */
function subscribe(n: Node, account: string, subject: string): string[] {
  const got: string[] = [];
  const owner: Subscriber = {
    id: nextId++,
    kind: 'client',
    echo: false,
    deliver: (_s: Subscription, m: Message) => {
      got.push(m.payload.toString());
    },
  };
  n.node.accounts.getOrCreate(account).subscribe({
    subject,
    queue: '',
    sid: String(owner.id),
    owner,
    max: 0,
    delivered: 0,
  });
  return got;
}

function publish(n: Node, account: string, subject: string, payload: string): void {
  n.node.router.publish(
    n.node.accounts.getOrCreate(account),
    { subject, reply: '', headers: null, payload: Buffer.from(payload) },
    null,
  );
}

/** Waits until `n` sees `count` interest entries of the node named `of`. */
async function seesInterest(n: MeshNode, of: string, count: number): Promise<void> {
  await checkFor(async () => {
    const v = (await n.meshz()).nodes.find((x) => x.name === of);
    if (v?.interest !== count) throw new Error(`${n.name} sees ${v?.interest} entries of ${of}`);
  }, 5000);
}

describe('accounts across the mesh', () => {
  test('three nodes serving A and B: each account gets only its own messages', async (t) => {
    const n1 = await node(t, 'n1', ['A', 'B']);
    const n2 = await node(t, 'n2', ['A', 'B'], [n1.linkUrl]);
    const n3 = await node(t, 'n3', ['A', 'B'], [n2.linkUrl]);
    await waitConverged([n1, n2, n3], false);
    const z = await accz(n1);
    assert.deepEqual(z.accounts, ['$G', '$SYS', 'A', 'B']);
    assert.deepEqual(z.links[0]!.accounts_missing_here, []);
    assert.deepEqual(z.links[0]!.accounts_missing_there, []);
    const inA = subscribe(n3, 'A', 'orders.*');
    const inB = subscribe(n3, 'B', 'orders.*');
    const inG = subscribe(n3, '$G', 'orders.*');
    await seesInterest(n1, 'n3', 3);
    for (let i = 0; i < 50; i++) {
      publish(n1, 'A', 'orders.new', `A-${i}`);
      publish(n1, 'B', 'orders.new', `B-${i}`);
      publish(n1, '$G', 'orders.new', `G-${i}`);
    }
    await checkFor(() => inA.length >= 50 && inB.length >= 50 && inG.length >= 50, 5000);
    await quiet(() => inA.length + inB.length + inG.length);
    const want = (p: string) => Array.from({ length: 50 }, (_, i) => `${p}-${i}`);
    assert.deepEqual(inA, want('A'), 'A sees A only, in order');
    assert.deepEqual(inB, want('B'), 'B sees B only');
    assert.deepEqual(inG, want('G'), '$G sees $G only');
  });

  test('two nodes with different lists: /meshz names the difference; B interest stays on its side', async (t) => {
    const n1 = await node(t, 'n1', ['A']);
    const n2 = await node(t, 'n2', ['A', 'B'], [n1.linkUrl]);
    await waitConverged([n1, n2], false);
    const [z1, z2] = await Promise.all([accz(n1), accz(n2)]);
    assert.deepEqual(z1.accounts, ['$G', '$SYS', 'A']);
    assert.deepEqual(z1.links[0]!.accounts_missing_here, ['B']);
    assert.deepEqual(z1.links[0]!.accounts_missing_there, []);
    assert.deepEqual(z2.links[0]!.accounts_missing_here, []);
    assert.deepEqual(z2.links[0]!.accounts_missing_there, ['B']);
    const inA = subscribe(n2, 'A', 'x');
    const inB = subscribe(n2, 'B', 'x');
    // n1 learns n2's A interest, never its B interest.
    await seesInterest(n1, 'n2', 1);
    await checkFor(async () => (await n2.meshz()).interest.advertised === 2, 5000);
    // Something published in B on n1 (through the embedding API: no client
    // of n1 can be in B) goes nowhere; A crosses.
    publish(n1, 'B', 'x', 'leak');
    publish(n1, 'A', 'x', 'ok');
    await checkFor(() => inA.length === 1, 5000);
    await quiet(() => inB.length);
    assert.deepEqual(inB, []);
    const after = await accz(n1);
    assert.equal(after.foreign_account.msgs + after.foreign_account.interest, 0);
  });

  test('a chain A,B - A - A,B: B does not cross the node that does not serve it', async (t) => {
    const n1 = await node(t, 'n1', ['A', 'B']);
    const n2 = await node(t, 'n2', ['A'], [n1.linkUrl]);
    const n3 = await node(t, 'n3', ['A', 'B'], [n2.linkUrl]);
    await waitConverged([n1, n2, n3], false);
    const inA = subscribe(n3, 'A', 'x');
    const inB = subscribe(n3, 'B', 'x');
    await seesInterest(n1, 'n3', 1);
    publish(n1, 'B', 'x', 'leak');
    publish(n1, 'A', 'x', 'ok');
    await checkFor(() => inA.length === 1, 5000);
    await quiet(() => inB.length);
    assert.deepEqual(inB, []);
    // Conforming peers never sent n2 anything of B.
    const z2 = await accz(n2);
    assert.deepEqual(z2.foreign_account, { msgs: 0, interest: 0 });
  });

  test('a raw peer sends a frame naming an account the node does not serve: dropped and counted', async (t) => {
    const n1 = await node(t, 'n1', ['A']);
    const inG = subscribe(n1, '$G', 'x');
    const inA = subscribe(n1, 'A', 'x');
    // Interest in B made through the embedding API stays on n1.
    const inB = subscribe(n1, 'B', 'x');
    const p = await RawPeer.connect(n1.meshPort);
    t.after(async () => p.destroy());
    p.autoPong = true;
    const boot = Date.now();
    await p.handshake(TOKEN, {
      name: 'raw',
      id: 'RAWID',
      boot,
      accounts: ['$G', '$SYS', 'A', 'B'],
    });
    await checkFor(async () => (await accz(n1)).links.length === 1, 3000);
    const z = await accz(n1);
    assert.deepEqual(z.links[0]!.accounts_missing_here, ['B']);
    // n1 advertised its $G and A interest to the peer, nothing of B.
    await checkFor(() => {
      const entries = p.frames
        .filter((f) => f.type === INTEREST)
        .flatMap((f) => [...(f.json().add as string[][])]);
      assert.deepEqual(entries.map((e) => e[0]).sort(), ['$G', 'A']);
    }, 3000);
    // The peer is a reachable node (its LSA names the link), whose interest
    // of B is dropped and counted; its A entry is kept.
    p.write(
      json(LSA, { node: 'raw', id: 'RAWID', boot, seq: 1, links: [{ node: 'n1', cost: 1 }] }),
    );
    p.write(
      json(INTEREST, {
        node: 'raw',
        id: 'RAWID',
        boot,
        seq: 1,
        op: 'snapshot',
        part: 0,
        add: [
          ['B', 'y', ''],
          ['A', 'y', ''],
        ],
        del: [],
      }),
    );
    // A message of B for n1, then one of A (a link is FIFO: when A's has
    // arrived, B's was handled before it).
    p.write(msgFrame('B', 'x', 'n1', 'forged-B'));
    p.write(msgFrame('A', 'x', 'n1', 'ok-A'));
    await checkFor(() => inA.length === 1, 3000);
    assert.deepEqual(inA, ['ok-A']);
    assert.deepEqual(inG, [], '$G got nothing of B');
    assert.deepEqual(inB, [], 'B here is not served: not delivered either');
    const after = await accz(n1);
    assert.deepEqual(after.foreign_account, { msgs: 1, interest: 1 });
    assert.equal(after.links[0]!.foreign_account_msgs, 1);
    assert.equal(after.links[0]!.foreign_account_interest, 1);
    const raw = after.nodes.find((x) => x.name === 'raw');
    assert.equal(raw?.reachable, true);
    assert.equal(raw?.interest, 1, 'only the A entry kept');
    assert.equal(after.interest.remote, 1, 'in the subject index: the A entry');
    // The link stays up: a difference of accounts is not a protocol error
    // (the node keeps pinging the peer after the frames above).
    const pings = () => p.frames.filter((f) => f.type === PING).length;
    const seen = pings();
    await checkFor(() => pings() >= seen + 2, 3000);
    assert.ok(!p.closed);
    assert.equal((await accz(n1)).links.length, 1);
  });
});
