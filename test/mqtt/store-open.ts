/**
 * Opening the MQTT stores for tests: the memory store, and the durable one
 * over a JetStream of its own (no node) in a temporary data directory,
 * which `reopen` stops and starts again as a restart would.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Accounts, DEFAULT_ACCOUNT } from '../../src/core/account.js';
import { Router } from '../../src/core/router.js';
import { JetStream } from '../../src/jetstream/service.js';
import type { MqttStore } from '../../src/protocols/mqtt/store.js';
import type { MqttStoreLimits } from '../../src/protocols/mqtt/store-limits.js';
import { StreamMqttStore } from '../../src/protocols/mqtt/store-streams.js';
import { Health } from '../../src/util/health.js';

export interface OpenedMqttStore {
  store: MqttStore;
  /** Closes the store (and its JetStream) and opens it again from the same data. */
  reopen?: () => Promise<MqttStore>;
  /** Closes what is open and removes what `open` made. */
  cleanup: () => Promise<void>;
}

export const quietLog = { info() {}, warn() {}, error() {} };

/** A JetStream with no node around it, on `dir` (sync always). */
export async function startJetStream(dir: string): Promise<JetStream> {
  const js = new JetStream(
    { accounts: new Accounts(), router: new Router(), log: quietLog, health: new Health() },
    dir,
    { kind: 'always' },
  );
  await js.start();
  return js;
}

/** Opens the durable store of `$G` over `js`. */
export async function openStreamStore(
  js: JetStream,
  limits: Partial<MqttStoreLimits> = {},
): Promise<StreamMqttStore> {
  const store = new StreamMqttStore(js.account(DEFAULT_ACCOUNT)!, { limits });
  await store.open();
  return store;
}

export async function openDurable(limits: Partial<MqttStoreLimits> = {}): Promise<OpenedMqttStore> {
  const dir = await mkdtemp(join(tmpdir(), 'weft-mqtt-store-'));
  let js: JetStream | null = await startJetStream(dir);
  let store: MqttStore = await openStreamStore(js, limits);
  const stop = async () => {
    await store.close();
    await js?.stop();
    js = null;
  };
  return {
    store,
    reopen: async () => {
      await stop();
      js = await startJetStream(dir);
      store = await openStreamStore(js, limits);
      return store;
    },
    cleanup: async () => {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
