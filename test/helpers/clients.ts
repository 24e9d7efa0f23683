/**
 * Official-client connections that a test closes in one call at its end, so a
 * failing assertion never leaves a socket (and the test process) hanging.
 */
import { type ConnectionOptions, connect, type NatsConnection } from 'nats';

export interface ClientPool {
  connect(opts?: ConnectionOptions): Promise<NatsConnection>;
  closeAll(): Promise<void>;
}

export function clientPool(url: string): ClientPool {
  const all: NatsConnection[] = [];
  return {
    async connect(opts: ConnectionOptions = {}) {
      // No reconnects: a test must see the connection the server closed.
      const nc = await connect({ servers: url, reconnect: false, ...opts });
      all.push(nc);
      return nc;
    },
    async closeAll() {
      await Promise.all(all.map((nc) => (nc.isClosed() ? undefined : nc.close())));
    },
  };
}

/** Resolves after every connection has round-tripped a PING with the server. */
export async function flushAll(...conns: NatsConnection[]): Promise<void> {
  await Promise.all(conns.map((nc) => nc.flush()));
}
