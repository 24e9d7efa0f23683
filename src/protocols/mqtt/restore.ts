/**
 * Persistent sessions back in the core when the node starts: for every
 * account whose durable MQTT store holds sessions, each stored session is
 * held again, offline, with its subscriptions, its queue and its QoS 2 ids,
 * before the MQTT port opens. A QoS 1/2 message published after the
 * restart and before the client reconnects is then queued for it, as for
 * any disconnected persistent session [MQTT-3.1.2-5]; the session expires
 * from when the store was opened (store-streams.ts) unless its client
 * comes back. Without this, a stored session lived only in the store until
 * its client reconnected, and what matched it meanwhile was lost.
 */
import type { JetStream } from '../../jetstream/service.js';
import type { MqttStore, StoredSession } from './store.js';
import { mqttStreamNames } from './store-streams.js';

export interface RestoreHost {
  storeOf(account: string): Promise<MqttStore>;
  /** Holds a stored session offline (sessions.ts); false when already held. */
  holdStored(account: string, store: MqttStore, stored: StoredSession): Promise<boolean>;
}

/** Restores the stored sessions of every account with MQTT streams; returns how many. */
export async function restoreSessions(
  host: RestoreHost,
  jetstream: JetStream | null,
  node: string,
): Promise<number> {
  if (jetstream === null) return 0;
  const sess = mqttStreamNames(node).sess;
  let n = 0;
  for (const js of [...jetstream.accounts()]) {
    if (!js.streams.has(sess)) continue;
    const store = await host.storeOf(js.account.name);
    for (const stored of await store.sessions()) {
      if (await host.holdStored(js.account.name, store, stored)) n++;
    }
  }
  return n;
}
