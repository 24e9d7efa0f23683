/**
 * Metadata (key 3): this node is the one broker, and the leader (and only
 * replica) of every partition it can serve; streams other nodes of the mesh
 * own are listed too (the node reaches them, docs/kafka.md "Across the
 * mesh"), so clients never learn the mesh's shape. Topics a client may not
 * see: TOPIC_AUTHORIZATION_FAILED when named, left out of "all topics"
 * (as Kafka). A missing topic is created (one partition) when
 * `kafka.auto_create_topics` is on and the client allows it (v4+:
 * allow_auto_topic_creation), else UNKNOWN_TOPIC_OR_PARTITION.
 */
import { createHash } from 'node:crypto';
import type { ApiHandler, KafkaContext } from '../api.js';
import { canAdmin, canDescribe } from '../authz.js';
import type { KafkaTopics, Topic } from '../topics.js';
import { DEFAULT_SETTINGS, KafkaErr, partitionStream, streamBase, TopicError } from '../topics.js';

interface MetadataRequest {
  topics: { name: string | null; topicId: string }[] | null;
  allowAutoTopicCreation: boolean;
}

type PartitionMeta = Record<string, unknown>;
type TopicMeta = Record<string, unknown>;

/** A topic's id (v10+): stable for the life of its first stream. */
export function topicIdOf(t: Topic): string {
  const cs = t.partitions[0]!.cs;
  return createHash('sha256')
    .update(`${cs.stream.name}\n${cs.stream.created.toISOString()}`)
    .digest('hex')
    .slice(0, 32);
}

export function metadataHandler(topics: KafkaTopics): ApiHandler<MetadataRequest> {
  return {
    key: 3,
    name: 'Metadata',
    minVersion: 0,
    maxVersion: 12,
    async handle(ctx, req, version) {
      const b = ctx.shared.broker;
      const account = ctx.account!;
      const out: TopicMeta[] = [];
      const all = req.topics === null || (version === 0 && req.topics.length === 0);
      if (all) {
        for (const t of topics.list(account)) {
          if (canDescribe(ctx, t.partitions[0]!)) out.push(describe(ctx, t));
        }
      } else {
        const autoCreate =
          ctx.shared.host.options.kafkaAutoCreateTopics &&
          (version < 4 || req.allowAutoTopicCreation);
        for (const r of req.topics ?? []) {
          out.push(await one(ctx, topics, r.name ?? '', autoCreate));
        }
      }
      return {
        throttleTimeMs: 0,
        brokers: [{ nodeId: b.nodeId, host: b.host, port: b.port, rack: null }],
        clusterId: b.clusterId,
        controllerId: b.nodeId,
        topics: out,
        clusterAuthorizedOperations: -2147483648,
      };
    },
  };
}

async function one(
  ctx: KafkaContext,
  topics: KafkaTopics,
  name: string,
  autoCreate: boolean,
): Promise<TopicMeta> {
  const account = ctx.account!;
  let t = topics.find(account, name);
  if (t === null && topics.remoteHas(account, name)) return remote(ctx, topics, name);
  if (t === null && autoCreate) {
    if (!canAdmin(ctx, 'CREATE', name, 0, 1))
      return failed(name, KafkaErr.TOPIC_AUTHORIZATION_FAILED);
    try {
      t = await topics.create(account, name, 1, DEFAULT_SETTINGS);
    } catch (err) {
      const code = err instanceof TopicError ? err.code : KafkaErr.UNKNOWN_SERVER_ERROR;
      // Another request made it meanwhile: describe it.
      t = topics.find(account, name);
      if (t === null) return failed(name, code === KafkaErr.TOPIC_ALREADY_EXISTS ? 3 : code);
    }
  }
  if (t === null) return failed(name, KafkaErr.UNKNOWN_TOPIC_OR_PARTITION);
  if (!canDescribe(ctx, t.partitions[0]!)) return failed(name, KafkaErr.TOPIC_AUTHORIZATION_FAILED);
  return describe(ctx, t);
}

function failed(name: string, errorCode: number): TopicMeta {
  return {
    errorCode,
    name,
    isInternal: false,
    partitions: [],
    topicAuthorizedOperations: -2147483648,
  };
}

function partitionMeta(nodeId: number, index: number): PartitionMeta {
  return {
    errorCode: 0,
    partitionIndex: index,
    leaderId: nodeId,
    leaderEpoch: 0,
    replicaNodes: [nodeId],
    isrNodes: [nodeId],
    offlineReplicas: [],
  };
}

function describe(ctx: KafkaContext, t: Topic): TopicMeta {
  const nodeId = ctx.shared.broker.nodeId;
  return {
    errorCode: 0,
    name: t.name,
    topicId: topicIdOf(t),
    isInternal: false,
    partitions: t.partitions.map((p) => partitionMeta(nodeId, p.index)),
    topicAuthorizedOperations: -2147483648,
  };
}

/** A topic whose streams another node owns: its partitions are the streams B, B~1, … there. */
function remote(ctx: KafkaContext, topics: KafkaTopics, name: string): TopicMeta {
  const js = topics.js(ctx.account!)!;
  const base = streamBase(name);
  let n = 1;
  while (js.remoteHas(partitionStream(base, n))) n++;
  const nodeId = ctx.shared.broker.nodeId;
  const partitions: PartitionMeta[] = [];
  for (let p = 0; p < n; p++) partitions.push(partitionMeta(nodeId, p));
  return {
    errorCode: 0,
    name,
    topicId: createHash('sha256').update(`remote\n${base}`).digest('hex').slice(0, 32),
    isInternal: false,
    partitions,
    topicAuthorizedOperations: -2147483648,
  };
}
