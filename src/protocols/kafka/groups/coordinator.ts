/**
 * The group coordinator of Kafka's classic group protocol (JoinGroup,
 * SyncGroup, Heartbeat, LeaveGroup and the membership checks of
 * OffsetCommit), as a pure state machine: no I/O, time from an injected
 * Clock. Requests that wait (JoinGroup until the rebalance completes,
 * SyncGroup until the leader's assignment) are answered through a
 * callback. The behaviour — which error where, when a rebalance starts and
 * ends — is Apache Kafka 3.x's (core/.../coordinator/group/GroupCoordinator.scala
 * and GroupMetadata.scala, read for facts); the code is our own.
 *
 * Membership is kept in memory only: after a node restart members get
 * UNKNOWN_MEMBER_ID on their next heartbeat and rejoin (clients do this
 * by themselves); committed offsets are durable (offsets.ts).
 */
import { randomUUID } from 'node:crypto';
import type { Clock } from './clock.js';
import { KafkaCode, type KafkaCodeValue } from './codes.js';
import {
  EMPTY,
  Group,
  type JoinCallback,
  joinError,
  type Member,
  type Protocol,
  type SyncCallback,
  sameProtocols,
  syncError,
} from './group.js';
import { Rebalancer } from './rebalance.js';

export interface CoordinatorConfig {
  /** group.min.session.timeout.ms: a JoinGroup asking less gets INVALID_SESSION_TIMEOUT. */
  minSessionTimeoutMs: number;
  /** group.max.session.timeout.ms. */
  maxSessionTimeoutMs: number;
  /** group.initial.rebalance.delay.ms: how long the first rebalance of an empty group waits for more members. */
  initialRebalanceDelayMs: number;
  /** group.max.size: members per group; more get GROUP_MAX_SIZE_REACHED (counted). */
  maxGroupSize: number;
  /** Groups this node coordinates; a JoinGroup for a new group past it gets COORDINATOR_NOT_AVAILABLE (counted). */
  maxGroups: number;
  /** How long a new member's JoinGroup may wait for its rebalance (Kafka: 5 minutes). */
  newMemberJoinTimeoutMs: number;
}

export const DEFAULT_COORDINATOR_CONFIG: CoordinatorConfig = Object.freeze({
  minSessionTimeoutMs: 6000,
  maxSessionTimeoutMs: 1_800_000,
  initialRebalanceDelayMs: 3000,
  maxGroupSize: 1000,
  maxGroups: 10_000,
  newMemberJoinTimeoutMs: 300_000,
});

export interface CoordinatorCounters {
  rebalances: number;
  /** Members removed because their session timed out. */
  sessionExpirations: number;
  /** Members removed because they did not send SyncGroup in time. */
  syncExpirations: number;
  /** JoinGroups refused with GROUP_MAX_SIZE_REACHED. */
  groupFull: number;
  /** JoinGroups refused because `maxGroups` was reached. */
  groupsFull: number;
}

export interface JoinRequest {
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  /** JoinGroup v4+: a member without an id is first answered MEMBER_ID_REQUIRED. */
  readonly requireKnownMemberId: boolean;
  /** JoinGroup v9+: a static leader rejoining a stable group may skip the assignment. */
  readonly supportSkippingAssignment: boolean;
  readonly clientId: string;
  readonly clientHost: string;
  readonly rebalanceTimeoutMs: number;
  readonly sessionTimeoutMs: number;
  readonly protocolType: string;
  readonly protocols: readonly Protocol[];
}

export interface SyncRequest {
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly generationId: number;
  /** v5+: checked against the group's when given. */
  readonly protocolType: string | null;
  readonly protocolName: string | null;
  readonly assignments: ReadonlyMap<string, Buffer>;
}

export interface LeavingMember {
  readonly memberId: string;
  readonly groupInstanceId: string | null;
}

export interface LeaveResult {
  readonly error: KafkaCodeValue;
  readonly members: readonly (LeavingMember & { error: KafkaCodeValue })[];
}

export class GroupCoordinator {
  readonly config: CoordinatorConfig;
  readonly counters: CoordinatorCounters = {
    rebalances: 0,
    sessionExpirations: 0,
    syncExpirations: 0,
    groupFull: 0,
    groupsFull: 0,
  };
  private readonly groups = new Map<string, Group>();
  private readonly r: Rebalancer;

  constructor(
    private readonly clock: Clock,
    config: Partial<CoordinatorConfig> = {},
  ) {
    this.config = { ...DEFAULT_COORDINATOR_CONFIG, ...config };
    this.r = new Rebalancer(clock, this.config, this.counters);
  }

  get(groupId: string): Group | undefined {
    return this.groups.get(groupId);
  }

  all(): IterableIterator<Group> {
    return this.groups.values();
  }

  /** A group for a simple offset commit (no members), created Empty when missing. */
  getOrCreate(groupId: string): Group | null {
    let g = this.groups.get(groupId);
    if (g === undefined) {
      if (this.groups.size >= this.config.maxGroups) {
        this.counters.groupsFull++;
        return null;
      }
      g = new Group(groupId);
      g.stateSince = this.clock.now();
      this.groups.set(groupId, g);
    }
    return g;
  }

  /** Forgets a group (DeleteGroups of an empty group; an empty group with no offsets). */
  drop(groupId: string): void {
    const g = this.groups.get(groupId);
    if (g === undefined) return;
    this.r.transition(g, 'Dead');
    this.r.clearTimers(g);
    this.groups.delete(groupId);
  }

  close(): void {
    for (const g of this.groups.values()) {
      this.r.clearTimers(g);
      for (const m of g.members.values()) this.clock.clear(m.timer);
    }
    this.groups.clear();
  }

  // ---- JoinGroup ----

  join(groupId: string, req: JoinRequest, cb: JoinCallback): void {
    if (groupId === '') {
      cb(joinError(req.memberId, KafkaCode.INVALID_GROUP_ID));
      return;
    }
    const c = this.config;
    if (
      req.sessionTimeoutMs < c.minSessionTimeoutMs ||
      req.sessionTimeoutMs > c.maxSessionTimeoutMs
    ) {
      cb(joinError(req.memberId, KafkaCode.INVALID_SESSION_TIMEOUT));
      return;
    }
    const unknown = req.memberId === '';
    // A group is created by a member without an id; a known id for a missing group is unknown.
    const g = unknown ? this.getOrCreate(groupId) : (this.groups.get(groupId) ?? 'missing');
    if (g === 'missing') {
      cb(joinError(req.memberId, KafkaCode.UNKNOWN_MEMBER_ID));
      return;
    }
    if (g === null) {
      cb(joinError(req.memberId, KafkaCode.COORDINATOR_NOT_AVAILABLE));
      return;
    }
    if (!this.accepts(g, req.memberId)) {
      this.counters.groupFull++;
      g.remove(req.memberId);
      cb(joinError('', KafkaCode.GROUP_MAX_SIZE_REACHED));
    } else if (unknown) {
      this.newMemberJoin(g, req, cb);
    } else {
      this.currentMemberJoin(g, req, cb);
    }
    if (g.is('PreparingRebalance')) this.r.tryCompleteJoin(g);
  }

  private accepts(g: Group, memberId: string): boolean {
    switch (g.state) {
      case 'Empty':
      case 'Dead':
        return true;
      case 'PreparingRebalance':
        return (
          (g.members.get(memberId)?.joinCallback ?? null) !== null ||
          g.awaitingJoin < this.config.maxGroupSize
        );
      default:
        return g.has(memberId) || g.size < this.config.maxGroupSize;
    }
  }

  private newMemberJoin(g: Group, req: JoinRequest, cb: JoinCallback): void {
    if (g.is('Dead')) {
      cb(joinError('', KafkaCode.COORDINATOR_NOT_AVAILABLE));
      return;
    }
    if (!g.supportsProtocols(req.protocolType, req.protocols)) {
      cb(joinError('', KafkaCode.INCONSISTENT_GROUP_PROTOCOL));
      return;
    }
    const newId = `${req.groupInstanceId ?? req.clientId}-${randomUUID()}`;
    if (req.groupInstanceId !== null) {
      const old = g.staticMemberId(req.groupInstanceId);
      if (old !== undefined) {
        this.updateStaticMember(g, old, newId, req, cb);
        return;
      }
      this.addMemberAndRebalance(g, newId, req, cb);
      return;
    }
    if (req.requireKnownMemberId) {
      // KIP-394: the member learns its id first and joins with it, so that a
      // client that times out and retries does not leave defunct members behind.
      const timer = this.clock.set(req.sessionTimeoutMs, () => this.r.expirePending(g, newId));
      g.pendingMembers.set(newId, timer);
      cb(joinError(newId, KafkaCode.MEMBER_ID_REQUIRED));
      return;
    }
    this.addMemberAndRebalance(g, newId, req, cb);
  }

  /** Validates a request's member: FENCED_INSTANCE_ID, UNKNOWN_MEMBER_ID or null. */
  private validateMember(
    g: Group,
    memberId: string,
    instanceId: string | null,
  ): KafkaCodeValue | null {
    if (instanceId !== null) {
      const current = g.staticMemberId(instanceId);
      if (current === undefined) return KafkaCode.UNKNOWN_MEMBER_ID;
      if (current !== memberId) return KafkaCode.FENCED_INSTANCE_ID;
      return null;
    }
    return g.has(memberId) ? null : KafkaCode.UNKNOWN_MEMBER_ID;
  }

  private currentMemberJoin(g: Group, req: JoinRequest, cb: JoinCallback): void {
    const id = req.memberId;
    if (g.is('Dead')) {
      cb(joinError(id, KafkaCode.COORDINATOR_NOT_AVAILABLE));
      return;
    }
    if (!g.supportsProtocols(req.protocolType, req.protocols)) {
      cb(joinError(id, KafkaCode.INCONSISTENT_GROUP_PROTOCOL));
      return;
    }
    if (g.pendingMembers.has(id)) {
      this.clock.clear(g.pendingMembers.get(id));
      g.pendingMembers.delete(id);
      this.addMemberAndRebalance(g, id, req, cb);
      return;
    }
    const err = this.validateMember(g, id, req.groupInstanceId);
    if (err !== null) {
      cb(joinError(id, err));
      return;
    }
    const m = g.members.get(id)!;
    switch (g.state) {
      case 'PreparingRebalance':
        this.updateMemberAndRebalance(g, m, req, cb);
        return;
      case 'CompletingRebalance':
        // Same metadata: it missed the JoinGroup answer; give it again.
        if (sameProtocols(m.protocols, req.protocols)) {
          cb(this.r.joinAnswer(g, m.memberId, g.isLeader(id)));
          return;
        }
        this.updateMemberAndRebalance(g, m, req, cb);
        return;
      case 'Stable':
        // A leader's JoinGroup forces a rebalance (it saw metadata change);
        // a follower with unchanged metadata just gets the generation.
        if (g.isLeader(id) || !sameProtocols(m.protocols, req.protocols)) {
          this.updateMemberAndRebalance(g, m, req, cb);
          return;
        }
        cb(this.r.joinAnswer(g, id, false));
        return;
      default:
        cb(joinError(id, KafkaCode.UNKNOWN_MEMBER_ID));
        return;
    }
  }

  private addMemberAndRebalance(g: Group, id: string, req: JoinRequest, cb: JoinCallback): void {
    const m: Member = {
      memberId: id,
      groupInstanceId: req.groupInstanceId,
      clientId: req.clientId,
      clientHost: req.clientHost,
      rebalanceTimeoutMs: req.rebalanceTimeoutMs,
      sessionTimeoutMs: req.sessionTimeoutMs,
      protocolType: req.protocolType,
      protocols: req.protocols,
      assignment: EMPTY,
      joinCallback: null,
      syncCallback: null,
      isNew: true,
      heartbeatSatisfied: false,
      timer: null,
    };
    if (g.is('PreparingRebalance') && g.generationId === 0) g.newMemberAdded = true;
    g.add(m, cb);
    // A new member cannot heartbeat while it waits; its join has its own long timeout.
    this.r.scheduleExpiration(g, m, this.config.newMemberJoinTimeoutMs);
    this.r.maybePrepareRebalance(g);
  }

  private updateMemberAndRebalance(g: Group, m: Member, req: JoinRequest, cb: JoinCallback): void {
    m.protocols = req.protocols;
    m.rebalanceTimeoutMs = req.rebalanceTimeoutMs;
    m.sessionTimeoutMs = req.sessionTimeoutMs;
    g.setJoinCallback(m, cb);
    this.r.maybePrepareRebalance(g);
  }

  private updateStaticMember(
    g: Group,
    oldId: string,
    newId: string,
    req: JoinRequest,
    cb: JoinCallback,
  ): void {
    const leaderBefore = g.leaderId ?? '';
    const m = g.replaceStaticMember(req.groupInstanceId!, oldId, newId);
    this.r.scheduleHeartbeat(g, m);
    m.protocols = req.protocols;
    m.rebalanceTimeoutMs = req.rebalanceTimeoutMs;
    m.sessionTimeoutMs = req.sessionTimeoutMs;
    g.setJoinCallback(m, cb);
    switch (g.state) {
      case 'Stable':
        if (g.protocolName === g.selectProtocol()) {
          // Nothing the assignment depends on changed: no rebalance. Before
          // v9 the old leader id is returned so a rejoining static leader
          // does not run a pointless assignment; v9+ says so with skipAssignment.
          const leader = g.isLeader(newId);
          if (req.supportSkippingAssignment) {
            g.invokeJoin(m, this.r.joinAnswer(g, newId, leader, leader));
          } else {
            g.invokeJoin(m, { ...this.r.joinAnswer(g, newId, false), leader: leaderBefore });
          }
        } else {
          this.r.maybePrepareRebalance(g);
        }
        return;
      case 'CompletingRebalance':
        // The leader may have assigned to the old id: rebalance again.
        this.r.prepareRebalance(g);
        return;
      default:
        return;
    }
  }

  // ---- SyncGroup ----

  sync(groupId: string, req: SyncRequest, cb: SyncCallback): void {
    if (groupId === '') {
      cb(syncError(KafkaCode.INVALID_GROUP_ID));
      return;
    }
    const g = this.groups.get(groupId);
    if (g === undefined) {
      cb(syncError(KafkaCode.UNKNOWN_MEMBER_ID));
      return;
    }
    if (g.is('Dead')) {
      cb(syncError(KafkaCode.COORDINATOR_NOT_AVAILABLE));
      return;
    }
    const err =
      this.validateMember(g, req.memberId, req.groupInstanceId) ??
      (req.generationId !== g.generationId
        ? KafkaCode.ILLEGAL_GENERATION
        : (req.protocolType !== null && req.protocolType !== g.protocolType) ||
            (req.protocolName !== null && req.protocolName !== g.protocolName)
          ? KafkaCode.INCONSISTENT_GROUP_PROTOCOL
          : null);
    if (err !== null) {
      cb(syncError(err));
      return;
    }
    const m = g.members.get(req.memberId)!;
    switch (g.state) {
      case 'Empty':
        cb(syncError(KafkaCode.UNKNOWN_MEMBER_ID));
        return;
      case 'PreparingRebalance':
        cb(syncError(KafkaCode.REBALANCE_IN_PROGRESS));
        return;
      case 'CompletingRebalance':
        m.syncCallback = cb;
        this.r.syncArrived(g, req.memberId);
        if (g.isLeader(req.memberId)) {
          // Members the leader left out get an empty assignment.
          for (const x of g.members.values())
            x.assignment = req.assignments.get(x.memberId) ?? EMPTY;
          this.r.propagate(g, KafkaCode.NONE);
          this.r.transition(g, 'Stable');
        }
        return;
      case 'Stable':
        this.r.syncArrived(g, req.memberId);
        cb({
          error: KafkaCode.NONE,
          protocolType: g.protocolType,
          protocolName: g.protocolName,
          assignment: m.assignment,
        });
        this.r.scheduleHeartbeat(g, m);
        return;
      default:
        cb(syncError(KafkaCode.COORDINATOR_NOT_AVAILABLE));
        return;
    }
  }

  // ---- Heartbeat ----

  heartbeat(
    groupId: string,
    memberId: string,
    instanceId: string | null,
    generationId: number,
  ): KafkaCodeValue {
    if (groupId === '') return KafkaCode.INVALID_GROUP_ID;
    const g = this.groups.get(groupId);
    if (g === undefined) return KafkaCode.UNKNOWN_MEMBER_ID;
    if (g.is('Dead')) return KafkaCode.COORDINATOR_NOT_AVAILABLE;
    const err = this.validateMember(g, memberId, instanceId);
    if (err !== null) return err;
    if (generationId !== g.generationId) return KafkaCode.ILLEGAL_GENERATION;
    const m = g.members.get(memberId)!;
    switch (g.state) {
      case 'Empty':
        return KafkaCode.UNKNOWN_MEMBER_ID;
      case 'PreparingRebalance':
        this.r.scheduleHeartbeat(g, m);
        return KafkaCode.REBALANCE_IN_PROGRESS;
      default:
        this.r.scheduleHeartbeat(g, m);
        return KafkaCode.NONE;
    }
  }

  // ---- LeaveGroup ----

  leave(groupId: string, leaving: readonly LeavingMember[]): LeaveResult {
    if (groupId === '') return { error: KafkaCode.INVALID_GROUP_ID, members: [] };
    const g = this.groups.get(groupId);
    if (g === undefined) {
      return {
        error: KafkaCode.NONE,
        members: leaving.map((l) => ({ ...l, error: KafkaCode.UNKNOWN_MEMBER_ID })),
      };
    }
    if (g.is('Dead')) return { error: KafkaCode.COORDINATOR_NOT_AVAILABLE, members: [] };
    const members = leaving.map((l) => ({ ...l, error: this.leaveOne(g, l) }));
    return { error: KafkaCode.NONE, members };
  }

  private leaveOne(g: Group, l: LeavingMember): KafkaCodeValue {
    if (l.memberId === '') {
      // An administrative removal by group.instance.id.
      const id = l.groupInstanceId === null ? undefined : g.staticMemberId(l.groupInstanceId);
      if (id === undefined) return KafkaCode.UNKNOWN_MEMBER_ID;
      this.r.removeMember(g, g.members.get(id)!);
      return KafkaCode.NONE;
    }
    if (g.pendingMembers.has(l.memberId)) {
      this.clock.clear(g.pendingMembers.get(l.memberId));
      g.pendingMembers.delete(l.memberId);
      if (g.is('PreparingRebalance')) this.r.tryCompleteJoin(g);
      return KafkaCode.NONE;
    }
    const err = this.validateMember(g, l.memberId, l.groupInstanceId);
    if (err !== null) return err;
    this.r.removeMember(g, g.members.get(l.memberId)!);
    return KafkaCode.NONE;
  }

  // ---- OffsetCommit ----

  /**
   * Whether an OffsetCommit may write: NONE, or the error every partition
   * of the request is answered. A commit with generation -1 and no member
   * (a consumer that assigns partitions itself, or an admin tool) may
   * commit to an empty group, which it creates if missing.
   */
  validateCommit(
    groupId: string,
    memberId: string,
    instanceId: string | null,
    generationId: number,
  ): KafkaCodeValue {
    let g = this.groups.get(groupId);
    if (g === undefined) {
      if (generationId >= 0) return KafkaCode.ILLEGAL_GENERATION;
      g = this.getOrCreate(groupId) ?? undefined;
      if (g === undefined) return KafkaCode.COORDINATOR_NOT_AVAILABLE;
    }
    if (g.is('Dead')) return KafkaCode.COORDINATOR_NOT_AVAILABLE;
    if (generationId < 0 && g.is('Empty')) return KafkaCode.NONE;
    if (generationId >= 0 || memberId !== '' || instanceId !== null) {
      const err = this.validateMember(g, memberId, instanceId);
      if (err !== null) return err;
      if (generationId !== g.generationId) return KafkaCode.ILLEGAL_GENERATION;
    } else if (!g.is('Empty')) {
      return KafkaCode.UNKNOWN_MEMBER_ID;
    }
    switch (g.state) {
      case 'Empty':
        return KafkaCode.NONE;
      case 'CompletingRebalance':
        return KafkaCode.REBALANCE_IN_PROGRESS;
      default: {
        // A commit counts as a sign of life, as a heartbeat does.
        const m = g.members.get(memberId);
        if (m !== undefined) this.r.scheduleHeartbeat(g, m);
        return KafkaCode.NONE;
      }
    }
  }
}
