/**
 * topics.ts remembers the last answer of topicToSubject, subjectToTopic and
 * topicNameProblem: repeated and alternating calls (valid, escaped and
 * invalid inputs mixed) answer what a first call answers.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  subjectToTopic,
  topicNameProblem,
  topicToSubject,
} from '../../src/protocols/mqtt/topics.js';

const TOPICS = ['a/b/c', '/a', 'a.b/c d', 'a', 'a/+', '', 'x\u0000y', 'a/b/c', 'ü/€'];
const SUBJECTS = ['a.b.c', '/.a', 'a//b.c/20d', 'a', 'a.+', '', 'a.b.c', 'x.#'];

test('the remembered conversions answer what a first call answers, in any order', () => {
  const first = new Map<string, unknown>();
  for (const t of TOPICS) first.set(`p:${t}`, topicNameProblem(t));
  for (const t of TOPICS) if (topicNameProblem(t) === null) first.set(`s:${t}`, topicToSubject(t));
  for (const s of SUBJECTS) first.set(`t:${s}`, subjectToTopic(s));
  assert.equal(first.get('s:a.b/c d'), 'a//b.c/20d');
  assert.equal(first.get('t:a.+'), null);
  assert.equal(first.get('p:a'), null);
  assert.match(String(first.get('p:a/+')), /wildcard/);
  for (let round = 0; round < 3; round++)
    for (let i = 0; i < TOPICS.length; i++) {
      for (const t of [TOPICS[i]!, TOPICS[(i * 5 + round) % TOPICS.length]!, TOPICS[i]!]) {
        assert.equal(topicNameProblem(t), first.get(`p:${t}`), t);
        if (first.get(`p:${t}`) === null) assert.equal(topicToSubject(t), first.get(`s:${t}`), t);
      }
      for (const s of [SUBJECTS[i % SUBJECTS.length]!, SUBJECTS[(i + round) % SUBJECTS.length]!])
        assert.equal(subjectToTopic(s), first.get(`t:${s}`), s);
    }
});
