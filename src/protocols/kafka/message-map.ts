/**
 * A Kafka record ⇄ a stream message (docs/kafka.md, "Records and
 * messages"). Pure: no I/O.
 *
 *   value                 ⇄ payload (a null value: header Kafka-Null-Value)
 *   key (text)            ⇄ header Kafka-Key
 *   key (binary or empty) ⇄ header Kafka-Key-B64 (base64)
 *   timestamp (create)    ⇄ header Kafka-Timestamp (ms); log-append time is
 *                           the message's stored time
 *   header k: v (text)    ⇄ header k: v
 *   header k: v (other)   ⇄ header Kafka-Header-B64: base64(k).base64(v)
 *                           (no '.' part: a null value)
 *   subject               → header Nats-Subject, on records not produced
 *                           through Kafka (NATS, MQTT, HTTP publishes)
 *
 * "Text" is what a NATS header carries unchanged: a name of printable ASCII
 * without ':' and a value of UTF-8 without CR, LF or surrounding spaces.
 * Kafka-Producer (the idempotent producer's id/epoch/sequence, on the last
 * record of a batch) is kept for the face and not shown to consumers.
 */
import { forEachHeader } from '../../core/headers.js';
import type { StoredMessage } from '../../streams/store.js';
import type { EncodeRecord, KafkaRecord, RecordHeader } from './records.js';

export const HDR = {
  key: 'Kafka-Key',
  keyB64: 'Kafka-Key-B64',
  timestamp: 'Kafka-Timestamp',
  headerB64: 'Kafka-Header-B64',
  nullValue: 'Kafka-Null-Value',
  producer: 'Kafka-Producer',
  subject: 'Nats-Subject',
} as const;

const INTERNAL = new Set(
  [HDR.key, HDR.keyB64, HDR.timestamp, HDR.headerB64, HDR.nullValue, HDR.producer].map((h) =>
    h.toLowerCase(),
  ),
);

const NAME = /^[!-9;-~]+$/;
const EMPTY = Buffer.alloc(0);

/** The text of `b` when a NATS header value carries it unchanged, else null. */
function textOf(b: Buffer): string | null {
  const s = b.toString('utf8');
  if (s.length === 0 || s !== s.trim() || /[\r\n\0]/.test(s)) return null;
  return Buffer.byteLength(s) === b.length && Buffer.from(s).equals(b) ? s : null;
}

/** The idempotent producer's mark on a stored batch's last record. */
export interface ProducerMark {
  producerId: bigint;
  epoch: number;
  /** The sequence of the batch's first and last records. */
  firstSeq: number;
  lastSeq: number;
}

/**
 * The NATS header block for a produced record. `mark` goes on the last
 * record of an idempotent producer's batch.
 */
export function headersOfRecord(
  r: KafkaRecord,
  timestamp: bigint,
  mark: ProducerMark | null,
): Buffer {
  let h = 'NATS/1.0\r\n';
  if (r.key !== null) {
    const t = textOf(r.key);
    h += t !== null ? `${HDR.key}: ${t}\r\n` : `${HDR.keyB64}: ${r.key.toString('base64')}\r\n`;
  }
  h += `${HDR.timestamp}: ${timestamp}\r\n`;
  if (r.value === null) h += `${HDR.nullValue}: true\r\n`;
  for (const x of r.headers) {
    const v = x.value === null ? null : textOf(x.value);
    if (v !== null && NAME.test(x.key) && !INTERNAL.has(x.key.toLowerCase())) {
      h += `${x.key}: ${v}\r\n`;
    } else {
      const k = Buffer.from(x.key).toString('base64');
      h += `${HDR.headerB64}: ${x.value === null ? k : `${k}.${x.value.toString('base64')}`}\r\n`;
    }
  }
  if (mark !== null) {
    h += `${HDR.producer}: ${mark.producerId}/${mark.epoch}/${mark.firstSeq}/${mark.lastSeq}\r\n`;
  }
  return Buffer.from(`${h}\r\n`);
}

/** The producer mark of a stored message, or null. */
export function producerMarkOf(headers: Buffer | null): ProducerMark | null {
  if (headers === null || headers.indexOf(HDR.producer) < 0) return null;
  let out: ProducerMark | null = null;
  forEachHeader(headers, 'latin1', (name, value) => {
    if (name !== HDR.producer) return;
    const [pid, epoch, first, last] = value.split('/');
    if (pid === undefined || last === undefined) return;
    try {
      out = {
        producerId: BigInt(pid),
        epoch: Number(epoch),
        firstSeq: Number(first),
        lastSeq: Number(last),
      };
    } catch {
      out = null;
    }
  });
  return out;
}

/** A stored message as a record of a fetched batch (its offset is seq − 1). */
export function recordOfMessage(m: StoredMessage, produceSubject: string): EncodeRecord {
  let key: Buffer | null = null;
  let timestamp = m.time;
  let value: Buffer | null = m.payload;
  let fromKafka = false;
  const headers: RecordHeader[] = [];
  forEachHeader(m.headers, 'utf8', (name, v) => {
    const lower = name.toLowerCase();
    if (!INTERNAL.has(lower)) {
      headers.push({ key: name, value: Buffer.from(v) });
      return;
    }
    switch (lower) {
      case 'kafka-key':
        key = Buffer.from(v);
        break;
      case 'kafka-key-b64':
        key = Buffer.from(v, 'base64');
        break;
      case 'kafka-timestamp': {
        const t = Number(v);
        if (Number.isSafeInteger(t)) timestamp = t;
        fromKafka = true;
        break;
      }
      case 'kafka-null-value':
        value = null;
        break;
      case 'kafka-header-b64': {
        const dot = v.indexOf('.');
        const k = Buffer.from(dot < 0 ? v : v.slice(0, dot), 'base64').toString('utf8');
        headers.push({ key: k, value: dot < 0 ? null : Buffer.from(v.slice(dot + 1), 'base64') });
        break;
      }
    }
  });
  if (!fromKafka || m.subject !== produceSubject) {
    headers.push({ key: HDR.subject, value: Buffer.from(m.subject) });
  }
  return { key, value: value ?? (fromKafka ? null : EMPTY), headers, timestamp };
}
