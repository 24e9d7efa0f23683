/**
 * The shape of the house (ARCHITECTURE.md, docs/faces.md), checked on the
 * sources: which folders may import which. A change that breaks one of
 * these rules fails here with the offending import named.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const SRC = path.join(ROOT, 'src');

interface Edge {
  from: string;
  to: string;
}

/** Every relative import of every .ts file under src/, as paths relative to src/. */
function imports(): Edge[] {
  const edges: Edge[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (p.endsWith('.ts')) {
        const text = readFileSync(p, 'utf8');
        for (const m of text.matchAll(/from '([^']+)'/g)) {
          const spec = m[1];
          const to = spec.startsWith('.')
            ? path.relative(SRC, path.resolve(path.dirname(p), spec)).replace(/\.js$/, '.ts')
            : spec;
          edges.push({ from: path.relative(SRC, p), to });
        }
      }
    }
  };
  walk(SRC);
  return edges;
}

const EDGES = imports();

function offenders(from: (f: string) => boolean, to: (t: string) => boolean): string[] {
  return EDGES.filter((e) => from(e.from) && to(e.to)).map((e) => `${e.from} imports ${e.to}`);
}

test('the sources were found', () => {
  assert.ok(EDGES.length > 500, `only ${EDGES.length} imports found under ${SRC}`);
});

test('the core imports only the core (no face, mesh, store, socket or disk)', () => {
  const bad = offenders(
    (f) => f.startsWith('core/'),
    (t) => !t.startsWith('core/') && t !== 'node:crypto',
  );
  assert.deepEqual(bad, []);
});

test('no face imports the node (src/server/): the node imports the faces', () => {
  assert.deepEqual(
    offenders(
      (f) => f.startsWith('protocols/'),
      (t) => t.startsWith('server/'),
    ),
    [],
  );
});

test('the monitor reads a view of the node, never the node module', () => {
  assert.deepEqual(
    offenders(
      (f) => f.startsWith('monitor/'),
      (t) => t.startsWith('server/'),
    ),
    [],
  );
});

test('the shared connection base imports no face and not the node', () => {
  assert.deepEqual(
    offenders(
      (f) => f.startsWith('connection/'),
      (t) => t.startsWith('protocols/') || t.startsWith('server/') || t.startsWith('monitor/'),
    ),
    [],
  );
});

test('faces do not import each other', () => {
  const face = (p: string) => p.match(/^protocols\/([^/]+)\//)?.[1];
  const bad = EDGES.filter((e) => {
    const a = face(e.from);
    const b = face(e.to);
    return a !== undefined && b !== undefined && a !== b;
  }).map((e) => `${e.from} imports ${e.to}`);
  assert.deepEqual(bad, []);
});

test('parsers and encoders do no I/O', () => {
  const pure = (f: string) =>
    /^protocols\/[^/]+\/(parser|encoder|codec|connect|topics)\.ts$/.test(f);
  const io = (t: string) =>
    /^node:(net|tls|fs|fs\/promises|http|https|dgram|child_process)$/.test(t);
  assert.deepEqual(offenders(pure, io), []);
});
