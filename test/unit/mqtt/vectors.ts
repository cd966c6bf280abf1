/**
 * Annotated byte vectors: a packet object and its bytes, with a comment per field, for every
 * packet type in every version. Where the specifications give an example, the vector uses it
 * (marked "spec example"): the non-normative CONNECT and PUBLISH variable header examples of 3.1.1
 * and 5.0, the 3.1.1 SUBSCRIBE, SUBACK and UNSUBSCRIBE payload examples, the UTF-8 string example
 * of 5.0 section 1.5.4 and the Variable Byte Integer table (5.0 1.5.5, 3.1.1 2.2.3).
 *
 * Byte arrays are written field by field. For readability `str('ab')` stands for the UTF-8
 * string field [0x00, 0x02, 0x61, 0x62] (two-byte length, then the bytes) and `text('ab')` for the
 * bare bytes. The packet objects are canonical (see lib/mqtt/index.ts), with properties listed in
 * wire order, unless `decodeOnly` marks an alternative wire form that decodes to the same packet.
 */

import { str, text, type Vector } from './vector-format';

const utf8 = new TextEncoder();

/** Binary data as the packet model holds it. */
const bin = (...b: number[]): Uint8Array => new Uint8Array(b);
const binText = (s: string): Uint8Array => utf8.encode(s);

/** Packets whose bytes are identical in 3.1 (level 3) and 3.1.1 (level 4). */
const V4_BODY_VECTORS: Omit<Vector, 'version'>[] = [
  {
    name: 'CONNACK, session present, accepted',
    packet: { type: 'connack', sessionPresent: true, reasonCode: 0 },
    bytes: [
      0x20, 0x02, // CONNACK, remaining length 2
      0x01, // acknowledge flags: session present
      0x00, // return code 0: accepted
    ],
  },
  {
    name: 'CONNACK, refused: not authorized',
    packet: { type: 'connack', sessionPresent: false, reasonCode: 5 },
    bytes: [
      0x20, 0x02, // CONNACK, remaining length 2
      0x00, // acknowledge flags: no session
      0x05, // return code 5: not authorized
    ],
  },
  {
    name: 'PUBLISH QoS 1 (spec example: topic a/b, packet identifier 10)',
    packet: { type: 'publish', topic: 'a/b', payload: binText('hi'), qos: 1, retain: false, dup: false, packetId: 10 },
    bytes: [
      0x32, 0x09, // PUBLISH, flags DUP 0 QoS 1 RETAIN 0; remaining length 9
      ...str('a/b'), // topic name
      0x00, 0x0a, // packet identifier 10
      ...text('hi'), // payload
    ],
  },
  {
    name: 'PUBLISH QoS 0, retained, empty payload',
    packet: { type: 'publish', topic: 'a/b', payload: bin(), qos: 0, retain: true, dup: false },
    bytes: [
      0x31, 0x05, // PUBLISH, flags RETAIN; remaining length 5
      ...str('a/b'), // topic name; no packet identifier at QoS 0, empty payload
    ],
  },
  {
    name: 'PUBLISH QoS 2, DUP (spec example: UTF-8 topic "A\\u{2A6D4}")',
    packet: { type: 'publish', topic: 'A\u{2A6D4}', payload: bin(0xff), qos: 2, retain: false, dup: true, packetId: 0xffff },
    bytes: [
      0x3c, 0x0a, // PUBLISH, flags DUP 1 QoS 2 RETAIN 0; remaining length 10
      0x00, 0x05, 0x41, 0xf0, 0xaa, 0x9b, 0x94, // topic: length 5, 'A', U+2A6D4 as F0 AA 9B 94
      0xff, 0xff, // packet identifier 65535
      0xff, // payload
    ],
  },
  {
    name: 'PUBACK',
    packet: { type: 'puback', packetId: 10 },
    bytes: [0x40, 0x02, /* PUBACK, remaining length 2 */ 0x00, 0x0a /* packet identifier 10 */],
  },
  {
    name: 'PUBREC',
    packet: { type: 'pubrec', packetId: 10 },
    bytes: [0x50, 0x02, /* PUBREC, remaining length 2 */ 0x00, 0x0a /* packet identifier 10 */],
  },
  {
    name: 'PUBREL (fixed header flags 0b0010)',
    packet: { type: 'pubrel', packetId: 10 },
    bytes: [0x62, 0x02, /* PUBREL flags 0010, remaining length 2 */ 0x00, 0x0a /* packet identifier 10 */],
  },
  {
    name: 'PUBCOMP',
    packet: { type: 'pubcomp', packetId: 10 },
    bytes: [0x70, 0x02, /* PUBCOMP, remaining length 2 */ 0x00, 0x0a /* packet identifier 10 */],
  },
  {
    name: 'SUBSCRIBE (spec example: a/b QoS 1, c/d QoS 2)',
    packet: {
      type: 'subscribe',
      packetId: 10,
      subscriptions: [
        { topicFilter: 'a/b', qos: 1 },
        { topicFilter: 'c/d', qos: 2 },
      ],
    },
    bytes: [
      0x82, 0x0e, // SUBSCRIBE flags 0010, remaining length 14
      0x00, 0x0a, // packet identifier 10
      ...str('a/b'), 0x01, // topic filter, requested QoS 1
      ...str('c/d'), 0x02, // topic filter, requested QoS 2
    ],
  },
  {
    name: 'SUBACK (spec example: QoS 0, QoS 2, failure)',
    packet: { type: 'suback', packetId: 10, reasonCodes: [0x00, 0x02, 0x80] },
    bytes: [
      0x90, 0x05, // SUBACK, remaining length 5
      0x00, 0x0a, // packet identifier 10
      0x00, 0x02, 0x80, // return codes: granted QoS 0, granted QoS 2, failure
    ],
  },
  {
    name: 'UNSUBSCRIBE (spec example: a/b, c/d)',
    packet: { type: 'unsubscribe', packetId: 10, topicFilters: ['a/b', 'c/d'] },
    bytes: [
      0xa2, 0x0c, // UNSUBSCRIBE flags 0010, remaining length 12
      0x00, 0x0a, // packet identifier 10
      ...str('a/b'), // topic filter
      ...str('c/d'), // topic filter
    ],
  },
  {
    name: 'UNSUBACK (no payload before v5)',
    packet: { type: 'unsuback', packetId: 10, reasonCodes: [] },
    bytes: [0xb0, 0x02, /* UNSUBACK, remaining length 2 */ 0x00, 0x0a /* packet identifier 10 */],
  },
  { name: 'PINGREQ', packet: { type: 'pingreq' }, bytes: [0xc0, 0x00 /* PINGREQ, remaining length 0 */] },
  { name: 'PINGRESP', packet: { type: 'pingresp' }, bytes: [0xd0, 0x00 /* PINGRESP, remaining length 0 */] },
  { name: 'DISCONNECT', packet: { type: 'disconnect' }, bytes: [0xe0, 0x00 /* DISCONNECT, remaining length 0 */] },
];

const V3_VECTORS: Vector[] = [
  {
    name: '3.1 CONNECT with user name and password',
    version: 3,
    packet: {
      type: 'connect', protocolName: 'MQIsdp', protocolVersion: 3, clean: true, keepAlive: 60, clientId: 'abc',
      username: 'u', password: binText('p'),
    },
    bytes: [
      0x10, 0x17, // CONNECT, remaining length 23
      ...str('MQIsdp'), // protocol name
      0x03, // protocol level 3
      0xc2, // flags: user name, password, clean session
      0x00, 0x3c, // keep alive 60
      ...str('abc'), // client identifier
      ...str('u'), // user name
      0x00, 0x01, ...text('p'), // password
    ],
  },
  {
    name: '3.1 CONNECT, minimal',
    version: 3,
    packet: { type: 'connect', protocolName: 'MQIsdp', protocolVersion: 3, clean: false, keepAlive: 0, clientId: 'x' },
    bytes: [
      0x10, 0x0f, // CONNECT, remaining length 15
      ...str('MQIsdp'), // protocol name
      0x03, // protocol level 3
      0x00, // flags: none
      0x00, 0x00, // keep alive 0
      ...str('x'), // client identifier
    ],
  },
  ...V4_BODY_VECTORS.map((v) => ({ ...v, name: `3.1 ${v.name}`, version: 3 as const })),
];

const V4_VECTORS: Vector[] = [
  {
    name: '3.1.1 CONNECT (spec example: flags 0xCE, keep alive 10)',
    version: 4,
    packet: {
      type: 'connect', protocolName: 'MQTT', protocolVersion: 4, clean: true, keepAlive: 10, clientId: 'c1',
      will: { topic: 'w', payload: binText('bye'), qos: 1, retain: false },
      username: 'u', password: binText('pw'),
    },
    bytes: [
      0x10, 0x1d, // CONNECT, remaining length 29
      ...str('MQTT'), // protocol name
      0x04, // protocol level 4
      0xce, // flags: user name, password, will QoS 1, will flag, clean session
      0x00, 0x0a, // keep alive 10
      ...str('c1'), // client identifier
      ...str('w'), // will topic
      0x00, 0x03, ...text('bye'), // will payload
      ...str('u'), // user name
      0x00, 0x02, ...text('pw'), // password
    ],
  },
  {
    name: '3.1.1 CONNECT, empty client id, retained QoS 2 will',
    version: 4,
    packet: {
      type: 'connect', protocolName: 'MQTT', protocolVersion: 4, clean: true, keepAlive: 0xffff, clientId: '',
      will: { topic: 'w', payload: bin(), qos: 2, retain: true },
    },
    bytes: [
      0x10, 0x11, // CONNECT, remaining length 17
      ...str('MQTT'), // protocol name
      0x04, // protocol level 4
      0x36, // flags: will retain, will QoS 2, will flag, clean session
      0xff, 0xff, // keep alive 65535
      0x00, 0x00, // client identifier ''
      ...str('w'), // will topic
      0x00, 0x00, // will payload: empty
    ],
  },
  ...V4_BODY_VECTORS.map((v) => ({ ...v, name: `3.1.1 ${v.name}`, version: 4 as const })),
];

export { REMAINING_LENGTH_VECTORS, V5_VECTORS } from './vectors-v5';
export type { Vector } from './vector-format';
export { V3_VECTORS, V4_VECTORS };
