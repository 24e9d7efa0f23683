/**
 * Compaction, the file writer's one change to the log besides appending
 * (file-writer.ts): a segment other than the active one is deleted once it
 * holds no message and no tombstone still needed for an older segment
 * (`Segment.tombMin`: a tombstone is needed while a segment before it
 * still holds a message at or above its sequence). The writer makes the
 * records that killed them durable before the files go, and fsyncs the
 * directory after each round of deletes.
 */
import type { Segment } from './file-index.js';
import { errnoOf, type FileOps } from './file-ops.js';

/** The segments of `segList` (oldest first) that may be deleted now. */
export function deadSegments(segList: readonly Segment[], active: Segment): Segment[] {
  const doomed: Segment[] = [];
  // Highest message sequence in the older segments still on disk.
  let older = 0;
  for (const s of segList) {
    if (s !== active && s.live === 0 && s.tombMin > older && s.fd >= 0) doomed.push(s);
    if (s.lastMsgSeq > older) older = s.lastMsgSeq;
  }
  return doomed;
}

/**
 * Deletes `s`'s file (one already gone counts as deleted), then forgets it
 * in `segments` and `segList` and closes it. A failed delete throws with
 * `s` still known: it is tried again later.
 */
export async function deleteSegment(
  ops: FileOps,
  s: Segment,
  segments: Map<number, Segment>,
  segList: Segment[],
): Promise<void> {
  await ops.unlink(s.path).catch((err: unknown) => {
    if (errnoOf(err) !== 'ENOENT') throw err;
  });
  segments.delete(s.id);
  segList.splice(segList.indexOf(s), 1);
  ops.close(s.fd);
  s.fd = -1;
}
