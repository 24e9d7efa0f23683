/**
 * The StreamStore contract (src/streams/store.ts) as one suite that every
 * store runs, after aedes-persistence's abstract.js: conformance.test.ts
 * calls `storeSuite` once per implementation and configuration. Every
 * assertion names an exact value; a store passes only if it is
 * indistinguishable from the others through the interface.
 *
 * Stores that persist pass `reopen`; the suite then also checks that
 * messages, removals, purges, skips and lastSeq survive close + reopen.
 *
 * The tests live in themed modules, each declaring its `describe` blocks
 * through the `it` harness below: store-suite-read.ts (append, get, next,
 * by subject, state), store-suite-remove.ts (remove, purge),
 * store-suite-reopen.ts (close and reopen), store-suite-skip.ts (skip,
 * size limits). Shared helpers: store-suite-helpers.ts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { StreamStore } from '../../src/streams/store.js';
import type { Ctx, It } from './store-suite-helpers.js';
import { appendAndGet, bySubject, nextTests, stateAndTime } from './store-suite-read.js';
import { purgeTests, removeTests } from './store-suite-remove.js';
import { reopenTests } from './store-suite-reopen.js';
import { limitTests, skipTests } from './store-suite-skip.js';

export interface OpenedStore {
  store: StreamStore;
  /** Opens the same store again; the suite closes the current one first. */
  reopen?: () => Promise<StreamStore>;
  /** Releases what `open` made (directories); stores are closed by then. */
  cleanup: () => Promise<void>;
}

export function storeSuite(name: string, open: () => Promise<OpenedStore>): void {
  /** Runs `fn` against a fresh store and always releases it. */
  const it: It = (title, fn, persist = false) => {
    test(title, async (t) => {
      const opened = await open();
      if (persist && opened.reopen === undefined) {
        await opened.store.close();
        await opened.cleanup();
        t.skip(`${name} does not persist`);
        return;
      }
      let store = opened.store;
      let isOpen = true;
      const c: Ctx = {
        get store() {
          return store;
        },
        persists: opened.reopen !== undefined,
        async reopen() {
          assert.ok(opened.reopen !== undefined, `${name} has no reopen`);
          await store.close();
          isOpen = false;
          store = await opened.reopen();
          isOpen = true;
          return store;
        },
        async close() {
          isOpen = false;
          await store.close();
        },
      };
      try {
        await fn(c, t);
      } finally {
        if (isOpen) await store.close();
        await opened.cleanup();
      }
    });
  };

  describe(`StreamStore contract: ${name}`, () => {
    appendAndGet(it);
    nextTests(it);
    bySubject(it);
    removeTests(it);
    purgeTests(it);
    stateAndTime(it);
    reopenTests(it);
    skipTests(it);
    limitTests(it);
  });
}
