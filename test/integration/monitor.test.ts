/**
 * The monitoring endpoints, read with `fetch`: field names and meanings follow
 * nats-server's, so existing tooling can read a Weft node. Counts are checked
 * as deltas around our own traffic (the reference has internal subscriptions).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createInbox, StringCodec } from 'nats';
import { type ClientPool, clientPool } from '../helpers/clients.js';
import {
  checkFor,
  monitorJson,
  onlyOn,
  rawPool,
  startTarget,
  type Target,
} from '../helpers/harness.js';

const sc = StringCodec();

interface Varz {
  server_id: string;
  server_name: string;
  version: string;
  connections: number;
  total_connections: number;
  subscriptions: number;
  in_msgs: number;
  out_msgs: number;
  in_bytes: number;
  out_bytes: number;
  slow_consumers: number;
  mem: number;
  cpu: number;
  max_payload: number;
  uptime: string;
  start: string;
  now: string;
  [k: string]: unknown;
}

interface ConnInfo {
  cid: number;
  name?: string;
  lang?: string;
  version?: string;
  ip: string;
  port: number;
  subscriptions: number;
  pending_bytes: number;
  in_msgs: number;
  out_msgs: number;
  in_bytes: number;
  out_bytes: number;
  [k: string]: unknown;
}

interface Connz {
  server_id: string;
  num_connections: number;
  total: number;
  offset: number;
  limit: number;
  connections: ConnInfo[];
}

describe('monitoring', () => {
  let srv: Target;
  let pool: ClientPool;
  const raw = rawPool();
  before(async () => {
    srv = await startTarget({ name: 'weft-monitor-test', maxPayload: 256 * 1024 });
    pool = clientPool(srv.url);
  });
  after(async () => {
    raw.closeAll();
    await pool.closeAll();
    await srv.close();
  });

  const varz = () => monitorJson<Varz>(srv, '/varz');
  const connz = (q = '') => monitorJson<Connz>(srv, `/connz${q}`);

  async function conn(cid: number): Promise<ConnInfo> {
    const c = (await connz('?limit=1024')).connections.find((x) => x.cid === cid);
    assert.ok(c, `cid ${cid} listed in /connz`);
    return c;
  }

  test('/healthz answers ok', async () => {
    const res = await fetch(`http://127.0.0.1:${srv.httpPort}/healthz`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /application\/json/);
    assert.deepEqual(await res.json(), { status: 'ok' });
  });

  test('/varz describes the server', async () => {
    // Handshaken, so it stays open (no auth timeout) and counts stay steady.
    const c = await raw.handshake(srv.port);
    const v = await varz();
    assert.equal(v.server_id, c.info.server_id, 'same id as in INFO');
    assert.equal(v.server_name, 'weft-monitor-test');
    assert.equal(v.version, c.info.version);
    assert.equal(v.max_payload, 256 * 1024);
    for (const f of [
      'connections',
      'total_connections',
      'subscriptions',
      'in_msgs',
      'out_msgs',
      'in_bytes',
      'out_bytes',
      'slow_consumers',
      'mem',
      'cpu',
    ]) {
      assert.equal(typeof v[f], 'number', `varz.${f} is a number`);
    }
    assert.ok(v.mem > 0);
    assert.match(v.uptime, /^(\d+d)?(\d+h)?(\d+m)?\d+s$/);
    assert.ok(!Number.isNaN(Date.parse(v.start)));
    assert.ok(Date.parse(v.now) >= Date.parse(v.start));
  });

  test('/varz counts connections, subscriptions, messages and bytes', async () => {
    const before = await varz();
    const sub = await pool.connect();
    const pub = await pool.connect();
    sub.subscribe('count.a');
    sub.subscribe('count.b');
    sub.subscribe('count.*');
    await sub.flush();
    const during = await checkFor(async () => {
      const v = await varz();
      assert.equal(v.connections, before.connections + 2);
      assert.equal(v.subscriptions, before.subscriptions + 3);
      return v;
    });
    assert.ok(during.total_connections >= before.total_connections + 2);

    // 10 messages of 100 bytes, each delivered to 2 subscriptions (count.a and
    // count.*); count.b gets nothing.
    for (let i = 0; i < 10; i++) pub.publish('count.a', new Uint8Array(100));
    await pub.flush();
    await sub.flush();
    await checkFor(async () => {
      const v = await varz();
      assert.equal(v.in_msgs - before.in_msgs, 10);
      assert.equal(v.in_bytes - before.in_bytes, 1000);
      assert.equal(v.out_msgs - before.out_msgs, 20);
      assert.equal(v.out_bytes - before.out_bytes, 2000);
    });

    await sub.close();
    await pub.close();
    await checkFor(async () => {
      const v = await varz();
      assert.equal(v.connections, before.connections);
      assert.equal(v.subscriptions, before.subscriptions);
      assert.ok(v.total_connections >= before.total_connections + 2, 'total never goes down');
    });
  });

  test('/connz lists each connection with its client details and counters', async () => {
    // A raw connection gives us the cid (client_id in INFO) and local port.
    const c = await raw.open(srv.port);
    c.send(
      'CONNECT {"verbose":false,"pedantic":false,"name":"raw-one","lang":"rawlang","version":"9.8.7"}\r\n',
    );
    c.send('SUB mon.x 1\r\nSUB mon.y 2\r\nPUB mon.x 5\r\nhello\r\nPING\r\n');
    await c.expectMsg('mon.x', 1, 'hello');
    await c.expectLine('PONG');
    const info = await checkFor(async () => {
      const ci = await conn(c.info.client_id);
      assert.equal(ci.subscriptions, 2);
      assert.equal(ci.in_msgs, 1);
      assert.equal(ci.out_msgs, 1);
      return ci;
    });
    assert.equal(info.name, 'raw-one');
    assert.equal(info.lang, 'rawlang');
    assert.equal(info.version, '9.8.7');
    assert.equal(info.ip, '127.0.0.1');
    assert.equal(info.port, c.socket.localPort);
    assert.equal(info.in_bytes, 5);
    assert.equal(info.out_bytes, 5);
    assert.equal(typeof info.pending_bytes, 'number');

    // The official client identifies itself.
    const nc = await pool.connect({ name: 'official-one' });
    await nc.flush();
    const listed = await checkFor(async () => {
      const found = (await connz('?limit=1024')).connections.find((x) => x.name === 'official-one');
      assert.ok(found);
      return found;
    });
    assert.equal(listed.lang, 'nats.js');
    assert.match(listed.version ?? '', /^\d+\.\d+\.\d+/);
    assert.equal(listed.cid, nc.info?.client_id);
  });

  test('/connz counters: in_* for the publisher, out_* for the subscriber', async () => {
    const sub = await pool.connect({ name: 'ctr-sub' });
    const pub = await pool.connect({ name: 'ctr-pub' });
    sub.subscribe('ctr.x');
    await sub.flush();
    for (let i = 0; i < 7; i++) pub.publish('ctr.x', sc.encode('0123456789'));
    await pub.flush();
    await sub.flush();
    await checkFor(async () => {
      const p = await conn(pub.info!.client_id);
      const s = await conn(sub.info!.client_id);
      assert.equal(p.in_msgs, 7);
      assert.equal(p.in_bytes, 70);
      assert.equal(p.out_msgs, 0);
      assert.equal(s.out_msgs, 7);
      assert.equal(s.out_bytes, 70);
      assert.equal(s.in_msgs, 0);
      assert.equal(s.subscriptions, 1);
      assert.equal(p.subscriptions, 0);
    });
  });

  test('/connz pages with offset and limit', async () => {
    const conns = await Promise.all(
      [1, 2, 3, 4, 5].map((i) => pool.connect({ name: `page-${i}` })),
    );
    await Promise.all(conns.map((nc) => nc.flush()));
    const all = await checkFor(async () => {
      const z = await connz('?limit=1024');
      assert.ok(z.total >= 5);
      assert.equal(z.connections.length, z.total);
      return z;
    });
    assert.equal(all.num_connections, all.total);
    const cids = all.connections.map((c) => c.cid);
    assert.deepEqual(
      cids,
      [...cids].sort((a, b) => a - b),
      'ordered by cid',
    );

    const p1 = await connz('?offset=0&limit=2');
    assert.equal(p1.offset, 0);
    assert.equal(p1.limit, 2);
    assert.equal(p1.total, all.total);
    assert.equal(p1.num_connections, 2);
    assert.deepEqual(
      p1.connections.map((c) => c.cid),
      cids.slice(0, 2),
    );

    const p2 = await connz('?offset=2&limit=2');
    assert.equal(p2.offset, 2);
    assert.equal(p2.limit, 2);
    assert.deepEqual(
      p2.connections.map((c) => c.cid),
      cids.slice(2, 4),
    );

    const past = await connz(`?offset=${all.total + 5}&limit=2`);
    assert.equal(past.total, all.total);
    assert.equal(past.num_connections, 0);
    assert.deepEqual(past.connections, []);
  });

  test('/subsz counts subscriptions', async () => {
    const before = await monitorJson<{ num_subscriptions: number }>(srv, '/subsz');
    assert.equal(typeof before.num_subscriptions, 'number');
    const nc = await pool.connect();
    for (let i = 0; i < 25; i++) nc.subscribe(`subsz.${i}`);
    nc.subscribe('subsz.q', { queue: 'g' });
    await nc.flush();
    await checkFor(async () => {
      const s = await monitorJson<{ num_subscriptions: number }>(srv, '/subsz');
      assert.equal(s.num_subscriptions, before.num_subscriptions + 26);
    });
    await nc.close();
    await checkFor(async () => {
      const s = await monitorJson<{ num_subscriptions: number }>(srv, '/subsz');
      assert.equal(s.num_subscriptions, before.num_subscriptions);
    });
  });

  test('/subsz counts acks kept out of the match cache (cache_uncached) and routed (ack_route_hits)', async () => {
    type Subsz = { cache_uncached: number; ack_route_hits: number; ack_route_evictions: number };
    const before = await monitorJson<Subsz>(srv, '/subsz');
    assert.equal(typeof before.cache_uncached, 'number');
    const nc = await pool.connect();
    const api = async (subject: string, body: unknown) =>
      JSON.parse(sc.decode((await nc.request(subject, sc.encode(JSON.stringify(body)))).data));
    const made = await api('$JS.API.STREAM.CREATE.UNCACHED', {
      name: 'UNCACHED',
      subjects: ['uncached.>'],
      storage: 'memory',
    });
    assert.equal(made.error, undefined, JSON.stringify(made.error));
    const consumer = await api('$JS.API.CONSUMER.DURABLE.CREATE.UNCACHED.C', {
      stream_name: 'UNCACHED',
      config: { durable_name: 'C', ack_policy: 'explicit' },
    });
    assert.equal(consumer.error, undefined, JSON.stringify(consumer.error));
    for (let i = 0; i < 5; i++) await nc.request('uncached.x', sc.encode(`m${i}`));
    // Each message has its own ack subject ($JS.ACK.UNCACHED.C.…): matched, never cached.
    const inbox = createInbox();
    const sub = nc.subscribe(inbox, { max: 5 });
    nc.publish('$JS.API.CONSUMER.MSG.NEXT.UNCACHED.C', sc.encode('{"batch":5}'), { reply: inbox });
    for await (const m of sub) {
      assert.match(m.reply ?? '', /^\$JS\.ACK\.UNCACHED\.C\./);
      nc.publish(m.reply!, sc.encode('+ACK'));
    }
    await nc.flush();
    await checkFor(async () => {
      const s = await monitorJson<Subsz>(srv, '/subsz');
      assert.ok(s.cache_uncached >= before.cache_uncached + 5, JSON.stringify(s));
      // The first ack walks the index; the other four take the consumer's route.
      assert.ok(s.ack_route_hits >= before.ack_route_hits + 4, JSON.stringify(s));
      assert.equal(s.ack_route_evictions, 0);
    });
    await api('$JS.API.STREAM.DELETE.UNCACHED', {});
    await nc.close();
  });

  test('an unknown path is a 404', async () => {
    const res = await fetch(`http://127.0.0.1:${srv.httpPort}/no-such-endpoint`);
    await res.arrayBuffer();
    assert.equal(res.status, 404);
  });

  test(
    '/metrics serves Prometheus text that follows the traffic',
    onlyOn('weft', 'nats-server has no /metrics endpoint'),
    async () => {
      const scrape = async () => {
        const res = await fetch(`http://127.0.0.1:${srv.httpPort}/metrics`);
        assert.equal(res.status, 200);
        assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
        return res.text();
      };
      const sample = (text: string, name: string): number => {
        const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
        assert.ok(m, `${name} present`);
        return Number(m[1]);
      };
      const before = await scrape();
      assert.match(before, /^# HELP weft_in_msgs_total /m);
      assert.match(before, /^# TYPE weft_in_msgs_total counter$/m);
      assert.match(before, /^# TYPE weft_connections gauge$/m);
      const nc = await pool.connect();
      nc.subscribe('metrics.x');
      for (let i = 0; i < 3; i++) nc.publish('metrics.x', sc.encode('abcd'));
      await nc.flush();
      await checkFor(async () => {
        const after = await scrape();
        assert.equal(sample(after, 'weft_in_msgs_total') - sample(before, 'weft_in_msgs_total'), 3);
        assert.equal(
          sample(after, 'weft_in_bytes_total') - sample(before, 'weft_in_bytes_total'),
          12,
        );
        assert.ok(sample(after, 'weft_connections') >= 1);
      });
    },
  );
});
