/**
 * A node for a face's tests: random ports on 127.0.0.1, a temp data dir
 * (removed on close unless the test gave its own), monitoring off, and the
 * face's port (`<face>Port: 0`) reported back as bound. The MQTT, Redis and
 * Kafka helpers build on it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ServerOptions } from '../../src/config/options.js';
import { startServer, type WeftServer } from '../../src/server/server.js';

export interface FaceNode {
  readonly srv: WeftServer;
  /** The face's bound port (-1 when it did not start one). */
  readonly port: number;
  readonly dataDir: string;
  close(): Promise<void>;
}

/**
 * Starts a node with `face` on: `defaults` (its port option set to 0, and
 * JetStream on or off) under the test's `opts`.
 */
export async function startFaceNode(
  face: string,
  defaults: Partial<ServerOptions>,
  opts: Partial<ServerOptions> = {},
): Promise<FaceNode> {
  const dir = opts.dataDir ?? mkdtempSync(path.join(tmpdir(), `weft-${face}-`));
  const srv = await startServer({
    dataDir: dir,
    port: 0,
    httpPort: -1,
    host: '127.0.0.1',
    logLevel: 'error',
    ...defaults,
    ...opts,
  });
  const port = srv.node.faces.find((f) => f.name === face)?.listeners[0]?.port ?? -1;
  return {
    srv,
    port,
    dataDir: dir,
    close: async () => {
      await srv.close();
      if (opts.dataDir === undefined) rmSync(dir, { recursive: true, force: true });
    },
  };
}
