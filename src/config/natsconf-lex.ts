/**
 * The lexical rules of nats-server's configuration format (conf/lex.go,
 * conf/parse.go of nats-server 2.9), for src/config/natsconf.ts: which
 * characters end a value, string escapes, and the values that start with a
 * digit or `-` (integers, sizes, floats, IP addresses, datetimes).
 */

/** Reports a syntax error at an offset of the text; never returns. */
export type Fail = (at: number, why: string) => never;

/** Integer suffixes: `k` 1000, `kb`/`ki`/`kib` 1024, and so on up to `e` (any case). */
const SIZE_SUFFIXES: Readonly<Record<string, bigint>> = (() => {
  const out: Record<string, bigint> = { '': 1n };
  'kmgtpe'.split('').forEach((letter, i) => {
    const n = BigInt(i + 1);
    out[letter] = 1000n ** n;
    for (const bin of ['b', 'i', 'ib']) out[letter + bin] = 1024n ** n;
  });
  return out;
})();

/** Unquoted words that are booleans (matched in any case). */
export const BOOLEANS: Readonly<Record<string, boolean>> = {
  true: true,
  yes: true,
  on: true,
  false: false,
  no: false,
  off: false,
};

/** An unquoted `$2a$…` is a bcrypt hash, not a variable (nats-server: `2a$`; Weft also `2b$`, `2y$`). */
export const BCRYPT = /^2[aby]\$/;

const ESCAPES: Readonly<Record<string, string>> = {
  t: '\t',
  n: '\n',
  r: '\r',
  '"': '"',
  '\\': '\\',
};

/** A string built from text and `\xXX` bytes (bytes in a row are read as UTF-8, as Go does). */
export class TextBuilder {
  private readonly parts: string[] = [];
  private bytes: number[] = [];

  text(s: string): void {
    if (s === '') return;
    this.flush();
    this.parts.push(s);
  }

  byte(b: number): void {
    this.bytes.push(b);
  }

  done(): string {
    this.flush();
    return this.parts.join('');
  }

  private flush(): void {
    if (this.bytes.length === 0) return;
    this.parts.push(Buffer.from(this.bytes).toString('utf8'));
    this.bytes = [];
  }
}

/** Reads the escape at `at` (a backslash) into `out`; returns the offset after it. */
export function readEscape(text: string, at: number, out: TextBuilder, fail: Fail): number {
  const c = text[at + 1];
  const simple = c === undefined ? undefined : ESCAPES[c];
  if (simple !== undefined) {
    out.text(simple);
    return at + 2;
  }
  if (c === 'x') {
    const hex = text.slice(at + 2, at + 4);
    if (!/^[0-9a-fA-F]{2}$/.test(hex)) {
      fail(at, `expected two hexadecimal digits after \\x, got ${show(hex)}`);
    }
    out.byte(Number.parseInt(hex, 16));
    return at + 4;
  }
  return fail(
    at,
    `invalid escape \\${c ?? ''}: only \\xXX, \\t, \\n, \\r, \\" and \\\\ are allowed`,
  );
}

/**
 * A value at `at` that starts with a digit or `-`: an integer (with a size
 * suffix, an integer too), a float, an IP address (`127.0.0.1:4222`, a
 * string) or a datetime (kept as its text). Returns null when it is text
 * that only starts with digits (`2s`, `10ms`): an unquoted string.
 */
export function scanNumber(
  text: string,
  at: number,
  fail: Fail,
): { value: unknown; end: number } | null {
  const negative = text[at] === '-';
  let pos = negative ? at + 1 : at;
  if (negative && !isDigit(text[pos])) {
    fail(pos, `expected a digit after '-', got ${show(text[pos])}`);
  }
  while (isDigit(text[pos])) pos++;
  const c = text[pos];
  if (c === '-' && !negative) {
    if (pos - at !== 4) fail(at, 'a datetime must be in full Zulu form, as 2006-01-02T15:04:05Z');
    return { value: datetime(text, at, fail), end: at + 20 };
  }
  if (c === '.') return fraction(text, at, pos, fail);
  if (c !== undefined && 'kmgtpeKMGTPE'.includes(c)) {
    pos++;
    while ('bBiI'.includes(text[pos] ?? '.')) pos++;
    const after = text[pos];
    // `1ms` is text; `1k2` is the integer 1k, and then an error where the 2 is.
    if (after !== undefined && !numberEnds(after) && !isDigit(after)) return null;
  } else if (c !== undefined && !numberEnds(c) && !negative) {
    return null;
  }
  return { value: integer(text.slice(at, pos), at, fail), end: pos };
}

function integer(token: string, at: number, fail: Fail): number {
  const m = /^(-?\d+)(.*)$/.exec(token)!;
  const mult = SIZE_SUFFIXES[m[2]!.toLowerCase()];
  if (mult === undefined) {
    fail(at, `${token}: unknown size suffix ${JSON.stringify(m[2])} (k, kb, ki, kib, m, mb, …)`);
  }
  const n = BigInt(m[1]!) * mult;
  if (n > BigInt(Number.MAX_SAFE_INTEGER) || n < -BigInt(Number.MAX_SAFE_INTEGER)) {
    fail(at, `${token} is out of range (at most ${Number.MAX_SAFE_INTEGER})`);
  }
  return Number(n);
}

/** At the `.` after digits: a float, or an IP address (`127.0.0.1:4222`) as a string. */
function fraction(
  text: string,
  at: number,
  dot: number,
  fail: Fail,
): { value: unknown; end: number } {
  let pos = dot + 1;
  if (!isDigit(text[pos])) fail(pos, `expected a digit after '.', got ${show(text[pos])}`);
  while (isDigit(text[pos])) pos++;
  if (text[pos] === '.') {
    while (/[0-9.:-]/.test(text[pos] ?? '')) pos++;
    return { value: text.slice(at, pos), end: pos };
  }
  const n = Number(text.slice(at, pos));
  if (!Number.isFinite(n)) fail(at, `${text.slice(at, pos)} is out of range`);
  return { value: n, end: pos };
}

function datetime(text: string, at: number, fail: Fail): string {
  const s = text.slice(at, at + 20);
  if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(s)) {
    fail(at, 'a datetime must be in full Zulu form, as 2006-01-02T15:04:05Z');
  }
  const d = new Date(s);
  if (Number.isNaN(d.getTime()) || d.toISOString().slice(0, 19) !== s.slice(0, 19)) {
    fail(at, `${s} is not a valid date and time`);
  }
  return s;
}

export function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= '0' && c <= '9';
}

/** Go's unicode.IsSpace, as nats-server's lexer uses between keys and values. */
export function isSpace(c: string | undefined): boolean {
  return c !== undefined && /\s/.test(c) && c !== '\ufeff';
}

/** What ends an unquoted value; `]` ends strings too, and here numbers (nats-server reads `[1]` as ["1"]). */
export function ends(c: string): boolean {
  return c === '\n' || c === '\r' || c === ' ' || c === '\t' || c === ';' || c === ',' || c === '}';
}

function numberEnds(c: string): boolean {
  return ends(c) || c === ']';
}

/** A character (or the end) for an error message. */
export function show(c: string | undefined): string {
  if (c === undefined) return 'the end of the file';
  if (c === '\n' || c === '\r') return 'a new line';
  return JSON.stringify(c);
}
