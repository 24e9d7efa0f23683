/**
 * A subscriber that reads slowly, for the fast-producer stall tests
 * (test/integration/producer-stall.test.ts, test/mqtt/producer-stall.test.ts).
 */
import type net from 'node:net';
import type { RawClient } from './raw.js';

/**
 * Reads `socket` slowly: one read at a time, `everyMs` apart (~64 KiB each
 * on loopback), counting bytes until `want` arrived or the socket closed.
 */
export function readSlowly(socket: net.Socket, want: number, everyMs: number): Promise<number> {
  return new Promise((resolve) => {
    let got = 0;
    socket.removeAllListeners('data');
    socket.pause();
    const timer = setInterval(() => socket.resume(), everyMs);
    const done = () => {
      clearInterval(timer);
      resolve(got);
    };
    socket.on('data', (d: Buffer) => {
      got += d.length;
      socket.pause();
      if (got >= want) done();
    });
    socket.once('close', done);
  });
}

/** A raw client subscribed to `subject` (sid 1), its SUB confirmed by a PING. */
export async function rawSubscriber(
  open: () => Promise<RawClient>,
  subject: string,
): Promise<RawClient> {
  const c = await open();
  c.send(`SUB ${subject} 1\r\n`);
  await c.ping();
  return c;
}

/**
 * A raw subscriber of `subject` reading slowly (`readSlowly`, 2 ms apart)
 * until `count` MSG frames of `size` bytes have come: `reading` resolves to
 * the bytes that came, `want` is what they should be.
 */
export async function slowSubscriber(
  open: () => Promise<RawClient>,
  subject: string,
  size: number,
  count: number,
): Promise<{ sub: RawClient; want: number; reading: Promise<number> }> {
  const sub = await rawSubscriber(open, subject);
  const want = count * (`MSG ${subject} 1 ${size}\r\n`.length + size + 2);
  return { sub, want, reading: readSlowly(sub.socket, want, 2) };
}
