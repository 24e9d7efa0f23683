/**
 * How links travel: listening for peers and dialling them. TCP now; TLS
 * (a TLSSocket is a net.Socket) plugs in here with the security work,
 * without touching links or routing.
 */
import { createServer, connect as netConnect, type Socket } from 'node:net';
import { listen } from '../util/listen.js';

export interface MeshListener {
  readonly port: number;
  close(): Promise<void>;
}

export interface MeshTransport {
  readonly name: string;
  listen(host: string, port: number, onSocket: (socket: Socket) => void): Promise<MeshListener>;
  connect(host: string, port: number): Socket;
}

export const tcpTransport: MeshTransport = {
  name: 'tcp',
  async listen(host, port, onSocket) {
    const server = createServer({ noDelay: true }, onSocket);
    const bound = await listen(server, port, host, 'mesh');
    server.on('error', () => {}); // accept errors affect one connection only
    return {
      port: bound,
      close: () => new Promise<void>((r) => server.close(() => r())),
    };
  },
  connect(host, port) {
    return netConnect({ host, port, noDelay: true });
  },
};
