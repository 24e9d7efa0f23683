/**
 * When a stream's or a consumer's files can not be written, the create
 * leaves nothing registered and nothing behind, and the client is told a
 * generic error: never the node's paths (they are in the log). Weft only:
 * the failures are made by putting things where Weft writes its files.
 * Also: durables stored by Weft before the per-consumer directories are
 * moved into them at start.
 */
import assert from 'node:assert/strict';
import { mkdir, readdir, rename, rmdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AckPolicy, type JetStreamManager, type NatsConnection, StringCodec } from 'nats';
import { createMemoryStore } from '../../src/streams/memory-store.js';
import { StoreError } from '../../src/streams/store.js';
import { Stream } from '../../src/streams/stream.js';
import { normalizeConfig } from '../../src/streams/stream-config.js';
import { internalError, StreamApiError } from '../../src/streams/stream-errors.js';
import { onlyOn } from '../helpers/harness.js';
import { closeJs, type JsData, type JsTarget, jsData, openJs } from './target.js';

const sc = StringCodec();
const WEFT = onlyOn('weft', 'the failures are made in Weft’s data directory');

describe('JetStream write failures', WEFT, () => {
  let data: JsData;
  let srv: JsTarget;
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  let streams: string;

  before(async () => {
    data = await jsData();
    ({ srv, nc, jsm } = await openJs(data));
    streams = path.join(data.dir, 'streams', '$G');
  });
  after(() => closeJs({ srv, nc }, data));

  async function api(subject: string, body: unknown): Promise<Record<string, unknown>> {
    const m = await nc.request(subject, sc.encode(JSON.stringify(body)), { timeout: 3000 });
    return JSON.parse(sc.decode(m.data)) as Record<string, unknown>;
  }

  function noPath(r: Record<string, unknown>): void {
    const text = JSON.stringify(r);
    assert.ok(!text.includes(data.dir), `a host path reached the client: ${text}`);
    assert.ok(!text.includes('/'), `a path reached the client: ${text}`);
  }

  test('a durable whose state can not be written is not registered', async () => {
    await jsm.streams.add({ name: 'CW', subjects: ['cw.>'] });
    // Where the state file's temporary copy goes, a directory: the write fails (EISDIR).
    const home = path.join(streams, 'CW', 'consumers', 'BLOCK');
    await mkdir(path.join(home, 'state.json.tmp'), { recursive: true });
    const subject = '$JS.API.CONSUMER.CREATE.CW.BLOCK';
    const body = { stream_name: 'CW', config: { durable_name: 'BLOCK', ack_policy: 'explicit' } };
    const r = await api(subject, body);
    assert.deepEqual(r.error, {
      code: 500,
      err_code: 10012,
      description: 'error creating store for consumer',
    });
    noPath(r);
    assert.deepEqual(await jsm.consumers.list('CW').next(), []);
    // What was there before the create stays (it could be a state not restored at start).
    assert.ok((await stat(path.join(home, 'state.json.tmp'))).isDirectory());
    await rmdir(path.join(home, 'state.json.tmp'));
    // Nothing stays registered: the same create now succeeds.
    const ok = await api(subject, body);
    assert.equal(ok.error, undefined);
    assert.equal((await jsm.consumers.info('CW', 'BLOCK')).name, 'BLOCK');
  });

  test('a stream whose directory can not be made is not registered; what was there stays', async () => {
    // A file where the stream's directory would go.
    await mkdir(streams, { recursive: true });
    const blocker = path.join(streams, 'BLOCKED');
    await writeFile(blocker, 'not a directory');
    const r = await api('$JS.API.STREAM.CREATE.BLOCKED', { name: 'BLOCKED', subjects: ['blk'] });
    assert.deepEqual(r.error, {
      code: 500,
      err_code: 10049,
      description: 'error creating store for stream',
    });
    noPath(r);
    assert.ok(!((await jsm.streams.names().next()) ?? []).includes('BLOCKED'));
    assert.ok((await stat(blocker)).isFile());
    // Its subjects are free: another stream may capture them.
    await jsm.streams.add({ name: 'FREE', subjects: ['blk'] });
  });

  test('an update that can not be written: a generic error naming the errno only', async () => {
    await jsm.streams.add({ name: 'UPD', subjects: ['upd'] });
    await mkdir(path.join(streams, 'UPD', 'stream.json.tmp'));
    const r = await api('$JS.API.STREAM.UPDATE.UPD', {
      name: 'UPD',
      subjects: ['upd', 'upd2'],
    });
    assert.deepEqual(r.error, {
      code: 503,
      err_code: 10077,
      description: 'stream store failed (EISDIR)',
    });
    noPath(r);
    await rmdir(path.join(streams, 'UPD', 'stream.json.tmp'));
  });

  test('durables stored as consumers/<name>.json (the old layout) are moved at start', async () => {
    await jsm.streams.add({ name: 'OLD', subjects: ['old.>'] });
    const js = nc.jetstream();
    for (let i = 1; i <= 3; i++) await js.publish(`old.${i}`, sc.encode(String(i)));
    await jsm.consumers.add('OLD', { durable_name: 'D', ack_policy: AckPolicy.Explicit });
    const m = await js.fetch('OLD', 'D', { batch: 1, expires: 2000 });
    for await (const x of m) await x.ackAck();
    await nc.close();
    await srv.stop();
    const dir = path.join(streams, 'OLD', 'consumers');
    await rename(path.join(dir, 'D', 'state.json'), path.join(dir, 'D.json'));
    await rmdir(path.join(dir, 'D'));
    ({ srv, nc, jsm } = await openJs(data));
    const ci = await jsm.consumers.info('OLD', 'D');
    assert.equal(ci.ack_floor.stream_seq, 1);
    assert.equal(ci.num_pending, 2);
    assert.deepEqual((await readdir(dir)).sort(), ['D']);
    assert.deepEqual(await readdir(path.join(dir, 'D')), ['state.json']);
  });

  test('a publish whose write fails is refused without the path', async () => {
    const store = createMemoryStore();
    store.append = () =>
      Promise.reject(
        Object.assign(new Error("EIO: i/o error, write '/srv/weft/data/streams/$G/P/msgs/1.seg'"), {
          code: 'EIO',
        }),
      );
    const stream = new Stream(normalizeConfig({ name: 'P' }, 'P'), store, new Date());
    await stream.open();
    await assert.rejects(stream.store('P', null, Buffer.from('x')), (err: unknown) => {
      assert.ok(err instanceof StreamApiError);
      assert.deepEqual(err.toJSON(), {
        code: 503,
        err_code: 10077,
        description: 'stream store failed (EIO)',
      });
      assert.match(String((err.cause as Error).message), /msgs\/1\.seg/);
      return true;
    });
    await stream.close();
  });

  test('internalError keeps only the errno code for the client', () => {
    const fsErr = Object.assign(
      new Error("ENOENT: no such file or directory, open '/srv/weft/data/streams/$G/X/y.json'"),
      { code: 'ENOENT' },
    );
    const e = internalError(fsErr);
    assert.equal(e.message, 'stream store failed (ENOENT)');
    assert.deepEqual(e.toJSON(), {
      code: 503,
      err_code: 10077,
      description: 'stream store failed (ENOENT)',
    });
    assert.equal(e.cause, fsErr);
    assert.equal(internalError(new TypeError('a bug at /x/y')).message, 'stream store failed');
    const storeErr = new StoreError('io', '/srv/weft/data/streams/$G/X/msgs: write failed: EIO');
    assert.equal(internalError(storeErr).message, 'stream store failed (io)');
  });
});
