/**
 * One consumer group of Kafka's classic protocol, as data: its members,
 * generation, leader, selected protocol and state. The rules that move it
 * from state to state are the coordinator's (coordinator.ts); this file
 * holds what the group knows and the pure questions asked of it, after
 * Apache Kafka's GroupMetadata / MemberMetadata (facts, not code).
 *
 * States (Kafka's names, which DescribeGroups and ListGroups report):
 *
 * ```
 *   Empty ──join──▶ PreparingRebalance ──all joined / rebalance timeout──▶ CompletingRebalance
 *     ▲                 ▲    │                                                 │ leader's SyncGroup
 *     │ last member     │    └──no member left──▶ Empty                        ▼
 *     │ leaves          └──── join, leave, session timeout ───────────────  Stable
 *   Dead: deleted (DeleteGroups) or dropped when empty with no offsets
 * ```
 */
import { KafkaCode, type KafkaCodeValue } from './codes.js';

export type GroupState = 'Empty' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable' | 'Dead';

export interface Protocol {
  readonly name: string;
  readonly metadata: Buffer;
}

export interface JoinMember {
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly metadata: Buffer;
}

/** What a JoinGroup is answered (JoinGroupResponse's fields). */
export interface JoinResult {
  readonly error: KafkaCodeValue;
  readonly generationId: number;
  readonly protocolType: string | null;
  readonly protocolName: string | null;
  readonly leader: string;
  readonly skipAssignment: boolean;
  readonly memberId: string;
  /** Every member's metadata for the selected protocol: the leader's only. */
  readonly members: readonly JoinMember[];
}

/** What a SyncGroup is answered. */
export interface SyncResult {
  readonly error: KafkaCodeValue;
  readonly protocolType: string | null;
  readonly protocolName: string | null;
  readonly assignment: Buffer;
}

export type JoinCallback = (r: JoinResult) => void;
export type SyncCallback = (r: SyncResult) => void;

export interface Member {
  memberId: string;
  readonly groupInstanceId: string | null;
  readonly clientId: string;
  readonly clientHost: string;
  rebalanceTimeoutMs: number;
  sessionTimeoutMs: number;
  readonly protocolType: string;
  protocols: readonly Protocol[];
  assignment: Buffer;
  /** Set while its JoinGroup waits for the rebalance to complete. */
  joinCallback: JoinCallback | null;
  /** Set while its SyncGroup waits for the leader's assignment. */
  syncCallback: SyncCallback | null;
  /** Joined in this rebalance for the first time (the long join timeout applies). */
  isNew: boolean;
  /** A heartbeat (or join, sync, commit) arrived since the session timer was set. */
  heartbeatSatisfied: boolean;
  /** The session (or new-member) timer. */
  timer: unknown;
}

export const EMPTY = Buffer.alloc(0);

export function joinError(memberId: string, error: KafkaCodeValue): JoinResult {
  return {
    error,
    generationId: -1,
    protocolType: null,
    protocolName: null,
    leader: '',
    skipAssignment: false,
    memberId,
    members: [],
  };
}

export function syncError(error: KafkaCodeValue): SyncResult {
  return { error, protocolType: null, protocolName: null, assignment: EMPTY };
}

export class Group {
  state: GroupState = 'Empty';
  generationId = 0;
  protocolType: string | null = null;
  protocolName: string | null = null;
  leaderId: string | null = null;
  readonly members = new Map<string, Member>();
  /** Member ids handed out with MEMBER_ID_REQUIRED, not joined yet → their timer. */
  readonly pendingMembers = new Map<string, unknown>();
  /** Members that have not sent SyncGroup for this generation. */
  readonly pendingSync = new Set<string>();
  /** group.instance.id → member id. */
  readonly staticMembers = new Map<string, string>();
  /** Members with a JoinGroup waiting. */
  awaitingJoin = 0;
  /** A new member joined during the initial delay (it extends the delay). */
  newMemberAdded = false;
  /** The rebalance (join) timer and whether it is the initial delayed join. */
  joinTimer: unknown = null;
  joinTimerInitial = false;
  /** The pending-sync timer and the generation it was set for. */
  syncTimer: unknown = null;
  /** When the group last changed state (ms). */
  stateSince = 0;

  constructor(readonly groupId: string) {}

  is(s: GroupState): boolean {
    return this.state === s;
  }

  has(memberId: string): boolean {
    return this.members.has(memberId);
  }

  isLeader(memberId: string): boolean {
    return this.leaderId === memberId;
  }

  get size(): number {
    return this.members.size;
  }

  add(m: Member, join: JoinCallback | null): void {
    if (this.members.size === 0) this.protocolType = m.protocolType;
    this.members.set(m.memberId, m);
    if (m.groupInstanceId !== null) this.staticMembers.set(m.groupInstanceId, m.memberId);
    if (this.leaderId === null) this.leaderId = m.memberId;
    this.setJoinCallback(m, join);
  }

  remove(memberId: string): void {
    const m = this.members.get(memberId);
    if (m !== undefined) {
      if (m.joinCallback !== null) this.awaitingJoin--;
      this.members.delete(memberId);
      if (m.groupInstanceId !== null && this.staticMembers.get(m.groupInstanceId) === memberId) {
        this.staticMembers.delete(m.groupInstanceId);
      }
    }
    if (this.leaderId === memberId) {
      const next = this.members.keys().next();
      this.leaderId = next.done ? null : next.value;
    }
    this.pendingMembers.delete(memberId);
    this.pendingSync.delete(memberId);
  }

  setJoinCallback(m: Member, cb: JoinCallback | null): void {
    if (m.joinCallback === null && cb !== null) this.awaitingJoin++;
    if (m.joinCallback !== null && cb === null) this.awaitingJoin--;
    m.joinCallback = cb;
  }

  /** Answers a waiting JoinGroup; true when one was waiting. */
  invokeJoin(m: Member, r: JoinResult): boolean {
    const cb = m.joinCallback;
    if (cb === null) return false;
    this.setJoinCallback(m, null);
    cb(r);
    return true;
  }

  invokeSync(m: Member, r: SyncResult): boolean {
    const cb = m.syncCallback;
    if (cb === null) return false;
    m.syncCallback = null;
    cb(r);
    return true;
  }

  /** The static member id now holding `instanceId`. */
  staticMemberId(instanceId: string): string | undefined {
    return this.staticMembers.get(instanceId);
  }

  /** A static member rejoins under a new member id: it keeps its place and assignment. */
  replaceStaticMember(instanceId: string, oldId: string, newId: string): Member {
    const m = this.members.get(oldId);
    if (m === undefined)
      throw new Error(`static member ${oldId} of ${instanceId} is not in the group`);
    // The old connection's waits are answered as fenced (Kafka: FENCED_INSTANCE_ID).
    this.invokeJoin(m, joinError(oldId, KafkaCode.FENCED_INSTANCE_ID));
    this.invokeSync(m, syncError(KafkaCode.FENCED_INSTANCE_ID));
    this.members.delete(oldId);
    m.memberId = newId;
    this.members.set(newId, m);
    this.staticMembers.set(instanceId, newId);
    if (this.leaderId === oldId) this.leaderId = newId;
    if (this.pendingSync.delete(oldId)) this.pendingSync.add(newId);
    return m;
  }

  hasAllMembersJoined(): boolean {
    return this.members.size === this.awaitingJoin && this.pendingMembers.size === 0;
  }

  /** The largest rebalance timeout of the members: how long a rebalance waits. */
  rebalanceTimeoutMs(): number {
    let t = 0;
    for (const m of this.members.values()) t = Math.max(t, m.rebalanceTimeoutMs);
    return t;
  }

  /**
   * Whether a member of `protocolType` offering `protocols` may join: an
   * empty group takes any (non-empty) offer; otherwise the type must match
   * and one protocol must be one every member supports.
   */
  supportsProtocols(protocolType: string, protocols: readonly Protocol[]): boolean {
    if (this.is('Empty')) return protocolType !== '' && protocols.length > 0;
    if (this.protocolType !== protocolType) return false;
    const common = this.candidateProtocols();
    return protocols.some((p) => common.has(p.name));
  }

  /** Protocols every member supports. */
  candidateProtocols(): Set<string> {
    const common = new Set<string>();
    let first = true;
    for (const m of this.members.values()) {
      const mine = new Set(m.protocols.map((p) => p.name));
      if (first) for (const n of mine) common.add(n);
      else for (const n of [...common]) if (!mine.has(n)) common.delete(n);
      first = false;
    }
    return common;
  }

  /**
   * The protocol of the next generation: each member votes for its most
   * preferred protocol among those all support; most votes wins (a tie goes
   * to the protocol that got its first vote first).
   */
  selectProtocol(): string {
    const candidates = this.candidateProtocols();
    const votes = new Map<string, number>();
    for (const m of this.members.values()) {
      const vote = m.protocols.find((p) => candidates.has(p.name));
      if (vote !== undefined) votes.set(vote.name, (votes.get(vote.name) ?? 0) + 1);
    }
    let best = '';
    let most = 0;
    for (const [name, n] of votes) {
      if (n > most) {
        best = name;
        most = n;
      }
    }
    if (best === '') throw new Error(`group ${this.groupId}: no protocol all members support`);
    return best;
  }

  /** The leader's view of the members: each one's metadata for the selected protocol. */
  memberMetadata(): JoinMember[] {
    const out: JoinMember[] = [];
    for (const m of this.members.values()) {
      const p = m.protocols.find((x) => x.name === this.protocolName);
      out.push({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        metadata: p?.metadata ?? EMPTY,
      });
    }
    return out;
  }

  /** Elects a joined member when the leader did not rejoin; false when none joined. */
  electJoinedLeader(): boolean {
    if (this.leaderId === null) return false;
    const leader = this.members.get(this.leaderId);
    if (leader !== undefined && leader.joinCallback !== null) return true;
    for (const m of this.members.values()) {
      if (m.joinCallback !== null) {
        this.leaderId = m.memberId;
        return true;
      }
    }
    return false;
  }

  /** Members whose JoinGroup has not arrived in this rebalance. */
  notYetRejoined(): Member[] {
    return [...this.members.values()].filter((m) => m.joinCallback === null);
  }
}

/** Same protocols, names and metadata, in the same order (MemberMetadata.matches). */
export function sameProtocols(a: readonly Protocol[], b: readonly Protocol[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    if (a[i]!.name !== b[i]!.name || !a[i]!.metadata.equals(b[i]!.metadata)) return false;
  }
  return true;
}
