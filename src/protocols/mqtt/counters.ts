/** Counted events of the MQTT face (`/varz` mqtt, `weft_mqtt_…`). */
export interface MqttCounters {
  /** A QoS 1/2 message for a session was refused by its queue's bound (the store's). */
  queueOverflows: number;
  /** A connected session's queue reached QUEUE_STALL_AT: publishers waited on it. */
  queueStalls: number;
  /** A message whose subject has no MQTT topic (a NATS subject with `+`, `#`, …). */
  untranslatable: number;
  /** A message not sent because it exceeds the client's Maximum Packet Size [MQTT-3.1.2-25]. */
  tooLargeForClient: number;
  /** A queued message expired before it was sent (message expiry interval). */
  expired: number;
  /** A user property NATS headers cannot hold (left out). */
  propertiesDropped: number;
  /** SUBSCRIBE refused at mqtt.max_subscriptions. */
  subscriptionLimit: number;
  /** A topic name or filter longer than mqtt.max_topic_length. */
  topicTooLong: number;
  /** A client sent more QoS 1/2 PUBLISHes than the Receive Maximum allows. */
  receiveMaximumExceeded: number;
  /** Connections closed by a newer one with the same client id [MQTT-3.1.4-3]. */
  takeovers: number;
  /** Will messages published. */
  willsPublished: number;
  /** Publishes refused by permissions. */
  publishDenied: number;
  /** Subscriptions refused by permissions. */
  subscribeDenied: number;
  /** Connections closed for a malformed packet or a protocol violation. */
  protocolErrors: number;
  /** Store operations that failed (logged). */
  storeErrors: number;
}

export function newCounters(): MqttCounters {
  return {
    queueOverflows: 0,
    queueStalls: 0,
    untranslatable: 0,
    tooLargeForClient: 0,
    expired: 0,
    propertiesDropped: 0,
    subscriptionLimit: 0,
    topicTooLong: 0,
    receiveMaximumExceeded: 0,
    takeovers: 0,
    willsPublished: 0,
    publishDenied: 0,
    subscribeDenied: 0,
    protocolErrors: 0,
    storeErrors: 0,
  };
}
