/**
 * PUBLISH (and SPUBLISH) on the core, from a channel and a payload given as
 * byte ranges: the command table's PUBLISH (commands/pubsub.ts, with its
 * argument Buffers) and the session's fast path (parser.ts `nextPublish`:
 * ranges of the bytes read, no argument array, no Buffer per argument)
 * both run this, so they answer and count alike.
 *
 * Per connection, a `PublishCache` keeps the last channel's subject and
 * its match while the subject index is unchanged (`generation`), as the
 * NATS face does for a repeated subject (bench/PROFILE.md, "Issue 16 —
 * rpub"): a publisher repeats its channels, so a repeat costs a byte
 * comparison instead of a channel mapping and a match-cache lookup. The
 * message is a `RangeMessage`: a subscriber's encoder copies the payload
 * from the range, and no Buffer view is made unless a receiver asks for one.
 */
import { reservedSubject } from '../../auth/reserved.js';
import { RangeMessage } from '../../core/message.js';
import { EMPTY_RESULT, type MatchResult, type Sublist } from '../../core/sublist.js';
import { channelToSubject } from './channels.js';
import type { RedisClient } from './client.js';
import type { RedisFaceState } from './command.js';
import { R, type Reply } from './encoder.js';
import { sourceView } from './payload-copy.js';
import { NOPERM_CHANNEL } from './pubsub.js';

/** Longest channel whose bytes are kept to recognise a repeat. */
const CHANNEL_KEEP_MAX = 256;

const NOT_UTF8 = R.error('ERR channel name is not valid UTF-8');

/** The last channel published to on a connection, its subject, and that subject's match. */
export class PublishCache {
  /** The channel's bytes (the first `chanLen` of `chan`); -1: nothing kept. */
  private chan = Buffer.allocUnsafe(64);
  private chanView = new DataView(this.chan.buffer, this.chan.byteOffset, this.chan.length);
  private chanLen = -1;
  /** Its subject; null when the channel is not UTF-8. */
  private subject: string | null = null;
  /** Whether that subject is reserved (auth/reserved.ts), decided with it. */
  reserved = false;
  private list: Sublist | null = null;
  private generation = -1;
  private result: MatchResult = EMPTY_RESULT;
  /** The subject `result` is the match of. */
  private lastSubject = '';

  /**
   * The subject of the channel `buf[start, end)`: the kept one when the
   * bytes are the same; `reserved` tells whether it is reserved.
   */
  subjectOf(buf: Buffer, start: number, end: number): string | null {
    const n = end - start;
    if (n === this.chanLen) {
      // Four bytes at a time (the read's DataView is the payload copy's,
      // made once per source buffer), then byte by byte: a byte loop was
      // 2.5 % of the 1→1 row's busy time (PROFILE.md, "rpub (round 13)").
      const kept = this.chanView;
      const read = sourceView(buf);
      let i = 0;
      while (i + 4 <= n && kept.getUint32(i, true) === read.getUint32(start + i, true)) i += 4;
      const chan = this.chan;
      while (i < n && chan[i] === buf[start + i]) i++;
      if (i === n) return this.subject;
    }
    const subject = channelToSubject(buf.subarray(start, end));
    const reserved = subject !== null && reservedSubject(subject);
    if (n > CHANNEL_KEEP_MAX) {
      this.chanLen = -1;
      this.reserved = reserved;
      return subject;
    }
    if (this.chan.length < n) {
      this.chan = Buffer.allocUnsafe(CHANNEL_KEEP_MAX);
      this.chanView = new DataView(this.chan.buffer, this.chan.byteOffset, this.chan.length);
    }
    buf.copy(this.chan, 0, start, end);
    this.chanLen = n;
    this.subject = subject;
    this.reserved = reserved;
    return subject;
  }

  /** The match for `subject` in `list`: the kept one while the list has not changed. */
  match(list: Sublist, subject: string): MatchResult {
    if (subject === this.lastSubject && list === this.list && list.generation === this.generation) {
      return this.result;
    }
    const result = list.match(subject);
    this.lastSubject = subject;
    this.list = list;
    this.generation = list.generation;
    this.result = result;
    return result;
  }
}

/**
 * Publishes `payload[ps, pe)` on the channel `chan[cs, ce)` from `c`:
 * checks (UTF-8, permissions, the identity's max_payload and data rate),
 * delivers, and answers the number of messages Redis would count.
 */
export function publishRange(
  face: RedisFaceState,
  c: RedisClient,
  cache: PublishCache,
  chan: Buffer,
  cs: number,
  ce: number,
  payload: Buffer,
  ps: number,
  pe: number,
): Reply {
  const node = face.host;
  const subject = cache.subjectOf(chan, cs, ce);
  if (subject === null) return NOT_UTF8;
  const guard = c.guard;
  if ((guard !== null && !guard.publish(subject)) || cache.reserved) {
    face.core.counters.publishDenied++;
    node.security.counters.publishViolations++;
    return R.error(NOPERM_CHANNEL);
  }
  const size = pe - ps;
  const subs = c.subscriptions;
  const who = subs.who;
  if (who.payloadMax > 0 && size > who.payloadMax) {
    return R.error(`ERR message of ${size} bytes exceeds the user's max_payload`);
  }
  const wait = who.admitMessage(size);
  if (wait === false) return R.int(0);
  if (wait > 0) c.pauseFor(wait);
  c.inMsgs++;
  const stats = node.stats;
  stats.inMsgs++;
  stats.inBytes += size;
  const result = cache.match(c.account.sublist, subject);
  // Nobody is interested: no message made.
  if (result.plain.length === 0 && result.queues.length === 0) return R.int(0);
  const index = face.pubsub;
  const before = index.adjust;
  const msg = new RangeMessage(subject, '', payload, ps, -1, pe);
  const n = node.router.deliver(result, msg, subs);
  return R.int(n + index.adjust - before);
}
