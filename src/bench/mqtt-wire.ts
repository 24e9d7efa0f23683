/**
 * The MQTT load generator's wire: MQTT 3.1.1 packets built by hand, and a
 * scanner that counts what the server sends. No client library and no
 * general parser: the generator must outrun the server, so it reads only a
 * packet's type, its length and (for PUBLISH QoS 1 and acks) the packet id.
 */

export const PINGREQ = Buffer.from([0xc0, 0x00]);
const DISCONNECT = Buffer.from([0xe0, 0x00]);

function varint(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return out;
}

function str(s: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  const out = Buffer.allocUnsafe(2 + b.length);
  out.writeUInt16BE(b.length, 0);
  b.copy(out, 2);
  return out;
}

function packet(first: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([first, ...varint(body.length)]), body]);
}

/** CONNECT, protocol level 4, clean session, no keep alive (the server never times it out). */
export function connectPacket(clientId: string, keepAlive = 0): Buffer {
  const head = Buffer.from([
    0x00,
    0x04,
    0x4d,
    0x51,
    0x54,
    0x54,
    0x04,
    0x02,
    keepAlive >> 8,
    keepAlive & 0xff,
  ]);
  return packet(0x10, Buffer.concat([head, str(clientId)]));
}

export function subscribePacket(id: number, filter: string, qos: 0 | 1): Buffer {
  return packet(
    0x82,
    Buffer.concat([Buffer.from([id >> 8, id & 0xff]), str(filter), Buffer.from([qos])]),
  );
}

export function pubackPacket(id: number): Buffer {
  return Buffer.from([0x40, 0x02, id >> 8, id & 0xff]);
}

export function disconnectPacket(): Buffer {
  return DISCONNECT;
}

/** One PUBLISH; for QoS 1 the packet id is at `idOffset` (patch it per message). */
export function publishPacket(
  topic: string,
  size: number,
  qos: 0 | 1,
): { buf: Buffer; idOffset: number } {
  const t = str(topic);
  const idLen = qos === 1 ? 2 : 0;
  const body = Buffer.alloc(t.length + idLen + size, 0x61);
  t.copy(body, 0);
  const buf = packet(0x30 | (qos << 1), body);
  return { buf, idOffset: buf.length - size - idLen };
}

export interface PublishBatch {
  buf: Buffer;
  count: number;
  frameLength: number;
}

/** `count` identical QoS 0 PUBLISH packets back to back, written with one call. */
export function publishBatch(topic: string, size: number, count: number): PublishBatch {
  const one = publishPacket(topic, size, 0).buf;
  const buf = Buffer.allocUnsafe(one.length * count);
  for (let i = 0; i < count; i++) one.copy(buf, i * one.length);
  return { buf, count, frameLength: one.length };
}

/** Messages per write, about 64 KiB of them. */
export function batchFor(frameLength: number, targetBytes = 64 * 1024): number {
  return Math.max(1, Math.floor(targetBytes / frameLength));
}

/** The packets the scanner reports. */
export interface ScannerEvents {
  onConnack(returnCode: number): void;
  onSuback(granted: number): void;
  /** A PUBLISH; `id` is its packet id for QoS 1 and 2, else 0. */
  onPublish(qos: number, id: number): void;
  onPuback(id: number): void;
  onPingresp(): void;
  onDisconnect(): void;
  onProtocolError(text: string): void;
}

/**
 * Bytes of a packet's body kept for the scanner: enough for a PUBLISH's
 * topic (the generator's topics are short) and packet id, or an ack.
 */
const PREFIX_MAX = 512;

/**
 * Counts incoming packets across arbitrary splits. Bounded: a header of at
 * most 5 bytes and a body prefix of at most PREFIX_MAX; the rest of a body
 * is skipped, never held.
 */
export class MqttScanner {
  private header = 0;
  private type = 0;
  private flags = 0;
  private lenBytes = 0;
  private remaining = 0;
  private mul = 1;
  private inHeader = true;
  private readonly prefix = Buffer.allocUnsafe(PREFIX_MAX);
  private prefixFill = 0;
  private prefixWant = 0;
  private skip = 0;

  constructor(private readonly on: ScannerEvents) {}

  push(chunk: Buffer): void {
    let i = 0;
    const n = chunk.length;
    while (i < n) {
      if (this.inHeader) {
        const b = chunk[i++];
        if (this.header === 0) {
          this.header = 1;
          this.type = b >> 4;
          this.flags = b & 0x0f;
          this.remaining = 0;
          this.mul = 1;
          this.lenBytes = 0;
          continue;
        }
        this.remaining += (b & 0x7f) * this.mul;
        this.mul *= 128;
        if (++this.lenBytes > 4) {
          this.on.onProtocolError('Remaining Length longer than 4 bytes');
          return;
        }
        if ((b & 0x80) !== 0) continue;
        this.inHeader = false;
        this.prefixFill = 0;
        this.prefixWant = Math.min(this.remaining, this.wantFor(this.type));
        this.skip = this.remaining - this.prefixWant;
        if (this.remaining === 0) this.done();
        continue;
      }
      if (this.prefixFill < this.prefixWant) {
        const take = Math.min(n - i, this.prefixWant - this.prefixFill);
        chunk.copy(this.prefix, this.prefixFill, i, i + take);
        this.prefixFill += take;
        i += take;
        if (this.prefixFill === this.prefixWant && this.skip === 0) this.done();
        continue;
      }
      const take = Math.min(n - i, this.skip);
      this.skip -= take;
      i += take;
      if (this.skip === 0) this.done();
    }
  }

  /** How much of a body the scanner reads: a PUBLISH's topic and id, an ack's id. */
  private wantFor(type: number): number {
    if (type === 3) return (this.flags & 0x06) === 0 ? 0 : PREFIX_MAX;
    return type === 2 || type === 4 || type === 9 ? 4 : 0;
  }

  private done(): void {
    const p = this.prefix;
    switch (this.type) {
      case 2:
        this.on.onConnack(p[1]);
        break;
      case 3: {
        const qos = (this.flags >> 1) & 3;
        if (qos === 0) {
          this.on.onPublish(0, 0);
          break;
        }
        const at = 2 + p.readUInt16BE(0);
        if (at + 2 > this.prefixFill) {
          this.on.onProtocolError(
            `PUBLISH topic longer than the scanner reads (${PREFIX_MAX} bytes)`,
          );
          return;
        }
        this.on.onPublish(qos, p.readUInt16BE(at));
        break;
      }
      case 4:
        this.on.onPuback(p.readUInt16BE(0));
        break;
      case 9:
        this.on.onSuback(p[2]);
        break;
      case 13:
        this.on.onPingresp();
        break;
      case 14:
        this.on.onDisconnect();
        break;
    }
    this.header = 0;
    this.inHeader = true;
  }
}
