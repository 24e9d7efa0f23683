/**
 * The mesh's settings seen together: whether the node listens for links,
 * where, and whether that is safe. A mesh listener lets whoever reaches it
 * into the mesh unless a token or mutual TLS (mesh.tls) keeps strangers out,
 * so a listener on a non-loopback address with neither refuses to start
 * unless the operator says so.
 */
import { isIP } from 'node:net';
import type { ServerOptions } from '../config/options.js';
import { ConfigError } from '../errors.js';
import { checkMeshAccounts, nodeAccounts } from './accounts.js';

/** The mesh port when links are configured and mesh.port is not. */
export const DEFAULT_MESH_PORT = 7422;
/**
 * The longest node name on a mesh, in UTF-8 bytes: a name travels in the
 * handshake, whose frames are small (HANDSHAKE_MAX_FRAME) until the peer
 * is proven.
 */
export const MAX_NODE_NAME = 512;

type MeshSettings = Pick<
  ServerOptions,
  | 'host'
  | 'meshHost'
  | 'meshPort'
  | 'links'
  | 'meshToken'
  | 'meshAllowInsecure'
  | 'name'
  | 'meshTls'
  | 'security'
>;

/**
 * The port the mesh listens on, or -1 for none: mesh.port when set, else
 * DEFAULT_MESH_PORT for a node with links configured and none for a node
 * without (a default node does not listen for links).
 */
export function meshListenPort(o: MeshSettings): number {
  if (o.meshPort !== null) return o.meshPort;
  return o.links.length > 0 ? DEFAULT_MESH_PORT : -1;
}

/** The address the mesh listens on: mesh.host, else the node's host. */
export function meshListenHost(o: MeshSettings): string {
  return o.meshHost || o.host;
}

/** Only this machine can reach it: 127.0.0.0/8, ::1, localhost. */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  return h.startsWith('::ffff:127.');
}

/**
 * Refuses a mesh listener open to the network with nothing to keep
 * strangers out, and a node name a link cannot carry in its handshake.
 */
export function checkMeshSettings(o: MeshSettings): void {
  const port = meshListenPort(o);
  if (port >= 0 || o.links.length > 0) {
    checkNodeName(o.name);
    checkMeshAccounts(nodeAccounts(o.security));
  }
  // Mesh TLS is always mutual: every node's certificate is checked against the mesh CA.
  if (o.meshTls?.verifyAndMap) {
    throw new ConfigError(
      'mesh.tls.verify_and_map',
      "is not for links: a node's certificate must name the node itself (mesh TLS is always mutual)",
    );
  }
  if (o.meshTls && o.meshTls.caFile === '') {
    throw new ConfigError(
      'mesh.tls.ca_file',
      "is required: the CA that signs every node's certificate (mesh TLS is always mutual)",
    );
  }
  if (port < 0 || o.meshToken !== '' || o.meshTls || o.meshAllowInsecure) return;
  const host = meshListenHost(o);
  if (isLoopback(host)) return;
  throw new ConfigError(
    'mesh.token',
    `the mesh would listen on ${host}:${port} with no token, so anyone who reaches that port ` +
      'could join the mesh and read its traffic. Set a token (mesh.token, --mesh-token) on every ' +
      'node, or mutual TLS (mesh.tls), or bind the mesh to this machine (mesh.host: 127.0.0.1, --mesh-host 127.0.0.1), or ' +
      'accept the risk (mesh.allow_insecure: true, --mesh-allow-insecure)',
  );
}

/** A node name for a mesh: at most MAX_NODE_NAME bytes, no whitespace or control characters. */
export function checkNodeName(name: string): void {
  const bytes = Buffer.byteLength(name);
  if (bytes > MAX_NODE_NAME) {
    throw new ConfigError(
      'name',
      `must be at most ${MAX_NODE_NAME} bytes on a mesh, got ${bytes} bytes`,
    );
  }
  if (/[\s\p{Cc}]/u.test(name)) {
    throw new ConfigError(
      'name',
      `must not contain whitespace or control characters on a mesh, got ${JSON.stringify(name)}`,
    );
  }
}
