/**
 * A time-bounded fuzz of the nats-server configuration parser. Inputs are
 * random text (heavy in the format's punctuation), mutated valid files
 * (inserted, deleted and replaced characters, splices, truncations), with
 * random includes (files that include each other or themselves) and
 * environment variables, and generated valid files. It checks:
 *   - `parseNatsConf` returns a document or throws a ConfigError naming
 *     `file:line:column` — never anything else — and promptly;
 *   - a generated file (random separators, quoting, comments, spacing,
 *     variables and includes) gives exactly the values it was made from.
 *
 * WEFT_FUZZ_SECONDS sets the time (default 3, shared by the parts);
 * WEFT_FUZZ_SEED replays a run.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseNatsConf } from '../../src/config/natsconf.js';
import { ConfigError } from '../../src/errors.js';
import { makeRng, type Rng, seedFromEnv, subSeed, withContext } from './nats-frames.js';

const SECONDS = Number(process.env.WEFT_FUZZ_SECONDS ?? '3');
const SEED = seedFromEnv();
const PARTS = 3;
/** Each part runs at least this many cases, however short the time. */
const MIN_CASES = 50;
/** One parse of at most a few hundred KB (with includes) must not take longer. */
const PARSE_MS_MAX = 1000;

function deadline(): number {
  return performance.now() + (SECONDS * 1000) / PARTS;
}

// --- generating valid files ------------------------------------------------------

interface Gen {
  text: string;
  value: unknown;
}

const BOOL_WORDS: [string, boolean][] = [
  ['true', true],
  ['false', false],
  ['yes', true],
  ['no', false],
  ['on', true],
  ['off', false],
];
const SUFFIXES: [string, number][] = [
  ['k', 1000],
  ['K', 1000],
  ['kb', 1024],
  ['KB', 1024],
  ['Ki', 1024],
  ['KiB', 1024],
  ['m', 1e6],
  ['MB', 1024 ** 2],
  ['MiB', 1024 ** 2],
  ['g', 1e9],
  ['GB', 1024 ** 3],
  ['t', 1e12],
];
const LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_';
const WORD_CHARS = `${LETTERS}0123456789`;
/** What may follow the first letter of an unquoted string value. */
const UNQUOTED_CHARS = `${WORD_CHARS}.:/>*-@`;
const TEXT_CHARS = `${WORD_CHARS} .,;:=#/{}[]()'\t$-`;

function word(rng: Rng, chars: string, min = 1, max = 8): string {
  let s = LETTERS[rng.int(LETTERS.length)]!;
  const n = rng.range(min, max) - 1;
  for (let i = 0; i < n; i++) s += chars[rng.int(chars.length)];
  return s;
}

function randomCase(rng: Rng, s: string): string {
  return [...s].map((c) => (rng.chance(0.3) ? c.toUpperCase() : c)).join('');
}

/** A key, unquoted or quoted; never `include`. */
function key(rng: Rng, used: Set<string>): { text: string; name: string } {
  for (;;) {
    const quoted = rng.chance(0.15);
    const name = quoted
      ? `${word(rng, WORD_CHARS)} ${word(rng, TEXT_CHARS.replace("'", ''))}`
      : word(rng, WORD_CHARS);
    if (used.has(name) || name.toLowerCase() === 'include') continue;
    used.add(name);
    const q = name.includes('"') ? "'" : rng.pick(['"', "'"]);
    return { text: quoted ? `${q}${name}${q}` : name, name };
  }
}

function doubleQuoted(rng: Rng, s: string): string {
  let out = '"';
  for (const c of s) {
    if (c === '"' || c === '\\') out += `\\${c}`;
    else if (c === '\n') out += rng.pick(['\\n', '\n']);
    else if (c === '\t') out += rng.pick(['\\t', '\t']);
    else if (c === '\r') out += '\\r';
    else if (c.charCodeAt(0) < 0x80 && rng.chance(0.05)) {
      out += `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;
    } else out += c;
  }
  return `${out}"`;
}

function stringValue(rng: Rng): Gen {
  switch (rng.int(5)) {
    case 0: {
      // Unquoted: a letter first, no terminator, not a boolean word, no $.
      for (;;) {
        const s = word(rng, UNQUOTED_CHARS, 1, 12);
        if (!BOOL_WORDS.some(([w]) => w === s.toLowerCase())) return { text: s, value: s };
      }
    }
    case 1: {
      // Text after digits that is no number: a duration.
      const s = `${rng.int(1000)}${rng.pick(['s', 'ms', 'h', 'us', 'h30s', 'days'])}`;
      return { text: s, value: s };
    }
    case 2: {
      let s = '';
      const n = rng.int(12);
      for (let i = 0; i < n; i++)
        s += rng.chance(0.05)
          ? rng.pick(['é', '日本', '😀', '\n'])
          : TEXT_CHARS[rng.int(TEXT_CHARS.length)];
      s = s.replaceAll("'", '');
      return { text: `'${s}'`, value: s };
    }
    default: {
      let s = '';
      const n = rng.int(16);
      for (let i = 0; i < n; i++) {
        s += rng.chance(0.1)
          ? rng.pick(['"', '\\', '\n', '\t', '\r', 'é', '$X'])
          : TEXT_CHARS[rng.int(TEXT_CHARS.length)];
      }
      return { text: doubleQuoted(rng, s), value: s };
    }
  }
}

function scalar(rng: Rng): Gen {
  switch (rng.int(6)) {
    case 0: {
      const text = `${rng.chance(0.2) ? '-' : ''}${rng.int(1_000_000)}`;
      return { text, value: Number(text) };
    }
    case 1: {
      const [s, m] = rng.pick(SUFFIXES);
      const n = rng.int(1000);
      return { text: `${n}${s}`, value: n * m };
    }
    case 2: {
      const text = `${rng.chance(0.2) ? '-' : ''}${rng.int(1000)}.${rng.int(1000)}`;
      return { text, value: Number(text) };
    }
    case 3: {
      const [w, b] = rng.pick(BOOL_WORDS);
      return { text: randomCase(rng, w), value: b };
    }
    case 4: {
      const text = `${rng.int(256)}.${rng.int(256)}.${rng.int(256)}.${rng.int(256)}:${rng.int(65536)}`;
      return { text, value: text };
    }
    default:
      return stringValue(rng);
  }
}

/** Blank space between tokens: spaces and tabs only. */
function blanks(rng: Rng): string {
  return rng.chance(0.7) ? '' : rng.pick([' ', '  ', '\t', ' \t ']);
}

/** The end of a value in a map or at the top: a new line, ; or , with maybe a comment. */
function valueEnd(rng: Rng, inMap: boolean): string {
  const comment = rng.chance(0.2) ? ` ${rng.pick(['#', '//'])} ${word(rng, TEXT_CHARS)}` : '';
  if (comment !== '') return `${comment}\n${blankLines(rng)}`;
  return (
    rng.pick(inMap ? ['\n', ', ', '; ', ',\n', ' \n'] : ['\n', ';\n', ',\n', '; ', '\n\n']) +
    blankLines(rng)
  );
}

function blankLines(rng: Rng): string {
  if (!rng.chance(0.15)) return '';
  return rng.pick(['\n', '  # a comment\n', '// another\n', '\t\n']);
}

function separator(rng: Rng, value: string, inMap: boolean): string {
  if (value.startsWith('{') && rng.chance(0.5)) return rng.pick([' ', '\n', ' \n ']);
  const s = rng.pick([': ', ' = ', ' ', ':', '=', ' : ', '\t']);
  // In a map (not at the top) a new line may follow the separator.
  return inMap && s.trim() !== '' && rng.chance(0.1) ? `${s}\n  ` : s;
}

/** Entries of a map; `variables` lets values refer to earlier keys of this map. */
function entries(
  rng: Rng,
  depth: number,
  inMap: boolean,
  variables: boolean,
): { text: string; value: Record<string, unknown> } {
  const value: Record<string, unknown> = {};
  const used = new Set<string>();
  const names: string[] = [];
  let text = '';
  const n = rng.int(depth > 3 ? 3 : 7);
  for (let i = 0; i < n; i++) {
    const k = key(rng, used);
    let v: Gen;
    const ref = names.length > 0 && variables && rng.chance(0.15) ? rng.pick(names) : null;
    if (ref !== null) v = { text: `$${ref}`, value: value[ref] };
    else v = anyValue(rng, depth + 1);
    text += `${blanks(rng)}${k.text}${separator(rng, v.text, inMap)}${v.text}${blanks(rng)}${valueEnd(rng, inMap)}`;
    value[k.name] = v.value;
    if (!k.text.startsWith('"') && !k.text.startsWith("'")) names.push(k.name);
  }
  return { text, value };
}

function anyValue(rng: Rng, depth: number): Gen {
  const r = rng.int(10);
  if (depth < 6 && r === 0) {
    const m = entries(rng, depth, true, true);
    return { text: `{${rng.pick(['', ' ', '\n'])}${m.text}}`, value: m.value };
  }
  if (depth < 6 && r === 1) {
    const items: Gen[] = [];
    const n = rng.int(5);
    for (let i = 0; i < n; i++) items.push(anyValue(rng, depth + 1));
    let text = '[';
    items.forEach((it, i) => {
      text += `${rng.pick(['', ' ', '\n  '])}${it.text}`;
      if (i < items.length - 1) text += rng.pick([',', ', ', '\n', ' # c\n', ',\n']);
    });
    text += `${items.length > 0 && rng.chance(0.2) ? ',' : ''}${rng.pick(['', ' ', '\n'])}]`;
    return { text, value: items.map((it) => it.value) };
  }
  return scalar(rng);
}

/** A valid file, maybe with part of its top-level keys in an included file. */
function validFile(rng: Rng): {
  main: string;
  files: Record<string, string>;
  value: Record<string, unknown>;
} {
  const top = entries(rng, 0, false, false);
  if (!rng.chance(0.3)) return { main: top.text, files: {}, value: top.value };
  const inc = entries(rng, 0, false, false);
  const both: Record<string, unknown> = { ...top.value };
  for (const [k, v] of Object.entries(inc.value)) both[k] = v;
  return {
    main: `${top.text}include ${rng.pick(['inc.conf', './inc.conf', '"inc.conf"', "'sub/../inc.conf'"])}\n`,
    files: { '/cfg/inc.conf': inc.text },
    value: both,
  };
}

// --- random and mutated input -------------------------------------------------------

const PUNCT = [
  '{',
  '}',
  '[',
  ']',
  '(',
  ')',
  ':',
  '=',
  ',',
  ';',
  '#',
  '//',
  '"',
  "'",
  '\\',
  '$',
  '\n',
  ' ',
  '\t',
  '-',
  '.',
  'include ',
  '\\x',
  '1k',
  '2s',
  'true',
  'a',
  'b',
  '$A',
  '$2a$',
  '\r\n',
  ')\n',
];

function garbage(rng: Rng): string {
  let s = '';
  const n = rng.int(rng.chance(0.05) ? 2000 : 60);
  for (let i = 0; i < n; i++) {
    s += rng.chance(0.7)
      ? rng.pick(PUNCT)
      : String.fromCharCode(rng.int(rng.chance(0.9) ? 128 : 0x3000));
  }
  if (rng.chance(0.02)) s += rng.pick(['{', '[', 'a { ']).repeat(rng.range(50, 5000));
  return s;
}

function mutate(rng: Rng, text: string): string {
  let s = text;
  const n = rng.range(1, 4);
  for (let i = 0; i < n; i++) {
    const at = rng.int(s.length + 1);
    switch (rng.int(5)) {
      case 0:
        s = s.slice(0, at) + rng.pick(PUNCT) + s.slice(at);
        break;
      case 1:
        s = s.slice(0, at) + s.slice(at + rng.range(1, 8));
        break;
      case 2:
        s = `${s.slice(0, at)}${String.fromCharCode(rng.int(128))}${s.slice(at + 1)}`;
        break;
      case 3: {
        const from = rng.int(s.length + 1);
        s = s.slice(0, at) + s.slice(from, from + rng.range(1, 40)) + s.slice(at);
        break;
      }
      default:
        s = s.slice(0, at);
    }
  }
  return s;
}

/** Files the input may include: each other, themselves, garbage. */
function randomFiles(rng: Rng): Record<string, string> {
  return {
    '/cfg/a.conf': rng.chance(0.5) ? 'a: 1\ninclude b.conf' : garbage(rng),
    '/cfg/b.conf': rng.chance(0.5) ? 'include a.conf' : 'b { c: [1, 2] }',
    '/cfg/self.conf': 'x: 1\ninclude self.conf\n',
  };
}

const ENV: Record<string, string> = {
  A: '1',
  B: '$A',
  LOOP: '$LOOP',
  BAD: '"',
  LIST: '[1, {a: $A}]',
};

/** Parses; returns the document or the ConfigError, failing on anything else or on slowness. */
function parseChecked(text: string, files: Record<string, string>, context: string): unknown {
  const started = performance.now();
  let out: unknown;
  try {
    out = parseNatsConf(text, {
      source: '/cfg/main.conf',
      env: ENV,
      readInclude: (p) => {
        const f = files[p];
        if (f === undefined) throw new Error('no such file');
        return f;
      },
    });
  } catch (err) {
    withContext(`${context}\ninput: ${JSON.stringify(text.slice(0, 2000))}`, () => {
      assert.ok(err instanceof ConfigError, `threw ${String((err as Error)?.stack ?? err)}`);
      assert.match(err.key, /^(\/cfg\/[a-z/]+\.conf|environment variable \w+):\d+:\d+$/);
    });
    out = err;
  }
  const ms = performance.now() - started;
  withContext(`${context}\ninput: ${JSON.stringify(text.slice(0, 2000))}`, () => {
    assert.ok(ms < PARSE_MS_MAX, `took ${ms.toFixed(0)} ms`);
  });
  return out;
}

describe(`nats-server config parser fuzz (${SECONDS}s, seed ${SEED})`, () => {
  test('random text: a document or a ConfigError, promptly', (t) => {
    const rng = makeRng(subSeed(SEED, 1));
    const end = deadline();
    let cases = 0;
    let errors = 0;
    for (; cases < MIN_CASES || performance.now() < end; cases++) {
      const out = parseChecked(garbage(rng), randomFiles(rng), `seed ${SEED} random case ${cases}`);
      if (out instanceof ConfigError) errors++;
    }
    t.diagnostic(`${cases} cases (${errors} errors), WEFT_FUZZ_SEED=${SEED}`);
  });

  test('mutated valid files: a document or a ConfigError, promptly', (t) => {
    const rng = makeRng(subSeed(SEED, 2));
    const end = deadline();
    let cases = 0;
    let errors = 0;
    for (; cases < MIN_CASES || performance.now() < end; cases++) {
      const f = validFile(rng);
      let text = mutate(rng, f.main);
      if (rng.chance(0.2))
        text += `\n${rng.pick(['include a.conf', 'include self.conf', 'x: $A', 'y: $B', 'z: $LOOP', 'w: $BAD', 'v: $LIST', 'u: $NONE'])}\n`;
      const files = { ...randomFiles(rng), ...f.files };
      const out = parseChecked(text, files, `seed ${SEED} mutated case ${cases}`);
      if (out instanceof ConfigError) errors++;
    }
    t.diagnostic(`${cases} cases (${errors} errors), WEFT_FUZZ_SEED=${SEED}`);
    assert.ok(errors > 0, 'mutations found errors');
  });

  test('generated valid files: the values they were made from', (t) => {
    const rng = makeRng(subSeed(SEED, 3));
    const end = deadline();
    let cases = 0;
    for (; cases < MIN_CASES || performance.now() < end; cases++) {
      const f = validFile(rng);
      const context = `seed ${SEED} valid case ${cases}\nfile: ${JSON.stringify(f.main)}\nfiles: ${JSON.stringify(f.files)}`;
      const out = parseChecked(f.main, f.files, context);
      withContext(context, () => assert.deepEqual(out, f.value));
    }
    t.diagnostic(`${cases} cases, WEFT_FUZZ_SEED=${SEED}`);
  });
});
