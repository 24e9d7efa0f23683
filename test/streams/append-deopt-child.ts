/**
 * The process append-deopt.test.ts runs under `--trace-deopt`: appends to a
 * first file store until its append path is optimised, then opens a second
 * one and appends to it. Between the two, and before closing, it prints a
 * marker through V8's own output (`%DebugPrint`, so it lands in order with
 * the trace). Without
 * WEFT_DEOPT_DIR it does nothing (`node --test dist/test/` runs it too).
 */
import { type FileStore, openFileStore } from '../../src/streams/file-store.js';

async function fill(store: FileStore, subject: string, n: number): Promise<void> {
  const payload = Buffer.from('0123456789abcdef');
  for (let batch = 0; batch < n; batch += 500) {
    await new Promise<void>((resolve, reject) => {
      let left = 500;
      for (let i = 0; i < 500; i++) {
        const err = store.appendNotify(subject, null, payload, Date.now(), (e) => {
          if (e !== null) reject(e);
          else if (--left === 0) resolve();
        });
        if (err !== null) reject(err);
      }
    });
  }
}

async function main(dir: string): Promise<void> {
  const sync = { kind: 'interval', intervalMs: 60_000 } as const;
  const first = await openFileStore(`${dir}/first`, { sync });
  await fill(first, 'first.subject', 40_000);
  new Function('%DebugPrint("second store")')();
  const second = await openFileStore(`${dir}/second`, { sync });
  await fill(second, 'second.subject', 20_000);
  new Function('%DebugPrint("closing")')();
  await first.close();
  await second.close();
}

const dir = process.env['WEFT_DEOPT_DIR'];
if (dir !== undefined) await main(dir);
