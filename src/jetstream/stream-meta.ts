/**
 * A file stream's `stream.json` (its config and creation time), written
 * twice — `stream.json`, then the same bytes as `stream.json.bak` — each by
 * write-then-rename, with a CRC-32 of its contents inside, so damage is
 * detected (a flipped byte in a subject would otherwise parse into another
 * valid config) and one damaged copy is recovered from the other. Files
 * from before the checksum (no `checksum` field) are read as they are.
 *
 * Errors name the file by its base name only (`stream.json: …`): they may
 * reach clients; the caller's log adds the directory.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { StreamConfig } from '../streams/stream-config.js';
import { checkedJson, parseCheckedJson } from './checked-json.js';

export const META_FILE = 'stream.json';
export const META_COPY = 'stream.json.bak';

export interface StreamMeta {
  config: StreamConfig;
  created: string;
}

/** The text of a meta file: the fields, then their checksum. */
function render(meta: StreamMeta): string {
  return checkedJson({ config: meta.config, created: meta.created }, 2);
}

async function writeOne(file: string, text: string): Promise<void> {
  const tmp = `${file}.tmp`;
  await writeFile(tmp, text);
  await rename(tmp, file);
}

/** Writes both copies. */
export async function writeStreamMeta(dir: string, meta: StreamMeta): Promise<void> {
  const text = render(meta);
  await writeOne(path.join(dir, META_FILE), text);
  await writeOne(path.join(dir, META_COPY), text);
}

/** Reads and checks one copy; throws an Error whose message starts with the file's name. */
async function readOne(dir: string, name: string): Promise<StreamMeta> {
  let text: string;
  try {
    text = await readFile(path.join(dir, name), 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(`${name}: ${code === 'ENOENT' ? 'missing' : `cannot be read (${code})`}`);
  }
  let v: Record<string, unknown>;
  try {
    v = parseCheckedJson(text);
  } catch (err) {
    const e = err as Error;
    if (e instanceof SyntaxError) {
      throw new Error(`${name}: invalid JSON (${e.message}; ${text.length} bytes)`);
    }
    throw new Error(`${name}: ${e.message}`);
  }
  const m = v as Partial<StreamMeta>;
  if (
    typeof m.config !== 'object' ||
    m.config === null ||
    typeof m.created !== 'string' ||
    Number.isNaN(Date.parse(m.created))
  ) {
    throw new Error(`${name}: not a stream's metadata (config and created expected)`);
  }
  return { config: m.config, created: m.created };
}

export interface MetaRead {
  meta: StreamMeta | null;
  /** What was wrong with each damaged copy (empty when both were good). */
  problems: string[];
  /** One copy was damaged and has been rewritten from the other. */
  repaired: boolean;
}

/**
 * Reads a stream's metadata from whichever copy is intact, rewriting a
 * damaged copy from the good one. `meta` is null when neither is usable.
 */
export async function readStreamMeta(dir: string, repair = true): Promise<MetaRead> {
  const problems: string[] = [];
  let main: StreamMeta | null = null;
  let copy: StreamMeta | null = null;
  try {
    main = await readOne(dir, META_FILE);
  } catch (err) {
    problems.push((err as Error).message);
  }
  try {
    copy = await readOne(dir, META_COPY);
  } catch (err) {
    // A missing copy beside a good stream.json: written by a version before copies.
    if (main === null || !(err as Error).message.endsWith('missing')) {
      problems.push((err as Error).message);
    }
  }
  const meta = main ?? copy;
  if (meta === null) return { meta: null, problems, repaired: false };
  const repaired = problems.length > 0;
  const stale = main !== null && JSON.stringify(main) !== JSON.stringify(copy);
  if (repair && (repaired || stale)) await writeStreamMeta(dir, meta);
  return { meta, problems, repaired };
}
