/**
 * A raw MQTT client for wire-level tests: sends packets (or bytes) and reads
 * the packets the node answers, one at a time, with deadlines.
 */
import { connect, type Socket } from 'node:net';
import mqttPacket, { type Packet } from 'mqtt-packet';
import { within } from '../helpers/poll.js';

export class RawMqtt {
  private readonly packets: Packet[] = [];
  private waiter: (() => void) | null = null;
  closed = false;
  private readonly whenClosed: Promise<void>;

  private constructor(
    readonly socket: Socket,
    private version: 4 | 5,
  ) {
    const parser = mqttPacket.parser({ protocolVersion: version });
    parser.on('packet', (p: Packet) => {
      this.packets.push(p);
      this.waiter?.();
    });
    socket.on('data', (b) => parser.parse(b));
    socket.on('error', () => {});
    this.whenClosed = new Promise((r) =>
      socket.once('close', () => {
        this.closed = true;
        this.waiter?.();
        r();
      }),
    );
  }

  static async open(port: number, version: 4 | 5 = 4): Promise<RawMqtt> {
    const socket = connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new RawMqtt(socket, version);
  }

  send(p: Packet): void {
    this.socket.write(mqttPacket.generate(p, { protocolVersion: this.version }));
  }

  bytes(b: Buffer | number[]): void {
    this.socket.write(Buffer.from(b));
  }

  /** CONNECT and its CONNACK. */
  async connect(
    extra: Partial<mqttPacket.IConnectPacket> = {},
  ): Promise<mqttPacket.IConnackPacket> {
    this.send({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: this.version,
      clean: true,
      clientId: '',
      keepalive: 0,
      ...extra,
    } as mqttPacket.IConnectPacket);
    return (await this.next('connack')) as mqttPacket.IConnackPacket;
  }

  /** The next packet (of `cmd`, when given: others before it are skipped). */
  async next(cmd?: string, ms = 3000): Promise<Packet> {
    const deadline = Date.now() + ms;
    for (;;) {
      const i = this.packets.findIndex((p) => cmd === undefined || p.cmd === cmd);
      if (i >= 0) return this.packets.splice(i, 1)[0]!;
      if (this.closed) throw new Error(`closed while waiting for ${cmd ?? 'a packet'}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${cmd ?? 'packet'} within ${ms} ms`);
      await within(new Promise<void>((r) => (this.waiter = r)), left, cmd ?? 'a packet').catch(
        () => {},
      );
      this.waiter = null;
    }
  }

  /** Resolves when the node closes the connection; rejects past `ms`. */
  closedWithin(ms = 3000): Promise<void> {
    return within(this.whenClosed, ms, 'the node to close the connection');
  }

  /** Packets received and not yet taken. */
  get pending(): readonly Packet[] {
    return this.packets;
  }

  end(): void {
    this.socket.destroy();
  }
}
