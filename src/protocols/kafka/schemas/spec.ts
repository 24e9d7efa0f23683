/**
 * The shape of a Kafka message spec as tools/kafka-schemas.mjs writes it
 * (messages.ts): Apache Kafka's JSON schema with commonStructs resolved,
 * names in camelCase and version ranges as [min, max] (max 0x7fff = "N+").
 */

export type VersionRange = readonly [number, number];

export type PrimitiveType =
  | 'bool'
  | 'int8'
  | 'int16'
  | 'uint16'
  | 'int32'
  | 'uint32'
  | 'int64'
  | 'float64'
  | 'string'
  | 'bytes'
  | 'records'
  | 'uuid';

export type FieldType = PrimitiveType | `[]${PrimitiveType}` | 'struct' | '[]struct';

export interface FieldSpec {
  readonly name: string;
  readonly type: FieldType;
  /** The struct's name in Kafka's schema, for struct and []struct fields. */
  readonly struct?: string;
  readonly versions: VersionRange;
  readonly nullableVersions?: VersionRange;
  /** Tagged field: its tag, and the versions it is tagged in. */
  readonly tag?: number;
  readonly taggedVersions?: VersionRange | null;
  /** A field-level override (RequestHeader's ClientId is never compact). */
  readonly flexibleVersions?: VersionRange | null;
  readonly default?: number | bigint | string | boolean | null;
  readonly fields?: readonly FieldSpec[];
}

export interface MessageSpec {
  readonly name: string;
  readonly apiKey: number;
  readonly validVersions: VersionRange;
  readonly flexibleVersions: VersionRange | null;
  readonly fields: readonly FieldSpec[];
}

export function inRange(r: VersionRange | null | undefined, v: number): boolean {
  return r != null && v >= r[0] && v <= r[1];
}
