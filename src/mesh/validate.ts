/**
 * Shape checks for the JSON control frames a peer sends: a malformed frame
 * closes the link with a clear reason instead of corrupting state.
 */
import { isValidQueueName, isValidSubject } from '../core/subject.js';
import type { InterestEntry, InterestUpdate, Lsa } from './lsdb.js';

const isStr = (v: unknown): v is string => typeof v === 'string';
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** [account, subject, queue]: a subject a client could subscribe to, a queue name or ''. */
function isEntry(v: unknown): v is InterestEntry {
  return (
    Array.isArray(v) &&
    v.length === 3 &&
    isStr(v[0]) &&
    isStr(v[1]) &&
    isValidSubject(v[1]) &&
    isStr(v[2]) &&
    (v[2] === '' || isValidQueueName(v[2]))
  );
}

/** The fields every flooded record carries: whose, which incarnation, which sequence. */
function validOrigin(o: Record<string, unknown>): boolean {
  return isStr(o.node) && o.node !== '' && isStr(o.id) && isNum(o.boot) && isNum(o.seq);
}

export function validLsa(v: unknown): v is Lsa {
  const o = v as Record<string, unknown>;
  return (
    validOrigin(o) &&
    Array.isArray(o.links) &&
    o.links.every((l: unknown) => {
      const x = l as Record<string, unknown>;
      return x !== null && typeof x === 'object' && isStr(x.node) && isNum(x.cost);
    })
  );
}

export function validInterestUpdate(v: unknown): v is InterestUpdate {
  const o = v as Record<string, unknown>;
  return (
    validOrigin(o) &&
    (o.op === 'snapshot' || o.op === 'more' || o.op === 'delta') &&
    (o.part === undefined || (isNum(o.part) && Number.isInteger(o.part) && o.part >= 0)) &&
    Array.isArray(o.add) &&
    o.add.every(isEntry) &&
    Array.isArray(o.del) &&
    o.del.every(isEntry)
  );
}

/**
 * A subject the client protocol can carry: non-empty, with no space, tab,
 * CR or LF (what a NATS client's PUB line cannot contain either). Messages
 * from a peer with another subject are dropped, never written to a client.
 */
export function wireSafe(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) return false;
  }
  return true;
}
