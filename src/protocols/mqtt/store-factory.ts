/**
 * The MQTT face's stores, one per account (store.ts): in the account's
 * streams when the node runs JetStream and the account has it, in memory
 * otherwise (nothing then survives a restart, and the log says so once per
 * account).
 */
import type { JetStream } from '../../jetstream/service.js';
import type { MqttStore, MqttStores } from './store.js';
import type { MqttStoreLimits } from './store-limits.js';
import { MemoryMqttStore, MemoryMqttStores } from './store-memory.js';
import { StreamMqttStore } from './store-streams.js';

export interface MqttStoresOptions {
  /** The node's JetStream (FaceHost.jetstream); null: memory stores. */
  readonly jetstream: JetStream | null;
  readonly log: { warn(msg: string): void };
  readonly limits?: Partial<MqttStoreLimits>;
  /** Appended to the stream names (store-streams.ts, mqttStreamNames). */
  readonly suffix?: string;
}

export function createMqttStores(opts: MqttStoresOptions): MqttStores {
  if (opts.jetstream === null) return new MemoryMqttStores(opts.limits);
  return new StreamMqttStores(opts.jetstream, opts);
}

/** Durable stores in each account's streams; memory in an account without JetStream. */
export class StreamMqttStores implements MqttStores {
  private readonly stores = new Map<string, Promise<MqttStore>>();

  constructor(
    private readonly jetstream: JetStream,
    private readonly opts: MqttStoresOptions,
  ) {}

  forAccount(account: string): Promise<MqttStore> {
    let p = this.stores.get(account);
    if (p === undefined) {
      p = this.openStore(account);
      this.stores.set(account, p);
      // A store that could not open is tried again at the next use.
      p.catch(() => this.stores.delete(account));
    }
    return p;
  }

  private async openStore(account: string): Promise<MqttStore> {
    const js = this.jetstream.account(account);
    let store: MqttStore;
    if (js === undefined) {
      this.opts.log.warn(
        `MQTT: account ${account} has no JetStream: its MQTT sessions, queues and retained ` +
          `messages are kept in memory and lost on restart`,
      );
      store = new MemoryMqttStore(this.opts.limits);
    } else {
      store = new StreamMqttStore(js, { limits: this.opts.limits, suffix: this.opts.suffix });
    }
    await store.open();
    return store;
  }

  async close(): Promise<void> {
    const all = [...this.stores.values()];
    this.stores.clear();
    for (const p of all) {
      const s = await p.catch(() => null);
      await s?.close();
    }
  }
}
