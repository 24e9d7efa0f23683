/**
 * The group coordinator (src/protocols/kafka/groups/coordinator.ts) driven
 * through rebalances with a fake clock: every expectation is Apache Kafka
 * 3.x's classic protocol (GroupCoordinator.scala: handleJoinGroup,
 * handleSyncGroup, handleHeartbeat, handleLeaveGroup, handleCommitOffsets,
 * onCompleteJoin, onExpireHeartbeat, onExpirePendingSync).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FakeClock } from '../../src/protocols/kafka/groups/clock.js';
import { KafkaCode } from '../../src/protocols/kafka/groups/codes.js';
import {
  GroupCoordinator,
  type JoinRequest,
} from '../../src/protocols/kafka/groups/coordinator.js';
import type { JoinResult, Protocol, SyncResult } from '../../src/protocols/kafka/groups/group.js';

const SESSION = 10_000;
const REBALANCE = 30_000;
const DELAY = 3000;

function setup(config = {}) {
  const clock = new FakeClock();
  const co = new GroupCoordinator(clock, config);
  return { clock, co };
}

function proto(name: string, meta = name): Protocol {
  return { name, metadata: Buffer.from(meta) };
}

function req(memberId: string, over: Partial<JoinRequest> = {}): JoinRequest {
  return {
    memberId,
    groupInstanceId: null,
    requireKnownMemberId: true,
    supportSkippingAssignment: false,
    clientId: 'client',
    clientHost: '/127.0.0.1',
    rebalanceTimeoutMs: REBALANCE,
    sessionTimeoutMs: SESSION,
    protocolType: 'consumer',
    protocols: [proto('range')],
    ...over,
  };
}

/** True while a request waits for its answer (a function: no type narrowing). */
function waiting(box: { result: unknown }): boolean {
  return box.result === null;
}

/** A JoinGroup whose answer may come later. */
function join(co: GroupCoordinator, group: string, r: JoinRequest): { result: JoinResult | null } {
  const box: { result: JoinResult | null } = { result: null };
  co.join(group, r, (x) => {
    assert.ok(waiting(box), 'a JoinGroup is answered once');
    box.result = x;
  });
  return box;
}

function sync(
  co: GroupCoordinator,
  group: string,
  memberId: string,
  generationId: number,
  assignments: [string, string][] = [],
  instance: string | null = null,
): { result: SyncResult | null } {
  const box: { result: SyncResult | null } = { result: null };
  co.sync(
    group,
    {
      memberId,
      groupInstanceId: instance,
      generationId,
      protocolType: null,
      protocolName: null,
      assignments: new Map(assignments.map(([k, v]) => [k, Buffer.from(v)])),
    },
    (x) => {
      box.result = x;
    },
  );
  return box;
}

/** Joins one member (MEMBER_ID_REQUIRED, then with the id): its member id and pending join. */
function joinNew(co: GroupCoordinator, group: string, over: Partial<JoinRequest> = {}) {
  const first = join(co, group, req('', over));
  assert.equal(first.result?.error, KafkaCode.MEMBER_ID_REQUIRED);
  const id = first.result!.memberId;
  assert.match(id, new RegExp(`^${over.clientId ?? 'client'}-[0-9a-f-]{36}$`));
  return { id, pending: join(co, group, req(id, over)) };
}

/** A group of one stable member. */
function stableOne(clock: FakeClock, co: GroupCoordinator, group = 'g') {
  const a = joinNew(co, group);
  clock.advance(DELAY);
  assert.equal(a.pending.result?.error, KafkaCode.NONE);
  const s = sync(co, group, a.id, a.pending.result!.generationId, [[a.id, 'A1']]);
  assert.equal(s.result?.error, KafkaCode.NONE);
  return a.id;
}

describe('kafka group coordinator', () => {
  test('a first member: MEMBER_ID_REQUIRED (v4+), the initial delay, then generation 1 with itself as leader', () => {
    const { clock, co } = setup();
    const a = joinNew(co, 'g');
    assert.equal(co.get('g')!.state, 'PreparingRebalance');
    clock.advance(DELAY - 1);
    assert.ok(waiting(a.pending), 'the initial rebalance waits group.initial.rebalance.delay.ms');
    clock.advance(1);
    const r = a.pending.result!;
    assert.equal(r.error, KafkaCode.NONE);
    assert.equal(r.generationId, 1);
    assert.equal(r.leader, a.id);
    assert.equal(r.protocolName, 'range');
    assert.equal(r.protocolType, 'consumer');
    assert.deepEqual(
      r.members.map((m) => [m.memberId, m.metadata.toString()]),
      [[a.id, 'range']],
    );
    assert.equal(co.get('g')!.state, 'CompletingRebalance');
    const s = sync(co, 'g', a.id, 1, [[a.id, 'A1']]);
    assert.equal(s.result?.error, KafkaCode.NONE);
    assert.equal(s.result?.assignment.toString(), 'A1');
    assert.equal(co.get('g')!.state, 'Stable');
    assert.equal(co.heartbeat('g', a.id, null, 1), KafkaCode.NONE);
  });

  test('JoinGroup v0–v3 gets its member id at once, no MEMBER_ID_REQUIRED', () => {
    const { clock, co } = setup();
    const j = join(co, 'g', req('', { requireKnownMemberId: false }));
    clock.advance(DELAY);
    assert.equal(j.result?.error, KafkaCode.NONE);
    assert.equal(j.result?.leader, j.result?.memberId);
  });

  test("a second member: rebalance; the leader gets every member, followers none; assignments delivered at the leader's sync", () => {
    const { clock, co } = setup();
    const a = stableOne(clock, co);
    const b = joinNew(co, 'g', { clientId: 'b' });
    assert.equal(co.get('g')!.state, 'PreparingRebalance');
    assert.equal(co.heartbeat('g', a, null, 1), KafkaCode.REBALANCE_IN_PROGRESS);
    assert.ok(waiting(b.pending));
    const ra = join(co, 'g', req(a));
    // Every member has joined: the rebalance completes without waiting.
    const A = ra.result!;
    const B = b.pending.result!;
    assert.equal(A.generationId, 2);
    assert.equal(B.generationId, 2);
    assert.equal(A.leader, a);
    assert.equal(B.leader, a);
    assert.deepEqual(A.members.map((m) => m.memberId).sort(), [a, b.id].sort());
    assert.deepEqual(B.members, []);
    // A follower's SyncGroup waits for the leader's.
    const sb = sync(co, 'g', b.id, 2);
    assert.ok(waiting(sb));
    assert.equal(
      co.heartbeat('g', b.id, null, 2),
      KafkaCode.NONE,
      'heartbeats in CompletingRebalance are fine',
    );
    const sa = sync(co, 'g', a, 2, [
      [a, 'A'],
      [b.id, 'B'],
    ]);
    assert.equal(sa.result?.assignment.toString(), 'A');
    assert.equal(sb.result?.assignment.toString(), 'B');
    assert.equal(co.get('g')!.state, 'Stable');
  });

  test('a member the leader leaves out gets an empty assignment', () => {
    const { clock, co } = setup();
    const a = stableOne(clock, co);
    const b = joinNew(co, 'g');
    const ra = join(co, 'g', req(a));
    const sb = sync(co, 'g', b.id, 2);
    sync(co, 'g', a, ra.result!.generationId, [[a, 'all']]);
    assert.equal(sb.result?.error, KafkaCode.NONE);
    assert.equal(sb.result?.assignment.length, 0);
  });

  test('session timeout: a member that stops heartbeating is removed and the group rebalances', () => {
    const { clock, co } = setup();
    const a = stableOne(clock, co);
    const b = joinNew(co, 'g');
    join(co, 'g', req(a));
    sync(co, 'g', a, 2, []);
    sync(co, 'g', b.id, 2);
    // a heartbeats, b goes silent.
    for (let t = 0; t < SESSION; t += 3000) {
      clock.advance(3000);
      if (co.get('g')!.state !== 'Stable') break;
      assert.equal(co.heartbeat('g', a, null, 2), KafkaCode.NONE);
    }
    assert.equal(co.counters.sessionExpirations, 1);
    assert.equal(co.get('g')!.state, 'PreparingRebalance');
    assert.equal(co.heartbeat('g', a, null, 2), KafkaCode.REBALANCE_IN_PROGRESS);
    assert.equal(co.heartbeat('g', b.id, null, 2), KafkaCode.UNKNOWN_MEMBER_ID);
    const again = join(co, 'g', req(a));
    assert.equal(again.result?.generationId, 3);
    assert.deepEqual(
      again.result?.members.map((m) => m.memberId),
      [a],
    );
  });

  test('rebalance timeout: a member that does not rejoin is dropped when the rebalance completes', () => {
    const { clock, co } = setup();
    const a = stableOne(clock, co);
    const b = joinNew(co, 'g');
    join(co, 'g', req(a));
    sync(co, 'g', a, 2, []);
    sync(co, 'g', b.id, 2);
    // a rejoins (its leader JoinGroup forces a rebalance); b keeps heartbeating but never rejoins.
    const ra = join(co, 'g', req(a));
    assert.equal(co.get('g')!.state, 'PreparingRebalance');
    for (let t = 0; t + 3000 < REBALANCE; t += 3000) {
      clock.advance(3000);
      assert.equal(co.heartbeat('g', b.id, null, 2), KafkaCode.REBALANCE_IN_PROGRESS);
    }
    assert.ok(waiting(ra));
    clock.advance(3000);
    assert.equal(ra.result?.error, KafkaCode.NONE);
    assert.equal(ra.result?.generationId, 3);
    assert.equal(co.get('g')!.has(b.id), false);
  });

  test('a member that does not send SyncGroup within the rebalance timeout is removed (pending sync)', () => {
    const { clock, co } = setup();
    const a = stableOne(clock, co);
    const b = joinNew(co, 'g');
    join(co, 'g', req(a));
    const sa = sync(co, 'g', a, 2, [[a, 'A']]);
    assert.equal(sa.result?.error, KafkaCode.NONE);
    // Both heartbeat (b is alive), but b never sends its SyncGroup.
    for (let t = 0; t + 3000 < REBALANCE; t += 3000) {
      clock.advance(3000);
      assert.equal(co.heartbeat('g', a, null, 2), KafkaCode.NONE);
      assert.equal(co.heartbeat('g', b.id, null, 2), KafkaCode.NONE);
    }
    assert.equal(co.counters.syncExpirations, 0);
    clock.advance(3000);
    assert.equal(co.counters.syncExpirations, 1);
    assert.equal(co.get('g')!.has(b.id), false);
    assert.equal(co.get('g')!.state, 'PreparingRebalance');
  });

  test('errors where Kafka answers them: unknown member, illegal generation, invalid group id, session bounds', () => {
    const { clock, co } = setup();
    const a = stableOne(clock, co);
    assert.equal(co.heartbeat('nope', a, null, 1), KafkaCode.UNKNOWN_MEMBER_ID);
    assert.equal(co.heartbeat('g', 'stranger', null, 1), KafkaCode.UNKNOWN_MEMBER_ID);
    assert.equal(co.heartbeat('g', a, null, 7), KafkaCode.ILLEGAL_GENERATION);
    assert.equal(co.heartbeat('', a, null, 1), KafkaCode.INVALID_GROUP_ID);
    assert.equal(sync(co, 'g', a, 0).result?.error, KafkaCode.ILLEGAL_GENERATION);
    assert.equal(sync(co, 'g', 'stranger', 1).result?.error, KafkaCode.UNKNOWN_MEMBER_ID);
    assert.equal(join(co, 'other', req('someone')).result?.error, KafkaCode.UNKNOWN_MEMBER_ID);
    assert.equal(
      join(co, 'g', req('', { sessionTimeoutMs: 5999 })).result?.error,
      KafkaCode.INVALID_SESSION_TIMEOUT,
    );
    assert.equal(
      join(co, 'g', req('', { protocolType: 'connect' })).result?.error,
      KafkaCode.INCONSISTENT_GROUP_PROTOCOL,
    );
    assert.equal(
      join(co, 'g', req('', { protocols: [proto('sticky')] })).result?.error,
      KafkaCode.INCONSISTENT_GROUP_PROTOCOL,
    );
    // SyncGroup during PreparingRebalance.
    joinNew(co, 'g');
    assert.equal(sync(co, 'g', a, 1).result?.error, KafkaCode.REBALANCE_IN_PROGRESS);
  });

  test('protocol selection: the one all members support that most prefer; the leader gets metadata for it', () => {
    const { clock, co } = setup();
    const a = joinNew(co, 'g', { protocols: [proto('range', 'ra'), proto('roundrobin', 'rr-a')] });
    const b = joinNew(co, 'g', { protocols: [proto('roundrobin', 'rr-b'), proto('range', 'rb')] });
    const c = joinNew(co, 'g', { protocols: [proto('roundrobin', 'rr-c')] });
    clock.advance(2 * DELAY); // members arrived in the first delay: one more
    const leader = [a, b, c].find((x) => x.pending.result!.members.length > 0)!;
    assert.equal(leader.id, a.id, 'the first member is the leader');
    assert.equal(a.pending.result?.protocolName, 'roundrobin');
    assert.deepEqual(a.pending.result?.members.map((m) => m.metadata.toString()).sort(), [
      'rr-a',
      'rr-b',
      'rr-c',
    ]);
  });

  test('the initial delay grows while members keep arriving, up to the rebalance timeout', () => {
    const { clock, co } = setup();
    const a = joinNew(co, 'g');
    clock.advance(DELAY - 1);
    const b = joinNew(co, 'g');
    clock.advance(1);
    assert.ok(waiting(a.pending), 'a member arrived during the delay: it is extended');
    clock.advance(DELAY);
    assert.equal(a.pending.result?.generationId, 1);
    assert.equal(b.pending.result?.generationId, 1);
    assert.equal(a.pending.result?.members.length, 2);
  });

  test('LeaveGroup v3+: a batch of members, each with its own error; the group rebalances and empties', () => {
    const { clock, co } = setup();
    const a = stableOne(clock, co);
    const r = co.leave('g', [
      { memberId: a, groupInstanceId: null },
      { memberId: 'stranger', groupInstanceId: null },
    ]);
    assert.equal(r.error, KafkaCode.NONE);
    assert.deepEqual(
      r.members.map((m) => m.error),
      [KafkaCode.NONE, KafkaCode.UNKNOWN_MEMBER_ID],
    );
    assert.equal(
      co.get('g')!.state,
      'Empty',
      'the last member left: the rebalance ends at once, empty',
    );
    assert.equal(co.get('g')!.generationId, 2);
    const unknown = co.leave('nope', [{ memberId: 'x', groupInstanceId: null }]);
    assert.equal(unknown.members[0]!.error, KafkaCode.UNKNOWN_MEMBER_ID);
  });

  test('a pending member (MEMBER_ID_REQUIRED, never rejoined) expires after its session timeout and no longer holds the rebalance', () => {
    const { clock, co } = setup();
    const a = stableOne(clock, co);
    const first = join(co, 'g', req(''));
    assert.equal(first.result?.error, KafkaCode.MEMBER_ID_REQUIRED);
    const ra = join(co, 'g', req(a));
    assert.ok(waiting(ra), 'waits for the pending member');
    clock.advance(SESSION);
    assert.equal(ra.result?.error, KafkaCode.NONE);
    assert.equal(ra.result?.members.length, 1);
  });

  test('static membership: a restarted static member takes its place without a rebalance; the old id is fenced', () => {
    const { clock, co } = setup();
    const over = { groupInstanceId: 'inst-1', clientId: 'c' };
    const j = join(co, 'g', req('', over));
    clock.advance(DELAY);
    const old = j.result!;
    assert.equal(old.error, KafkaCode.NONE, 'a static member gets no MEMBER_ID_REQUIRED');
    assert.match(old.memberId, /^inst-1-/);
    sync(co, 'g', old.memberId, 1, [[old.memberId, 'P0']], 'inst-1');
    // The client restarts: same instance id, no member id.
    const again = join(co, 'g', req('', over));
    const r = again.result!;
    assert.equal(r.error, KafkaCode.NONE);
    assert.notEqual(r.memberId, old.memberId);
    assert.equal(r.generationId, 1, 'no rebalance');
    assert.equal(
      r.leader,
      old.memberId,
      'before v9 the old leader id is returned, so it runs no assignment',
    );
    assert.equal(co.get('g')!.state, 'Stable');
    assert.equal(co.heartbeat('g', old.memberId, 'inst-1', 1), KafkaCode.FENCED_INSTANCE_ID);
    const s = sync(co, 'g', r.memberId, 1, [], 'inst-1');
    assert.equal(s.result?.assignment.toString(), 'P0', 'it keeps its assignment');
    // v9+: the leader is told it leads but may skip the assignment.
    const v9 = join(co, 'g', req('', { ...over, supportSkippingAssignment: true })).result!;
    assert.equal(v9.leader, v9.memberId);
    assert.equal(v9.skipAssignment, true);
    // LeaveGroup by instance id only (an admin removal).
    const left = co.leave('g', [{ memberId: '', groupInstanceId: 'inst-1' }]);
    assert.equal(left.members[0]!.error, KafkaCode.NONE);
    assert.equal(co.get('g')!.size, 0);
  });

  test('a static member that does not rejoin keeps its place through a rebalance until its session times out', () => {
    const { clock, co } = setup();
    const s = join(co, 'g', req('', { groupInstanceId: 'inst' }));
    const d = joinNew(co, 'g');
    clock.advance(2 * DELAY);
    const sid = s.result!.memberId;
    sync(co, 'g', sid, 1, [], 'inst');
    sync(co, 'g', d.id, 1);
    // The dynamic member rejoins (metadata changed); the static one stays silent.
    const rd = join(co, 'g', req(d.id, { protocols: [proto('range', 'new')] }));
    clock.advance(SESSION - 1);
    assert.equal(co.get('g')!.has(sid), true);
    clock.advance(1);
    assert.equal(co.get('g')!.has(sid), false, 'its session timed out');
    assert.equal(rd.result?.error, KafkaCode.NONE);
  });

  test('OffsetCommit checks: simple commits, generations, members, CompletingRebalance', () => {
    const { clock, co } = setup();
    assert.equal(
      co.validateCommit('simple', '', null, -1),
      KafkaCode.NONE,
      'a group without members commits freely',
    );
    assert.equal(co.get('simple')?.state, 'Empty');
    assert.equal(co.validateCommit('nope', 'm', null, 3), KafkaCode.ILLEGAL_GENERATION);
    const a = joinNew(co, 'g');
    clock.advance(DELAY);
    assert.equal(co.validateCommit('g', a.id, null, 1), KafkaCode.REBALANCE_IN_PROGRESS);
    sync(co, 'g', a.id, 1, []);
    assert.equal(co.validateCommit('g', a.id, null, 1), KafkaCode.NONE);
    assert.equal(co.validateCommit('g', a.id, null, 0), KafkaCode.ILLEGAL_GENERATION);
    assert.equal(co.validateCommit('g', 'x', null, 1), KafkaCode.UNKNOWN_MEMBER_ID);
    assert.equal(
      co.validateCommit('g', '', null, -1),
      KafkaCode.UNKNOWN_MEMBER_ID,
      'only members commit to a live group',
    );
  });

  test('bounds: group.max.size and the number of groups, each counted', () => {
    const { clock, co } = setup({ maxGroupSize: 1, maxGroups: 2 });
    stableOne(clock, co);
    const over = join(co, 'g', req('', { requireKnownMemberId: false }));
    assert.equal(over.result?.error, KafkaCode.GROUP_MAX_SIZE_REACHED);
    assert.equal(co.counters.groupFull, 1);
    join(co, 'h', req(''));
    assert.equal(join(co, 'i', req('')).result?.error, KafkaCode.COORDINATOR_NOT_AVAILABLE);
    assert.equal(co.counters.groupsFull, 1);
  });

  test('a three-member group through joins, a crash and a leave stays consistent', () => {
    const { clock, co } = setup();
    const ids = [joinNew(co, 'g'), joinNew(co, 'g'), joinNew(co, 'g')];
    clock.advance(2 * DELAY);
    const gen = ids[0]!.pending.result!.generationId;
    const leader = ids[0]!.pending.result!.leader;
    const syncs = ids.map((x) =>
      sync(co, 'g', x.id, gen, x.id === leader ? ids.map((y) => [y.id, y.id.slice(0, 8)]) : []),
    );
    for (const [i, s] of syncs.entries())
      assert.equal(s.result?.assignment.toString(), ids[i]!.id.slice(0, 8));
    // Member 2 leaves; 0 and 1 learn through heartbeats and rejoin.
    co.leave('g', [{ memberId: ids[2]!.id, groupInstanceId: null }]);
    assert.equal(co.heartbeat('g', ids[0]!.id, null, gen), KafkaCode.REBALANCE_IN_PROGRESS);
    const j0 = join(co, 'g', req(ids[0]!.id));
    const j1 = join(co, 'g', req(ids[1]!.id));
    assert.equal(j0.result?.generationId, gen + 1);
    assert.equal(j1.result?.generationId, gen + 1);
    // The leader crashes: its session expires while the follower waits in sync.
    const s1 = sync(co, 'g', ids[1]!.id, gen + 1);
    clock.advance(SESSION);
    assert.equal(s1.result?.error, KafkaCode.REBALANCE_IN_PROGRESS);
    const j1b = join(co, 'g', req(ids[1]!.id));
    assert.equal(j1b.result?.leader, ids[1]!.id, 'the survivor leads');
    assert.equal(j1b.result?.members.length, 1);
  });
});
