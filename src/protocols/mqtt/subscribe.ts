/**
 * SUBSCRIBE and UNSUBSCRIBE: each filter checked (syntax, length, the
 * session's bound, permissions on its subjects), held as core
 * subscriptions by the session state, answered in order, and followed by
 * the retained messages that match [MQTT-3.3.1-6].
 */
import { reservedSubject } from '../../auth/reserved.js';
import type { Packet } from './codec.js';
import { encodeSuback, encodeUnsuback } from './encoder.js';
import type { InboundHost } from './publish.js';
import { RC, SUBACK_FAILURE } from './reason.js';
import type { SubEntry } from './state.js';
import {
  filterToSubjects,
  isSharedFilter,
  parseSharedFilter,
  shareGroupToQueue,
  topicFilterProblem,
} from './topics.js';

type SubscribePacket = Extract<Packet, { cmd: 'subscribe' }>;
type UnsubscribePacket = Extract<Packet, { cmd: 'unsubscribe' }>;

export async function handleSubscribe(c: InboundHost, p: SubscribePacket): Promise<void> {
  const h = c.host;
  const s = c.state!;
  const v5 = c.version === 5;
  const granted: number[] = [];
  const fresh: { entry: Omit<SubEntry, 'core'>; replaced: boolean }[] = [];
  const identifier = v5 ? p.properties?.subscriptionIdentifier : undefined;
  const refuse = (rc: number, why: string, filter: string): void => {
    h.log.warn(`${c.tag()} - subscription to "${filter}" refused: ${why}`);
    granted.push(v5 ? rc : SUBACK_FAILURE);
  };
  for (const sub of p.subscriptions) {
    const filter = sub.topic;
    let match = filter;
    let queue = '';
    if (isSharedFilter(filter)) {
      const shared = parseSharedFilter(filter);
      if ('problem' in shared) {
        refuse(RC.TopicFilterInvalid, shared.problem, filter);
        continue;
      }
      if (sub.nl === true) {
        // [MQTT-3.8.3-4]: No Local on a shared subscription is a protocol error.
        c.protocolError(RC.ProtocolError, 'No Local on a shared subscription [MQTT-3.8.3-4]');
        return;
      }
      match = shared.filter;
      queue = shareGroupToQueue(shared.group);
    } else {
      const problem = topicFilterProblem(filter);
      if (problem !== null) {
        refuse(RC.TopicFilterInvalid, problem, filter);
        continue;
      }
    }
    if (Buffer.byteLength(filter) > h.options.mqttMaxTopicLength) {
      h.counters.topicTooLong++;
      refuse(
        RC.TopicFilterInvalid,
        `longer than mqtt.max_topic_length ${h.options.mqttMaxTopicLength}`,
        filter,
      );
      continue;
    }
    const exists = s.entries.has(filter);
    if (!exists && s.entries.size >= h.options.mqttMaxSubscriptions) {
      h.counters.subscriptionLimit++;
      refuse(
        RC.QuotaExceeded,
        `the session holds mqtt.max_subscriptions ${h.options.mqttMaxSubscriptions}`,
        filter,
      );
      continue;
    }
    let check = false;
    let allowed = true;
    const guard = c.who.guard;
    if (filterToSubjects(match).some(reservedSubject)) allowed = false;
    else if (guard !== null) {
      for (const subject of filterToSubjects(match)) {
        const verdict = guard.subscribe(subject, queue);
        allowed &&= verdict.ok;
        check ||= verdict.check;
      }
    }
    if (!allowed) {
      h.counters.subscribeDenied++;
      h.security.counters.subscribeViolations++;
      refuse(RC.NotAuthorized, 'not permitted', filter);
      continue;
    }
    const qos = Math.min(sub.qos, 2) as 0 | 1 | 2;
    const entry: Omit<SubEntry, 'core'> = {
      filter,
      match,
      queue,
      qos,
      noLocal: sub.nl === true,
      retainAsPublished: sub.rap === true,
      retainHandling: (sub.rh ?? 0) as 0 | 1 | 2,
      identifier,
      check,
    };
    fresh.push({ entry, replaced: s.subscribe(entry) });
    granted.push(qos);
  }
  if (s.persistent && fresh.length > 0) await saveSession(c);
  c.send(() => encodeSuback(c.version, p.messageId!, granted));
  // Retained messages after the SUBACK; not for shared subscriptions (5.0 §4.8.2).
  for (const { entry, replaced } of fresh) {
    if (
      entry.queue !== '' ||
      entry.retainHandling === 2 ||
      (entry.retainHandling === 1 && replaced)
    )
      continue;
    const live = s.entries.get(entry.filter);
    if (live === undefined) continue;
    for (const m of await s.store.retained(entry.match)) {
      if (entry.check && c.who.guard !== null) {
        // Deny rules narrower than the filter apply to each retained topic.
        const subjects = filterToSubjects(m.topic);
        if (!c.who.guard.receive(subjects[0]!)) continue;
      }
      s.deliverRetained(live, m);
    }
  }
}

export async function handleUnsubscribe(c: InboundHost, p: UnsubscribePacket): Promise<void> {
  const s = c.state!;
  const codes = p.unsubscriptions.map((f) =>
    s.unsubscribe(f) ? RC.Success : RC.NoSubscriptionExisted,
  );
  if (s.persistent) await saveSession(c);
  c.send(() => encodeUnsuback(c.version, p.messageId!, codes));
}

async function saveSession(c: InboundHost): Promise<void> {
  const s = c.state!;
  await s.store.saveSession({
    clientId: s.clientId,
    protocol: c.version,
    expiryInterval: s.expiryInterval,
    subscriptions: s.storedSubscriptions(),
    disconnectedAt: null,
  });
}
