/**
 * The file store, loaded at run time: the tests that need it compile (and
 * the memory store is checked) while it is still being written, and say
 * they are skipped until dist/src/streams/file-store.js exists.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { StreamStore, SyncPolicy } from '../../src/streams/store.js';

export interface FileStoreOptions {
  sync: SyncPolicy;
  segmentBytes?: number;
  maxMsgSize?: number;
}

export type OpenFileStore = (
  dir: string,
  opts: FileStoreOptions,
) => StreamStore | Promise<StreamStore>;

const FILE_STORE = new URL('../../src/streams/file-store.js', import.meta.url);

/** openFileStore, or the reason to skip when it is not built yet. */
export async function loadFileStore(): Promise<OpenFileStore | string> {
  if (!existsSync(fileURLToPath(FILE_STORE))) {
    return 'file store not built yet (no dist/src/streams/file-store.js): skipped';
  }
  const mod = (await import(FILE_STORE.href)) as { openFileStore?: unknown };
  if (typeof mod.openFileStore !== 'function') {
    throw new Error('src/streams/file-store.ts does not export a function openFileStore');
  }
  return mod.openFileStore as OpenFileStore;
}
