/**
 * The link handshake: both ends prove they hold the mesh's secret without
 * sending it, and reveal who they are only to a peer that has proven it.
 * Pure: frames in, frames and verdicts out; the mesh owns sockets and timers.
 *
 *   both      → HELLO {proto, nonce, auth}           fresh random nonce each
 *   dialer    → AUTH  {proof: P1}                    P1 over both nonces
 *   listener  → AUTH  {name, id, boot, accounts, proof: P2}        after checking P1
 *   dialer    → AUTH  {name, id, boot, accounts, cost, proof: P3}  after checking P2
 *
 * Each proof covers a label for its role and step (so no proof can be
 * reflected or replayed as another), both nonces (so none is valid on
 * another connection) and every identity field sent so far. The dialer
 * proves first: a listener, reachable by anyone, never reveals its name,
 * id or interest to a stranger, and learns the dialer's only after proving
 * itself. What proves is an Authenticator: the shared token (HMAC-SHA256,
 * compared in constant time); with mutual TLS beside it, the peer's
 * certificate must also name the node it claims to be (`checkPeer`,
 * src/mesh/peer-cert.ts). `accounts` is the list of accounts the node
 * serves (src/mesh/accounts.ts), or null for every account.
 *
 * The handshake authenticates the link's start; it does not protect the
 * traffic that follows from someone who can tamper with the connection
 * (mutual TLS, `mesh.tls`, does).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Socket } from 'node:net';
import { parseAccountList } from './accounts.js';
import { encodeControl, FrameType, LINK_PROTOCOL_VERSION } from './frames.js';

/** Who a node is on the mesh: sent only to a proven peer. */
export interface LinkIdentity {
  name: string;
  id: string;
  boot: number;
  /** The accounts the node serves; null: every account. */
  accounts: readonly string[] | null;
}

/**
 * Proves this node to a peer and checks the peer's proof, over a
 * transcript both ends build alike. `socket` lets a TLS authenticator look
 * at the peer's certificate.
 */
export interface Authenticator {
  /** Named in HELLO: both ends must use the same. */
  readonly method: string;
  prove(transcript: Buffer, socket: Socket | null): string;
  /** Whether `proof` holds; compares secrets in constant time. */
  verify(transcript: Buffer, proof: string, socket: Socket | null): boolean;
  /** After the proof holds: why this peer may not be who it says it is, or null. */
  checkPeer?(peer: LinkIdentity, socket: Socket | null): string | null;
}

/** HMAC-SHA256 keyed by the mesh token; no token is the empty key (a mesh open to all). */
export function tokenAuthenticator(token: string): Authenticator {
  const key = Buffer.from(token, 'utf8');
  const mac = (t: Buffer): Buffer => createHmac('sha256', key).update(t).digest();
  return {
    method: 'token',
    prove: (t) => mac(t).toString('base64'),
    verify(t, proof) {
      const got = Buffer.from(proof, 'base64');
      const want = mac(t);
      return got.length === want.length && timingSafeEqual(got, want);
    },
  };
}

/** Random bytes in each HELLO. */
export const NONCE_BYTES = 32;
const NONCE_RE = /^[A-Za-z0-9+/]{43}=$/;

export type HandshakeRefusal = 'version' | 'token' | 'protocol' | 'certificate';

export type HandshakeResult =
  /** Nothing to do yet (frames to send may have been queued). */
  | { kind: 'wait' }
  | { kind: 'refuse'; reason: HandshakeRefusal; detail: string }
  /** The peer is proven and has said who it is: the mesh admits it (then `finish`) or refuses. */
  | { kind: 'proven'; peer: LinkIdentity; cost: number | null };

type Stage = 'hello' | 'dialer-proof' | 'listener-auth' | 'dialer-identity' | 'done';

const WAIT: HandshakeResult = { kind: 'wait' };

export class Handshake {
  private readonly nonce = randomBytes(NONCE_BYTES).toString('base64');
  private peerNonce = '';
  private stage: Stage = 'hello';
  private peerIdentity: LinkIdentity | null = null;

  constructor(
    readonly direction: 'in' | 'out',
    private readonly auth: Authenticator,
    private readonly self: LinkIdentity,
    /** The cost the dialer announces for the link. */
    private readonly cost: number,
    /** Queues a frame to the peer. */
    private readonly send: (frame: Buffer) => void,
    private readonly socket: Socket | null = null,
  ) {}

  /** The first frame: sent by both ends at once. */
  start(): void {
    this.send(
      encodeControl(FrameType.Hello, {
        proto: LINK_PROTOCOL_VERSION,
        nonce: this.nonce,
        auth: this.auth.method,
      }),
    );
  }

  private get nonces(): [string, string] {
    return this.direction === 'out' ? [this.nonce, this.peerNonce] : [this.peerNonce, this.nonce];
  }

  /** A transcript: the protocol, the step's label, both nonces (dialer's first), then fields. */
  private transcript(label: string, ...fields: Field[]): Buffer {
    return Buffer.from(
      JSON.stringify([`weft-link/${LINK_PROTOCOL_VERSION}`, label, ...this.nonces, ...fields]),
    );
  }

  private ids(i: LinkIdentity): Field[] {
    return [i.name, i.id, i.boot, i.accounts];
  }

  /** Refuses a proven peer whose certificate does not name it (mutual TLS). */
  private checkPeer(peer: LinkIdentity): HandshakeResult | null {
    const why = this.auth.checkPeer?.(peer, this.socket) ?? null;
    return why === null ? null : refuse('certificate', why);
  }

  /** A HELLO or AUTH frame from the peer. */
  onFrame(type: number, body: Record<string, unknown>): HandshakeResult {
    if (type === FrameType.Hello) return this.onHello(body);
    if (type === FrameType.Auth) return this.onAuth(body);
    return refuse('protocol', `frame type ${type} during the handshake`);
  }

  private onHello(b: Record<string, unknown>): HandshakeResult {
    if (this.stage !== 'hello') return refuse('protocol', 'a second HELLO');
    if (b.proto !== LINK_PROTOCOL_VERSION) {
      return refuse(
        'version',
        `unsupported link protocol version ${JSON.stringify(b.proto)} (this node speaks ${LINK_PROTOCOL_VERSION})`,
      );
    }
    if (typeof b.nonce !== 'string' || !NONCE_RE.test(b.nonce)) {
      return refuse('protocol', `HELLO needs a nonce of ${NONCE_BYTES} bytes in base64`);
    }
    if (b.nonce === this.nonce) return refuse('protocol', "HELLO echoes this end's nonce");
    if (b.auth !== this.auth.method) {
      return refuse(
        'token',
        `the peer authenticates with ${JSON.stringify(b.auth)}, this node with "${this.auth.method}"`,
      );
    }
    this.peerNonce = b.nonce;
    if (this.direction === 'out') {
      this.stage = 'listener-auth';
      this.send(encodeControl(FrameType.Auth, { proof: this.prove(this.transcript('dialer')) }));
    } else this.stage = 'dialer-proof';
    return WAIT;
  }

  private prove(t: Buffer): string {
    return this.auth.prove(t, this.socket);
  }

  private verify(t: Buffer, proof: unknown): boolean {
    return (
      typeof proof === 'string' && proof.length <= 1024 && this.auth.verify(t, proof, this.socket)
    );
  }

  private onAuth(b: Record<string, unknown>): HandshakeResult {
    switch (this.stage) {
      case 'dialer-proof': {
        if (!this.verify(this.transcript('dialer'), b.proof)) {
          return refuse('token', 'the dialer did not prove the mesh token');
        }
        this.stage = 'dialer-identity';
        this.send(
          encodeControl(FrameType.Auth, {
            ...this.self,
            proof: this.prove(this.transcript('listener', ...this.ids(this.self))),
          }),
        );
        return WAIT;
      }
      case 'listener-auth': {
        const peer = identity(b);
        if (peer === null) return refuse('protocol', 'AUTH needs name, id, boot and accounts');
        if (!this.verify(this.transcript('listener', ...this.ids(peer)), b.proof)) {
          return refuse('token', `the listener ("${peer.name}") did not prove the mesh token`);
        }
        const bad = this.checkPeer(peer);
        if (bad !== null) return bad;
        this.peerIdentity = peer;
        this.stage = 'done';
        return { kind: 'proven', peer, cost: null };
      }
      case 'dialer-identity': {
        const peer = identity(b);
        const cost = b.cost;
        if (peer === null || typeof cost !== 'number' || !Number.isInteger(cost) || cost < 1) {
          return refuse('protocol', 'AUTH needs name, id, boot, accounts and cost');
        }
        const t = this.transcript(
          'dialer-identity',
          ...this.ids(this.self),
          ...this.ids(peer),
          cost,
        );
        if (!this.verify(t, b.proof)) {
          return refuse('token', `the dialer ("${peer.name}") did not prove its identity`);
        }
        const bad = this.checkPeer(peer);
        if (bad !== null) return bad;
        this.stage = 'done';
        return { kind: 'proven', peer, cost };
      }
      default:
        return refuse(
          'protocol',
          `AUTH out of turn (${this.stage === 'hello' ? 'before HELLO' : 'again'})`,
        );
    }
  }

  /** The mesh admitted the proven peer: the dialer now says who it is. */
  finish(): void {
    if (this.direction !== 'out' || this.peerIdentity === null) return;
    const t = this.transcript(
      'dialer-identity',
      ...this.ids(this.peerIdentity),
      ...this.ids(this.self),
      this.cost,
    );
    this.send(
      encodeControl(FrameType.Auth, { ...this.self, cost: this.cost, proof: this.prove(t) }),
    );
  }
}

function refuse(reason: HandshakeRefusal, detail: string): HandshakeResult {
  return { kind: 'refuse', reason, detail };
}

type Field = string | number | readonly string[] | null;

function identity(b: Record<string, unknown>): LinkIdentity | null {
  const { name, id, boot } = b;
  if (typeof name !== 'string' || name === '' || typeof id !== 'string' || id === '') return null;
  if (typeof boot !== 'number' || !Number.isFinite(boot)) return null;
  const accounts = parseAccountList(b.accounts);
  if (accounts === undefined) return null;
  return { name, id, boot, accounts };
}
