/**
 * The group membership APIs on the wire: FindCoordinator (10), JoinGroup
 * (11), Heartbeat (12), LeaveGroup (13), SyncGroup (14). Each checks the
 * group permission (service.ts: `groupAllowed`), then asks the account's
 * coordinator and shapes its answer for the request's version (fields per
 * Apache Kafka's JSON schemas; nullable strings only where the version
 * allows them, else Kafka's "" as KafkaApis sends).
 */
import type { ApiHandler, KafkaContext } from '../api.js';
import { KafkaCode } from './codes.js';
import type { JoinResult, SyncResult } from './group.js';
import { type AccountGroups, type GroupService, groupAllowed } from './service.js';

type Req = Record<string, unknown>;
type Res = Record<string, unknown>;

export function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

export function nstr(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}

export function int(v: unknown, dflt = -1): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  return dflt;
}

export function buf(v: unknown): Buffer {
  return Buffer.isBuffer(v) ? v : Buffer.alloc(0);
}

/** The account's groups; handlers past the SASL gate always have an account. */
export function groupsOf(svc: GroupService, ctx: KafkaContext): Promise<AccountGroups> {
  if (ctx.account === null) throw new Error('kafka groups: a request without an account');
  return svc.forAccount(ctx.account);
}

export function allowed(
  svc: GroupService,
  ctx: KafkaContext,
  group: string,
  op: 'read' | 'delete',
) {
  const ok = groupAllowed(ctx.guard, group, op);
  if (!ok) svc.counters.groupAuthorizationFailures++;
  return ok;
}

export function membershipHandlers(svc: GroupService): ApiHandler[] {
  return [findCoordinator(svc), joinGroup(svc), heartbeat(svc), leaveGroup(svc), syncGroup(svc)];
}

function findCoordinator(svc: GroupService): ApiHandler<Req, Res> {
  // One node answers for every group of its accounts (docs/kafka.md, "Consumer groups").
  const answer = (ctx: KafkaContext, key: string, keyType: number) => {
    const b = ctx.shared.broker;
    let error: number = KafkaCode.NONE;
    if (keyType !== 0 && keyType !== 1) error = KafkaCode.INVALID_REQUEST;
    else if (keyType === 0 && !allowed(svc, ctx, key, 'read')) {
      error = KafkaCode.GROUP_AUTHORIZATION_FAILED;
    }
    const ok = error === KafkaCode.NONE;
    return {
      key,
      nodeId: ok ? b.nodeId : -1,
      host: ok ? b.host : '',
      port: ok ? b.port : -1,
      errorCode: error,
      errorMessage: ok
        ? null
        : error === KafkaCode.INVALID_REQUEST
          ? `Invalid key type ${keyType}`
          : null,
    };
  };
  return {
    key: 10,
    name: 'FindCoordinator',
    minVersion: 0,
    maxVersion: 4,
    handle(ctx, req, version) {
      const keyType = int(req.keyType, 0);
      if (version >= 4) {
        const keys = Array.isArray(req.coordinatorKeys) ? (req.coordinatorKeys as unknown[]) : [];
        return { throttleTimeMs: 0, coordinators: keys.map((k) => answer(ctx, str(k), keyType)) };
      }
      const a = answer(ctx, str(req.key), keyType);
      return { throttleTimeMs: 0, ...a };
    },
    errorResponse(req, version, errorCode) {
      if (version >= 4) {
        const keys = Array.isArray(req.coordinatorKeys) ? (req.coordinatorKeys as unknown[]) : [];
        return {
          coordinators: keys.map((k) => ({
            key: str(k),
            nodeId: -1,
            host: '',
            port: -1,
            errorCode,
          })),
        };
      }
      return { errorCode, nodeId: -1, host: '', port: -1 };
    },
  };
}

function joinResponse(r: JoinResult, version: number): Res {
  return {
    throttleTimeMs: 0,
    errorCode: r.error,
    generationId: r.generationId,
    protocolType: version >= 7 ? r.protocolType : undefined,
    protocolName: version >= 7 ? r.protocolName : (r.protocolName ?? ''),
    leader: r.leader,
    skipAssignment: r.skipAssignment,
    memberId: r.memberId,
    members: r.members.map((m) => ({
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId,
      metadata: m.metadata,
    })),
  };
}

function joinGroup(svc: GroupService): ApiHandler<Req, Res> {
  return {
    key: 11,
    name: 'JoinGroup',
    minVersion: 0,
    maxVersion: 9,
    async handle(ctx, req, version) {
      const groupId = str(req.groupId);
      const memberId = str(req.memberId);
      const fail = (code: number) =>
        joinResponse(
          {
            error: code as JoinResult['error'],
            generationId: -1,
            protocolType: null,
            protocolName: null,
            leader: '',
            skipAssignment: false,
            memberId,
            members: [],
          },
          version,
        );
      if (!allowed(svc, ctx, groupId, 'read')) return fail(KafkaCode.GROUP_AUTHORIZATION_FAILED);
      const groups = await groupsOf(svc, ctx);
      const sessionTimeoutMs = int(req.sessionTimeoutMs, 0);
      const rebalance = int(req.rebalanceTimeoutMs, -1);
      const protocols = Array.isArray(req.protocols) ? (req.protocols as Req[]) : [];
      return new Promise<Res>((resolve) => {
        groups.coordinator.join(
          groupId,
          {
            memberId,
            groupInstanceId: version >= 5 ? nstr(req.groupInstanceId) : null,
            requireKnownMemberId: version >= 4,
            supportSkippingAssignment: version >= 9,
            clientId: ctx.header.clientId ?? '',
            clientHost: `/${ctx.remoteAddress}`,
            // v0 has no rebalance timeout: the session timeout serves as both.
            rebalanceTimeoutMs: version === 0 || rebalance < 0 ? sessionTimeoutMs : rebalance,
            sessionTimeoutMs,
            protocolType: str(req.protocolType),
            protocols: protocols.map((p) => ({
              name: str(p.name),
              metadata: Buffer.from(buf(p.metadata)),
            })),
          },
          (r) => resolve(joinResponse(r, version)),
        );
      });
    },
    errorResponse(req, version, errorCode) {
      return joinResponse(
        {
          error: errorCode as JoinResult['error'],
          generationId: -1,
          protocolType: null,
          protocolName: null,
          leader: '',
          skipAssignment: false,
          memberId: str(req.memberId),
          members: [],
        },
        version,
      );
    },
  };
}

function syncResponse(r: SyncResult, version: number): Res {
  return {
    throttleTimeMs: 0,
    errorCode: r.error,
    protocolType: version >= 5 ? r.protocolType : undefined,
    protocolName: version >= 5 ? r.protocolName : undefined,
    assignment: r.assignment,
  };
}

function syncGroup(svc: GroupService): ApiHandler<Req, Res> {
  return {
    key: 14,
    name: 'SyncGroup',
    minVersion: 0,
    maxVersion: 5,
    async handle(ctx, req, version) {
      const groupId = str(req.groupId);
      const empty = Buffer.alloc(0);
      if (!allowed(svc, ctx, groupId, 'read')) {
        return syncResponse(
          {
            error: KafkaCode.GROUP_AUTHORIZATION_FAILED,
            protocolType: null,
            protocolName: null,
            assignment: empty,
          },
          version,
        );
      }
      const groups = await groupsOf(svc, ctx);
      const assignments = new Map<string, Buffer>();
      for (const a of Array.isArray(req.assignments) ? (req.assignments as Req[]) : []) {
        // Copied: the request's bytes are a view of a frame that will be reused.
        assignments.set(str(a.memberId), Buffer.from(buf(a.assignment)));
      }
      return new Promise<Res>((resolve) => {
        groups.coordinator.sync(
          groupId,
          {
            memberId: str(req.memberId),
            groupInstanceId: version >= 3 ? nstr(req.groupInstanceId) : null,
            generationId: int(req.generationId),
            protocolType: version >= 5 ? nstr(req.protocolType) : null,
            protocolName: version >= 5 ? nstr(req.protocolName) : null,
            assignments,
          },
          (r) => resolve(syncResponse(r, version)),
        );
      });
    },
    errorResponse(_req, version, errorCode) {
      return syncResponse(
        {
          error: errorCode as SyncResult['error'],
          protocolType: null,
          protocolName: null,
          assignment: Buffer.alloc(0),
        },
        version,
      );
    },
  };
}

function heartbeat(svc: GroupService): ApiHandler<Req, Res> {
  return {
    key: 12,
    name: 'Heartbeat',
    minVersion: 0,
    maxVersion: 4,
    async handle(ctx, req, version) {
      const groupId = str(req.groupId);
      if (!allowed(svc, ctx, groupId, 'read')) {
        return { throttleTimeMs: 0, errorCode: KafkaCode.GROUP_AUTHORIZATION_FAILED };
      }
      const groups = await groupsOf(svc, ctx);
      const errorCode = groups.coordinator.heartbeat(
        groupId,
        str(req.memberId),
        version >= 3 ? nstr(req.groupInstanceId) : null,
        int(req.generationId),
      );
      return { throttleTimeMs: 0, errorCode };
    },
    errorResponse(_req, _version, errorCode) {
      return { throttleTimeMs: 0, errorCode };
    },
  };
}

function leaveGroup(svc: GroupService): ApiHandler<Req, Res> {
  return {
    key: 13,
    name: 'LeaveGroup',
    minVersion: 0,
    maxVersion: 5,
    async handle(ctx, req, version) {
      const groupId = str(req.groupId);
      const leaving =
        version >= 3
          ? (Array.isArray(req.members) ? (req.members as Req[]) : []).map((m) => ({
              memberId: str(m.memberId),
              groupInstanceId: nstr(m.groupInstanceId),
            }))
          : [{ memberId: str(req.memberId), groupInstanceId: null }];
      if (!allowed(svc, ctx, groupId, 'read')) {
        return { throttleTimeMs: 0, errorCode: KafkaCode.GROUP_AUTHORIZATION_FAILED, members: [] };
      }
      const groups = await groupsOf(svc, ctx);
      const r = groups.coordinator.leave(groupId, leaving);
      if (version < 3) {
        // One member: its error is the answer (KafkaApis for v0–v2).
        const e = r.error !== KafkaCode.NONE ? r.error : (r.members[0]?.error ?? KafkaCode.NONE);
        return { throttleTimeMs: 0, errorCode: e };
      }
      return {
        throttleTimeMs: 0,
        errorCode: r.error,
        members: r.members.map((m) => ({
          memberId: m.memberId,
          groupInstanceId: m.groupInstanceId,
          errorCode: m.error,
        })),
      };
    },
    errorResponse(_req, _version, errorCode) {
      return { throttleTimeMs: 0, errorCode, members: [] };
    },
  };
}
