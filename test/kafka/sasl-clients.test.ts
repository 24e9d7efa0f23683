/**
 * SASL and group permissions against a real node with users configured:
 * kafkajs and kcat (librdkafka) authenticate with PLAIN, SCRAM-SHA-256 and
 * SCRAM-SHA-512; a wrong password, an unknown user and SCRAM for a bcrypt
 * user fail (the exchange answers SASL_AUTHENTICATION_FAILED, the node
 * counts the failure); a client that does not SASL on a node that
 * requires it gets nothing; a user whose permissions deny a group's subject
 * gets GROUP_AUTHORIZATION_FAILED for it and works in other groups.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import type { SASLOptions } from 'kafkajs';
import { parseConfigText } from '../../src/config/config.js';
import { createTopic, type KafkaNode, kafka, produce, startKafkaNode } from './group-helpers.js';
import { WireClient } from './wire-client.js';

const run = promisify(execFile);
const haveKcat = existsSync('/usr/bin/kcat');
const PY = '/usr/bin/python3';

// bob's password is a bcrypt hash of 'bob-pw' (cost 4: fast in tests).
const CONFIG = `
authorization:
  users:
    - user: alice
      password: alice-pw
    - user: bob
      password: "$2b$04$Cjfc3bMVzagItsOX/ODG..norvA/WAaq8yCZvS5Eg14u.jMP2MfgC"
    - user: limited
      password: lim-pw
      permissions:
        subscribe:
          deny: ["$WEFT.kafka.group.secret", "hidden.>"]
`;

describe('kafka SASL and group permissions', () => {
  let node: KafkaNode;
  before(async () => {
    node = await startKafkaNode(parseConfigText(CONFIG));
  });
  after(async () => {
    await node.stop();
    await node.remove();
  });

  const client = (sasl: SASLOptions | undefined) =>
    kafka(node.brokers, 'sasl-test', { sasl, retry: { retries: 0 }, connectionTimeout: 3000 });

  for (const mechanism of ['plain', 'scram-sha-256', 'scram-sha-512'] as const) {
    test(`kafkajs ${mechanism}: a consumer group works after authenticating`, async () => {
      const k = client({ mechanism, username: 'alice', password: 'alice-pw' } as SASLOptions);
      const topic = `sasl-${mechanism}`;
      await createTopic(k, topic, 1);
      await produce(k, topic, 3, 1, 'x');
      const admin = k.admin();
      await admin.connect();
      await admin.setOffsets({
        groupId: `g-${mechanism}`,
        topic,
        partitions: [{ partition: 0, offset: '2' }],
      });
      const o = await admin.fetchOffsets({ groupId: `g-${mechanism}`, topics: [topic] });
      assert.equal(o[0]!.partitions[0]!.offset, '2');
      await admin.disconnect();
    });
  }

  test('kafka-python (SaslHandshake v0, bare tokens) with PLAIN and SCRAM-SHA-256/512', {
    skip: !existsSync(PY) && !process.env.CI ? 'python3 not installed' : false,
  }, async () => {
    const script = `
import sys
from kafka import KafkaConsumer
c = KafkaConsumer(bootstrap_servers=sys.argv[1], security_protocol='SASL_PLAINTEXT', sasl_mechanism=sys.argv[2],
                  sasl_plain_username='alice', sasl_plain_password=sys.argv[3], request_timeout_ms=8000,
                  api_version_auto_timeout_ms=8000)
print('topics', len(c.topics()) >= 0)
c.close()
`;
    for (const mech of ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512']) {
      const r = await run(PY, ['-c', script, node.brokers[0]!, mech, 'alice-pw'], {
        timeout: 30_000,
      });
      assert.match(r.stdout, /topics True/, mech);
    }
    await assert.rejects(
      run(PY, ['-c', script, node.brokers[0]!, 'SCRAM-SHA-256', 'wrong'], { timeout: 30_000 }),
    );
  });

  test('kafkajs without SASL on a node that requires it gets no answer but a close', async () => {
    const admin = client(undefined).admin();
    await admin.connect(); // ApiVersions only: served before SASL
    await assert.rejects(admin.listTopics(), /closed|Connection|ECONNRESET|socket/i);
    await admin.disconnect();
  });

  test('group permissions: a denied group is refused (GROUP_AUTHORIZATION_FAILED, counted), other groups work', async () => {
    const varz = async () => {
      const r = await fetch(`http://127.0.0.1:${node.srv.httpPort}/varz`);
      const v = (await r.json()) as { weft: { faces: { kafka: Record<string, number> } } };
      return v.weft.faces.kafka.group_authorization_failures!;
    };
    const k = client({ mechanism: 'plain', username: 'limited', password: 'lim-pw' });
    const admin = k.admin();
    await admin.connect();
    await admin.fetchTopicMetadata();
    await admin.fetchOffsets({ groupId: 'public', topics: [] });
    const before = await varz();
    // kafkajs reports FindCoordinator's GROUP_AUTHORIZATION_FAILED as "no coordinator".
    await assert.rejects(admin.fetchOffsets({ groupId: 'secret', topics: [] }));
    assert.ok((await varz()) > before, 'the refusal is counted');
    await admin.disconnect();
    if (haveKcat) {
      const base = [
        '-b',
        node.brokers[0]!,
        '-X',
        'security.protocol=SASL_PLAINTEXT',
        '-X',
        'sasl.mechanisms=PLAIN',
      ];
      const auth = ['-X', 'sasl.username=limited', '-X', 'sasl.password=lim-pw'];
      // librdkafka names the error: "Group authorization failed".
      const r = await run(
        'kcat',
        [
          ...base,
          ...auth,
          '-G',
          'secret',
          '-c',
          '1',
          '-X',
          'auto.offset.reset=earliest',
          'sasl-plain',
        ],
        { timeout: 20_000 },
      ).catch((e: { stderr: string }) => e);
      assert.match(String((r as { stderr: string }).stderr), /Group authorization failed/i);
    }
  });

  test('offsets of a topic the user may not read: TOPIC_AUTHORIZATION_FAILED (OffsetCommit, OffsetFetch)', async () => {
    const alice = client({ mechanism: 'plain', username: 'alice', password: 'alice-pw' });
    await createTopic(alice, 'hidden', 1);
    await createTopic(alice, 'shown', 1);
    const w = await WireClient.open(node.port);
    try {
      const token = Buffer.from('\0limited\0lim-pw');
      assert.equal((await w.send(17, 1, { mechanism: 'PLAIN' })).errorCode, 0);
      assert.equal((await w.send(36, 2, { authBytes: token })).errorCode, 0);
      const commit = await w.send(8, 8, {
        groupId: 'public',
        generationIdOrMemberEpoch: -1,
        memberId: '',
        topics: ['hidden', 'shown'].map((name) => ({
          name,
          partitions: [{ partitionIndex: 0, committedOffset: 1n, committedMetadata: null }],
        })),
      });
      const codes = (commit.topics as { partitions: { errorCode: number }[] }[]).map(
        (t) => t.partitions[0]!.errorCode,
      );
      assert.deepEqual(codes, [29, 0], 'TOPIC_AUTHORIZATION_FAILED for hidden, NONE for shown');
      const fetched = await w.send(9, 8, {
        groups: [{ groupId: 'public', topics: [{ name: 'hidden', partitionIndexes: [0] }] }],
      });
      const g = (fetched.groups as { topics: { partitions: { errorCode: number }[] }[] }[])[0]!;
      assert.equal(g.topics[0]!.partitions[0]!.errorCode, 29);
      const all = await w.send(9, 8, { groups: [{ groupId: 'public', topics: null }] });
      const names = (all.groups as { topics: { name: string }[] }[])[0]!.topics.map((t) => t.name);
      assert.deepEqual(names, ['shown'], 'all committed partitions: unreadable topics left out');
    } finally {
      w.close();
    }
  });

  test('kcat (librdkafka) with PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512', {
    skip: !haveKcat && !process.env.CI ? 'kcat not installed' : false,
  }, async () => {
    const base = [
      '-b',
      node.brokers[0]!,
      '-X',
      'security.protocol=SASL_PLAINTEXT',
      '-X',
      'sasl.username=alice',
    ];
    for (const mech of ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512']) {
      const r = await run(
        'kcat',
        [...base, '-X', `sasl.mechanisms=${mech}`, '-X', 'sasl.password=alice-pw', '-L', '-m', '5'],
        { timeout: 20_000 },
      );
      assert.match(r.stdout, /1 brokers:/, mech);
    }
  });
});

// Failed logins slow later logins from the same address (src/auth/throttle.ts): the
// refusals run on a node of their own.
describe('kafka SASL refusals', () => {
  let node: KafkaNode;
  before(async () => {
    node = await startKafkaNode(parseConfigText(CONFIG));
  });
  after(async () => {
    await node.stop();
    await node.remove();
  });

  const client = (sasl: SASLOptions | undefined) =>
    kafka(node.brokers, 'sasl-test', { sasl, retry: { retries: 0 }, connectionTimeout: 3000 });

  test('kafkajs: a wrong password, an unknown user and SCRAM for a bcrypt user fail; bcrypt with PLAIN works', async () => {
    // bcrypt passwords work with PLAIN (before any failure: failed logins slow later ones).
    const ok = client({ mechanism: 'plain', username: 'bob', password: 'bob-pw' }).admin();
    await ok.connect();
    await ok.listTopics();
    await ok.disconnect();
    const failures = node.srv.node.security.counters.authFailures;
    const refused = async (sasl: SASLOptions) => {
      const admin = client(sasl).admin();
      await assert.rejects(admin.connect(), /SASL|authentication/i, JSON.stringify(sasl));
      await admin.disconnect();
    };
    await refused({ mechanism: 'plain', username: 'alice', password: 'nope' });
    await refused({ mechanism: 'scram-sha-256', username: 'alice', password: 'nope' });
    await refused({ mechanism: 'scram-sha-512', username: 'mallory', password: 'x' });
    await refused({ mechanism: 'scram-sha-256', username: 'bob', password: 'bob-pw' });
    assert.ok(node.srv.node.security.counters.authFailures >= failures + 4, 'each failure counted');
  });

  test('kcat (librdkafka) with a wrong SCRAM password fails', {
    skip: !haveKcat && !process.env.CI ? 'kcat not installed' : false,
  }, async () => {
    const base = [
      '-b',
      node.brokers[0]!,
      '-X',
      'security.protocol=SASL_PLAINTEXT',
      '-X',
      'sasl.username=alice',
    ];
    await assert.rejects(
      run(
        'kcat',
        [
          ...base,
          '-X',
          'sasl.mechanisms=SCRAM-SHA-256',
          '-X',
          'sasl.password=wrong',
          '-L',
          '-m',
          '3',
        ],
        { timeout: 20_000 },
      ),
      /Authentication failed|SASL|authentication/i,
    );
  });

  test('kafka-python with a wrong password is refused (bare-token SCRAM fails, the connection closes)', {
    skip: !existsSync(PY) && !process.env.CI ? 'python3 not installed' : false,
  }, async () => {
    const failures = node.srv.node.security.counters.authFailures;
    const py = `
import sys
from kafka import KafkaConsumer
KafkaConsumer(bootstrap_servers=sys.argv[1], security_protocol='SASL_PLAINTEXT', sasl_mechanism='SCRAM-SHA-256',
              sasl_plain_username='alice', sasl_plain_password='wrong', api_version_auto_timeout_ms=4000)
`;
    await assert.rejects(run(PY, ['-c', py, node.brokers[0]!], { timeout: 30_000 }));
    assert.ok(node.srv.node.security.counters.authFailures > failures, 'counted');
  });
});
