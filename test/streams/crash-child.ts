/**
 * The process crash.test.ts kills. It opens the file store (sync always) in
 * WEFT_CRASH_DIR, lists what it finds, then appends from several concurrent
 * writers until it is killed (odd ones through `appendNotify`), printing
 * each append as it is acknowledged.
 *
 * stdout, one line each:
 *   h <seq> <sum> <intact|torn>   a message held after recovery, in order
 *   state <messages> <firstSeq> <lastSeq>
 *   ready
 *   a <seq> <sum>                 an acknowledged append (durable by then)
 *
 * Writes to a pipe are synchronous on Linux and each line is shorter than
 * PIPE_BUF, so a line the parent reads was written whole, after the ack.
 * Without WEFT_CRASH_DIR it does nothing: `node --test dist/test/` runs every
 * script under a test/ directory, this one included.
 */
import { checkMessage, makeMessage, prng } from './crash-messages.js';
import { loadFileStore } from './load-stores.js';

async function main(dir: string): Promise<void> {
  const seed = Number(process.env['WEFT_CRASH_SEED'] ?? '1');
  const writers = Number(process.env['WEFT_CRASH_WRITERS'] ?? '8');
  const segmentBytes = Number(process.env['WEFT_CRASH_SEGMENT_BYTES'] ?? String(256 * 1024));
  const open = await loadFileStore();
  if (typeof open === 'string') throw new Error(open);
  const store = await open(dir, { sync: { kind: 'always' }, segmentBytes });

  const lines: string[] = [];
  for (let m = await store.next(0); m !== null; m = await store.next(m.seq + 1)) {
    const { sum, intact } = checkMessage(m);
    lines.push(`h ${m.seq} ${sum} ${intact ? 'intact' : 'torn'}`);
  }
  const st = store.state();
  lines.push(`state ${st.messages} ${st.firstSeq} ${st.lastSeq}`, 'ready', '');
  process.stdout.write(lines.join('\n'));

  // Odd writers append as the JetStream capture does (`appendNotify`: in
  // place into the writer's arenas, a callback once durable), even ones
  // through `append`'s promise.
  const notify = store.appendNotify?.bind(store);
  // Both settle a promise in the writer's order, awaited directly: acks print in order.
  const notified = (msg: ReturnType<typeof makeMessage>): Promise<number> =>
    new Promise((resolve, reject) => {
      const refused = notify!(msg.subject, msg.headers, msg.payload, Date.now(), (err, seq) =>
        err === null ? resolve(seq) : reject(err),
      );
      if (refused !== null) reject(refused);
    });
  const write = async (w: number): Promise<never> => {
    const rand = prng(seed * 131 + w);
    for (;;) {
      const msg = makeMessage(rand, w);
      const seq =
        w % 2 === 0 || notify === undefined
          ? (await store.append(msg.subject, msg.headers, msg.payload)).seq
          : await notified(msg);
      process.stdout.write(`a ${seq} ${msg.sum}\n`);
    }
  };
  await Promise.all(Array.from({ length: writers }, (_, w) => write(w)));
}

const dir = process.env['WEFT_CRASH_DIR'];
if (dir !== undefined) {
  main(dir).catch((err: unknown) => {
    process.stderr.write(
      `crash-child: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exit(2);
  });
}
