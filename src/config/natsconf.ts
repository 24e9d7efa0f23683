/**
 * nats-server's configuration format, read into plain values: a pure
 * function (no I/O: includes come through `readInclude`, the environment
 * through `env`). The rules are nats-server 2.9's lexer and parser
 * (conf/lex.go, conf/parse.go), written anew:
 *
 * - `key: value`, `key = value` and `key value`; a value ends at a new line,
 *   `;` or `,` (and a top-level one at `}`); `#` and `//` start comments.
 * - `{ … }` is a map (keys separated as at the top), `[ … ]` an array (values
 *   separated by `,` or new lines); `key { … }` needs no separator.
 * - Strings: `"…"` with the escapes `\t \n \r \" \\ \xXX`, `'…'` raw, and
 *   unquoted text up to a space, new line or one of `; , ] }` (escapes too).
 *   `( … )` is raw text up to a `)` alone on a line.
 * - Unquoted `true/false/yes/no/on/off` (any case) are booleans.
 * - Numbers: integers, floats, and integers with a size suffix, which become
 *   integers: `k` 1000, `kb`/`ki`/`kib` 1024, and so on for `m`, `g`, `t`, `p`,
 *   `e` (any case). Text that starts with digits but is no number (`2s`,
 *   `10ms`) is a string, so durations reach Weft's converters as text; beware
 *   `1m`, which is 1000000 as in nats-server. `127.0.0.1:4222` is a string;
 *   `2006-01-02T15:04:05Z` is a datetime, kept as its text.
 * - `include path`: the file's keys are merged in place; the path is joined
 *   to the directory of the including file (even when it starts with `/`, as
 *   nats-server's filepath.Join does). An included file has its own scope.
 * - `$NAME`: the value of an earlier key in this map or an enclosing one, else
 *   the environment variable, read as a value of this format; else an error.
 *   `$2a$…` (and `$2b$`, `$2y$`) unquoted is a bcrypt hash, not a variable.
 *
 * Where nats-server accepts something by accident, Weft refuses it with an
 * error naming the place: a key with no value, an empty value (`a: ,`), an
 * unknown size suffix (`1kbb`), a lone `/` after a value; and a number before
 * `]` is a number (nats-server reads `[1]` as the string "1").
 */
import path from 'node:path';
import { ConfigError } from '../errors.js';
import {
  BCRYPT,
  BOOLEANS,
  ends,
  type Fail,
  isDigit,
  isSpace,
  readEscape,
  scanNumber,
  show,
  TextBuilder,
} from './natsconf-lex.js';

export interface NatsConfOptions {
  /** The file's name, for errors and for resolving its includes. */
  readonly source: string;
  /** Returns an included file's text; throws when it cannot. */
  readInclude(path: string): string;
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** Deepest nesting of maps and arrays (across includes): hostile input cannot exhaust the stack. */
export const NATSCONF_MAX_DEPTH = 64;
/** Deepest chain of includes (and of environment variables whose value names another): stops include loops. */
export const NATSCONF_MAX_INCLUDE_DEPTH = 10;
/** Most files one parse reads through includes. */
export const NATSCONF_MAX_FILES = 100;
/**
 * Most values in the document, counting a map or array again each time a
 * variable refers to it (`b: [$a, $a]`): a few lines cannot make a document
 * of billions of values for whoever walks it next.
 */
export const NATSCONF_MAX_VALUES = 1_000_000;

/** What one parse shares across its files. */
interface Run {
  readonly opts: NatsConfOptions;
  files: number;
  values: number;
  /** Values in each map and array, to count a variable's expansion. */
  readonly sizes: WeakMap<object, number>;
}

type Context = 'top' | 'map';

/** Keys of each parsed map whose value a `$NAME` used. */
const usedKeys = new WeakMap<object, Set<string>>();

/**
 * Whether `map[key]` was used as a variable (`$key`). nats-server ignores an
 * unknown key when it was, so a file may define variables beside its
 * settings (`TOKEN: s3cret` … `token: $TOKEN`); readers of a parsed
 * document should too.
 */
export function usedAsVariable(map: object, key: string): boolean {
  return usedKeys.get(map)?.has(key) ?? false;
}

/** Parses a nats-server configuration; throws a ConfigError naming `file:line:column`. */
export function parseNatsConf(text: string, opts: NatsConfOptions): Record<string, unknown> {
  const run: Run = { opts, files: 1, values: 0, sizes: new WeakMap() };
  return new Reader(text, opts.source, path.dirname(opts.source), run, 0, 0).document();
}

class Reader {
  private pos = 0;
  /** Maps being read, outermost first: where `$NAME` looks. */
  private readonly scopes: Record<string, unknown>[] = [];
  private readonly failAt: Fail = (at, why) => this.fail(at, why);

  constructor(
    private readonly text: string,
    private readonly source: string,
    /** Where this text's includes are resolved. */
    private readonly dir: string,
    private readonly run: Run,
    /** Includes (and environment variables) this text is nested in. */
    private readonly includeDepth: number,
    /** Maps and arrays this text is nested in. */
    private readonly baseDepth: number,
  ) {
    if (text.charCodeAt(0) === 0xfeff) this.pos = 1;
  }

  document(): Record<string, unknown> {
    const root: Record<string, unknown> = {};
    this.scopes.push(root);
    for (;;) {
      // nats-server skips braces around the whole file: `{ port: 4222 }`.
      this.skipFiller();
      const c = this.text[this.pos];
      if (c === '{' || c === '}') {
        this.pos++;
        continue;
      }
      if (c === undefined) break;
      this.entry(root, 'top', this.baseDepth);
    }
    this.scopes.pop();
    this.closed(root);
    return root;
  }

  // --- keys and entries ---------------------------------------------------------

  /** One `key value` (or `include path`) of a map, and what ends it. */
  private entry(map: Record<string, unknown>, ctx: Context, depth: number): void {
    const keyAt = this.pos;
    const c = this.text[this.pos];
    if (c === '=' || c === ':' || c === ',' || c === ';' || c === ']') {
      this.fail(keyAt, `expected a key, got ${show(c)}`);
    }
    let key: string;
    if (c === '"' || c === "'") {
      const end = this.text.indexOf(c, this.pos + 1);
      if (end < 0) this.fail(keyAt, `unterminated quoted key: expected a closing ${c}`);
      key = this.text.slice(this.pos + 1, end);
      this.pos = end + 1;
    } else {
      while (this.pos < this.text.length) {
        const k = this.text[this.pos]!;
        if (isSpace(k) || k === '=' || k === ':') break;
        this.pos++;
      }
      key = this.text.slice(keyAt, this.pos);
      if (key.toLowerCase() === 'include' && isSpace(this.text[this.pos])) {
        this.include(map, keyAt, depth);
        this.valueEnd(ctx, key);
        return;
      }
    }
    this.skipSpace();
    const sep = this.text[this.pos];
    if (sep === '=' || sep === ':') {
      this.pos++;
      // At the top a value must follow on the same line; in a map it may not.
      if (ctx === 'top') this.skipBlanks();
      else this.skipSpace();
    }
    const v = this.text[this.pos];
    if (v === undefined || (ctx === 'map' && v === '}')) {
      this.fail(this.pos, `expected a value for ${JSON.stringify(key)}, got ${show(v)}`);
    }
    set(map, key, this.value(depth));
    this.valueEnd(ctx, key);
  }

  /** After a value: blanks, then a comment, a new line, `;` or `,` (or the end of the map). */
  private valueEnd(ctx: Context, key: string): void {
    this.skipBlanks();
    const c = this.text[this.pos];
    if (c === undefined || c === '\n' || c === '\r' || c === ';' || c === ',') {
      if (c !== undefined) this.pos++;
      return;
    }
    if (c === '}') {
      if (ctx === 'top') this.pos++;
      return;
    }
    if (this.comment()) return;
    const ends = ctx === 'top' ? "a new line, ';' or a comment" : "a new line, ';', ',' or '}'";
    this.fail(
      this.pos,
      `expected ${ends} after the value of ${JSON.stringify(key)}, got ${show(c)}`,
    );
  }

  private include(map: Record<string, unknown>, keyAt: number, depth: number): void {
    this.skipBlanks();
    const at = this.pos;
    const c = this.text[this.pos];
    let name: string;
    if (c === '"' || c === "'") {
      const end = this.text.indexOf(c, at + 1);
      if (end < 0) this.fail(at, `unterminated quoted include path: expected a closing ${c}`);
      name = this.text.slice(at + 1, end);
      this.pos = end + 1;
    } else {
      if (c === undefined || '\n\r[{(-\\'.includes(c) || isDigit(c)) {
        this.fail(at, `expected a file name after include, got ${show(c)}`);
      }
      while (this.pos < this.text.length) {
        const k = this.text[this.pos]!;
        if (k === "'") {
          this.pos++;
          break;
        }
        if (k === '\n' || k === '\r' || k === ';' || k === '}' || k === ' ' || k === '\t') break;
        this.pos++;
      }
      name = this.text.slice(at, this.text[this.pos - 1] === "'" ? this.pos - 1 : this.pos);
    }
    const file = path.join(this.dir, name);
    if (this.includeDepth + 1 > NATSCONF_MAX_INCLUDE_DEPTH) {
      this.fail(
        keyAt,
        `include ${name}: includes nested deeper than ${NATSCONF_MAX_INCLUDE_DEPTH} (a file that includes itself?)`,
      );
    }
    if (++this.run.files > NATSCONF_MAX_FILES) {
      this.fail(keyAt, `include ${name}: more than ${NATSCONF_MAX_FILES} files included`);
    }
    let text: string;
    try {
      text = this.run.opts.readInclude(file);
    } catch (err) {
      const why = err instanceof ConfigError ? err.message : (err as Error).message;
      this.fail(keyAt, `cannot read include ${file}: ${why}`);
    }
    const sub = new Reader(text, file, path.dirname(file), this.run, this.includeDepth + 1, depth);
    for (const [k, v] of Object.entries(sub.document())) set(map, k, v);
  }

  // --- values --------------------------------------------------------------------

  private value(depth: number): unknown {
    this.skipBlanks();
    const at = this.pos;
    const c = this.text[at];
    let v: unknown;
    if (c === undefined || c === '\n' || c === '\r') {
      this.fail(at, `expected a value, got ${show(c)}`);
    } else if (c === '{' || c === '[') {
      if (depth + 1 > NATSCONF_MAX_DEPTH) {
        this.fail(at, `maps and arrays nested deeper than ${NATSCONF_MAX_DEPTH}`);
      }
      this.pos++;
      const container = c === '{' ? this.map(at, depth + 1) : this.array(at, depth + 1);
      this.closed(container);
      return container;
    } else if (c === '"') {
      v = this.doubleQuoted();
    } else if (c === "'") {
      const end = this.text.indexOf("'", at + 1);
      if (end < 0) this.fail(at, "unterminated string: expected a closing '");
      v = this.text.slice(at + 1, end);
      this.pos = end + 1;
    } else if (c === '(') {
      v = this.block();
    } else if (c === '-' || isDigit(c)) {
      const n = scanNumber(this.text, at, this.failAt);
      if (n === null) v = this.unquoted(at);
      else {
        v = n.value;
        this.pos = n.end;
      }
    } else if (c === '.') {
      this.fail(at, 'a number must start with a digit, not .');
    } else if (c === ',' || c === ';' || c === ']' || c === '}') {
      this.fail(at, `expected a value, got ${show(c)}`);
    } else {
      v = this.unquoted(at, depth);
    }
    this.add(1);
    return v;
  }

  private map(openAt: number, depth: number): Record<string, unknown> {
    const map: Record<string, unknown> = {};
    this.scopes.push(map);
    for (;;) {
      this.skipFiller();
      const c = this.text[this.pos];
      if (c === undefined) this.fail(openAt, "unterminated map: expected '}' for this '{'");
      if (c === '}') {
        this.pos++;
        break;
      }
      this.entry(map, 'map', depth);
    }
    this.scopes.pop();
    return map;
  }

  private array(openAt: number, depth: number): unknown[] {
    const list: unknown[] = [];
    for (;;) {
      this.skipFiller();
      const c = this.text[this.pos];
      if (c === undefined) this.fail(openAt, "unterminated array: expected ']' for this '['");
      if (c === ']') {
        this.pos++;
        break;
      }
      if (c === ',') this.fail(this.pos, "expected a value or ']', got ','");
      list.push(this.value(depth));
      this.skipBlanks();
      const e = this.text[this.pos];
      if (e === undefined) this.fail(openAt, "unterminated array: expected ']' for this '['");
      if (e === ',' || e === '\n' || e === '\r' || e === ']') {
        this.pos++;
        if (e === ']') break;
      } else if (!this.comment()) {
        this.fail(this.pos, `expected ',', a new line or ']' after an array value, got ${show(e)}`);
      }
    }
    return list;
  }

  private doubleQuoted(): string {
    const at = this.pos;
    this.pos++;
    const out = new TextBuilder();
    let from = this.pos;
    for (;;) {
      const c = this.text[this.pos];
      if (c === undefined) this.fail(at, 'unterminated string: expected a closing "');
      if (c === '"') break;
      if (c === '\\') {
        out.text(this.text.slice(from, this.pos));
        this.pos = readEscape(this.text, this.pos, out, this.failAt);
        from = this.pos;
      } else this.pos++;
    }
    out.text(this.text.slice(from, this.pos));
    this.pos++;
    return out.done();
  }

  /**
   * Unquoted text from `at`: a string, or (with `depth`, where a value
   * starts) a boolean or `$VARIABLE` when it has no escapes. It also ends at
   * (and swallows) a `'`, as in nats-server.
   */
  private unquoted(at: number, depth?: number): unknown {
    this.pos = at;
    const out = new TextBuilder();
    let from = at;
    let escaped = false;
    let quote = false;
    for (;;) {
      const c = this.text[this.pos];
      if (c === undefined || ends(c) || c === ']') break;
      if (c === "'") {
        quote = true;
        break;
      }
      if (c === '\\') {
        escaped = true;
        out.text(this.text.slice(from, this.pos));
        this.pos = readEscape(this.text, this.pos, out, this.failAt);
        from = this.pos;
      } else this.pos++;
    }
    out.text(this.text.slice(from, this.pos));
    if (quote) this.pos++;
    const s = out.done();
    if (depth === undefined || escaped || quote) return s;
    const bool = BOOLEANS[s.toLowerCase()];
    if (bool !== undefined) return bool;
    if (s.startsWith('$')) return this.variable(s.slice(1), at, depth);
    return s;
  }

  /** `( … )`: the text up to a `)` alone on its line (the new line before it included). */
  private block(): string {
    const at = this.pos;
    let i = at + 1;
    for (;;) {
      const nl = this.text.indexOf('\n)', i);
      if (nl < 0) this.fail(at, "unterminated ( block: expected ')' alone on a line");
      const after = this.text[nl + 2];
      if (after === undefined || after === '\n') {
        this.pos = nl + 2;
        return this.text.slice(at + 1, nl + 1);
      }
      i = nl + 1;
    }
  }

  /** `$name` at `at` (the caller counts one value; a repeated map or array counts its size). */
  private variable(name: string, at: number, depth: number): unknown {
    if (BCRYPT.test(name)) return `$${name}`;
    for (let i = this.scopes.length - 1; i >= 0; i--) {
      const scope = this.scopes[i]!;
      if (Object.hasOwn(scope, name)) {
        const used = usedKeys.get(scope);
        if (used === undefined) usedKeys.set(scope, new Set([name]));
        else used.add(name);
        const v = scope[name];
        if (v !== null && typeof v === 'object') this.add((this.run.sizes.get(v) ?? 1) - 1);
        return v;
      }
    }
    const env = this.run.opts.env[name];
    if (env === undefined) {
      this.fail(
        at,
        `unknown variable $${name}: no key ${JSON.stringify(name)} before it in this map or an enclosing one, and no such environment variable`,
      );
    }
    if (this.includeDepth + 1 > NATSCONF_MAX_INCLUDE_DEPTH) {
      this.fail(at, `variable $${name}: environment variables refer to each other too deeply`);
    }
    // nats-server reads the variable's text as the value of a key `pk`.
    const key = 'pk';
    try {
      const doc = new Reader(
        `${key}=${env}`,
        `environment variable ${name}`,
        this.dir,
        this.run,
        this.includeDepth + 1,
        depth,
      ).document();
      if (!Object.hasOwn(doc, key)) throw new ConfigError(name, 'no value');
      return doc[key];
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      return this.fail(at, `variable $${name} from the environment: ${err.message}`);
    }
  }

  // --- filler ----------------------------------------------------------------------

  /** Spaces and tabs. */
  private skipBlanks(): void {
    for (;;) {
      const c = this.text[this.pos];
      if (c !== ' ' && c !== '\t') return;
      this.pos++;
    }
  }

  /** All white space, new lines included. */
  private skipSpace(): void {
    while (isSpace(this.text[this.pos])) this.pos++;
  }

  /** White space and comments, where a key or an array value may start. */
  private skipFiller(): void {
    for (;;) {
      this.skipSpace();
      if (!this.comment()) return;
    }
  }

  /** A `#` or `//` comment up to (not including) the end of its line. */
  private comment(): boolean {
    const c = this.text[this.pos];
    if (c !== '#' && !(c === '/' && this.text[this.pos + 1] === '/')) return false;
    while (this.pos < this.text.length) {
      const k = this.text[this.pos];
      if (k === '\n' || k === '\r') break;
      this.pos++;
    }
    return true;
  }

  // --- bookkeeping -------------------------------------------------------------------

  /** Counts a map or array just read, and records its size (its members were counted as read). */
  private closed(container: object): void {
    let size = 1;
    for (const v of Object.values(container)) {
      size += v !== null && typeof v === 'object' ? (this.run.sizes.get(v) ?? 1) : 1;
    }
    this.run.sizes.set(container, size);
    this.add(1);
  }

  private add(n: number): void {
    this.run.values += n;
    if (this.run.values > NATSCONF_MAX_VALUES) {
      this.fail(
        this.pos,
        `more than ${NATSCONF_MAX_VALUES} values (variables that repeat maps and arrays count each time)`,
      );
    }
  }

  private fail(at: number, why: string): never {
    let line = 1;
    let lineStart = 0;
    for (let i = 0; i < at && i < this.text.length; i++) {
      if (this.text.charCodeAt(i) === 10) {
        line++;
        lineStart = i + 1;
      }
    }
    throw new ConfigError(`${this.source}:${line}:${at - lineStart + 1}`, why);
  }
}

/** Sets a key as an own property, even `__proto__`. */
function set(map: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(map, key, { value, enumerable: true, writable: true, configurable: true });
}
