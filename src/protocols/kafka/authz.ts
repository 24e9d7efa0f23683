/**
 * Which topics a Kafka client may touch, from its subject permissions (the
 * same permissions on every face, docs/security.md):
 *
 * - produce to a partition: publish on the subject its records go to;
 * - fetch from a partition (and see it in Metadata, ListOffsets): subscribe
 *   to every subject its stream captures;
 * - create, grow or delete a topic: publish on the JetStream API subject a
 *   NATS client would use for each of its streams
 *   (`$JS.API.STREAM.CREATE.<stream>`, `…UPDATE…`, `…DELETE…`).
 *
 * Subjects the node keeps for itself (src/auth/reserved.ts) are refused to
 * everyone. A refusal is TOPIC_AUTHORIZATION_FAILED (29).
 */
import { reservedSubject } from '../../auth/reserved.js';
import type { KafkaContext } from './api.js';
import { type Partition, partitionStream, streamBase } from './topics.js';

export function canProduce(ctx: KafkaContext, p: Partition): boolean {
  return canPublishOn(ctx, p.subject);
}

export function canFetch(ctx: KafkaContext, p: Partition): boolean {
  return canRead(ctx, p.cs.stream.config.subjects);
}

/** May publish on `subject` (a partition's, here or on another node). */
export function canPublishOn(ctx: KafkaContext, subject: string): boolean {
  if (subject === '' || reservedSubject(subject)) return false;
  return ctx.guard === null || ctx.guard.publish(subject);
}

/** May read a stream capturing `subjects` (here or on another node). */
export function canRead(ctx: KafkaContext, subjects: readonly string[]): boolean {
  if (subjects.some(reservedSubject)) return false;
  const g = ctx.guard;
  return g === null || subjects.every((s) => g.subscribe(s, '').ok);
}

/** May see the topic (Metadata): produce to or fetch from its first partition. */
export function canDescribe(ctx: KafkaContext, p: Partition): boolean {
  return canFetch(ctx, p) || canProduce(ctx, p);
}

/** May make (op CREATE), grow (UPDATE) or delete (DELETE) partitions from..to-1 of `topic`. */
export function canAdmin(
  ctx: KafkaContext,
  op: 'CREATE' | 'UPDATE' | 'DELETE',
  topic: string,
  from: number,
  to: number,
): boolean {
  const g = ctx.guard;
  if (g === null) return true;
  const base = streamBase(topic);
  for (let p = from; p < to; p++) {
    if (!g.publish(`$JS.API.STREAM.${op}.${partitionStream(base, p)}`)) return false;
  }
  return true;
}
