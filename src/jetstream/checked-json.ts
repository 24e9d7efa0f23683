/**
 * JSON files that say when they are damaged: the object is written with a
 * `checksum` field, the CRC-32 of the JSON of the other fields, so a byte
 * flipped inside a value (which may still parse: a digit, a letter of a
 * subject) is caught on reading instead of silently changing a stream's
 * config or a consumer's position. Used for stream.json and the durable
 * consumers' state files. Files written before the checksum (no such
 * field) are read as they are.
 */
import { crc32 } from '../streams/file-crc32.js';

const FIELD = 'checksum';

function sum(json: string): string {
  const b = Buffer.from(json);
  return `crc32:${crc32(b, 0, b.length).toString(16).padStart(8, '0')}`;
}

/** The JSON of `obj` with its checksum as the last field (`indent` as JSON.stringify's). */
export function checkedJson(obj: Record<string, unknown>, indent?: number): string {
  const json = JSON.stringify(obj);
  if (indent === undefined && json.length > 2 && !Object.hasOwn(obj, FIELD)) {
    // The same text as below, without a second JSON.stringify (a consumer
    // with 20,000 pending writes its state every 100 ms).
    return `${json.slice(0, -1)},${JSON.stringify(FIELD)}:${JSON.stringify(sum(json))}}`;
  }
  return JSON.stringify({ ...obj, [FIELD]: sum(json) }, null, indent);
}

/**
 * Parses `text` and checks its checksum (when it has one); the object
 * without the field. Throws SyntaxError for invalid JSON, Error
 * ('checksum mismatch') for damage.
 */
export function parseCheckedJson(text: string): Record<string, unknown> {
  const v = JSON.parse(text) as unknown;
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    throw new Error('not a JSON object');
  }
  const { [FIELD]: checksum, ...rest } = v as Record<string, unknown>;
  if (checksum === undefined) {
    // A file from before checksums — or one whose checksum's name was hit.
    const near = Object.keys(rest).find((k) => nearChecksum(k));
    if (near !== undefined) throw new Error(`damaged: field ${JSON.stringify(near)}`);
  } else if (checksum !== sum(JSON.stringify(rest))) {
    throw new Error('checksum mismatch (damaged)');
  }
  return rest;
}

/** `k` is FIELD with one character changed. */
function nearChecksum(k: string): boolean {
  if (k.length !== FIELD.length) return false;
  let diff = 0;
  for (let i = 0; i < k.length; i++) if (k[i] !== FIELD[i]) diff++;
  return diff === 1;
}
