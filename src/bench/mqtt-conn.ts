/**
 * One raw MQTT 3.1.1 connection of the load generator: a socket, a packet
 * scanner, CONNECT/CONNACK, SUBSCRIBE/SUBACK, and PINGREQ/PINGRESP as the
 * round trip that says "the server has handled everything written before it"
 * (a server handles one connection's packets in order). No client library:
 * the generator must outrun the server (MQTT.js cannot).
 */

import net from 'node:net';
import {
  connectPacket,
  MqttScanner,
  PINGREQ,
  pubackPacket,
  type ScannerEvents,
  subscribePacket,
} from './mqtt-wire.js';
import { SocketConn } from './socket-conn.js';

export interface MqttAddress {
  host: string;
  port: number;
  /** Source address (127.0.0.x): one address has only ~28,000 ephemeral ports. */
  localAddress?: string;
}

type Waiter = { resolve: (v: number) => void; reject: (e: Error) => void };

export class MqttBenchConn extends SocketConn {
  /** Called for every PUBLISH received (after a QoS 1 one is acknowledged). */
  onPublish: (qos: number) => void = () => {};
  onPuback: (id: number) => void = () => {};
  private readonly scanner: MqttScanner;
  private readonly connack: Waiter[] = [];
  private readonly suback: Waiter[] = [];
  private readonly pingresp: Waiter[] = [];
  /** PUBACKs owed for the current read, written with one call after it. */
  private acks: Buffer[] = [];

  private constructor(socket: net.Socket) {
    super(socket);
    const events: ScannerEvents = {
      onConnack: (rc) => this.connack.shift()?.resolve(rc),
      onSuback: (granted) => this.suback.shift()?.resolve(granted),
      onPublish: (qos, id) => {
        if (qos === 1) this.acks.push(pubackPacket(id));
        this.onPublish(qos);
      },
      onPuback: (id) => this.onPuback(id),
      onPingresp: () => this.pingresp.shift()?.resolve(0),
      onDisconnect: () => this.errors.push('server sent DISCONNECT'),
      onProtocolError: (text) => {
        this.errors.push(text);
        socket.destroy();
      },
    };
    this.scanner = new MqttScanner(events);
    socket.on('data', (chunk: Buffer) => {
      this.scanner.push(chunk);
      if (this.acks.length > 0 && !this.closed) {
        socket.write(this.acks.length === 1 ? this.acks[0] : Buffer.concat(this.acks));
        this.acks = [];
      }
    });
  }

  protected rejectWaiters(why: string): void {
    for (const list of [this.connack, this.suback, this.pingresp])
      for (const w of list.splice(0)) w.reject(new Error(why));
  }

  /** Connects and resolves once CONNACK accepted the connection. */
  static async open(
    addr: MqttAddress,
    clientId: string,
    timeoutMs = 10_000,
  ): Promise<MqttBenchConn> {
    const socket = net.connect({
      host: addr.host,
      port: addr.port,
      ...(addr.localAddress !== undefined ? { localAddress: addr.localAddress } : {}),
    });
    const conn = new MqttBenchConn(socket);
    const timer = setTimeout(() => {
      conn.errors.push(`no CONNACK within ${timeoutMs} ms`);
      socket.destroy();
    }, timeoutMs);
    try {
      const rc = conn.wait(conn.connack);
      socket.write(connectPacket(clientId));
      const code = await rc;
      if (code !== 0) throw new Error(`CONNACK return code ${code}`);
    } catch (err) {
      socket.destroy();
      throw new Error(`MQTT connect to ${addr.host}:${addr.port}: ${(err as Error).message}`);
    } finally {
      clearTimeout(timer);
    }
    return conn;
  }

  /** SUBSCRIBE and wait for its SUBACK; throws if the server refused it. */
  async subscribe(filter: string, qos: 0 | 1): Promise<void> {
    const granted = this.wait(this.suback);
    this.socket.write(subscribePacket(1, filter, qos));
    const g = await granted;
    if (g === 0x80) throw new Error(`SUBSCRIBE ${filter} refused`);
  }

  /** Resolves when the server answers a PINGREQ sent now. */
  async flush(): Promise<void> {
    const r = this.wait(this.pingresp);
    this.socket.write(PINGREQ);
    await r;
  }

  private wait(list: Waiter[]): Promise<number> {
    if (this.closed) return Promise.reject(new Error(this.closeReason()));
    return new Promise((resolve, reject) => list.push({ resolve, reject }));
  }
}
