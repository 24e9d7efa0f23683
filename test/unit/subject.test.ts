/**
 * Subject rules, after nats-server's IsValidSubject / IsValidLiteralSubject:
 * no empty tokens, no whitespace, `*` and `>` only as whole tokens, `>` last.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  classifySubject,
  isValidPublishSubject,
  isValidQueueName,
  isValidSubject,
  subjectMatches,
} from '../../src/core/subject.js';

const LITERAL = [
  'foo',
  'foo.bar',
  'foo.bar.baz',
  '_INBOX.abc123.1',
  'a-b_c:d$e',
  'größe.😀',
  // Wildcard characters inside a longer token are plain characters.
  'foo*',
  'foo.*bar',
  'foo.bar>',
  'a.>b',
  '$JS.API.INFO',
];
const WILDCARD = ['*', '>', 'foo.*', 'foo.>', '*.bar', '*.*', 'foo.*.baz', '*.bar.>', 'a.*.*.>'];
const INVALID = [
  '',
  '.',
  '..',
  'foo.',
  '.foo',
  'foo..bar',
  'foo.>.bar',
  '>.foo',
  '>.>',
  'foo bar',
  'foo\tbar',
  'foo\r',
  'foo\n',
  ' foo',
  'foo.\fbar',
  'foo.\vbar',
  'foo. ',
  '* .bar',
];

describe('classifySubject', () => {
  for (const s of LITERAL) {
    test(`${JSON.stringify(s)} is literal`, () => {
      assert.equal(classifySubject(s), 'literal');
      assert.equal(isValidSubject(s), true);
      assert.equal(isValidPublishSubject(s), true);
    });
  }
  for (const s of WILDCARD) {
    test(`${JSON.stringify(s)} is a wildcard subject`, () => {
      assert.equal(classifySubject(s), 'wildcard');
      assert.equal(isValidSubject(s), true);
      assert.equal(isValidPublishSubject(s), false);
    });
  }
  for (const s of INVALID) {
    test(`${JSON.stringify(s)} is invalid`, () => {
      assert.equal(classifySubject(s), 'invalid');
      assert.equal(isValidSubject(s), false);
      assert.equal(isValidPublishSubject(s), false);
    });
  }
});

describe('isValidQueueName', () => {
  test('accepts non-empty names without whitespace', () => {
    for (const q of ['q', 'workers', 'a.b', 'group-1_x', 'größe']) {
      assert.equal(isValidQueueName(q), true, q);
    }
  });
  test('refuses empty names and whitespace', () => {
    for (const q of ['', ' ', 'a b', 'a\tb', 'a\r', '\na']) {
      assert.equal(isValidQueueName(q), false, JSON.stringify(q));
    }
  });
});

describe('subjectMatches', () => {
  const cases: [pattern: string, subject: string, match: boolean][] = [
    ['foo', 'foo', true],
    ['foo', 'bar', false],
    ['foo', 'foo.bar', false],
    ['foo.bar', 'foo', false],
    ['foo.bar', 'foo.bar', true],
    ['foo.*', 'foo.bar', true],
    ['foo.*', 'foo', false],
    ['foo.*', 'foo.bar.baz', false],
    ['*', 'foo', true],
    ['*', 'foo.bar', false],
    ['*.bar', 'foo.bar', true],
    ['*.bar', 'foo.baz', false],
    ['foo.*.baz', 'foo.bar.baz', true],
    ['foo.*.baz', 'foo.bar.bar', false],
    ['*.*', 'a.b', true],
    ['*.*', 'a', false],
    ['foo.>', 'foo.bar', true],
    ['foo.>', 'foo.bar.baz', true],
    // `>` stands for one or more tokens, never none.
    ['foo.>', 'foo', false],
    ['>', 'foo', true],
    ['>', 'foo.bar.baz', true],
    ['*.>', 'foo', false],
    ['*.>', 'foo.bar', true],
    ['foo.*.>', 'foo.bar.baz.qux', true],
    ['foo.*.>', 'foo.bar', false],
    ['bar.>', 'foo.bar', false],
    // A token holding `*` is literal.
    ['foo*', 'foox', false],
    ['foo*', 'foo*', true],
  ];
  for (const [pattern, subject, match] of cases) {
    test(`${pattern} ${match ? 'matches' : 'does not match'} ${subject}`, () => {
      assert.equal(subjectMatches(pattern, subject), match);
    });
  }
});
