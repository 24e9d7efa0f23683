/**
 * A time-bounded fuzz from the client side that reaches the mesh: on node
 * b, raw clients subscribe with random subjects and queue group names (at,
 * under and past max_control_line; up to 300 groups on one subject); on
 * node a, a raw client publishes with random headers and payloads (at and
 * past max_payload). Each round checks that every message arrives exactly
 * as often as b's subscriptions ask (each plain subscription once, each
 * group once), that lines and messages past a limit get the client's -ERR,
 * and that both nodes keep serving.
 *
 * WEFT_FUZZ_SECONDS sets the time (default 5, shared with the other parts);
 * WEFT_FUZZ_SEED replays a run.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RawClient } from '../helpers/raw.js';
import { type MeshNode, startNode, waitConverged } from '../mesh/helpers.js';
import { makeRng, type Rng, seedFromEnv, subSeed } from './nats-frames.js';

const SECONDS = Number(process.env.WEFT_FUZZ_SECONDS ?? '5');
const SEED = seedFromEnv();
const LINE = 8192;
const PAYLOAD = 32 * 1024;

const TOKENS = ['a', 'orders', 'x9', 'ü', '日本', '🚀', '_-$', 'long'];

const bytes = (s: string): number => Buffer.byteLength(s);

/** A literal subject of at most (and about) `len` bytes. */
function subjectOf(rng: Rng, len: number): string {
  let s = rng.pick(TOKENS);
  while (bytes(s) < len) s += `.${rng.pick(TOKENS)}${rng.int(100)}`;
  while (bytes(s) > len && s.includes('.')) s = s.slice(0, s.lastIndexOf('.'));
  return s;
}

function lengthNear(rng: Rng, limit: number): number {
  return rng.pick([1, 8, 30, 255, 256, 300, 1000, limit - 40, limit - 20, limit]);
}

function queueOf(rng: Rng, len: number): string {
  let q = `g${rng.int(1_000_000)}`;
  if (q.length < len) q += 'q'.repeat(len - q.length);
  return q;
}

interface Sub {
  sid: number;
  subject: string;
  queue: string;
}

/** Reads deliveries until `n` arrived; returns the count per subject. */
async function readDeliveries(c: RawClient, n: number): Promise<Map<string, number>> {
  const got = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const line = await c.nextLine(5000);
    const parts = line.split(' ');
    let size: number;
    if (parts[0] === 'MSG') size = Number(parts[parts.length - 1]);
    else if (parts[0] === 'HMSG') size = Number(parts[parts.length - 1]);
    else throw new Error(`expected a message, got ${JSON.stringify(line.slice(0, 200))}`);
    await c.readBytes(size + 2, 5000);
    got.set(parts[1]!, (got.get(parts[1]!) ?? 0) + 1);
  }
  return got;
}

describe(`client fuzz through the mesh (${SECONDS}s, seed ${SEED})`, () => {
  test('random subjects, queue groups and headers at and past every limit', async (t) => {
    const extra = { maxControlLine: LINE, maxPayload: PAYLOAD };
    const a: MeshNode = await startNode({ name: 'a', extra });
    t.after(() => a.close());
    const b: MeshNode = await startNode({ name: 'b', links: [a.linkUrl], extra });
    t.after(() => b.close());
    await waitConverged([a, b], false);
    const rng = makeRng(subSeed(SEED, 31));
    const end = performance.now() + (SECONDS * 1000) / 2;
    let rounds = 0;
    let delivered = 0;
    let refusedLines = 0;
    let refusedPayloads = 0;
    while (rounds < 3 || performance.now() < end) {
      rounds++;
      const ctx = `seed ${SEED}, round ${rounds}`;
      const subjects = [
        ...new Set(
          Array.from({ length: rng.range(1, 4) }, () => subjectOf(rng, lengthNear(rng, LINE / 2))),
        ),
      ];
      const subB = await RawClient.handshake(b.port);
      const pubA = await RawClient.handshake(a.port);
      try {
        const subs: Sub[] = [];
        const nsubs = rng.chance(0.1) ? 300 : rng.range(1, 30);
        for (let i = 0; i < nsubs; i++) {
          const subject = rng.pick(subjects);
          const room = LINE - bytes(`SUB ${subject}  ${i + 1}`);
          const queue = rng.chance(0.4) ? '' : queueOf(rng, Math.min(room, lengthNear(rng, room)));
          subs.push({ sid: i + 1, subject, queue });
          subB.send(`SUB ${subject}${queue === '' ? '' : ` ${queue}`} ${i + 1}\r\n`);
        }
        await subB.ping(5000);
        // One byte past the line limit: -ERR, and that connection closes.
        if (rng.chance(0.3)) {
          const over = await RawClient.handshake(b.port);
          const subject = rng.pick(subjects);
          const pad = LINE + 1 - bytes(`SUB ${subject}  9`);
          over.send(`SUB ${subject} ${'o'.repeat(pad)} 9\r\n`);
          await over.expectLine(/^-ERR 'maximum control line exceeded/i, 5000);
          over.destroy();
          refusedLines++;
        }
        await waitConverged([a, b], true);
        const want = new Map<string, number>();
        for (const s of subjects) {
          const mine = subs.filter((x) => x.subject === s);
          const groups = new Set(mine.filter((x) => x.queue !== '').map((x) => x.queue));
          want.set(s, mine.filter((x) => x.queue === '').length + groups.size);
        }
        let total = 0;
        for (const s of subjects) {
          const atMax = rng.chance(0.3);
          const size = atMax ? PAYLOAD : rng.range(0, 2000);
          if (rng.chance(0.5)) {
            const h = `NATS/1.0\r\nX-F: ${'h'.repeat(rng.range(0, Math.min(size, 4000)))}\r\n\r\n`;
            const hlen = Buffer.byteLength(h);
            const body = 'p'.repeat(Math.max(0, size - hlen));
            pubA.send(`HPUB ${s} ${hlen} ${hlen + body.length}\r\n${h}${body}\r\n`);
          } else pubA.send(`PUB ${s} ${size}\r\n${'p'.repeat(size)}\r\n`);
          total += want.get(s)!;
        }
        await pubA.ping(5000);
        // One byte past max_payload: -ERR at the publisher.
        if (rng.chance(0.3)) {
          const over = await RawClient.handshake(a.port);
          over.send(`PUB ${subjects[0]} ${PAYLOAD + 1}\r\n${'p'.repeat(PAYLOAD + 1)}\r\n`);
          await over.expectLine(/^-ERR 'Maximum Payload Violation'$/, 5000);
          over.destroy();
          refusedPayloads++;
        }
        const got = await readDeliveries(subB, total);
        for (const s of subjects) {
          assert.equal(
            got.get(s) ?? 0,
            want.get(s),
            `${ctx}: deliveries on a ${bytes(s)}-byte subject`,
          );
        }
        delivered += total;
        // Nothing more arrives: a round trip with b, then no pending line.
        await subB.ping(5000);
      } finally {
        subB.destroy();
        pubA.destroy();
      }
      for (const n of [a, b]) {
        const c = await RawClient.handshake(n.port);
        await c.ping(5000);
        c.destroy();
      }
    }
    t.diagnostic(
      `${rounds} rounds, ${delivered} deliveries, ${refusedLines} long lines and ${refusedPayloads} payloads refused; WEFT_FUZZ_SEED=${SEED}`,
    );
    const z = (await a.meshz()) as unknown as { unencodable: Record<string, number> };
    assert.deepEqual(z.unencodable, {}, 'nothing a client sent was unencodable');
  });
});
