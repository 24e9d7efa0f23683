/**
 * Offsets committed before groups were shared by the mesh: a named node
 * kept them in its own stream `$WEFT_kafka_offsets_<server_name>`. When the
 * node opens an account's groups as their owner, it copies the old
 * stream's offsets into the mesh-wide `$WEFT_kafka_offsets` (a partition
 * already committed there keeps its newer offset), then deletes the old
 * stream, so it is read once. A node that does not own the account's
 * groups keeps its old stream untouched (docs/kafka.md, "Groups in a mesh").
 */
import type { AccountJetStream } from '../../../jetstream/service.js';
import type { Logger } from '../../../util/logger.js';
import { OffsetStore, offsetsStreamNames, StreamOffsetBackend } from './offsets.js';

export async function migrateNodeOffsets(
  js: AccountJetStream,
  into: OffsetStore,
  node: string,
  log: Logger,
): Promise<number> {
  if (node === '') return 0;
  const old = offsetsStreamNames(node);
  const cs = js.streams.get(old.stream);
  if (cs === undefined || old.stream === offsetsStreamNames().stream) return 0;
  const backend = new StreamOffsetBackend(js, old);
  await backend.open();
  const store = new OffsetStore(backend, old.token);
  await store.open();
  let copied = 0;
  for (const group of store.groups()) {
    const entries = store
      .ofGroup(group)
      .filter((e) => into.get(group, e.topic, e.partition) === null);
    if (entries.length === 0) continue;
    const failed = await into.commit(group, entries);
    if (failed.size > 0) {
      throw new Error(
        `${failed.size} offsets of group ${group} could not be copied from ${old.stream}`,
      );
    }
    copied += entries.length;
  }
  await js.delete(cs);
  log.info(
    `kafka: account ${js.account.name}: ${copied} committed offsets moved from ${old.stream} to ${offsetsStreamNames().stream}`,
  );
  return copied;
}
