/**
 * Offsets and group administration on the wire: OffsetCommit (8),
 * OffsetFetch (9, v8+ several groups), DescribeGroups (15), ListGroups
 * (16, v4 states filter, v5 types filter), DeleteGroups (42).
 */
import type { ApiHandler, KafkaContext } from '../api.js';
import { canFetch } from '../authz.js';
import type { Topic } from '../topics.js';
import { KafkaCode } from './codes.js';
import { EMPTY, type Group } from './group.js';
import { allowed, groupsOf, int, nstr, str } from './handlers.js';
import { MAX_OFFSET_METADATA, type OffsetCommitEntry } from './offsets.js';
import type { AccountGroups, GroupService } from './service.js';

type Req = Record<string, unknown>;
type Res = Record<string, unknown>;

function list(v: unknown): Req[] {
  return Array.isArray(v) ? (v as Req[]) : [];
}

export function offsetHandlers(svc: GroupService): ApiHandler[] {
  return [
    offsetCommit(svc),
    offsetFetch(svc),
    describeGroups(svc),
    listGroups(svc),
    deleteGroups(svc),
  ];
}

function commitAnswer(topics: Req[], code: (t: string, p: number) => number): Res {
  return {
    throttleTimeMs: 0,
    topics: topics.map((t) => ({
      name: str(t.name),
      partitions: list(t.partitions).map((p) => ({
        partitionIndex: int(p.partitionIndex),
        errorCode: code(str(t.name), int(p.partitionIndex)),
      })),
    })),
  };
}

function offsetCommit(svc: GroupService): ApiHandler<Req, Res> {
  return {
    key: 8,
    name: 'OffsetCommit',
    minVersion: 0,
    maxVersion: 8,
    async handle(ctx, req, version) {
      const groupId = str(req.groupId);
      const topics = list(req.topics);
      if (!allowed(svc, ctx, groupId, 'read')) {
        return commitAnswer(topics, () => KafkaCode.GROUP_AUTHORIZATION_FAILED);
      }
      const groups = await groupsOf(svc, ctx);
      const err = groups.coordinator.validateCommit(
        groupId,
        version >= 1 ? str(req.memberId) : '',
        version >= 7 ? nstr(req.groupInstanceId) : null,
        version >= 1 ? int(req.generationIdOrMemberEpoch) : -1,
      );
      if (err !== KafkaCode.NONE) return commitAnswer(topics, () => err);
      const now = Date.now();
      const codes = new Map<string, number>();
      const entries: OffsetCommitEntry[] = [];
      for (const t of topics) {
        const topic = str(t.name);
        const count = await ctx.shared.topics.partitions(ctx.account!, topic).catch(() => null);
        for (const p of list(t.partitions)) {
          const partition = int(p.partitionIndex);
          const metadata = nstr(p.committedMetadata);
          const key = `${topic}\0${partition}`;
          if (!topicReadable(ctx, topic, partition)) {
            codes.set(key, KafkaCode.TOPIC_AUTHORIZATION_FAILED);
          } else if (count === null || partition < 0 || partition >= count) {
            codes.set(key, KafkaCode.UNKNOWN_TOPIC_OR_PARTITION);
          } else if (metadata !== null && Buffer.byteLength(metadata) > MAX_OFFSET_METADATA) {
            codes.set(key, KafkaCode.OFFSET_METADATA_TOO_LARGE);
          } else {
            const ts = version === 1 ? int(p.commitTimestamp) : -1;
            entries.push({
              topic,
              partition,
              offset: int(p.committedOffset),
              leaderEpoch: version >= 6 ? int(p.committedLeaderEpoch) : -1,
              metadata,
              timestamp: ts >= 0 ? ts : now,
            });
          }
        }
      }
      const failed = await groups.offsets.commit(groupId, entries);
      for (const e of entries) {
        // Not durable: nothing changed; the client retries with the coordinator.
        codes.set(
          `${e.topic}\0${e.partition}`,
          failed.has(e) ? KafkaCode.COORDINATOR_NOT_AVAILABLE : KafkaCode.NONE,
        );
      }
      return commitAnswer(topics, (t, p) => codes.get(`${t}\0${p}`) ?? KafkaCode.NONE);
    },
    errorResponse(req, _version, errorCode) {
      return commitAnswer(list(req.topics), () => errorCode);
    },
  };
}

interface FetchGroup {
  groupId: string;
  /** null: every committed partition. */
  topics: { name: string; partitions: number[] }[] | null;
}

function fetchOne(ctx: KafkaContext, groups: AccountGroups, q: FetchGroup) {
  // All committed partitions: those of topics the user may not read are left out (as Kafka).
  const topics =
    q.topics ??
    [...groupByTopic(groups.offsets.ofGroup(q.groupId))]
      .map(([name, partitions]) => ({ name, partitions }))
      .filter((t) => topicReadable(ctx, t.name, t.partitions[0]!));
  return topics.map((t) => ({
    name: t.name,
    partitions: t.partitions.map((p) => {
      if (!topicReadable(ctx, t.name, p)) {
        return {
          partitionIndex: p,
          committedOffset: -1n,
          committedLeaderEpoch: -1,
          metadata: '',
          errorCode: KafkaCode.TOPIC_AUTHORIZATION_FAILED,
        };
      }
      const c = groups.offsets.get(q.groupId, t.name, p);
      return {
        partitionIndex: p,
        committedOffset: BigInt(c?.offset ?? -1),
        committedLeaderEpoch: c?.leaderEpoch ?? -1,
        metadata: c === null ? '' : (c.metadata ?? ''),
        errorCode: KafkaCode.NONE,
      };
    }),
  }));
}

/**
 * Whether the user may read the partition (the face's rule, authz.ts: it
 * may subscribe to every subject its stream captures). A partition whose
 * stream is on another node, or that does not exist, is not refused here.
 */
function topicReadable(ctx: KafkaContext, topic: string, partition: number): boolean {
  if (ctx.guard === null || ctx.account === null) return true;
  const view = ctx.shared.topics as Partial<{
    find(a: typeof ctx.account, n: string): Topic | null;
  }>;
  const p = view.find?.(ctx.account, topic)?.partitions[partition];
  return p === undefined || canFetch(ctx, p);
}

function groupByTopic(entries: readonly OffsetCommitEntry[]): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const e of entries) {
    const ps = out.get(e.topic) ?? [];
    ps.push(e.partition);
    out.set(e.topic, ps);
  }
  return out;
}

function fetchTopics(v: unknown): FetchGroup['topics'] {
  if (v === null || v === undefined) return null;
  return list(v).map((t) => ({
    name: str(t.name),
    partitions: (Array.isArray(t.partitionIndexes) ? (t.partitionIndexes as unknown[]) : []).map(
      (p) => int(p),
    ),
  }));
}

function offsetFetch(svc: GroupService): ApiHandler<Req, Res> {
  return {
    key: 9,
    name: 'OffsetFetch',
    minVersion: 1,
    maxVersion: 8,
    async handle(ctx, req, version) {
      const groups = await groupsOf(svc, ctx);
      if (version >= 8) {
        return {
          throttleTimeMs: 0,
          groups: list(req.groups).map((g) => {
            const q = { groupId: str(g.groupId), topics: fetchTopics(g.topics) };
            if (!allowed(svc, ctx, q.groupId, 'read')) {
              return {
                groupId: q.groupId,
                topics: [],
                errorCode: KafkaCode.GROUP_AUTHORIZATION_FAILED,
              };
            }
            return {
              groupId: q.groupId,
              topics: fetchOne(ctx, groups, q),
              errorCode: KafkaCode.NONE,
            };
          }),
        };
      }
      const q = {
        groupId: str(req.groupId),
        topics: version >= 2 ? fetchTopics(req.topics) : fetchTopics(req.topics ?? []),
      };
      if (!allowed(svc, ctx, q.groupId, 'read'))
        return fetchError(req, version, KafkaCode.GROUP_AUTHORIZATION_FAILED);
      return { throttleTimeMs: 0, topics: fetchOne(ctx, groups, q), errorCode: KafkaCode.NONE };
    },
    errorResponse(req, version, errorCode) {
      return fetchError(req, version, errorCode);
    },
  };
}

/** v0–v1 carry errors per partition; v2–v7 at the top; v8+ per group. */
function fetchError(req: Req, version: number, errorCode: number): Res {
  if (version >= 8) {
    return {
      throttleTimeMs: 0,
      groups: list(req.groups).map((g) => ({ groupId: str(g.groupId), topics: [], errorCode })),
    };
  }
  const topics = (fetchTopics(req.topics) ?? []).map((t) => ({
    name: t.name,
    partitions: t.partitions.map((p) => ({
      partitionIndex: p,
      committedOffset: -1n,
      committedLeaderEpoch: -1,
      metadata: '',
      errorCode: version < 2 ? errorCode : KafkaCode.NONE,
    })),
  }));
  return { throttleTimeMs: 0, topics, errorCode };
}

function describeOne(groups: AccountGroups, groupId: string): Res {
  const g: Group | undefined = groups.coordinator.get(groupId);
  const base = { errorCode: KafkaCode.NONE, groupId, authorizedOperations: -2147483648 };
  if (g === undefined || g.is('Dead')) {
    // Offsets only (after a restart, or simple commits): an empty group, as Kafka loads it.
    const state = groups.offsets.hasGroup(groupId) ? 'Empty' : 'Dead';
    return { ...base, groupState: state, protocolType: '', protocolData: '', members: [] };
  }
  const stable = g.is('Stable');
  return {
    ...base,
    groupState: g.state,
    protocolType: g.protocolType ?? '',
    protocolData: stable ? (g.protocolName ?? '') : '',
    members: [...g.members.values()].map((m) => ({
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId,
      clientId: m.clientId,
      clientHost: m.clientHost,
      // Kafka gives metadata and assignment only for a stable group.
      memberMetadata: stable
        ? (m.protocols.find((p) => p.name === g.protocolName)?.metadata ?? EMPTY)
        : EMPTY,
      memberAssignment: stable ? m.assignment : EMPTY,
    })),
  };
}

function describeGroups(svc: GroupService): ApiHandler<Req, Res> {
  return {
    key: 15,
    name: 'DescribeGroups',
    minVersion: 0,
    maxVersion: 5,
    async handle(ctx, req) {
      const groups = await groupsOf(svc, ctx);
      const ids = Array.isArray(req.groups) ? (req.groups as unknown[]).map(str) : [];
      return {
        throttleTimeMs: 0,
        groups: ids.map((id) =>
          allowed(svc, ctx, id, 'read')
            ? describeOne(groups, id)
            : {
                errorCode: KafkaCode.GROUP_AUTHORIZATION_FAILED,
                groupId: id,
                groupState: '',
                protocolType: '',
                protocolData: '',
                members: [],
              },
        ),
      };
    },
    errorResponse(req, _version, errorCode) {
      const ids = Array.isArray(req.groups) ? (req.groups as unknown[]).map(str) : [];
      return {
        groups: ids.map((groupId) => ({
          errorCode,
          groupId,
          groupState: '',
          protocolType: '',
          protocolData: '',
          members: [],
        })),
      };
    },
  };
}

function listGroups(svc: GroupService): ApiHandler<Req, Res> {
  return {
    key: 16,
    name: 'ListGroups',
    minVersion: 0,
    maxVersion: 4,
    async handle(ctx: KafkaContext, req, version) {
      const groups = await groupsOf(svc, ctx);
      const states =
        version >= 4 && Array.isArray(req.statesFilter)
          ? (req.statesFilter as unknown[]).map((s) => str(s).toLowerCase())
          : [];
      const types =
        version >= 5 && Array.isArray(req.typesFilter)
          ? (req.typesFilter as unknown[]).map((s) => str(s).toLowerCase())
          : [];
      const seen = new Map<string, { protocolType: string; state: string }>();
      for (const g of groups.coordinator.all()) {
        if (!g.is('Dead'))
          seen.set(g.groupId, { protocolType: g.protocolType ?? '', state: g.state });
      }
      for (const id of groups.offsets.groups()) {
        if (!seen.has(id)) seen.set(id, { protocolType: '', state: 'Empty' });
      }
      const out: Res[] = [];
      for (const [groupId, g] of seen) {
        if (states.length > 0 && !states.includes(g.state.toLowerCase())) continue;
        if (types.length > 0 && !types.includes('classic')) continue;
        // Groups the user may not use are not listed (Kafka filters by Describe permission).
        if (!groupAllowed(ctx, groupId)) continue;
        out.push({
          groupId,
          protocolType: g.protocolType,
          groupState: g.state,
          groupType: 'classic',
        });
      }
      return { throttleTimeMs: 0, errorCode: KafkaCode.NONE, groups: out };
    },
    errorResponse(_req, _version, errorCode) {
      return { throttleTimeMs: 0, errorCode, groups: [] };
    },
  };
  function groupAllowed(ctx: KafkaContext, id: string): boolean {
    return ctx.guard === null || allowed(svc, ctx, id, 'read');
  }
}

function deleteGroups(svc: GroupService): ApiHandler<Req, Res> {
  return {
    key: 42,
    name: 'DeleteGroups',
    minVersion: 0,
    maxVersion: 2,
    async handle(ctx, req) {
      const groups = await groupsOf(svc, ctx);
      const ids = Array.isArray(req.groupsNames) ? (req.groupsNames as unknown[]).map(str) : [];
      const results: Res[] = [];
      for (const groupId of ids) {
        results.push({ groupId, errorCode: await deleteOne(svc, ctx, groups, groupId) });
      }
      return { throttleTimeMs: 0, results };
    },
    errorResponse(req, _version, errorCode) {
      const ids = Array.isArray(req.groupsNames) ? (req.groupsNames as unknown[]).map(str) : [];
      return { throttleTimeMs: 0, results: ids.map((groupId) => ({ groupId, errorCode })) };
    },
  };
}

async function deleteOne(
  svc: GroupService,
  ctx: KafkaContext,
  groups: AccountGroups,
  groupId: string,
): Promise<number> {
  if (!allowed(svc, ctx, groupId, 'delete')) return KafkaCode.GROUP_AUTHORIZATION_FAILED;
  const g = groups.coordinator.get(groupId);
  const hasOffsets = groups.offsets.hasGroup(groupId);
  if ((g === undefined || g.is('Dead')) && !hasOffsets) return KafkaCode.GROUP_ID_NOT_FOUND;
  if (g !== undefined && !g.is('Empty') && !g.is('Dead')) return KafkaCode.NON_EMPTY_GROUP;
  try {
    await groups.offsets.deleteGroup(groupId);
  } catch {
    return KafkaCode.COORDINATOR_NOT_AVAILABLE;
  }
  groups.coordinator.drop(groupId);
  return KafkaCode.NONE;
}
