/**
 * MqttStores (store-factory.ts): one store per account, the same one on
 * every call; durable in an account with JetStream, in memory (and said
 * so in the log) in one without, and everywhere when JetStream is off;
 * accounts do not see each other's sessions or retained messages.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { AccountConfig } from '../../src/auth/types.js';
import { Accounts } from '../../src/core/account.js';
import { Router } from '../../src/core/router.js';
import { JetStream } from '../../src/jetstream/service.js';
import { createMqttStores } from '../../src/protocols/mqtt/store-factory.js';
import { Health } from '../../src/util/health.js';
import { quietLog } from './store-open.js';

const retained = (topic: string) => ({
  topic,
  payload: Buffer.from('v'),
  qos: 0 as const,
  retain: true,
});

test('JetStream off: every account gets a memory store of its own', async () => {
  const stores = createMqttStores({ jetstream: null, log: quietLog });
  const a = await stores.forAccount('A');
  assert.equal(a.durable, false);
  assert.equal(await stores.forAccount('A'), a);
  const b = await stores.forAccount('B');
  assert.notEqual(b, a);
  await a.setRetained('t', retained('t'));
  assert.deepEqual(await b.retained('#'), []);
  await stores.close();
});

test('JetStream on: durable where the account has it, memory (with a warning) where not', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'weft-mqtt-stores-'));
  const js = new JetStream(
    { accounts: new Accounts(), router: new Router(), log: quietLog, health: new Health() },
    dir,
    { kind: 'always' },
    {
      accounts: [
        {
          name: 'A',
          jetstream: {
            enabled: true,
            maxStreams: -1,
            maxConsumers: -1,
            maxStore: -1,
            maxMemory: -1,
          },
        },
        { name: 'B', jetstream: { enabled: false } },
      ] as unknown as AccountConfig[],
      systemAccount: '',
    },
  );
  await js.start();
  const warnings: string[] = [];
  const stores = createMqttStores({ jetstream: js, log: { warn: (m) => warnings.push(m) } });
  try {
    const [g, g2] = await Promise.all([stores.forAccount('$G'), stores.forAccount('$G')]);
    assert.equal(g, g2);
    const a = await stores.forAccount('A');
    assert.equal(g.durable, true);
    assert.equal(a.durable, true);
    assert.deepEqual(warnings, []);
    const b = await stores.forAccount('B');
    assert.equal(b.durable, false);
    assert.deepEqual(warnings, [
      'MQTT: account B has no JetStream: its MQTT sessions, queues and retained messages are kept in memory and lost on restart',
    ]);
    await g.saveSession({
      clientId: 'same',
      protocol: 4,
      expiryInterval: 0,
      subscriptions: [],
      disconnectedAt: null,
    });
    await g.setRetained('t', retained('t'));
    assert.equal(await a.loadSession('same'), null);
    assert.deepEqual(await a.retained('#'), []);
    assert.deepEqual(js.account('A')!.streams.has('$MQTT_sess'), true);
  } finally {
    await stores.close();
    await js.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
