/**
 * The catalogue of JetStream errors the stream layer and the API face
 * return: HTTP-like `code`, JetStream's `err_code` and the description,
 * copied from what nats-server 2.9 sends (clients match on `err_code`).
 */
import { StoreError } from './store.js';

export interface ApiErrorBody {
  code: number;
  err_code: number;
  description: string;
}

export class StreamApiError extends Error {
  constructor(
    readonly code: number,
    readonly errCode: number,
    description: string,
    /** What went wrong inside (a file system error, with the node's paths): logged, never sent. */
    cause?: unknown,
  ) {
    super(description, cause === undefined ? undefined : { cause });
    this.name = 'StreamApiError';
  }

  toJSON(): ApiErrorBody {
    return { code: this.code, err_code: this.errCode, description: this.message };
  }
}

/**
 * An error as a client may see it: a StreamApiError as it is; anything else
 * (a failed read, write or fsync; a bug) as nats-server's "stream store
 * failed" code with a generic text naming only the error's code (`EIO`,
 * `ENOSPC`, a StoreError's `io`), never the message, which names the node's paths. The original
 * is kept as `cause`, for the log.
 */
export function internalError(err: unknown): StreamApiError {
  if (err instanceof StreamApiError) return err;
  // The disk refuses writes (the store has logged it and reported it to /healthz).
  if (err instanceof StoreError && err.code === 'unwritable') return JsErr.InsufficientResources();
  const code = (err as { code?: unknown } | null)?.code;
  // An errno (`EIO`) or a store's kind of failure (`io`, `closed`): a word, never a path.
  const tag =
    typeof code === 'string' && /^[A-Za-z][A-Za-z0-9_]{0,31}$/.test(code) ? ` (${code})` : '';
  return new StreamApiError(503, 10077, `stream store failed${tag}`, err);
}

/** The detail of an internal error, for the log ('' for an error made for the client). */
export function internalDetail(err: StreamApiError): string {
  const c = err.cause;
  if (c === undefined) return '';
  return c instanceof Error ? c.message : String(c);
}

const e = (code: number, errCode: number, description: string) => (): StreamApiError =>
  new StreamApiError(code, errCode, description);

export const JsErr = {
  BadRequest: e(400, 10003, 'bad request'),
  InvalidJson: e(400, 10025, 'invalid JSON'),
  NoMessageFound: e(404, 10037, 'no message found'),
  StreamNameMismatch: e(400, 10056, 'stream name in subject does not match request'),
  StreamNameExists: e(400, 10058, 'stream name already in use with a different configuration'),
  StreamNotFound: e(404, 10059, 'stream not found'),
  StreamNotMatch: e(400, 10060, 'expected stream does not match'),
  SubjectsOverlap: e(400, 10065, 'subjects overlap with an existing stream'),
  MsgSizeExceeded: e(400, 10054, 'message size exceeds maximum allowed'),
  WrongLastSequence: (seq: number) => new StreamApiError(400, 10071, `wrong last sequence: ${seq}`),
  WrongLastMsgId: (id: string) => new StreamApiError(400, 10070, `wrong last msg ID: ${id}`),
  MaxMessages: e(503, 10077, 'maximum messages exceeded'),
  MaxBytes: e(503, 10077, 'maximum bytes exceeded'),
  MaxMsgsPerSubject: e(503, 10077, 'maximum messages per subject exceeded'),
  /** nats-server 2.9 reports configuration problems as 500/10052 with a reason. */
  InvalidConfig: (why: string) => new StreamApiError(500, 10052, why),
  Replicas: e(500, 10074, 'replicas > 1 not supported in non-clustered mode'),
  MsgDeleteFailed: e(500, 10057, 'no message found'),
  MirrorWithSubjects: e(400, 10034, 'stream mirrors can not contain subjects'),
  MirrorWithSources: e(400, 10031, 'stream mirrors can not also contain other sources'),
  MirrorNotUpdatable: e(400, 10055, 'stream mirror configuration can not be updated'),
  /** nats-server's JSStreamOfflineErr, with why (never a host path: clients see it). */
  StreamOffline: (why: string) => new StreamApiError(500, 10118, `stream is offline: ${why}`),
  /** `why` is sent to the client: never a caught error's message (use internalError). */
  StoreFailed: (why: string) => new StreamApiError(503, 10077, why),
  /** nats-server's answer when a stream's store can not be made (the detail is logged). */
  StreamStoreFailed: e(500, 10049, 'error creating store for stream'),
  /**
   * A write or fsync of the stream's store failed (full disk, I/O error):
   * what nats-server 2.9.10 answers a publish on a full disk with
   * (JSInsufficientResourcesErr; measured on a tmpfs — not 10047, which
   * is its storage reservation error at stream create).
   */
  InsufficientResources: e(503, 10023, 'insufficient resources'),
  /** Every API request in an account without JetStream (nats-server 2.9's JSNotEnabledForAccountErr). */
  NotEnabledForAccount: e(503, 10039, 'JetStream not enabled for account'),
  /** The account's `max_streams` (at stream create). */
  MaximumStreams: e(400, 10027, 'maximum number of streams reached'),
  /** The account's `max_consumers` or the stream's, per stream as nats-server 2.9 counts. */
  MaximumConsumers: e(400, 10026, 'maximum consumers limit reached'),
  /** A file stream's `max_bytes` does not fit the account's `max_file` reservation. */
  StorageResourcesExceeded: e(500, 10047, 'insufficient storage resources available'),
  /** A memory stream's `max_bytes` does not fit the account's `max_mem` reservation. */
  MemoryResourcesExceeded: e(500, 10028, 'insufficient memory resources available'),
  /** A publish that would take the account past `max_file`/`max_mem` (nats-server 2.9's PubAck error). */
  AccountResourcesExceeded: e(400, 10002, 'resource limits exceeded for account'),
  /** Not in nats-server 2.9 (it leaves unknown API subjects unanswered); an answer is kinder. */
  UnknownApi: (what: string) => new StreamApiError(400, 10003, `unknown JetStream API: ${what}`),
  NotSupported: (what: string) => new StreamApiError(400, 10003, `not supported yet: ${what}`),
} as const;

/** The error a publish the store refused or failed is told with (never the node's paths). */
export function storeFailure(err: unknown): StreamApiError {
  if (err instanceof StreamApiError) return err;
  if (err instanceof StoreError && err.code === 'too_large') return JsErr.MsgSizeExceeded();
  return internalError(err);
}
