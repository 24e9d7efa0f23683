/**
 * What the monitor reads from a node. The node (src/server/server.ts)
 * implements it; the monitor depends on this view, never on the node's
 * module, so the node can import the monitor and not the reverse.
 */
import type { JwtAuthenticator } from '../auth/jwt-auth.js';
import type { Security } from '../auth/security.js';
import type { ServerOptions } from '../config/options.js';
import type { Outbound } from '../connection/outbound.js';
import type { ConnectionRegistry } from '../connection/registry.js';
import type { ServerStats } from '../connection/stats.js';
import type { Account, Accounts } from '../core/account.js';
import type { Imports } from '../core/imports.js';
import type { JetStream } from '../jetstream/service.js';
import type { Mesh } from '../mesh/mesh.js';
import type { Face } from '../protocols/face.js';
import type { Health } from '../util/health.js';
import type { Logger } from '../util/logger.js';
import type { WorkerChannel } from '../workers/channel.js';

export interface MonitoredNode {
  readonly serverId: string;
  readonly name: string;
  readonly started: Date;
  readonly options: ServerOptions;
  readonly log: Logger;
  readonly stats: ServerStats;
  readonly health: Health;
  readonly accounts: Accounts;
  readonly systemAccount: Account;
  readonly imports: Imports;
  readonly security: Security;
  readonly operator: JwtAuthenticator | null;
  readonly outbound: Outbound;
  readonly connections: ConnectionRegistry;
  readonly faces: readonly Face[];
  readonly jetstream: JetStream | null;
  readonly mesh: Mesh | null;
  /** The NATS client port. */
  readonly port: number;
  readonly httpPort: number;
  readonly httpsPort: number;
  readonly subscriptionCount: number;
  /** TLS handshakes refused by every face, by reason. */
  readonly tlsHandshakeFailures: ReadonlyMap<string, number>;
  /** Collections asked for when the node went quiet (src/server/idle-gc.ts), and the last one's ms. */
  readonly idleGc?: { readonly runs: number; readonly lastMs: number };
  /** The channel to the primary when this node is a worker of `--workers N`; null when alone. */
  readonly workers: WorkerChannel | null;
}
