/**
 * Native and wasm libraries load when a face first needs them, not when a
 * node starts (src/util/lazy-module.ts): an idle node without Kafka or
 * WebSocket traffic does not map them (issue 16's memory rows).
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { Compression, compress, decompress } from '../../src/protocols/kafka/compression.js';
import { startFaceNode } from '../helpers/face-node.js';

const LAZY = ['/snappy/', '/lz4-napi/', '/@node-rs/crc32/', '/@bokuweb/zstd-wasm/', '/ws/'];

function loaded(): string[] {
  const cache = createRequire(import.meta.url).cache;
  return LAZY.filter((part) => Object.keys(cache).some((file) => file.includes(part)));
}

test('a started node has not loaded the lazy libraries; the codec loads one on first use', async (t) => {
  const node = await startFaceNode('nats', {});
  t.after(() => node.close());
  assert.deepEqual(loaded(), [], 'loaded at start');

  const data = Buffer.from('a record batch body '.repeat(20));
  const packed = compress(Compression.Snappy, data);
  assert.deepEqual(decompress(Compression.Snappy, packed, 1 << 20), data);
  assert.deepEqual(loaded(), ['/snappy/']);
});
