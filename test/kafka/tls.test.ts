/**
 * The Kafka port over TLS (`kafka.tls`): mTLS with `verify_and_map`, the
 * client certificate naming the user (CN=alice), whose subject permissions
 * then apply — kcat (librdkafka, security.protocol=ssl) and kafkajs produce
 * and consume; a client without a certificate gets no connection.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseConfigText } from '../../src/config/config.js';
import { makeCerts, type TestCerts } from '../helpers/certs.js';
import { type KafkaNode, kafkajs, startKafkaNode } from './helpers.js';
import { kcat } from './kcat.js';

describe('Kafka over TLS (kafka.tls)', () => {
  let dir: string;
  let certs: TestCerts;
  let n: KafkaNode;
  let ssl: string[];

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'weft-kafka-tls-'));
    certs = await makeCerts(dir);
    n = await startKafkaNode(
      parseConfigText(`
kafka:
  tls:
    cert_file: ${certs.server.cert}
    key_file: ${certs.server.key}
    ca_file: ${certs.ca}
    verify_and_map: true
authorization:
  users:
    - user: alice
      permissions:
        publish: { allow: ["secure", "secure.>", "$JS.API.STREAM.CREATE.>"] }
        subscribe: { allow: ["secure", "secure.>", "other", "other.>"] }
`),
    );
    ssl = [
      '-X',
      'security.protocol=ssl',
      '-X',
      `ssl.ca.location=${certs.ca}`,
      '-X',
      `ssl.certificate.location=${certs.client.cert}`,
      '-X',
      `ssl.key.location=${certs.client.key}`,
    ];
  });
  after(async () => {
    await n.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('kafkajs and kcat with a client certificate produce and consume as its user', async () => {
    const k = kafkajs(n.broker, {
      ssl: {
        ca: [readFileSync(certs.ca)],
        cert: readFileSync(certs.client.cert),
        key: readFileSync(certs.client.key),
        rejectUnauthorized: true,
      },
    });
    const admin = k.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'secure' }] });
    await admin.disconnect();
    const p = k.producer();
    await p.connect();
    await p.send({ topic: 'secure', messages: [{ key: 'a', value: 'over-tls' }] });
    await p.disconnect();
    const r = await kcat(n.broker, [
      ...ssl,
      '-C',
      '-t',
      'secure',
      '-o',
      'beginning',
      '-e',
      '-q',
      '-f',
      '%k|%s\\n',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'a|over-tls\n');
    const conns = [...n.srv.node.connections.values()].filter((x) => x.face === 'kafka');
    for (const c of conns) assert.equal(c.identity?.user, 'alice');
    // Alice's permissions apply: a topic she may read but not publish to is refused.
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'other' }] });
    await admin.disconnect();
    const p2 = k.producer({ retry: { retries: 0 } });
    await p2.connect();
    await assert.rejects(p2.send({ topic: 'other', messages: [{ value: 'x' }] }), /[Aa]uthoriz/);
    await p2.disconnect();
  });

  test('a client without a certificate is refused', async () => {
    const r = await kcat(
      n.broker,
      ['-X', 'security.protocol=ssl', '-X', `ssl.ca.location=${certs.ca}`, '-L', '-m', '3'],
      '',
      15_000,
    );
    assert.notEqual(r.code, 0);
  });
});
