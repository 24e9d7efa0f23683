import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { HEALTH_PROBLEMS_MAX, Health } from '../../src/util/health.js';

describe('Health', () => {
  test('ok until a problem is reported, degraded with it, ok once it is cleared', () => {
    const h = new Health();
    assert.deepEqual(h.toJSON(), { status: 'ok' });
    h.report('stream:A:write', 'stream A', 'disk full');
    const body = h.toJSON() as {
      status: string;
      problems: { component: string; detail: string }[];
    };
    assert.equal(body.status, 'degraded');
    assert.deepEqual(
      body.problems.map((p) => [p.component, p.detail]),
      [['stream A', 'disk full']],
    );
    h.clear('stream:A:write');
    assert.deepEqual(h.toJSON(), { status: 'ok' });
  });

  test('a report under the same key replaces the detail and keeps the first time', () => {
    const h = new Health();
    h.report('k', 'c', 'one');
    const since = h.list()[0].since;
    h.report('k', 'c', 'two');
    assert.equal(h.list().length, 1);
    assert.equal(h.list()[0].detail, 'two');
    assert.equal(h.list()[0].since, since);
  });

  test('problems past the bound are counted, not kept', () => {
    const h = new Health();
    for (let i = 0; i < HEALTH_PROBLEMS_MAX + 5; i++) h.report(`k${i}`, 'c', 'd');
    assert.equal(h.list().length, HEALTH_PROBLEMS_MAX);
    assert.equal(h.dropped, 5);
    assert.equal((h.toJSON() as { problems_not_kept: number }).problems_not_kept, 5);
  });
});
