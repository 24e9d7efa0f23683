/**
 * Subjects the node keeps for itself: no client of any face may publish to
 * them or subscribe to them by name. The MQTT face keeps its state in
 * streams capturing `$MQTT.sess.…`, `$MQTT.msgs.…`, `$MQTT.rmsg.…` and
 * hands sessions between nodes on `$MQTT.takeover.…` and `$MQTT.handoff.…`
 * (src/protocols/mqtt/takeover.ts): a client publishing there could
 * replace a session or inject a takeover, so every face refuses it as a
 * permissions violation whatever the permissions say. (A subscription to
 * `>` still matches these subjects, as in nats-server: it sees the
 * account's traffic anyway.)
 */

/** The reserved subject prefixes. */
export const RESERVED_PREFIXES: readonly string[] = [
  '$MQTT.',
  // Webhooks' definitions and their consumers' deliveries (src/protocols/http/webhooks/).
  '$WEFT.HOOK.',
  // Redis consumer groups' state and the group commands nodes forward to each other
  // (src/protocols/redis/groups/store.ts, forward.ts).
  '$REDIS.groups.',
  '$REDIS.gcmd.',
  // The Kafka face's committed offsets (src/protocols/kafka/groups/offsets.ts).
  '$WEFT.kafka.offsets.',
  // Group requests Kafka faces forward to the node owning the groups (src/protocols/kafka/groups/mesh.ts).
  '$WEFT.kafka.gcmd.',
];

/** Whether a client may not publish to (or subscribe by name to) `subject`. */
export function reservedSubject(subject: string): boolean {
  // One character decides for nearly every subject (the hot path).
  if (subject.charCodeAt(0) !== 36 /* $ */) return false;
  for (const p of RESERVED_PREFIXES) {
    if (subject.startsWith(p) || subject === p.slice(0, -1)) return true;
  }
  return false;
}
