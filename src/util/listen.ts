/**
 * Binds a server (net or http) and resolves to the port it got: the one
 * asked for, or the free one the OS picked for port 0. A bind error rejects.
 */
import type { Server } from 'node:net';

export async function listen(server: Server, port: number, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address();
  return typeof addr === 'object' && addr !== null ? addr.port : port;
}
