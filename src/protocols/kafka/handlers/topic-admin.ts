/**
 * Topic administration: CreateTopics (19), DeleteTopics (20),
 * CreatePartitions (37) and DescribeConfigs (32), on the streams of
 * topics.ts. A topic's Kafka configs are its streams' limits:
 *
 *   retention.ms       ⇄ max_age        (-1: none)
 *   retention.bytes    ⇄ max_bytes      (per partition, -1: none)
 *   max.message.bytes  ⇄ max_msg_size   (-1: the node's max_payload)
 *   cleanup.policy     = delete         (compact: INVALID_CONFIG, no compaction yet)
 *
 * Configs Kafka has that mean nothing here (replication, segments) are
 * accepted and not applied; an unknown name is INVALID_CONFIG, as Kafka.
 * Only topics made by CreateTopics (or auto-created) can be deleted or
 * grown by Kafka clients; other streams are managed as streams.
 */
import type { ApiHandler, KafkaContext } from '../api.js';
import { canAdmin, canDescribe } from '../authz.js';
import {
  DEFAULT_SETTINGS,
  KafkaErr,
  type KafkaTopics,
  type Topic,
  TopicError,
  type TopicSettings,
  topicNameError,
} from '../topics.js';
import { topicIdOf } from './metadata.js';

/** Accepted in CreateTopics and not applied: nothing here needs them. */
const ACCEPTED = new Set([
  'min.insync.replicas',
  'segment.bytes',
  'segment.ms',
  'segment.index.bytes',
  'segment.jitter.ms',
  'compression.type',
  'message.timestamp.type',
  'unclean.leader.election.enable',
  'flush.messages',
  'flush.ms',
  'index.interval.bytes',
  'delete.retention.ms',
  'file.delete.delay.ms',
  'preallocate',
  'message.downconversion.enable',
]);

interface ConfigEntry {
  name: string;
  value: string | null;
}

/** Reads CreateTopics' configs into settings, or the error Kafka would give. */
export function settingsOf(configs: readonly ConfigEntry[]): TopicSettings | TopicError {
  const s: TopicSettings = { ...DEFAULT_SETTINGS };
  for (const c of configs) {
    const v = c.value ?? '';
    const num = (): number | TopicError => {
      const n = Number(v);
      return v.trim() !== '' && Number.isSafeInteger(n) && n >= -1
        ? n
        : new TopicError(KafkaErr.INVALID_CONFIG, `Invalid value ${v} for configuration ${c.name}`);
    };
    switch (c.name) {
      case 'retention.ms': {
        const n = num();
        if (n instanceof TopicError) return n;
        s.retentionMs = n;
        break;
      }
      case 'retention.bytes': {
        const n = num();
        if (n instanceof TopicError) return n;
        s.retentionBytes = n === 0 ? -1 : n;
        break;
      }
      case 'max.message.bytes': {
        const n = num();
        if (n instanceof TopicError) return n;
        s.maxMessageBytes = n <= 0 ? -1 : n;
        break;
      }
      case 'cleanup.policy':
        if (v !== 'delete') {
          return new TopicError(
            KafkaErr.INVALID_CONFIG,
            `cleanup.policy=${v} is not supported: Weft streams do not compact yet (only cleanup.policy=delete)`,
          );
        }
        break;
      default:
        if (!ACCEPTED.has(c.name))
          return new TopicError(KafkaErr.INVALID_CONFIG, `Unknown topic config name: ${c.name}`);
    }
  }
  return s;
}

interface CreateTopicsRequest {
  topics: {
    name: string;
    numPartitions: number;
    replicationFactor: number;
    assignments: unknown[];
    configs: ConfigEntry[];
  }[];
  validateOnly: boolean;
}

export function createTopicsHandler(topics: KafkaTopics): ApiHandler<CreateTopicsRequest> {
  return {
    key: 19,
    name: 'CreateTopics',
    minVersion: 0,
    maxVersion: 7,
    async handle(ctx, req) {
      const account = ctx.account!;
      const seen = new Map<string, number>();
      for (const t of req.topics) seen.set(t.name, (seen.get(t.name) ?? 0) + 1);
      const results: Record<string, unknown>[] = [];
      for (const t of req.topics) {
        const fail = (code: number, message: string) =>
          results.push({
            name: t.name,
            errorCode: code,
            errorMessage: message,
            topicConfigErrorCode: 0,
            numPartitions: -1,
            replicationFactor: -1,
            configs: null,
          });
        if ((seen.get(t.name) ?? 0) > 1) {
          fail(
            KafkaErr.INVALID_REQUEST,
            'Create topics request from client contains multiple topics with the same name',
          );
          continue;
        }
        const count = t.numPartitions === -1 ? 1 : t.numPartitions;
        if (!canAdmin(ctx, 'CREATE', t.name, 0, Math.max(count, 1))) {
          fail(KafkaErr.TOPIC_AUTHORIZATION_FAILED, 'Authorization failed.');
          continue;
        }
        const bad = topicNameError(t.name);
        if (bad !== null) {
          fail(KafkaErr.INVALID_TOPIC_EXCEPTION, bad);
          continue;
        }
        if (t.assignments.length > 0) {
          fail(
            KafkaErr.INVALID_REQUEST,
            'Manual partition assignment is not supported: this broker holds every partition',
          );
          continue;
        }
        if (t.replicationFactor !== -1 && t.replicationFactor !== 1) {
          fail(
            KafkaErr.INVALID_REPLICATION_FACTOR,
            `Replication factor: ${t.replicationFactor} larger than available brokers: 1.`,
          );
          continue;
        }
        if (count < 1) {
          fail(KafkaErr.INVALID_PARTITIONS, 'Number of partitions must be larger than 0.');
          continue;
        }
        const settings = settingsOf(t.configs);
        if (settings instanceof TopicError) {
          fail(settings.code, settings.message);
          continue;
        }
        if (topics.find(account, t.name) !== null || topics.remoteHas(account, t.name)) {
          fail(KafkaErr.TOPIC_ALREADY_EXISTS, `Topic '${t.name}' already exists.`);
          continue;
        }
        if (req.validateOnly) {
          results.push({
            name: t.name,
            errorCode: 0,
            errorMessage: null,
            numPartitions: count,
            replicationFactor: 1,
            configs: [],
          });
          continue;
        }
        try {
          const made = await topics.create(account, t.name, count, settings);
          results.push({
            name: t.name,
            topicId: topicIdOf(made),
            errorCode: 0,
            errorMessage: null,
            numPartitions: count,
            replicationFactor: 1,
            configs: configsOf(ctx, made).map((c) => ({ ...c, configSource: c.configSource })),
          });
        } catch (err) {
          const e = err instanceof TopicError ? err : new TopicError(-1, (err as Error).message);
          fail(e.code, e.message);
        }
      }
      return { throttleTimeMs: 0, topics: results };
    },
  };
}

interface DeleteTopicsRequest {
  topicNames: string[];
}

export function deleteTopicsHandler(topics: KafkaTopics): ApiHandler<DeleteTopicsRequest> {
  return {
    key: 20,
    name: 'DeleteTopics',
    minVersion: 0,
    maxVersion: 5,
    async handle(ctx, req) {
      const account = ctx.account!;
      const responses: Record<string, unknown>[] = [];
      for (const name of req.topicNames) {
        const t = topics.find(account, name);
        const answer = (errorCode: number, errorMessage: string | null) =>
          responses.push({ name, errorCode, errorMessage });
        if (t === null) {
          answer(
            topics.remoteHas(account, name)
              ? KafkaErr.POLICY_VIOLATION
              : KafkaErr.UNKNOWN_TOPIC_OR_PARTITION,
            topics.remoteHas(account, name)
              ? 'The topic is held by another node of the mesh: delete it there'
              : 'This server does not host this topic-partition.',
          );
        } else if (!canAdmin(ctx, 'DELETE', name, 0, t.partitions.length)) {
          answer(KafkaErr.TOPIC_AUTHORIZATION_FAILED, 'Authorization failed.');
        } else if (!t.kafka) {
          answer(
            KafkaErr.POLICY_VIOLATION,
            `Topic '${name}' is the stream ${t.partitions[0]!.cs.stream.name}, not made by Kafka: delete the stream instead`,
          );
        } else {
          await topics.delete(account, t);
          answer(0, null);
        }
      }
      return { throttleTimeMs: 0, responses };
    },
  };
}

interface CreatePartitionsRequest {
  topics: { name: string; count: number; assignments: unknown[] | null }[];
  validateOnly: boolean;
}

export function createPartitionsHandler(topics: KafkaTopics): ApiHandler<CreatePartitionsRequest> {
  return {
    key: 37,
    name: 'CreatePartitions',
    minVersion: 0,
    maxVersion: 3,
    async handle(ctx, req) {
      const account = ctx.account!;
      const results: Record<string, unknown>[] = [];
      for (const r of req.topics) {
        const answer = (errorCode: number, errorMessage: string | null) =>
          results.push({ name: r.name, errorCode, errorMessage });
        const t = topics.find(account, r.name);
        if (t === null) {
          answer(
            KafkaErr.UNKNOWN_TOPIC_OR_PARTITION,
            'This server does not host this topic-partition.',
          );
          continue;
        }
        const have = t.partitions.length;
        if (!canAdmin(ctx, 'CREATE', r.name, have, Math.max(have, r.count))) {
          answer(KafkaErr.TOPIC_AUTHORIZATION_FAILED, 'Authorization failed.');
        } else if (!t.kafka) {
          answer(
            KafkaErr.POLICY_VIOLATION,
            `Topic '${r.name}' is a stream not made by Kafka: it keeps one partition`,
          );
        } else if (r.count <= have) {
          answer(
            KafkaErr.INVALID_PARTITIONS,
            `Topic currently has ${have} partitions, which is higher than the requested ${r.count}.`,
          );
        } else if (r.assignments !== null && r.assignments.length > 0) {
          answer(KafkaErr.INVALID_REQUEST, 'Manual partition assignment is not supported');
        } else if (req.validateOnly) {
          answer(0, null);
        } else {
          try {
            await topics.create(account, r.name, r.count, settingsOfStream(t), have);
            answer(0, null);
          } catch (err) {
            const e = err instanceof TopicError ? err : new TopicError(-1, (err as Error).message);
            answer(e.code, e.message);
          }
        }
      }
      return { throttleTimeMs: 0, results };
    },
  };
}

/** The settings a topic's first partition has: new partitions get the same. */
function settingsOfStream(t: Topic): TopicSettings {
  const c = t.partitions[0]!.cs.stream.config;
  return {
    retentionMs: c.max_age > 0 ? Math.round(c.max_age / 1e6) : -1,
    retentionBytes: c.max_bytes,
    maxMessageBytes: c.max_msg_size,
  };
}

/** ConfigSource (DescribeConfigsResponse.json): a topic's own setting, or the default. */
const DYNAMIC_TOPIC_CONFIG = 1;
const DEFAULT_CONFIG = 5;
/** ConfigType: STRING 2, INT 3, LONG 5. */
const STRING = 2;
const INT = 3;
const LONG = 5;

interface ConfigOut {
  name: string;
  value: string;
  readOnly: boolean;
  configSource: number;
  isSensitive: boolean;
  configType: number;
}

/** The Kafka configs of a topic, read from its streams' limits. */
export function configsOf(ctx: KafkaContext, t: Topic): ConfigOut[] {
  const c = t.partitions[0]!.cs.stream.config;
  const maxPayload = ctx.shared.host.options.maxPayload;
  const entry = (
    name: string,
    value: string,
    set: boolean,
    type: number,
    readOnly = false,
  ): ConfigOut => ({
    name,
    value,
    readOnly,
    configSource: set ? DYNAMIC_TOPIC_CONFIG : DEFAULT_CONFIG,
    isSensitive: false,
    configType: type,
  });
  return [
    entry('cleanup.policy', 'delete', false, STRING, true),
    entry(
      'retention.ms',
      c.max_age > 0 ? String(Math.round(c.max_age / 1e6)) : '-1',
      c.max_age > 0,
      LONG,
    ),
    entry('retention.bytes', String(c.max_bytes > 0 ? c.max_bytes : -1), c.max_bytes > 0, LONG),
    entry(
      'max.message.bytes',
      String(c.max_msg_size > 0 ? Math.min(c.max_msg_size, maxPayload) : maxPayload),
      c.max_msg_size > 0,
      INT,
    ),
    entry('message.timestamp.type', 'CreateTime', false, STRING, true),
    entry('min.insync.replicas', '1', false, INT, true),
    entry('compression.type', 'producer', false, STRING, true),
  ];
}

interface DescribeConfigsRequest {
  resources: { resourceType: number; resourceName: string; configurationKeys: string[] | null }[];
  includeSynonyms: boolean;
  includeDocumentation: boolean;
}

const TOPIC = 2;
const BROKER = 4;

export function describeConfigsHandler(topics: KafkaTopics): ApiHandler<DescribeConfigsRequest> {
  return {
    key: 32,
    name: 'DescribeConfigs',
    minVersion: 0,
    maxVersion: 4,
    handle(ctx, req) {
      const account = ctx.account!;
      const results = req.resources.map((r) => {
        const result = (errorCode: number, errorMessage: string | null, configs: ConfigOut[]) => ({
          errorCode,
          errorMessage,
          resourceType: r.resourceType,
          resourceName: r.resourceName,
          configs: configs
            .filter((c) => r.configurationKeys === null || r.configurationKeys.includes(c.name))
            .map((c) => ({
              ...c,
              isDefault: c.configSource === DEFAULT_CONFIG,
              synonyms: [],
              documentation: null,
            })),
        });
        if (r.resourceType === BROKER) {
          const o = ctx.shared.host.options;
          return result(0, null, [
            {
              name: 'socket.request.max.bytes',
              value: String(o.kafkaMaxRequestBytes),
              readOnly: true,
              configSource: 4,
              isSensitive: false,
              configType: INT,
            },
            {
              name: 'auto.create.topics.enable',
              value: String(o.kafkaAutoCreateTopics),
              readOnly: true,
              configSource: 4,
              isSensitive: false,
              configType: 1,
            },
            {
              name: 'message.max.bytes',
              value: String(o.maxPayload),
              readOnly: true,
              configSource: 4,
              isSensitive: false,
              configType: INT,
            },
            {
              name: 'num.partitions',
              value: '1',
              readOnly: true,
              configSource: DEFAULT_CONFIG,
              isSensitive: false,
              configType: INT,
            },
          ]);
        }
        if (r.resourceType !== TOPIC) {
          return result(
            KafkaErr.INVALID_REQUEST,
            `Unsupported resource type ${r.resourceType}`,
            [],
          );
        }
        const t = topics.find(account, r.resourceName);
        if (t === null)
          return result(
            KafkaErr.UNKNOWN_TOPIC_OR_PARTITION,
            'This server does not host this topic-partition.',
            [],
          );
        if (!canDescribe(ctx, t.partitions[0]!))
          return result(KafkaErr.TOPIC_AUTHORIZATION_FAILED, 'Authorization failed.', []);
        return result(0, null, configsOf(ctx, t));
      });
      return { throttleTimeMs: 0, results };
    },
  };
}
