/**
 * nats-server's keys as Weft's config document: renamed keys, host:port
 * forms, nats-server's defaults where Weft's differ, the security blocks
 * passed on unchanged, every unsupported key named in one error, and how
 * loadConfigFile picks the format of a file.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { loadConfigFile, optionsFromDocument } from '../../src/config/config.js';
import { loadNatsConfFile, natsConfTextToDocument } from '../../src/config/natsconf-map.js';
import { ConfigError } from '../../src/errors.js';

const FILE = '/etc/nats/nats.conf';
const doc = (text: string, env: Record<string, string> = {}) =>
  natsConfTextToDocument(text, FILE, env);

function throwsConfig(fn: () => unknown, key: string, why: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ConfigError, `not a ConfigError: ${String(err)}`);
    assert.equal(err.key, key, err.message);
    assert.match(err.message, why);
    return true;
  });
}

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'weft-natsconf-'));
  dirs.push(d);
  return d;
}

describe('nats-server keys to Weft settings', () => {
  test('the server keys, renamed where Weft names them otherwise', () => {
    const text = `
listen: 127.0.0.1:4333
http_port: 8333
server_name: edge-1
max_payload: 2MB
max_pending: 32MB
max_control_line: 8KB
max_conn: 500
max_subs: 1000
ping_interval: "30s"
ping_max: 3
write_deadline: "5s"
jetstream { store_dir: "/var/lib/weft" }
debug: true
`;
    assert.deepEqual(doc(text), {
      host: '127.0.0.1',
      port: 4333,
      http_port: 8333,
      name: 'edge-1',
      max_payload: 2 * 1024 * 1024,
      max_pending: 32 * 1024 * 1024,
      max_control_line: 8192,
      max_connections: 500,
      max_subscriptions: 1000,
      ping_interval: '30s',
      ping_max: 3,
      write_deadline: '5s',
      data_dir: '/var/lib/weft',
      jetstream: true,
      log_level: 'debug',
    });
  });

  test('host/net and port, monitor_port, http: host:port; keys in any case', () => {
    assert.deepEqual(doc('net: 10.0.0.1\nPort: 4222\nmonitor_port: 8222\njetstream: false'), {
      host: '10.0.0.1',
      port: 4222,
      http_port: 8222,
      jetstream: false,
    });
    assert.deepEqual(doc('listen: "[::1]:4222"\nhttp: "[::1]:8222"'), {
      host: '::1',
      port: 4222,
      http_port: 8222,
      http_host: '::1',
      jetstream: false,
    });
    assert.deepEqual(doc('listen: 4223\nhttp: localhost:8223\nhost: localhost'), {
      port: 4223,
      http_port: 8223,
      http_host: 'localhost',
      host: 'localhost',
      jetstream: false,
    });
  });

  test("nats-server's defaults: no monitoring and no JetStream unless configured; -1 is any port", () => {
    assert.deepEqual(doc('port: -1'), { port: 0, http_port: -1, jetstream: false });
    assert.deepEqual(
      doc('port: 0\nhttp_port: 0'),
      { port: 4222, http_port: -1, jetstream: false },
      '0: the default port, no monitoring',
    );
    assert.deepEqual(doc('listen: 0.0.0.0:0\nhttp: 0'), {
      host: '0.0.0.0',
      port: 4222,
      http_port: -1,
      jetstream: false,
    });
    assert.deepEqual(doc('listen: 127.0.0.1:-1\nhttp: -1\njetstream: enabled'), {
      host: '127.0.0.1',
      port: 0,
      http_port: 0,
      jetstream: true,
    });
    assert.deepEqual(doc('jetstream {}'), { jetstream: true, http_port: -1 });
    assert.deepEqual(doc('jetstream { enabled: false, store_dir: x }'), {
      data_dir: 'x',
      jetstream: false,
      http_port: -1,
    });
  });

  test('trace and debug set log_level debug; false leaves it', () => {
    assert.equal(doc('trace: true').log_level, 'debug');
    assert.equal(doc('debug: false\ntrace: false').log_level, undefined);
    throwsConfig(() => doc('debug: 1'), 'debug', /must be true or false/);
  });

  test('the security blocks pass through unchanged under their nats-server names', () => {
    const text = `
authorization { users: [ { user: a, password: b, permissions: { publish: "x.>" } } ] }
accounts { A: { users: [ { user: c } ], exports: [ { stream: "e.>" } ] } }
tls { cert_file: c.pem, key_file: k.pem, verify: true }
system: SYS
no_auth_user: a
operator: "./op.jwt"
account_resolver: MEMORY
resolver_preload { ACCT: "eyJ..." }
`;
    assert.deepEqual(doc(text), {
      authorization: { users: [{ user: 'a', password: 'b', permissions: { publish: 'x.>' } }] },
      accounts: { A: { users: [{ user: 'c' }], exports: [{ stream: 'e.>' }] } },
      tls: { cert_file: 'c.pem', key_file: 'k.pem', verify: true },
      system_account: 'SYS',
      no_auth_user: 'a',
      operator: './op.jwt',
      resolver: 'MEMORY',
      resolver_preload: { ACCT: 'eyJ...' },
      http_port: -1,
      jetstream: false,
    });
  });

  test("Weft's own settings may be written in the file too", () => {
    assert.deepEqual(doc('log_level: warn\nshutdown_grace: "1s"\nmesh { port: 7422, token: t }'), {
      log_level: 'warn',
      shutdown_grace: '1s',
      mesh: { port: 7422, token: 't' },
      http_port: -1,
      jetstream: false,
    });
  });

  test('the document gives the options the file means', () => {
    const o = optionsFromDocument(
      doc('listen: 127.0.0.1:-1\nmax_payload: 64KB\nwrite_deadline: "2s"'),
      FILE,
    );
    assert.deepEqual(o, {
      host: '127.0.0.1',
      port: 0,
      maxPayload: 65536,
      writeDeadlineMs: 2000,
      httpPort: -1,
      jetstream: false,
    });
  });
});

describe('nats-server keys Weft does not support', () => {
  test('one error names every one, with its path', () => {
    const text = `
port: 4222
cluster { name: c, listen: 0.0.0.0:6222 }
gateway { name: g }
leafnodes { port: 7422 }
mqtt { port: 1883 }
websocket { port: 8080 }
jetstream { store_dir: /x, max_memory_store: 1GB, domain: hub }
lame_duck_duration: "30s"
logtime: true
`;
    throwsConfig(
      () => doc(text),
      FILE,
      /8 settings Weft does not support: cluster, gateway, leafnodes, websocket, jetstream\.max_memory_store, jetstream\.domain, lame_duck_duration, logtime\. Remove them/,
    );
    throwsConfig(
      () => doc('pid_file: /run/nats.pid'),
      FILE,
      /a setting Weft does not support: pid_file\. Remove it/,
    );
  });

  test('an unknown key a variable used is a variable, skipped as nats-server does', () => {
    const text =
      'TOKEN: s3cret\nPAYLOAD: 2MB\nUNUSED: 1\nmax_payload: $PAYLOAD\nauthorization { token: $TOKEN }';
    throwsConfig(() => doc(text), FILE, /a setting Weft does not support: UNUSED\./);
    assert.deepEqual(doc(text.replace('UNUSED: 1\n', '')), {
      max_payload: 2 * 1024 * 1024,
      authorization: { token: 's3cret' },
      http_port: -1,
      jetstream: false,
    });
    assert.deepEqual(doc('jetstream { DIR: /js, store_dir: $DIR }'), {
      data_dir: '/js',
      jetstream: true,
      http_port: -1,
    });
  });

  test('a monitoring host other than the client host becomes http_host', () => {
    assert.deepEqual(doc('listen: 0.0.0.0:4222\nhttp: 127.0.0.1:8222'), {
      host: '0.0.0.0',
      port: 4222,
      http_port: 8222,
      http_host: '127.0.0.1',
      jetstream: false,
    });
  });

  test('unsupported keys are reported before a bad value', () => {
    throwsConfig(() => doc('port: many\nlogtime: true'), FILE, /logtime/);
  });
});

describe('bad values are named by the key the file wrote', () => {
  test('renamed keys, host:port forms and conflicting keys', () => {
    throwsConfig(() => doc('server_name: ""'), 'server_name', /must be a non-empty string/);
    throwsConfig(() => doc('max_conn: -5'), 'max_conn', /whole number/);
    throwsConfig(() => doc('PORT: 70000'), 'PORT', /port number/);
    throwsConfig(() => doc('listen: nowhere'), 'listen', /must be a port or host:port/);
    throwsConfig(() => doc('listen: "a:b:4222"'), 'listen', /must be a port or host:port/);
    throwsConfig(() => doc('listen: 1.2.3.4:99999'), 'listen', /port number/);
    throwsConfig(() => doc('listen: 99999'), 'listen', /port number/);
    throwsConfig(() => doc('http: 1.5'), 'http', /must be a port or host:port/);
    throwsConfig(
      () => doc('jetstream: maybe'),
      'jetstream',
      /true, false, enabled, disabled or a block/,
    );
    throwsConfig(
      () => doc('jetstream { store_dir: 5 }'),
      'jetstream.store_dir',
      /non-empty string/,
    );
    throwsConfig(
      () => doc('port: 4222\nlisten: 0.0.0.0:4223'),
      'listen',
      /sets port to 4223, but port sets it to 4222/,
    );
    assert.equal(
      doc('port: 4222\nlisten: 0.0.0.0:4222').port,
      4222,
      'the same value twice is fine',
    );
    throwsConfig(
      () => doc('store_dir: /a\njetstream { store_dir: /b }'),
      'jetstream.store_dir',
      /sets data_dir to "\/b", but store_dir sets it to "\/a"/,
    );
  });

  test('ping_interval in whole seconds, as nats-server (unquoted 1m is a size: 1000000 s)', () => {
    assert.equal(optionsFromDocument(doc('ping_interval: 30'), FILE).pingIntervalMs, 30_000);
    assert.equal(optionsFromDocument(doc('ping_interval: "1m"'), FILE).pingIntervalMs, 60_000);
    assert.equal(optionsFromDocument(doc('ping_interval: 1m'), FILE).pingIntervalMs, 1e9);
    throwsConfig(() => doc('ping_interval: 1G'), 'ping_interval', /at most 24 days/);
  });
});

describe('config files by name', () => {
  test('.conf is read as nats-server format, with its includes', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'nats.conf'), 'listen: 127.0.0.1:4555\ninclude limits.conf\n');
    writeFileSync(join(dir, 'limits.conf'), 'max_payload: 512KB\n');
    assert.deepEqual(loadConfigFile(join(dir, 'nats.conf')), {
      host: '127.0.0.1',
      port: 4555,
      maxPayload: 512 * 1024,
      httpPort: -1,
      jetstream: false,
    });
    assert.deepEqual(loadNatsConfFile(join(dir, 'nats.conf')).max_payload, 512 * 1024);
  });

  test('.yaml, .yml and .json are YAML', () => {
    const dir = tempDir();
    for (const name of ['w.yaml', 'w.yml', 'w.json']) {
      writeFileSync(join(dir, name), name.endsWith('json') ? '{"port": 4556}' : 'port: 4556\n');
      assert.deepEqual(loadConfigFile(join(dir, name)), { port: 4556 }, name);
    }
  });

  test('any other name: YAML when it maps only Weft keys, else nats-server format', () => {
    const dir = tempDir();
    const write = (name: string, text: string) => {
      writeFileSync(join(dir, name), text);
      return join(dir, name);
    };
    assert.deepEqual(loadConfigFile(write('weft.cfg', 'port: 4557\nmesh:\n  port: 7000\n')), {
      port: 4557,
      meshPort: 7000,
    });
    assert.deepEqual(loadConfigFile(write('empty', '')), {});
    assert.deepEqual(loadConfigFile(write('nats-server', 'listen: 127.0.0.1:4558\n')), {
      host: '127.0.0.1',
      port: 4558,
      httpPort: -1,
      jetstream: false,
    });
    assert.deepEqual(loadConfigFile(write('nats.cfg', 'port = 4559\njetstream {\n}\n')), {
      port: 4559,
      httpPort: -1,
      jetstream: true,
    });
  });

  test('a missing .conf or include is named', () => {
    const dir = tempDir();
    throwsConfig(
      () => loadConfigFile(join(dir, 'nope.conf')),
      '--config',
      /cannot read .*nope\.conf: no such file/,
    );
    writeFileSync(join(dir, 'main.conf'), 'port: 1\n\ninclude gone.conf\n');
    throwsConfig(
      () => loadConfigFile(join(dir, 'main.conf')),
      `${join(dir, 'main.conf')}:3:1`,
      /cannot read include .*gone\.conf: no such file/,
    );
  });
});

test('variables defined inside a security block are not settings (the nats-server docs pattern)', () => {
  const doc = natsConfTextToDocument(
    `authorization {
  ADMIN = { publish: ">", subscribe: ">" }
  REQUESTOR = { publish: ["req.>"], subscribe: "_INBOX.>" }
  users = [
    { user: admin, password: a, permissions: $ADMIN }
    { user: client, password: c, permissions: $REQUESTOR }
  ]
}
`,
    'vars.conf',
    {},
  );
  const opts = optionsFromDocument(doc, 'vars.conf');
  assert.deepEqual(
    opts.security?.users.map((u) => [u.user, u.permissions?.publish.allow]),
    [
      ['admin', ['>']],
      ['client', ['req.>']],
    ],
  );
});
