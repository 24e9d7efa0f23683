/**
 * A test-only face route on the WebSocket listener: `/echo` (subprotocol
 * `echo`), whose session is built on the shared `Connection` base and
 * `ReadSlicer` exactly as a real face's is, over the `Transport` the
 * listener hands it, and answers every byte it reads with the same byte.
 * It registers in the node's connection registry, so max_connections,
 * /connz and shutdown see it as any connection.
 *
 *   const node = new WeftNode({ websocketPort: 0, ... });
 *   addEchoRoute(node);
 *   await node.start();
 */
import type { Credentials, Identity } from '../../src/auth/types.js';
import { Connection } from '../../src/connection/connection.js';
import type { FaceConnection } from '../../src/connection/face-connection.js';
import { ReadSlicer } from '../../src/connection/read-slicer.js';
import type { TlsSessionInfo } from '../../src/connection/tls-accept.js';
import type { Transport } from '../../src/connection/transport.js';
import { CloseReason } from '../../src/errors.js';
import type { FaceHost, WebSocketUpgrade } from '../../src/protocols/face.js';

export class EchoConnection extends Connection implements FaceConnection {
  readonly face = 'echo';
  readonly identity: Identity | null = null;
  readonly credentials: Credentials | null = null;
  readonly client = null;
  readonly subscriptionCount = 0;
  readonly tls: TlsSessionInfo | null;
  readonly protocol: string;
  private readonly reads: ReadSlicer;

  constructor(
    id: number,
    transport: Transport,
    private readonly host: FaceHost,
    upgrade: WebSocketUpgrade,
  ) {
    super(id, transport, host.flusher, host.options.maxPending, host.outbound);
    this.tls = upgrade.tls;
    this.protocol = upgrade.protocol;
    this.reads = new ReadSlicer(
      transport,
      {
        feed: (chunk) => {
          this.inBytes += chunk.length;
          this.queueBytes(chunk);
          return -1;
        },
        pause: () => {},
        isClosed: () => this.closed,
        afterRead: () => {},
      },
      host.flusher,
      host.stats,
    );
    transport.on('data', (chunk) => this.reads.onData(chunk));
    transport.on('end', () => this.close(CloseReason.ClientClosed));
    transport.on('close', () => this.close(CloseReason.ClientClosed));
    transport.on('error', () => this.close(CloseReason.ReadError));
  }

  subscriptionSubjects(): string[] {
    return [];
  }

  reauthorized(): number {
    return 0;
  }

  revoked(): void {
    this.close(CloseReason.AuthViolation);
  }

  close(reason: CloseReason): void {
    if (this.closed) return;
    this.closeReason = reason;
    this.host.stats.closed(reason);
    if (this.socket.destroyed) this.socket.destroy();
    else {
      this.flush(true);
      this.socket.end();
    }
    this.host.connections.closed(this);
  }

  protected onSlowConsumer(): void {
    this.close(CloseReason.SlowConsumer);
  }
}

/** Registers `/echo` (subprotocol `echo`, binary only) on the node's WebSocket listener. */
export function addEchoRoute(host: FaceHost, path = '/echo'): void {
  host.websocket!.route({
    face: 'echo',
    path,
    subprotocols: ['echo'],
    binaryOnly: true,
    onConnection: (transport, upgrade) => {
      host.connections.opened(
        new EchoConnection(host.connections.nextId(), transport, host, upgrade),
      );
    },
  });
}
