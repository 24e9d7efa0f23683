/**
 * INTERIM: the few calls the session makes into the codec (codec.ts, branch
 * h-mqttwire) until it is merged; this file is deleted then. Nothing else
 * imports mqtt-packet.
 */
import mqttPacket from 'mqtt-packet';

export type Packet = mqttPacket.Packet;

/** A parse failure: what MQTT 5 says in the DISCONNECT that closes (0x81 malformed, 0x95 too large). */
export interface PacketError {
  readonly reasonCode: number;
  readonly message: string;
}

export interface PacketReader {
  /** Parses what arrived; stops at the first error. */
  feed(chunk: Buffer): void;
  stop(): void;
}

/** A parser of client packets with a bound on the packet size. */
export function packetReader(
  maxPacketSize: number,
  onPacket: (p: Packet) => void,
  onError: (e: PacketError) => void,
): PacketReader {
  const parser = mqttPacket.parser({});
  let stopped = false;
  parser.on('packet', (p: Packet) => {
    if (!stopped) onPacket(p);
  });
  parser.on('error', (err: Error) => {
    if (stopped) return;
    stopped = true;
    onError({ reasonCode: 0x81, message: err.message });
  });
  // The remaining length is known before the body is buffered: check it there.
  const inner = parser as unknown as {
    _parseLength(): boolean;
    packet: { length: number };
    _emitError(e: Error): void;
  };
  const parseLength = inner._parseLength.bind(parser);
  inner._parseLength = () => {
    const ok = parseLength();
    if (ok && inner.packet.length + 5 > maxPacketSize && !stopped) {
      stopped = true;
      onError({
        reasonCode: 0x95,
        message: `packet of ${inner.packet.length} bytes exceeds the maximum packet size ${maxPacketSize}`,
      });
      inner._emitError(new Error('packet too large'));
      return false;
    }
    return ok;
  };
  return {
    feed(chunk) {
      if (!stopped) parser.parse(chunk);
    },
    stop() {
      stopped = true;
    },
  };
}

/** Encodes one packet for a client of `version` (4: 3.1.1, 5: 5.0). */
export function encodePacket(p: Packet, version: 4 | 5): Buffer {
  return mqttPacket.generate(p, { protocolVersion: version });
}
