/**
 * A bare Kafka connection for wire-level tests of the face: requests
 * encoded with the codec, responses matched by correlation id, raw bytes
 * when a test needs to send what no client would, and the close observed.
 */
import { connect, type Socket } from 'node:net';
import { decodeResponse, encodeRequest, type Message } from '../../src/protocols/kafka/codec.js';
import { FrameSplitter } from '../../src/protocols/kafka/frames.js';

export class WireClient {
  private nextId = 1;
  private readonly waiting = new Map<
    number,
    { key: number; v: number; done: (m: Message) => void; fail: (e: Error) => void }
  >();
  private readonly frames = new FrameSplitter(1 << 30);
  /** Frames whose correlation id nobody waits for (raw sends). */
  readonly unmatched: Buffer[] = [];
  readonly closed: Promise<void>;

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.frames.push(chunk);
      for (let f = this.frames.next(); f !== null; f = this.frames.next()) {
        const w = this.waiting.get(f.readInt32BE(0));
        if (w === undefined) {
          this.unmatched.push(Buffer.from(f));
          continue;
        }
        this.waiting.delete(f.readInt32BE(0));
        try {
          w.done(decodeResponse(w.key, w.v, f).body);
        } catch (err) {
          w.fail(err as Error);
        }
      }
    });
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => {});
    socket.once('close', () => {
      for (const w of this.waiting.values()) w.fail(new Error('connection closed'));
      this.waiting.clear();
    });
  }

  static open(port: number): Promise<WireClient> {
    return new Promise((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port, noDelay: true }, () => {
        s.off('error', reject);
        resolve(new WireClient(s));
      });
      s.once('error', reject);
    });
  }

  send(apiKey: number, version: number, body: Message): Promise<Message> {
    const correlationId = this.nextId++;
    const done = new Promise<Message>((d, f) =>
      this.waiting.set(correlationId, { key: apiKey, v: version, done: d, fail: f }),
    );
    for (const b of encodeRequest(
      { apiKey, apiVersion: version, correlationId, clientId: 'wire' },
      body,
    ))
      this.socket.write(b);
    return done;
  }

  raw(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  close(): void {
    this.socket.destroy();
  }
}

/** A request frame with any header (an API key or version nobody serves), body as given. */
export function rawFrame(
  apiKey: number,
  version: number,
  correlationId: number,
  body: Buffer = Buffer.alloc(0),
  flexible = false,
): Buffer {
  const head = Buffer.alloc(4 + 2 + 2 + 4 + 2 + (flexible ? 1 : 0));
  head.writeInt32BE(head.length - 4 + body.length, 0);
  head.writeInt16BE(apiKey, 4);
  head.writeInt16BE(version, 6);
  head.writeInt32BE(correlationId, 8);
  head.writeInt16BE(-1, 12);
  return Buffer.concat([head, body]);
}
