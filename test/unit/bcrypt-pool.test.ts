/**
 * bcrypt checks run on the worker thread and give bcryptjs's answers.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import bcrypt from 'bcryptjs';
import { bcryptCompare, bcryptPoolStats } from '../../src/auth/bcrypt-pool.js';

test('bcryptCompare answers on the worker thread, as bcryptjs does', async () => {
  const hash = bcrypt.hashSync('right horse', 4);
  const before = bcryptPoolStats.checks;
  const answers = await Promise.all([
    bcryptCompare('right horse', hash),
    bcryptCompare('wrong horse', hash),
    bcryptCompare('right horse', hash.replace(/^\$2b\$/, '$2a$')),
    bcryptCompare('right horse', 'not a hash'),
  ]);
  assert.deepEqual(answers, [true, false, true, false]);
  assert.equal(bcryptPoolStats.checks - before, 4);
  assert.equal(bcryptPoolStats.restarts, 0);
});
