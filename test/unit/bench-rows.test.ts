/**
 * The bench's shared row model and its --check: rounds folded into a median
 * ratio and min–max, the ratio's direction, the recorded-ratios table of
 * BENCHMARKS.md (parsed, rewritten, malformed lines named), and the check's
 * decision at the 10 % floor. Pure functions; nothing is measured here.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { memoryRows } from '../../bench/memory.js';
import { benchRows } from '../../bench/row-adapters.js';
import {
  CHECK_TOLERANCE,
  checkRows,
  mergeRecorded,
  parseRecorded,
  RECORDED_HEADING,
  type Recorded,
  RecordedError,
  renderCheck,
  replaceRecorded,
} from '../../src/bench/recorded.js';
import { median, type RowSample, renderRows, rowRatio, summarize } from '../../src/bench/rows.js';

const pub = { id: 'pub', label: 'publish only, 16 B', unit: 'msgs/s', ref: 'nats-server' };
const p99 = { id: 'reqrep.p99', label: 'request-reply p99', unit: 'µs', ref: 'nats-server' };

describe('row aggregation', () => {
  test('median of odd and even counts, none', () => {
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 3, 2]), 2.5);
    assert.equal(median([]), undefined);
  });

  test('ratio direction: higher is better → weft ÷ ref; lower is better → ref ÷ weft', () => {
    assert.equal(rowRatio('higher', 100, 150), 1.5);
    assert.equal(rowRatio('lower', 100, 50), 2);
    assert.equal(rowRatio('lower', 50, 100), 0.5);
    assert.equal(rowRatio('higher', undefined, 1), undefined);
    assert.equal(rowRatio('higher', 0, 1), undefined);
    assert.equal(rowRatio('lower', 1, 0), undefined);
    assert.equal(rowRatio('lower', 1, Number.NaN), undefined);
  });

  test('three rounds: median of the per-round ratios, min–max, median values', () => {
    const samples: RowSample[] = [
      { ...pub, better: 'higher', refValue: 100, weftValue: 80 }, // 0.8
      { ...p99, better: 'lower', refValue: 100, weftValue: 200 }, // 0.5
      { ...pub, better: 'higher', refValue: 200, weftValue: 220 }, // 1.1
      { ...p99, better: 'lower', refValue: 120, weftValue: 100 }, // 1.2
      { ...pub, better: 'higher', refValue: 100, weftValue: 95, warning: 'lost 3' }, // 0.95
      { ...p99, better: 'lower', refValue: 90, weftValue: 100 }, // 0.9
    ];
    const [a, b] = summarize(samples);
    assert.equal(a!.id, 'pub');
    assert.equal(a!.rounds, 3);
    assert.deepEqual(a!.ratios, [0.8, 1.1, 0.95]);
    assert.equal(a!.ratio, 0.95);
    assert.equal(a!.ratioMin, 0.8);
    assert.equal(a!.ratioMax, 1.1);
    assert.equal(a!.refMedian, 100);
    assert.equal(a!.weftMedian, 95);
    assert.deepEqual(a!.warnings, ['lost 3']);
    assert.equal(b!.id, 'reqrep.p99');
    assert.equal(b!.ratio, 0.9);
    assert.equal(b!.ratioMin, 0.5);
    assert.equal(b!.ratioMax, 1.2);
  });

  test('a round with one side missing counts as a round but gives no ratio', () => {
    const [s] = summarize([
      { ...pub, better: 'higher', refValue: 100, weftValue: 100 },
      { ...pub, better: 'higher', refValue: 100 },
    ]);
    assert.equal(s!.rounds, 2);
    assert.deepEqual(s!.ratios, [1]);
    const table = renderRows([s!]);
    assert.match(table, /\| 1\.00× +\| 1\.00–1\.00× \| 1\/2 +\|/);
  });

  test('a row without a reference has no ratio', () => {
    const [s] = summarize([
      { id: 'sse-fanout', label: 'SSE', unit: 'msgs/s', ref: '', better: 'higher', weftValue: 5 },
    ]);
    assert.equal(s!.ratio, undefined);
    assert.equal(s!.weftMedian, 5);
  });
});

const doc = (table: string) =>
  `# Benchmarks\n\nprose\n\n### ${RECORDED_HEADING}\n\nSome words.\n\n${table}\n\n## Next\n`;
const TABLE = [
  '| id | ratio | date | commit | note |',
  '|----|------:|------|--------|------|',
  '| pub | 0.730 | 2026-12-06 | 4de119e | seeded |',
  '| reqrep.p99 | 1.2 | 2026-12-06 | - |  |',
].join('\n');

describe('recorded ratios in BENCHMARKS.md', () => {
  test('parses the table under the heading', () => {
    const m = parseRecorded(doc(TABLE));
    assert.deepEqual([...m.keys()], ['pub', 'reqrep.p99']);
    assert.deepEqual(m.get('pub'), {
      id: 'pub',
      ratio: 0.73,
      date: '2026-12-06',
      commit: '4de119e',
      note: 'seeded',
    });
    assert.equal(m.get('reqrep.p99')!.commit, '-');
  });

  test('a heading with no table yet is an empty record', () => {
    assert.equal(parseRecorded(doc('')).size, 0);
  });

  const bad: Array<[string, string, number, RegExp]> = [
    ['no heading', '# Benchmarks\n', 0, /no heading "Recorded ratios/],
    ['bad header', doc('| id | ratio | date |\n|---|---|---|'), 9, /table header must be/],
    [
      'bad rule',
      doc('| id | ratio | date | commit | note |\n| pub | 1 | 2026-12-06 | - | |'),
      10,
      /line under the table header/,
    ],
    [
      'wrong cell count',
      doc(`${TABLE}\n| pub2 | 1.0 | 2026-12-06 |`),
      13,
      /has 5 cells .*this one 3/,
    ],
    [
      'ratio not a number',
      doc(`${TABLE}\n| x | fast | 2026-12-06 | - | |`),
      13,
      /ratio "fast" of x is not a positive/,
    ],
    ['ratio zero', doc(`${TABLE}\n| x | 0.0 | 2026-12-06 | - | |`), 13, /ratio "0\.0" of x/],
    ['negative ratio', doc(`${TABLE}\n| x | -1 | 2026-12-06 | - | |`), 13, /ratio "-1"/],
    ['bad date', doc(`${TABLE}\n| x | 1 | 06/12/2026 | - | |`), 13, /date "06\/12\/2026" of x/],
    ['bad commit', doc(`${TABLE}\n| x | 1 | 2026-12-06 | HEAD | |`), 13, /commit "HEAD" of x/],
    ['bad id', doc(`${TABLE}\n| a b | 1 | 2026-12-06 | - | |`), 13, /id "a b"/],
    [
      'duplicate id',
      doc(`${TABLE}\n| pub | 1 | 2026-12-06 | - | |`),
      13,
      /pub is recorded twice \(also line 11\)/,
    ],
    [
      'two headings',
      `${doc(TABLE)}\n## ${RECORDED_HEADING}\n`,
      16,
      /appears again \(first on line 5\)/,
    ],
  ];
  for (const [name, text, line, message] of bad) {
    test(`malformed: ${name} → RecordedError on line ${line}`, () => {
      assert.throws(
        () => parseRecorded(text),
        (err: unknown) => {
          assert.ok(err instanceof RecordedError, String(err));
          assert.equal(err.line, line);
          assert.match(err.message, message);
          return true;
        },
      );
    });
  }

  test('--record: merged entries rewrite the table and parse back; prose kept', () => {
    const old = parseRecorded(doc(TABLE));
    const fresh: Recorded[] = [
      { id: 'pub', ratio: 1.0512, date: '2026-12-07', commit: 'abcdef1', note: 'a | b' },
      { id: 'memory.per-sub', ratio: 0.81, date: '2026-12-07', commit: 'abcdef1', note: '' },
    ];
    const text = replaceRecorded(doc(TABLE), mergeRecorded(old, fresh));
    assert.match(text, /Some words\./);
    assert.match(text, /## Next/);
    const back = parseRecorded(text);
    assert.deepEqual([...back.keys()], ['pub', 'reqrep.p99', 'memory.per-sub']);
    assert.equal(back.get('pub')!.ratio, 1.051);
    assert.equal(back.get('pub')!.note, 'a / b');
    // Inserted under a heading that had no table.
    const fromEmpty = parseRecorded(replaceRecorded(doc(''), fresh));
    assert.equal(fromEmpty.size, 2);
  });
});

describe('bench --check decision', () => {
  const recorded = parseRecorded(doc(TABLE));
  const row = (id: string, ratio: number | undefined, ref = 'nats-server') =>
    summarize([
      {
        id,
        label: id,
        unit: 'msgs/s',
        ref,
        better: 'higher',
        ...(ref === '' ? {} : { refValue: 100 }),
        ...(ratio === undefined ? {} : { weftValue: ratio * 100 }),
      },
    ])[0]!;

  test('the floor is 10 % below the recorded ratio; at the floor passes, below fails', () => {
    assert.equal(CHECK_TOLERANCE, 0.1);
    const at = checkRows([row('pub', 0.657)], recorded);
    assert.equal(at.rows[0]!.floor!.toFixed(3), '0.657');
    assert.equal(at.rows[0]!.verdict, 'ok');
    assert.equal(at.failed, false);
    const below = checkRows([row('pub', 0.656)], recorded);
    assert.equal(below.rows[0]!.verdict, 'regressed');
    assert.equal(below.failed, true);
    const above = checkRows([row('pub', 2)], recorded);
    assert.equal(above.rows[0]!.verdict, 'ok');
  });

  test('a row with no recorded ratio is reported, not failed; recorded rows not run are left out', () => {
    const r = checkRows([row('fanout', 0.1)], recorded);
    assert.deepEqual(
      r.rows.map((x) => [x.id, x.verdict]),
      [['fanout', 'unrecorded']],
    );
    assert.equal(r.failed, false);
  });

  test('a recorded row without a ratio this run is "no ratio", not a failure', () => {
    const r = checkRows([row('pub', undefined)], recorded);
    assert.equal(r.rows[0]!.verdict, 'no ratio');
    assert.equal(r.failed, false);
  });

  test('rows with no reference at all are not listed', () => {
    assert.equal(checkRows([row('sse-fanout', undefined, '')], recorded).rows.length, 0);
  });

  test('the report names the row, the recorded ratio, the measured median and the floor', () => {
    const text = renderCheck(checkRows([row('pub', 0.5), row('fanout', 1)], recorded));
    assert.match(text, /\| pub +\| 0\.73× +\| 0\.50× +\| 0\.50–0\.50× +\| 0\.66× +\| REGRESSED/);
    assert.match(text, /FAILED: 1 row below the floor: pub\./);
    assert.match(text, /1 row has no recorded ratio/);
  });
});

describe('group adapters', () => {
  test('request-reply becomes p50 and p99 rows, lower is better, ratio = ref ÷ weft', () => {
    const rr = (p50: number, p99: number) =>
      ({ workload: 'reqrep', complete: true, ended: 'done', latency: { p50, p99 } }) as never;
    const rows = summarize(
      benchRows('reqrep', 'request-reply', 'nats-server', rr(40, 100), rr(50, 80)),
    );
    assert.deepEqual(
      rows.map((r) => [r.id, r.better, r.unit, r.ratio]),
      [
        ['reqrep.p50', 'lower', 'µs', 0.8],
        ['reqrep.p99', 'lower', 'µs', 1.25],
      ],
    );
  });

  test('memory rows: one sample per round, nats ÷ weft, unsettled RSS marked', () => {
    const rows = summarize(
      memoryRows({
        conns: 10,
        subs: 10,
        storeMsgs: 10,
        rounds: [
          { side: 'nats', idleRss: 100, perConn: 10, perSub: 700, perMsg: 50, unsettled: [] },
          {
            side: 'weft',
            idleRss: 200,
            perConn: 5,
            perSub: 900,
            perMsg: 100,
            unsettled: ['stream'],
          },
          { side: 'nats', idleRss: 100, perConn: 10, perSub: 700, perMsg: 50, unsettled: [] },
          { side: 'weft', idleRss: 100, perConn: 20, perSub: 700, perMsg: 25, unsettled: [] },
        ],
      }),
    );
    const by = new Map(rows.map((r) => [r.id, r]));
    assert.equal(by.get('memory.idle-rss')!.ratioMin, 0.5);
    assert.equal(by.get('memory.idle-rss')!.ratioMax, 1);
    assert.equal(by.get('memory.per-conn')!.ratio, 1.25);
    assert.equal(by.get('memory.per-msg')!.rounds, 2);
    assert.equal(by.get('memory.per-msg')!.warnings.length, 1);
    assert.equal(by.get('memory.per-sub')!.warnings.length, 0);
  });
});
