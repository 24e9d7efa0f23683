/**
 * The reply of a group command whose record is being written (XACK,
 * XREADGROUP `>` in this turn, service.ts `ackNow` / `readNewNow`): the
 * record stream tells it once the record is written (`StoreNotice`, no
 * Promise), then it sends the JetStream acks the command owes, and fills
 * the connection's reply slot (`LaterReply`) with the reply it holds, or
 * with the error a failed write answers (as `commit`'s rejection did).
 *
 * The command's effect is in the group's memory when its `run` returns
 * (applied in order with every other command's), so the session needs not
 * hold the commands after it: only the reply waits for the write.
 */
import type { CapturedStream } from '../../../jetstream/service.js';
import type { StoreNotice } from '../../../streams/stream.js';
import { R, type Reply } from '../encoder.js';
import { LaterReply } from '../reply-line.js';
import type { GroupFeed } from './feed.js';
import type { LiveGroup } from './live.js';
import type { AccountGroups } from './service.js';

export class RecordDone extends LaterReply implements StoreNotice {
  /** Sent once written (XACK: `jsAck`; NOACK read: the feed's ack); none when empty. */
  private seqs: number[] | null = null;
  private feed: GroupFeed | null = null;
  private cs: CapturedStream | null = null;
  private g: LiveGroup | null = null;
  /** The reply once written (set by the command before the record is written). */
  ok: Reply | null = null;

  constructor(private readonly groups: AccountGroups) {
    super();
  }

  /** XACK's: `groups.jsAck(cs, g, seqs)` once written. */
  jsAckAfter(cs: CapturedStream, g: LiveGroup, seqs: number[]): void {
    this.cs = cs;
    this.g = g;
    this.seqs = seqs;
  }

  /** A NOACK read's: `feed.ack(seqs)` once written. */
  ackAfter(feed: GroupFeed, seqs: number[]): void {
    this.feed = feed;
    this.seqs = seqs;
  }

  stored(err: unknown): void {
    if (err !== null) {
      this.fill(R.error(this.groups.writeFailed(err)));
      return;
    }
    const seqs = this.seqs;
    try {
      if (seqs !== null) {
        if (this.feed !== null) this.feed.ack(seqs);
        else this.groups.jsAck(this.cs!, this.g!, seqs);
      }
    } catch (e) {
      // As a command's rejection after its write: an error reply, and the
      // record stream's writer (this is its callback) goes on.
      this.fill(R.error(`ERR internal error: ${(e as Error)?.message ?? String(e)}`));
      return;
    }
    this.fill(this.ok ?? { t: 'nullArray' });
  }
}
