/**
 * Random damage to a file store's files, many times: bytes are flipped at
 * random places in the segments (and now and then in the synced mark and
 * the quarantine file), the store is reopened, and then:
 *
 * - every message none of whose record bytes were touched is read back
 *   exactly;
 * - every message that is gone is accounted for: inside the sequence range
 *   of a reported damaged range, or (only when the synced mark itself was
 *   damaged, so a damaged tail cannot be told from a torn write) in the
 *   reported torn tail — none is lost silently;
 * - with an intact mark, sequences are never handed out twice;
 * - reopening again reports the same and copies nothing twice into the
 *   quarantine file.
 *
 * Each round damages a fresh store twice (the second time on top of the
 * first, with the quarantine file in play). WEFT_DAMAGE_ROUNDS (default 25)
 * and WEFT_DAMAGE_SEED make runs longer or repeatable; the seed is printed.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { QUARANTINE_FILE, readQuarantine } from '../../src/streams/file-quarantine.js';
import { recSeq, recType, T_MSG } from '../../src/streams/file-record.js';
import { type FileStore, openFileStore } from '../../src/streams/file-store.js';
import { MARK_FILE } from '../../src/streams/file-synced-mark.js';
import { scanSegment } from '../../src/streams/segment-scan.js';
import { prng } from './crash-messages.js';

const ROUNDS = Number(process.env['WEFT_DAMAGE_ROUNDS'] ?? '25');
const SEED = Number(process.env['WEFT_DAMAGE_SEED'] ?? String(Math.floor(Math.random() * 2 ** 31)));
const dirs: string[] = [];
after(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

interface Where {
  file: string;
  off: number;
  len: number;
}

const segFiles = (dir: string): string[] =>
  fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.seg'))
    .sort();

/** Adds where each valid MSG record is to `map` (records already mapped keep their place). */
function mapRecords(dir: string, map: Map<number, Where>): void {
  for (const f of segFiles(dir)) {
    const fd = fs.openSync(join(dir, f), 'r');
    scanSegment(
      fd,
      fs.fstatSync(fd).size,
      (buf, rel, pos) => {
        const seq = recSeq(buf, rel);
        if (recType(buf, rel) === T_MSG && !map.has(seq)) {
          map.set(seq, { file: f, off: pos, len: buf.readUInt32LE(rel) });
        }
      },
      () => {},
    );
    fs.closeSync(fd);
  }
}

const payloadOf = (seq: number, rnd: () => number): Buffer =>
  Buffer.from(`${seq}:`.padEnd(8 + Math.floor(rnd() * 150), String.fromCharCode(97 + (seq % 26))));

test(`random damage is reported, never silent (seed ${SEED}, ${ROUNDS} rounds)`, async () => {
  console.log(`damage: WEFT_DAMAGE_SEED=${SEED} WEFT_DAMAGE_ROUNDS=${ROUNDS}`);
  const rnd = prng(SEED);
  const opts = { sync: { kind: 'always' as const }, segmentBytes: 1500 };
  let damagedTotal = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const dir = await mkdtemp(join(tmpdir(), 'weft-damage-'));
    dirs.push(dir);
    const payloads = new Map<number, Buffer>();
    let s: FileStore = await openFileStore(dir, opts);
    const n = 20 + Math.floor(rnd() * 60);
    for (let i = 0; i < n; i++) {
      const seq = s.state().lastSeq + 1;
      const p = payloadOf(seq, rnd);
      assert.equal((await s.append(`fz.${seq % 5}`, null, p)).seq, seq);
      payloads.set(seq, p);
    }
    await s.close();
    const where = new Map<number, Where>();
    mapRecords(dir, where);
    /** file → offsets flipped so far. */
    const touched = new Map<string, number[]>();

    for (let phase = 1; phase <= 2; phase++) {
      const at = `round ${round} phase ${phase} (seed ${SEED})`;
      const flips = 1 + Math.floor(rnd() * 4);
      let markHit = false;
      for (let f = 0; f < flips; f++) {
        const names = segFiles(dir);
        let file: string;
        const r = rnd();
        if (r < 0.08) file = MARK_FILE;
        else if (r < 0.16 && fs.existsSync(join(dir, QUARANTINE_FILE))) file = QUARANTINE_FILE;
        else file = names[Math.floor(rnd() * names.length)]!;
        const path = join(dir, file);
        const buf = fs.readFileSync(path);
        if (buf.length === 0) continue;
        const off = Math.floor(rnd() * buf.length);
        buf[off] ^= 1 + Math.floor(rnd() * 255);
        fs.writeFileSync(path, buf);
        if (file === MARK_FILE) markHit = true;
        touched.set(file, [...(touched.get(file) ?? []), off]);
      }
      const sizes = new Map(segFiles(dir).map((f) => [f, fs.statSync(join(dir, f)).size]));
      s = await openFileStore(dir, opts);
      const rec = s.recovered;
      const tornSeqs: number[] = [];
      const covered = (seq: number): boolean =>
        rec.damage.list.some((d) => d.seqFrom !== null && seq >= d.seqFrom && seq <= d.seqTo!);
      const tornFrom =
        rec.truncatedFile === null
          ? null
          : {
              file: rec.truncatedFile.slice(-24),
              off: sizes.get(rec.truncatedFile.slice(-24))! - rec.truncatedBytes,
            };
      assert.ok(rec.damage.list.length === rec.damage.ranges, `${at}: every range listed`);
      for (const [seq, payload] of payloads) {
        const w = where.get(seq)!;
        const hit = (touched.get(w.file) ?? []).some((o) => o >= w.off && o < w.off + w.len);
        const m = await s.get(seq);
        if (m !== null) {
          assert.ok(m.payload.equals(payload), `${at}: seq ${seq} read back with other content`);
          continue;
        }
        assert.ok(hit, `${at}: seq ${seq} is gone though none of its bytes were touched`);
        const torn = tornFrom !== null && tornFrom.file === w.file && w.off >= tornFrom.off;
        assert.ok(
          covered(seq) || torn,
          `${at}: seq ${seq} is gone and no damaged range or torn tail accounts for it: ` +
            JSON.stringify({ w, touched: [...touched], rec, tornFrom }),
        );
        if (torn && !covered(seq)) {
          assert.ok(markHit, `${at}: seq ${seq} taken for a torn tail with an intact mark`);
          // Reported as cut (and its sequence may be used again): accounted for.
          tornSeqs.push(seq);
        }
      }
      for (const seq of tornSeqs.splice(0)) {
        payloads.delete(seq);
        where.delete(seq);
      }
      damagedTotal += rec.damage.ranges;
      const ranges = rec.damage.ranges;
      const last = Math.max(...payloads.keys());
      if (!markHit) {
        // Nothing acknowledged is renumbered: the next message follows the last ever stored.
        assert.ok(s.state().lastSeq >= last, `${at}: lastSeq ${s.state().lastSeq} < ${last}`);
      }
      // Writable: one more message, at the end of the map.
      const seq = s.state().lastSeq + 1;
      const p = payloadOf(seq, rnd);
      assert.equal((await s.append('fz.after', null, p)).seq, seq);
      payloads.set(seq, p);
      await s.close();
      mapRecords(dir, where);
      // The same again, and nothing copied twice.
      const q1 = readQuarantine(join(dir, QUARANTINE_FILE)).entries.length;
      s = await openFileStore(dir, opts);
      assert.equal(s.recovered.truncatedBytes, 0, `${at}: a second open found a torn tail`);
      assert.equal(s.recovered.damage.ranges, ranges, `${at}: a second open found other damage`);
      assert.equal((await s.get(seq))!.payload.toString(), p.toString());
      await s.close();
      const q = readQuarantine(join(dir, QUARANTINE_FILE));
      if (!(touched.get(QUARANTINE_FILE) ?? []).length) {
        assert.equal(q.entries.length, q1, `${at}: quarantined again`);
        assert.equal(q.problem, null, `${at}: ${q.problem}`);
      }
    }
  }
  assert.ok(damagedTotal > 0, 'some damage was found at all');
});
