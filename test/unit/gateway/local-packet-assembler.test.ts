import { describe, expect, it } from 'vitest';
import { PacketAssembler } from '../../../lib/local/packet-assembler';

// CONNECT, 3.1.1, client id "a": as MQTT.js writes it, a field per frame
const connect = Buffer.from([
  0x10, 0x0d, //                         CONNECT, remaining length 13
  0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, // "MQTT"
  0x04, //                               protocol level 4
  0x02, //                               flags: clean session
  0x00, 0x3c, //                         keep alive 60
  0x00, 0x01, 0x61, //                   client id "a"
]);
const pingreq = Buffer.from([0xc0, 0x00]);

describe('PacketAssembler (lenient mode) [MQTT-6.0.0-2]', () => {
  it('holds back a packet until it is whole', () => {
    const assembler = new PacketAssembler();
    expect(assembler.push(connect.subarray(0, 1))).toBeUndefined();
    expect(assembler.push(connect.subarray(1, 8))).toBeUndefined();
    expect(assembler.push(connect.subarray(8))).toEqual(connect);
    expect(assembler.pendingBytes).toBe(0);
  });

  it('passes several packets of one frame together, keeping a trailing part', () => {
    const assembler = new PacketAssembler();
    expect(assembler.push(Buffer.concat([connect, pingreq, pingreq.subarray(0, 1)]))).toEqual(
      Buffer.concat([connect, pingreq]),
    );
    expect(assembler.pendingBytes).toBe(1);
    expect(assembler.push(pingreq.subarray(1))).toEqual(pingreq);
  });

  it('reads multi-byte remaining lengths', () => {
    const publish = Buffer.concat([Buffer.from([0x30, 0x80, 0x01]), Buffer.alloc(128)]); // 128 bytes
    const assembler = new PacketAssembler();
    expect(assembler.push(publish.subarray(0, 2))).toBeUndefined();
    expect(assembler.push(publish.subarray(2, 100))).toBeUndefined();
    expect(assembler.push(publish.subarray(100))).toEqual(publish);
  });

  it('passes a malformed remaining length on, for the codec to refuse', () => {
    const bad = Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]);
    expect(new PacketAssembler().push(bad)).toEqual(bad);
  });

  it('passes a non-minimal remaining length on at once, for the codec to refuse', () => {
    const padded = Buffer.from([0x30, 0x85, 0x00]); // PUBLISH, remaining length 5 in two bytes, no body yet
    expect(new PacketAssembler().push(padded)).toEqual(padded);
  });
});
