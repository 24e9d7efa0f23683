/**
 * Encoding of what a NATS server sends. Frame heads are short strings; the
 * connection writes them and the payload bytes into its outbound chunk.
 */

import { copyInto, utf8Write, writeDecimal } from '../../util/bytes.js';

export const PING = 'PING\r\n';
export const PONG = 'PONG\r\n';
export const OK = '+OK\r\n';

/** The header block of a 503 no-responders status message. */
export const NO_RESPONDERS = Buffer.from('NATS/1.0 503\r\n\r\n');

export function errLine(text: string): string {
  return `-ERR '${text}'\r\n`;
}

export function infoLine(info: object): string {
  return `INFO ${JSON.stringify(info)}\r\n`;
}

const SP = 0x20;

/**
 * Encodes a MSG/HMSG head into `dst` at `at` and returns the offset after
 * its CRLF; `target` is the pre-encoded `<subject> <sid> ` (see
 * `msgTarget`). The caller reserves room: `headMax` bytes.
 *   MSG <subject> <sid> [reply] <#bytes>\r\n
 *   HMSG <subject> <sid> [reply] <#header bytes> <#total bytes>\r\n
 * `hdr` is -1 for MSG.
 */
export function encodeMsgHead(
  dst: Buffer,
  at: number,
  target: Buffer,
  reply: string,
  hdr: number,
  total: number,
  targetLen = target.length,
): number {
  if (hdr >= 0) dst[at++] = 0x48; // H
  dst[at++] = 0x4d; // M
  dst[at++] = 0x53; // S
  dst[at++] = 0x47; // G
  dst[at++] = SP;
  if (targetLen === target.length) at = copyInto(target, dst, at);
  else for (let i = 0; i < targetLen; i++) dst[at++] = target[i]!;
  if (reply !== '') {
    at += utf8Write(dst, reply, at);
    dst[at++] = SP;
  }
  if (hdr >= 0) {
    at = writeDecimal(dst, at, hdr);
    dst[at++] = SP;
  }
  at = writeDecimal(dst, at, total);
  dst[at++] = 0x0d;
  dst[at++] = 0x0a;
  return at;
}

/** Room `encodeMsgHead` may need for a head with this target and reply. */
export function headMax(target: Buffer, reply: string): number {
  // "HMSG " + target + reply*3 + " " + two 16-digit numbers + spaces + CRLF
  return 5 + target.length + reply.length * 3 + 1 + 34 + 2;
}

/** The `<subject> <sid> ` part of a MSG head, encoded once per subscription and subject. */
export function msgTarget(subject: string, sid: string): Buffer {
  return Buffer.from(subject + ' ' + sid + ' ');
}

/** Room `writeMsgTarget` may need. */
export function msgTargetMax(subject: string, sid: string): number {
  return (subject.length + sid.length) * 3 + 2;
}

/**
 * Writes `<subject> <sid> ` at the start of `dst` (room: `msgTargetMax`) and
 * returns its length: a wildcard subscription that sees a new subject each
 * message re-encodes in place instead of allocating a Buffer per message.
 */
export function writeMsgTarget(dst: Buffer, subject: string, sid: string): number {
  let at = utf8Write(dst, subject, 0);
  dst[at++] = SP;
  at += utf8Write(dst, sid, at);
  dst[at++] = SP;
  return at;
}
