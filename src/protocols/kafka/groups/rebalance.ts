/**
 * The rebalance mechanics of the group coordinator (coordinator.ts): how a
 * rebalance starts (PreparingRebalance, with the initial delayed join of
 * an empty group), when it completes (every member rejoined, or the
 * rebalance timeout), what each member is answered, the pending-sync
 * timeout, and the session timers that remove silent members. After
 * Apache Kafka's GroupCoordinator (prepareRebalance, onCompleteJoin,
 * onExpireHeartbeat, onExpirePendingSync, DelayedJoin, InitialDelayedJoin).
 */
import type { Clock } from './clock.js';
import { KafkaCode, type KafkaCodeValue } from './codes.js';
import type { CoordinatorConfig, CoordinatorCounters } from './coordinator.js';
import { EMPTY, type Group, type JoinResult, joinError, type Member, syncError } from './group.js';

export class Rebalancer {
  constructor(
    private readonly clock: Clock,
    private readonly config: CoordinatorConfig,
    private readonly counters: CoordinatorCounters,
  ) {}

  joinAnswer(g: Group, memberId: string, withMembers: boolean, skip = false): JoinResult {
    return {
      error: KafkaCode.NONE,
      generationId: g.generationId,
      protocolType: g.protocolType,
      protocolName: g.protocolName,
      leader: g.leaderId ?? '',
      skipAssignment: skip,
      memberId,
      members: withMembers ? g.memberMetadata() : [],
    };
  }

  // ---- rebalance ----

  maybePrepareRebalance(g: Group): void {
    if (g.is('Stable') || g.is('CompletingRebalance') || g.is('Empty')) this.prepareRebalance(g);
  }

  prepareRebalance(g: Group): void {
    if (g.is('CompletingRebalance')) this.resetAndPropagate(g, KafkaCode.REBALANCE_IN_PROGRESS);
    this.clearSyncTimer(g);
    g.pendingSync.clear();
    const wasEmpty = g.is('Empty');
    this.transition(g, 'PreparingRebalance');
    this.counters.rebalances++;
    this.clock.clear(g.joinTimer);
    if (wasEmpty) {
      const delay = this.config.initialRebalanceDelayMs;
      this.initialDelayedJoin(g, delay, Math.max(g.rebalanceTimeoutMs() - delay, 0));
    } else {
      this.delayedJoin(g);
    }
  }

  /**
   * The first rebalance of an empty group waits `delay` for more members;
   * each delay in which a member joined extends it, up to the rebalance timeout.
   */
  initialDelayedJoin(g: Group, delay: number, remaining: number): void {
    g.joinTimerInitial = true;
    g.joinTimer = this.clock.set(delay, () => {
      g.joinTimer = null;
      if (g.newMemberAdded && remaining > 0) {
        g.newMemberAdded = false;
        const d = Math.min(this.config.initialRebalanceDelayMs, remaining);
        this.initialDelayedJoin(g, d, Math.max(remaining - this.config.initialRebalanceDelayMs, 0));
      } else {
        g.joinTimerInitial = false;
        this.completeJoin(g);
      }
    });
  }

  delayedJoin(g: Group): void {
    g.joinTimerInitial = false;
    g.joinTimer = this.clock.set(g.rebalanceTimeoutMs(), () => {
      g.joinTimer = null;
      this.completeJoin(g);
    });
    this.tryCompleteJoin(g);
  }

  tryCompleteJoin(g: Group): void {
    if (!g.is('PreparingRebalance') || g.joinTimerInitial || g.joinTimer === null) return;
    if (!g.hasAllMembersJoined()) return;
    this.clock.clear(g.joinTimer);
    g.joinTimer = null;
    this.completeJoin(g);
  }

  completeJoin(g: Group): void {
    if (!g.is('PreparingRebalance')) return;
    // Dynamic members that did not rejoin in time are out; static ones keep
    // their place until their session times out.
    for (const m of g.notYetRejoined()) {
      if (m.groupInstanceId !== null) continue;
      g.remove(m.memberId);
      this.clock.clear(m.timer);
    }
    if (!g.electJoinedLeader() && g.size > 0) {
      // Nobody rejoined: wait another round for the session timeouts to clear them.
      this.delayedJoin(g);
      return;
    }
    g.generationId++;
    g.pendingSync.clear();
    if (g.size === 0) {
      g.protocolName = null;
      this.transition(g, 'Empty');
      return;
    }
    g.protocolName = g.selectProtocol();
    this.transition(g, 'CompletingRebalance');
    for (const m of [...g.members.values()]) {
      const leader = g.isLeader(m.memberId);
      g.invokeJoin(m, this.joinAnswer(g, m.memberId, leader));
      this.scheduleHeartbeat(g, m);
      m.isNew = false;
      g.pendingSync.add(m.memberId);
    }
    this.schedulePendingSync(g);
  }

  resetAndPropagate(g: Group, error: KafkaCodeValue): void {
    for (const m of g.members.values()) m.assignment = EMPTY;
    this.propagate(g, error);
  }

  propagate(g: Group, error: KafkaCodeValue): void {
    for (const m of [...g.members.values()]) {
      const r =
        error === KafkaCode.NONE
          ? {
              error,
              protocolType: g.protocolType,
              protocolName: g.protocolName,
              assignment: m.assignment,
            }
          : syncError(error);
      if (g.invokeSync(m, r)) this.scheduleHeartbeat(g, m);
    }
  }

  /** Members that have not sent SyncGroup within the rebalance timeout are removed. */
  schedulePendingSync(g: Group): void {
    this.clearSyncTimer(g);
    const generation = g.generationId;
    g.syncTimer = this.clock.set(g.rebalanceTimeoutMs(), () => {
      g.syncTimer = null;
      if (generation !== g.generationId) return;
      if (!g.is('CompletingRebalance') && !g.is('Stable')) return;
      if (g.pendingSync.size === 0) return;
      for (const id of [...g.pendingSync]) {
        const m = g.members.get(id);
        g.remove(id);
        if (m !== undefined) this.clock.clear(m.timer);
        this.counters.syncExpirations++;
      }
      this.prepareRebalance(g);
    });
  }

  clearSyncTimer(g: Group): void {
    this.clock.clear(g.syncTimer);
    g.syncTimer = null;
  }

  clearTimers(g: Group): void {
    this.clock.clear(g.joinTimer);
    g.joinTimer = null;
    this.clearSyncTimer(g);
    for (const t of g.pendingMembers.values()) this.clock.clear(t);
  }

  transition(g: Group, s: Group['state']): void {
    g.state = s;
    g.stateSince = this.clock.now();
  }

  // ---- sessions ----

  scheduleHeartbeat(g: Group, m: Member): void {
    this.scheduleExpiration(g, m, m.sessionTimeoutMs);
  }

  /** (Re)starts the member's session timer. */
  scheduleExpiration(g: Group, m: Member, ms: number): void {
    this.clock.clear(m.timer);
    m.heartbeatSatisfied = false;
    m.timer = this.clock.set(ms, () => {
      m.timer = null;
      if (g.members.get(m.memberId) !== m || g.is('Dead')) return;
      // A member waiting for its join or sync answer cannot heartbeat: it is alive.
      const alive = m.isNew
        ? m.heartbeatSatisfied
        : m.heartbeatSatisfied || m.joinCallback !== null || m.syncCallback !== null;
      if (alive) return;
      this.counters.sessionExpirations++;
      this.removeMember(g, m);
    });
  }

  expirePending(g: Group, id: string): void {
    if (!g.pendingMembers.has(id)) return;
    g.pendingMembers.delete(id);
    if (g.is('PreparingRebalance')) this.tryCompleteJoin(g);
  }

  removeMember(g: Group, m: Member): void {
    // A new member may time out while waiting to join: tell it, so it retries.
    g.invokeJoin(m, joinError('', KafkaCode.UNKNOWN_MEMBER_ID));
    g.invokeSync(m, syncError(KafkaCode.UNKNOWN_MEMBER_ID));
    g.remove(m.memberId);
    this.clock.clear(m.timer);
    if (g.is('Stable') || g.is('CompletingRebalance')) this.prepareRebalance(g);
    else if (g.is('PreparingRebalance')) this.tryCompleteJoin(g);
  }

  syncArrived(g: Group, memberId: string): void {
    g.pendingSync.delete(memberId);
    if (g.pendingSync.size === 0) this.clearSyncTimer(g);
  }
}
