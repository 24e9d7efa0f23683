/**
 * Both MQTT stores run the one contract suite (store-suite.ts): the memory
 * store, and the durable store in streams over a JetStream of its own, on
 * an unnamed node and on a named one.
 */
import { MemoryMqttStore } from '../../src/protocols/mqtt/store-memory.js';
import { openDurable } from './store-open.js';
import { mqttStoreSuite } from './store-suite.js';

mqttStoreSuite('memory', async (limits) => {
  const store = new MemoryMqttStore(limits);
  await store.open();
  return { store, cleanup: () => store.close() };
});

mqttStoreSuite('streams, unnamed node', (limits) => openDurable(limits));
// A named node's streams carry its name (`$MQTT_sess_n.1` is not a stream name: hashed).
mqttStoreSuite('streams, node "n.1"', (limits) => openDurable(limits, 'n.1'));
