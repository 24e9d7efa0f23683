/**
 * A node loads a face's modules, the mesh, the workers' primary, the
 * Prometheus registry and the libraries behind them only when its settings
 * turn them on (src/server/faces.ts; issue 16's idle memory row). The
 * modules a child node loaded are read from the log module-log.ts writes;
 * a second node with the MQTT face on and /metrics scraped shows the log
 * sees what is loaded.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startNode, stopWeftProcess, tempDir } from '../helpers/weft-process.js';

const PRELOAD = fileURLToPath(new URL('../helpers/module-log.js', import.meta.url));

/** What a node without any face but NATS, without links and unscraped must not load. */
const OFF = [
  '/protocols/mqtt/',
  '/protocols/redis/',
  '/protocols/kafka/',
  '/protocols/websocket/',
  '/protocols/http/face.js',
  '/mesh/mesh.js',
  '/workers/primary.js',
  '/monitor/metrics.js',
  '/node_modules/mqtt-packet/',
  '/node_modules/prom-client/',
  '/node_modules/yaml/',
  '/node_modules/@nats-io/nkeys/',
  '/node_modules/ws/',
];

/** Runs a node with `extra` flags, `during` it, and returns what it loaded (read after it stopped). */
async function loadedBy(
  extra: string[],
  during: (httpPort: number) => Promise<void> = async () => {},
) {
  const log = join(tempDir('weft-modules-'), 'modules.txt');
  const env = {
    WEFT_TEST_MODULE_LOG: log,
    NODE_OPTIONS: `${process.env['NODE_OPTIONS'] ?? ''} --import=${PRELOAD}`.trim(),
  };
  const node = await startNode(extra, { env });
  await during(node.httpPort);
  await stopWeftProcess(node, 'the node');
  const lines = readFileSync(log, 'utf8').split('\n');
  return (part: string) => lines.filter((l) => l.includes(part));
}

test('a default node does not load the faces, mesh, workers or libraries it has not turned on', async () => {
  const loaded = await loadedBy([]);
  assert.ok(loaded('/protocols/nats/face.js').length > 0, 'the log sees the NATS face');
  for (const part of OFF) assert.deepEqual(loaded(part), [], `${part} was loaded`);
});

test('a face turned on, and a /metrics scrape, load theirs', async () => {
  const loaded = await loadedBy(['--mqtt-port', '0'], async (httpPort) => {
    const res = await fetch(`http://127.0.0.1:${httpPort}/metrics`);
    assert.equal(res.status, 200);
    assert.match(await res.text(), /^weft_connections\{/m);
  });
  for (const part of [
    '/protocols/mqtt/face.js',
    '/monitor/metrics.js',
    '/node_modules/mqtt-packet/',
    '/node_modules/prom-client/',
  ]) {
    assert.ok(loaded(part).length > 0, `${part} was not loaded`);
  }
  for (const part of ['/protocols/kafka/', '/protocols/redis/', '/mesh/mesh.js']) {
    assert.deepEqual(loaded(part), [], `${part} was loaded`);
  }
});
