/**
 * The link handshake without sockets: two Handshakes wired together prove
 * each other; a wrong or empty-vs-set token is refused by the end that
 * checks first; identities are bound to the proofs (a changed name, a
 * reflected or replayed proof, a swapped nonce are refused); nothing about
 * a node is sent before its peer proved the token.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FrameParser, FrameType, LINK_PROTOCOL_VERSION } from '../../src/mesh/frames.js';
import {
  Handshake,
  type HandshakeResult,
  type LinkIdentity,
  tokenAuthenticator,
} from '../../src/mesh/handshake.js';

interface Sent {
  type: number;
  body: Record<string, unknown>;
}

/** Decodes the frames a Handshake sends. */
function outbox(): { sent: Sent[]; send: (f: Buffer) => void } {
  const sent: Sent[] = [];
  const parser = new FrameParser(
    {
      onControl: (type, body) => sent.push({ type, body: body as Record<string, unknown> }),
      onMsg: () => assert.fail('no MSG in a handshake'),
    },
    4096,
  );
  return { sent, send: (f) => assert.equal(parser.feed(f), null) };
}

const D: LinkIdentity = { name: 'dialer', id: 'ID-D', boot: 1, accounts: ['$G', 'A'] };
const L: LinkIdentity = { name: 'listener', id: 'ID-L', boot: 2, accounts: null };

function pair(tokenD: string, tokenL: string) {
  const od = outbox();
  const ol = outbox();
  const d = new Handshake('out', tokenAuthenticator(tokenD), D, 3, od.send);
  const l = new Handshake('in', tokenAuthenticator(tokenL), L, 1, ol.send);
  d.start();
  l.start();
  return { d, l, od: od.sent, ol: ol.sent };
}

/** Delivers everything queued both ways until quiet; returns each end's verdicts. */
function run(p: ReturnType<typeof pair>): { d: HandshakeResult[]; l: HandshakeResult[] } {
  const out = { d: [] as HandshakeResult[], l: [] as HandshakeResult[] };
  let di = 0;
  let li = 0;
  for (let moved = true; moved; ) {
    moved = false;
    while (li < p.ol.length) {
      const f = p.ol[li++]!;
      const r = p.d.onFrame(f.type, f.body);
      out.d.push(r);
      if (r.kind === 'proven') p.d.finish();
      moved = true;
    }
    while (di < p.od.length) {
      const f = p.od[di++]!;
      out.l.push(p.l.onFrame(f.type, f.body));
      moved = true;
    }
  }
  return out;
}

const proven = (rs: HandshakeResult[]) => rs.find((r) => r.kind === 'proven');
const refused = (rs: HandshakeResult[]) => rs.find((r) => r.kind === 'refuse');

describe('link handshake', () => {
  test('same token: each end learns the other, the cost goes to the listener', () => {
    const p = pair('s3cret', 's3cret');
    const r = run(p);
    assert.deepEqual(proven(r.d), { kind: 'proven', peer: L, cost: null });
    assert.deepEqual(proven(r.l), { kind: 'proven', peer: D, cost: 3 });
    assert.deepEqual(
      p.od.map((f) => f.type),
      [FrameType.Hello, FrameType.Auth, FrameType.Auth],
    );
    // The HELLOs carry a nonce and nothing about the node.
    for (const h of [p.od[0]!, p.ol[0]!])
      assert.deepEqual(Object.keys(h.body).sort(), ['auth', 'nonce', 'proto']);
    // The dialer's first proof names nobody; no frame carries the token.
    assert.deepEqual(Object.keys(p.od[1]!.body), ['proof']);
    assert.ok(!JSON.stringify([p.od, p.ol]).includes('s3cret'));
  });

  test('no token on both ends: the same handshake with an empty key', () => {
    const r = run(pair('', ''));
    assert.ok(proven(r.d) && proven(r.l));
  });

  for (const [td, tl] of [
    ['a', 'b'],
    ['', 'b'],
    ['a', ''],
  ]) {
    test(`token ${JSON.stringify(td)} against ${JSON.stringify(tl)}: refused by the listener, who revealed nothing`, () => {
      const p = pair(td!, tl!);
      const r = run(p);
      assert.equal(refused(r.l)?.kind === 'refuse' && refused(r.l)!.reason, 'token');
      assert.equal(proven(r.d), undefined);
      assert.deepEqual(
        p.ol.map((f) => f.type),
        [FrameType.Hello],
        'the listener sent only its HELLO',
      );
    });
  }

  test("a listener's identity altered in flight is refused by the dialer", () => {
    const p = pair('k', 'k');
    // Let HELLOs and the dialer's proof through, then tamper with the listener's AUTH.
    p.l.onFrame(p.od[0]!.type, p.od[0]!.body);
    p.d.onFrame(p.ol[0]!.type, p.ol[0]!.body);
    p.l.onFrame(p.od[1]!.type, p.od[1]!.body);
    const auth = { ...p.ol[1]!.body, name: 'impostor' };
    const r = p.d.onFrame(FrameType.Auth, auth);
    assert.equal(r.kind, 'refuse');
    assert.equal((r as { reason: string }).reason, 'token');
  });

  test('each end learns the account list the other serves; a list altered in flight is refused', () => {
    const r = run(pair('k', 'k'));
    const l = proven(r.l) as { peer: LinkIdentity };
    const d = proven(r.d) as { peer: LinkIdentity };
    assert.deepEqual(l.peer.accounts, ['$G', 'A']);
    assert.equal(d.peer.accounts, null);
    const p = pair('k', 'k');
    p.l.onFrame(p.od[0]!.type, p.od[0]!.body);
    p.d.onFrame(p.ol[0]!.type, p.ol[0]!.body);
    p.l.onFrame(p.od[1]!.type, p.od[1]!.body);
    const tampered = p.d.onFrame(FrameType.Auth, { ...p.ol[1]!.body, accounts: ['$G', 'B'] });
    assert.equal((tampered as { reason: string }).reason, 'token');
    const q = pair('k', 'k');
    q.l.onFrame(q.od[0]!.type, q.od[0]!.body);
    q.d.onFrame(q.ol[0]!.type, q.ol[0]!.body);
    q.l.onFrame(q.od[1]!.type, q.od[1]!.body);
    const bad = q.d.onFrame(FrameType.Auth, { ...q.ol[1]!.body, accounts: 'A' });
    assert.equal((bad as { reason: string }).reason, 'protocol', 'accounts must be a list or null');
  });

  test('checkPeer (mutual TLS) refuses a proven peer on both ends with reason certificate', () => {
    const picky = (name: string) => ({
      ...tokenAuthenticator('k'),
      checkPeer: (peer: LinkIdentity) => (peer.name === name ? null : `not "${name}"`),
    });
    const od = outbox();
    const ol = outbox();
    const d = new Handshake('out', picky('someone-else'), D, 3, od.send);
    const l = new Handshake('in', picky('dialer'), L, 1, ol.send);
    d.start();
    l.start();
    const r = run({ d, l, od: od.sent, ol: ol.sent });
    const why = refused(r.d) as { reason: string; detail: string };
    assert.equal(why.reason, 'certificate');
    assert.match(why.detail, /not "someone-else"/);
    // The listener's check passes for the dialer named "dialer"; the dialer refused first.
    assert.equal(refused(r.l), undefined);
  });

  test("a listener's proof replayed as the dialer's, or on another connection, is refused", () => {
    const p = pair('k', 'k');
    run(p);
    // The listener's AUTH (with its proof) sent back to a fresh listener as a dialer's proof.
    const q = pair('k', 'k');
    q.l.onFrame(q.od[0]!.type, q.od[0]!.body);
    const r1 = q.l.onFrame(FrameType.Auth, { proof: p.ol[1]!.body.proof });
    assert.equal(r1.kind, 'refuse');
    // The first connection's dialer proof on the second connection.
    const q2 = pair('k', 'k');
    q2.l.onFrame(q2.od[0]!.type, q2.od[0]!.body);
    const r2 = q2.l.onFrame(FrameType.Auth, p.od[1]!.body);
    assert.equal(r2.kind, 'refuse');
  });

  test('out of turn, wrong version, bad nonce, other method, echoed nonce: refused', () => {
    const hs = (): Handshake => new Handshake('in', tokenAuthenticator('k'), L, 1, () => {});
    const nonce = Buffer.alloc(32, 7).toString('base64');
    const cases: [Record<string, unknown>, number, string][] = [
      [{ proof: 'x' }, FrameType.Auth, 'protocol'],
      [{ proto: 2, nonce, auth: 'token' }, FrameType.Hello, 'version'],
      // v4 added the account lists: an older peer is refused, as v3 refused v2.
      [{ proto: 3, nonce, auth: 'token' }, FrameType.Hello, 'version'],
      [
        { proto: LINK_PROTOCOL_VERSION, nonce: 'short', auth: 'token' },
        FrameType.Hello,
        'protocol',
      ],
      [{ proto: LINK_PROTOCOL_VERSION, nonce, auth: 'tls' }, FrameType.Hello, 'token'],
      [{}, FrameType.Lsa, 'protocol'],
    ];
    for (const [body, type, reason] of cases) {
      const r = hs().onFrame(type, body);
      assert.equal(r.kind, 'refuse', JSON.stringify(body));
      assert.equal((r as { reason: string }).reason, reason, JSON.stringify(body));
    }
    const h = hs();
    const sent = outbox();
    const own = new Handshake('in', tokenAuthenticator('k'), L, 1, sent.send);
    own.start();
    const r = own.onFrame(FrameType.Hello, sent.sent[0]!.body);
    assert.equal((r as { reason: string }).reason, 'protocol', 'its own HELLO reflected');
    assert.equal(
      h.onFrame(FrameType.Hello, { proto: LINK_PROTOCOL_VERSION, nonce, auth: 'token' }).kind,
      'wait',
    );
    assert.equal(
      (
        h.onFrame(FrameType.Hello, { proto: LINK_PROTOCOL_VERSION, nonce, auth: 'token' }) as {
          reason: string;
        }
      ).reason,
      'protocol',
    );
  });
});
