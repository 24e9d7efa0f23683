/**
 * Binds a server (net or http) and resolves to the port it got: the one
 * asked for, or the free one the OS picked for port 0. A bind error rejects
 * with a StartError naming the listener, the port and the cause
 * (`monitoring port 8222 on 0.0.0.0: address in use`).
 *
 * In a worker of `weft server --workers N` (node:cluster), a listener is
 * shared with the other workers through the primary (one port, connections
 * spread over them), except the mesh's: each worker's mesh listener is its
 * own (`exclusive`), so a link reaches the worker it dialled.
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
      server.listen({ port, host, exclusive: what === 'mesh' }, () => {
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
