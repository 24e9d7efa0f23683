/**
 * Which node a TLS peer's certificate names. With mutual TLS on links, a
 * proven peer must also hold a certificate for the node it says it is: its
 * node name (`name`) is the certificate's subject CN or one of its DNS
 * SANs, compared exactly. (The chain and the validity dates were checked
 * by TLS; the host dialled was checked against the listener's SANs.)
 */
import type { Socket } from 'node:net';
import type { PeerCertificate, TLSSocket } from 'node:tls';
import type { Authenticator, LinkIdentity } from './handshake.js';

/** The names a certificate gives its holder: subject CN(s), then DNS SANs. */
export function certificateNames(cert: PeerCertificate | null | undefined): string[] {
  if (cert === null || cert === undefined || Object.keys(cert).length === 0) return [];
  const names: string[] = [];
  const cn = cert.subject?.CN as string | string[] | undefined;
  if (typeof cn === 'string') names.push(cn);
  else if (Array.isArray(cn)) names.push(...cn);
  for (const part of (cert.subjectaltname ?? '').split(', ')) {
    if (part.startsWith('DNS:')) names.push(part.slice(4));
  }
  return [...new Set(names)];
}

/**
 * `inner` (the token proof), plus: the peer's certificate must name the
 * node the peer claims to be.
 */
export function tlsNameCheck(inner: Authenticator): Authenticator {
  return {
    method: inner.method,
    prove: (t, s) => inner.prove(t, s),
    verify: (t, p, s) => inner.verify(t, p, s),
    checkPeer(peer: LinkIdentity, socket: Socket | null): string | null {
      const tls = socket as TLSSocket | null;
      if (tls === null || typeof tls.getPeerCertificate !== 'function') {
        return 'the link is not over TLS';
      }
      const names = certificateNames(tls.getPeerCertificate());
      if (names.includes(peer.name)) return null;
      const shown = names.length === 0 ? 'no name' : names.map((n) => `"${n}"`).join(', ');
      return `the peer says it is node "${peer.name}" but its certificate names ${shown.slice(0, 300)}`;
    },
  };
}
