/**
 * Property test of permissions, end to end: batches of random users (each
 * with a random permissions block) on a running node, each on a raw
 * connection with random subscriptions (wildcards, queue groups), then
 * random publishes (some with reply subjects, JetStream API subjects in some
 * batches), then responses to the replies received (allow_responses). Every
 * message must reach exactly the subscriptions the model
 * (test/helpers/permissions-model.ts) says it may — zero bypasses, zero
 * false refusals — and every refusal comes back as nats-server's exact
 * text on a connection that stays open.
 *
 * Runs against nats-server too (WEFT_TEST_TARGET=nats-server), with the
 * model's nats-server flavour. WEFT_PROPERTY_CASES scales the batches (one
 * batch per 600 cases, default 5), WEFT_PROPERTY_SEED fixes the seed
 * (printed on failure).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type RawClient, startTargetFor, TARGET } from '../helpers/harness.js';
import {
  chance,
  type Family,
  JETSTREAM,
  Model,
  type PermsDoc,
  PLAIN,
  permissions,
  pick,
  propertyCases,
  propertySeed,
  publishSubject,
  QUEUES,
  type Rand,
  replySubject,
  rng,
  subscription,
} from '../helpers/permissions-model.js';

const BATCHES = Math.max(1, Math.round(propertyCases(3000) / 600));
/** Batches added when a seed's first ones reach no refusal or no filtered delivery. */
const MAX_EXTRA = 10;
const USERS = 8;
const SUBS_PER_USER = 6;
const PUBS_PER_USER = 12;

interface Sub {
  sid: string;
  subject: string;
  queue: string;
}

interface Pub {
  subject: string;
  reply: string;
  payload: string;
}

interface User {
  name: string;
  perms: PermsDoc;
  conn: RawClient;
  subs: Sub[];
  /** Deliveries seen: `<sid> <payload> <reply>`. */
  got: string[];
  /** -ERR lines seen. */
  errors: string[];
}

/** Reads until PONG, keeping each MSG and -ERR; anything else fails. */
async function untilPong(u: User): Promise<void> {
  for (;;) {
    const line = await u.conn.nextLine(5000);
    if (line === 'PONG') return;
    if (line.startsWith('-ERR ')) {
      u.errors.push(line);
      continue;
    }
    const m = /^MSG (\S+) (\S+) (?:(\S+) )?(\d+)$/.exec(line);
    if (m === null) throw new Error(`${u.name}: unexpected line ${JSON.stringify(line)}`);
    const body = (await u.conn.readBytes(Number(m[4]) + 2, 5000)).toString().slice(0, -2);
    u.got.push(`${m[2]} ${body} ${m[3] ?? ''}`);
  }
}

/** Sends to every user, then each reads until its PONG. */
async function round(users: User[], frames: (u: User) => string): Promise<void> {
  for (const u of users) u.conn.send(`${frames(u)}PING\r\n`);
  await Promise.all(users.map(untilPong));
}

const pubViolation = (s: string) => `-ERR 'Permissions Violation for Publish to "${s}"'`;
const subViolation = (s: string, q: string) =>
  `-ERR 'Permissions Violation for Subscription to "${s}"${q === '' ? '' : ` using queue "${q}"`}'`;

function sorted(xs: string[]): string[] {
  return [...xs].sort();
}

async function batch(
  t: { after: (fn: () => Promise<void>) => void },
  r: Rand,
  seed: number,
  b: number,
): Promise<{ messages: number; refusals: number; filtered: number }> {
  const family: Family = pick(r, [PLAIN, PLAIN, JETSTREAM]);
  const model = new Model(family.universe, QUEUES, TARGET);
  const docs = Array.from({ length: USERS }, () => permissions(r, family));
  const users = [
    ...docs.map((perms, i) => ({ user: `u${i}`, password: 'pw', permissions: perms })),
    { user: 'observer', password: 'pw' },
  ];
  const { srv, raw } = await startTargetFor(t, { securityDoc: { authorization: { users } } });
  const where = (what: string) =>
    `batch ${b} (${family.name} subjects), seed ${seed} (rerun: WEFT_PROPERTY_SEED=${seed}): ${what}`;
  const all: User[] = [];
  for (let i = 0; i < USERS; i++) {
    const conn = await raw.handshake(srv.port, { user: `u${i}`, pass: 'pw' });
    all.push({ name: `u${i}`, perms: docs[i]!, conn, subs: [], got: [], errors: [] });
  }

  // Subscriptions. Queue groups are by name, so a group may have members of
  // several users with different permissions.
  for (const u of all) {
    for (let k = 0; k < SUBS_PER_USER; k++)
      u.subs.push({ sid: String(k + 1), ...subscription(r, family) });
  }
  await round(all, (u) =>
    u.subs
      .map((s) => `SUB ${s.subject}${s.queue === '' ? '' : ` ${s.queue}`} ${s.sid}\r\n`)
      .join(''),
  );
  let refusals = 0;
  for (const u of all) {
    const want = u.subs
      .filter((s) => !model.canSubscribe(u.perms, s.subject, s.queue))
      .map((s) => subViolation(s.subject, s.queue));
    refusals += want.length;
    assert.deepEqual(
      sorted(u.errors),
      sorted(want),
      where(`${u.name}'s subscription refusals, permissions ${JSON.stringify(u.perms)}`),
    );
    u.errors = [];
  }
  const live = all.flatMap((u) =>
    u.subs.filter((s) => model.canSubscribe(u.perms, s.subject, s.queue)).map((s) => ({ u, s })),
  );
  const natsFilter = new Map<User, boolean>(
    all.map((u) => [
      u,
      model.natsFilterLoaded(
        u.perms,
        live.filter((l) => l.u === u).map((l) => l.s.subject),
      ),
    ]),
  );
  /** Replies each user may answer (allow_responses), from the requests it was seen to receive. */
  const grants = new Map<User, Map<string, number>>(all.map((u) => [u, new Map()]));
  let filtered = 0;

  /** Publishes `pubs[i]` by user i and checks every refusal and delivery against the model. */
  const publish = async (pubs: Pub[][]) => {
    const wantErrors = new Map<User, string[]>(all.map((u) => [u, []]));
    // `<user> <sid> <payload> <reply>`: each exactly once; and per message
    // and queue group, exactly one of the members that may take it.
    const exact: string[] = [];
    const oneOf: { key: string; members: string[] }[] = [];
    pubs.forEach((list, i) => {
      const p = all[i]!;
      for (const m of list) {
        let ok = model.canPublish(p.perms, m.subject);
        if (!ok) {
          // A response: the publisher received a request with this reply.
          const left = grants.get(p)!.get(m.subject) ?? 0;
          if (left > 0) {
            grants.get(p)!.set(m.subject, left - 1);
            ok = true;
          }
        }
        if (!ok) {
          wantErrors.get(p)!.push(pubViolation(m.subject));
          continue;
        }
        const groups = new Map<string, string[]>();
        for (const { u, s } of live) {
          if (!family.universe.has(s.subject, m.subject)) continue;
          if (!model.delivers(u.perms, s.subject, s.queue, m.subject, natsFilter.get(u))) {
            filtered++;
            continue;
          }
          const who = `${u.name} ${s.sid}`;
          if (s.queue === '') exact.push(`${who} ${m.payload} ${m.reply}`);
          else groups.set(s.queue, [...(groups.get(s.queue) ?? []), who]);
        }
        for (const members of groups.values())
          oneOf.push({ key: `${m.payload} ${m.reply}`, members });
      }
    });
    await round(all, (u) =>
      pubs[all.indexOf(u)]!.map(
        (m) =>
          `PUB ${m.subject}${m.reply === '' ? '' : ` ${m.reply}`} ${m.payload.length}\r\n${m.payload}\r\n`,
      ).join(''),
    );
    // Every publish is through: what is due to each is queued before its PONG.
    await round(all, () => '');
    const bypass: string[] = [];
    const due = new Map<string, number>();
    for (const e of exact) due.set(e, (due.get(e) ?? 0) + 1);
    for (const u of all) {
      assert.deepEqual(
        sorted(u.errors),
        sorted(wantErrors.get(u)!),
        where(`${u.name}'s publish refusals, permissions ${JSON.stringify(u.perms)}`),
      );
      for (const g of u.got) {
        const [sid, payload, reply] = g.split(' ');
        const who = `${u.name} ${sid}`;
        const full = `${who} ${payload} ${reply}`;
        const left = due.get(full) ?? 0;
        if (left > 0) due.set(full, left - 1);
        else {
          const i = oneOf.findIndex(
            (o) => o.key === `${payload} ${reply}` && o.members.includes(who),
          );
          if (i < 0) bypass.push(full);
          else oneOf.splice(i, 1);
        }
        // What the responder was seen to receive opens its response permission.
        const resp = u.perms.allow_responses;
        if (resp !== undefined && reply !== '')
          grants.get(u)!.set(reply!, resp === true ? 1 : resp.max);
      }
      u.errors = [];
      u.got = [];
    }
    const missing = [...due].filter(([, n]) => n > 0).map(([k]) => k);
    missing.push(...oneOf.map((o) => `one of [${o.members.join(', ')}]: ${o.key}`));
    const detail = all.map(
      (u) => `${u.name} ${JSON.stringify(u.perms)} subs ${JSON.stringify(u.subs)}`,
    );
    assert.deepEqual(
      { bypass, missing },
      { bypass: [], missing: [] },
      where(`deliveries (<user> <sid> <payload> <reply>); users:\n${detail.join('\n')}`),
    );
  };

  // Requests and plain messages. No reply on JetStream API subjects: the
  // node's JetStream would answer them.
  let seq = 0;
  await publish(
    all.map((u) =>
      Array.from({ length: PUBS_PER_USER }, () => {
        const subject = publishSubject(r, family);
        const reply = family === PLAIN && chance(r, 0.4) ? replySubject(r) : '';
        return { subject, reply, payload: `${u.name}-${seq++}` };
      }),
    ),
  );
  // Responses: to replies received (each once more than allowed) and to one not received.
  await publish(
    all.map((u) => {
      const out: Pub[] = [];
      for (const [reply, max] of grants.get(u)!) {
        for (let k = 0; k <= max; k++)
          out.push({ subject: reply, reply: '', payload: `${u.name}-${seq++}` });
      }
      out.push({ subject: family.literal(r), reply: '', payload: `${u.name}-${seq++}` });
      return out;
    }),
  );
  // Every connection is still open.
  await Promise.all(all.map((u) => u.conn.ping()));
  return { messages: seq, refusals, filtered };
}

test(`a message is delivered exactly when the model says (${BATCHES} batches of ${USERS} random users)`, async (t) => {
  const seed = propertySeed();
  const r = rng(seed);
  const total = { messages: 0, refusals: 0, filtered: 0 };
  // A seed whose batches never filter a delivery or refuse a publish gets
  // more batches (at most MAX_EXTRA), so the check below is about the model
  // reaching those paths, not about the seed.
  const reached = () => total.refusals > 0 && total.filtered > 0;
  for (let b = 0; b < BATCHES || (!reached() && b < BATCHES + MAX_EXTRA); b++) {
    const n = await batch(t, r, seed, b);
    total.messages += n.messages;
    total.refusals += n.refusals;
    total.filtered += n.filtered;
  }
  t.diagnostic(`seed ${seed}: ${JSON.stringify(total)}`);
  assert.ok(
    reached(),
    `the cases reached too little after ${BATCHES + MAX_EXTRA} batches: ${JSON.stringify(total)}`,
  );
});
