/**
 * How links travel: listening for peers and dialling them, over TCP or
 * mutual TLS (a TLSSocket is a net.Socket: links and routing do not know
 * which). TLS checks the chain here (the mesh CA, the validity dates, the
 * dialled host against the listener's certificate); which node a
 * certificate names is checked in the handshake, once the peer has said
 * who it is (`tlsNameCheck`, src/mesh/tls-names.ts).
 */

import { readFileSync } from 'node:fs';
import { createServer, isIP, connect as netConnect, type Socket } from 'node:net';
import {
  type SecureContextOptions,
  type TLSSocket,
  connect as tlsConnect,
  createServer as tlsCreateServer,
} from 'node:tls';
import { SlabReader } from '../connection/slab-reader.js';
import type { TlsFiles } from '../connection/tls.js';
import { TLS_MIN_VERSION } from '../connection/tls.js';
import { listen } from '../util/listen.js';
import { encodeControl, FrameType } from './frames.js';

export interface MeshListener {
  readonly port: number;
  close(): Promise<void>;
}

/** What a listener reports besides a ready socket. */
export interface ListenHooks {
  /** A ready (TCP: connected; TLS: shaken hands and trusted) socket from a peer. */
  onSocket(socket: Socket): void;
  /** A connection TLS refused before it became a link (counted as `refused.tls`). */
  onRefused(where: string, detail: string): void;
  /** May one more stranger start a TLS handshake, with `pending` in theirs (counts a refusal)? */
  canAccept(pending: number): boolean;
}

export interface MeshTransport {
  readonly name: string;
  /** The socket event a dialled socket is ready on. */
  readonly readyEvent: 'connect' | 'secureConnect';
  listen(host: string, port: number, hooks: ListenHooks): Promise<MeshListener>;
  connect(host: string, port: number): Socket;
  /** When a dial failed for a certificate (or TLS) reason: the reason, else null. */
  dialRefusal(err: Error): string | null;
  /** New links use the new certificates; established ones keep theirs. Throws, keeping the old, on bad files. */
  reload(): void;
  /** TLS handshakes in progress on the listener. */
  readonly pending: number;
}

export const tcpTransport: MeshTransport = {
  name: 'tcp',
  readyEvent: 'connect',
  async listen(host, port, hooks) {
    // Paused until the link attaches: read with a slab (slab-reader.ts) where this Node allows.
    const server = createServer({ noDelay: true, pauseOnConnect: true }, (s) => {
      new SlabReader().adopt(s);
      hooks.onSocket(s);
      s.resume();
    });
    const bound = await listen(server, port, host, 'mesh');
    server.on('error', () => {}); // accept errors affect one connection only
    return {
      port: bound,
      close: () => new Promise<void>((r) => server.close(() => r())),
    };
  },
  connect(host, port) {
    // Read with `onread` (src/connection/slab-reader.ts): the link attaches to it.
    const reader = new SlabReader();
    return reader.bind(netConnect({ host, port, noDelay: true, onread: reader.onread }));
  },
  dialRefusal: () => null,
  reload() {},
  pending: 0,
};

/** Error codes of a dial that reached a listener whose certificate was not accepted. */
function isTlsError(err: Error): boolean {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  return (
    code.startsWith('ERR_TLS') ||
    code.startsWith('ERR_SSL') ||
    code.startsWith('CERT_') ||
    code.includes('CERT') ||
    code.includes('SIGNATURE') ||
    code.includes('ISSUER')
  );
}

/** An error's reason in words: OpenSSL's reason and code rather than its raw error string. */
function tlsReason(err: Error): string {
  const e = err as Error & { reason?: string; code?: string };
  if (typeof e.reason === 'string') return `${e.reason}${e.code ? ` (${e.code})` : ''}`;
  return `${err.message.split('\n')[0]}${e.code ? ` (${e.code})` : ''}`;
}

function contextOptions(files: TlsFiles): SecureContextOptions {
  const c = files.settings;
  return {
    cert: readFileSync(c.certFile),
    key: readFileSync(c.keyFile),
    ca: c.caFile === '' ? undefined : readFileSync(c.caFile),
    minVersion: TLS_MIN_VERSION,
  };
}

/**
 * Mutual TLS: the listener asks every dialer for a certificate and checks
 * it against the mesh CA (`ca_file`); the dialer presents its own and
 * checks the listener's, and that it names the host dialled (a SAN, as any
 * TLS client). A refused certificate is logged with the address and the
 * reason and counted (`refused.tls`); the peer gets an ERR frame saying why.
 */
export function tlsTransport(files: TlsFiles): MeshTransport {
  const servers = new Set<ReturnType<typeof tlsCreateServer>>();
  /** TLS handshakes in progress, by `address:port` of the raw socket. */
  const pending = new Map<string, Socket>();
  return {
    name: 'tls',
    readyEvent: 'secureConnect',
    get pending() {
      return pending.size;
    },
    async listen(host, port, hooks) {
      const server = tlsCreateServer({
        ...contextOptions(files),
        requestCert: true,
        // Checked below, so the refusal is logged and counted with its reason.
        rejectUnauthorized: false,
        handshakeTimeout: files.settings.timeoutMs,
        noDelay: true,
      });
      server.on('connection', (raw: Socket) => {
        const where = `${raw.remoteAddress}:${raw.remotePort}`;
        if (!hooks.canAccept(pending.size)) {
          raw.destroy();
          return;
        }
        pending.set(where, raw);
        raw.once('close', () => {
          if (pending.get(where) === raw) pending.delete(where);
        });
      });
      server.on('tlsClientError', (err: Error, s: TLSSocket) => {
        const where = s.remoteAddress
          ? `${s.remoteAddress}:${s.remotePort}`
          : '(a peer that closed the connection)';
        pending.delete(where);
        hooks.onRefused(where, `TLS handshake failed: ${tlsReason(err)}`);
      });
      server.on('secureConnection', (s: TLSSocket) => {
        const where = `${s.remoteAddress}:${s.remotePort}`;
        pending.delete(where);
        if (!s.authorized) {
          const cert = s.getPeerCertificate();
          const none = cert === null || Object.keys(cert).length === 0;
          const why = none
            ? 'the peer presented no certificate'
            : `the peer's certificate is not trusted (${s.authorizationError})`;
          hooks.onRefused(where, why);
          s.on('error', () => {});
          s.end(refusalFrame(why));
          setTimeout(() => s.destroy(), 1000).unref();
          return;
        }
        hooks.onSocket(s);
      });
      const bound = await listen(server, port, host, 'mesh');
      server.on('error', () => {});
      servers.add(server);
      return {
        port: bound,
        close: () =>
          new Promise<void>((r) => {
            servers.delete(server);
            server.close(() => r());
          }),
      };
    },
    connect(host, port) {
      const socket = tlsConnect({
        host,
        port,
        // The files as they are now (reloaded on SIGHUP): the chain, and the mesh CA to check the listener's.
        secureContext: files.context,
        // SNI and the name check: the host dialled (an IP is checked against IP SANs).
        servername: isIP(host) === 0 ? host : undefined,
      });
      socket.setNoDelay(true);
      return socket;
    },
    dialRefusal(err) {
      return isTlsError(err) ? tlsReason(err) : null;
    },
    reload() {
      files.reload();
      const opts = contextOptions(files);
      for (const s of servers) s.setSecureContext(opts);
    },
  };
}

/** A link-protocol ERR frame: the dialer logs why it was refused. */
function refusalFrame(text: string): Buffer {
  return encodeControl(FrameType.Err, `certificate refused: ${text}`);
}
