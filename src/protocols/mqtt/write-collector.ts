/**
 * While a QoS 1/2 publish is routed, the store writes its deliveries start
 * (copies queued for persistent sessions on this node) are collected, so
 * the publisher's PUBACK/PUBREC waits until they are durable (publish.ts):
 * a crash after the acknowledgement loses none of them.
 */

/** The writes of the publish being routed now; null outside one. */
let collecting: Promise<unknown>[] | null = null;

/** Runs `route` collecting the store writes it starts. */
export function routeCollectingWrites(route: () => number): {
  n: number;
  writes: Promise<unknown>[];
} {
  const writes: Promise<unknown>[] = [];
  const outer = collecting;
  collecting = writes;
  try {
    return { n: route(), writes };
  } finally {
    collecting = outer;
  }
}

/** A store write started by a delivery (state.ts): the publish being routed waits for it. */
export function collectWrite(write: Promise<unknown>): void {
  collecting?.push(write);
}
