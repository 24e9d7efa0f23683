#!/usr/bin/env node
/**
 * Generates src/protocols/kafka/schemas/messages.ts from Apache Kafka's
 * message schemas (clients/src/main/resources/common/message/*.json), read
 * from a git repository of Kafka's source:
 *
 *   node tools/kafka-schemas.mjs [/work/.mirror/apache+kafka/repo] [rev]
 *
 * (defaults: that bare mirror, HEAD). The output is committed, so building
 * and CI never need the Kafka repository. Rerun after changing RANGES below
 * and commit the result with `npm run format` applied.
 *
 * What it does: strips the // comments, parses each schema, resolves
 * commonStructs into the fields that use them, keeps only the fields that
 * exist in the version range we serve, and writes one table entry per message.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = process.argv[2] ?? '/work/.mirror/apache+kafka/repo';
const REV = process.argv[3] ?? 'HEAD';
const DIR = 'clients/src/main/resources/common/message';
const OUT = join(dirname(fileURLToPath(import.meta.url)), '../src/protocols/kafka/schemas/messages.ts');

/**
 * The versions this broker serves, per API: [name, apiKey, min, max, notes].
 * A client negotiates min(its max, our max), so the max decides what clients
 * use; the min only turns away clients older than every one we test with.
 * The maxima are Kafka 3.x's except where a later version needs what the
 * face does not have (topic ids, KIP-848 groups): the Java 3.x client, whose
 * maxima are higher, uses ours. Notes give each client's version in use:
 * kafkajs 2.2's from its source; `*` measured against a broker offering these
 * ranges (librdkafka 2.0.2 through kcat and confluent_kafka, kafka-python
 * 2.0.2).
 */
const RANGES = [
  ['Produce', 0, 3, 9, 'v0-2 (message sets v0/v1) refused. kafkajs 7; librdkafka 2.0.2 7*; kafka-python 2.0.2 7*'],
  ['Fetch', 1, 4, 12, 'v13+ name topics by id (not served). kafkajs 11; librdkafka 11*'],
  ['ListOffsets', 2, 1, 7, 'v0 (offset arrays) dropped, as Kafka 4 does. kafkajs 3; librdkafka 2*'],
  ['Metadata', 3, 0, 12, 'v10+ carry topic ids. kafkajs 6; librdkafka 4*; kafka-python 0*'],
  ['OffsetCommit', 8, 0, 8, 'v9 is the KIP-848 protocol. kafkajs 5'],
  ['OffsetFetch', 9, 1, 8, 'v0 read ZooKeeper offsets. kafkajs 4'],
  ['FindCoordinator', 10, 0, 4, 'v4 batches keys. kafkajs 2; librdkafka 2*; kafka-python 0*'],
  ['JoinGroup', 11, 0, 9, 'kafkajs 5; librdkafka 5*; kafka-python 2*'],
  ['Heartbeat', 12, 0, 4, 'kafkajs 3; librdkafka 3*'],
  ['LeaveGroup', 13, 0, 5, 'v3+ batch members. kafkajs 3; librdkafka 1*'],
  ['SyncGroup', 14, 0, 5, 'kafkajs 3; librdkafka 3*; kafka-python 1*'],
  ['DescribeGroups', 15, 0, 5, 'kafkajs 2; librdkafka 0*'],
  ['ListGroups', 16, 0, 4, 'v5 filters by group type (KIP-848). kafkajs 2; librdkafka 0*'],
  ['SaslHandshake', 17, 0, 1, 'kafkajs 1'],
  ['ApiVersions', 18, 0, 3, 'kafkajs 2; librdkafka 3* (flexible); kafka-python 0*'],
  ['CreateTopics', 19, 0, 7, 'kafkajs 3; librdkafka 4*'],
  ['DeleteTopics', 20, 0, 5, 'v6 names topics by id (not served). kafkajs 1; librdkafka 1*'],
  ['InitProducerId', 22, 0, 4, 'kafkajs 1; librdkafka 4* (flexible)'],
  ['DescribeConfigs', 32, 0, 4, 'kafkajs 2; librdkafka 1*'],
  ['SaslAuthenticate', 36, 0, 2, 'kafkajs 1'],
  ['CreatePartitions', 37, 0, 3, 'kafkajs 1; librdkafka 0*'],
  ['DeleteGroups', 42, 0, 2, 'kafkajs 1'],
];

/**
 * Data schemas (no API key) the face and its tools read: the consumer
 * protocol's subscription and assignment, carried as opaque bytes in
 * JoinGroup / SyncGroup. [name, min, max].
 */
const DATA = [
  ['ConsumerProtocolSubscription', 0, 3],
  ['ConsumerProtocolAssignment', 0, 3],
];

const MAX = 0x7fff;
const git = (path) => execFileSync('git', ['-C', REPO, 'show', `${REV}:${DIR}/${path}`], { encoding: 'utf8', maxBuffer: 1 << 24 });
const commit = execFileSync('git', ['-C', REPO, 'rev-parse', REV], { encoding: 'utf8' }).trim();

/** Drop // comments outside strings (the schemas put them on their own lines and after fields). */
function stripComments(text) {
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      out += c;
      if (c === '\\') out += text[++i];
      else if (c === '"') inString = false;
    } else if (c === '"') {
      inString = true;
      out += c;
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
      out += '\n';
    } else out += c;
  }
  return out;
}

/** "0+", "3-5", "7", "none" -> [min, max] or null. */
function range(spec) {
  if (spec === undefined || spec === 'none') return null;
  const plus = /^(\d+)\+$/.exec(spec);
  if (plus) return [Number(plus[1]), MAX];
  const span = /^(\d+)-(\d+)$/.exec(spec);
  if (span) return [Number(span[1]), Number(span[2])];
  if (/^\d+$/.test(spec)) return [Number(spec), Number(spec)];
  throw new Error(`bad version range ${spec}`);
}

function clip(r, lo, hi) {
  if (r === null) return null;
  const a = Math.max(r[0], lo);
  const b = Math.min(r[1], hi);
  return a > b ? null : [a, b === hi && r[1] === MAX ? MAX : b];
}

const camel = (name) => name[0].toLowerCase() + name.slice(1);
const PRIMITIVE = new Set(['bool', 'int8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'float64', 'string', 'bytes', 'records', 'uuid']);

function defaultOf(field, type) {
  const d = field.default;
  if (type.startsWith('[]')) return undefined;
  if (d === undefined) return undefined;
  if (d === 'null') return 'null';
  switch (type) {
    case 'bool':
      return d === 'true' ? 'true' : 'false';
    case 'int64':
      return `${BigInt(d)}n`;
    case 'int8':
    case 'int16':
    case 'uint16':
    case 'int32':
    case 'uint32':
    case 'float64':
      return String(Number(d));
    case 'string':
      return JSON.stringify(d);
    default:
      return undefined;
  }
}

function convertFields(fields, common, lo, hi, indent) {
  const out = [];
  for (const f of fields ?? []) {
    const versions = clip(range(f.versions), lo, hi);
    if (versions === null) continue;
    const array = f.type.startsWith('[]');
    const elem = array ? f.type.slice(2) : f.type;
    const parts = [`name: '${camel(f.name)}'`];
    if (PRIMITIVE.has(elem)) parts.push(`type: '${f.type}'`);
    else parts.push(`type: '${array ? '[]struct' : 'struct'}'`, `struct: '${elem}'`);
    parts.push(`versions: ${JSON.stringify(versions)}`);
    const nullable = clip(range(f.nullableVersions), lo, hi);
    if (nullable) parts.push(`nullableVersions: ${JSON.stringify(nullable)}`);
    if (f.tag !== undefined) {
      parts.push(`tag: ${f.tag}`, `taggedVersions: ${JSON.stringify(clip(range(f.taggedVersions), lo, hi))}`);
    }
    if (f.flexibleVersions !== undefined) parts.push(`flexibleVersions: ${JSON.stringify(range(f.flexibleVersions))}`);
    const d = defaultOf(f, f.type);
    if (d !== undefined) parts.push(`default: ${d}`);
    if (!PRIMITIVE.has(elem)) {
      const sub = f.fields ?? common.get(elem)?.fields;
      if (sub === undefined) throw new Error(`no struct ${elem}`);
      parts.push(`fields: ${convertFields(sub, common, lo, hi, `${indent}  `)}`);
    }
    out.push(`${indent}  { ${parts.join(', ')} },`);
  }
  return out.length === 0 ? '[]' : `[\n${out.join('\n')}\n${indent}]`;
}

function message(file, lo, hi) {
  const json = JSON.parse(stripComments(git(file)));
  const valid = range(json.validVersions);
  if (valid === null || valid[0] > lo || valid[1] < hi) throw new Error(`${file}: ${json.validVersions} does not cover ${lo}-${hi}`);
  const common = new Map((json.commonStructs ?? []).map((s) => [s.name, s]));
  const flexible = clip(range(json.flexibleVersions), lo, hi);
  return `{\n    name: '${json.name}',\n    apiKey: ${json.apiKey ?? -1},\n    validVersions: [${lo}, ${hi}],\n    flexibleVersions: ${JSON.stringify(flexible)},\n    fields: ${convertFields(json.fields, common, lo, hi, '    ')},\n  }`;
}

const lines = [];
lines.push('/**');
lines.push(' * GENERATED by tools/kafka-schemas.mjs from Apache Kafka\'s message schemas');
lines.push(` * (clients/src/main/resources/common/message, commit ${commit}).`);
lines.push(' * Do not edit: change the generator and rerun `node tools/kafka-schemas.mjs`.');
lines.push(' *');
lines.push(' * Versions served (a client negotiates min(its max, ours); the Java 3.x client');
lines.push(' * uses our maxima; `*` = measured against a broker offering these ranges):');
lines.push(' *');
lines.push(' * | API | key | versions | notes, and versions clients use |');
lines.push(' * |---|---|---|---|');
for (const [name, key, lo, hi, why] of RANGES) lines.push(` * | ${name} | ${key} | ${lo}-${hi} | ${why} |`);
lines.push(' */');
lines.push("import type { MessageSpec } from './spec.js';");
lines.push('');
lines.push('/** [apiKey, name, minVersion, maxVersion] for each API served, by key. */');
lines.push('export const API_VERSIONS: readonly (readonly [number, string, number, number])[] = [');
for (const [name, key, lo, hi] of [...RANGES].sort((a, b) => a[1] - b[1])) lines.push(`  [${key}, '${name}', ${lo}, ${hi}],`);
lines.push('];');
lines.push('');
lines.push('/** Request specs by API key. */');
lines.push('export const REQUESTS: ReadonlyMap<number, MessageSpec> = new Map<number, MessageSpec>([');
for (const [name, key, lo, hi] of RANGES) lines.push(`  [${key}, ${message(`${name}Request.json`, lo, hi)}],`);
lines.push(']);');
lines.push('');
lines.push('/** Response specs by API key. */');
lines.push('export const RESPONSES: ReadonlyMap<number, MessageSpec> = new Map<number, MessageSpec>([');
for (const [name, key, lo, hi] of RANGES) lines.push(`  [${key}, ${message(`${name}Response.json`, lo, hi)}],`);
lines.push(']);');
lines.push('');
lines.push('/** Data specs (no API key) by name: the consumer protocol carried in JoinGroup / SyncGroup. */');
lines.push('export const DATA: ReadonlyMap<string, MessageSpec> = new Map<string, MessageSpec>([');
for (const [name, lo, hi] of DATA) lines.push(`  ['${name}', ${message(`${name}.json`, lo, hi)}],`);
lines.push(']);');
lines.push('');
writeFileSync(OUT, `${lines.join('\n')}`);
console.log(`wrote ${OUT} from ${commit}`);
