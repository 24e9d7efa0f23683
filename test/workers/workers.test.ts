/**
 * `weft server --workers 2` as an operator runs it: one port, connections
 * spread over two worker processes (the INFO's server_name says which),
 * messages between clients of different workers delivered exactly once,
 * queue groups once across workers, requests answered across them, a
 * JetStream stream made through one worker used from the other, /varz
 * totalled over both, a killed worker restarted while the server keeps
 * serving, and SIGTERM stopping everything.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AckPolicy, connect, type NatsConnection, StringCodec } from 'nats';
import { checkFor, within } from '../helpers/poll.js';
import { boundPorts, type Proc, startProcess, tempDir } from '../helpers/weft-process.js';

const sc = StringCodec();

interface Server extends Proc {
  port: number;
  httpPort: number;
}

/** Starts `weft server --workers n` on free ports and waits until every worker is ready. */
async function startWorkers(n: number, extra: string[] = []): Promise<Server> {
  const p = startProcess([
    '--host',
    '127.0.0.1',
    '--port',
    '0',
    '--http-port',
    '0',
    '--data-dir',
    tempDir('weft-workers-'),
    '--workers',
    String(n),
    ...extra,
  ]);
  await checkFor(() => {
    if (p.child.exitCode !== null) throw new Error(`exited ${p.child.exitCode}: ${p.stderr()}`);
    if (!/Server is ready: \d+ workers/.test(p.stderr())) throw new Error('not ready yet');
    return true;
  }, 30_000);
  const b = boundPorts(p.stderr());
  return { ...p, port: b.port!, httpPort: b.httpPort! };
}

/** Connections until one is served by each worker; returns one per worker, by server_name. */
async function onEachWorker(port: number, names: string[]): Promise<Map<string, NatsConnection>> {
  const byName = new Map<string, NatsConnection>();
  const extra: NatsConnection[] = [];
  for (let i = 0; i < 40 && byName.size < names.length; i++) {
    const nc = await connect({ servers: `127.0.0.1:${port}` });
    const name = nc.info!.server_name;
    if (!byName.has(name)) byName.set(name, nc);
    else extra.push(nc);
  }
  await Promise.all(extra.map((nc) => nc.close()));
  assert.equal(byName.size, names.length, `connections reached only ${[...byName.keys()]}`);
  return byName;
}

interface WorkerRow {
  index: number;
  pid: number;
  server_name: string;
  connections: number;
}

/** The fields of /varz these tests read (`workers` only with --workers > 1). */
interface Varz {
  connections: number;
  workers: { answered_by: number; restarts: number; missing: number[]; list: WorkerRow[] };
}

async function varz(httpPort: number): Promise<Varz> {
  const res = await fetch(`http://127.0.0.1:${httpPort}/varz`, {
    headers: { connection: 'close' },
  });
  assert.equal(res.status, 200);
  return (await res.json()) as Varz;
}

/** Waits until `sub`'s interest is seen by `pub`'s worker: a probe on `probe` comes back. */
async function interestSeen(sub: NatsConnection, pub: NatsConnection, probe: string) {
  let seen = false;
  const s = sub.subscribe(probe, { callback: () => (seen = true) });
  await sub.flush();
  await checkFor(async () => {
    pub.publish(probe);
    await pub.flush();
    await new Promise((r) => setTimeout(r, 20));
    return seen;
  }, 10_000);
  s.unsubscribe();
}

describe('weft server --workers 2', () => {
  let server: Server;
  let a: NatsConnection;
  let b: NatsConnection;
  let names: string[];

  before(async () => {
    server = await startWorkers(2);
    const v = await varz(server.httpPort);
    names = (v.workers.list as { server_name: string }[]).map((w) => w.server_name);
    assert.equal(names.length, 2);
    const conns = await onEachWorker(server.port, names);
    a = conns.get(names[0])!;
    b = conns.get(names[1])!;
  });

  after(async () => {
    await Promise.all([a?.close(), b?.close()]);
    if (server !== undefined && server.child.exitCode === null) {
      server.child.kill('SIGTERM');
      await within(server.exited, 20_000, 'the server to stop');
    }
  });

  test('a publisher and a subscriber on different workers exchange each message once', async () => {
    assert.notEqual(a.info!.server_name, b.info!.server_name);
    const got: string[] = [];
    let done = false;
    a.subscribe('orders.>', { callback: (_e, m) => got.push(sc.decode(m.data)) });
    a.subscribe('orders-end', { callback: () => (done = true) });
    await interestSeen(a, b, 'orders-probe');
    const n = 2000;
    for (let i = 0; i < n; i++) b.publish(`orders.${i % 7}`, sc.encode(String(i)));
    // The end marker follows every message over the same link (FIFO).
    b.publish('orders-end');
    await b.flush();
    await checkFor(() => done, 10_000);
    assert.equal(got.length, n, 'each message exactly once');
    assert.deepEqual(
      got.map(Number),
      Array.from({ length: n }, (_, i) => i),
    );
  });

  test('a queue group spread over both workers gets each message once', async () => {
    const got = new Map<string, number>();
    const count = (m: { data: Uint8Array }) => {
      const k = sc.decode(m.data);
      got.set(k, (got.get(k) ?? 0) + 1);
    };
    a.subscribe('work', { queue: 'q', callback: (_e, m) => count(m) });
    b.subscribe('work', { queue: 'q', callback: (_e, m) => count(m) });
    await interestSeen(a, b, 'work-probe-1');
    await interestSeen(b, a, 'work-probe-2');
    for (let i = 0; i < 300; i++) {
      a.publish('work', sc.encode(`a${i}`));
      b.publish('work', sc.encode(`b${i}`));
    }
    await Promise.all([a.flush(), b.flush()]);
    await checkFor(() => got.size === 600, 10_000);
    // A round trip through both workers more: nothing further arrives.
    await interestSeen(a, b, 'work-probe-3');
    assert.equal(got.size, 600);
    assert.ok(
      [...got.values()].every((v) => v === 1),
      'no message delivered twice',
    );
  });

  test('a request on one worker is answered by a responder on the other', async () => {
    a.subscribe('svc.echo', { callback: (_e, m) => m.respond(m.data) });
    await interestSeen(a, b, 'svc-probe');
    for (let i = 0; i < 50; i++) {
      const r = await b.request('svc.echo', sc.encode(`ping ${i}`), { timeout: 5000 });
      assert.equal(sc.decode(r.data), `ping ${i}`);
    }
  });

  test('a stream created through one worker is used from the other', async () => {
    const jsmB = await b.jetstreamManager();
    await jsmB.streams.add({ name: 'ORDERS', subjects: ['js.orders.>'] });
    const jsA = a.jetstream();
    // The stream's owner (worker b) is known to worker a once its interest arrives.
    await checkFor(async () => {
      const ack = await jsA.publish('js.orders.0', sc.encode('first'), { timeout: 2000 });
      return ack.stream === 'ORDERS';
    }, 10_000);
    for (let i = 1; i < 10; i++) {
      const ack = await jsA.publish(`js.orders.${i}`, sc.encode(`m${i}`));
      assert.equal(ack.seq, i + 1);
    }
    const jsmA = await a.jetstreamManager();
    const info = await jsmA.streams.info('ORDERS');
    assert.equal(info.state.messages, 10);
    await jsmA.consumers.add('ORDERS', { durable_name: 'c', ack_policy: AckPolicy.Explicit });
    const c = await jsA.consumers.get('ORDERS', 'c');
    const batch = await c.fetch({ max_messages: 10, expires: 5000 });
    const seen: number[] = [];
    for await (const m of batch) {
      seen.push(m.seq);
      m.ack();
      if (seen.length === 10) break;
    }
    assert.deepEqual(
      seen,
      Array.from({ length: 10 }, (_, i) => i + 1),
    );
  });

  test('/varz totals connections over the workers, whichever worker answers', async () => {
    const extra: NatsConnection[] = [];
    for (let i = 0; i < 4; i++) extra.push(await connect({ servers: `127.0.0.1:${server.port}` }));
    try {
      const answeredBy = new Set<number>();
      await checkFor(async () => {
        const v = await varz(server.httpPort);
        answeredBy.add(v.workers.answered_by);
        const list = v.workers.list as { connections: number; server_name: string }[];
        assert.equal(list.length, 2);
        assert.deepEqual(list.map((w) => w.server_name).sort(), [...names].sort());
        assert.equal(v.connections, 6, `a, b and 4 more: ${JSON.stringify(list)}`);
        assert.equal(v.connections, list[0].connections + list[1].connections);
        assert.ok(
          list.every((w) => w.connections >= 1),
          'both workers serve clients',
        );
        return answeredBy.size === 2;
      }, 10_000);
      const m = await (await fetch(`http://127.0.0.1:${server.httpPort}/metrics`)).text();
      assert.match(m, /^weft_connections\{[^}]*\} 6$/m);
    } finally {
      await Promise.all(extra.map((nc) => nc.close()));
    }
  });

  test('SIGHUP reloads every worker, each keeping its own name and data', async () => {
    const reloads = (): number => (server.stderr().match(/Reloaded configuration/g) ?? []).length;
    const before = reloads();
    server.child.kill('SIGHUP');
    await checkFor(() => reloads() === before + 2, 10_000);
    // Each worker's plan is applied to the configuration read again: nothing
    // (name, data_dir, the loopback mesh) looks changed.
    assert.doesNotMatch(server.stderr(), /reload: \S+ changed/);
    const r = await b.request('svc.echo', sc.encode('after reload'), { timeout: 5000 });
    assert.equal(sc.decode(r.data), 'after reload');
  });

  test('a killed worker is restarted and the server keeps serving', async () => {
    const v = await varz(server.httpPort);
    const victim = (v.workers.list as { pid: number; index: number }[])[1];
    process.kill(victim.pid, 'SIGKILL');
    await checkFor(
      () => /worker 1 \(pid \d+\) died \(signal SIGKILL\): restarting/.test(server.stderr()),
      10_000,
    );
    await checkFor(() => /worker 1 \(pid \d+, "[^"]+"\) is back/.test(server.stderr()), 30_000);
    const after = await checkFor(async () => {
      const w = await varz(server.httpPort);
      return w.workers.list.length === 2 && w.workers.missing.length === 0 && w;
    }, 10_000);
    assert.equal(after.workers.restarts, 1);
    assert.notEqual(after.workers.list[1].pid, victim.pid);
    // Both workers serve new clients, and reach each other again.
    const conns = await onEachWorker(server.port, names);
    const [x, y] = [conns.get(names[0])!, conns.get(names[1])!];
    try {
      let got = 0;
      x.subscribe('after.restart', { callback: () => got++ });
      await interestSeen(x, y, 'after-probe');
      y.publish('after.restart');
      await checkFor(() => got === 1, 5000);
    } finally {
      await Promise.all([x.close(), y.close()]);
    }
  });

  test('SIGTERM stops every worker, then the primary, with status 0', async () => {
    const v = await varz(server.httpPort);
    const pids = (v.workers.list as { pid: number }[]).map((w) => w.pid);
    await Promise.all([a.close(), b.close()]);
    server.child.kill('SIGTERM');
    const code = await within(server.exited, 20_000, 'the server to stop');
    assert.equal(code, 0, server.stderr());
    for (const pid of pids) assert.throws(() => process.kill(pid, 0), /ESRCH/);
  });
});

/** Processes whose parent is `pid` (from /proc). */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(d));
    } catch {
      // Gone meanwhile.
    }
  }
  return out;
}

describe('weft server --workers 1', () => {
  test('is one node in one process, as without the flag', async () => {
    const p = startProcess([
      '--host',
      '127.0.0.1',
      '-p',
      '0',
      '-m',
      '0',
      '--data-dir',
      tempDir(),
      '--workers',
      '1',
    ]);
    try {
      await checkFor(() => /Server is ready/.test(p.stderr()), 20_000);
      // The node itself: no primary, no worker, no loopback mesh.
      const b = boundPorts(p.stderr());
      assert.deepEqual(childrenOf(p.child.pid!), []);
      const v = await varz(b.httpPort!);
      assert.equal((v as Partial<Varz>).workers, undefined);
      assert.doesNotMatch(p.stderr(), /workers|mesh links/);
    } finally {
      p.child.kill('SIGTERM');
      assert.equal(await within(p.exited, 20_000, 'stop'), 0);
    }
  });
});

describe('bad --workers values', () => {
  for (const [args, text] of [
    [['--workers', '0'], '--workers: must be a whole number from 1 to 64, got "0"'],
    [['--workers=-1'], '--workers: must be a whole number from 1 to 64, got "-1"'],
    [['--workers', 'abc'], '--workers: must be a whole number from 1 to 64, got "abc"'],
    [['--workers', '65'], '--workers: must be a whole number from 1 to 64, got "65"'],
    [['--workers', '2.5'], '--workers: must be a whole number from 1 to 64, got "2.5"'],
    [['--workers', '2', '--mesh-port', '0'], 'workers: cannot be combined with mesh.port (0) yet'],
    [
      ['--workers', '2', '--link', 'weft://127.0.0.1:7422'],
      'workers: cannot be combined with mesh.links yet',
    ],
  ] as const) {
    test(`${args.join(' ')} exits 2: ${text}`, async () => {
      const p = startProcess(['-p', '0', '-m', '0', '--data-dir', tempDir(), ...args]);
      const code = await within(p.exited, 20_000, 'exit');
      assert.equal(code, 2, p.stderr());
      assert.ok(p.stderr().includes(`weft server: invalid configuration: ${text}`), p.stderr());
    });
  }
  test('workers: 0 in the config file exits 2 naming the key', async () => {
    const dir = tempDir();
    const file = join(dir, 'weft.yaml');
    writeFileSync(file, 'workers: 0\n');
    const p = startProcess(['-c', file, '-p', '0', '-m', '0', '--data-dir', dir]);
    assert.equal(await within(p.exited, 20_000, 'exit'), 2, p.stderr());
    assert.ok(
      p
        .stderr()
        .includes('invalid configuration: workers: must be a whole number from 1 to 64, got 0'),
      p.stderr(),
    );
  });
});
