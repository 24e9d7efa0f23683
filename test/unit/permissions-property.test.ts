/**
 * Property test of permissions, unit level: random permission sets (publish
 * and subscribe allow/deny lists with literals, `*`, `>`, queue-group rules,
 * allow_responses) and random subjects (wildcards, queue groups, JetStream
 * API subjects), thousands of cases. Permissions' every decision must agree
 * with an independent model (test/helpers/permissions-model.ts: set
 * relations over an enumerated universe), and a message may reach a
 * subscription exactly when the model says so: zero bypasses, zero false
 * refusals. The model's own two flavours are checked too: Weft is never
 * looser than nats-server.
 *
 * WEFT_PROPERTY_CASES sets the number of cases, WEFT_PROPERTY_SEED the seed
 * (printed on failure).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parsePermissions } from '../../src/auth/config.js';
import {
  Permissions,
  RESPONSE_EXPIRES_DEFAULT_MS,
  ResponseGrants,
} from '../../src/auth/permissions.js';
import {
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
  rng,
  subscription,
} from '../helpers/permissions-model.js';

const CASES = propertyCases(3000);
/** Subjects and subscriptions tried per permission set. */
const PER_CASE = 12;

interface Failure {
  what: string;
  perms: PermsDoc;
  got: unknown;
  want: unknown;
}

function describeFailure(seed: number, n: number, family: Family, f: Failure): string {
  return [
    `case ${n} (${family.name} subjects), seed ${seed} (rerun: WEFT_PROPERTY_SEED=${seed}): ${f.what}`,
    `  permissions: ${JSON.stringify(f.perms)}`,
    `  got ${JSON.stringify(f.got)}, the model says ${JSON.stringify(f.want)}`,
  ].join('\n');
}

test(`permissions agree with the model on ${CASES} random permission sets`, () => {
  const seed = propertySeed();
  const r = rng(seed);
  const counts = { publish: 0, subscribe: 0, deliveries: 0, refused: 0, filtered: 0 };
  for (let n = 0; n < CASES; n++) {
    const family = pick(r, [PLAIN, PLAIN, JETSTREAM]);
    const doc = permissions(r, family);
    const weft = new Model(family.universe, QUEUES, 'weft');
    const nats = new Model(family.universe, QUEUES, 'nats-server');
    const perms = new Permissions(parsePermissions('permissions', doc));
    const fail = (what: string, got: unknown, want: unknown): never =>
      assert.fail(describeFailure(seed, n, family, { what, perms: doc, got, want }));
    for (let i = 0; i < PER_CASE; i++) {
      const subject = publishSubject(r, family);
      const want = weft.canPublish(doc, subject);
      // Twice: the second answer comes from the decision cache.
      for (const pass of ['', ' (cached)']) {
        const got = perms.canPublish(subject);
        if (got !== want) fail(`canPublish("${subject}")${pass}`, got, want);
      }
      if (want !== nats.canPublish(doc, subject))
        fail(`nats-server publish "${subject}"`, want, nats.canPublish(doc, subject));
      counts.publish++;

      const { subject: sub, queue } = subscription(r, family);
      const allowed = weft.canSubscribe(doc, sub, queue);
      const got = perms.canSubscribe(sub, queue);
      if (got !== allowed) fail(`canSubscribe("${sub}", "${queue}")`, got, allowed);
      if (allowed && !nats.canSubscribe(doc, sub, queue)) {
        fail(`Weft allows "${sub}" in "${queue}", nats-server refuses`, allowed, false);
      }
      const check = weft.deliveryCheckNeeded(doc, sub, queue);
      const gotCheck = perms.needsDeliveryCheck(sub, queue);
      if (gotCheck !== check) fail(`needsDeliveryCheck("${sub}", "${queue}")`, gotCheck, check);
      counts.subscribe++;
      if (!allowed) {
        counts.refused++;
        continue;
      }
      // Messages to subjects the subscription matches (and one at random).
      const candidates = [...family.universe.expand(sub)];
      for (let k = 0; k < 4; k++) {
        const msg = k < 3 ? pick(r, candidates) : publishSubject(r, family);
        const want = weft.delivers(doc, sub, queue, msg);
        const receive = perms.canReceive(msg, queue);
        if (receive !== weft.canReceive(doc, msg, queue)) {
          fail(`canReceive("${msg}", "${queue}")`, receive, weft.canReceive(doc, msg, queue));
        }
        // What the session does: a subscription marked `check` asks canReceive.
        const delivered = family.universe.has(sub, msg) && (!gotCheck || receive);
        if (delivered !== want) {
          fail(
            `${delivered ? 'bypass' : 'false refusal'}: "${msg}" to "${sub}" in "${queue}"`,
            delivered,
            want,
          );
        }
        if (want && !nats.delivers(doc, sub, queue, msg)) {
          fail(
            `Weft delivers "${msg}" to "${sub}" in "${queue}", nats-server does not`,
            want,
            false,
          );
        }
        counts.deliveries++;
        if (!want && family.universe.has(sub, msg)) counts.filtered++;
      }
    }
  }
  // The generator must reach every kind of decision, or the test proves little.
  assert.ok(counts.refused > CASES / 10, `only ${counts.refused} refused subscriptions`);
  assert.ok(counts.filtered > CASES / 50, `only ${counts.filtered} filtered deliveries`);
});

test("allow_responses takes nats-server's defaults: 1 reply, for 2 minutes", () => {
  const perm = (v: unknown) => parsePermissions('p', { allow_responses: v }).allowResponses;
  assert.deepEqual(perm(true), { max: 1, expiresMs: RESPONSE_EXPIRES_DEFAULT_MS });
  assert.equal(RESPONSE_EXPIRES_DEFAULT_MS, 120_000);
  assert.deepEqual(perm({ max: 0, expires: 0 }), { max: 1, expiresMs: 120_000 });
  assert.deepEqual(perm({ max: 5 }), { max: 5, expiresMs: 120_000 });
  assert.deepEqual(perm({ expires: '1s' }), { max: 1, expiresMs: 1000 });
  assert.equal(perm(false), null);
  // A grant past its life is refused, as one used up.
  const grants = new ResponseGrants({ max: 2, expiresMs: 100 });
  grants.grant('_INBOX.a', 1000);
  assert.equal(grants.use('_INBOX.a', 1050), true);
  assert.equal(grants.use('_INBOX.a', 1100), false);
  grants.grant('_INBOX.b', 1000);
  assert.equal(grants.use('_INBOX.b', 1001), true);
  assert.equal(grants.use('_INBOX.b', 1002), true);
  assert.equal(grants.use('_INBOX.b', 1003), false);
});
