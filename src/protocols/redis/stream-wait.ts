/**
 * Blocked stream reads (XREAD BLOCK; XREADGROUP BLOCK may use it too): a
 * blocked read subscribes, through the account (so the mesh routes them
 * here), to the subjects of the streams it waits on, and looks again when
 * a message arrives on one — a message published on any node, whoever
 * stores it. It looks again a few times shortly after (the stream may
 * store the message after this node saw it, on another node surely) and
 * every REDIS_BLOCK_POLL_MS in any case (a stream created meanwhile with
 * other subjects, a missed wake).
 *
 * Bounded: at most REDIS_BLOCKED_MAX blocked reads per face; past it a
 * read is refused at once (`-ERR`) and counted (`refused`).
 */
import type { Account } from '../../core/account.js';
import {
  internalSubscription,
  type Message,
  type Subscriber,
  type Subscription,
} from '../../core/message.js';
import type { CommandClient } from './command.js';
import { R, type Reply } from './encoder.js';

/** Blocked reads at once, per face. */
export const REDIS_BLOCKED_MAX = 10_000;
/** A blocked read looks again this often even without a wake (ms). */
export const REDIS_BLOCK_POLL_MS = 1000;
/** After a wake it looks again at these delays (ms) until it finds something. */
const WAKE_RETRY_MS = [5, 25, 100, 400];

/** Ids of internal subscribers, away from connection ids and the inboxes'. */
let nextId = 1_950_000_000;

export class BlockedReads {
  /** Blocked reads now over every face of the process (tests wait for a read to block). */
  static live = 0;
  size = 0;
  /** Reads refused at REDIS_BLOCKED_MAX. */
  refused = 0;
  /** Reads that ended by their timeout, and by finding entries. */
  timedOut = 0;
  woken = 0;

  constructor(private readonly max = REDIS_BLOCKED_MAX) {}

  /**
   * Waits until `check` finds something (its reply is the answer), the
   * timeout passes (`timeoutMs` > 0; the answer is `onTimeout`), or the
   * client leaves. `check` runs at once first.
   */
  wait(
    account: Account,
    subjects: readonly string[],
    timeoutMs: number,
    client: CommandClient,
    check: () => Promise<Reply | null>,
    onTimeout: Reply = { t: 'nullArray' },
  ): Promise<Reply> {
    if (this.size >= this.max) {
      this.refused++;
      return Promise.resolve(
        R.error(`ERR too many blocked reads on this node (${this.max}); try again`),
      );
    }
    this.size++;
    BlockedReads.live++;
    return new Promise<Reply>((resolve) => {
      let done = false;
      let running = false;
      let again = false;
      const timers: NodeJS.Timeout[] = [];
      let deadline: NodeJS.Timeout | null = null;
      const subs: Subscription[] = [];
      const finish = (r: Reply): void => {
        if (done) return;
        done = true;
        this.size--;
        BlockedReads.live--;
        for (const t of timers) clearTimeout(t);
        if (deadline !== null) clearTimeout(deadline);
        clearInterval(poll);
        for (const s of subs) account.unsubscribe(s);
        resolve(r);
      };
      const run = async (): Promise<void> => {
        if (done) return;
        if (running) {
          again = true;
          return;
        }
        running = true;
        try {
          do {
            again = false;
            const r = await check();
            if (r !== null) {
              this.woken++;
              finish(r);
              return;
            }
          } while (again && !done);
        } catch (err) {
          finish(R.error(`ERR ${(err as Error)?.message ?? String(err)}`));
        } finally {
          running = false;
        }
      };
      const waker: Subscriber = {
        id: nextId++,
        kind: 'internal',
        echo: true,
        deliver: (_sub: Subscription, _msg: Message): void => {
          if (done) return;
          void run();
          for (const ms of WAKE_RETRY_MS) {
            const t = setTimeout(() => void run(), ms);
            t.unref();
            timers.push(t);
          }
          // Only the last wakes' retries matter: forget those already run.
          if (timers.length > 64) timers.splice(0, timers.length - 64);
        },
      };
      const poll = setInterval(() => void run(), REDIS_BLOCK_POLL_MS);
      poll.unref();
      if (timeoutMs > 0) {
        deadline = setTimeout(() => {
          this.timedOut++;
          finish(onTimeout);
        }, timeoutMs);
        deadline.unref();
      }
      client.onClose(() => finish(onTimeout));
      for (const subject of subjects) {
        const sub = internalSubscription(subject, waker);
        account.subscribe(sub);
        subs.push(sub);
      }
      void run();
    });
  }
}
