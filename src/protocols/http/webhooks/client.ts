/**
 * A webhook's HTTP client: its URL parsed once and a keep-alive `Agent`
 * of its own (`node:http` or `node:https`), so consecutive POSTs reuse
 * their connections instead of opening one each.
 *
 * Bounds: at most `concurrency` sockets to the receiver (the agent's
 * maxSockets; the webhook never has more POSTs in flight); an idle
 * socket is closed after IDLE_SOCKET_TIMEOUT_MS, or 1 s before the
 * receiver's own `Keep-Alive: timeout=…` when that is shorter (Node's
 * agent reads the hint), so a receiver rarely closes a socket as a POST
 * is being sent on it; `close()` (the webhook deleted, or the node
 * stopping) ends the POSTs in flight and destroys every socket, and
 * `retire()` (stopped by a 410) closes each socket once it is idle. `connections` counts the sockets opened.
 *
 * https verifies the receiver's certificate against Node's CA store
 * (as `fetch` did; NODE_EXTRA_CA_CERTS adds a private CA at the node's
 * start). `tls.ca` replaces that store: tests only, no setting.
 */
import {
  type ClientRequest,
  Agent as HttpAgent,
  type OutgoingHttpHeaders,
  request,
} from 'node:http';
import { Agent as HttpsAgent, request as requestTls } from 'node:https';

/** An idle keep-alive socket is closed after this long (ms). */
export const IDLE_SOCKET_TIMEOUT_MS = 4000;

export class WebhookClient {
  /** Sockets opened to the receiver (a reused keep-alive socket is not counted again). */
  connections = 0;
  closed = false;
  /** Why no POST can be made to this URL ('' when one can). */
  readonly refusal: string;
  private readonly agent: HttpAgent;
  private readonly options: {
    hostname: string;
    port: string;
    path: string;
    method: 'POST';
    agent: HttpAgent;
  };
  private readonly tls: boolean;
  /** Ends each POST in flight (as `webhook closed`). */
  private readonly inFlight = new Set<() => void>();

  constructor(url: string, concurrency: number, tls: { ca?: string | Buffer } = {}) {
    const u = new URL(url);
    this.tls = u.protocol === 'https:';
    const agentOptions = {
      keepAlive: true,
      maxSockets: concurrency,
      maxFreeSockets: concurrency,
      timeout: IDLE_SOCKET_TIMEOUT_MS,
      scheduling: 'lifo' as const,
      noDelay: true,
    };
    this.agent = this.tls
      ? new HttpsAgent({ ...agentOptions, ...(tls.ca !== undefined ? { ca: tls.ca } : {}) })
      : new HttpAgent(agentOptions);
    // Counted where the agent opens a socket: no listener per request.
    const create = this.agent.createConnection.bind(this.agent);
    this.agent.createConnection = (o, cb) => {
      this.connections++;
      return create(o, cb);
    };
    this.options = {
      // [::1] in a URL, ::1 for the socket.
      hostname: u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname,
      port: u.port,
      path: `${u.pathname}${u.search}`,
      method: 'POST',
      agent: this.agent,
    };
    // fetch refused such a URL too: credentials are not sent from a URL.
    this.refusal =
      u.username !== '' || u.password !== ''
        ? 'a URL with credentials (user:password@) is refused: nothing is sent'
        : '';
  }

  /** A POST on the agent (sent once the caller ends it); `end` is called if the client closes first. */
  open(headers: OutgoingHttpHeaders, end: () => void): ClientRequest {
    const o = { ...this.options, headers };
    const req = this.tls ? requestTls(o) : request(o);
    // Registered once the request exists (request() may throw on a header).
    this.inFlight.add(end);
    return req;
  }

  /** The POST is over. */
  done(end: () => void): void {
    this.inFlight.delete(end);
  }

  /**
   * Nothing more will be POSTed (a 410 stopped the webhook): the idle
   * sockets close now, the others when their POST is over.
   */
  retire(): void {
    // The agent destroys a freed socket when keepAlive is off.
    (this.agent as HttpAgent & { keepAlive: boolean }).keepAlive = false;
    for (const list of Object.values(this.agent.freeSockets)) {
      for (const s of [...(list ?? [])]) s.destroy();
    }
  }

  /** The webhook closed: the POSTs in flight end (`webhook closed`) and every socket closes. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const end of [...this.inFlight]) end();
    this.inFlight.clear();
    this.agent.destroy();
  }
}
