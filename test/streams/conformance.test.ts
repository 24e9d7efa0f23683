/**
 * Every StreamStore runs the one contract suite (store-suite.ts): the memory
 * store, and the file store under each sync policy and with segments small
 * enough that most tests cross a segment boundary.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { createMemoryStore } from '../../src/streams/memory-store.js';
import { type FileStoreOptions, loadFileStore } from './load-stores.js';
import { storeSuite } from './store-suite.js';

storeSuite('memory', async () => ({ store: createMemoryStore(), cleanup: async () => {} }));

const openFileStore = await loadFileStore();

const configs: Array<[string, FileStoreOptions]> = [
  ['file, sync always', { sync: { kind: 'always' } }],
  ['file, sync interval 20ms', { sync: { kind: 'interval', intervalMs: 20 } }],
  ['file, sync always, 1 KiB segments', { sync: { kind: 'always' }, segmentBytes: 1024 }],
];

for (const [name, opts] of configs) {
  if (typeof openFileStore === 'string') {
    describe(`StreamStore contract: ${name}`, () => {
      test('file store', { skip: openFileStore }, () => {});
    });
    continue;
  }
  const open = openFileStore;
  storeSuite(name, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'weft-store-'));
    return {
      store: await open(dir, opts),
      reopen: async () => open(dir, opts),
      cleanup: () => rm(dir, { recursive: true, force: true }),
    };
  });
}
