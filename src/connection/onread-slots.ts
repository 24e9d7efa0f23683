/**
 * Reading an accepted net.Socket as `net.connect`'s `onread` option would:
 * libuv reads into buffers the caller gives, and a callback gets the bytes.
 * An accepted socket has no such option; what the option sets are three
 * slots of the socket (Node's own symbols, found by their names) and its
 * handle's `useUserBuffer`. Used by the mesh's slab reader and the client
 * connections' shared read buffer (slab-reader.ts, shared-read.ts).
 */
import { Socket } from 'node:net';

const SLOTS = (() => {
  const by = new Map<string, symbol>();
  for (const s of Object.getOwnPropertySymbols(new Socket())) by.set(s.description ?? '', s);
  const buffer = by.get('kBuffer');
  const callback = by.get('kBufferCb');
  const gen = by.get('kBufferGen');
  return buffer && callback && gen ? { buffer, callback, gen } : null;
})();

type Slotted = Socket & {
  [slot: symbol]: unknown;
  _handle?: { useUserBuffer?: (buf: Uint8Array) => void } | null;
};

/**
 * Makes `socket` (accepted, paused on connect, not yet read) read into
 * `first`, then into what `next` returns, each read told to `callback`
 * (`this` the socket; false stops reading). False, and nothing changed,
 * when this Node's sockets lack the slots: the socket then reads with 'data'.
 */
export function adoptOnRead(
  socket: Socket,
  first: Uint8Array,
  next: () => Uint8Array,
  callback: (n: number, buf: Buffer) => boolean,
): boolean {
  const s = socket as Slotted;
  const handle = s._handle;
  if (SLOTS === null || typeof handle?.useUserBuffer !== 'function') return false;
  s[SLOTS.gen] = next;
  s[SLOTS.callback] = callback;
  s[SLOTS.buffer] = first;
  handle.useUserBuffer(first);
  return true;
}
