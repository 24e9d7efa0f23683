/**
 * The nats-server configuration parser: every construct of the format,
 * real-world nats-server configurations, includes (through a fake
 * readInclude), variables (scoping, the environment, unknown ones), the
 * bounds, and errors that name the file, line and column.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  NATSCONF_MAX_DEPTH,
  NATSCONF_MAX_FILES,
  NATSCONF_MAX_INCLUDE_DEPTH,
  NATSCONF_MAX_VALUES,
  type NatsConfOptions,
  parseNatsConf,
  usedAsVariable,
} from '../../src/config/natsconf.js';
import { ConfigError } from '../../src/errors.js';

/** Parses `text` as /etc/nats/main.conf with `files` as the other files there. */
function parse(
  text: string,
  opts: { files?: Record<string, string>; env?: Record<string, string> } = {},
): Record<string, unknown> {
  const files = opts.files ?? {};
  const o: NatsConfOptions = {
    source: '/etc/nats/main.conf',
    env: opts.env ?? {},
    readInclude: (path) => {
      const text = files[path];
      if (text === undefined) throw new Error('no such file');
      return text;
    },
  };
  return parseNatsConf(text, o);
}

/** Asserts a ConfigError at `where` (file:line:column) whose message matches `why`. */
function failsAt(fn: () => unknown, where: string, why: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ConfigError, `not a ConfigError: ${String(err)}`);
    assert.equal(err.key, where, err.message);
    assert.match(err.message, why);
    return true;
  });
}

const MAIN = '/etc/nats/main.conf';

describe('nats-server config: keys and separators', () => {
  test('key: value, key = value and key value', () => {
    assert.deepEqual(parse('a: 1\nb = 2\nc 3\nd:4\ne=5'), { a: 1, b: 2, c: 3, d: 4, e: 5 });
  });

  test('values end at a new line, ; or , and a block needs no separator', () => {
    assert.deepEqual(parse('a: 1; b: 2, c: 3;\nd { e: 4 }\nf = { g: 5 }'), {
      a: 1,
      b: 2,
      c: 3,
      d: { e: 4 },
      f: { g: 5 },
    });
  });

  test('a key and its block or value may be on different lines; quoted keys', () => {
    assert.deepEqual(parse('a\n{\n  b: 1\n}\nc\n= 2\n"d e": 3\n\'f:g\' = 4'), {
      a: { b: 1 },
      c: 2,
      'd e': 3,
      'f:g': 4,
    });
  });

  test('braces around the whole file, CRLF line ends and a byte order mark', () => {
    assert.deepEqual(parse('{\n  port: 4222\n}\n'), { port: 4222 });
    assert.deepEqual(parse('\ufeffa: 1\r\nb {\r\n c: x\r\n}\r\n'), { a: 1, b: { c: 'x' } });
  });

  test('a later key wins; __proto__ is an ordinary key', () => {
    assert.deepEqual(parse('a: 1\na: 2'), { a: 2 });
    const doc = parse('__proto__: { polluted: true }\nconstructor: 1');
    assert.deepEqual(Object.keys(doc), ['__proto__', 'constructor']);
    assert.equal(Object.getPrototypeOf(doc), Object.prototype);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  test('# and // comments, after values and in blocks and arrays', () => {
    const text = [
      '# a comment',
      '// another',
      'a: 1 # after a value',
      'b: "x#y" // after a string',
      'c {',
      '  # in a block',
      '  d: 2 // after a block value',
      '}',
      'e: [ # after [',
      '  1 # after a value',
      '  // alone',
      '  2',
      ']',
      'url: nats://h:4222',
    ].join('\n');
    assert.deepEqual(parse(text), {
      a: 1,
      b: 'x#y',
      c: { d: 2 },
      e: [1, 2],
      url: 'nats://h:4222',
    });
  });
});

describe('nats-server config: values', () => {
  test('maps and arrays, nested, with commas or new lines', () => {
    assert.deepEqual(parse('a { b { c: [1, [2, 3], { d: 4 }] } }'), {
      a: { b: { c: [1, [2, 3], { d: 4 }] } },
    });
    assert.deepEqual(parse('a: [\n  x\n  y,\n  z,\n]\nb: []\nc: {}'), {
      a: ['x', 'y', 'z'],
      b: [],
      c: {},
    });
  });

  test('double-quoted strings with escapes, single-quoted raw strings', () => {
    assert.deepEqual(parse('a: "t\\tn\\nr\\rq\\"b\\\\x\\x41"'), { a: 't\tn\nr\rq"b\\xA' });
    assert.deepEqual(parse('a: "\\xc3\\xa9t\\xc3\\xa9"'), { a: 'été' }, '\\x bytes are UTF-8');
    assert.deepEqual(parse('a: \'no \\escapes "here"\''), { a: 'no \\escapes "here"' });
    assert.deepEqual(parse('a: "two\nlines"\nb: \'x\ny\''), { a: 'two\nlines', b: 'x\ny' });
    assert.deepEqual(parse('a: "", b: \'\''), { a: '', b: '' });
  });

  test('unquoted strings end at a space, ; , ] or }', () => {
    assert.deepEqual(parse('a: localhost:4222\nb: hello world'.replace(' world', '')), {
      a: 'localhost:4222',
      b: 'hello',
    });
    assert.deepEqual(parse('a: [x,y]\nb { c: z}'), { a: ['x', 'y'], b: { c: 'z' } });
    assert.deepEqual(parse('a: with\\tescape'), { a: 'with\tescape' });
    assert.deepEqual(parse('a: /var/lib/nats'), { a: '/var/lib/nats' });
  });

  test('booleans: true/false, yes/no, on/off in any case; quoted they are strings', () => {
    assert.deepEqual(
      parse('a: true, b: FALSE, c: Yes, d: no, e: on, f: OFF, g: "true", h: truly'),
      {
        a: true,
        b: false,
        c: true,
        d: false,
        e: true,
        f: false,
        g: 'true',
        h: 'truly',
      },
    );
  });

  test('integers, negatives and floats', () => {
    assert.deepEqual(parse('a: 0, b: 4222, c: -1, d: 1.5, e: -0.25, f: 007'), {
      a: 0,
      b: 4222,
      c: -1,
      d: 1.5,
      e: -0.25,
      f: 7,
    });
  });

  test('size suffixes become integers as nats-server: k is 1000, kb/ki/kib 1024', () => {
    const doc = parse(
      'k: 1k, kb: 1KB, ki: 1Ki, kib: 1KiB, m: 2m, mb: 64MB, g: 1G, gb: 1gb, t: 1T, tb: 1TiB, p: 1p, neg: -2k',
    );
    assert.deepEqual(doc, {
      k: 1000,
      kb: 1024,
      ki: 1024,
      kib: 1024,
      m: 2_000_000,
      mb: 64 * 1024 * 1024,
      g: 1e9,
      gb: 1024 ** 3,
      t: 1e12,
      tb: 1024 ** 4,
      p: 1e15,
      neg: -2000,
    });
  });

  test('durations and other text after digits stay strings', () => {
    assert.deepEqual(parse('a: 2s, b: 10ms, c: 1h30m, d: "2m", e: 100us, f: 3days'), {
      a: '2s',
      b: '10ms',
      c: '1h30m',
      d: '2m',
      e: '100us',
      f: '3days',
    });
  });

  test('IP addresses with ports are strings; a datetime keeps its text', () => {
    assert.deepEqual(parse('a: 127.0.0.1:4222, b: 0.0.0.0, c: 2023-04-05T06:07:08Z'), {
      a: '127.0.0.1:4222',
      b: '0.0.0.0',
      c: '2023-04-05T06:07:08Z',
    });
  });

  test('( … ) is raw text up to a ) alone on a line', () => {
    assert.deepEqual(parse('a: (\nline (1)\n  x: y\n)\nb: 2'), { a: '\nline (1)\n  x: y\n', b: 2 });
  });
});

describe('nats-server config: include', () => {
  test('merges the file, resolved next to the including one, in place', () => {
    const files = {
      '/etc/nats/auth.conf': 'authorization { token: s3cret }\nlevel: 1',
      '/etc/nats/sub/accounts.conf': 'A: { users: [ { user: a } ] }\ninclude more.conf',
      '/etc/nats/sub/more.conf': 'B: {}',
    };
    const doc = parse(
      'port: 4222\ninclude ./auth.conf\naccounts {\n  include "sub/accounts.conf"\n}\nlevel: 2',
      { files },
    );
    assert.deepEqual(doc, {
      port: 4222,
      authorization: { token: 's3cret' },
      level: 2,
      accounts: { A: { users: [{ user: 'a' }] }, B: {} },
    });
  });

  test("an absolute path is joined to the file's directory, as nats-server", () => {
    const files = { '/etc/nats/etc/x.conf': 'x: 1' };
    assert.deepEqual(parse("include '/etc/x.conf'", { files }), { x: 1 });
  });

  test('a variable of the included file is seen after the include, not the other way', () => {
    const files = { '/etc/nats/vars.conf': 'secret: abc\nuses: $outer' };
    assert.deepEqual(
      parse('include vars.conf\ntoken: $secret', {
        files: { '/etc/nats/vars.conf': 'secret: abc' },
      }),
      {
        secret: 'abc',
        token: 'abc',
      },
    );
    failsAt(
      () => parse('outer: 1\ninclude vars.conf', { files }),
      '/etc/nats/vars.conf:2:7',
      /unknown variable \$outer/,
    );
  });

  test('a missing file, a bad path and an error inside an include are named', () => {
    failsAt(
      () => parse('a: 1\n  include nope.conf'),
      `${MAIN}:2:3`,
      /cannot read include \/etc\/nats\/nope\.conf: no such file/,
    );
    failsAt(() => parse('include [x]'), `${MAIN}:1:9`, /expected a file name after include/);
    failsAt(
      () => parse('include\n'),
      `${MAIN}:1:8`,
      /expected a file name after include, got a new line/,
    );
    const files = { '/etc/nats/bad.conf': 'ok: 1\nbad: "unterminated' };
    failsAt(
      () => parse('include bad.conf', { files }),
      '/etc/nats/bad.conf:2:6',
      /unterminated string/,
    );
  });

  test('an include loop stops at the depth bound', () => {
    const files = { '/etc/nats/loop.conf': 'include loop.conf' };
    failsAt(
      () => parse('include loop.conf', { files }),
      '/etc/nats/loop.conf:1:1',
      new RegExp(`nested deeper than ${NATSCONF_MAX_INCLUDE_DEPTH}`),
    );
  });

  test('a file that includes another many times stops at the file bound', () => {
    const many = Array.from({ length: 20 }, () => 'include leaf.conf').join('\n');
    const files = { '/etc/nats/fan.conf': many, '/etc/nats/leaf.conf': 'x: 1' };
    assert.throws(
      () => parse(many.replaceAll('leaf', 'fan'), { files }),
      new RegExp(`more than ${NATSCONF_MAX_FILES} files included`),
    );
  });
});

describe('nats-server config: variables', () => {
  test('an earlier key of this block or an enclosing one; the nearest wins', () => {
    const text = [
      'port: 4222',
      'name: outer',
      'a {',
      '  p: $port',
      '  name: inner',
      '  b { n: $name, list: [$port, $name] }',
      '}',
      'c: $name',
    ].join('\n');
    assert.deepEqual(parse(text), {
      port: 4222,
      name: 'outer',
      a: { p: 4222, name: 'inner', b: { n: 'inner', list: [4222, 'inner'] } },
      c: 'outer',
    });
  });

  test('usedAsVariable tells the keys a variable used, in their own map', () => {
    const doc = parse('T: 1\nU: 2\nP: 0\na { P: 3, q: [$T, $P] }');
    const a = doc.a as Record<string, unknown>;
    assert.equal(usedAsVariable(doc, 'T'), true);
    assert.equal(usedAsVariable(doc, 'U'), false);
    assert.equal(usedAsVariable(a, 'P'), true);
    assert.equal(usedAsVariable(doc, 'P'), false, 'the nearest P was used');
    assert.equal(usedAsVariable(a, 'q'), false);
  });

  test('a variable may be a block or an array', () => {
    const text =
      'perms: { publish: ["a.>"], subscribe: ["b.>"] }\nusers: [ { user: x, permissions: $perms } ]';
    assert.deepEqual(parse(text).users, [
      { user: 'x', permissions: { publish: ['a.>'], subscribe: ['b.>'] } },
    ]);
  });

  test('keys of a block that is not an enclosing one are not in scope', () => {
    failsAt(() => parse('a { x: 1 }\nb: $x'), `${MAIN}:2:4`, /unknown variable \$x/);
  });

  test('else the environment, read as a value of the format', () => {
    const env = {
      PORT: '4333',
      TOKEN: 's3cret',
      SIZE: '1MB',
      ON: 'true',
      LIST: '[1, 2]',
      DUR: '2s',
    };
    assert.deepEqual(
      parse('port: $PORT\ntoken: $TOKEN\nsize: $SIZE\non: $ON\nlist: $LIST\ndur: $DUR', { env }),
      { port: 4333, token: 's3cret', size: 1024 * 1024, on: true, list: [1, 2], dur: '2s' },
    );
    assert.deepEqual(parse('PORT: 1\np: $PORT', { env }), { PORT: 1, p: 1 }, 'keys first');
  });

  test('an unknown variable, a bad environment value and a self-reference are errors', () => {
    failsAt(
      () => parse('a: 1\nb: $NOPE'),
      `${MAIN}:2:4`,
      /unknown variable \$NOPE.*no such environment variable/,
    );
    failsAt(
      () => parse('a: $BAD', { env: { BAD: '"open' } }),
      `${MAIN}:1:4`,
      /variable \$BAD from the environment: .*unterminated string/,
    );
    failsAt(
      () => parse('a: $SELF', { env: { SELF: '$SELF' } }),
      `${MAIN}:1:4`,
      /refer to each other too deeply/,
    );
  });

  test('an unquoted bcrypt hash is a string, not a variable', () => {
    const hash = '$2a$11$PWIFAL8RsWyGI3jVZtO9Nu8.6jOxzxfZo7c/W0eLk017hjgUKWrhy';
    assert.deepEqual(parse(`password: ${hash}`), { password: hash });
    assert.deepEqual(parse('p: $2b$10$abc'), { p: '$2b$10$abc' });
  });

  test('a quoted or escaped $ is text', () => {
    assert.deepEqual(parse('a: "$X", b: \'$Y\''), { a: '$X', b: '$Y' });
  });
});

describe('nats-server config: real-world files', () => {
  test('authorization with users and permissions', () => {
    const text = `
# Single-tenant authorization, as in the nats-server docs
authorization {
  default_permissions = {
    publish = "SANDBOX.*"
    subscribe = ["PUBLIC.>", "_INBOX.>"]
  }
  ADMIN = {
    publish = ">"
    subscribe = ">"
  }
  REQUESTOR = {
    publish = ["req.a", "req.b"]
    subscribe = "_INBOX.>"
  }
  RESPONDER = {
    subscribe = ["req.a", "req.b"]
    publish = "_INBOX.>"
    allow_responses: { max: 1, expires: "1m" }
  }
  users = [
    {user: admin,   password: $ADMIN_PASS, permissions: $ADMIN}
    {user: client,  password: "$2a$11$x3U6bhYp6ZrGIbVzNzbfbuVaGNzpK7ovnGw4AxQ3CEXrwQIuTqSu6", permissions: $REQUESTOR}
    {user: service, password: plain, permissions: $RESPONDER}
    {user: other,   password: other}
    {nkey: UDXU4RCSJNZOIQHZNWXHXORDPRTGNJAHAHFRGZNEEJCPQTT2M7NLCNF4}
  ]
  timeout: 0.5
}`;
    const doc = parse(text, { env: { ADMIN_PASS: 'pw' } });
    const auth = doc.authorization as Record<string, unknown>;
    const users = auth.users as Record<string, unknown>[];
    assert.equal(users.length, 5);
    assert.deepEqual(users[0], {
      user: 'admin',
      password: 'pw',
      permissions: { publish: '>', subscribe: '>' },
    });
    assert.equal(
      users[1]!.password,
      '$2a$11$x3U6bhYp6ZrGIbVzNzbfbuVaGNzpK7ovnGw4AxQ3CEXrwQIuTqSu6',
    );
    assert.deepEqual((users[2]!.permissions as Record<string, unknown>).allow_responses, {
      max: 1,
      expires: '1m',
    });
    assert.deepEqual(users[4], {
      nkey: 'UDXU4RCSJNZOIQHZNWXHXORDPRTGNJAHAHFRGZNEEJCPQTT2M7NLCNF4',
    });
    assert.equal(auth.timeout, 0.5);
    assert.deepEqual(auth.default_permissions, {
      publish: 'SANDBOX.*',
      subscribe: ['PUBLIC.>', '_INBOX.>'],
    });
  });

  test('accounts with users, exports and imports, and the system account', () => {
    const text = `
accounts: {
  A: {
    users: [ {user: a, password: a} ]
    exports: [
      {stream: "events.>"}
      {service: "help.>", accounts: [B]}
    ]
    jetstream: { max_mem: 1G, max_file: 10G, max_streams: 10, max_consumers: 100 }
  },
  B: {
    users: [ {user: b, password: b} ]
    imports: [
      {stream: {account: A, subject: "events.>"}, prefix: from_a}
      {service: {account: A, subject: "help.>"}, to: "a.help.>"}
    ]
  },
  SYS: { users: [ {user: sys, password: sys} ] }
}
system_account: SYS
no_auth_user: a
`;
    const doc = parse(text);
    const accounts = doc.accounts as Record<string, Record<string, unknown>>;
    assert.deepEqual(Object.keys(accounts), ['A', 'B', 'SYS']);
    assert.deepEqual(accounts.A!.exports, [
      { stream: 'events.>' },
      { service: 'help.>', accounts: ['B'] },
    ]);
    assert.deepEqual(accounts.A!.jetstream, {
      max_mem: 1e9,
      max_file: 1e10,
      max_streams: 10,
      max_consumers: 100,
    });
    assert.deepEqual(accounts.B!.imports, [
      { stream: { account: 'A', subject: 'events.>' }, prefix: 'from_a' },
      { service: { account: 'A', subject: 'help.>' }, to: 'a.help.>' },
    ]);
    assert.equal(doc.system_account, 'SYS');
    assert.equal(doc.no_auth_user, 'a');
  });

  test('server, tls, jetstream and cluster blocks', () => {
    const text = `
server_name: n1
listen: 0.0.0.0:4222
http: 8222
max_payload: 8MB
max_pending: 64MB
max_connections: 1K
ping_interval: "2m"
write_deadline: "10s"
debug: false
trace: false
tls {
  cert_file: "./certs/server-cert.pem"
  key_file:  "./certs/server-key.pem"
  ca_file:   "./certs/ca.pem"
  verify:    true
  timeout:   2
}
jetstream {
  store_dir: /data/nats
  max_memory_store: 1GB
  max_file_store: 10GB
}
cluster {
  name: c1
  listen: 0.0.0.0:6222
  routes = [
    nats-route://n2:6222
    nats-route://n3:6222
  ]
}
lame_duck_duration: "2m"
`;
    assert.deepEqual(parse(text), {
      server_name: 'n1',
      listen: '0.0.0.0:4222',
      http: 8222,
      max_payload: 8 * 1024 * 1024,
      max_pending: 64 * 1024 * 1024,
      max_connections: 1000,
      ping_interval: '2m',
      write_deadline: '10s',
      debug: false,
      trace: false,
      tls: {
        cert_file: './certs/server-cert.pem',
        key_file: './certs/server-key.pem',
        ca_file: './certs/ca.pem',
        verify: true,
        timeout: 2,
      },
      jetstream: {
        store_dir: '/data/nats',
        max_memory_store: 1024 ** 3,
        max_file_store: 10 * 1024 ** 3,
      },
      cluster: {
        name: 'c1',
        listen: '0.0.0.0:6222',
        routes: ['nats-route://n2:6222', 'nats-route://n3:6222'],
      },
      lame_duck_duration: '2m',
    });
  });
});

describe('nats-server config: errors name file:line:column and what was expected', () => {
  const cases: [string, string, RegExp][] = [
    ['a: 1\nb: "open', '2:4', /unterminated string: expected a closing "/],
    ["a: 'open", '1:4', /unterminated string: expected a closing '/],
    ['a {\n  b: 1\n', '1:3', /unterminated map: expected '}'/],
    ['a: [1, 2', '1:4', /unterminated array: expected '\]'/],
    ['a: [1,, 2]', '1:7', /expected a value or '\]', got ','/],
    ['a: [1 2]', '1:7', /expected ',', a new line or '\]' after an array value, got "2"/],
    ['a: 1 2', '1:6', /expected a new line, ';' or a comment after the value of "a", got "2"/],
    ['a { b: 1 c: 2 }', '1:10', /expected a new line, ';', ',' or '\}' after the value of "b"/],
    ['a =\n1', '1:4', /expected a value, got a new line/],
    ['a', '1:2', /expected a value for "a", got the end of the file/],
    ['a { b }', '1:7', /expected a value for "b", got "\}"/],
    ['a: ,', '1:4', /expected a value, got ","/],
    [': 1', '1:1', /expected a key, got ":"/],
    ['a: "\\q"', '1:5', /invalid escape \\q: only \\xXX/],
    ['a: "\\xZZ"', '1:5', /expected two hexadecimal digits after \\x, got "ZZ"/],
    ['a: 1kbb', '1:4', /unknown size suffix "kbb"/],
    ['a: 99999999999999999', '1:4', /out of range/],
    ['a: 8E', '1:4', /out of range/],
    ['a: .5', '1:4', /must start with a digit/],
    ['a: -x', '1:5', /expected a digit after '-'/],
    ['a: 1.x', '1:6', /expected a digit after '.'/],
    ['a: 12-01', '1:4', /full Zulu form/],
    ['a: 2023-02-30T00:00:00Z', '1:4', /not a valid date/],
    ['a: (\nno end', '1:4', /unterminated \( block/],
    ['\n\n   x: $y', '3:7', /unknown variable \$y/],
  ];
  for (const [text, where, why] of cases) {
    test(JSON.stringify(text), () => failsAt(() => parse(text), `${MAIN}:${where}`, why));
  }
});

describe('nats-server config: bounds', () => {
  test(`maps and arrays nest at most ${NATSCONF_MAX_DEPTH} deep`, () => {
    const ok = `a: ${'['.repeat(NATSCONF_MAX_DEPTH)}${']'.repeat(NATSCONF_MAX_DEPTH)}`;
    assert.doesNotThrow(() => parse(ok));
    const deep = `a: ${'{b: '.repeat(NATSCONF_MAX_DEPTH + 1)}1${'}'.repeat(NATSCONF_MAX_DEPTH + 1)}`;
    assert.throws(() => parse(deep), new RegExp(`nested deeper than ${NATSCONF_MAX_DEPTH}`));
    const hostile = `a: ${'['.repeat(1_000_000)}`;
    assert.throws(() => parse(hostile), ConfigError);
  });

  test('the depth bound holds across includes', () => {
    const half = NATSCONF_MAX_DEPTH / 2 + 1;
    const files = { '/etc/nats/deep.conf': `b: ${'['.repeat(half)}${']'.repeat(half)}` };
    const text = `${'a { '.repeat(half)}include deep.conf\n${'}'.repeat(half)}`;
    assert.throws(() => parse(text, { files }), /nested deeper than/);
  });

  test(`variables that repeat blocks count toward ${NATSCONF_MAX_VALUES} values`, () => {
    const lines = ['v0: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]'];
    for (let i = 1; i < 12; i++)
      lines.push(`v${i}: [$v${i - 1}, $v${i - 1}, $v${i - 1}, $v${i - 1}]`);
    assert.throws(
      () => parse(lines.join('\n')),
      new RegExp(`more than ${NATSCONF_MAX_VALUES} values`),
    );
    assert.doesNotThrow(() => parse(lines.slice(0, 6).join('\n')), 'a few repeats are fine');
  });
});
