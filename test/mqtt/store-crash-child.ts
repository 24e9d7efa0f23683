/**
 * The process store-crash.test.ts kills: it opens the durable MQTT store in
 * WEFT_MQTT_CRASH_DIR (sync always), saves session `c`, then writes from
 * four concurrent writers until killed, printing each write once the store
 * acknowledged it (a line to a pipe is written whole, after the ack):
 *
 *   q <id> <n>        enqueue('c', payload m<n>) → id
 *   m <id> <pid>      markSent('c', id, pid)
 *   r <topic> <n>     setRetained(topic, payload m<n>)
 *   i <pid>           rememberIncoming('c', pid)
 *
 * Without WEFT_MQTT_CRASH_DIR it does nothing (`node --test` runs every
 * script under test/).
 */
import { openStreamStore, startJetStream } from './store-open.js';

/** Writes stop here, well inside the default queue bound. */
const MAX_WRITES = 800;

async function main(dir: string): Promise<void> {
  const js = await startJetStream(dir);
  const store = await openStreamStore(js);
  await store.saveSession({
    clientId: 'c',
    protocol: 5,
    expiryInterval: 3600,
    subscriptions: [{ filter: 'x/#', qos: 2 }],
    disconnectedAt: null,
  });
  process.stdout.write('ready\n');
  // Numbers go on from the previous run's, so that each payload names one write.
  let n = Number(process.env['WEFT_MQTT_CRASH_FIRST'] ?? '0');
  const last = n + MAX_WRITES;
  const writer = async (w: number): Promise<void> => {
    while (n < last) {
      const i = n++;
      const payload = Buffer.from(`m${i}`);
      const id = await store.enqueue('c', { topic: `x/${w}`, payload, qos: 2, retain: false });
      process.stdout.write(`q ${id} ${i}\n`);
      if (typeof id !== 'number') continue;
      const pid = (i % 60000) + 1;
      await store.markSent('c', id, pid);
      process.stdout.write(`m ${id} ${pid}\n`);
      const topic = `r/${i % 5}`;
      // Issued now (the store appends in this order): the parent ranks writes by it.
      process.stdout.write(`R ${topic} ${i}\n`);
      await store.setRetained(topic, { topic, payload, qos: 1, retain: true });
      process.stdout.write(`r ${topic} ${i}\n`);
      await store.rememberIncoming('c', pid);
      process.stdout.write(`i ${pid}\n`);
    }
  };
  await Promise.all([0, 1, 2, 3].map(writer));
  process.stdout.write('done\n');
}

const dir = process.env['WEFT_MQTT_CRASH_DIR'];
if (dir !== undefined) {
  main(dir).catch((err: unknown) => {
    process.stderr.write(`store-crash-child: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(2);
  });
}
