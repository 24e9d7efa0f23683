/**
 * The rules for JetStream names (streams, consumers, and so KV buckets,
 * which are streams named `KV_<bucket>`), as nats-server 2.9 applies them,
 * with its error codes and texts. A stream's name is a directory name and a
 * durable's a file name under it, so lengths are counted in UTF-8 bytes,
 * as nats-server counts them (Go's `len`) and as file systems do (NAME_MAX
 * is 255 bytes on Linux file systems).
 */
import { StreamApiError } from './stream-errors.js';

/** nats-server's JSMaxNameLen: the longest stream or consumer name, in bytes. */
export const MAX_NAME_BYTES = 255;
/** nats-server's JSMaxDescriptionLen: the longest stream or consumer description, in bytes. */
export const MAX_DESCRIPTION_BYTES = 4096;

/** What nats-server's `isValidName` refuses: its whitespace, and the subject's `.`, `*`, `>`. */
const BAD_CHARS = /[ \t\r\n\f.*>]/;
const PATH_SEPARATORS = /[/\\]/;

export const NameErr = {
  StreamPathSeparators: () =>
    new StreamApiError(400, 10128, 'Stream name can not contain path separators'),
  StreamBadName: () =>
    new StreamApiError(500, 10052, "stream name is required and can not contain '.', '*', '>'"),
  StreamNameTooLong: () =>
    new StreamApiError(500, 10052, `stream name is too long, maximum allowed is ${MAX_NAME_BYTES}`),
  StreamDescriptionTooLong: () =>
    new StreamApiError(
      500,
      10052,
      `stream description is too long, maximum allowed is ${MAX_DESCRIPTION_BYTES}`,
    ),
  ConsumerPathSeparators: () =>
    new StreamApiError(400, 10127, 'Consumer name can not contain path separators'),
  ConsumerBadName: () =>
    new StreamApiError(400, 10103, "durable name can not contain '.', '*', '>'"),
  ConsumerNameTooLong: () =>
    new StreamApiError(
      400,
      10102,
      `consumer name is too long, maximum allowed is ${MAX_NAME_BYTES}`,
    ),
  ConsumerDescriptionTooLong: () =>
    new StreamApiError(
      400,
      10107,
      `consumer description is too long, maximum allowed is ${MAX_DESCRIPTION_BYTES}`,
    ),
} as const;

export function byteLength(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

export function hasPathSeparator(name: string): boolean {
  return PATH_SEPARATORS.test(name);
}

/** Why `name` can not name a stream (in nats-server's order of checks), or null. */
export function streamNameError(name: string): StreamApiError | null {
  if (hasPathSeparator(name)) return NameErr.StreamPathSeparators();
  if (name === '' || BAD_CHARS.test(name)) return NameErr.StreamBadName();
  if (byteLength(name) > MAX_NAME_BYTES) return NameErr.StreamNameTooLong();
  return null;
}

/** Why `name` can not name a consumer, or null. */
export function consumerNameError(name: string): StreamApiError | null {
  if (hasPathSeparator(name)) return NameErr.ConsumerPathSeparators();
  if (name === '' || BAD_CHARS.test(name)) return NameErr.ConsumerBadName();
  if (byteLength(name) > MAX_NAME_BYTES) return NameErr.ConsumerNameTooLong();
  return null;
}
