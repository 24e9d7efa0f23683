/**
 * Mirrors and sources across real network cuts. Two `weft server`
 * processes, a and b, each in its own network namespace, linked over a veth
 * pair. Stream SRC lives on a; on b, MIR mirrors it and SUM sources it. A
 * publisher (in the test process, connected to a) publishes with publish
 * acks the whole time, while the link is cut (`down` and `silent`, see
 * netns.ts) and restored, and while b is killed with SIGKILL and started
 * again on its data. Afterwards both copies on b hold every acked message
 * exactly once, in order, with the mirror on the origin's sequences.
 *
 * Needs root and `ip netns`; skips, saying why, where the machine does not
 * allow them (fails instead with WEFT_REQUIRE_NETNS=1).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type JetStreamManager, type NatsConnection, StringCodec } from 'nats';
import { checkFor } from '../helpers/poll.js';
import { type CutMode, Lab, type Link, type Node, netnsSkip } from './netns.js';
import {
  clientTo,
  DEAD_AFTER_MS,
  diagnostics,
  MESH_PORT,
  startWeft,
  type WeftProc,
} from './weft.js';

const skip = await netnsSkip();
const sc = StringCodec();
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
/** A copy catches up within this of the link's return (redial, plus a feed's back-off). */
const CATCH_UP_MS = 15_000;

/** Publishes 1, 2, 3, … to `src.x` with acks, one at a time; remembers what was acked. */
class Publisher {
  acked: number[] = [];
  errors = 0;
  private running = true;
  private done: Promise<void>;

  constructor(nc: NatsConnection) {
    const js = nc.jetstream();
    this.done = (async () => {
      let n = 0;
      while (this.running) {
        n++;
        try {
          const ack = await js.publish('src.x', sc.encode(String(n)), {
            timeout: 2000,
            msgID: String(n),
          });
          assert.equal(ack.seq, n, 'SRC numbers what it acks in order');
          this.acked.push(n);
        } catch (err) {
          if (err instanceof assert.AssertionError) throw err;
          // Not acked (counted: on a's own stream it should not happen); sent
          // again with the same Nats-Msg-Id, so it is stored once either way.
          this.errors++;
          n--;
        }
        await sleep(3);
      }
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.done;
  }
}

/** The data of every message of `stream`, read on its node, by sequence. */
async function contents(jsm: JetStreamManager, stream: string): Promise<[number, string][]> {
  const info = await jsm.streams.info(stream);
  const out: [number, string][] = [];
  for (let seq = info.state.first_seq; seq > 0 && seq <= info.state.last_seq; seq++) {
    const m = await jsm.streams.getMessage(stream, { seq });
    out.push([m.seq, sc.decode(m.data)]);
  }
  return out;
}

for (const mode of ['silent', 'down'] as CutMode[]) {
  describe(`partition: a mirror and a source across an a-b cut (${mode}) and a kill`, {
    skip,
  }, () => {
    let lab: Lab;
    let a: Node;
    let b: Node;
    let ab: Link;
    const procs: WeftProc[] = [];
    const clients: NatsConnection[] = [];

    before(async () => {
      lab = await Lab.create();
      a = await lab.addNode('a');
      b = await lab.addNode('b');
      ab = await lab.link(a, b);
      procs.push(await startWeft(lab, a, []));
      procs.push(await startWeft(lab, b, [`weft://${ab.aAddr}:${MESH_PORT}`]));
    });

    after(async () => {
      for (const c of clients) await c.close().catch(() => {});
      await lab?.destroy();
    });

    test('every acked message reaches both copies exactly once', { timeout: 90_000 }, async () => {
      const fail = async (msg: string): Promise<never> => {
        throw new assert.AssertionError({ message: `${msg}\n${await diagnostics(procs)}` });
      };
      const nca = await clientTo(a);
      clients.push(nca);
      const jsma = await nca.jetstreamManager();
      await jsma.streams.add({ name: 'SRC', subjects: ['src.>'] });
      let ncb = await clientTo(b);
      clients.push(ncb);
      let jsmb = await ncb.jetstreamManager();
      await checkFor(async () => (await jsmb.streams.info('SRC')).config.name === 'SRC', 10_000);
      await jsmb.streams.add({ name: 'MIR', mirror: { name: 'SRC' } });
      await jsmb.streams.add({ name: 'SUM', subjects: [], sources: [{ name: 'SRC' }] });

      const pub = new Publisher(nca);
      const lastOn = async (stream: string) => (await jsmb.streams.info(stream)).state.last_seq;
      await checkFor(async () => (await lastOn('MIR')) >= 50, 10_000);

      // The link is cut while a keeps storing and acking.
      await ab.cut(mode);
      await sleep(DEAD_AFTER_MS + 1500);
      const duringCut = pub.acked.length;
      await ab.restore();
      await checkFor(async () => (await lastOn('MIR')) > duringCut, CATCH_UP_MS).catch(() =>
        fail(`MIR did not catch up past ${duringCut} after the link returned`),
      );

      // b dies without a word and comes back on its data.
      await ncb.close();
      procs[1]!.child.kill('SIGKILL');
      await checkFor(() => !procs[1]!.alive(), 5000);
      await sleep(500);
      procs[1] = await startWeft(lab, b, [`weft://${ab.aAddr}:${MESH_PORT}`], procs[1]!.dataDir);
      ncb = await clientTo(b);
      clients.push(ncb);
      jsmb = await ncb.jetstreamManager();
      await sleep(500);
      await pub.stop();
      const n = pub.acked.length;
      assert.ok(n > 100, `published ${n}`);
      await checkFor(async () => (await lastOn('MIR')) === n, CATCH_UP_MS).catch(() =>
        fail(`MIR did not reach ${n}`),
      );
      await checkFor(
        async () => (await jsmb.streams.info('SUM')).state.messages === n,
        CATCH_UP_MS,
      ).catch(() => fail(`SUM did not reach ${n}`));

      const expected = Array.from({ length: n }, (_, i): [number, string] => [
        i + 1,
        String(i + 1),
      ]);
      assert.deepEqual(await contents(jsmb, 'MIR'), expected);
      const sum = (await contents(jsmb, 'SUM')).map(([, d]) => d);
      assert.deepEqual(
        sum,
        expected.map(([, d]) => d),
      );
      assert.equal(pub.errors, 0, 'every publish to SRC on a was acked');
    });
  });
}
