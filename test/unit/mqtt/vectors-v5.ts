/**
 * MQTT 5.0 byte vectors (see vectors.ts for the notation). Properties are listed in wire order.
 */

import { str, text, type Vector } from './vector-format';

const bin = (...b: number[]): Uint8Array => new Uint8Array(b);
const binText = (s: string): Uint8Array => new TextEncoder().encode(s);

const CONNECT_VECTORS: Vector[] = [
  {
    name: '5.0 CONNECT (spec example: flags 0xCE, keep alive 10, session expiry 10)',
    version: 5,
    packet: {
      type: 'connect', protocolName: 'MQTT', protocolVersion: 5, clean: true, keepAlive: 10, clientId: 'c1',
      properties: { sessionExpiryInterval: 10 },
      will: { topic: 'w', payload: binText('bye'), qos: 1, retain: false, properties: { willDelayInterval: 5 } },
      username: 'u', password: binText('pw'),
    },
    bytes: [
      0x10, 0x29, // CONNECT, remaining length 41
      ...str('MQTT'), // protocol name
      0x05, // protocol version 5
      0xce, // flags: user name, password, will QoS 1, will flag, clean start
      0x00, 0x0a, // keep alive 10
      0x05, // property length 5
      0x11, 0x00, 0x00, 0x00, 0x0a, // session expiry interval 10
      ...str('c1'), // client identifier
      0x05, // will property length 5
      0x18, 0x00, 0x00, 0x00, 0x05, // will delay interval 5
      ...str('w'), // will topic
      0x00, 0x03, ...text('bye'), // will payload
      ...str('u'), // user name
      0x00, 0x02, ...text('pw'), // password
    ],
  },
  {
    name: '5.0 CONNECT, password without user name (allowed in v5), no properties',
    version: 5,
    packet: {
      type: 'connect', protocolName: 'MQTT', protocolVersion: 5, clean: true, keepAlive: 0, clientId: '',
      password: bin(1, 2),
    },
    bytes: [
      0x10, 0x11, // CONNECT, remaining length 17
      ...str('MQTT'), // protocol name
      0x05, // protocol version 5
      0x42, // flags: password, clean start
      0x00, 0x00, // keep alive 0
      0x00, // property length 0
      0x00, 0x00, // client identifier ''
      0x00, 0x02, 0x01, 0x02, // password
    ],
  },
];

const CONNACK_VECTORS: Vector[] = [
  {
    name: '5.0 CONNACK with properties',
    version: 5,
    packet: {
      type: 'connack', sessionPresent: false, reasonCode: 0,
      properties: { receiveMaximum: 20, maximumQoS: 1, assignedClientIdentifier: 'id' },
    },
    bytes: [
      0x20, 0x0d, // CONNACK, remaining length 13
      0x00, // acknowledge flags: no session
      0x00, // reason code Success
      0x0a, // property length 10
      0x21, 0x00, 0x14, // receive maximum 20
      0x24, 0x01, // maximum QoS 1
      0x12, ...str('id'), // assigned client identifier 'id'
    ],
  },
  {
    name: '5.0 CONNACK, refused: not authorized',
    version: 5,
    packet: { type: 'connack', sessionPresent: false, reasonCode: 0x87 },
    bytes: [
      0x20, 0x03, // CONNACK, remaining length 3
      0x00, // acknowledge flags
      0x87, // reason code Not authorized
      0x00, // property length 0
    ],
  },
];

const PUBLISH_VECTORS: Vector[] = [
  {
    name: '5.0 PUBLISH QoS 1 (spec example: topic a/b, packet identifier 10, no properties)',
    version: 5,
    packet: { type: 'publish', topic: 'a/b', payload: binText('hi'), qos: 1, retain: false, dup: false, packetId: 10 },
    bytes: [
      0x32, 0x0a, // PUBLISH, QoS 1; remaining length 10
      ...str('a/b'), // topic name
      0x00, 0x0a, // packet identifier 10
      0x00, // property length 0
      ...text('hi'), // payload
    ],
  },
  {
    name: '5.0 PUBLISH QoS 0, retained, every message property',
    version: 5,
    packet: {
      type: 'publish', topic: 't', payload: bin(0xff), qos: 0, retain: true, dup: false,
      properties: {
        payloadFormatIndicator: 0,
        messageExpiryInterval: 3600,
        contentType: 'ct',
        responseTopic: 'r',
        correlationData: bin(1, 2),
        userProperties: [['k', 'v'], ['k', 'w']],
        subscriptionIdentifiers: [1, 128],
        topicAlias: 5,
      },
    },
    bytes: [
      0x31, 0x30, // PUBLISH, RETAIN; remaining length 48
      ...str('t'), // topic name
      0x2b, // property length 43
      0x01, 0x00, // payload format indicator 0
      0x02, 0x00, 0x00, 0x0e, 0x10, // message expiry interval 3600
      0x03, ...str('ct'), // content type
      0x08, ...str('r'), // response topic
      0x09, 0x00, 0x02, 0x01, 0x02, // correlation data
      0x26, ...str('k'), ...str('v'), // user property k=v
      0x26, ...str('k'), ...str('w'), // user property k=w (repeated, order kept)
      0x0b, 0x01, // subscription identifier 1
      0x0b, 0x80, 0x01, // subscription identifier 128 (two-byte VBI)
      0x23, 0x00, 0x05, // topic alias 5
      0xff, // payload
    ],
  },
];

const ACK_VECTORS: Vector[] = [
  {
    name: '5.0 PUBACK, Success in the short form',
    version: 5,
    packet: { type: 'puback', packetId: 10, reasonCode: 0 },
    bytes: [0x40, 0x02, /* PUBACK, remaining length 2 */ 0x00, 0x0a /* packet identifier 10 */],
  },
  {
    name: '5.0 PUBACK, No matching subscribers',
    version: 5,
    packet: { type: 'puback', packetId: 10, reasonCode: 0x10 },
    bytes: [0x40, 0x03, /* PUBACK, remaining length 3 */ 0x00, 0x0a, /* packet identifier */ 0x10 /* reason */],
  },
  {
    name: '5.0 PUBACK, Success written with reason code and empty properties',
    version: 5,
    decodeOnly: true,
    packet: { type: 'puback', packetId: 10, reasonCode: 0 },
    bytes: [
      0x40, 0x04, // PUBACK, remaining length 4
      0x00, 0x0a, // packet identifier 10
      0x00, // reason code Success
      0x00, // property length 0
    ],
  },
  {
    name: '5.0 PUBREC with a reason string',
    version: 5,
    packet: { type: 'pubrec', packetId: 10, reasonCode: 0x80, properties: { reasonString: 'no' } },
    bytes: [
      0x50, 0x09, // PUBREC, remaining length 9
      0x00, 0x0a, // packet identifier 10
      0x80, // reason code Unspecified error
      0x05, // property length 5
      0x1f, ...str('no'), // reason string
    ],
  },
  {
    name: '5.0 PUBREL, Packet Identifier not found',
    version: 5,
    packet: { type: 'pubrel', packetId: 10, reasonCode: 0x92 },
    bytes: [0x62, 0x03, /* PUBREL flags 0010, remaining length 3 */ 0x00, 0x0a, /* packet id */ 0x92 /* reason */],
  },
  {
    name: '5.0 PUBCOMP, Success',
    version: 5,
    packet: { type: 'pubcomp', packetId: 10, reasonCode: 0 },
    bytes: [0x70, 0x02, /* PUBCOMP, remaining length 2 */ 0x00, 0x0a /* packet identifier 10 */],
  },
];

const SUBSCRIBE_VECTORS: Vector[] = [
  {
    name: '5.0 SUBSCRIBE with options and properties',
    version: 5,
    packet: {
      type: 'subscribe', packetId: 10,
      properties: { subscriptionIdentifiers: [7], userProperties: [['a', 'b']] },
      subscriptions: [
        { topicFilter: 'a/b', qos: 1, noLocal: true, retainAsPublished: false, retainHandling: 0 },
        { topicFilter: 'c/#', qos: 2, noLocal: false, retainAsPublished: true, retainHandling: 2 },
      ],
    },
    bytes: [
      0x82, 0x18, // SUBSCRIBE flags 0010, remaining length 24
      0x00, 0x0a, // packet identifier 10
      0x09, // property length 9
      0x0b, 0x07, // subscription identifier 7
      0x26, ...str('a'), ...str('b'), // user property a=b
      ...str('a/b'), 0x05, // filter; options: QoS 1, No Local
      ...str('c/#'), 0x2a, // filter; options: QoS 2, Retain As Published, Retain Handling 2
    ],
  },
  {
    name: '5.0 SUBACK with a reason string',
    version: 5,
    packet: { type: 'suback', packetId: 10, properties: { reasonString: 'ok' }, reasonCodes: [0x00, 0x02, 0x8f, 0xa2] },
    bytes: [
      0x90, 0x0c, // SUBACK, remaining length 12
      0x00, 0x0a, // packet identifier 10
      0x05, // property length 5
      0x1f, ...str('ok'), // reason string
      0x00, 0x02, 0x8f, 0xa2, // granted QoS 0, granted QoS 2, topic filter invalid, wildcards not supported
    ],
  },
  {
    name: '5.0 UNSUBSCRIBE',
    version: 5,
    packet: { type: 'unsubscribe', packetId: 10, topicFilters: ['a/b', 'c/d'] },
    bytes: [
      0xa2, 0x0d, // UNSUBSCRIBE flags 0010, remaining length 13
      0x00, 0x0a, // packet identifier 10
      0x00, // property length 0
      ...str('a/b'), // topic filter
      ...str('c/d'), // topic filter
    ],
  },
  {
    name: '5.0 UNSUBACK',
    version: 5,
    packet: { type: 'unsuback', packetId: 10, reasonCodes: [0x00, 0x11] },
    bytes: [
      0xb0, 0x05, // UNSUBACK, remaining length 5
      0x00, 0x0a, // packet identifier 10
      0x00, // property length 0
      0x00, 0x11, // Success, No subscription existed
    ],
  },
];

const CONTROL_VECTORS: Vector[] = [
  { name: '5.0 PINGREQ', version: 5, packet: { type: 'pingreq' }, bytes: [0xc0, 0x00 /* PINGREQ, length 0 */] },
  { name: '5.0 PINGRESP', version: 5, packet: { type: 'pingresp' }, bytes: [0xd0, 0x00 /* PINGRESP, length 0 */] },
  {
    name: '5.0 DISCONNECT, Normal disconnection in the short form',
    version: 5,
    packet: { type: 'disconnect', reasonCode: 0 },
    bytes: [0xe0, 0x00 /* DISCONNECT, remaining length 0 */],
  },
  {
    name: '5.0 DISCONNECT with Will Message, no properties',
    version: 5,
    packet: { type: 'disconnect', reasonCode: 0x04 },
    bytes: [0xe0, 0x01, /* DISCONNECT, remaining length 1 */ 0x04 /* Disconnect with Will Message */],
  },
  {
    name: '5.0 DISCONNECT, Use another server, with properties',
    version: 5,
    packet: { type: 'disconnect', reasonCode: 0x9c, properties: { sessionExpiryInterval: 0, serverReference: 'x' } },
    bytes: [
      0xe0, 0x0b, // DISCONNECT, remaining length 11
      0x9c, // reason code Use another server
      0x09, // property length 9
      0x11, 0x00, 0x00, 0x00, 0x00, // session expiry interval 0
      0x1c, ...str('x'), // server reference
    ],
  },
  {
    name: '5.0 DISCONNECT, reason code and empty properties',
    version: 5,
    decodeOnly: true,
    packet: { type: 'disconnect', reasonCode: 0 },
    bytes: [0xe0, 0x02, /* DISCONNECT, remaining length 2 */ 0x00, /* Normal */ 0x00 /* property length 0 */],
  },
  {
    name: '5.0 AUTH, Success in the short form',
    version: 5,
    packet: { type: 'auth', reasonCode: 0 },
    bytes: [0xf0, 0x00 /* AUTH, remaining length 0 */],
  },
  {
    name: '5.0 AUTH, Continue authentication',
    version: 5,
    packet: {
      type: 'auth', reasonCode: 0x18,
      properties: { authenticationMethod: 'SCRAM', authenticationData: bin(1, 2, 3) },
    },
    bytes: [
      0xf0, 0x10, // AUTH, remaining length 16
      0x18, // reason code Continue authentication
      0x0e, // property length 14
      0x15, ...str('SCRAM'), // authentication method
      0x16, 0x00, 0x03, 0x01, 0x02, 0x03, // authentication data
    ],
  },
  {
    name: '5.0 AUTH, Re-authenticate without properties',
    version: 5,
    packet: { type: 'auth', reasonCode: 0x19 },
    bytes: [0xf0, 0x02, /* AUTH, remaining length 2 */ 0x19, /* Re-authenticate */ 0x00 /* property length 0 */],
  },
];

export const V5_VECTORS: Vector[] = [
  ...CONNECT_VECTORS,
  ...CONNACK_VECTORS,
  ...PUBLISH_VECTORS,
  ...ACK_VECTORS,
  ...SUBSCRIBE_VECTORS,
  ...CONTROL_VECTORS,
];

/**
 * Remaining Length boundaries from the Variable Byte Integer table (5.0 1.5.5 / 3.1.1 2.2.3):
 * a QoS 0 PUBLISH to topic 'a' (3 bytes) with a payload of `length - 3` zero bytes.
 */
export const REMAINING_LENGTH_VECTORS: { length: number; encoded: number[] }[] = [
  { length: 127, encoded: [0x7f] },
  { length: 128, encoded: [0x80, 0x01] },
  { length: 16_383, encoded: [0xff, 0x7f] },
  { length: 16_384, encoded: [0x80, 0x80, 0x01] },
  { length: 2_097_151, encoded: [0xff, 0xff, 0x7f] },
  { length: 2_097_152, encoded: [0x80, 0x80, 0x80, 0x01] },
];
