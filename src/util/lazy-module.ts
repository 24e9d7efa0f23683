/**
 * A CommonJS dependency loaded on first use rather than at start.
 *
 * Native and WebAssembly libraries map their code into the process when
 * they load: snappy, lz4-napi, @node-rs/crc32 and ws (with its native
 * helpers) together add about 35 MB to the resident set of a node that has
 * neither the Kafka face nor WebSocket on. Loading them when a face first
 * needs them keeps an idle node small (issue 16's memory rows).
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** A getter for module `id`: the first call loads it (synchronously), later calls return it. */
export function lazyModule<T>(id: string): () => T {
  let loaded: T | undefined;
  return () => {
    loaded ??= require(id) as T;
    return loaded;
  };
}
