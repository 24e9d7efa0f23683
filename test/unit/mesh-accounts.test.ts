/**
 * The pure parts of accounts across the mesh and mesh TLS settings: which
 * accounts a node serves, the bound on the announced list, what a link
 * lets through, the names a certificate gives, and the mesh.tls checks.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { AccountConfig, SecurityConfig, TlsConfig } from '../../src/auth/types.js';
import { NO_LIMITS, NO_SECURITY } from '../../src/auth/types.js';
import { withDefaults } from '../../src/config/options.js';
import { ConfigError } from '../../src/errors.js';
import {
  AccountSet,
  checkMeshAccounts,
  MAX_ACCOUNT_NAME,
  MESH_ACCOUNTS_MAX_BYTES,
  missingFrom,
  nodeAccounts,
  parseAccountList,
} from '../../src/mesh/accounts.js';
import type { InterestUpdate } from '../../src/mesh/lsdb.js';
import { certificateNames } from '../../src/mesh/peer-cert.js';
import { checkMeshSettings } from '../../src/mesh/settings.js';

const account = (name: string): AccountConfig => ({
  name,
  exports: [],
  imports: [],
  jetstream: { enabled: false, maxStreams: -1, maxConsumers: -1, maxStore: -1, maxMemory: -1 },
  defaultPermissions: null,
  limits: NO_LIMITS,
});

const sec = (names: string[], extra: Partial<SecurityConfig> = {}): SecurityConfig => ({
  ...NO_SECURITY,
  accounts: names.map(account),
  ...extra,
});

describe('accounts a node serves', () => {
  test('$G, the system account and the configured ones, sorted; every account with an operator', () => {
    assert.deepEqual(nodeAccounts(NO_SECURITY), ['$G', '$SYS']);
    assert.deepEqual(nodeAccounts(sec(['B', 'A'])), ['$G', '$SYS', 'A', 'B']);
    assert.deepEqual(nodeAccounts(sec(['A'], { systemAccount: 'SYS' })), ['$G', 'A', 'SYS']);
    assert.deepEqual(nodeAccounts(sec([], { systemAccount: '' })), ['$G']);
    const operator = { jwts: [], resolver: { kind: 'memory' as const }, preload: {} };
    assert.equal(nodeAccounts(sec(['A'], { operator })), null);
  });

  test('the list must fit the handshake: a ConfigError naming accounts', () => {
    checkMeshAccounts(null);
    checkMeshAccounts(Array.from({ length: 100 }, (_, i) => `tenant-${i}`));
    const many = Array.from({ length: 300 }, (_, i) => `tenant-number-${i}`);
    assert.throws(
      () => checkMeshAccounts(many),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.key === 'accounts' &&
        e.message.includes(String(MESH_ACCOUNTS_MAX_BYTES)),
    );
    // A node on a mesh checks it at start; one without a mesh does not care.
    const big = withDefaults({ meshPort: 0, host: '127.0.0.1', security: sec(many) });
    assert.throws(() => checkMeshSettings(big), ConfigError);
    checkMeshSettings({ ...big, meshPort: null });
  });

  test('an announced list: names, or null; anything else is malformed', () => {
    assert.deepEqual(parseAccountList(['$G', 'A']), ['$G', 'A']);
    assert.equal(parseAccountList(null), null);
    for (const bad of [undefined, 'A', [1], [''], ['x'.repeat(MAX_ACCOUNT_NAME + 1)], {}]) {
      assert.equal(parseAccountList(bad), undefined, JSON.stringify(bad));
    }
  });

  test('what each side lacks', () => {
    assert.deepEqual(missingFrom(['$G', 'A', 'B'], ['$G', 'A']), ['B']);
    assert.deepEqual(missingFrom(['$G', 'A'], ['$G', 'A', 'B']), []);
    assert.deepEqual(missingFrom(null, ['$G']), [], 'every account lacks nothing');
    assert.deepEqual(missingFrom(['$G', 'X'], null), []);
  });
});

describe('what a link lets through', () => {
  const u = (add: [string, string, string][], del: [string, string, string][] = []) =>
    ({ node: 'n', id: 'i', boot: 1, seq: 2, op: 'delta', add, del }) as InterestUpdate;

  test('has: members only (null: all)', () => {
    const s = new AccountSet(['$G', 'A']);
    assert.ok(s.has('$G') && s.has('A') && s.has('A'));
    assert.ok(!s.has('B'));
    assert.ok(!s.has('a'), 'names are compared exactly');
    assert.ok(new AccountSet(null).has('anything'));
    assert.ok(!new AccountSet([]).has('$G'));
  });

  test('filter: the update itself when all pass, else a copy without the others', () => {
    const s = new AccountSet(['$G', 'A']);
    const same = u([['A', 'x', '']], [['$G', 'y', 'q']]);
    assert.equal(s.filter(same), same);
    const mixed = u(
      [
        ['A', 'x', ''],
        ['B', 'x', ''],
      ],
      [['B', 'z', '']],
    );
    const f = s.filter(mixed);
    assert.notEqual(f, mixed);
    assert.deepEqual(f.add, [['A', 'x', '']]);
    assert.deepEqual(f.del, []);
    assert.equal(f.seq, 2, 'the sequence is kept: a filtered delta is still the next one');
    assert.equal(mixed.add.length, 2, 'the original is not changed');
    assert.equal(new AccountSet(null).filter(mixed), mixed);
  });
});

describe('certificate names', () => {
  test('subject CN(s) and DNS SANs, without duplicates; IP SANs are not names', () => {
    const cert = {
      subject: { CN: 'b' },
      subjectaltname: 'DNS:b, DNS:b.mesh.example, IP Address:10.0.0.9',
    } as unknown as Parameters<typeof certificateNames>[0];
    assert.deepEqual(certificateNames(cert), ['b', 'b.mesh.example']);
    assert.deepEqual(certificateNames(null), []);
    assert.deepEqual(certificateNames({} as unknown as Parameters<typeof certificateNames>[0]), []);
    const two = { subject: { CN: ['x', 'y'] } } as unknown as Parameters<
      typeof certificateNames
    >[0];
    assert.deepEqual(certificateNames(two), ['x', 'y']);
  });
});

describe('mesh.tls settings', () => {
  const tls: TlsConfig = {
    certFile: 'c.pem',
    keyFile: 'k.pem',
    caFile: 'ca.pem',
    verify: false,
    verifyAndMap: false,
    timeoutMs: 2000,
  };

  test('a listener open to the network with mesh.tls and no token starts', () => {
    checkMeshSettings(withDefaults({ host: '0.0.0.0', meshPort: 7422, meshTls: tls }));
  });

  test('ca_file is required: mesh TLS is always mutual', () => {
    assert.throws(
      () =>
        checkMeshSettings(
          withDefaults({ host: '127.0.0.1', meshPort: 0, meshTls: { ...tls, caFile: '' } }),
        ),
      (e: unknown) => e instanceof ConfigError && e.key === 'mesh.tls.ca_file',
    );
  });
});
