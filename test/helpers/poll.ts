/**
 * Polling with deadlines. Tests never sleep for a fixed time: they wait for a
 * condition and fail with the last reason when the deadline passes.
 */

/**
 * Calls `fn` until it returns without throwing (and, if it returns a value,
 * the value is not `false`), or `timeoutMs` passes; then rethrows the last
 * failure. Returns what `fn` returned.
 */
export async function checkFor<T>(
  fn: () => T | Promise<T>,
  timeoutMs = 2000,
  intervalMs = 10,
): Promise<Exclude<T, false>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== false) return v as Exclude<T, false>;
      last = new Error('condition returned false');
    } catch (err) {
      last = err;
    }
    if (Date.now() >= deadline) {
      const why = last instanceof Error ? last.message : String(last);
      const err = new Error(`checkFor: not true within ${timeoutMs}ms: ${why}`);
      if (last instanceof Error) err.cause = last;
      throw err;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Rejects with a named timeout if `p` does not settle within `ms`. */
export async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms}ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
