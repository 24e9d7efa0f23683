/**
 * Both MQTT stores run the one contract suite (store-suite.ts): the memory
 * store, and the durable store in streams over a JetStream of its own.
 */
import { MemoryMqttStore } from '../../src/protocols/mqtt/store-memory.js';
import { openDurable } from './store-open.js';
import { mqttStoreSuite } from './store-suite.js';

mqttStoreSuite('memory', async (limits) => {
  const store = new MemoryMqttStore(limits);
  await store.open();
  return { store, cleanup: () => store.close() };
});

mqttStoreSuite('streams', (limits) => openDurable(limits));
