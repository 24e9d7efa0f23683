/**
 * Preloaded into a child node (`node --import …/module-log.js`) by tests of
 * what a node loads. With WEFT_TEST_MODULE_LOG set to a file, it appends to
 * that file the URL of every ES module loaded (from the hooks thread:
 * module-log-hooks.ts) and, at exit, the path of every CommonJS file in
 * require's cache (libraries loaded with `require`, which no ESM hook sees).
 */
import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';

const log = process.env['WEFT_TEST_MODULE_LOG'];
if (log !== undefined && log !== '') {
  register('./module-log-hooks.js', import.meta.url, { data: log });
  const cache = createRequire(import.meta.url).cache;
  process.on('exit', () => appendFileSync(log, `${Object.keys(cache).join('\n')}\n`));
}
