/**
 * A hand-driven mesh peer for wire-level tests: a raw socket to a node's
 * mesh port that records every frame, and can dial through the handshake
 * as docs/mesh.md describes it (written here from the document, not with
 * the node's own Handshake class, so the two check each other).
 */
import { createHmac, randomBytes } from 'node:crypto';
import { type Socket, connect as tcpConnect } from 'node:net';
import { LINK_PROTOCOL_VERSION } from '../../src/mesh/frames.js';
import { checkFor } from '../helpers/poll.js';

export const HELLO = 1;
export const ERR = 2;
export const PING = 3;
export const PONG = 4;
export const LSA = 5;
export const INTEREST = 6;
export const AUTH = 8;
export const MSG = 16;

export function frame(type: number, body: Buffer | string = Buffer.alloc(0)): Buffer {
  const b = typeof body === 'string' ? Buffer.from(body) : body;
  const head = Buffer.alloc(5);
  head.writeUInt32BE(b.length + 1, 0);
  head.writeUInt8(type, 4);
  return Buffer.concat([head, b]);
}

/** A MSG frame body for `node`: ttl, account, subject, reply, one plain destination, no headers. */
export function msgFrame(account: string, subject: string, node: string, payload: string): Buffer {
  const str = (s: string): Buffer => {
    const b = Buffer.from(s);
    const h = Buffer.alloc(2);
    h.writeUInt16BE(b.length);
    return Buffer.concat([h, b]);
  };
  const body = Buffer.concat([
    Buffer.from([5]),
    str(account),
    str(subject),
    str(''),
    Buffer.from([1]),
    str(node),
    Buffer.from([1, 0]),
    Buffer.from([0, 0, 0, 0]),
    Buffer.from(payload),
  ]);
  return frame(MSG, body);
}

export const json = (type: number, body: unknown): Buffer => frame(type, JSON.stringify(body));

export interface RawFrame {
  type: number;
  body: Buffer;
  /** The body as JSON (HELLO, AUTH, LSA, INTEREST) or text. */
  json(): Record<string, unknown>;
}

export interface Identity {
  name: string;
  id: string;
  boot: number;
  /** The accounts the node serves (null: every account); default ['$G', '$SYS']. */
  accounts?: string[] | null;
}

export class RawPeer {
  readonly frames: RawFrame[] = [];
  /** Every byte received, as it came. */
  received = Buffer.alloc(0);
  closed = false;
  autoPong = false;
  readonly nonce = randomBytes(32).toString('base64');
  private buf = Buffer.alloc(0);

  constructor(readonly socket: Socket) {
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
    });
    socket.on('data', (b: Buffer) => {
      this.received = Buffer.concat([this.received, b]);
      this.buf = Buffer.concat([this.buf, b]);
      while (this.buf.length >= 5 && this.buf.length >= 4 + this.buf.readUInt32BE(0)) {
        const len = this.buf.readUInt32BE(0);
        const body = Buffer.from(this.buf.subarray(5, 4 + len));
        const type = this.buf.readUInt8(4);
        this.frames.push({ type, body, json: () => JSON.parse(body.toString()) });
        this.buf = this.buf.subarray(4 + len);
        if (type === PING && this.autoPong) this.write(frame(PONG));
      }
    });
  }

  static async connect(port: number): Promise<RawPeer> {
    const socket = tcpConnect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('error', reject);
    });
    return new RawPeer(socket);
  }

  write(b: Buffer | string): void {
    if (!this.socket.destroyed) this.socket.write(b);
  }

  types(): number[] {
    return this.frames.map((f) => f.type);
  }

  async next(type: number, timeoutMs = 3000): Promise<RawFrame> {
    return checkFor(() => {
      const f = this.frames.find((x) => x.type === type);
      if (f === undefined) {
        throw new Error(
          `no frame of type ${type} yet (got ${this.types().join(',')}; closed ${this.closed})`,
        );
      }
      return f;
    }, timeoutMs);
  }

  async waitClosed(timeoutMs = 3000): Promise<void> {
    await checkFor(() => this.closed, timeoutMs);
  }

  destroy(): void {
    this.socket.destroy();
  }

  /** The handshake's proof: HMAC-SHA256 keyed by the token over the transcript. */
  static proof(token: string, fields: (string | number | string[] | null)[]): string {
    const t = JSON.stringify([`weft-link/${LINK_PROTOCOL_VERSION}`, ...fields]);
    return createHmac('sha256', Buffer.from(token)).update(t).digest('base64');
  }

  /**
   * Dials through the handshake as `me` with `token`: HELLO, the dialer's
   * proof, check the listener's proof, then its own identity. Resolves to
   * the listener's identity (or throws with what came back).
   */
  async handshake(token: string, me: Identity, cost = 1): Promise<Identity> {
    const accounts = me.accounts === undefined ? ['$G', '$SYS'] : me.accounts;
    this.write(json(HELLO, { proto: LINK_PROTOCOL_VERSION, nonce: this.nonce, auth: 'token' }));
    const hello = (await this.next(HELLO)).json();
    const nL = hello.nonce as string;
    this.write(json(AUTH, { proof: RawPeer.proof(token, ['dialer', this.nonce, nL]) }));
    const auth = (await this.next(AUTH)).json();
    const peer = {
      name: auth.name as string,
      id: auth.id as string,
      boot: auth.boot as number,
      accounts: auth.accounts as string[] | null,
    };
    const want = RawPeer.proof(token, [
      'listener',
      this.nonce,
      nL,
      peer.name,
      peer.id,
      peer.boot,
      peer.accounts,
    ]);
    if (auth.proof !== want) throw new Error('the listener did not prove the token');
    const p3 = RawPeer.proof(token, [
      'dialer-identity',
      this.nonce,
      nL,
      peer.name,
      peer.id,
      peer.boot,
      peer.accounts,
      me.name,
      me.id,
      me.boot,
      accounts,
      cost,
    ]);
    this.write(json(AUTH, { ...me, accounts, cost, proof: p3 }));
    return peer;
  }
}
