/**
 * MQTT topics ⇄ core subjects (src/protocols/mqtt/topics.ts). Tables for the
 * spec's examples and the escapes, and a property test over random topics
 * (dots, spaces and other whitespace, empty levels, leading and trailing
 * slashes, `*`, `>`, `$`, hex-looking text after a slash, unicode):
 *   - topic → subject is a valid literal core subject, and → topic again is
 *     the identity;
 *   - a topic matches a filter (MQTT's rules, topicMatches) exactly when its
 *     subject matches one of the filter's core subjects under the core's
 *     matcher (and the `$` rule allows it), and under the core's Sublist.
 *
 * WEFT_PROPERTY_CASES sets the number of cases, WEFT_PROPERTY_SEED the seed.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Subscription } from '../../src/core/message.js';
import { classifySubject, subjectMatches } from '../../src/core/subject.js';
import { Sublist } from '../../src/core/sublist.js';
import {
  dollarRuleAllows,
  filterToSubjects,
  isDollarTopic,
  isSharedFilter,
  parseSharedFilter,
  shareGroupToQueue,
  startsWithWildcard,
  subjectToTopic,
  topicFilterProblem,
  topicMatches,
  topicNameProblem,
  topicToSubject,
} from '../../src/protocols/mqtt/topics.js';
import { makeRng, type Rng } from '../fuzz/nats-frames.js';

const CASES = Number(process.env.WEFT_PROPERTY_CASES ?? '3000');
const SEED = Number(process.env.WEFT_PROPERTY_SEED ?? String(Date.now() >>> 0)) >>> 0;

describe('topic ⇄ subject table', () => {
  const table: [string, string][] = [
    ['a/b/c', 'a.b.c'],
    ['a', 'a'],
    ['/a', '/.a'],
    ['a/', 'a./'],
    ['/', '/./'],
    ['a//b', 'a./.b'],
    ['a.b/c', 'a//b.c'],
    ['sensor 1/temp', 'sensor/201.temp'],
    ['a/*/>', 'a./2A./3E'],
    ['x*y', 'x/2Ay'],
    ['tab\there', 'tab/09here'],
    ['$SYS/broker/load', '$SYS.broker.load'],
    ['größe/😀', 'größe.😀'],
    ['100%/a', '100%.a'],
  ];
  for (const [topic, subject] of table) {
    test(`${JSON.stringify(topic)} ⇄ ${subject}`, () => {
      assert.equal(topicToSubject(topic), subject);
      assert.equal(subjectToTopic(subject), topic);
      assert.equal(classifySubject(subject), 'literal');
    });
  }

  test('a NATS subject with no escapes maps to levels', () => {
    assert.equal(subjectToTopic('orders.eu.new'), 'orders/eu/new');
    assert.equal(subjectToTopic('$JS.API.INFO'), '$JS/API/INFO');
  });

  test('NATS subjects that are no valid topic name are not deliverable (null)', () => {
    assert.equal(subjectToTopic('a.b+c'), null); // [MQTT-3.3.2-2]
    assert.equal(subjectToTopic('a.#'), null);
    assert.equal(subjectToTopic('/'), null); // one empty level: "" [MQTT-4.7.3-1]
  });

  test('an unknown escape from a NATS publisher keeps its slash', () => {
    assert.equal(subjectToTopic('a./41'), 'a//41');
    assert.equal(subjectToTopic('a.x/2a'), 'a/x/2a');
  });
});

describe('filters', () => {
  const table: [string, string[]][] = [
    ['a/b', ['a.b']],
    ['a/+/c', ['a.*.c']],
    ['+', ['*']],
    ['#', ['>']], // [MQTT-4.7.1-2]
    ['a/#', ['a', 'a.>']], // `a/#` matches `a` too [MQTT-4.7.1-2]
    ['+/#', ['*', '*.>']],
    ['/#', ['/', '/.>']],
    ['a.b/+', ['a//b.*']],
  ];
  for (const [filter, subjects] of table) {
    test(`${filter} → ${subjects.join(', ')}`, () => {
      assert.equal(topicFilterProblem(filter), null);
      assert.deepEqual(filterToSubjects(filter), subjects);
    });
  }

  test('spec examples of matching [MQTT-4.7.1-2] [MQTT-4.7.1-3]', () => {
    assert.ok(topicMatches('sport/tennis/player1/#', 'sport/tennis/player1'));
    assert.ok(topicMatches('sport/tennis/player1/#', 'sport/tennis/player1/ranking'));
    assert.ok(topicMatches('sport/tennis/player1/#', 'sport/tennis/player1/score/wimbledon'));
    assert.ok(topicMatches('sport/#', 'sport'));
    assert.ok(topicMatches('sport/tennis/+', 'sport/tennis/player1'));
    assert.ok(!topicMatches('sport/tennis/+', 'sport/tennis/player1/ranking'));
    assert.ok(!topicMatches('sport/+', 'sport'));
    assert.ok(topicMatches('sport/+', 'sport/'));
    assert.ok(topicMatches('+/+', '/finance'));
    assert.ok(topicMatches('/+', '/finance'));
    assert.ok(!topicMatches('+', '/finance'));
  });

  test('wildcards first do not match $-topics [MQTT-4.7.2-1]', () => {
    assert.ok(!topicMatches('#', '$SYS/x'));
    assert.ok(!topicMatches('+/monitor/Clients', '$SYS/monitor/Clients'));
    assert.ok(topicMatches('$SYS/#', '$SYS/monitor/Clients'));
    assert.ok(topicMatches('$SYS/monitor/+', '$SYS/monitor/Clients'));
    assert.ok(startsWithWildcard('#') && startsWithWildcard('+/a') && !startsWithWildcard('a/#'));
    assert.ok(isDollarTopic('$SYS') && !isDollarTopic('a/$'));
    assert.ok(!dollarRuleAllows('+/x', '$a/x') && dollarRuleAllows('$a/+', '$a/x'));
  });

  test('invalid filters [MQTT-4.7.1-2] [MQTT-4.7.1-3] [MQTT-4.7.3-1]', () => {
    for (const f of [
      '',
      'sport/tennis#',
      'sport/tennis/#/ranking',
      'sport+',
      'a/b+/c',
      '#/a',
      'a\u0000b',
    ]) {
      assert.notEqual(topicFilterProblem(f), null, f);
    }
    assert.match(topicFilterProblem('sport+')!, /MQTT-4\.7\.1-3/);
    assert.match(topicFilterProblem('a/#/b')!, /MQTT-4\.7\.1-2/);
    assert.notEqual(topicFilterProblem('x'.repeat(65536)), null);
    assert.equal(topicFilterProblem('x'.repeat(65535)), null);
    assert.notEqual(topicFilterProblem('€'.repeat(21846)), null); // 65538 bytes
  });

  test('invalid topic names [MQTT-3.3.2-2] [MQTT-4.7.3-1] [MQTT-4.7.3-2]', () => {
    assert.match(topicNameProblem('')!, /MQTT-4\.7\.3-1/);
    assert.match(topicNameProblem('a/+')!, /MQTT-3\.3\.2-2/);
    assert.match(topicNameProblem('a/#')!, /MQTT-3\.3\.2-2/);
    assert.match(topicNameProblem('a\u0000')!, /MQTT-4\.7\.3-2/);
    assert.notEqual(topicNameProblem('x'.repeat(65536)), null);
    assert.equal(topicNameProblem('/'), null);
  });
});

describe('shared subscriptions (MQTT 5.0 §4.8.2)', () => {
  test('parse', () => {
    assert.ok(isSharedFilter('$share/g/a/#'));
    assert.deepEqual(parseSharedFilter('$share/g/a/#'), { group: 'g', filter: 'a/#' });
    assert.deepEqual(parseSharedFilter('$share/g//'), { group: 'g', filter: '/' });
    for (const bad of [
      '$share/g',
      '$share//a',
      '$share/g+/a',
      '$share/#/a',
      '$share/g/',
      '$share/g/a#',
    ]) {
      assert.ok('problem' in parseSharedFilter(bad), bad);
    }
    assert.match(
      (parseSharedFilter('$share/g+/a') as { problem: string }).problem,
      /MQTT-4\.8\.2-1/,
    );
  });

  test('a group name becomes a valid queue name', () => {
    assert.equal(shareGroupToQueue('workers'), 'workers');
    assert.equal(shareGroupToQueue('my group'), 'my/20group');
  });
});

function coreSub(subject: string, sid: string): Subscription {
  return { subject, queue: '', sid, owner: {} as Subscription['owner'], max: 0, delivered: 0 };
}

// --- properties --------------------------------------------------------------

const LEVEL_PIECES = [
  'a',
  'b',
  'sensor',
  'x1',
  '.',
  '..',
  ' ',
  '\t',
  '\n',
  '\r',
  '\f',
  '\v',
  '*',
  '>',
  '$',
  '$SYS',
  '%',
  '%2E',
  '2A',
  '20',
  '//',
  'ü',
  '日本',
  '😀',
  '\u00a0',
  '-',
  '_',
  '~',
  ':',
  "'",
  'A',
  'F0',
];

function level(rng: Rng): string {
  if (rng.chance(0.15)) return '';
  let s = '';
  const n = rng.range(1, 4);
  for (let i = 0; i < n; i++) s += rng.pick(LEVEL_PIECES);
  return s;
}

/** A valid topic name: levels joined by `/` (so leading, trailing and double slashes occur). */
function topic(rng: Rng): string {
  const n = rng.range(1, 5);
  const levels: string[] = [];
  for (let i = 0; i < n; i++) levels.push(level(rng));
  const t = levels.join('/');
  return t.length === 0 ? rng.pick(['/', 'a', '.']) : t;
}

/** A valid filter, often derived from a topic so that matches are common. */
function filter(rng: Rng, near: string): string {
  const levels = near.split('/').map((l) => (rng.chance(0.25) ? '+' : l));
  if (rng.chance(0.2)) levels.splice(rng.int(levels.length), 1, level(rng));
  if (rng.chance(0.15)) levels.push(level(rng));
  if (rng.chance(0.15) && levels.length > 1) levels.pop();
  if (rng.chance(0.3)) levels.splice(rng.int(levels.length + 1), levels.length, '#');
  const f = levels.join('/');
  return f.length === 0 ? '#' : f;
}

test(`property: topic → subject → topic is the identity (${CASES} cases, seed ${SEED})`, () => {
  const rng = makeRng(SEED);
  for (let i = 0; i < CASES; i++) {
    const t = topic(rng);
    const ctx = `seed ${SEED} case ${i} topic ${JSON.stringify(t)}`;
    assert.equal(topicNameProblem(t), null, ctx);
    const s = topicToSubject(t);
    assert.equal(classifySubject(s), 'literal', `${ctx} subject ${JSON.stringify(s)}`);
    assert.equal(subjectToTopic(s), t, `${ctx} subject ${JSON.stringify(s)}`);
  }
});

test(`property: filters map consistently with the core matcher (${CASES} cases, seed ${SEED})`, () => {
  const rng = makeRng(SEED ^ 0x5bd1e995);
  const sublist = new Sublist();
  let matched = 0;
  for (let i = 0; i < CASES; i++) {
    const t = rng.chance(0.1) ? `$${topic(rng)}` : topic(rng);
    const f = filter(rng, rng.chance(0.8) ? t : topic(rng));
    const ctx = `seed ${SEED} case ${i} filter ${JSON.stringify(f)} topic ${JSON.stringify(t)}`;
    assert.equal(topicFilterProblem(f), null, ctx);
    const subjects = filterToSubjects(f);
    const s = topicToSubject(t);
    for (const fs of subjects) assert.notEqual(classifySubject(fs), 'invalid', `${ctx} ${fs}`);
    const hits = subjects.filter((fs) => subjectMatches(fs, s)).length;
    assert.ok(hits <= 1, `${ctx}: the filter's subjects overlap`);
    const expected = topicMatches(f, t);
    assert.equal(hits === 1 && dollarRuleAllows(f, t), expected, ctx);
    if (expected) matched++;
    // The same answer from the core's index.
    const subs = subjects.map((fs, k) => coreSub(fs, `${i}-${k}`));
    for (const sub of subs) sublist.insert(sub);
    const found = sublist.match(s).plain.length;
    for (const sub of subs) sublist.remove(sub);
    assert.equal(found, hits, `${ctx}: sublist`);
  }
  assert.ok(matched > CASES / 10, `too few matches to mean anything: ${matched}`);
});
