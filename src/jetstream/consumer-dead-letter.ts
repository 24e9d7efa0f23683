/**
 * Dead letters (a Weft extension, see docs/streams.md): a message a consumer
 * gives up on (`max_deliver` reached, or `+TERM`) is published to a dead
 * letter subject with its payload, its original headers and
 * `Weft-Dead-Letter-*` headers saying where it came from and why. A stream
 * capturing that subject keeps it.
 */
import type { Account } from '../core/account.js';
import type { Subscriber } from '../core/message.js';
import type { Router } from '../core/router.js';
import type { Stream } from '../streams/stream.js';
import type { ConsumerConfig } from './consumer-config.js';
import { withHeaders } from './consumer-wire.js';

export interface DeadLetterHost {
  readonly account: Account;
  readonly router: Router;
  readonly stream: Stream;
  readonly log: { error(msg: string): void };
}

export interface DeadLetter {
  /** Where it goes (see deadLetterSubject). */
  subject: string;
  /** The stream sequence given up on. */
  sseq: number;
  consumer: string;
  deliveries: number;
  reason: 'max_deliver' | 'term';
}

/**
 * Where a consumer's dead letters go: its own subject, else its stream's;
 * null for none ('' on the consumer means none, whatever the stream says).
 */
export function deadLetterSubject(cfg: ConsumerConfig, stream: Stream): string | null {
  const dls = cfg.dead_letter_subject ?? stream.config.dead_letter_subject;
  return dls === undefined || dls === '' ? null : dls;
}

/**
 * Reads the message from the stream and publishes it as `origin`. `read`
 * runs once the read is over, whatever its outcome (before that, retention
 * must not remove the message); nothing is published if the message is
 * gone or `closed()` says the consumer closed meanwhile.
 */
export function sendDeadLetter(
  host: DeadLetterHost,
  origin: Subscriber,
  letter: DeadLetter,
  read: () => void,
  closed: () => boolean,
): void {
  host.stream.messages.get(letter.sseq).then(
    (m) => {
      read();
      if (m === null || closed()) return;
      const headers = withHeaders(m.headers, {
        'Weft-Dead-Letter-Stream': host.stream.name,
        'Weft-Dead-Letter-Consumer': letter.consumer,
        'Weft-Dead-Letter-Sequence': m.seq,
        'Weft-Dead-Letter-Subject': m.subject,
        'Weft-Dead-Letter-Deliveries': letter.deliveries,
        'Weft-Dead-Letter-Reason': letter.reason,
      });
      host.router.publish(
        host.account,
        { subject: letter.subject, reply: '', headers, payload: m.payload },
        origin,
      );
    },
    (err: unknown) => {
      read();
      host.log.error(`dead letter of ${letter.sseq}: ${String(err)}`);
    },
  );
}
