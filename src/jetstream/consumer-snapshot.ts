/**
 * A consumer's state as its state file keeps it, both ways: made from the
 * cursor, the ack floor and the pending set (`stateOf`, `stateOnDisk`), and
 * read back into them after a restart (`restoreState`). The file itself
 * (when it is written, fsynced, what an ack-ack waits for) is
 * consumer-state.ts's; the packing of the pending entries pending-codec.ts's.
 */

import type { AckPending } from './consumer-acks.js';
import { type ConsumerConfig, DEFAULT_ACK_WAIT_NS, NS_PER_MS } from './consumer-config.js';
import type { StreamCursor } from './consumer-next.js';
import type { ConsumerState, StateOnDisk } from './consumer-state.js';
import { unpackPending } from './pending-codec.js';

/** What a consumer's state is made of. */
export interface StateParts {
  readonly config: ConsumerConfig;
  readonly created: Date;
  readonly pos: StreamCursor;
  readonly acks: AckPending;
  readonly dseq: number;
}

function stateHead(p: StateParts): Omit<ConsumerState, 'pending'> {
  return {
    config: p.config,
    created: p.created.toISOString(),
    cursor: p.pos.cursor,
    dseq: p.dseq,
    ackFloor: { ...p.acks.floor },
    startSeqs: p.pos.startSeqs,
  };
}

/** The state with its pending entries as a list (info, tests, the old file format). */
export function stateOf(p: StateParts): ConsumerState {
  return { ...stateHead(p), pending: p.acks.toState() };
}

/** The state as its file keeps it: the pending entries packed (pending-codec.ts). */
export function stateOnDisk(p: StateParts): StateOnDisk {
  const packed = p.acks.pack();
  return packed === null ? stateOf(p) : { ...stateHead(p), packedPending: packed };
}

/**
 * Reads persisted state into the cursor and the pending set (a durable
 * after a restart); returns the consumer sequence. Whatever was awaiting an
 * ack is redelivered after ack_wait from now.
 */
export function restoreState(
  s: StateOnDisk,
  cfg: ConsumerConfig,
  pos: StreamCursor,
  acks: AckPending,
): number {
  pos.cursor = s.cursor;
  acks.floor = s.ackFloor;
  pos.startSeqs = s.startSeqs ?? [];
  const due = Date.now() + (cfg.ack_wait ?? DEFAULT_ACK_WAIT_NS) / NS_PER_MS;
  const add = (sseq: number, cseq: number, deliveries: number, time: number): void =>
    acks.delivered(sseq, cseq, deliveries, due, time, false);
  if (s.packedPending !== undefined) unpackPending(s.packedPending, add);
  else if (Array.isArray(s.pending)) for (const [a, b, c, d] of s.pending) add(a, b, c, d);
  else throw new Error('no pending entries (pending or packedPending expected)');
  return s.dseq;
}
