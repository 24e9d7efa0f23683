/**
 * A session remembers the last message delivered to it, so that overlapping
 * subscriptions deliver a message once [MQTT-3.3.5-1], until the dispatch
 * that delivered it is over. One microtask per tick forgets it for every
 * session that remembers one (it was one closure and one microtask per
 * delivery, ~10% of the node's CPU in mqtt-pubsub: bench/PROFILE.md,
 * Issue 16 — mqtt1). Bounded by the sessions: the state adds itself only
 * when it remembers none.
 */
export interface RemembersLast {
  forgetLastMsg(): void;
}

const remembering: RemembersLast[] = [];

function forgetAll(): void {
  for (let i = 0; i < remembering.length; i++) remembering[i]!.forgetLastMsg();
  remembering.length = 0;
}

/** `s` has just set its last message, having none before. */
export function forgetLastAfterTick(s: RemembersLast): void {
  if (remembering.push(s) === 1) queueMicrotask(forgetAll);
}
