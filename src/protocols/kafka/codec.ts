/**
 * Kafka requests and responses by spec and version (schemas/messages.ts,
 * generated from Apache Kafka's JSON schemas). No I/O.
 *
 * Values are plain objects with the schema's field names in camelCase:
 * int64 fields are bigint, uuids 32 lowercase hex digits, bytes Buffers
 * (views of the frame on decode), records a Buffer view on decode and a
 * Buffer, a list of Buffers or null on encode. On decode, a field the
 * version lacks gets its default; on encode, a field left undefined is
 * written as its default, so handlers name only what they mean.
 *
 * Flexible versions (KIP-482): compact strings/bytes/arrays (unsigned varint
 * length + 1, 0 = null) and a tagged-field section after every struct;
 * unknown tags are skipped on read, known ones are written only when they
 * differ from their default (as Kafka does).
 */
import { API_VERSIONS, REQUESTS, RESPONSES } from './schemas/messages.js';
import { type FieldSpec, inRange, type MessageSpec } from './schemas/spec.js';
import { KafkaCodecError, Reader, StringMemo, Writer, ZERO_UUID } from './wire.js';

export type Message = Record<string, unknown>;

enum Kind {
  Bool,
  Int8,
  Int16,
  Uint16,
  Int32,
  Uint32,
  Int64,
  Float64,
  String,
  Bytes,
  Records,
  Uuid,
  Struct,
}

const KINDS: Record<string, Kind> = {
  bool: Kind.Bool,
  int8: Kind.Int8,
  int16: Kind.Int16,
  uint16: Kind.Uint16,
  int32: Kind.Int32,
  uint32: Kind.Uint32,
  int64: Kind.Int64,
  float64: Kind.Float64,
  string: Kind.String,
  bytes: Kind.Bytes,
  records: Kind.Records,
  uuid: Kind.Uuid,
  struct: Kind.Struct,
};

/** One field, compiled for one version. */
interface PlanField {
  readonly name: string;
  readonly kind: Kind;
  readonly array: boolean;
  readonly nullable: boolean;
  readonly compact: boolean;
  readonly tag: number;
  readonly sub: Plan | null;
  readonly spec: FieldSpec;
}

/** A struct compiled for one version: what to read and write, in order. */
interface Plan {
  readonly flexible: boolean;
  readonly fields: readonly PlanField[];
  readonly tagged: readonly PlanField[];
  readonly byTag: ReadonlyMap<number, PlanField>;
  /** Fields this version does not carry: decoded as their defaults. */
  readonly absent: readonly FieldSpec[];
}

function compile(fields: readonly FieldSpec[], version: number, flexible: boolean): Plan {
  const plain: PlanField[] = [];
  const tagged: PlanField[] = [];
  const absent: FieldSpec[] = [];
  for (const f of fields) {
    if (!inRange(f.versions, version)) {
      absent.push(f);
      continue;
    }
    const array = f.type.startsWith('[]');
    const kind = KINDS[array ? f.type.slice(2) : f.type];
    const compact =
      f.flexibleVersions !== undefined ? inRange(f.flexibleVersions, version) : flexible;
    const isTagged = f.tag !== undefined && inRange(f.taggedVersions, version);
    const p: PlanField = {
      name: f.name,
      kind,
      array,
      nullable: inRange(f.nullableVersions, version),
      compact,
      tag: isTagged ? (f.tag as number) : -1,
      sub: kind === Kind.Struct ? compile(f.fields ?? [], version, flexible) : null,
      spec: f,
    };
    (isTagged ? tagged : plain).push(p);
  }
  tagged.sort((a, b) => a.tag - b.tag);
  return { flexible, fields: plain, tagged, byTag: new Map(tagged.map((t) => [t.tag, t])), absent };
}

const plans = new WeakMap<MessageSpec, Map<number, Plan>>();

function planOf(spec: MessageSpec, version: number): Plan {
  let byVersion = plans.get(spec);
  if (byVersion === undefined) {
    byVersion = new Map();
    plans.set(spec, byVersion);
  }
  let plan = byVersion.get(version);
  if (plan === undefined) {
    if (!inRange(spec.validVersions, version)) {
      throw new KafkaCodecError(
        'UNSUPPORTED_VERSION',
        `${spec.name} v${version} is not served (${spec.validVersions[0]}-${spec.validVersions[1]})`,
      );
    }
    plan = compile(spec.fields, version, inRange(spec.flexibleVersions, version));
    byVersion.set(version, plan);
  }
  return plan;
}

// --- defaults ------------------------------------------------------------------

/** The value a field has when the version lacks it or the encoder is not given it. */
export function defaultOf(f: FieldSpec): unknown {
  if (f.default !== undefined) return f.default;
  if (f.type.startsWith('[]')) return [];
  switch (f.type) {
    case 'bool':
      return false;
    case 'int64':
      return 0n;
    case 'string':
      return '';
    case 'bytes':
      return Buffer.alloc(0);
    case 'records':
      // Kafka sends an empty record set, never null, for a partition with
      // nothing to return; librdkafka 2.0 refuses a null one ("invalid
      // MessageSetSize -1").
      return Buffer.alloc(0);
    case 'uuid':
      return ZERO_UUID;
    case 'struct':
      return defaultsOf(f.fields ?? []);
    default:
      return 0;
  }
}

function defaultsOf(fields: readonly FieldSpec[]): Message {
  const m: Message = {};
  for (const f of fields) m[f.name] = defaultOf(f);
  return m;
}

function isDefault(f: FieldSpec, v: unknown): boolean {
  if (v === undefined) return true;
  const d = defaultOf(f);
  if (v === d) return true;
  if (Array.isArray(v)) return v.length === 0 && Array.isArray(d);
  if (Buffer.isBuffer(v)) return Buffer.isBuffer(d) && v.equals(d);
  if (v !== null && typeof v === 'object' && d !== null && typeof d === 'object') {
    for (const sub of f.fields ?? []) {
      if (!isDefault(sub, (v as Message)[sub.name])) return false;
    }
    return true;
  }
  return false;
}

// --- decoding ------------------------------------------------------------------

/** An array's count: compact = unsigned varint of count + 1 (0 = null), classic = int32 (-1 = null). */
function readCount(r: Reader, p: PlanField): number {
  return p.compact ? r.uvarint() - 1 : r.int32();
}

function readValue(r: Reader, p: PlanField): unknown {
  switch (p.kind) {
    case Kind.Bool:
      return r.bool();
    case Kind.Int8:
      return r.int8();
    case Kind.Int16:
      return r.int16();
    case Kind.Uint16:
      return r.uint16();
    case Kind.Int32:
      return r.int32();
    case Kind.Uint32:
      return r.uint32();
    case Kind.Int64:
      return r.int64();
    case Kind.Float64:
      return r.float64();
    case Kind.Uuid:
      return r.uuid();
    case Kind.String: {
      const n = p.compact ? r.uvarint() - 1 : r.int16();
      if (n < 0) return nullOrThrow(p, n);
      return r.utf8(n, p.name);
    }
    case Kind.Bytes:
    case Kind.Records: {
      const n = p.compact ? r.uvarint() - 1 : r.int32();
      if (n < 0) return nullOrThrow(p, n);
      return r.bytes(n, p.name);
    }
    case Kind.Struct:
      return readStruct(r, p.sub as Plan);
  }
}

function nullOrThrow(p: PlanField, n: number): null {
  if (n === -1 && p.nullable) return null;
  throw new KafkaCodecError(
    'BAD_LENGTH',
    `${p.name}: length ${n} where ${p.nullable ? 'only -1 means null' : 'null is not allowed'}`,
  );
}

function readField(r: Reader, p: PlanField): unknown {
  if (p.array) {
    const n = readCount(r, p);
    if (n < 0) return nullOrThrow(p, n);
    r.count(n, p.name);
    const out = new Array(n);
    for (let i = 0; i < n; i++) out[i] = readValue(r, p);
    return out;
  }
  if (p.kind === Kind.Struct && p.nullable) {
    // A nullable struct carries an int8 presence marker (-1 null, 1 present).
    if (r.int8() < 0) return null;
  }
  return readValue(r, p);
}

function readStruct(r: Reader, plan: Plan): Message {
  const m: Message = {};
  for (const f of plan.absent) m[f.name] = defaultOf(f);
  for (const p of plan.fields) m[p.name] = readField(r, p);
  for (const p of plan.tagged) m[p.name] = defaultOf(p.spec);
  if (plan.flexible) readTagged(r, plan, m);
  return m;
}

function readTagged(r: Reader, plan: Plan, m: Message): void {
  const n = r.count(r.uvarint(), 'tagged fields');
  let last = -1;
  for (let i = 0; i < n; i++) {
    const tag = r.uvarint();
    if (tag <= last)
      throw new KafkaCodecError(
        'BAD_VALUE',
        `tagged fields: tag ${tag} after ${last} (must ascend)`,
      );
    last = tag;
    const size = r.uvarint();
    r.need(size, `tagged field ${tag}`);
    const end = r.pos + size;
    const p = plan.byTag.get(tag);
    if (p !== undefined) {
      const sub = new Reader(r.buf, r.pos, end);
      m[p.name] = readField(sub, p);
    }
    r.pos = end;
  }
}

/** Decodes a message body of `spec` at `version` from r (which it advances). */
export function decodeMessage(spec: MessageSpec, version: number, r: Reader): Message {
  return readStruct(r, planOf(spec, version));
}

// --- encoding ------------------------------------------------------------------

function writeLength(w: Writer, p: PlanField, n: number, classicInt16: boolean): void {
  if (p.compact) w.uvarint(n + 1);
  else if (classicInt16) w.int16(n);
  else w.int32(n);
}

function badNull(p: PlanField): never {
  throw new KafkaCodecError('BAD_VALUE', `${p.name}: null in a version where it is not nullable`);
}

function writeValue(w: Writer, p: PlanField, v: unknown): void {
  switch (p.kind) {
    case Kind.Bool:
      w.bool(v as boolean);
      return;
    case Kind.Int8:
      w.int8(v as number);
      return;
    case Kind.Int16:
      w.int16(v as number);
      return;
    case Kind.Uint16:
      w.uint16(v as number);
      return;
    case Kind.Int32:
      w.int32(v as number);
      return;
    case Kind.Uint32:
      w.uint32(v as number);
      return;
    case Kind.Int64:
      w.int64(BigInt(v as bigint | number));
      return;
    case Kind.Float64:
      w.float64(v as number);
      return;
    case Kind.Uuid:
      w.uuid(v as string);
      return;
    case Kind.String: {
      if (v === null) {
        if (!p.nullable) badNull(p);
        writeLength(w, p, -1, true);
        return;
      }
      const s = v as string;
      const n = Buffer.byteLength(s);
      if (!p.compact && n > 0x7fff)
        throw new KafkaCodecError('BAD_VALUE', `${p.name}: string of ${n} bytes over 32767`);
      writeLength(w, p, n, true);
      w.utf8(s, n);
      return;
    }
    case Kind.Bytes:
    case Kind.Records: {
      if (v === null) {
        if (!p.nullable) badNull(p);
        writeLength(w, p, -1, false);
        return;
      }
      if (Array.isArray(v)) {
        let n = 0;
        for (const b of v as Buffer[]) n += b.length;
        writeLength(w, p, n, false);
        for (const b of v as Buffer[]) w.raw(b);
        return;
      }
      const b = v as Buffer;
      writeLength(w, p, b.length, false);
      w.raw(b);
      return;
    }
    case Kind.Struct:
      writeStruct(w, p.sub as Plan, v as Message);
      return;
  }
}

function writeField(w: Writer, p: PlanField, given: unknown): void {
  const v = given === undefined ? defaultOf(p.spec) : given;
  if (p.array) {
    if (v === null) {
      if (!p.nullable) badNull(p);
      writeLength(w, p, -1, false);
      return;
    }
    const list = v as unknown[];
    writeLength(w, p, list.length, false);
    for (const item of list) writeValue(w, p, item);
    return;
  }
  if (p.kind === Kind.Struct && p.nullable) {
    w.int8(v === null ? -1 : 1);
    if (v === null) return;
  } else if (p.kind === Kind.Struct && v === null) badNull(p);
  writeValue(w, p, v);
}

function writeStruct(w: Writer, plan: Plan, m: Message): void {
  for (const p of plan.fields) writeField(w, p, m[p.name]);
  if (!plan.flexible) return;
  const present = plan.tagged.filter((p) => !isDefault(p.spec, m[p.name]));
  w.uvarint(present.length);
  for (const p of present) {
    const sub = new Writer(64);
    writeField(sub, p, m[p.name]);
    const bytes = sub.toBuffer();
    w.uvarint(p.tag);
    w.uvarint(bytes.length);
    w.raw(bytes);
  }
}

/**
 * Encodes a message body of `spec` at `version` into w. A value the field
 * cannot hold (an int16 of 40000, a string where bytes go) is a
 * KafkaCodecError('BAD_VALUE') naming the message, not a RangeError.
 */
export function encodeMessage(spec: MessageSpec, version: number, m: Message, w: Writer): void {
  const plan = planOf(spec, version);
  try {
    writeStruct(w, plan, m);
  } catch (err) {
    if (err instanceof KafkaCodecError) throw err;
    throw new KafkaCodecError('BAD_VALUE', `${spec.name} v${version}: ${(err as Error).message}`);
  }
}

// --- APIs, headers and frames ----------------------------------------------------

export const ApiKey = {
  Produce: 0,
  Fetch: 1,
  ListOffsets: 2,
  Metadata: 3,
  OffsetCommit: 8,
  OffsetFetch: 9,
  FindCoordinator: 10,
  JoinGroup: 11,
  Heartbeat: 12,
  LeaveGroup: 13,
  SyncGroup: 14,
  DescribeGroups: 15,
  ListGroups: 16,
  SaslHandshake: 17,
  ApiVersions: 18,
  CreateTopics: 19,
  DeleteTopics: 20,
  InitProducerId: 22,
  DescribeConfigs: 32,
  SaslAuthenticate: 36,
  CreatePartitions: 37,
  DeleteGroups: 42,
} as const;

/** The served versions per API key: the ApiVersions response's list. */
export const SUPPORTED: ReadonlyMap<number, { name: string; min: number; max: number }> = new Map(
  API_VERSIONS.map(([key, name, min, max]) => [key, { name, min, max }]),
);

export function isSupported(apiKey: number, version: number): boolean {
  const s = SUPPORTED.get(apiKey);
  return s !== undefined && version >= s.min && version <= s.max;
}

/**
 * Whether a request of this API and version is flexible. Kafka's flexible
 * ranges are all "N+", so a version above ours is flexible too: that is
 * how the header of an ApiVersions request newer than we serve is read.
 */
export function isFlexible(apiKey: number, version: number): boolean {
  const f = REQUESTS.get(apiKey)?.flexibleVersions;
  return f != null && version >= f[0];
}

export interface RequestHeader {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  /** Null when the client sent a null client id. */
  clientId: string | null;
}

/** The last client id read: a connection sends the same one in every request. */
const clientIds = new StringMemo();

/** Request header v1 (non-flexible) or v2 (flexible: adds a tagged-field section). */
export function decodeRequestHeader(r: Reader): RequestHeader {
  const apiKey = r.int16();
  const apiVersion = r.int16();
  const correlationId = r.int32();
  // ClientId is a classic nullable string even in header v2 (RequestHeader.json).
  const n = r.int16();
  if (n < -1) throw new KafkaCodecError('BAD_LENGTH', `clientId: length ${n}`);
  let clientId: string | null = null;
  if (n >= 0) {
    r.need(n, 'clientId');
    clientId = clientIds.utf8(r.buf, r.pos, n);
    r.pos += n;
  }
  if (isFlexible(apiKey, apiVersion)) skipTagged(r);
  return { apiKey, apiVersion, correlationId, clientId };
}

function skipTagged(r: Reader): void {
  const n = r.count(r.uvarint(), 'header tagged fields');
  for (let i = 0; i < n; i++) {
    r.uvarint();
    r.bytes(r.uvarint(), 'header tagged field');
  }
}

export interface DecodedRequest {
  header: RequestHeader;
  body: Message;
}

/**
 * Decodes one request frame (without its 4-byte size). An API or version
 * not served throws UNSUPPORTED_VERSION after the header is read: use
 * decodeRequestHeader first when the header is needed to answer.
 */
export function decodeRequest(frame: Buffer): DecodedRequest {
  const r = new Reader(frame);
  const header = decodeRequestHeader(r);
  return { header, body: decodeRequestBody(header, r) };
}

export function decodeRequestBody(header: RequestHeader, r: Reader): Message {
  const spec = REQUESTS.get(header.apiKey);
  if (spec === undefined)
    throw new KafkaCodecError('UNSUPPORTED_VERSION', `API key ${header.apiKey} is not served`);
  return decodeMessage(spec, header.apiVersion, r);
}

/** Response header v0 (correlation id) or v1 (plus tagged fields); ApiVersions always v0. */
export function responseHeaderVersion(apiKey: number, version: number): 0 | 1 {
  if (apiKey === ApiKey.ApiVersions) return 0;
  return isFlexible(apiKey, version) ? 1 : 0;
}

/**
 * Encodes a response frame: size, header, body. Returns the buffers for
 * writev; record blobs of REF_MIN_BYTES or more are among them by reference.
 */
export function encodeResponse(
  apiKey: number,
  version: number,
  correlationId: number,
  body: Message,
): Buffer[] {
  const spec = RESPONSES.get(apiKey);
  if (spec === undefined)
    throw new KafkaCodecError('UNSUPPORTED_VERSION', `API key ${apiKey} is not served`);
  const w = new Writer();
  const setSize = w.reserveInt32();
  w.int32(correlationId);
  if (responseHeaderVersion(apiKey, version) === 1) w.uvarint(0);
  encodeMessage(spec, version, body, w);
  setSize(w.length - 4);
  return w.chunksOut();
}

/** Encodes a request frame (for clients: tests and the benchmark). */
export function encodeRequest(header: RequestHeader, body: Message): Buffer[] {
  const spec = REQUESTS.get(header.apiKey);
  if (spec === undefined)
    throw new KafkaCodecError('UNSUPPORTED_VERSION', `API key ${header.apiKey} is not served`);
  const w = new Writer();
  const setSize = w.reserveInt32();
  w.int16(header.apiKey);
  w.int16(header.apiVersion);
  w.int32(header.correlationId);
  if (header.clientId === null) w.int16(-1);
  else {
    const n = Buffer.byteLength(header.clientId);
    w.int16(n);
    w.utf8(header.clientId, n);
  }
  if (isFlexible(header.apiKey, header.apiVersion)) w.uvarint(0);
  encodeMessage(spec, header.apiVersion, body, w);
  setSize(w.length - 4);
  return w.chunksOut();
}

/** Decodes a response frame (without its size) of a request the caller sent. */
export function decodeResponse(
  apiKey: number,
  version: number,
  frame: Buffer,
): { correlationId: number; body: Message } {
  const spec = RESPONSES.get(apiKey);
  if (spec === undefined)
    throw new KafkaCodecError('UNSUPPORTED_VERSION', `API key ${apiKey} is not served`);
  const r = new Reader(frame);
  const correlationId = r.int32();
  if (responseHeaderVersion(apiKey, version) === 1) skipTagged(r);
  return { correlationId, body: decodeMessage(spec, version, r) };
}

/** The request and response specs, for tests and tools. */
export { REQUESTS, RESPONSES };
