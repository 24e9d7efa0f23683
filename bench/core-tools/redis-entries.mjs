/**
 * Stream entries as XADD stores them, for the Redis micro-benchmarks: one
 * field `f`, 16 B values, header block and payload in one buffer (as a
 * read window holds them); IDs 1733550000000-0 on, `count` of them.
 */
export function storedEntries(count = 1000, subject = undefined) {
  const entries = [];
  for (let i = 0; i < count; i++) {
    const head = `NATS/1.0\r\nRedis-Stream-Id: 1733550000${String(i).padStart(3, '0')}-${i % 7}\r\nRedis-Field: f\r\n\r\n`;
    const win = Buffer.from(`${head}${'x'.repeat(16)}`, 'latin1');
    entries.push({
      seq: i + 1,
      time: 0,
      ...(subject === undefined ? {} : { subject }),
      headers: win.subarray(0, head.length),
      payload: win.subarray(head.length),
    });
  }
  return entries;
}

/**
 * Adds `n` entries (field `f`, 16 B values) to stream `key` on the Redis port
 * `port` with XADD, pipelined 500 at a time (the group tools' fill).
 */
export async function fillStream(port, key, n) {
  const { Redis } = await import('ioredis');
  const r = new Redis({ port, host: '127.0.0.1' });
  for (let i = 0; i < n; i += 500) {
    const p = r.pipeline();
    for (let j = i; j < Math.min(n, i + 500); j++) p.xadd(key, '*', 'f', 'x'.repeat(16));
    await p.exec();
  }
  r.disconnect();
}
