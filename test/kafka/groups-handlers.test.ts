/**
 * The groups and SASL modules' handlers (groups/handlers.ts,
 * groups/offset-handlers.ts, sasl-module.ts) behind the wire layer: each
 * request is encoded and decoded by the codec for its version, handled
 * with a context like the session's, and the response is encoded and
 * decoded again, so field names and nullability are the schema's for
 * every version served. Expectations are Kafka's (GroupCoordinator.scala,
 * KafkaApis.scala: which error where, per version).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Guard } from '../../src/auth/guard.js';
import { Permissions } from '../../src/auth/permissions.js';
import { Account } from '../../src/core/account.js';
import type { FaceHost } from '../../src/protocols/face.js';
import {
  type ApiHandler,
  Close,
  type KafkaContext,
  type KafkaShared,
} from '../../src/protocols/kafka/api.js';
import {
  decodeRequest,
  decodeResponse,
  encodeRequest,
  encodeResponse,
} from '../../src/protocols/kafka/codec.js';
import { KafkaError as E } from '../../src/protocols/kafka/errors.js';
import { groupsModule } from '../../src/protocols/kafka/groups/module.js';
import { groupSubject } from '../../src/protocols/kafka/groups/service.js';
import { saslModule } from '../../src/protocols/kafka/sasl-module.js';

type Msg = Record<string, unknown>;

function fakeHost(users: { user: string; password: string }[] = []): FaceHost {
  const security = {
    config: { users: users.map((u) => ({ ...u, nkey: '' })) },
    counters: { authFailures: 0 },
    throttle: { failed() {} },
    listener: {},
  };
  return {
    name: '',
    options: { kafkaGroupInitialRebalanceDelayMs: 0 },
    log: { warn() {}, info() {}, error() {}, debug() {} },
    jetstream: null,
    security,
  } as unknown as FaceHost;
}

function shared(host: FaceHost, partitions = 3): KafkaShared {
  return {
    host,
    broker: { nodeId: 7, host: 'broker.example', port: 9092, clusterId: 'c' },
    topics: {
      partitions: async (_a, topic) => (topic === 'missing' ? null : partitions),
      logEndOffset: async () => 100,
    },
    modules: new Map(),
  };
}

interface Ctx extends KafkaContext {
  guard: Guard | null;
  sasl: unknown;
  logins: { user: string; pass: string }[];
}

function ctx(
  sh: KafkaShared,
  opts: { guard?: Guard | null; saslRequired?: boolean; accept?: string } = {},
): Ctx {
  const account = new Account('$G');
  const c: Ctx = {
    connectionId: 1,
    remoteAddress: '127.0.0.1',
    header: { apiKey: 0, apiVersion: 0, correlationId: 0, clientId: 'test-client' },
    shared: sh,
    who: null as never,
    identity: null,
    account,
    guard: opts.guard ?? null,
    authenticated: !opts.saslRequired,
    saslRequired: opts.saslRequired ?? false,
    tlsClientSubject: '',
    sasl: undefined,
    closed: false,
    logins: [],
    whenClosed: () => new Promise(() => {}),
    async authenticate(cred) {
      c.logins.push({ user: cred.user, pass: cred.pass });
      return opts.accept !== undefined && cred.pass === opts.accept ? null : 'bad password';
    },
  };
  return c;
}

/** Sends one request through codec → handler → codec; the decoded response (or the Close). */
async function call(
  handlers: Map<number, ApiHandler>,
  c: Ctx,
  key: number,
  version: number,
  body: Msg,
): Promise<Msg> {
  const frame = Buffer.concat(
    encodeRequest(
      { apiKey: key, apiVersion: version, correlationId: 9, clientId: 'test-client' },
      body,
    ),
  );
  const req = decodeRequest(frame.subarray(4));
  const h = handlers.get(key)!;
  assert.ok(version >= h.minVersion && version <= h.maxVersion, `${h.name} v${version} served`);
  const out = await h.handle(c, req.body, version);
  const res = out instanceof Close ? out.response : out;
  assert.ok(res !== null, 'a response');
  const bytes = Buffer.concat(encodeResponse(key, version, 9, res as Msg));
  const decoded = decodeResponse(key, version, bytes.subarray(4)).body;
  return out instanceof Close ? { ...decoded, closed: true } : decoded;
}

function table(sh: KafkaShared): Map<number, ApiHandler> {
  const m = new Map<number, ApiHandler>();
  for (const mod of [groupsModule(sh), saslModule(sh)])
    for (const h of mod.handlers) m.set(h.key, h);
  return m;
}

// The coordinator's timers are unref'd (a node keeps the loop alive): keep it alive here.
let keepAlive: NodeJS.Timeout;
before(() => {
  keepAlive = setInterval(() => {}, 1000);
});
after(() => clearInterval(keepAlive));

const consumer = (meta = 'm') => [{ name: 'range', metadata: Buffer.from(meta) }];

describe('kafka groups handlers, through the codec', () => {
  test('a group of one over every JoinGroup/SyncGroup/Heartbeat version; offsets committed and fetched', async () => {
    for (let v = 0; v <= 9; v++) {
      const sh = shared(fakeHost());
      const hs = table(sh);
      const c = ctx(sh);
      const group = `g${v}`;
      const join = {
        groupId: group,
        sessionTimeoutMs: 10000,
        rebalanceTimeoutMs: 10000,
        memberId: '',
        protocolType: 'consumer',
        protocols: consumer(),
      };
      let r = await call(hs, c, 11, v, join);
      if (v >= 4) {
        assert.equal(r.errorCode, E.MEMBER_ID_REQUIRED, `v${v}`);
        r = await call(hs, c, 11, v, { ...join, memberId: r.memberId });
      }
      assert.equal(r.errorCode, E.NONE, `JoinGroup v${v}`);
      assert.equal(r.generationId, 1);
      assert.equal(r.leader, r.memberId);
      assert.equal(r.protocolName, 'range');
      const memberId = r.memberId as string;
      const members = r.members as Msg[];
      assert.equal((members[0]!.metadata as Buffer).toString(), 'm');
      const sv = Math.min(v, 5);
      const s = await call(hs, c, 14, sv, {
        groupId: group,
        generationId: 1,
        memberId,
        assignments: [{ memberId, assignment: Buffer.from('A') }],
      });
      assert.equal(s.errorCode, E.NONE);
      assert.equal((s.assignment as Buffer).toString(), 'A');
      const hv = Math.min(v, 4);
      assert.equal(
        (await call(hs, c, 12, hv, { groupId: group, generationId: 1, memberId })).errorCode,
        E.NONE,
      );
      assert.equal(
        (await call(hs, c, 12, hv, { groupId: group, generationId: 2, memberId })).errorCode,
        E.ILLEGAL_GENERATION,
      );
      const ov = Math.min(v, 8);
      const commit = await call(hs, c, 8, ov, {
        groupId: group,
        generationIdOrMemberEpoch: 1,
        memberId,
        topics: [
          {
            name: 't',
            partitions: [
              { partitionIndex: 0, committedOffset: 42n, committedMetadata: 'meta' },
              { partitionIndex: 9, committedOffset: 1n },
            ],
          },
        ],
      });
      const parts = ((commit.topics as Msg[])[0]!.partitions as Msg[]).map((p) => p.errorCode);
      // v0 commits carry no generation: a simple commit into a live group is refused.
      if (ov === 0) assert.deepEqual(parts, [E.UNKNOWN_MEMBER_ID, E.UNKNOWN_MEMBER_ID]);
      else assert.deepEqual(parts, [E.NONE, E.UNKNOWN_TOPIC_OR_PARTITION], `OffsetCommit v${ov}`);
      const fv = Math.max(1, Math.min(v, 8));
      const fetchBody =
        fv >= 8
          ? { groups: [{ groupId: group, topics: [{ name: 't', partitionIndexes: [0, 1] }] }] }
          : { groupId: group, topics: [{ name: 't', partitionIndexes: [0, 1] }] };
      const f = await call(hs, c, 9, fv, fetchBody);
      const topics = (
        fv >= 8 ? ((f.groups as Msg[])[0]!.topics as Msg[]) : (f.topics as Msg[])
      )[0]!;
      const ps = topics.partitions as Msg[];
      assert.equal(ps[0]!.committedOffset, ov === 0 ? -1n : 42n, `OffsetFetch v${fv}`);
      assert.equal(ps[1]!.committedOffset, -1n, 'nothing committed: -1');
      const lv = Math.min(v, 5);
      const leave =
        lv >= 3
          ? { groupId: group, members: [{ memberId, groupInstanceId: null }] }
          : { groupId: group, memberId };
      assert.equal((await call(hs, c, 13, lv, leave)).errorCode, E.NONE);
    }
  });

  test('FindCoordinator v0–v4 names this node; v4 batches keys; a bad key type is INVALID_REQUEST', async () => {
    const sh = shared(fakeHost());
    const hs = table(sh);
    const c = ctx(sh);
    for (let v = 0; v <= 3; v++) {
      const r = await call(hs, c, 10, v, { key: 'g', keyType: 0 });
      assert.equal(r.errorCode, E.NONE);
      assert.deepEqual([r.nodeId, r.host, r.port], [7, 'broker.example', 9092]);
    }
    const r = await call(hs, c, 10, 4, { keyType: 0, coordinatorKeys: ['a', 'b'] });
    assert.deepEqual(
      (r.coordinators as Msg[]).map((x) => [x.key, x.nodeId, x.errorCode]),
      [
        ['a', 7, E.NONE],
        ['b', 7, E.NONE],
      ],
    );
    assert.equal((await call(hs, c, 10, 3, { key: 'g', keyType: 5 })).errorCode, E.INVALID_REQUEST);
  });

  test('DescribeGroups, ListGroups (states filter), DeleteGroups (NON_EMPTY_GROUP, GROUP_ID_NOT_FOUND)', async () => {
    const sh = shared(fakeHost());
    const hs = table(sh);
    const c = ctx(sh);
    const j = await call(hs, c, 11, 3, {
      groupId: 'live',
      sessionTimeoutMs: 10000,
      rebalanceTimeoutMs: 10000,
      memberId: '',
      protocolType: 'consumer',
      protocols: consumer('sub'),
    });
    const memberId = j.memberId as string;
    await call(hs, c, 14, 3, {
      groupId: 'live',
      generationId: 1,
      memberId,
      assignments: [{ memberId, assignment: Buffer.from('asg') }],
    });
    await call(hs, c, 8, 2, {
      groupId: 'simple',
      generationIdOrMemberEpoch: -1,
      memberId: '',
      topics: [{ name: 't', partitions: [{ partitionIndex: 1, committedOffset: 5n }] }],
    });
    const d = await call(hs, c, 15, 5, { groups: ['live', 'simple', 'nope'] });
    const [live, simple, nope] = d.groups as Msg[];
    assert.equal(live!.groupState, 'Stable');
    assert.equal(live!.protocolType, 'consumer');
    assert.equal(live!.protocolData, 'range');
    const m = (live!.members as Msg[])[0]!;
    assert.equal(m.clientId, 'test-client');
    assert.equal(m.clientHost, '/127.0.0.1');
    assert.equal((m.memberMetadata as Buffer).toString(), 'sub');
    assert.equal((m.memberAssignment as Buffer).toString(), 'asg');
    assert.equal(simple!.groupState, 'Empty');
    assert.equal(nope!.groupState, 'Dead');
    assert.equal(nope!.errorCode, E.NONE);
    const all = await call(hs, c, 16, 3, {});
    assert.deepEqual((all.groups as Msg[]).map((g) => g.groupId).sort(), ['live', 'simple']);
    const stable = await call(hs, c, 16, 4, { statesFilter: ['stable'] });
    assert.deepEqual(
      (stable.groups as Msg[]).map((g) => [g.groupId, g.groupState]),
      [['live', 'Stable']],
    );
    const del = await call(hs, c, 42, 2, { groupsNames: ['live', 'simple', 'nope'] });
    assert.deepEqual(
      (del.results as Msg[]).map((x) => x.errorCode),
      [E.NON_EMPTY_GROUP, E.NONE, E.GROUP_ID_NOT_FOUND],
    );
    const after = await call(hs, c, 9, 3, { groupId: 'simple', topics: null });
    assert.deepEqual(after.topics, [], 'its offsets went with it');
  });

  test('group permissions: GROUP_AUTHORIZATION_FAILED outside the allowed subjects, counted; ListGroups hides them', async () => {
    const sh = shared(fakeHost());
    const hs = table(sh);
    const guard = new Guard(
      new Permissions({
        publish: { allow: ['$WEFT.kafka.group.mine.>'], deny: [] },
        subscribe: { allow: ['$WEFT.kafka.group.mine.>', '$WEFT.kafka.group.readonly'], deny: [] },
        allowResponses: null,
      }),
    );
    const admin = ctx(sh);
    const c = ctx(sh, { guard });
    const join = (g: string) => ({
      groupId: g,
      sessionTimeoutMs: 10000,
      rebalanceTimeoutMs: 10000,
      memberId: '',
      protocolType: 'consumer',
      protocols: consumer(),
    });
    assert.equal(
      (await call(hs, c, 11, 3, join('theirs'))).errorCode,
      E.GROUP_AUTHORIZATION_FAILED,
    );
    assert.equal((await call(hs, c, 11, 3, join('mine.app'))).errorCode, E.NONE);
    assert.equal(
      (await call(hs, c, 10, 3, { key: 'theirs', keyType: 0 })).errorCode,
      E.GROUP_AUTHORIZATION_FAILED,
    );
    assert.equal(
      (await call(hs, c, 9, 3, { groupId: 'theirs', topics: null })).errorCode,
      E.GROUP_AUTHORIZATION_FAILED,
    );
    await call(hs, admin, 11, 3, join('theirs'));
    const listed = await call(hs, c, 16, 3, {});
    assert.deepEqual(
      (listed.groups as Msg[]).map((g) => g.groupId),
      ['mine.app'],
    );
    await call(hs, admin, 8, 2, {
      groupId: 'readonly',
      generationIdOrMemberEpoch: -1,
      memberId: '',
      topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: 1n }] }],
    });
    const del = await call(hs, c, 42, 1, { groupsNames: ['readonly'] });
    assert.equal(
      (del.results as Msg[])[0]!.errorCode,
      E.GROUP_AUTHORIZATION_FAILED,
      'deleting needs publish too',
    );
    assert.equal(groupSubject('a b'), '$WEFT.kafka.group._x612062');
    assert.equal(groupSubject('a..b'), '$WEFT.kafka.group._x612e2e62');
  });
});

describe('kafka SASL handlers, through the codec', () => {
  test('PLAIN: handshake v1 then SaslAuthenticate; a wrong password is SASL_AUTHENTICATION_FAILED and a close', async () => {
    const sh = shared(fakeHost());
    const hs = table(sh);
    const c = ctx(sh, { saslRequired: true, accept: 'pw' });
    const h = await call(hs, c, 17, 1, { mechanism: 'PLAIN' });
    assert.equal(h.errorCode, E.NONE);
    assert.deepEqual(h.mechanisms, ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512']);
    const ok = await call(hs, c, 36, 2, { authBytes: Buffer.from('\0alice\0pw') });
    assert.equal(ok.errorCode, E.NONE);
    assert.deepEqual(c.logins, [{ user: 'alice', pass: 'pw' }]);
    const c2 = ctx(sh, { saslRequired: true, accept: 'pw' });
    await call(hs, c2, 17, 1, { mechanism: 'PLAIN' });
    const bad = await call(hs, c2, 36, 1, { authBytes: Buffer.from('\0alice\0nope') });
    assert.equal(bad.errorCode, E.SASL_AUTHENTICATION_FAILED);
    assert.equal(bad.errorMessage, 'Authentication failed: Invalid username or password');
    assert.equal(bad.closed, true);
  });

  test('wrong states: an unknown mechanism, SaslAuthenticate without a handshake, a handshake on a node without SASL', async () => {
    const sh = shared(fakeHost());
    const hs = table(sh);
    const u = await call(hs, ctx(sh, { saslRequired: true }), 17, 1, { mechanism: 'GSSAPI' });
    assert.equal(u.errorCode, E.UNSUPPORTED_SASL_MECHANISM);
    assert.equal(u.closed, true);
    const a = await call(hs, ctx(sh, { saslRequired: true }), 36, 0, {
      authBytes: Buffer.from('x'),
    });
    assert.equal(a.errorCode, E.ILLEGAL_SASL_STATE);
    assert.equal(a.closed, true);
    assert.equal(
      (await call(hs, ctx(sh), 17, 1, { mechanism: 'PLAIN' })).errorCode,
      E.ILLEGAL_SASL_STATE,
    );
  });

  for (const mech of ['SCRAM-SHA-256', 'SCRAM-SHA-512'] as const) {
    test(`${mech} through SaslAuthenticate logs in as the proven user with its configured password`, async () => {
      const { createHash, createHmac, pbkdf2Sync } = await import('node:crypto');
      const alg = mech === 'SCRAM-SHA-512' ? 'sha512' : 'sha256';
      const sh = shared(fakeHost([{ user: 'alice', password: 's3cret' }]));
      const hs = table(sh);
      const c = ctx(sh, { saslRequired: true, accept: 's3cret' });
      await call(hs, c, 17, 1, { mechanism: mech });
      const bare = 'n=alice,r=abcdef';
      const first = await call(hs, c, 36, 2, { authBytes: Buffer.from(`n,,${bare}`) });
      assert.equal(first.errorCode, E.NONE);
      const sf = (first.authBytes as Buffer).toString();
      const a = Object.fromEntries(sf.split(',').map((p) => [p[0], p.slice(2)]));
      const salted = pbkdf2Sync(
        's3cret',
        Buffer.from(a.s!, 'base64'),
        Number(a.i),
        alg === 'sha512' ? 64 : 32,
        alg,
      );
      const ck = createHmac(alg, salted).update('Client Key').digest();
      const sk = createHash(alg).update(ck).digest();
      const noProof = `c=biws,r=${a.r}`;
      const sig = createHmac(alg, sk).update(`${bare},${sf},${noProof}`).digest();
      const proof = Buffer.from(ck.map((x, i) => x ^ sig[i]!)).toString('base64');
      const fin = await call(hs, c, 36, 2, { authBytes: Buffer.from(`${noProof},p=${proof}`) });
      assert.equal(fin.errorCode, E.NONE);
      assert.match((fin.authBytes as Buffer).toString(), /^v=/);
      assert.deepEqual(c.logins, [{ user: 'alice', pass: 's3cret' }]);
    });
  }
});
