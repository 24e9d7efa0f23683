/**
 * Exports and imports between accounts with the official client, against
 * Weft and (WEFT_TEST_TARGET=nats-server) the reference with the same
 * config: a stream flows from A to B under the mapped subject, exactly once
 * per subscriber; a service request from B reaches A's responder on the
 * exported subject with a `_R_.` reply, and the response comes back; what is
 * not exported (or not imported) does not cross.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ErrorCode, type Msg, type NatsConnection, type NatsError, StringCodec } from 'nats';
import { checkFor, onlyOn, startTargetFor, TARGET } from '../helpers/harness.js';

const sc = StringCodec();

const CONFIG = {
  accounts: {
    A: {
      users: [{ user: 'a', password: 'a' }],
      exports: [
        { stream: 'events.>' },
        { stream: 'private.>', accounts: ['C'] },
        { service: 'svc.>' },
      ],
    },
    B: {
      users: [{ user: 'b', password: 'b' }],
      imports: [
        { stream: { account: 'A', subject: 'events.>' }, prefix: 'from_a' },
        { service: { account: 'A', subject: 'svc.time' }, to: 'time' },
      ],
    },
    C: {
      users: [{ user: 'c', password: 'c' }],
      imports: [{ stream: { account: 'A', subject: 'private.*' }, to: 'a.*.private' }],
    },
  },
};

/** Collects what a subscription receives (subject, payload, reply). */
function collect(nc: NatsConnection, subject: string) {
  const got: { subject: string; data: string; reply: string }[] = [];
  nc.subscribe(subject, {
    callback: (_e, m: Msg) =>
      got.push({ subject: m.subject, data: sc.decode(m.data), reply: m.reply ?? '' }),
  });
  return got;
}

describe('stream imports', () => {
  test('A publishes; B sees it under the mapped subject, once per subscriber', async (t) => {
    const { pool } = await startTargetFor(t, { securityDoc: CONFIG });
    const a = await pool.connect({ user: 'a', pass: 'a' });
    const b1 = await pool.connect({ user: 'b', pass: 'b' });
    const b2 = await pool.connect({ user: 'b', pass: 'b' });
    const all1 = collect(b1, '>');
    const mapped1 = collect(b1, 'from_a.events.*');
    const all2 = collect(b2, '>');
    const unmapped = collect(b2, 'events.>');
    await Promise.all([b1.flush(), b2.flush()]);
    for (let i = 0; i < 5; i++) a.publish(`events.${i}`, sc.encode(String(i)));
    a.publish('other.x', sc.encode('not exported'));
    a.publish('private.x', sc.encode('not for B'));
    await a.flush();
    await checkFor(() => all1.length >= 5 && all2.length >= 5, 3000);
    // A last round trip through both, so anything extra would have arrived.
    a.publish('events.last', sc.encode('last'));
    await a.flush();
    await checkFor(() => all1.length >= 6 && all2.length >= 6, 3000);
    await Promise.all([b1.flush(), b2.flush()]);
    const subjects = (g: typeof all1) => g.map((m) => m.subject);
    const expected = ['0', '1', '2', '3', '4', 'last'].map((x) => `from_a.events.${x}`);
    assert.deepEqual(subjects(all1), expected);
    assert.deepEqual(subjects(all2), expected);
    assert.deepEqual(subjects(mapped1), expected);
    assert.deepEqual(unmapped, []);
  });

  test('an export to named accounts, and a wildcard mapping with to:', async (t) => {
    const { pool } = await startTargetFor(t, { securityDoc: CONFIG });
    const a = await pool.connect({ user: 'a', pass: 'a' });
    const c = await pool.connect({ user: 'c', pass: 'c' });
    const got = collect(c, '>');
    await c.flush();
    a.publish('private.x', sc.encode('for C'));
    a.publish('private.x.y', sc.encode('not imported (private.* is one token)'));
    a.publish('events.1', sc.encode('C imports no events'));
    a.publish('private.z', sc.encode('for C too'));
    await a.flush();
    await checkFor(() => got.length >= 2, 3000);
    await c.flush();
    assert.deepEqual(
      got.map((m) => [m.subject, m.data]),
      [
        ['a.x.private', 'for C'],
        ['a.z.private', 'for C too'],
      ],
    );
  });

  test('B publishing on the imported subject does not reach A', async (t) => {
    const { pool } = await startTargetFor(t, { securityDoc: CONFIG });
    const a = await pool.connect({ user: 'a', pass: 'a' });
    const b = await pool.connect({ user: 'b', pass: 'b' });
    const inA = collect(a, '>');
    await a.flush();
    b.publish('from_a.events.1', sc.encode('x'));
    b.publish('events.1', sc.encode('x'));
    await b.flush();
    a.publish('marker', sc.encode('m'));
    await checkFor(() => inA.length >= 1, 3000);
    await a.flush();
    assert.deepEqual(
      inA.map((m) => m.subject),
      ['marker'],
    );
  });
});

describe('service imports', () => {
  test('B requests A service under its local name; the reply comes back', async (t) => {
    const { pool } = await startTargetFor(t, { securityDoc: CONFIG });
    const a = await pool.connect({ user: 'a', pass: 'a' });
    const b = await pool.connect({ user: 'b', pass: 'b' });
    const seen: { subject: string; reply: string }[] = [];
    a.subscribe('svc.>', {
      callback: (_e, m) => {
        seen.push({ subject: m.subject, reply: m.reply ?? '' });
        m.respond(sc.encode(`time for ${sc.decode(m.data)}`));
      },
    });
    await a.flush();
    for (let i = 0; i < 3; i++) {
      const r = await b.request('time', sc.encode(`b${i}`), { timeout: 2000 });
      assert.equal(sc.decode(r.data), `time for b${i}`);
    }
    assert.equal(seen.length, 3);
    for (const s of seen) {
      assert.equal(s.subject, 'svc.time');
      assert.match(s.reply, /^_R_\./);
    }
    // Only the imported subject, only under its local name.
    for (const subject of ['svc.time', 'svc.other', 'other']) {
      await assert.rejects(
        b.request(subject, sc.encode('?'), { timeout: 1000 }),
        (e: NatsError) => e.code === ErrorCode.NoResponders || e.code === ErrorCode.Timeout,
      );
    }
  });

  test('no responder in A: the requester in B hears no responders (Weft; 2.9 times out)', async (t) => {
    const { pool } = await startTargetFor(t, { securityDoc: CONFIG });
    const b = await pool.connect({ user: 'b', pass: 'b' });
    // nats-server 2.9 sends no 503 through a service import: the request times out.
    const expected = TARGET === 'weft' ? ErrorCode.NoResponders : ErrorCode.Timeout;
    await assert.rejects(b.request('time', sc.encode('?'), { timeout: 1000 }), (e: NatsError) => {
      assert.equal(e.code, expected);
      return true;
    });
  });

  test('headers pass through the request and the response', async (t) => {
    const { pool } = await startTargetFor(t, { securityDoc: CONFIG });
    const a = await pool.connect({ user: 'a', pass: 'a' });
    const b = await pool.connect({ user: 'b', pass: 'b' });
    const { headers } = await import('nats');
    a.subscribe('svc.time', {
      callback: (_e, m) => {
        const h = headers();
        h.set('X-Echo', m.headers?.get('X-Req') ?? 'none');
        m.respond(sc.encode('ok'), { headers: h });
      },
    });
    await a.flush();
    const h = headers();
    h.set('X-Req', 'from-b');
    const r = await b.request('time', sc.encode('?'), { timeout: 2000, headers: h });
    assert.equal(r.headers?.get('X-Echo'), 'from-b');
  });
});

describe('import cycles', () => {
  test(
    'a mutual import of the same subjects neither loops nor duplicates',
    onlyOn('weft', 'nats-server refuses this config at start ("import forms a cycle")'),
    async (t) => {
      const { pool } = await startTargetFor(t, {
        securityDoc: {
          accounts: {
            A: {
              users: [{ user: 'a', password: 'a' }],
              exports: [{ stream: 'events.>' }],
              imports: [{ stream: { account: 'B', subject: 'events.>' } }],
            },
            B: {
              users: [{ user: 'b', password: 'b' }],
              exports: [{ stream: 'events.>' }],
              imports: [{ stream: { account: 'A', subject: 'events.>' } }],
            },
          },
        },
      });
      const a = await pool.connect({ user: 'a', pass: 'a' });
      const b = await pool.connect({ user: 'b', pass: 'b' });
      const inA = collect(a, 'events.>');
      const inB = collect(b, 'events.>');
      await Promise.all([a.flush(), b.flush()]);
      a.publish('events.from-a', sc.encode('1'));
      b.publish('events.from-b', sc.encode('2'));
      await Promise.all([a.flush(), b.flush()]);
      await checkFor(() => inA.length >= 2 && inB.length >= 2, 3000);
      await Promise.all([a.flush(), b.flush()]);
      const sorted = (g: typeof inA) => g.map((m) => m.subject).sort();
      assert.deepEqual(sorted(inA), ['events.from-a', 'events.from-b']);
      assert.deepEqual(sorted(inB), ['events.from-a', 'events.from-b']);
    },
  );
});

describe('imports and JetStream', () => {
  test(
    "a stream in B captures A's events under the mapped subject",
    onlyOn('weft', 'the harness starts nats-server without JetStream'),
    async (t) => {
      const doc = structuredClone(CONFIG) as typeof CONFIG & {
        accounts: { B: { jetstream?: string } };
      };
      doc.accounts.B.jetstream = 'enabled';
      const { pool } = await startTargetFor(t, { securityDoc: doc });
      const a = await pool.connect({ user: 'a', pass: 'a' });
      const b = await pool.connect({ user: 'b', pass: 'b' });
      const jsm = await b.jetstreamManager();
      await jsm.streams.add({ name: 'IMPORTED', subjects: ['from_a.>'] });
      for (let i = 0; i < 3; i++) a.publish(`events.${i}`, sc.encode(String(i)));
      await a.flush();
      const info = await checkFor(async () => {
        const si = await jsm.streams.info('IMPORTED');
        return si.state.messages === 3 ? si : false;
      }, 3000);
      assert.equal(info.state.messages, 3);
      const m = await jsm.streams.getMessage('IMPORTED', { seq: 1 });
      assert.equal(m.subject, 'from_a.events.0');
    },
  );
});
