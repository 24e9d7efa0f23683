/**
 * Encoding of what a NATS server sends. Frame heads are short strings; the
 * connection writes them and the payload bytes into its outbound chunk.
 */

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

/** `MSG <subject> <sid> [reply] <#bytes>\r\n` */
export function msgHead(subject: string, sid: string, reply: string, size: number): string {
  return reply === ''
    ? 'MSG ' + subject + ' ' + sid + ' ' + size + '\r\n'
    : 'MSG ' + subject + ' ' + sid + ' ' + reply + ' ' + size + '\r\n';
}

/** `HMSG <subject> <sid> [reply] <#header bytes> <#total bytes>\r\n` */
export function hmsgHead(
  subject: string,
  sid: string,
  reply: string,
  hdr: number,
  total: number,
): string {
  return reply === ''
    ? 'HMSG ' + subject + ' ' + sid + ' ' + hdr + ' ' + total + '\r\n'
    : 'HMSG ' + subject + ' ' + sid + ' ' + reply + ' ' + hdr + ' ' + total + '\r\n';
}
