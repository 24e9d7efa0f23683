/**
 * The feeds of one stream: its mirror, or its sources, and where each
 * source is. A source's position (the last origin sequence stored) is saved
 * in `<stream dir>/sources.json` with the stream's last sequence at that
 * moment, after stored batches (coalesced, at most every SAVE_DELAY_MS). At
 * start the messages after that sequence are read for their
 * `Nats-Stream-Source` marks, so a position saved late is corrected and
 * nothing is fetched twice.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseHeaders } from '../streams/headers.js';
import type { Stream } from '../streams/stream.js';
import type { StreamConfig } from '../streams/stream-config.js';
import { Feed, type FeedSpec, parseSourceMark, SOURCE_HEADER } from './feed.js';
import type { Inbox } from './inbox.js';

const SAVE_DELAY_MS = 100;

interface SavedPositions {
  /** The stream's last sequence when the positions were taken. */
  streamSeq: number;
  positions: Record<string, number>;
}

export class StreamFeeds {
  private feeds: Feed[] = [];
  private saveTimer: NodeJS.Timeout | null = null;
  private saving: Promise<void> = Promise.resolve();

  constructor(
    private readonly stream: Stream,
    private readonly inbox: Inbox,
    private readonly log: { warn(msg: string): void },
    /** The stream's directory, or null for a memory stream. */
    private readonly dir: string | null,
  ) {}

  get mirror(): Feed | null {
    return this.feeds.find((f) => f.kind === 'mirror') ?? null;
  }

  /** Starts the feeds the stream's config asks for. */
  async start(): Promise<void> {
    const cfg: StreamConfig = this.stream.config;
    const host = {
      stream: this.stream,
      inbox: this.inbox,
      log: this.log,
      moved: () => this.scheduleSave(),
    };
    if (cfg.mirror !== undefined && cfg.mirror !== null) {
      this.feeds = [new Feed('mirror', cfg.mirror as FeedSpec, host)];
    } else if (cfg.sources !== undefined && cfg.sources !== null && cfg.sources.length > 0) {
      const positions = await this.positions();
      this.feeds = (cfg.sources as FeedSpec[]).map(
        (s) => new Feed('source', s, host, positions.get(s.name) ?? 0),
      );
    }
    for (const f of this.feeds) f.start();
  }

  /** Another node's stream became reachable: feeds from it try at once. */
  poke(origin: string): void {
    for (const f of this.feeds) if (f.spec.name === origin) f.poke();
  }

  async stop(): Promise<void> {
    for (const f of this.feeds) await f.stop();
    if (this.saveTimer !== null) {
      clearTimeout(this.saveTimer);
      this.saveTimer = null;
      this.saving = this.saving.then(() => this.save());
    }
    await this.saving;
    this.feeds = [];
  }

  /** `mirror` and `sources` for stream info, as nats-server shows them. */
  info(): Record<string, unknown> {
    const m = this.mirror;
    if (m !== null) return { mirror: m.info() };
    if (this.feeds.length === 0) return {};
    return { sources: this.feeds.map((f) => f.info()) };
  }

  private async positions(): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    let from = this.stream.state().firstSeq;
    if (this.dir !== null) {
      try {
        const saved = JSON.parse(
          await readFile(path.join(this.dir, 'sources.json'), 'utf8'),
        ) as SavedPositions;
        for (const [k, v] of Object.entries(saved.positions)) out.set(k, v);
        from = Math.max(from, saved.streamSeq + 1);
      } catch {
        // None saved yet: every mark in the stream is read.
      }
    }
    for (let seq = from; ; ) {
      const m = await this.stream.messages.next(seq);
      if (m === null) break;
      const mark = parseSourceMark(parseHeaders(m.headers).get(SOURCE_HEADER));
      if (mark !== null && mark.seq > (out.get(mark.origin) ?? 0)) out.set(mark.origin, mark.seq);
      seq = m.seq + 1;
    }
    return out;
  }

  private scheduleSave(): void {
    if (this.dir === null || this.saveTimer !== null) return;
    this.saveTimer = setTimeout(() => {
      this.saveTimer = null;
      this.saving = this.saving.then(() => this.save());
    }, SAVE_DELAY_MS);
    this.saveTimer.unref();
  }

  private async save(): Promise<void> {
    if (this.dir === null) return;
    const positions: Record<string, number> = {};
    let streamSeq = this.stream.state().lastSeq;
    for (const f of this.feeds) {
      if (f.kind !== 'source') continue;
      positions[f.spec.name] = f.position;
      streamSeq = Math.min(streamSeq, f.settledSeq);
    }
    const saved: SavedPositions = { streamSeq, positions };
    const file = path.join(this.dir, 'sources.json');
    try {
      await writeFile(`${file}.tmp`, JSON.stringify(saved));
      await rename(`${file}.tmp`, file);
    } catch (err) {
      this.log.warn(`stream ${this.stream.name}: source positions not saved: ${String(err)}`);
    }
  }
}
