import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { addEntry, type RedisNode, startRedisNode } from './groups-helpers.js';

describe('smoke', () => {
  let node: RedisNode;
  let r: Redis;
  before(async () => {
    node = await startRedisNode();
    r = new Redis({ port: node.port, host: '127.0.0.1' });
  });
  after(async () => {
    r.disconnect();
    await node.close();
  });
  test('create, read, pending, ack', async () => {
    await addEntry(node, 's', [1, 1], ['a', '1']);
    await addEntry(node, 's', [2, 1], ['b', '2']);
    assert.equal(await r.xgroup('CREATE', 's', 'g', '0'), 'OK');
    console.log(await r.xreadgroup('GROUP', 'g', 'c', 'COUNT', 1, 'STREAMS', 's', '>'));
    console.log(await r.xreadgroup('GROUP', 'g', 'c', 'STREAMS', 's', '>'));
    console.log(await r.xreadgroup('GROUP', 'g', 'c', 'STREAMS', 's', '>'));
    console.log(await r.xpending('s', 'g'));
    console.log(await r.xpending('s', 'g', '-', '+', 10));
    console.log(await r.xreadgroup('GROUP', 'g', 'c', 'STREAMS', 's', '0'));
    console.log(await r.xack('s', 'g', '1-1'));
    console.log(await r.xinfo('GROUPS', 's'));
    console.log(await r.xinfo('CONSUMERS', 's', 'g'));
    console.log(await r.xclaim('s', 'g', 'd', 0, '2-1'));
    console.log(await r.xautoclaim('s', 'g', 'e', 0, '0'));
    const p = r.duplicate();
    const blocked = p.xreadgroup('GROUP', 'g', 'c', 'BLOCK', 5000, 'STREAMS', 's', '>');
    await new Promise((res) => setTimeout(res, 100));
    await addEntry(node, 's', [3, 1], ['c', '3']);
    console.log(await blocked);
    p.disconnect();
  });
});
