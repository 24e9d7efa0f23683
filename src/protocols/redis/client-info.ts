/**
 * The line `CLIENT INFO` and `CLIENT LIST` show for a connection, in
 * Redis's field order (fields Weft has no counterpart for as Redis shows
 * them idle: `fd=-1`, `multi=-1`, `argv-mem=0` …).
 */
import type { ClientSubscriptions } from './pubsub.js';

export interface ClientInfoSource {
  readonly id: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly name: string;
  readonly created: Date;
  readonly lastActivity: number;
  readonly subscribed: boolean;
  readonly pendingBytes: number;
  readonly protocol: number;
  readonly libName: string;
  readonly libVersion: string;
}

/**
 * The line for `c`: `user` the one logged in ('' or none: `default`), `subs`
 * its subscriptions (null: none), `qbuf` bytes read not yet run, `oll`
 * replies in line.
 */
export function clientInfoLine(
  c: ClientInfoSource,
  user: string | undefined,
  subs: ClientSubscriptions | null,
  qbuf: number,
  oll: number,
): string {
  const now = Date.now();
  const age = Math.floor((now - c.created.getTime()) / 1000);
  const idle = Math.floor((now - c.lastActivity) / 1000);
  return (
    `id=${c.id} addr=${c.remoteAddress}:${c.remotePort} laddr= fd=-1 name=${c.name} ` +
    `age=${age} idle=${idle} flags=${c.subscribed ? 'P' : 'N'} db=0 ` +
    `sub=${subs?.names('channel').length ?? 0} psub=${subs?.names('pattern').length ?? 0} ` +
    `ssub=${subs?.shardCount ?? 0} multi=-1 qbuf=${qbuf} qbuf-free=0 argv-mem=0 ` +
    `multi-mem=0 rbs=0 rbp=0 obl=0 oll=${oll} omem=${c.pendingBytes} tot-mem=0 ` +
    `events=r cmd=NULL user=${user || 'default'} redir=-1 resp=${c.protocol} ` +
    `lib-name=${c.libName} lib-ver=${c.libVersion}`
  );
}
