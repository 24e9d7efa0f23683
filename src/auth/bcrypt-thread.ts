/**
 * The worker thread's side of bcrypt-pool.ts: compares a password with a
 * bcrypt hash, one request at a time, off the node's event loop.
 */
import { parentPort } from 'node:worker_threads';
import bcrypt from 'bcryptjs';

interface Request {
  id: number;
  password: string;
  hash: string;
}

parentPort?.on('message', (req: Request) => {
  let ok = false;
  try {
    ok = bcrypt.compareSync(req.password, req.hash);
  } catch {
    ok = false;
  }
  parentPort?.postMessage({ id: req.id, ok });
});
