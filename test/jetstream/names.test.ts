/**
 * JetStream names: what nats-server 2.9 accepts as a stream, consumer or KV
 * bucket name, at each limit and one past it, with its error codes and
 * texts; against Weft or (WEFT_TEST_TARGET=nats-server) `nats-server -js`.
 * Lengths are in bytes: `é` is two. Names the client itself refuses (path
 * separators) are sent as raw API requests, as another client could.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  AckPolicy,
  type JetStreamClient,
  type JetStreamManager,
  type NatsConnection,
  type NatsError,
  StringCodec,
} from 'nats';
import { TARGET } from '../helpers/harness.js';
import { closeJs, type JsData, type JsTarget, jsData, openJs } from './target.js';

const sc = StringCodec();
const E = 'é';
/** 255 bytes: ASCII, and 1 + 127 × 2 bytes. */
const AT_LIMIT = ['S'.repeat(255), `a${E.repeat(127)}`];
/** 256 bytes: ASCII, and 128 × 2 bytes (128 characters). */
const PAST_LIMIT = ['S'.repeat(256), E.repeat(128)];

interface ApiError {
  code: number;
  err_code: number;
  description: string;
}

/** The API error a client call was refused with. */
async function refusal(p: Promise<unknown>): Promise<ApiError> {
  try {
    await p;
  } catch (err) {
    const e = (err as NatsError).api_error;
    assert.ok(e !== undefined, `not an API error: ${String(err)}`);
    return { code: e.code, err_code: e.err_code!, description: e.description! };
  }
  assert.fail('accepted');
}

describe('JetStream names', () => {
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

  /** A raw API request: the parsed JSON answer. */
  async function api(subject: string, body: unknown): Promise<Record<string, unknown>> {
    const m = await nc.request(subject, sc.encode(JSON.stringify(body)), { timeout: 3000 });
    return JSON.parse(sc.decode(m.data)) as Record<string, unknown>;
  }

  async function streamNames(): Promise<string[]> {
    return (await jsm.streams.names().next()) ?? [];
  }

  test('stream names: 255 bytes at the limit, one byte past refused (10052)', async () => {
    for (const [i, name] of AT_LIMIT.entries()) {
      const si = await jsm.streams.add({ name, subjects: [`limit.${i}`] });
      assert.equal(si.config.name, name);
      await js.publish(`limit.${i}`, sc.encode('x'));
      assert.equal((await jsm.streams.info(name)).state.messages, 1);
    }
    for (const [i, name] of PAST_LIMIT.entries()) {
      const e = await refusal(jsm.streams.add({ name, subjects: [`past.${i}`] }));
      assert.deepEqual(e, {
        code: 500,
        err_code: 10052,
        description: 'stream name is too long, maximum allowed is 255',
      });
    }
    const names = await streamNames();
    for (const n of AT_LIMIT) assert.ok(names.includes(n));
    for (const n of PAST_LIMIT) assert.ok(!names.includes(n));
  });

  test('stream names with path separators are refused (10128)', async () => {
    for (const name of ['a/b', 'a\\b', '\\up', '/abs']) {
      const r = await api(`$JS.API.STREAM.CREATE.${name}`, { name, subjects: ['sep.x'] });
      assert.deepEqual(r.error, {
        code: 400,
        err_code: 10128,
        description: 'Stream name can not contain path separators',
      });
    }
    assert.ok(!(await streamNames()).some((n) => /[/\\]/.test(n)));
  });

  test('stream names with a wildcard are refused (10052)', async () => {
    for (const name of ['a*', 'a>']) {
      const r = await api(`$JS.API.STREAM.CREATE.${name}`, { name, subjects: ['wild.x'] });
      assert.deepEqual(r.error, {
        code: 500,
        err_code: 10052,
        description: "stream name is required and can not contain '.', '*', '>'",
      });
    }
  });

  test('descriptions: 4096 bytes at the limit, one byte past refused', async () => {
    const at = `a${E.repeat(2047)}a`; // 4096 bytes, 2049 characters
    const past = `a${E.repeat(2048)}`; // 4097 bytes
    await jsm.streams.add({ name: 'DESC', subjects: ['desc.>'], description: at });
    const e = await refusal(
      jsm.streams.add({ name: 'DESC2', subjects: ['desc2'], description: past }),
    );
    assert.deepEqual(e, {
      code: 500,
      err_code: 10052,
      description: 'stream description is too long, maximum allowed is 4096',
    });
    await jsm.consumers.add('DESC', {
      durable_name: 'D',
      ack_policy: AckPolicy.Explicit,
      description: at,
    });
    const ce = await refusal(
      jsm.consumers.add('DESC', {
        durable_name: 'D2',
        ack_policy: AckPolicy.Explicit,
        description: past,
      }),
    );
    assert.deepEqual(ce, {
      code: 400,
      err_code: 10107,
      description: 'consumer description is too long, maximum allowed is 4096',
    });
  });

  test('durable names: 255 bytes at the limit (state kept across a restart), one past refused', async () => {
    await jsm.streams.add({ name: 'DUR', subjects: ['dur.>'] });
    for (let i = 1; i <= 3; i++) await js.publish(`dur.${i}`, sc.encode(`m${i}`));
    for (const name of AT_LIMIT) {
      const ci = await jsm.consumers.add('DUR', { durable_name: name, ack_policy: AckPolicy.All });
      assert.equal(ci.name, name);
      const got = [];
      for await (const m of js.fetch('DUR', name, { batch: 2, expires: 2000 })) got.push(m);
      assert.equal(got.length, 2);
      got[1]!.ack();
      await nc.flush();
    }
    const tooLong = {
      code: 400,
      err_code: 10102,
      description: 'consumer name is too long, maximum allowed is 255',
    };
    for (const name of PAST_LIMIT) {
      assert.deepEqual(await refusal(jsm.consumers.add('DUR', { durable_name: name })), tooLong);
      // The older subject.
      const r = await api(`$JS.API.CONSUMER.DURABLE.CREATE.DUR.${name}`, {
        stream_name: 'DUR',
        config: { durable_name: name, ack_policy: 'explicit' },
      });
      assert.deepEqual(r.error, tooLong);
      // A named ephemeral: nats-server 2.9.10 checks only durable names' length
      // and fails in its store; Weft checks every name first.
      const n = await api(`$JS.API.CONSUMER.CREATE.DUR.${name}`, {
        stream_name: 'DUR',
        config: { name, ack_policy: 'explicit' },
      });
      assert.deepEqual(
        n.error,
        TARGET === 'nats-server'
          ? { code: 500, err_code: 10012, description: 'error creating store for consumer' }
          : tooLong,
      );
    }
    await nc.close();
    await srv.stop();
    ({ srv, nc, jsm, js } = await openJs(data));
    const names = (await jsm.consumers.list('DUR').next()).map((c) => c.name).sort();
    assert.deepEqual(names, [...AT_LIMIT].sort());
    for (const name of AT_LIMIT) {
      const ci = await jsm.consumers.info('DUR', name);
      assert.equal(ci.ack_floor.stream_seq, 2);
      assert.equal(ci.num_pending, 1);
    }
  });

  test('consumer names with path separators are refused (10127) and not registered', async () => {
    await jsm.streams.add({ name: 'SEP', subjects: ['sep.>'] });
    for (const name of ['a/b', 'a\\b', '\\x', '/abs']) {
      for (const subject of [
        `$JS.API.CONSUMER.DURABLE.CREATE.SEP.${name}`,
        `$JS.API.CONSUMER.CREATE.SEP.${name}`,
      ]) {
        const r = await api(subject, {
          stream_name: 'SEP',
          config: { durable_name: name, ack_policy: 'explicit' },
        });
        assert.deepEqual(r.error, {
          code: 400,
          err_code: 10127,
          description: 'Consumer name can not contain path separators',
        });
      }
    }
    assert.deepEqual(await jsm.consumers.list('SEP').next(), []);
    // The stream and its consumers work as before.
    await jsm.consumers.add('SEP', { durable_name: 'b', ack_policy: AckPolicy.Explicit });
    assert.deepEqual(
      (await jsm.consumers.list('SEP').next()).map((c) => c.name),
      ['b'],
    );
  });

  test('consumer names with a wildcard or a space are refused (10103)', async () => {
    await jsm.streams.add({ name: 'BAD', subjects: ['bad.>'] });
    const cases: [string, Record<string, unknown>][] = [
      ['$JS.API.CONSUMER.DURABLE.CREATE.BAD.a*', { durable_name: 'a*' }],
      ['$JS.API.CONSUMER.CREATE.BAD.a>', { name: 'a>' }],
      ['$JS.API.CONSUMER.CREATE.BAD', { name: 'a b' }],
    ];
    for (const [subject, config] of cases) {
      const r = await api(subject, { stream_name: 'BAD', config });
      assert.deepEqual(r.error, {
        code: 400,
        err_code: 10103,
        description: "durable name can not contain '.', '*', '>'",
      });
    }
  });

  test('an ephemeral create (CONSUMER.CREATE.<stream>) with a durable name is refused (10020)', async () => {
    await jsm.streams.add({ name: 'EPH', subjects: ['eph.>'] });
    const r = await api('$JS.API.CONSUMER.CREATE.EPH', {
      stream_name: 'EPH',
      config: { durable_name: 'D', ack_policy: 'explicit' },
    });
    assert.deepEqual(r.error, {
      code: 400,
      err_code: 10020,
      description: 'consumer expected to be ephemeral but a durable name was set in request',
    });
  });

  test('names the file system refuses (NUL): a generic error, nothing registered', async () => {
    const r = await api('$JS.API.STREAM.CREATE.a\u0000b', { name: 'a\u0000b', subjects: ['nul'] });
    assert.deepEqual(r.error, {
      code: 500,
      err_code: 10049,
      description: 'error creating store for stream',
    });
    assert.ok(!(await streamNames()).includes('a\u0000b'));
    await jsm.streams.add({ name: 'NUL', subjects: ['nul.>'] });
    const c = await api('$JS.API.CONSUMER.DURABLE.CREATE.NUL.c\u0000d', {
      stream_name: 'NUL',
      config: { durable_name: 'c\u0000d', ack_policy: 'explicit' },
    });
    assert.deepEqual(c.error, {
      code: 500,
      err_code: 10012,
      description: 'error creating store for consumer',
    });
    assert.deepEqual(await jsm.consumers.list('NUL').next(), []);
  });

  test('KV bucket names: 252 characters at the limit (KV_ + 252 = 255 bytes), 253 refused', async () => {
    const at = 'b'.repeat(252);
    const kv = await js.views.kv(at);
    await kv.put('k', sc.encode('v'));
    assert.equal(sc.decode((await kv.get('k'))!.value), 'v');
    const e = await refusal(js.views.kv('b'.repeat(253)));
    assert.deepEqual(e, {
      code: 500,
      err_code: 10052,
      description: 'stream name is too long, maximum allowed is 255',
    });
  });
});
