/**
 * Configuration from one settings table: values checked by kind (sizes with
 * units, durations, ports, counts), errors that name the key as the user
 * wrote it (`http_port` in a file, `--http-port` on the command line).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  convert,
  loadConfigFile,
  optionsFromFlags,
  parseConfigText,
  SETTINGS,
  type Setting,
} from '../../src/config/config.js';
import { DEFAULTS } from '../../src/config/options.js';
import { ConfigError } from '../../src/errors.js';

function setting(file: string): Setting {
  const s = SETTINGS.find((x) => x.file === file);
  assert.ok(s !== undefined, `no setting ${file}`);
  return s;
}

/** Asserts that `fn` throws a ConfigError for `key`. */
function throwsFor(fn: () => unknown, key: string, hint?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ConfigError, `not a ConfigError: ${String(err)}`);
    assert.equal(err.key, key);
    assert.ok(err.message.startsWith(`${key}: `), err.message);
    if (hint !== undefined) assert.match(err.message, hint);
    return true;
  });
}

const fileValue = (key: string, value: unknown) => convert(setting(key), key, value, true);
const flagValue = (key: string, value: unknown) =>
  convert(setting(key), `--${setting(key).flag}`, value, false);

/** setTimeout/setInterval treat longer delays as 1 ms (with a TimeoutOverflowWarning). */
const TIMER_MAX_MS = 2 ** 31 - 1;

describe('SETTINGS', () => {
  test('file keys, flags, short flags and options are unique', () => {
    for (const field of ['file', 'flag', 'option'] as const) {
      const values = SETTINGS.map((s) => s[field]);
      assert.equal(new Set(values).size, values.length, field);
    }
    const shorts = SETTINGS.flatMap((s) => (s.short === undefined ? [] : [s.short]));
    assert.equal(new Set(shorts).size, shorts.length);
  });

  test('every setting sets a server option', () => {
    for (const s of SETTINGS) assert.ok(s.option in DEFAULTS, s.option);
  });

  test('every setting has help text and flags in kebab case', () => {
    for (const s of SETTINGS) {
      assert.ok(s.help.length > 0, s.file);
      assert.match(s.flag, /^[a-z]+(-[a-z]+)*$/);
      // Sections and underscores become dashes (mesh.dead_after → --mesh-dead-after);
      // a list is given one item per flag, so its flag is singular (--link).
      // The HTTP API's section (http.port) takes --http-api-*: --http-port is
      // monitoring's (nats-server's http_port).
      const expected =
        s.kind === 'links' ? 'link' : s.file.replace(/^http\./, 'http_api.').replace(/[._]/g, '-');
      assert.equal(s.flag, expected);
    }
  });
});

describe('convert: sizes', () => {
  const ok: [unknown, number][] = [
    [2048, 2048],
    ['512', 512],
    ['64KB', 64 * 1024],
    ['64kb', 64 * 1024],
    ['64K', 64 * 1024],
    ['1MiB', 1024 * 1024],
    ['1M', 1024 * 1024],
    ['1mb', 1024 * 1024],
    ['2GB', 2 * 1024 ** 3],
    ['1.5KB', 1536],
    [' 2 kb ', 2048],
    ['10b', 10],
  ];
  for (const [v, want] of ok) {
    test(`${JSON.stringify(v)} is ${want} bytes`, () => {
      assert.equal(fileValue('max_pending', v), want);
      if (typeof v === 'string') assert.equal(flagValue('max_pending', v), want);
    });
  }
  const bad: unknown[] = [0, -1, 1.5, '0', '0KB', '-1', 'abc', '1XB', '1 K B', '', true, null, []];
  for (const v of bad) {
    test(`${JSON.stringify(v)} is refused, naming the key`, () => {
      throwsFor(() => fileValue('max_payload', v), 'max_payload', /size|bytes/);
      throwsFor(() => flagValue('max_control_line', v), '--max-control-line');
    });
  }
});

describe('convert: durations', () => {
  const ok: [unknown, number][] = [
    ['500ms', 500],
    ['2s', 2000],
    ['1m', 60_000],
    ['1h', 3_600_000],
    ['1m30s', 90_000],
    ['1.5s', 1500],
    [' 2s ', 2000],
  ];
  for (const [v, want] of ok) {
    test(`${JSON.stringify(v)} is ${want} ms`, () => {
      assert.equal(fileValue('auth_timeout', v), want);
      assert.equal(flagValue('ping_interval', v), want);
    });
  }

  test('a number in the file is seconds', () => {
    assert.equal(fileValue('auth_timeout', 5), 5000);
    assert.equal(fileValue('auth_timeout', 0.5), 500);
  });

  test('a bare number on the command line is refused (no unit)', () => {
    throwsFor(() => flagValue('auth_timeout', '5'), '--auth-timeout', /duration/);
  });

  for (const v of ['', '0s', '0ms', 'abc', '2x', '-1s', '1 s', 's', 0, -5, true, null]) {
    test(`${JSON.stringify(v)} is refused, naming the key`, () => {
      throwsFor(() => fileValue('shutdown_grace', v), 'shutdown_grace');
    });
  }

  test('a duration too long for a timer is refused, not turned into 1 ms', () => {
    // 600h is 2.16e9 ms, past setInterval's 2^31-1 ms: Node would fire every
    // millisecond instead. Either refuse it or keep it within a timer's range.
    for (const [key, v] of [
      ['ping_interval', '600h'],
      ['ping_interval', 3_000_000],
      ['auth_timeout', '1000h'],
      ['shutdown_grace', Number.POSITIVE_INFINITY],
    ] as const) {
      let got: unknown;
      try {
        got = fileValue(key, v);
      } catch (err) {
        assert.ok(err instanceof ConfigError && err.key === key, String(err));
        continue;
      }
      assert.ok(
        typeof got === 'number' && Number.isFinite(got) && got <= TIMER_MAX_MS,
        `${key}: ${String(v)} was accepted as ${String(got)} ms`,
      );
    }
  });
});

describe('convert: ports, counts, strings, log levels', () => {
  test('ports from 0 to 65535, as numbers or strings', () => {
    assert.equal(fileValue('port', 4222), 4222);
    assert.equal(fileValue('port', 0), 0);
    assert.equal(fileValue('port', 65535), 65535);
    assert.equal(flagValue('port', '4333'), 4333);
  });

  test('bad ports are refused, naming the key', () => {
    for (const v of [65536, -1, 42.5, 'abc', '', '42x', true, null]) {
      throwsFor(() => fileValue('port', v), 'port', /port number/);
      throwsFor(() => flagValue('port', v), '--port');
    }
  });

  test('http_port also takes -1 (monitoring off), but nothing lower', () => {
    assert.equal(fileValue('http_port', -1), -1);
    assert.equal(flagValue('http_port', '-1'), -1);
    throwsFor(() => fileValue('http_port', -2), 'http_port', /-1 to 65535/);
  });

  test('counts are whole numbers, 0 or more', () => {
    assert.equal(fileValue('max_connections', 0), 0);
    assert.equal(flagValue('max_subscriptions', '100'), 100);
    for (const v of [-1, 1.5, 'x', '']) throwsFor(() => fileValue('ping_max', v), 'ping_max');
  });

  test('strings must be non-empty; a numeric name becomes a string', () => {
    assert.equal(fileValue('host', '127.0.0.1'), '127.0.0.1');
    assert.equal(fileValue('name', 42), '42');
    throwsFor(() => fileValue('host', ''), 'host');
    throwsFor(() => fileValue('host', 42), 'host');
    throwsFor(() => fileValue('data_dir', ['a']), 'data_dir');
  });

  test('log levels', () => {
    for (const l of ['silent', 'error', 'warn', 'info', 'debug']) {
      assert.equal(fileValue('log_level', l), l);
    }
    throwsFor(() => fileValue('log_level', 'verbose'), 'log_level', /silent, error/);
    throwsFor(() => flagValue('log_level', 'INFO'), '--log-level');
  });
});

describe('convert: booleans', () => {
  test('jetstream is true or false', () => {
    assert.equal(fileValue('jetstream', true), true);
    assert.equal(fileValue('jetstream', false), false);
    for (const v of ['yes', 'true', 1, 0, null, {}]) {
      throwsFor(() => fileValue('jetstream', v), 'jetstream', /true or false/);
    }
  });
});

describe('convert: sync_interval', () => {
  test('always (0) or a duration; anything else named', () => {
    assert.equal(fileValue('sync_interval', 'always'), 0);
    assert.equal(flagValue('sync_interval', 'always'), 0);
    assert.equal(fileValue('sync_interval', '100ms'), 100);
    assert.equal(fileValue('sync_interval', 2), 2000);
    assert.equal(flagValue('sync_interval', '2m'), 120_000);
    for (const v of ['never', '', '0s', true, null]) {
      throwsFor(() => fileValue('sync_interval', v), 'sync_interval', /always or|duration|longer/);
    }
    assert.equal(DEFAULTS.syncIntervalMs, 0);
  });
});

describe('parseConfigText', () => {
  test('a full file', () => {
    const text = [
      '# a Weft node',
      'host: 127.0.0.1',
      'port: 4333',
      'http_port: -1',
      'name: node-a',
      'data_dir: /var/lib/weft',
      'max_payload: 2MB',
      'max_control_line: 8KiB',
      'max_pending: 128MB',
      'max_connections: 100',
      'max_subscriptions: 0',
      'auth_timeout: 3',
      'ping_interval: 1m30s',
      'ping_max: 3',
      'shutdown_grace: 500ms',
      'log_level: debug',
    ].join('\n');
    assert.deepEqual(parseConfigText(text), {
      host: '127.0.0.1',
      port: 4333,
      httpPort: -1,
      name: 'node-a',
      dataDir: '/var/lib/weft',
      maxPayload: 2 * 1024 * 1024,
      maxControlLine: 8 * 1024,
      maxPending: 128 * 1024 * 1024,
      maxConnections: 100,
      maxSubscriptions: 0,
      authTimeoutMs: 3000,
      pingIntervalMs: 90_000,
      maxPingsOut: 3,
      shutdownGraceMs: 500,
      logLevel: 'debug',
    });
  });

  test('jetstream: false turns JetStream off', () => {
    assert.deepEqual(parseConfigText('jetstream: false\n'), { jetstream: false });
    assert.deepEqual(parseConfigText('jetstream: true\n'), { jetstream: true });
    // nats-server's block form is not Weft's: named, not ignored.
    throwsFor(() => parseConfigText('jetstream:\n  store_dir: /x\n'), 'jetstream', /true or false/);
  });

  test('an empty file or only comments gives no options', () => {
    assert.deepEqual(parseConfigText(''), {});
    assert.deepEqual(parseConfigText('# nothing\n\n'), {});
  });

  test('an unknown key is named, with the known ones listed', () => {
    throwsFor(() => parseConfigText('port: 4222\nmax_paylod: 1MB\n'), 'max_paylod', /max_payload/);
  });

  test('a bad value names its key', () => {
    throwsFor(() => parseConfigText('port: 4222\nhttp_port: lots\n'), 'http_port');
    throwsFor(() => parseConfigText('max_payload: 1XB'), 'max_payload');
  });

  test('bad YAML is refused, naming the file', () => {
    throwsFor(() => parseConfigText('port: [1, 2', 'weft.yaml'), 'weft.yaml', /not valid YAML/);
    throwsFor(() => parseConfigText('port: 1\n  host: x\n', 'weft.yaml'), 'weft.yaml', /YAML/);
    throwsFor(() => parseConfigText('port: 1\nport: 2\n', 'weft.yaml'), 'weft.yaml', /YAML/);
  });

  test('a file that is not a mapping is refused', () => {
    throwsFor(() => parseConfigText('- port: 1\n', 'c.yaml'), 'c.yaml', /mapping/);
    throwsFor(() => parseConfigText('just text', 'c.yaml'), 'c.yaml', /mapping/);
    throwsFor(() => parseConfigText('42', 'c.yaml'), 'c.yaml', /mapping/);
  });

  test('a max_payload the parser cannot buffer is refused', () => {
    // The parser assembles a split payload in one Buffer of that size; Node
    // cannot allocate 5 GiB, so a client's `PUB x 5000000000` would throw.
    throwsFor(() => parseConfigText('max_payload: 5GB'), 'max_payload');
  });
});

describe('loadConfigFile', () => {
  test('reads a file; a missing file is named with --config', () => {
    const dir = mkdtempSync(join(tmpdir(), 'weft-config-'));
    try {
      const path = join(dir, 'weft.yaml');
      writeFileSync(path, 'port: 5222\nlog_level: warn\n');
      assert.deepEqual(loadConfigFile(path), { port: 5222, logLevel: 'warn' });
      throwsFor(() => loadConfigFile(join(dir, 'nope.yaml')), '--config', /no such file/);
      writeFileSync(path, 'port: x\n');
      throwsFor(() => loadConfigFile(path), 'port');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('optionsFromFlags', () => {
  test('flag values become options; absent flags stay absent', () => {
    assert.deepEqual(
      optionsFromFlags({
        port: '4333',
        'http-port': '-1',
        'max-payload': '2MB',
        'auth-timeout': '10s',
        'log-level': 'debug',
        name: 'n1',
      }),
      {
        port: 4333,
        httpPort: -1,
        maxPayload: 2 * 1024 * 1024,
        authTimeoutMs: 10_000,
        logLevel: 'debug',
        name: 'n1',
      },
    );
    assert.deepEqual(optionsFromFlags({}), {});
  });

  test('flags that are not settings are ignored (parseArgs handles those)', () => {
    assert.deepEqual(optionsFromFlags({ config: 'x.yaml', help: true }), {});
  });

  test('--jetstream and --no-jetstream', () => {
    assert.deepEqual(optionsFromFlags({ jetstream: true }), { jetstream: true });
    assert.deepEqual(optionsFromFlags({ 'no-jetstream': true }), { jetstream: false });
    throwsFor(
      () => optionsFromFlags({ jetstream: true, 'no-jetstream': true }),
      '--jetstream',
      /--no-jetstream/,
    );
    assert.equal(DEFAULTS.jetstream, true);
  });

  test('a bad flag value names the flag', () => {
    throwsFor(() => optionsFromFlags({ port: 'abc' }), '--port', /port number/);
    throwsFor(() => optionsFromFlags({ 'max-payload': 'huge' }), '--max-payload');
    throwsFor(() => optionsFromFlags({ 'ping-interval': '5' }), '--ping-interval');
  });
});
