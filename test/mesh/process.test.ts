/**
 * The mesh as operators run it: `weft server --name … --mesh-port 0 --link …`
 * child processes, ports read from their logs, and the official client on
 * each. Also: a refusal is logged, and a killed process is withdrawn.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  assertExactly,
  chain,
  checkFor,
  HEARTBEAT_MS,
  linkTo,
  type Mesh,
  nodeView,
  type ProcessNode,
  publishN,
  record,
  ring,
  settle,
  startMesh,
  startProcessNode,
  TOKEN,
  waitConverged,
} from './helpers.js';

describe('3-node chain of weft server processes', () => {
  let mesh: Mesh;
  before(async () => {
    mesh = await startMesh(chain(3), { processes: true });
  });
  after(() => mesh.stopAll());

  test('each logs its mesh listener and its links are up', async () => {
    for (const name of ['a', 'b', 'c']) {
      const n = mesh.node(name) as ProcessNode;
      assert.match(
        n.log(),
        new RegExp(`Listening for mesh links on 127\\.0\\.0\\.1:${n.meshPort}`),
      );
    }
    const zb = await mesh.node('b').meshz();
    assert.deepEqual(zb.links.map((l) => `${l.peer}:${l.direction}:${l.state}`).sort(), [
      'a:out:up',
      'c:in:up',
    ]);
  });

  test('pub on a, subs on b and c: each message exactly once; and back from c to a', async () => {
    const ncB = await mesh.node('b').connect();
    const ncC = await mesh.node('c').connect();
    const rb = record(ncB, 'proc.>');
    const rc = record(ncC, 'proc.x');
    await Promise.all([ncB.flush(), ncC.flush()]);
    await mesh.synced();
    const pub = await mesh.node('a').connect();
    const N = 1000;
    await publishN(pub, 'proc.x', N, 'p');
    await settle([rb, rc], 2 * N);
    assertExactly(rb, 'p', N, 'sub on b');
    assertExactly(rc, 'p', N, 'sub on c');

    const ncA = await mesh.node('a').connect();
    const ra = record(ncA, 'proc.back');
    await ncA.flush();
    await mesh.synced();
    const reply = ncC.subscribe('proc.svc', {
      callback: (_e, m) => m.respond(m.data),
    });
    await ncC.flush();
    await mesh.synced();
    await publishN(ncC, 'proc.back', 200, 'c');
    await settle([ra], 200);
    assertExactly(ra, 'c', 200, 'sub on a');
    const m = await ncA.request('proc.svc', new TextEncoder().encode('ping'), { timeout: 2000 });
    assert.equal(new TextDecoder().decode(m.data), 'ping');
    reply.unsubscribe();
  });

  test('a wrong-token process is refused with a log line and a counter', async (t) => {
    const bad = await startProcessNode({
      name: 'bad',
      meshToken: 'wrong',
      links: [mesh.node('c').linkUrl],
    });
    t.after(() => bad.close());
    await checkFor(async () => (await mesh.node('c').meshz()).refused.token >= 1, 3000);
    const logged = () =>
      (mesh.node('c') as ProcessNode)
        .log()
        .split('\n')
        .some((l) => /refus/i.test(l) && /token/i.test(l));
    await checkFor(logged, 3000);
    assert.ok(!(await mesh.node('c').meshz()).nodes.some((n) => n.name === 'bad' && n.reachable));
  });

  test('a killed process (SIGKILL) is withdrawn from the others', async () => {
    const c = mesh.node('c') as ProcessNode;
    const idC = (await c.meshz()).server_id;
    c.kill('SIGKILL');
    await checkFor(async () => {
      const z = await mesh.node('a').meshz();
      const v = nodeView(z, idC);
      assert.ok(v === undefined || !v.reachable, 'a no longer reaches c');
      assert.equal(z.interest.remote, (await mesh.node('b').meshz()).interest.advertised);
    }, 3000);
  });
});

describe('weft server processes: repeated --link and the config file', () => {
  test('a ring of 3 (the last node has two --link flags) and a node configured by file', async (t) => {
    const mesh = await startMesh(ring(3), { processes: true });
    t.after(() => mesh.stopAll());
    const zc = await mesh.node('c').meshz();
    assert.deepEqual(
      zc.links.map((l) => `${l.peer}:${l.direction}`).sort(),
      ['a:out', 'b:out'],
      'both --link flags dialled',
    );
    // d takes name, token, mesh port and links from its YAML file only.
    const d = await startProcessNode({
      name: 'd',
      configYaml: [
        'name: d',
        'mesh:',
        '  port: 0',
        `  token: ${TOKEN}`,
        `  heartbeat: ${HEARTBEAT_MS}ms`,
        `  links: ["${mesh.node('a').linkUrl}", "${mesh.node('b').linkUrl}?cost=5"]`,
        '',
      ].join('\n'),
    });
    t.after(() => d.close());
    await waitConverged([...mesh.running(), d], false);
    // Converged means every node is reachable (b is, through a, before d's
    // own link to b is up): wait for that link too.
    await checkFor(async () => linkTo(await d.meshz(), 'b')?.state === 'up', 5000);
    const zd = await d.meshz();
    assert.equal(zd.name, 'd');
    assert.equal(linkTo(zd, 'b')?.cost, 5, 'the ?cost=5 of the file applies');
    const nc = await d.connect();
    const r = record(nc, 'file.x');
    await nc.flush();
    await waitConverged([...mesh.running(), d], true);
    const pub = await mesh.node('c').connect();
    await publishN(pub, 'file.x', 300, 'f');
    await settle([r], 300);
    assertExactly(r, 'f', 300, 'sub on the file-configured d');
  });
});
