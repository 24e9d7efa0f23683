/**
 * Binds a server (net or http) and resolves to the port it got: the one
 * asked for, or the free one the OS picked for port 0. A bind error rejects
 * with a StartError naming the listener, the port and the cause
 * (`monitoring port 8222 on 0.0.0.0: address in use`).
 */
import type { Server } from 'node:net';
import { StartError } from '../errors.js';

/** A bind failure in words an operator acts on. */
function cause(err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'EADDRINUSE':
      return 'address in use';
    case 'EACCES':
      return 'permission denied (ports below 1024 need privileges)';
    case 'EADDRNOTAVAIL':
      return 'address not available on this host';
    default:
      return err.message;
  }
}

export async function listen(
  server: Server,
  port: number,
  host: string,
  /** What listens, for the error: `client`, `monitoring`, `mesh`. */
  what = 'listener',
): Promise<number> {
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new StartError(`${what} port ${port}`, `${cause(e)} (on ${host})`, { cause: err });
  }
  const addr = server.address();
  return typeof addr === 'object' && addr !== null ? addr.port : port;
}
