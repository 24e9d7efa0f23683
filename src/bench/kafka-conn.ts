/**
 * A minimal Kafka client over Weft's codec (src/protocols/kafka), for the benchmark and tests: one
 * TCP (or given) socket, pipelined requests matched to responses by
 * correlation id.
 */
import { connect, type Socket } from 'node:net';
import { decodeResponse, encodeRequest, type Message } from '../protocols/kafka/codec.js';
import { FrameSplitter } from '../protocols/kafka/frames.js';

/** The reused read buffer of a `readInto` client. */
const READ_INTO_BYTES = 64 * 1024;

interface Pending {
  apiKey: number;
  version: number;
  resolve: (m: Message) => void;
  reject: (e: Error) => void;
  /** Set by sendFramed: the answer's frame, undecoded. */
  raw?: (err: Error | null, frame: Buffer | null) => void;
}

export class RawKafkaClient {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly splitter = new FrameSplitter(1 << 30);

  private constructor(
    readonly socket: Socket,
    readonly clientId: string,
    readInto: boolean,
  ) {
    if (!readInto) socket.on('data', (chunk: Buffer) => this.onChunk(chunk));
    const fail = (err: Error) => {
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('connection closed')));
  }

  private onChunk(chunk: Buffer): void {
    this.splitter.push(chunk);
    for (let f = this.splitter.next(); f !== null; f = this.splitter.next()) {
      const id = f.readInt32BE(0);
      const p = this.pending.get(id);
      if (p === undefined) continue;
      this.pending.delete(id);
      if (p.raw !== undefined) {
        p.raw(null, f);
        continue;
      }
      let body: Message;
      try {
        body = decodeResponse(p.apiKey, p.version, f).body;
      } catch (err) {
        p.reject(err as Error);
        continue;
      }
      p.resolve(body);
    }
  }

  /**
   * Opens the connection. `readInto`: read with `onread` into one reused
   * 64 KiB buffer, each read copied out (FrameSplitter keeps what it is
   * pushed) — no Readable stream and 'data' event per read: for a client
   * whose answers are small (the producer's; bench/PROFILE.md, "Issue 16 —
   * kgen (round 11)"). Large answers (Fetch) read best with 'data'.
   */
  static open(
    host: string,
    port: number,
    clientId = 'weft-raw',
    readInto = false,
  ): Promise<RawKafkaClient> {
    return new Promise((resolve, reject) => {
      let client: RawKafkaClient | null = null;
      const onread = readInto
        ? {
            buffer: Buffer.allocUnsafe(READ_INTO_BYTES),
            callback: (n: number, buf: Uint8Array) => {
              client?.onChunk(Buffer.from(buf.subarray(0, n)));
              return true;
            },
          }
        : undefined;
      const s = connect({ host, port, noDelay: true, onread }, () => {
        s.off('error', reject);
        client = new RawKafkaClient(s, clientId, readInto);
        resolve(client);
      });
      s.once('error', reject);
    });
  }

  /** Sends a request; resolves with the response body (never, for Produce acks=0). */
  send(apiKey: number, version: number, body: Message): Promise<Message> {
    const correlationId = this.nextId++;
    const frame = encodeRequest(
      { apiKey, apiVersion: version, correlationId, clientId: this.clientId },
      body,
    );
    const done = new Promise<Message>((resolve, reject) =>
      this.pending.set(correlationId, { apiKey, version, resolve, reject }),
    );
    // One writev per request (as a client's gathering write), not one write per part.
    this.socket.cork();
    for (const b of frame) this.socket.write(b);
    this.socket.uncork();
    return done;
  }

  /**
   * Sends a request the caller framed itself (`frame(correlationId)`: the
   * whole request, size first), as one write or one gathering write; `done`
   * is called once, with the answer's frame undecoded (without its size,
   * correlation id first; valid only during the call) or the error — no
   * promise and no generic decode per request: the producer's answers are
   * its hot path.
   */
  sendFramed(
    apiKey: number,
    version: number,
    frame: (correlationId: number) => Buffer[],
    done: (err: Error | null, frame: Buffer | null) => void,
  ): void {
    const correlationId = this.nextId++;
    const parts = frame(correlationId);
    this.pending.set(correlationId, {
      apiKey,
      version,
      resolve: () => {},
      reject: (e) => done(e, null),
      raw: done,
    });
    if (parts.length === 1) this.socket.write(parts[0]!);
    else {
      this.socket.cork();
      for (const b of parts) this.socket.write(b);
      this.socket.uncork();
    }
  }

  /** Sends without waiting for an answer (Produce with acks=0). */
  sendNoReply(apiKey: number, version: number, body: Message): void {
    const frame = encodeRequest(
      { apiKey, apiVersion: version, correlationId: this.nextId++, clientId: this.clientId },
      body,
    );
    for (const b of frame) this.socket.write(b);
  }

  get inFlight(): number {
    return this.pending.size;
  }

  close(): void {
    this.socket.destroy();
  }
}
