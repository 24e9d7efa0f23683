/** kcat (Debian's librdkafka client) run by tests: asynchronously, so the node in this process keeps serving. */
import { execFile } from 'node:child_process';

export interface KcatResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `kcat -b BROKER ARGS` with `input` on stdin. */
export function kcat(
  broker: string,
  args: string[],
  input = '',
  timeoutMs = 20_000,
): Promise<KcatResult> {
  return new Promise((resolve) => {
    const c = execFile(
      'kcat',
      ['-b', broker, ...args],
      { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        resolve({
          code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1,
          stdout,
          stderr,
        });
      },
    );
    c.stdin!.end(input);
  });
}

/** Every record of a partition from the beginning, formatted by `format` (kcat -f), one per line. */
export async function consumeAll(
  broker: string,
  topic: string,
  partition: number,
  format: string,
): Promise<string[]> {
  const r = await kcat(broker, [
    '-C',
    '-t',
    topic,
    '-p',
    String(partition),
    '-o',
    'beginning',
    '-e',
    '-q',
    '-f',
    `${format}\\n`,
  ]);
  if (r.code !== 0) throw new Error(`kcat failed (${r.code}): ${r.stderr}`);
  return r.stdout === '' ? [] : r.stdout.replace(/\n$/, '').split('\n');
}
