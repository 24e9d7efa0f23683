/**
 * A subscriber that reads slowly, for the fast-producer stall tests
 * (test/integration/producer-stall.test.ts, test/mqtt/producer-stall.test.ts).
 */
import type net from 'node:net';

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
