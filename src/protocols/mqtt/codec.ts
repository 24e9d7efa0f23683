/**
 * The MQTT wire, as a server reads it: a pure per-connection parser (bytes
 * in through `feed`, packets out through a callback; no socket, no timer).
 * The encoders for what the server sends are in encoder.ts.
 *
 * The packet bodies are decoded by `mqtt-packet` (MQTT.js's and aedes's
 * parser, protocol versions 3, 4 and 5). It buffers whatever it is given and
 * trusts lengths inside a packet (it may read past the end of a packet into
 * the next one, and decodes bad UTF-8 into U+FFFD), so this wrapper:
 *   - reads the fixed header itself and refuses a packet larger than
 *     `maxPacketSize` (total bytes, fixed header included, as MQTT 5's
 *     Maximum Packet Size counts) BEFORE buffering any of its body; only
 *     CONNECT is accepted before CONNECT [MQTT-3.1.0-1], and never again
 *     [MQTT-3.1.0-2], so an unauthenticated peer gets its CONNECT and no more;
 *   - hands mqtt-packet exactly one whole packet at a time, so it can neither
 *     hold more than one packet nor read across packets;
 *   - checks every UTF-8 string mqtt-packet decodes against the bytes
 *     [MQTT-1.5.4-1] [MQTT-1.5.4-2], trailing bytes, and repeated properties;
 *   - turns every error into an MqttWireError carrying the MQTT 5 reason
 *     code the server sends in DISCONNECT (or CONNACK) before it closes.
 *
 * Bounds: the fixed header (5 bytes: a type byte and at most 4 length
 * bytes, kept as numbers) and `partials` (the copied pieces of one packet
 * split across reads, at most `maxPacketSize` bytes). Whole packets in a
 * read are parsed in place. One mqtt-packet parser serves every connection
 * ("the shared inner parser" below): an idle connection holds only its
 * MqttParser's dozen fields.
 */
import { isUtf8 } from 'node:buffer';
import mqttPacket, { type Packet } from 'mqtt-packet';
import { utf8Slice } from '../../util/bytes.js';

export type { Packet } from 'mqtt-packet';

/** MQTT 5 reason codes the parser reports (MQTT 5.0 §2.4). */
export const MqttReason = {
  MalformedPacket: 0x81,
  ProtocolError: 0x82,
  UnsupportedProtocolVersion: 0x84,
  PacketTooLarge: 0x95,
} as const;
export type MqttReason = (typeof MqttReason)[keyof typeof MqttReason];

/** A packet the server cannot accept; the connection must close (5.0: after DISCONNECT/CONNACK with `reasonCode`). */
export class MqttWireError extends Error {
  constructor(
    readonly reasonCode: MqttReason,
    message: string,
  ) {
    super(message);
    this.name = 'MqttWireError';
  }
}

/** Default bound on one packet (bytes, fixed header included): 1 MiB of payload and room for a topic and properties. */
export const MQTT_MAX_PACKET_SIZE_DEFAULT = 1024 * 1024 + 64 * 1024;
/** The largest packet MQTT can describe: Remaining Length ≤ 268,435,455 [MQTT-1.5.5] + 5 header bytes. */
export const MQTT_MAX_PACKET_SIZE_LIMIT = 268_435_455 + 5;
/** A fixed header: the type byte and at most 4 Remaining Length bytes [MQTT-2.2.3] (5.0: §1.5.5). */
const HEADER_MAX = 5;

export type ProtocolVersion = 3 | 4 | 5;

/** Where a parser's packets go: a callback, or an object (a session: no closure per connection). */
export type PacketSink = ((packet: Packet) => void) | { onPacket(packet: Packet): void };

export interface MqttParserOptions {
  /** Largest packet accepted, total bytes. */
  maxPacketSize?: number;
  /** The version assumed until CONNECT says (it sets it itself). */
  protocolVersion?: ProtocolVersion;
}

const TYPE_NAMES = [
  'reserved(0)',
  'CONNECT',
  'CONNACK',
  'PUBLISH',
  'PUBACK',
  'PUBREC',
  'PUBREL',
  'PUBCOMP',
  'SUBSCRIBE',
  'SUBACK',
  'UNSUBSCRIBE',
  'UNSUBACK',
  'PINGREQ',
  'PINGRESP',
  'DISCONNECT',
  'AUTH',
];
const CONNECT = 1;
const PUBLISH = 3;
const AUTH = 15;
/** Types only a server sends: a client sending one breaks the protocol. */
const SERVER_ONLY = new Set([2, 9, 11, 13]);
/**
 * Properties a client may send more than once in a packet (MQTT 5.0
 * §2.2.2.2; Subscription Identifier repeats only in a server's PUBLISH).
 */
const REPEATABLE = new Set(['userProperties']);

/** The fields of mqtt-packet's parser this wrapper reads or wraps (mqtt-packet 9). */
interface InnerParser {
  settings: { protocolVersion?: number; bridgeMode?: boolean };
  packet: { length: number };
  error: Error | null;
  _pos: number;
  _list: { length: number };
  _stateCounter: number;
  _resetState(): void;
  _parseString(this: InnerParser, maybeBuffer?: boolean): string | null;
  _parseProperties(this: InnerParser): object | false;
  parse(buf: Buffer): number;
  on(event: 'packet', cb: (p: Packet) => void): void;
  on(event: 'error', cb: (e: Error) => void): void;
}

/** mqtt-packet's error texts that mean something other than Malformed Packet. */
function reasonOf(text: string): MqttReason {
  if (text === 'Invalid protocol version' || text === 'Invalid protocolId')
    return MqttReason.UnsupportedProtocolVersion;
  return MqttReason.MalformedPacket;
}

// --- the shared inner parser ----------------------------------------------------
//
// mqtt-packet's parser is an EventEmitter with a BufferList, a Packet and
// listeners: about 2.5 KiB, too much to keep per idle connection. Each
// MqttParser hands it exactly one whole packet, synchronously, and reads what
// it said before calling anyone (`onPacket` runs after the inner parse
// returned), so one instance serves every connection of the process: its only
// per-connection input, the protocol version (and MQTT 3.1.1 bridge mode), is
// set before each parse, and its state is reset after a parse that did not
// end cleanly. What one dispatch learns is in `cur`, valid during `dispatch`.

/** The settings mqtt-packet reads, by protocol version, without and with bridge mode (never changed). */
const PLAIN = [0, 1, 2, 3, 4, 5].map((v) => ({ protocolVersion: v, bridgeMode: false }));
const BRIDGED = PLAIN.map((s) => ({ ...s, bridgeMode: true }));

/** What mqtt-packet said about the packet being dispatched (one at a time). */
const cur = {
  frame: Buffer.alloc(0) as Buffer,
  headerLen: 0,
  parsed: null as Packet | null,
  innerError: null as Error | null,
  stringError: null as MqttWireError | null,
  trailing: 0,
};
const EMPTY = cur.frame;

let shared: InnerParser | null = null;

function innerParser(): InnerParser {
  if (shared !== null) return shared;
  const inner = mqttPacket.parser({ protocolVersion: 4 }) as unknown as InnerParser;
  inner.on('packet', (p) => {
    cur.parsed = p;
    // Bytes of the body mqtt-packet did not read (PUBLISH's payload is the rest: always read).
    cur.trailing = inner.packet.length - inner._pos;
  });
  inner.on('error', (e) => {
    cur.innerError ??= e;
  });
  const parseString = inner._parseString;
  inner._parseString = function (this: InnerParser, maybeBuffer?: boolean) {
    const start = this._pos + 2;
    const s = parseString.call(this, maybeBuffer);
    if (cur.stringError !== null) return s;
    if (s === null) cur.stringError = frameError('a string runs past the end of the packet');
    else checkUtf8(start, this._pos);
    return s;
  };
  const parseProperties = inner._parseProperties;
  inner._parseProperties = function (this: InnerParser) {
    const start = this._pos;
    const result = parseProperties.call(this);
    if (result !== false && cur.stringError === null) checkPropertyEnd(start, this._pos);
    return result;
  };
  shared = inner;
  return inner;
}

function frameError(detail: string): MqttWireError {
  return malformed(`${TYPE_NAMES[cur.frame[0] >> 4]}: ${detail}`);
}

/** The properties (from `start`, body-relative) ended exactly where their length said, inside the packet. */
function checkPropertyEnd(start: number, end: number): void {
  const body = cur.frame.subarray(cur.headerLen);
  let length = 0;
  let mul = 1;
  let i = start;
  for (; i < body.length && i < start + 4; i++) {
    length += (body[i] & 0x7f) * mul;
    mul *= 128;
    if ((body[i] & 0x80) === 0) break;
  }
  const declaredEnd = i + 1 + length;
  if (declaredEnd > body.length) {
    cur.stringError = frameError(
      `the properties' length ${length} runs past the end of the packet`,
    );
  } else if (end !== declaredEnd) {
    cur.stringError = frameError(`a property runs past the properties' length ${length}`);
  }
}

/** Called with positions relative to the body: checks those bytes of the frame. */
function checkUtf8(start: number, end: number): void {
  const frame = cur.frame;
  const from = cur.headerLen + start;
  const to = cur.headerLen + end;
  // ASCII without NUL needs no more (most topics); a view costs more than this loop.
  let i = from;
  while (i < to && frame[i] !== 0 && frame[i] < 0x80) i++;
  if (i === to) return;
  const bytes = frame.subarray(from, to);
  if (!isUtf8(bytes)) cur.stringError = frameError('a string is not valid UTF-8 [MQTT-1.5.4-1]');
  else if (bytes.indexOf(0) >= 0)
    cur.stringError = frameError('a string contains U+0000 [MQTT-1.5.4-2]');
}

/** One whole packet through the shared inner parser; `cur` holds what it said. Throws what mqtt-packet throws. */
function innerParse(frame: Buffer, headerLen: number, settings: InnerParser['settings']): number {
  const inner = innerParser();
  cur.frame = frame;
  cur.headerLen = headerLen;
  cur.parsed = null;
  cur.innerError = null;
  cur.stringError = null;
  cur.trailing = 0;
  inner.settings = settings;
  try {
    return inner.parse(frame);
  } finally {
    // Nothing of this connection stays in it: not the CONNECT (mqtt-packet keeps it as its
    // settings), not a packet it stopped in (an error or a throw), not the frame.
    inner.settings = PLAIN[4];
    if (inner._list.length !== 0 || inner._stateCounter !== 0 || inner.error !== null) {
      inner._resetState();
      inner._pos = 0; // not reset by it; the next fixed header's length is read from it
    }
  }
}

const State = { Header: 0, Body: 1, Dead: 2 } as const;
type State = (typeof State)[keyof typeof State];

/**
 * Per connection this holds only its own state (a dozen fields; the pieces
 * of a split packet while it is assembled); the mqtt-packet parser is shared
 * (see above).
 */
export class MqttParser {
  private state: State = State.Header;
  /** The fixed header read so far: its bytes, the type byte, and the Remaining Length being summed. */
  private headerFill = 0;
  private typeByte = 0;
  private remaining = 0;
  private mul = 1;
  /** Copies of the pieces of a packet split across reads; joined when whole. Null when none. */
  private partials: Buffer[] | null = null;
  private partialFill = 0;
  /** Total size of the packet being assembled. */
  private packetSize = 0;
  private maxPacketSize: number;
  private connected = false;
  private version: ProtocolVersion;
  /** CONNECT's protocol level had its bridge bit (128) set: mqtt-packet then reads 3.1.1 subscriptions as bridges'. */
  private bridge = false;
  private failure: MqttWireError | null = null;
  private readonly sink: { onPacket(packet: Packet): void };

  constructor(onPacket: PacketSink, options: MqttParserOptions = {}) {
    this.sink = typeof onPacket === 'function' ? { onPacket } : onPacket;
    this.maxPacketSize = checkedMax(options.maxPacketSize ?? MQTT_MAX_PACKET_SIZE_DEFAULT);
    this.version = options.protocolVersion ?? 4;
  }

  /** Set after CONNECT (CONNECT sets it too): v5 packets carry properties. */
  setProtocolVersion(version: ProtocolVersion): void {
    this.version = version;
  }

  get protocolVersion(): ProtocolVersion {
    return this.version;
  }

  /** Change the bound, e.g. to what CONNACK announced as Maximum Packet Size. */
  setMaxPacketSize(bytes: number): void {
    this.maxPacketSize = checkedMax(bytes);
  }

  /** Bytes held for a packet not yet whole (≤ maxPacketSize). */
  get bufferedBytes(): number {
    return this.headerFill + this.partialFill;
  }

  /**
   * Parses `chunk` (`transient`: valid only during this call, so every
   * packet but a PUBLISH is parsed from a copy); packets go to `onPacket` in order. Returns null, or the
   * error that ended the stream (then and on every later call: the parser is
   * dead, the connection must close). Never throws for any input.
   */
  feed(chunk: Buffer, transient = false): MqttWireError | null {
    if (this.state === State.Dead) return this.failure;
    let off = 0;
    const n = chunk.length;
    while (off < n) {
      if (this.state === State.Header) {
        // Fast path: a whole fixed header in this chunk and nothing pending.
        const start = off;
        while (off < n && this.state === State.Header) {
          const err = this.headerByte(chunk[off++]);
          if (err !== null) return this.fail(err);
        }
        if (this.state === State.Header) return null; // header continues in the next chunk
        const headerLen = this.headerFill;
        const bodyNeeded = this.packetSize - headerLen;
        const headerInChunk = off - start === headerLen;
        this.headerFill = 0;
        if (headerInChunk && n - off >= bodyNeeded) {
          // Whole packet in this chunk: parse it in place.
          off += bodyNeeded;
          this.state = State.Header;
          // A transient chunk (a read of the shared buffer) is valid only in
          // this call: the packets that carry bytes kept past it (CONNECT's
          // will and password, AUTH's data) are parsed from a copy; a PUBLISH
          // is read by reference (its keepers copy); the others keep numbers
          // and strings.
          const frame = chunk.subarray(start, off);
          const type = chunk[start]! >> 4;
          const err = this.dispatch(
            transient && (type === CONNECT || type === AUTH) ? Buffer.from(frame) : frame,
            headerLen,
          );
          if (err !== null) return this.fail(err);
          continue;
        }
        this.partials = [this.headerBytes(headerLen)];
        this.partialFill = headerLen;
        if (bodyNeeded === 0) {
          const err = this.finishPartial();
          if (err !== null) return this.fail(err);
        }
        continue;
      }
      // State.Body: assembling a split packet.
      const take = Math.min(n - off, this.packetSize - this.partialFill);
      this.partials!.push(Buffer.from(chunk.subarray(off, off + take)));
      this.partialFill += take;
      off += take;
      if (this.partialFill === this.packetSize) {
        const err = this.finishPartial();
        if (err !== null) return this.fail(err);
      }
    }
    return null;
  }

  /** One more byte of the fixed header: checks it; at the last one sets `packetSize`, `state` = Body. */
  private headerByte(b: number): MqttWireError | null {
    const i = this.headerFill++;
    if (i === 0) {
      this.typeByte = b;
      this.remaining = 0;
      this.mul = 1;
      return this.checkTypeByte(b);
    }
    this.remaining += (b & 0x7f) * this.mul;
    this.mul *= 128;
    if ((b & 0x80) !== 0) {
      if (i === HEADER_MAX - 1)
        return malformed('Remaining Length is longer than 4 bytes [MQTT-1.5.5-1]');
      return null;
    }
    // A value must use the fewest bytes (5.0 §1.5.5): a last byte 0 after others is padding.
    if (i > 1 && b === 0)
      return malformed('Remaining Length is not minimally encoded [MQTT-1.5.5-1]');
    const total = i + 1 + this.remaining;
    const type = this.typeByte >> 4;
    if (total > this.maxPacketSize) {
      return new MqttWireError(
        MqttReason.PacketTooLarge,
        `${TYPE_NAMES[type]} of ${total} bytes is larger than the maximum packet size ${this.maxPacketSize}`,
      );
    }
    this.packetSize = total;
    this.state = State.Body;
    return null;
  }

  /** The fixed header just read, as bytes (a Remaining Length is minimally encoded: its bytes are these). */
  private headerBytes(headerLen: number): Buffer {
    const h = Buffer.allocUnsafe(headerLen);
    h[0] = this.typeByte;
    let r = this.remaining;
    for (let k = 1; k < headerLen; k++) {
      h[k] = (r & 0x7f) | (k < headerLen - 1 ? 0x80 : 0);
      r = Math.floor(r / 128);
    }
    return h;
  }

  /** The first byte: type, flags [MQTT-2.2.2-2], QoS [MQTT-3.3.1-4], and the order of CONNECT. */
  private checkTypeByte(b: number): MqttWireError | null {
    const type = b >> 4;
    const flags = b & 0x0f;
    const name = TYPE_NAMES[type];
    if (type === 0 || (type === AUTH && this.connected && this.version !== 5))
      return malformed(`packet type ${type} is reserved`);
    if (type === PUBLISH) {
      if ((flags & 0x06) === 0x06)
        return malformed('PUBLISH has both QoS bits set (QoS 3) [MQTT-3.3.1-4]');
    } else {
      const required = type === 6 || type === 8 || type === 10 ? 0x02 : 0;
      if (flags !== required) {
        return malformed(
          `${name} has header flags 0x${flags.toString(16)}, which must be 0x${required.toString(16)} [MQTT-2.2.2-2]`,
        );
      }
    }
    if (SERVER_ONLY.has(type)) return protocolError(`a client may not send ${name}`);
    if (!this.connected && type !== CONNECT)
      return protocolError(
        `${name} before CONNECT: the first packet must be CONNECT [MQTT-3.1.0-1]`,
      );
    if (this.connected && type === CONNECT) return protocolError('a second CONNECT [MQTT-3.1.0-2]');
    return null;
  }

  private finishPartial(): MqttWireError | null {
    const partials = this.partials!;
    const frame = partials.length === 1 ? partials[0] : Buffer.concat(partials, this.partialFill);
    const headerLen = headerLength(frame);
    this.partials = null;
    this.partialFill = 0;
    this.state = State.Header;
    return this.dispatch(frame, headerLen);
  }

  /** One whole packet to mqtt-packet, then the checks it does not make. */
  private dispatch(frame: Buffer, headerLen: number): MqttWireError | null {
    if (this.version !== 5 && frame[0] >> 4 === PUBLISH) {
      const packet = plainPublish(frame, headerLen);
      if (packet !== null) {
        this.sink.onPacket(packet);
        return null;
      }
    } else if (this.version !== 5 && frame.length === 4 && frame[0] === 0x40 && frame[1] === 2) {
      // A 3.1.1 PUBACK (one per QoS 1 delivery): mqtt-packet's packet, read here.
      this.sink.onPacket({
        cmd: 'puback',
        retain: false,
        qos: 0,
        dup: false,
        length: 2,
        topic: null,
        payload: null,
        messageId: (frame[2] << 8) | frame[3],
      } as unknown as Packet);
      return null;
    }
    const name = TYPE_NAMES[frame[0] >> 4];
    let left: number;
    try {
      left = innerParse(frame, headerLen, (this.bridge ? BRIDGED : PLAIN)[this.version]);
    } catch (e) {
      cur.frame = EMPTY;
      return malformed(`${name}: ${(e as Error).message}`);
    }
    const { stringError, innerError, parsed: packet, trailing } = cur;
    cur.frame = EMPTY;
    cur.parsed = null;
    if (stringError !== null) return stringError;
    if (innerError !== null) {
      const text = innerError.message;
      return new MqttWireError(reasonOf(text), `${name}: ${text}`);
    }
    if (packet === null || left !== 0) return malformed(`${name}: the packet ended early`);
    if (trailing < 0) return malformed(`${name}: its content runs past its Remaining Length`);
    if (trailing > 0 && packet.cmd !== 'publish')
      return malformed(`${name}: ${trailing} bytes after the end of its content`);
    const propsErr = checkPacketProperties(packet);
    if (propsErr !== null) return propsErr;
    if (packet.cmd === 'connect') {
      this.connected = true;
      this.bridge = (packet as { bridgeMode?: boolean }).bridgeMode === true;
      this.setProtocolVersion(packet.protocolVersion as ProtocolVersion);
    }
    this.sink.onPacket(packet);
    return null;
  }

  private fail(err: MqttWireError): MqttWireError {
    this.state = State.Dead;
    this.failure = err;
    this.partials = null;
    this.partialFill = 0;
    this.headerFill = 0;
    return err;
  }
}

function headerLength(frame: Buffer): number {
  let i = 1;
  while ((frame[i] & 0x80) !== 0) i++;
  return i + 1;
}

function checkedMax(bytes: number): number {
  if (!Number.isInteger(bytes) || bytes < 2 || bytes > MQTT_MAX_PACKET_SIZE_LIMIT)
    throw new RangeError(
      `maximum packet size must be 2..${MQTT_MAX_PACKET_SIZE_LIMIT}, got ${bytes}`,
    );
  return bytes;
}

function malformed(message: string): MqttWireError {
  return new MqttWireError(MqttReason.MalformedPacket, message);
}

function protocolError(message: string): MqttWireError {
  return new MqttWireError(MqttReason.ProtocolError, message);
}

/**
 * MQTT 5 properties: each at most once except user properties and
 * subscription identifiers (else a Protocol Error, MQTT 5.0 §2.2.2.2), none
 * missing its value (mqtt-packet leaves null/-1 for a truncated one), and no
 * Subscription Identifier in a client's PUBLISH [MQTT-3.3.4-6].
 */
/**
 * A 3.1.1 PUBLISH whose topic is ASCII without NUL and whose fields are all
 * there, read without mqtt-packet: the same packet object it builds (same
 * fields, same order; the payload a view of the frame, an empty one a new
 * empty buffer). Its parse was 30% of the server's CPU in mqtt-pubsub
 * (bench/PROFILE.md, Issue 16 — mqtt0). Null for anything else: the caller
 * then hands the frame to mqtt-packet, so every error stays what it was.
 */
/** The last topic plainPublish read (one entry, the bound; utf8Slice was 8%: Issue 16 — mqtt1). */
let lastTopic = '';

function plainPublish(frame: Buffer, headerLen: number): Packet | null {
  const length = frame.length - headerLen;
  const qos = (frame[0] >> 1) & 3;
  const topicEnd = headerLen + 2 + ((frame[headerLen] << 8) | frame[headerLen + 1]);
  const fieldsEnd = topicEnd + (qos > 0 ? 2 : 0);
  if (length < 2 || fieldsEnd > frame.length) return null;
  // ASCII without NUL; the same bytes as the last topic give its string back.
  const from = headerLen + 2;
  let same = topicEnd - from === lastTopic.length;
  for (let i = from; i < topicEnd; i++) {
    const b = frame[i];
    if (b === 0 || b >= 0x80) return null;
    if (same && b !== lastTopic.charCodeAt(i - from)) same = false;
  }
  if (!same) lastTopic = utf8Slice(frame, from, topicEnd);
  const packet = {
    cmd: 'publish',
    retain: (frame[0] & 0x01) !== 0,
    qos,
    dup: (frame[0] & 0x08) !== 0,
    length,
    topic: lastTopic,
    payload: fieldsEnd < frame.length ? frame.subarray(fieldsEnd) : Buffer.alloc(0),
  } as Packet & { messageId?: number };
  if (qos > 0) packet.messageId = (frame[topicEnd] << 8) | frame[topicEnd + 1];
  return packet;
}

function checkPacketProperties(packet: Packet): MqttWireError | null {
  const p = packet as { cmd: string; properties?: object; will?: { properties?: object } };
  const err = checkProperties(p.cmd, p.properties);
  if (err !== null) return err;
  if (p.cmd === 'connect' && p.will?.properties !== undefined)
    return checkProperties('CONNECT will', p.will.properties);
  if (p.cmd === 'publish' && p.properties !== undefined && 'subscriptionIdentifier' in p.properties)
    return protocolError('PUBLISH from a client has a Subscription Identifier [MQTT-3.3.4-6]');
  return null;
}

function checkProperties(where: string, props: object | undefined): MqttWireError | null {
  if (props === undefined) return null;
  for (const [name, value] of Object.entries(props)) {
    if (value === null || value === undefined || value === -1)
      return malformed(`${where}: property ${name} has no value`);
    if (Array.isArray(value) && !REPEATABLE.has(name))
      return protocolError(`${where}: property ${name} appears more than once`);
    if (Array.isArray(value) && value.some((v) => v === null || v === -1))
      return malformed(`${where}: property ${name} has no value`);
  }
  return null;
}
