/**
 * The `weft` CLI end to end: the built binary runs as child processes against
 * a real server on a random port. By default that server is Weft (through its
 * embedding API); WEFT_TEST_TARGET=nats-server runs the same tests against
 * the reference server, which pins down what the client commands must do.
 */
import assert from 'node:assert/strict';
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { VERSION } from '../../src/version.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const TARGET = process.env['WEFT_TEST_TARGET'] === 'nats-server' ? 'nats-server' : 'weft';

// ---------------------------------------------------------------------------
// Helpers: the server under test, CLI children, polling.

interface Target {
  url: string;
  stop(): Promise<void>;
}

/** Polls `check` until it returns a value other than undefined/false, or fails at the deadline. */
async function waitFor<T>(
  what: string,
  check: () => T | undefined | false,
  timeoutMs = 5000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 5; ; delay = Math.min(delay * 2, 100)) {
    const v = check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, delay));
  }
}

/** A port that was free a moment ago (bound to 0, then released). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

async function startNatsServer(): Promise<Target> {
  const port = await freePort();
  const child = spawn('nats-server', ['-a', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr.on('data', (b: Buffer) => {
    log += b.toString();
  });
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  const deadline = Date.now() + 10_000;
  while (!(await canConnect(port))) {
    if (exited) throw new Error(`nats-server exited early:\n${log}`);
    if (Date.now() > deadline) throw new Error(`nats-server did not listen on ${port}:\n${log}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    url: `nats://127.0.0.1:${port}`,
    stop: async () => {
      if (exited) return;
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await gone;
    },
  };
}

interface EmbeddedServer {
  port: number;
  close(): Promise<void>;
}
type StartServer = (opts: Record<string, unknown>) => Promise<EmbeddedServer>;

async function startWeft(): Promise<Target> {
  const index = (await import('../../src/index.js')) as unknown as { startServer?: StartServer };
  if (typeof index.startServer !== 'function') {
    throw new Error(
      'src/index.ts does not export startServer yet; run with WEFT_TEST_TARGET=nats-server',
    );
  }
  const dataDir = await mkdtemp(path.join(tmpdir(), 'weft-cli-test-'));
  const s = await index.startServer({
    host: '127.0.0.1',
    port: 0,
    httpPort: -1,
    meshPort: -1,
    dataDir,
    logLevel: 'silent',
  });
  return {
    url: `nats://127.0.0.1:${s.port}`,
    stop: async () => {
      await s.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** A running `weft ...` child with its output collected as it arrives. */
class Cli {
  readonly child: ChildProcessWithoutNullStreams;
  stdout = '';
  stderr = '';
  readonly exit: Promise<number | null>;
  code: number | null | undefined = undefined;

  constructor(args: string[], env: Record<string, string | undefined> = {}) {
    this.child = spawn(process.execPath, [CLI, ...args], {
      env: { ...process.env, NATS_URL: url, ...env },
    });
    this.child.stdout.on('data', (b: Buffer) => {
      this.stdout += b.toString();
    });
    this.child.stderr.on('data', (b: Buffer) => {
      this.stderr += b.toString();
    });
    this.exit = new Promise((resolve) => {
      this.child.once('close', (code, signal) => {
        this.code = code ?? (signal === null ? null : -1);
        resolve(this.code);
      });
    });
    children.add(this);
    void this.exit.then(() => children.delete(this));
  }

  /** Waits until stderr matches, e.g. the "subscribed to" line sub prints once the server has its SUB. */
  async waitStderr(re: RegExp, timeoutMs = 5000): Promise<void> {
    await waitFor(
      `${re} on stderr (stderr so far: ${JSON.stringify(this.stderr)})`,
      () => {
        if (re.test(this.stderr)) return true;
        if (this.code !== undefined) {
          throw new Error(`exited ${this.code} before ${re}: ${this.stderr}`);
        }
        return false;
      },
      timeoutMs,
    );
  }

  /** Waits for exit (killing the child at the deadline) and returns the exit code. */
  async exited(timeoutMs = 10_000): Promise<number | null> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.child.kill('SIGKILL');
        reject(
          new Error(
            `CLI did not exit within ${timeoutMs}ms\nstdout: ${this.stdout}\nstderr: ${this.stderr}`,
          ),
        );
      }, timeoutMs);
    });
    try {
      return await Promise.race([this.exit, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}

const children = new Set<Cli>();

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `weft ...` to completion; `input` is written to its stdin, which is then closed. */
async function weft(
  args: string[],
  opts: { input?: string; env?: Record<string, string | undefined> } = {},
): Promise<Result> {
  const c = new Cli(args, opts.env);
  c.child.stdin.end(opts.input ?? '');
  const code = await c.exited();
  return { code, stdout: c.stdout, stderr: c.stderr };
}

/** A child started with stdin closed (so pub/req without DATA read an empty stdin). */
function start(args: string[], env?: Record<string, string | undefined>): Cli {
  const c = new Cli(args, env);
  c.child.stdin.end();
  return c;
}

let target: Target;
let url = '';
let counter = 0;
/** A subject no other test uses. */
const fresh = (name: string) => `cli.${name}.${process.pid}.${++counter}`;

before(async () => {
  target = TARGET === 'nats-server' ? await startNatsServer() : await startWeft();
  url = target.url;
});

after(async () => {
  for (const c of children) c.child.kill('SIGKILL');
  await target?.stop();
});

// ---------------------------------------------------------------------------
// Help, version and usage errors: no server needed.

describe(`weft CLI basics (target: ${TARGET})`, () => {
  test('--help, help and no arguments print the usage listing every command', async () => {
    for (const args of [['--help'], ['help'], []]) {
      const r = await weft(args);
      assert.equal(r.code, 0, `weft ${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stdout, /^Usage: weft COMMAND/);
      for (const cmd of ['server', 'pub', 'sub', 'req', 'reply', 'bench']) {
        assert.match(r.stdout, new RegExp(`^  ${cmd}\\s+\\S`, 'm'), `lists ${cmd}`);
      }
    }
  });

  test('each client command has --help describing its flags', async () => {
    const flags: Record<string, string[]> = {
      pub: ['--count', '--header', '--reply', '--server'],
      sub: ['--queue', '--count', '--raw', '--server'],
      req: ['--timeout', '--header', '--server'],
      reply: ['--queue', '--count', '--server'],
    };
    for (const [cmd, expected] of Object.entries(flags)) {
      const r = await weft([cmd, '--help']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`^Usage: weft ${cmd} `));
      for (const f of expected) assert.ok(r.stdout.includes(f), `${cmd} --help mentions ${f}`);
      const viaHelp = await weft(['help', cmd]);
      assert.equal(viaHelp.stdout, r.stdout, `weft help ${cmd} = weft ${cmd} --help`);
    }
  });

  test('--version prints the version', async () => {
    const r = await weft(['--version']);
    assert.equal(r.code, 0);
    assert.equal(r.stdout, `weft ${VERSION}\n`);
  });

  test('an unknown command exits 2 naming it', async () => {
    const r = await weft(['frobnicate']);
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /unknown command "frobnicate"/);
  });

  test('bad flags exit 2 with the flag named and a hint to use --help', async () => {
    const cases: [string[], RegExp][] = [
      [['pub', '--bogus', 'foo'], /unknown flag --bogus/],
      [['sub', 'foo', '-Z'], /unknown flag -Z/],
      [['sub', 'foo', '--count', 'ten'], /--count must be an integer, got "ten"/],
      [['sub', 'foo', '--count', '0'], /--count must be at least 1, got "0"/],
      [['sub', 'foo', '-c', '-1'], /--count must be at least 1, got "-1"/],
      [['pub', 'foo', '--count'], /flag --count needs a value/],
      [['sub', 'foo', '--raw=yes'], /flag --raw does not take a value/],
      [['req', 'foo', '--timeout', '5'], /--timeout needs a unit/],
      [['req', 'foo', '--timeout', 'soon'], /--timeout must be a duration/],
      [['pub', 'foo', '-H', 'novalue'], /--header expects Key:Value, got "novalue"/],
      [['pub'], /missing SUBJECT/],
      [['pub', 'foo', 'a', 'b'], /unexpected argument "b"/],
      [['pub', 'foo bar', 'x'], /invalid subject "foo bar"/],
      [['sub', 'foo.>.bar'], /invalid subject/],
    ];
    for (const [args, re] of cases) {
      const r = await weft(args);
      assert.equal(r.code, 2, `weft ${args.join(' ')} → ${r.code}: ${r.stderr}`);
      assert.match(r.stderr, re, `weft ${args.join(' ')}`);
      assert.match(r.stderr, /--help/, 'hints at --help');
    }
  });
});

// ---------------------------------------------------------------------------
// Against the server.

describe(`weft client commands (target: ${TARGET})`, () => {
  test('an unreachable server is one line naming the URL, exit 1', async () => {
    const port = await freePort(); // nothing listens here
    const dead = `nats://127.0.0.1:${port}`;
    for (const args of [
      ['pub', 'foo', 'hi', '--server', dead],
      ['sub', 'foo', '--server', dead],
      ['req', 'foo', 'hi', '-s', dead],
      ['reply', 'foo'],
    ]) {
      const r = await weft(args, { env: { NATS_URL: dead } });
      assert.equal(r.code, 1, `weft ${args.join(' ')}: ${r.stderr}`);
      const lines = r.stderr.trimEnd().split('\n');
      assert.equal(lines.length, 1, `one line: ${r.stderr}`);
      assert.ok(lines[0]!.includes(dead), `names ${dead}: ${lines[0]}`);
      assert.match(lines[0]!, /cannot connect/);
    }
  });

  test('pub → sub delivers data and multi-valued headers; --count and {{count}}', async () => {
    const subject = fresh('pubsub');
    const sub = start(['sub', subject, '--count', '3']);
    await sub.waitStderr(/subscribed to/);
    const r = await weft([
      'pub',
      subject,
      'hello {{count}}',
      '--count',
      '3',
      '-H',
      'X-Trace:abc',
      '-H',
      'X-Tag: one',
      '-H',
      'X-Tag:two',
      '-H',
      'X-Seq:{{count}}',
      '--reply',
      'my.inbox',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, `published 3 messages to "${subject}"\n`);
    assert.equal(await sub.exited(), 0, sub.stderr);
    const expected = [1, 2, 3]
      .map(
        (i) =>
          `[#${i}] ${subject} (my.inbox) 7 bytes\n` +
          `X-Trace: abc\nX-Tag: one\nX-Tag: two\nX-Seq: ${i}\n\n` +
          `hello ${i}\n\n`,
      )
      .join('');
    assert.equal(sub.stdout, expected);
  });

  test('pub reads stdin when DATA is omitted; sub --raw prints payloads only; wildcards', async () => {
    const base = fresh('raw');
    const sub = start(['sub', `${base}.*`, '--raw', '--count', '2']);
    await sub.waitStderr(/subscribed to/);
    const a = await weft(['pub', `${base}.a`], { input: 'from stdin' });
    assert.equal(a.code, 0, a.stderr);
    const b = await weft(['pub', `${base}.b`, 'from args', '--server', url], {
      env: { NATS_URL: undefined },
    });
    assert.equal(b.code, 0, b.stderr);
    assert.equal(await sub.exited(), 0, sub.stderr);
    assert.equal(sub.stdout, 'from stdin\nfrom args\n');
  });

  test('sub exits 0 on SIGINT after draining', async () => {
    const subject = fresh('sigint');
    const sub = start(['sub', subject]);
    await sub.waitStderr(/subscribed to/);
    const r = await weft(['pub', subject, 'one']);
    assert.equal(r.code, 0, r.stderr);
    await waitFor('message printed', () => sub.stdout.includes('one'));
    sub.child.kill('SIGINT');
    assert.equal(await sub.exited(), 0, sub.stderr);
    assert.equal(sub.stdout, `[#1] ${subject} 3 bytes\none\n\n`);
  });

  test('queue subscribers share messages: each delivered once within the group', async () => {
    const subject = fresh('queue');
    const n = 40;
    const q1 = start(['sub', subject, '--queue', 'workers', '--raw']);
    const q2 = start(['sub', subject, '--queue', 'workers', '--raw']);
    const all = start(['sub', subject, '--raw']);
    await Promise.all([q1, q2, all].map((c) => c.waitStderr(/subscribed to/)));
    assert.match(q1.stderr, /queue group "workers"/);
    const r = await weft(['pub', subject, 'm{{count}}', '--count', String(n)]);
    assert.equal(r.code, 0, r.stderr);
    const lines = (c: Cli) => c.stdout.split('\n').filter((l) => l !== '');
    await waitFor('plain subscriber got every message', () => lines(all).length === n);
    await waitFor('the group got every message', () => lines(q1).length + lines(q2).length >= n);
    for (const c of [q1, q2, all]) c.child.kill('SIGINT');
    for (const c of [q1, q2, all]) assert.equal(await c.exited(), 0, c.stderr);
    const want = Array.from({ length: n }, (_, i) => `m${i + 1}`);
    assert.deepEqual(lines(all), want, 'plain subscriber: all, in order');
    const group = [...lines(q1), ...lines(q2)].sort(
      (a, b) => Number(a.slice(1)) - Number(b.slice(1)),
    );
    assert.deepEqual(group, want, 'group: each message exactly once');
    assert.ok(lines(q1).length > 0 && lines(q2).length > 0, 'both members received some');
  });

  test('req → reply round trip with headers; reply stops after --count', async () => {
    const subject = fresh('rr');
    const rep = start(['reply', subject, 'pong {{count}}', '--count', '2', '-H', 'X-From:replier']);
    await rep.waitStderr(/listening for requests/);

    const r1 = await weft(['req', subject, 'ping', '-H', 'X-Req:1', '-H', 'X-Req:again']);
    assert.equal(r1.code, 0, r1.stderr);
    assert.equal(r1.stdout, 'X-From: replier\n\npong 1\n');
    assert.match(r1.stderr, new RegExp(`reply from "${subject.replaceAll('.', '\\.')}"`));

    const r2 = await weft(['req', subject, '--raw'], { input: 'second' });
    assert.equal(r2.code, 0, r2.stderr);
    assert.equal(r2.stdout, 'pong 2', '--raw prints exactly the data');

    assert.equal(await rep.exited(), 0, rep.stderr);
    const printed = rep.stdout.split(/\n(?=\[#)/);
    assert.equal(printed.length, 2, rep.stdout);
    assert.match(
      printed[0]!,
      new RegExp(`^\\[#1\\] ${subject.replaceAll('.', '\\.')} \\(\\S+\\) 4 bytes\n`),
    );
    assert.ok(printed[0]!.includes('X-Req: 1\nX-Req: again\n\nping\n'), printed[0]);
    assert.match(printed[1]!, /^\[#2\] \S+ \(\S+\) 6 bytes\nsecond\n/);
    assert.match(rep.stderr, /answered 2 requests/);

    // The replier unsubscribed after two: nobody answers now.
    const r3 = await weft(['req', subject, 'late']);
    assert.equal(r3.code, 1);
    assert.match(r3.stderr, /no responders/);
  });

  test('reply without RESPONSE echoes the request; queue repliers answer each request once', async () => {
    const subject = fresh('echo');
    const a = start(['reply', subject, '--queue', 'echoers']);
    const b = start(['reply', subject, '--queue', 'echoers']);
    await Promise.all([a, b].map((c) => c.waitStderr(/listening for requests/)));
    const n = 6;
    for (let i = 1; i <= n; i++) {
      const r = await weft(['req', subject, `echo ${i}`]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, `echo ${i}\n`);
    }
    const handled = (c: Cli) => (c.stdout.match(/^\[#\d+\]/gm) ?? []).length;
    await waitFor('all requests printed', () => handled(a) + handled(b) === n);
    a.child.kill('SIGINT');
    b.child.kill('SIGINT');
    assert.equal(await a.exited(), 0, a.stderr);
    assert.equal(await b.exited(), 0, b.stderr);
    assert.equal(handled(a) + handled(b), n, 'each request handled by exactly one member');
  });

  test('req with no responders prints it on stderr and exits 1', async () => {
    const subject = fresh('nobody');
    const r = await weft(['req', subject, 'anyone?']);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.ok(r.stderr.includes(`no responders for "${subject}"`), r.stderr);
  });

  test('req times out when a subscriber never answers', async () => {
    const subject = fresh('silent');
    const sub = start(['sub', subject]);
    await sub.waitStderr(/subscribed to/);
    const started = Date.now();
    const r = await weft(['req', subject, 'hello?', '--timeout', '300ms']);
    const took = Date.now() - started;
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.ok(r.stderr.includes(`no reply from "${subject}" within 300ms`), r.stderr);
    assert.ok(took >= 300, `waited the timeout (${took}ms)`);
    await waitFor('request reached the subscriber', () => sub.stdout.includes('hello?'));
    sub.child.kill('SIGINT');
    assert.equal(await sub.exited(), 0);
  });
});
