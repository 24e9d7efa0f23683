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

/** Each prefix without its final dot: the bare name is reserved too. */
const BARE: readonly string[] = RESERVED_PREFIXES.map((p) => p.slice(0, -1));
/**
 * The prefixes' second characters (all start with `$`): a `$` subject with
 * another second character is not reserved, whatever follows. JetStream's
 * `$JS.ACK.…` (one per acked message) and `$JS.API.…` are decided by it
 * instead of six prefix compares and six slices: ~90 ns per ack
 * (bench/PROFILE.md, "Issue 16 — ackroute (round 9)").
 */
const SECOND = new Set(RESERVED_PREFIXES.map((p) => p.charCodeAt(1)));

/** Whether a client may not publish to (or subscribe by name to) `subject`. */
export function reservedSubject(subject: string): boolean {
  // One character decides for nearly every subject (the hot path), two for `$` ones.
  if (subject.charCodeAt(0) !== 36 /* $ */ || !SECOND.has(subject.charCodeAt(1))) return false;
  for (let i = 0; i < RESERVED_PREFIXES.length; i++) {
    if (subject.startsWith(RESERVED_PREFIXES[i]!) || subject === BARE[i]) return true;
  }
  return false;
}
