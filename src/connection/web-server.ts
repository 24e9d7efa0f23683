/**
 * The HTTP(S) server a face listens with (the WebSocket listener, the
 * HTTP API): plain HTTP without TLS files; with them HTTPS only, asking
 * for a client certificate and refusing one that does not verify when
 * `verify` is set, and a handshake bounded by the TLS block's timeout. A
 * failed handshake closes that socket, is counted by reason in `failures`
 * (summed into weft_tls_handshake_failures_total) and logged with the
 * peer's address.
 */
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { TLSSocket } from 'node:tls';
import type { Logger } from '../util/logger.js';
import type { TlsFiles } from './tls.js';
import { classifyTlsError, type TlsRefusal } from './tls-accept.js';

export function webServer(
  files: TlsFiles | null,
  failures: Map<TlsRefusal, number>,
  log: Logger,
  label: string,
): Server {
  if (files === null) return createHttpServer();
  const server = createHttpsServer({
    ...files.secureOptions,
    requestCert: files.settings.verify,
    rejectUnauthorized: files.settings.verify,
    handshakeTimeout: files.settings.timeoutMs,
  });
  server.on('tlsClientError', (err: NodeJS.ErrnoException, socket: TLSSocket) => {
    socket.destroy();
    const { reason, detail } = classifyTlsError(
      err,
      socket.authorizationError as unknown as string,
    );
    failures.set(reason, (failures.get(reason) ?? 0) + 1);
    log.warn(
      `${label} ${socket.remoteAddress}:${socket.remotePort} - TLS handshake error (${reason}): ${detail}`,
    );
  });
  return server;
}
