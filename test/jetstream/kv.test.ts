/**
 * KV buckets through the official clients: `nats` v2 (`js.views.kv`) and
 * `@nats-io/kv` v3 (`Kvm`), and underneath them the JetStream features a
 * bucket is made of: direct gets, rollups, discard new with per-subject
 * limits, `Nats-Expected-Last-Subject-Sequence`, deny delete. Against Weft or
 * (WEFT_TEST_TARGET=nats-server) `nats-server -js`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { jetstream as jetstreamV3 } from '@nats-io/jetstream';
import { type KvEntry as KvEntryV3, Kvm } from '@nats-io/kv';
import {
  connect as connectV3,
  type NatsConnection as NatsConnectionV3,
} from '@nats-io/transport-node';
import {
  headers,
  type JetStreamClient,
  type JetStreamManager,
  type KV,
  type KvEntry,
  type Msg,
  type NatsConnection,
  NatsError,
  StorageType,
  StringCodec,
} from 'nats';
import { checkFor, TARGET } from '../helpers/harness.js';
import { closeJs, type JsData, type JsTarget, jsData, openJs } from './target.js';

const sc = StringCodec();

/** Collects what an async iterator yields, in the background. */
function collect<T>(it: AsyncIterable<T>): T[] {
  const out: T[] = [];
  void (async () => {
    for await (const v of it) out.push(v);
  })();
  return out;
}

async function drain<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const v of it) out.push(v);
  return out;
}

function apiErr(err: unknown): string {
  assert.ok(err instanceof NatsError, String(err));
  return `${err.api_error?.code} ${err.api_error?.err_code} ${err.api_error?.description}`;
}

async function rejects(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return apiErr(err);
  }
  assert.fail('expected an API error');
}

interface DirectApi {
  getMessage(
    stream: string,
    query: { seq?: number; last_by_subj?: string },
  ): Promise<{ subject: string; seq: number; stream: string; data: Uint8Array; time: Date }>;
}

const brief = (e: KvEntry | KvEntryV3 | null) =>
  e === null ? null : `${e.key}=${sc.decode(e.value)} ${e.operation} r${e.revision}`;

describe('KV buckets', () => {
  let data: JsData;
  let srv: JsTarget;
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  let js: JetStreamClient;

  before(async () => {
    data = await jsData();
    ({ srv, nc, jsm, js } = await openJs(data));
  });
  after(() => closeJs({ srv, nc }, data));

  describe('nats v2: js.views.kv', () => {
    let kv: KV;
    before(async () => {
      kv = await js.views.kv('cfg', { history: 5 });
    });

    test('a bucket is a stream with the KV settings', async () => {
      const si = await jsm.streams.info('KV_cfg');
      const c = si.config;
      assert.deepEqual(c.subjects, ['$KV.cfg.>']);
      assert.equal(c.max_msgs_per_subject, 5);
      assert.equal(c.discard, 'new');
      assert.equal(c.allow_direct, true);
      assert.equal(c.allow_rollup_hdrs, true);
      assert.equal(c.deny_delete, false);
      assert.equal(c.max_msg_size, -1);
      // Opening it again binds to the same stream.
      const again = await js.views.kv('cfg', { history: 5 });
      assert.equal((await again.status()).bucket, 'cfg');
    });

    test('put, get, get by revision; a missing key is null', async () => {
      const r1 = await kv.put('a', sc.encode('one'));
      const r2 = await kv.put('a', sc.encode('two'));
      assert.ok(r2 > r1);
      const e = await kv.get('a');
      assert.equal(brief(e), `a=two PUT r${r2}`);
      assert.equal(e!.bucket, 'cfg');
      assert.equal(e!.length, 3);
      assert.ok(e!.created instanceof Date && Math.abs(e!.created.getTime() - Date.now()) < 60_000);
      assert.equal(brief(await kv.get('a', { revision: r1 })), `a=one PUT r${r1}`);
      assert.equal(await kv.get('nope'), null);
      // A revision of another key is not this key's.
      const rb = await kv.put('b', sc.encode('bee'));
      assert.equal(await kv.get('a', { revision: rb }), null);
    });

    test('create and update check the revision', async () => {
      const r1 = await kv.create('c', sc.encode('first'));
      assert.equal(
        await rejects(kv.create('c', sc.encode('again'))),
        `400 10071 wrong last sequence: ${r1}`,
      );
      const r2 = await kv.update('c', sc.encode('second'), r1);
      assert.equal(
        await rejects(kv.update('c', sc.encode('stale'), r1)),
        `400 10071 wrong last sequence: ${r2}`,
      );
      assert.equal(brief(await kv.get('c')), `c=second PUT r${r2}`);
      // After a delete, create works again (on the marker's revision).
      await kv.delete('c');
      const r3 = await kv.create('c', sc.encode('reborn'));
      assert.equal(brief(await kv.get('c')), `c=reborn PUT r${r3}`);
    });

    test('delete leaves a marker; purge replaces the whole history with one', async () => {
      await kv.put('d', sc.encode('1'));
      await kv.put('d', sc.encode('2'));
      await kv.delete('d');
      const del = await kv.get('d');
      assert.equal(del?.operation, 'DEL');
      assert.equal(del?.value.length, 0);
      const h1 = await drain(await kv.history({ key: 'd' }));
      assert.deepEqual(
        h1.map((e) => `${e.operation}:${sc.decode(e.value)}`),
        ['PUT:1', 'PUT:2', 'DEL:'],
      );
      const before = (await kv.status()).values;
      await kv.purge('d');
      const h2 = await drain(await kv.history({ key: 'd' }));
      assert.deepEqual(
        h2.map((e) => e.operation),
        ['PURGE'],
      );
      assert.equal((await kv.get('d'))?.operation, 'PURGE');
      // Three messages went, the marker came.
      assert.equal((await kv.status()).values, before - 2);
    });

    test('history keeps at most `history` revisions per key', async () => {
      for (let i = 1; i <= 7; i++) await kv.put('h', sc.encode(`v${i}`));
      const h = await drain(await kv.history({ key: 'h' }));
      assert.deepEqual(
        h.map((e) => sc.decode(e.value)),
        ['v3', 'v4', 'v5', 'v6', 'v7'],
      );
    });

    test('keys lists live keys only', async () => {
      const b = await js.views.kv('keys');
      await b.put('x', sc.encode('1'));
      await b.put('y.z', sc.encode('2'));
      await b.put('gone', sc.encode('3'));
      await b.put('x', sc.encode('4'));
      await b.delete('gone');
      const keys = await drain(await b.keys());
      assert.deepEqual(keys.sort(), ['x', 'y.z']);
      assert.deepEqual(await drain(await b.keys('y.*')), ['y.z']);
      const empty = await js.views.kv('nokeys');
      assert.deepEqual(await drain(await empty.keys()), []);
    });

    test('watch: the latest value of each key, then every change', async () => {
      const b = await js.views.kv('watch', { history: 3 });
      await b.put('k1', sc.encode('a'));
      await b.put('k2', sc.encode('b'));
      await b.put('k1', sc.encode('c'));
      await b.delete('k2');
      let initialized = 0;
      const w = await b.watch({ key: '>', initializedFn: () => initialized++ });
      const seen = collect(w);
      await checkFor(() => initialized === 1 && seen.length === 2);
      assert.deepEqual(
        seen.map((e) => `${e.key}=${sc.decode(e.value)} ${e.operation}`),
        ['k1=c PUT', 'k2= DEL'],
      );
      await b.put('k3', sc.encode('d'));
      await b.put('k1', sc.encode('e'));
      await b.purge('k2');
      await checkFor(() => seen.length === 5);
      assert.deepEqual(
        seen.slice(2).map((e) => `${e.key}=${sc.decode(e.value)} ${e.operation}`),
        ['k3=d PUT', 'k1=e PUT', 'k2= PURGE'],
      );
      // Revisions come in stream order.
      const revs = seen.map((e) => e.revision);
      assert.deepEqual(
        revs,
        [...revs].sort((x, y) => x - y),
      );
      w.stop();
      // A watch of one key, from an empty start, sees only that key.
      const one = await b.watch({ key: 'k3' });
      const only = collect(one);
      await b.put('k1', sc.encode('f'));
      await b.put('k3', sc.encode('g'));
      await checkFor(() => only.length === 2);
      assert.deepEqual(
        only.map((e) => `${e.key}=${sc.decode(e.value)}`),
        ['k3=d', 'k3=g'],
      );
      one.stop();
    });

    test('status, then destroy', async () => {
      const b = await js.views.kv('gone', { history: 2, ttl: 60_000, storage: StorageType.Memory });
      await b.put('p', sc.encode('12345'));
      const st = await b.status();
      assert.equal(st.bucket, 'gone');
      assert.equal(st.values, 1);
      assert.equal(st.history, 2);
      assert.equal(st.ttl, 60_000);
      assert.equal(st.backingStore, 'memory');
      assert.ok(st.size > 0);
      assert.equal(await b.destroy(), true);
      await assert.rejects(jsm.streams.info('KV_gone'), /stream not found/);
    });
  });

  describe('direct get on the wire', () => {
    before(async () => {
      await jsm.streams.add({ name: 'DG', subjects: ['dg.>'], allow_direct: true });
      await jsm.streams.add({ name: 'NODG', subjects: ['nodg.>'] });
      const h = headers();
      h.set('X-Mine', 'kept');
      await js.publish('dg.a', sc.encode('a1'), { headers: h });
      await js.publish('dg.b', sc.encode('b1'));
      await js.publish('dg.a', sc.encode('a2'));
      await js.publish('nodg.a', sc.encode('x'));
    });

    const req = (subject: string, body = ''): Promise<Msg> =>
      nc.request(subject, sc.encode(body), { timeout: 2000 });
    const status = (m: Msg) => `${m.headers?.code ?? 0} ${m.headers?.description ?? ''}`;

    test('by sequence: the message with its stream headers', async () => {
      const m = await req('$JS.API.DIRECT.GET.DG', '{"seq":1}');
      assert.equal(sc.decode(m.data), 'a1');
      const h = m.headers!;
      assert.equal(h.get('Nats-Stream'), 'DG');
      assert.equal(h.get('Nats-Subject'), 'dg.a');
      assert.equal(h.get('Nats-Sequence'), '1');
      assert.equal(h.get('X-Mine'), 'kept');
      const ts = h.get('Nats-Time-Stamp');
      assert.match(ts, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
      assert.ok(Math.abs(Date.parse(ts) - Date.now()) < 60_000);
    });

    test('last by subject (body and subject forms) and next by subject', async () => {
      const last = await req('$JS.API.DIRECT.GET.DG', '{"last_by_subj":"dg.a"}');
      assert.equal(last.headers!.get('Nats-Sequence'), '3');
      const bySubject = await req('$JS.API.DIRECT.GET.DG.dg.a');
      assert.equal(sc.decode(bySubject.data), 'a2');
      assert.equal(bySubject.headers!.get('Nats-Sequence'), '3');
      const next = await req('$JS.API.DIRECT.GET.DG', '{"next_by_subj":"dg.a","seq":2}');
      assert.equal(next.headers!.get('Nats-Sequence'), '3');
      const nextAny = await req('$JS.API.DIRECT.GET.DG', '{"next_by_subj":"dg.*","seq":2}');
      assert.equal(nextAny.headers!.get('Nats-Subject'), 'dg.b');
    });

    test('statuses: not found, empty, malformed and bad requests', async () => {
      assert.equal(
        status(await req('$JS.API.DIRECT.GET.DG', '{"seq":99}')),
        '404 Message Not Found',
      );
      assert.equal(status(await req('$JS.API.DIRECT.GET.DG.dg.zzz')), '404 Message Not Found');
      assert.equal(status(await req('$JS.API.DIRECT.GET.DG')), '408 Empty Request');
      assert.equal(status(await req('$JS.API.DIRECT.GET.DG', '{}')), '408 Empty Request');
      assert.equal(status(await req('$JS.API.DIRECT.GET.DG', '{"seq":')), '408 Malformed Request');
      assert.equal(
        status(await req('$JS.API.DIRECT.GET.DG', '{"seq":"1"}')),
        '408 Malformed Request',
      );
      assert.equal(
        status(await req('$JS.API.DIRECT.GET.DG', '{"seq":1,"last_by_subj":"dg.a"}')),
        '408 Bad Request',
      );
      assert.equal(status(await req('$JS.API.DIRECT.GET.DG.dg.a', '{"seq":1}')), '408 Bad Request');
    });

    test('a stream without allow_direct (or no stream) serves no direct gets', async () => {
      // nats-server subscribes only for streams that allow them, and its
      // general API handler leaves the request unanswered. Weft answers at
      // once with the 503 no-responders status the client would see if the
      // request reached no subscriber at all.
      const refused = TARGET === 'nats-server' ? /TIMEOUT/ : /503/;
      const quick = { timeout: 300 };
      await assert.rejects(
        nc.request('$JS.API.DIRECT.GET.NODG', sc.encode('{"seq":1}'), quick),
        refused,
      );
      await assert.rejects(
        nc.request('$JS.API.DIRECT.GET.MISSING', sc.encode('{"seq":1}'), quick),
        refused,
      );
      // Turning it on makes it answer.
      const si = await jsm.streams.info('NODG');
      await jsm.streams.update('NODG', { ...si.config, allow_direct: true });
      const m = await req('$JS.API.DIRECT.GET.NODG', '{"seq":1}');
      assert.equal(sc.decode(m.data), 'x');
    });

    test('the client API: jsm.direct.getMessage', async () => {
      // Typed on the implementation, not on the JetStreamManager interface.
      const direct = (jsm as unknown as { direct: DirectApi }).direct;
      const m = await direct.getMessage('DG', { last_by_subj: 'dg.b' });
      assert.equal(m.subject, 'dg.b');
      assert.equal(m.seq, 2);
      assert.equal(m.stream, 'DG');
      assert.equal(sc.decode(m.data), 'b1');
      assert.ok(m.time instanceof Date);
    });
  });

  describe('what buckets are made of', () => {
    async function publishErr(subject: string, body: string, h?: Record<string, string>) {
      const hdrs = headers();
      for (const [k, v] of Object.entries(h ?? {})) hdrs.set(k, v);
      return rejects(js.publish(subject, sc.encode(body), { headers: hdrs }));
    }
    async function pub(subject: string, h: Record<string, string> = {}) {
      const hdrs = headers();
      for (const [k, v] of Object.entries(h)) hdrs.set(k, v);
      return (await js.publish(subject, sc.encode(subject), { headers: hdrs })).seq;
    }

    test('rollup sub replaces the subject, rollup all the stream', async () => {
      await jsm.streams.add({ name: 'RU', subjects: ['ru.>'], allow_rollup_hdrs: true });
      for (const s of ['ru.a', 'ru.a', 'ru.b', 'ru.a']) await pub(s);
      const seq = await pub('ru.a', { 'Nats-Rollup': 'sub' });
      let st = (await jsm.streams.info('RU')).state;
      assert.equal(st.messages, 2);
      assert.equal((await jsm.streams.getMessage('RU', { last_by_subj: 'ru.a' })).seq, seq);
      assert.equal((await jsm.streams.getMessage('RU', { last_by_subj: 'ru.b' })).seq, 3);
      const all = await pub('ru.c', { 'Nats-Rollup': 'all' });
      st = (await jsm.streams.info('RU')).state;
      assert.equal(st.messages, 1);
      assert.equal(st.first_seq, all);
    });

    test('rollups are refused where not allowed', async () => {
      await jsm.streams.add({ name: 'NORU', subjects: ['noru.>'] });
      assert.equal(
        await publishErr('noru.a', 'x', { 'Nats-Rollup': 'sub' }),
        '500 10111 rollup not permitted',
      );
      assert.equal((await jsm.streams.info('NORU')).state.messages, 0);
      // Rollups purge, so they need purges allowed.
      assert.equal(
        await rejects(
          jsm.streams.add({
            name: 'RUDP',
            subjects: ['rudp.>'],
            allow_rollup_hdrs: true,
            deny_purge: true,
          }),
        ),
        '500 10052 roll-ups require the purge permission',
      );
    });

    test('discard new: a subject at its limit replaces; other subjects are refused', async () => {
      await jsm.streams.add({
        name: 'DN',
        subjects: ['dn.>'],
        discard: 'new' as never,
        max_msgs: 2,
        max_msgs_per_subject: 1,
      });
      await pub('dn.a');
      await pub('dn.b');
      // dn.a is at its per-subject limit: the new one replaces the old.
      await pub('dn.a');
      assert.equal((await jsm.streams.info('DN')).state.messages, 2);
      assert.equal(await publishErr('dn.c', 'x'), '503 10077 maximum messages exceeded');
    });

    test('discard new per subject refuses at the subject limit', async () => {
      await jsm.streams.add({
        name: 'DNP',
        subjects: ['dnp.>'],
        discard: 'new' as never,
        max_msgs_per_subject: 1,
        discard_new_per_subject: true,
      } as never);
      await pub('dnp.a');
      assert.equal(
        await publishErr('dnp.a', 'x'),
        '503 10077 maximum messages per subject exceeded',
      );
      await pub('dnp.b');
      assert.equal(
        await rejects(
          jsm.streams.add({
            name: 'DNPX',
            subjects: ['dnpx.>'],
            max_msgs_per_subject: 1,
            discard_new_per_subject: true,
          } as never),
        ),
        '500 10052 discard new per subject requires discard new policy to be set',
      );
    });

    test('expected last subject sequence (what create and update send)', async () => {
      await jsm.streams.add({ name: 'ELS', subjects: ['els.>'] });
      const s1 = await pub('els.a', { 'Nats-Expected-Last-Subject-Sequence': '0' });
      await pub('els.b');
      assert.equal(
        await publishErr('els.a', 'x', { 'Nats-Expected-Last-Subject-Sequence': '0' }),
        `400 10071 wrong last sequence: ${s1}`,
      );
      const s3 = await pub('els.a', { 'Nats-Expected-Last-Subject-Sequence': String(s1) });
      assert.equal(s3, 3);
    });

    test('deny delete refuses message deletes and can not be turned off', async () => {
      await jsm.streams.add({ name: 'DD', subjects: ['dd.>'], deny_delete: true });
      const seq = await pub('dd.a');
      const e = await rejects(jsm.streams.deleteMessage('DD', seq));
      // nats-server 2.9 says 500/10057; the description is what matters to clients.
      assert.match(e, /^500 \d+ message delete not permitted$/);
      const si = await jsm.streams.info('DD');
      assert.equal(
        await rejects(jsm.streams.update('DD', { ...si.config, deny_delete: false })),
        '500 10052 stream configuration update can not cancel deny message deletes',
      );
    });
  });

  test('a bucket survives a restart of the server', async () => {
    const b = await js.views.kv('kept', { history: 2 });
    await b.put('k', sc.encode('v1'));
    await b.put('k', sc.encode('v2'));
    const r3 = await b.put('k', sc.encode('v3'));
    await nc.close();
    await srv.stop();
    ({ srv, nc, jsm, js } = await openJs(data));
    const again = await js.views.kv('kept', { history: 2 });
    assert.equal(brief(await again.get('k')), `k=v3 PUT r${r3}`);
    assert.deepEqual(
      (await drain(await again.history({ key: 'k' }))).map((e) => sc.decode(e.value)),
      ['v2', 'v3'],
    );
    assert.equal(
      await rejects(again.create('k', sc.encode('dup'))),
      `400 10071 wrong last sequence: ${r3}`,
    );
    const c = (await jsm.streams.info('KV_kept')).config;
    assert.equal(c.allow_direct, true);
    assert.equal(c.allow_rollup_hdrs, true);
    assert.equal(c.discard, 'new');
  });
});

describe('KV buckets: @nats-io/kv v3', () => {
  let data: JsData;
  let srv: JsTarget;
  let nc: NatsConnectionV3;

  before(async () => {
    data = await jsData();
    srv = await data.start();
    nc = await connectV3({ servers: srv.url });
  });
  after(async () => {
    await nc?.close();
    await srv?.stop();
    await data?.remove();
  });

  test('put, get, create, update, delete, purge, history, keys, watch, status, destroy', async () => {
    const kvm = new Kvm(jetstreamV3(nc));
    const kv = await kvm.create('v3', { history: 4 });
    const r1 = await kv.put('a', 'one');
    const r2 = await kv.put('a', 'two');
    assert.equal(brief(await kv.get('a')), `a=two PUT r${r2}`);
    assert.equal(brief(await kv.get('a', { revision: r1 })), `a=one PUT r${r1}`);
    assert.equal(await kv.get('missing'), null);
    const c1 = await kv.create('c', 'new');
    await assert.rejects(kv.create('c', 'dup'), /wrong last sequence/);
    await kv.update('c', 'changed', c1);
    await assert.rejects(kv.update('c', 'stale', c1), /wrong last sequence/);
    await kv.put('b', 'bee');
    await kv.delete('b');
    assert.equal((await kv.get('b'))?.operation, 'DEL');
    assert.deepEqual(
      (await drain(await kv.history({ key: 'a' }))).map((e) => e.string()),
      ['one', 'two'],
    );
    await kv.purge('a');
    assert.deepEqual(
      (await drain(await kv.history({ key: 'a' }))).map((e) => e.operation),
      ['PURGE'],
    );
    assert.deepEqual((await drain(await kv.keys())).sort(), ['c']);

    const w = await kv.watch();
    const seen = collect(w);
    await checkFor(() => seen.length === 3);
    // (Whether the client marks initial values as updates depends on how many
    // were delivered before it read the consumer's info: racy, not asserted.)
    assert.deepEqual(
      seen.map((e) => `${e.key} ${e.operation}`),
      ['c PUT', 'b DEL', 'a PURGE'],
    );
    await kv.put('d', 'dee');
    await checkFor(() => seen.length === 4);
    assert.equal(`${seen[3]!.key}=${seen[3]!.string()} ${seen[3]!.isUpdate}`, 'd=dee true');
    w.stop();

    const st = await kv.status();
    assert.equal(st.bucket, 'v3');
    assert.equal(st.history, 4);
    // a: the purge marker; b: put and delete; c: two revisions; d: one.
    assert.equal(st.values, 6);
    assert.equal(await kv.destroy(), true);
    assert.deepEqual(await drain(kvm.list()), []);
  });
});
