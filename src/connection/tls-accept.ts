/**
 * TLS on the client port, as nats-server 2.9 and the official clients do it:
 * the node writes INFO (with `tls_required`) in clear, then the client starts
 * the TLS handshake on the same socket; the NATS session begins once it is
 * secure. A handshake that fails (plain text where a handshake should be, a
 * missing, expired or untrusted client certificate, a client that stalls past
 * `tls.timeout`) closes that socket alone, logged with the remote address and
 * counted by reason (`/metrics`: weft_tls_handshake_failures_total{reason}).
 *
 * The handshake itself is a `tls.Server`'s, never listening, fed the accepted
 * sockets: it is Node's server side that checks a client certificate against
 * the CA and destroys the socket when it fails (a bare server-side TLSSocket
 * does not enforce `rejectUnauthorized`). Its `setSecureContext` swaps the
 * certificates on reload; handshakes already done keep theirs.
 */
import { createHash, X509Certificate } from 'node:crypto';
import type { Socket } from 'node:net';
import type { DetailedPeerCertificate, Server, TLSSocket } from 'node:tls';
import type { Logger } from '../util/logger.js';
import { nodeTls, type TlsFiles } from './tls.js';

/** What a session keeps of its TLS handshake (`/connz`, and `cert` for verify_and_map). */
export interface TlsSessionInfo {
  /** nats-server's form: `1.2`, `1.3`. */
  readonly version: string;
  /** The IANA name, as nats-server shows it: `TLS_AES_128_GCM_SHA256`. */
  readonly cipher: string;
  /** The client certificate, verified against `tls.ca_file`; null when none was asked for or sent. */
  readonly cert: DetailedPeerCertificate | null;
}

/** Why a handshake failed: the `reason` label of weft_tls_handshake_failures_total. */
export type TlsRefusal =
  | 'plaintext'
  | 'timeout'
  | 'no_certificate'
  | 'expired'
  | 'untrusted'
  | 'closed'
  | 'protocol';

export const TLS_REFUSALS: readonly TlsRefusal[] = [
  'plaintext',
  'timeout',
  'no_certificate',
  'expired',
  'untrusted',
  'closed',
  'protocol',
];

/** A socket between its plaintext INFO and the end of its handshake. */
export interface PendingTls {
  readonly cid: number;
  readonly raw: Socket;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly started: Date;
  timer: NodeJS.Timeout | null;
}

export interface TlsAcceptHooks {
  secure(pending: PendingTls, socket: TLSSocket, info: TlsSessionInfo): void;
  failed(pending: PendingTls, reason: TlsRefusal, detail: string): void;
}

/** OpenSSL's errors when the first bytes are not a TLS record: a plaintext client. */
const PLAINTEXT_CODES = new Set([
  'ERR_SSL_HTTPS_PROXY_REQUEST',
  'ERR_SSL_HTTP_REQUEST',
  'ERR_SSL_WRONG_VERSION_NUMBER',
  'ERR_SSL_UNKNOWN_PROTOCOL',
  'ERR_SSL_PACKET_LENGTH_TOO_LONG',
]);

/** Sorts a failed handshake into a refusal and a sentence for the log. */
export function classifyTlsError(
  err: NodeJS.ErrnoException,
  authorizationError: string | null | undefined,
): { reason: TlsRefusal; detail: string } {
  const code = err.code ?? '';
  if (authorizationError) {
    const expired =
      authorizationError === 'CERT_HAS_EXPIRED' || authorizationError === 'CERT_NOT_YET_VALID';
    return expired
      ? {
          reason: 'expired',
          detail: `client certificate is expired or not yet valid (${authorizationError})`,
        }
      : {
          reason: 'untrusted',
          detail: `client certificate not signed by a trusted CA (${authorizationError})`,
        };
  }
  if (code === 'ERR_TLS_HANDSHAKE_TIMEOUT') {
    return { reason: 'timeout', detail: 'handshake did not finish within tls.timeout' };
  }
  if (PLAINTEXT_CODES.has(code)) {
    return {
      reason: 'plaintext',
      detail: `first record does not look like a TLS handshake: a plaintext client on a TLS port (${code})`,
    };
  }
  if (code === 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE') {
    return {
      reason: 'no_certificate',
      detail: 'client did not provide a certificate (tls.verify requires one)',
    };
  }
  if (code === 'ECONNRESET') {
    return { reason: 'closed', detail: 'client closed the connection during the handshake' };
  }
  const why = (err as { reason?: string }).reason ?? err.message.split('\n')[0];
  return { reason: 'protocol', detail: `${why}${code === '' ? '' : ` (${code})`}` };
}

/** `TLSv1.3` → `1.3`, as nats-server's /connz. */
function versionName(protocol: string | null): string {
  return (protocol ?? '').replace(/^TLSv/, '');
}

export class TlsAcceptor {
  /** Failed handshakes by reason (the metric and /varz). */
  readonly failures = new Map<TlsRefusal, number>();
  private readonly pending = new Map<Socket, PendingTls>();
  private readonly server: Server;

  constructor(
    private readonly files: TlsFiles,
    private readonly hooks: TlsAcceptHooks,
    private readonly log: Logger,
  ) {
    const s = files.settings;
    // node:tls loads with the first TLS listener (src/connection/tls.ts).
    this.server = nodeTls().createServer({
      ...files.secureOptions,
      requestCert: s.verify,
      rejectUnauthorized: s.verify,
      // Node's own timer restarts on every byte; the deadline below does not.
      handshakeTimeout: s.timeoutMs,
    });
    this.server.on('secureConnection', (socket: TLSSocket) => this.onSecure(socket));
    this.server.on('tlsClientError', (err: Error, socket: TLSSocket) => this.onError(err, socket));
  }

  /** Handshakes in progress: they count against max_connections. */
  get handshaking(): number {
    return this.pending.size;
  }

  /** Starts the handshake on `raw`, whose INFO has been written in clear. */
  accept(raw: Socket, cid: number): void {
    const p: PendingTls = {
      cid,
      raw,
      remoteAddress: raw.remoteAddress ?? '',
      remotePort: raw.remotePort ?? 0,
      started: new Date(),
      timer: null,
    };
    this.pending.set(raw, p);
    // A deadline from the accept, however slowly the client trickles bytes.
    p.timer = setTimeout(() => {
      this.finish(p, 'timeout', 'handshake did not finish within tls.timeout');
      raw.destroy();
    }, this.files.settings.timeoutMs);
    p.timer.unref();
    this.server.emit('connection', raw);
  }

  /** New certificates for handshakes from now on (those done keep theirs). */
  reload(): void {
    this.server.setSecureContext(this.files.secureOptions);
  }

  /** Ends every handshake in progress (shutdown). */
  closeAll(): void {
    for (const p of [...this.pending.values()]) {
      if (p.timer !== null) clearTimeout(p.timer);
      this.pending.delete(p.raw);
      p.raw.destroy();
    }
  }

  /** The accepted socket under a TLSSocket (Node keeps it as `_parent`). */
  private pendingOf(socket: TLSSocket): PendingTls | undefined {
    const raw = (socket as unknown as { _parent?: Socket })._parent;
    return raw === undefined ? undefined : this.pending.get(raw);
  }

  private onSecure(socket: TLSSocket): void {
    const p = this.pendingOf(socket);
    if (p === undefined) {
      // Past its deadline (already refused) or the node is closing.
      socket.destroy();
      return;
    }
    if (p.timer !== null) clearTimeout(p.timer);
    this.pending.delete(p.raw);
    const cert = this.files.settings.verify ? socket.getPeerCertificate(true) : null;
    const info: TlsSessionInfo = {
      version: versionName(socket.getProtocol()),
      cipher: socket.getCipher().standardName,
      cert: cert !== null && cert.raw !== undefined ? cert : null,
    };
    this.hooks.secure(p, socket, info);
  }

  private onError(err: Error, socket: TLSSocket): void {
    socket.destroy();
    const p = this.pendingOf(socket);
    const { reason, detail } = classifyTlsError(
      err,
      socket.authorizationError as unknown as string,
    );
    if (p === undefined) {
      // Refused already (its deadline passed), or not ours: nothing more to say.
      return;
    }
    this.finish(p, reason, detail);
  }

  private finish(p: PendingTls, reason: TlsRefusal, detail: string): void {
    if (!this.pending.delete(p.raw)) return;
    if (p.timer !== null) clearTimeout(p.timer);
    this.failures.set(reason, (this.failures.get(reason) ?? 0) + 1);
    this.log.warn(
      `cid:${p.cid} ${p.remoteAddress}:${p.remotePort} - TLS handshake error (${reason}): ${detail}`,
    );
    this.hooks.failed(p, reason, detail);
  }
}

/** One certificate of a verified chain, as nats-server's /connz `tls_peer_certs`. */
export interface PeerCertSummary {
  subject: string;
  spki_sha256: string;
  cert_sha256: string;
}

/** The chain a client presented (leaf first, up to the CA), for /connz. */
export function peerCertSummaries(cert: DetailedPeerCertificate | null): PeerCertSummary[] {
  const out: PeerCertSummary[] = [];
  const seen = new Set<string>();
  for (
    let c = cert;
    c !== null && c !== undefined && c.raw !== undefined;
    c = c.issuerCertificate
  ) {
    const fp = createHash('sha256').update(c.raw).digest('hex');
    if (seen.has(fp)) break;
    seen.add(fp);
    const x = new X509Certificate(c.raw);
    const spki = x.publicKey.export({ type: 'spki', format: 'der' });
    out.push({
      // Go's pkix.Name.String(): RDNs most specific first, comma-separated.
      subject: x.subject.split('\n').reverse().join(','),
      spki_sha256: createHash('sha256').update(spki).digest('hex'),
      cert_sha256: fp,
    });
    if (out.length >= 8) break;
  }
  return out;
}
