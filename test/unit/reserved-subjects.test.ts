/**
 * reservedSubject (src/auth/reserved.ts): its fast path (the second
 * character of a `$` subject) decides as the prefix list does, for every
 * prefix, its bare name, near misses and the JetStream subjects it skips.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RESERVED_PREFIXES, reservedSubject } from '../../src/auth/reserved.js';

/** The rule as written before the fast path: a prefix, or the prefix's bare name. */
function reference(subject: string): boolean {
  return RESERVED_PREFIXES.some((p) => subject.startsWith(p) || subject === p.slice(0, -1));
}

describe('reservedSubject', () => {
  test('agrees with the prefix list on prefixes, bare names and near misses', () => {
    const subjects = [
      '',
      '$',
      'x',
      '$JS.ACK.S.C.1.1.1.0.0',
      '$JS.API.INFO',
      '$SYS.x',
      '$mqtt.sess.x',
      '$M',
      '$W',
      '$R',
      'MQTT.sess',
    ];
    for (const p of RESERVED_PREFIXES) {
      const bare = p.slice(0, -1);
      subjects.push(p, `${p}x`, `${p}x.y`, bare, `${bare}x`, bare.slice(0, -1), `${bare}.`);
      subjects.push(p.toLowerCase(), `${p.slice(0, 2)}.x`);
    }
    for (const s of subjects) assert.equal(reservedSubject(s), reference(s), JSON.stringify(s));
    assert.equal(reservedSubject('$MQTT.sess.a'), true);
    assert.equal(reservedSubject('$REDIS.gcmd'), true);
    assert.equal(reservedSubject('$JS.ACK.S.C.1.1.1.0.0'), false);
  });
});
