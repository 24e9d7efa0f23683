/**
 * The commands a session runs from ranges of the bytes read, without
 * reading them as arguments (no Buffer per argument): PUBLISH; `XADD <key>
 * * <field> <value>` with the stream here; `XACK <key> <group> <id>…` and
 * a group consumer's `XREADGROUP GROUP <g> <c> [COUNT n] [NOACK] STREAMS
 * <key> >` answered in this turn. Each is taken only where the table's
 * command is the built-in one and would answer it the same way; anything
 * else is left in the reader, which the session then reads as arguments
 * and runs through the table (the same replies and errors: the fast path
 * tests compare the two). The session checks login and RESP2's subscribe
 * mode before asking here (bench/PROFILE.md, "Issue 16 — rgroup8 (round
 * 13)" and "rgroup9 (round 14)").
 */
import type { RedisClient } from './client.js';
import type { CommandContext } from './command.js';
import { xack as xackCommand } from './commands/groups.js';
import { xackRanges } from './commands/groups-ack.js';
import { xreadgroup as xreadgroupCommand, xreadgroupRanges } from './commands/groups-read.js';
import { publish as publishCommand } from './commands/pubsub.js';
import { xadd as xaddCommand, xaddRanges } from './commands/streams.js';
import type { CommandTable } from './dispatch.js';
import type { Reply } from './encoder.js';
import type { RedisHost } from './host.js';
import type { RespReader } from './parser.js';
import { type PublishCache, publishRange } from './publish.js';
import type { LaterReply, ReplyLine } from './reply-line.js';

/** What the fast paths use of their session. */
export interface FastSession extends RedisClient {
  readonly reader: RespReader;
  readonly ctx: CommandContext;
  readonly host: RedisHost;
  readonly line: ReplyLine;
  readonly publishCache: PublishCache;
  /** A command is running: its pushes go in line with the replies. */
  running: boolean;
  /** A reply in request order. */
  emit(r: Reply): void;
  /** A reply made in this turn: now, or in line until its `LaterReply` is filled. */
  emitNow(r: Reply | LaterReply): void;
  /** A reply a Promise gives: in line, holding the commands after it (not `concurrent`). */
  emitLater(name: string, r: Promise<Reply>, concurrent: boolean): void;
  internalError(name: string, err: unknown): Reply;
}

export class FastPaths {
  /** The table's PUBLISH, XADD, XACK, XREADGROUP are the built-in ones. */
  private readonly publish: boolean;
  private readonly xadd: boolean;
  private readonly xack: boolean;
  private readonly xreadgroup: boolean;

  constructor(table: CommandTable) {
    this.publish = table.get('publish')?.run === publishCommand;
    this.xadd = table.get('xadd')?.run === xaddCommand;
    this.xack = table.get('xack')?.run === xackCommand;
    this.xreadgroup = table.get('xreadgroup')?.run === xreadgroupCommand;
  }

  /** Runs the next command from its ranges: true when it was taken, false when left to `next`. */
  run(s: FastSession): boolean {
    const reader = s.reader;
    if (this.publish && reader.nextPublish()) {
      publishRead(s);
      return true;
    }
    if (this.xadd && reader.peekXadd() && xaddRead(s)) return true;
    if (this.xack && reader.peekXack() && xackRead(s)) return true;
    return this.xreadgroup && reader.peekXreadgroup() && xreadgroupRead(s);
  }
}

/** The PUBLISH `nextPublish` took: run as `execute` runs the table's PUBLISH. */
function publishRead(s: FastSession): void {
  const r = s.reader;
  const buf = r.buffer;
  s.host.counters.commands++;
  let reply: Reply;
  s.running = true;
  try {
    reply = publishRange(
      s.host.state,
      s,
      s.publishCache,
      buf,
      r.chanStart,
      r.chanEnd,
      buf,
      r.payloadStart,
      r.payloadEnd,
    );
  } catch (err) {
    reply = s.internalError('publish', err);
  } finally {
    s.running = false;
  }
  s.emit(reply);
}

/** The XADD `peekXadd` found: run as `execute` runs the table's XADD; false when not taken. */
function xaddRead(s: FastSession): boolean {
  const r = s.reader;
  // The last reply in line, a run of XADDs this one may join (xadd-run.ts);
  // a run is started only when more was read after this XADD.
  const tail = s.line.tail;
  const more = r.buffer.length > r.valueEnd + 2;
  let reply: Reply | LaterReply | null;
  s.running = true;
  try {
    reply = xaddRanges(
      s.ctx,
      r.buffer,
      r.keyStart,
      r.keyEnd,
      r.fieldStart,
      r.fieldEnd,
      r.valueStart,
      r.valueEnd,
      tail,
      more,
    );
  } catch (err) {
    reply = s.internalError('xadd', err);
  } finally {
    s.running = false;
  }
  if (reply === null) return false;
  r.skipPeeked();
  s.host.counters.commands++;
  if (reply === tail) s.line.joined();
  else s.emitNow(reply);
  return true;
}

/** The XACK `peekXack` found: run as `execute` runs the table's XACK; false when not taken. */
function xackRead(s: FastSession): boolean {
  let reply: Reply | LaterReply | null;
  try {
    reply = xackRanges(s.ctx, s.reader.buffer, s.reader.xack);
  } catch (err) {
    reply = s.internalError('xack', err);
  }
  if (reply === null) return false;
  s.reader.skipPeeked();
  s.host.counters.commands++;
  s.emitNow(reply);
  return true;
}

/** The XREADGROUP `peekXreadgroup` found: run as `execute` runs the table's; false when not taken. */
function xreadgroupRead(s: FastSession): boolean {
  let reply: Reply | LaterReply | Promise<Reply> | null;
  s.running = true;
  try {
    reply = xreadgroupRanges(s.ctx, s.reader.buffer, s.reader.xreadgroup);
  } catch (err) {
    reply = s.internalError('xreadgroup', err);
  } finally {
    s.running = false;
  }
  if (reply === null) return false;
  s.reader.skipPeeked();
  s.host.counters.commands++;
  if (reply instanceof Promise) s.emitLater('xreadgroup', reply, false);
  else s.emitNow(reply);
  return true;
}
