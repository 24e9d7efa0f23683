/**
 * The server's /varz and /metrics from its workers' parts
 * (src/workers/totals.ts): what is summed, what is the answering worker's.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { totalMetrics, totalVarz, type VarzPart } from '../../src/workers/totals.js';

function part(name: string, n: number, remote: number): VarzPart {
  return {
    varz: {
      server_name: name,
      server_id: `ID-${name}`,
      max_payload: 1024,
      connections: n,
      total_connections: n * 2,
      in_msgs: n * 10,
      out_msgs: n * 20,
      in_bytes: 1,
      out_bytes: 2,
      slow_consumers: 0,
      subscriptions: n + remote,
      routes: 1,
      mem: 100,
      cpu: 12.5,
      weft: {
        max_pending_total: 99,
        refused_connections: n,
        closed_by_reason: { 'Client Closed': n },
        faces: { nats: { listeners: [], connections: n } },
      },
    },
    remote,
    links: 1,
  };
}

describe('totalVarz', () => {
  test('sums counters over the workers and keeps the answering worker’s identity and settings', () => {
    const w0 = part('a', 3, 5);
    const w1 = part('a-w1', 4, 2);
    const v = totalVarz(w1, 1, {
      parts: [
        { index: 0, pid: 10, body: w0 },
        { index: 1, pid: 11, body: w1 },
      ],
      missing: [],
      restarts: 2,
      count: 2,
    });
    assert.equal(v.server_name, 'a-w1');
    assert.equal(v.max_payload, 1024);
    assert.equal(v.connections, 7);
    assert.equal(v.total_connections, 14);
    assert.equal(v.in_msgs, 70);
    assert.equal(v.out_msgs, 140);
    assert.equal(v.mem, 200);
    assert.equal(v.cpu, 25);
    // The clients' subscriptions: each worker's minus the interest it holds for the other.
    assert.equal(v.subscriptions, 7);
    // The links between workers are not routes.
    assert.equal(v.routes, 0);
    // biome-ignore lint/suspicious/noExplicitAny: reading nested JSON in a test.
    const weft = v.weft as Record<string, any>;
    assert.equal(weft.max_pending_total, 99);
    assert.equal(weft.refused_connections, 7);
    assert.deepEqual(weft.closed_by_reason, { 'Client Closed': 7 });
    assert.equal(weft.faces.nats.connections, 7);
    // biome-ignore lint/suspicious/noExplicitAny: reading nested JSON in a test.
    const workers = v.workers as Record<string, any>;
    assert.equal(workers.restarts, 2);
    assert.equal(workers.answered_by, 1);
    assert.deepEqual(
      workers.list.map((w: { index: number; pid: number; connections: number }) => [
        w.index,
        w.pid,
        w.connections,
      ]),
      [
        [0, 10, 3],
        [1, 11, 4],
      ],
    );
  });

  test('a worker that did not answer is named, and the answering one always counts', () => {
    const own = part('a', 3, 0);
    const v = totalVarz(own, 0, { parts: [], missing: [1], restarts: 0, count: 2 });
    assert.equal(v.connections, 3);
    assert.deepEqual((v.workers as Record<string, unknown>).missing, [1]);
  });
});

describe('totalMetrics', () => {
  const text = (name: string, conns: number, face: string, heap: number): string =>
    [
      '# HELP weft_connections Client connections open now',
      '# TYPE weft_connections gauge',
      `weft_connections{server_name="${name}"} ${conns}`,
      '# HELP weft_face_connections per face',
      '# TYPE weft_face_connections gauge',
      `weft_face_connections{face="nats",server_name="${name}"} ${conns}`,
      ...(face === '' ? [] : [`weft_face_connections{face="${face}",server_name="${name}"} 1`]),
      '# HELP weft_process_heap_bytes heap',
      '# TYPE weft_process_heap_bytes gauge',
      `weft_process_heap_bytes{server_name="${name}"} ${heap}`,
      '',
    ].join('\n');

  test('sums each sample under worker 0’s name; process samples are the answering worker’s', () => {
    const w0 = text('a', 3, '', 500);
    const w1 = text('a-w1', 4, 'mqtt', 700);
    const out = totalMetrics(w1, [w0], w0);
    assert.match(out, /^weft_connections\{server_name="a"\} 7$/m);
    assert.match(out, /^weft_face_connections\{face="nats",server_name="a"\} 7$/m);
    assert.match(out, /^weft_face_connections\{face="mqtt",server_name="a"\} 1$/m);
    assert.match(out, /^weft_process_heap_bytes\{server_name="a"\} 700$/m);
    assert.doesNotMatch(out, /a-w1/);
  });

  test('a sample only another worker has stays with its family', () => {
    const w0 = text('a', 3, 'redis', 500);
    const w1 = text('a-w1', 4, '', 700);
    const lines = totalMetrics(w1, [w0], w0).split('\n');
    const redis = lines.findIndex((l) => l.startsWith('weft_face_connections{face="redis"'));
    const nats = lines.findIndex((l) => l.startsWith('weft_face_connections{face="nats"'));
    assert.equal(redis, nats + 1);
    assert.match(lines[redis], / 1$/);
  });
});
