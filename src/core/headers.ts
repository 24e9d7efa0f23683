/**
 * Reading a message's NATS header block (`NATS/1.0[ status[ text]]\r\n
 * Name: value\r\n…\r\n\r\n`), the one form headers take inside a node,
 * whatever face they came from. Every part that reads headers (streams,
 * faces, CloudEvents) reads them here.
 *
 * `encoding` says how bytes become text: `utf8` where the values are
 * shown or mapped as text (MQTT, SSE, CloudEvents), `latin1` where each
 * character must stay the byte it was (HTTP header values, which Node
 * writes byte for byte; the stream layer, which compares ASCII names).
 * Lines without a name before a `:` are skipped; names and values are
 * trimmed. A block that does not start with `NATS/1.0` has no headers.
 */

export type HeaderPair = readonly [name: string, value: string];

export type HeaderEncoding = 'utf8' | 'latin1';

/** The status line's code and text (`NATS/1.0 503 No Responders` → 503, 'No Responders'). */
export interface HeaderStatus {
  /** 0 when the block has no status. */
  readonly status: number;
  readonly description: string;
}

const STATUS_LINE = /^NATS\/1\.0(?: (\d{3})(?: (.*))?)?$/;

/** Calls `each(name, value)` for every header of `block`, in order. */
export function forEachHeader(
  block: Buffer | null,
  encoding: HeaderEncoding,
  each: (name: string, value: string) => void,
): void {
  if (block === null || block.length === 0) return;
  const text = block.toString(encoding);
  if (!text.startsWith('NATS/1.0')) return;
  const lines = text.split('\r\n');
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    each(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
  }
}

/** The headers of `block`, in order (empty for none). */
export function headerPairs(block: Buffer | null, encoding: HeaderEncoding): [string, string][] {
  const out: [string, string][] = [];
  forEachHeader(block, encoding, (name, value) => out.push([name, value]));
  return out;
}

/** The status of `block` (0 and '' when it has none, or is not a header block). */
export function headerStatus(block: Buffer | null): HeaderStatus {
  if (block === null || block.length === 0) return { status: 0, description: '' };
  const end = block.indexOf('\r\n');
  const first = block.toString('latin1', 0, end < 0 ? block.length : end).trim();
  const m = STATUS_LINE.exec(first);
  return { status: m?.[1] === undefined ? 0 : Number(m[1]), description: m?.[2] ?? '' };
}
