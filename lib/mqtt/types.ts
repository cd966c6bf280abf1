/**
 * MQTT packet model shared by the codec, the broker core, the gateway and the client side.
 *
 * Conventions
 * - `protocolVersion` is the CONNECT protocol level: 3 (MQTT 3.1, "MQIsdp"), 4 (3.1.1), 5 (5.0).
 * - Binary data is always `Uint8Array` (a Node `Buffer` is one too); the codec never needs Node.
 * - `reasonCode` is the byte as it stands on the wire for the packet's version. For a v3/v4
 *   CONNACK that is the 3.1.1 return code (0..5); `reason-codes.ts` maps v5 codes to it.
 * - `properties` exist only in v5. The codec enforces the per-packet allow list.
 */

export type ProtocolVersion = 3 | 4 | 5;
export type QoS = 0 | 1 | 2;
export type UserProperty = [name: string, value: string];

/** Every MQTT 5.0 property (section 2.2.2.2), keyed by a camelCase name. */
export interface Properties {
  /** 0x01 Byte */
  payloadFormatIndicator?: number;
  /** 0x02 Four Byte Integer */
  messageExpiryInterval?: number;
  /** 0x03 UTF-8 String */
  contentType?: string;
  /** 0x08 UTF-8 String */
  responseTopic?: string;
  /** 0x09 Binary Data */
  correlationData?: Uint8Array;
  /** 0x0B Variable Byte Integer; may repeat in PUBLISH, at most one in SUBSCRIBE */
  subscriptionIdentifiers?: number[];
  /** 0x11 Four Byte Integer */
  sessionExpiryInterval?: number;
  /** 0x12 UTF-8 String */
  assignedClientIdentifier?: string;
  /** 0x13 Two Byte Integer */
  serverKeepAlive?: number;
  /** 0x15 UTF-8 String */
  authenticationMethod?: string;
  /** 0x16 Binary Data */
  authenticationData?: Uint8Array;
  /** 0x17 Byte */
  requestProblemInformation?: number;
  /** 0x18 Four Byte Integer */
  willDelayInterval?: number;
  /** 0x19 Byte */
  requestResponseInformation?: number;
  /** 0x1A UTF-8 String */
  responseInformation?: string;
  /** 0x1C UTF-8 String */
  serverReference?: string;
  /** 0x1F UTF-8 String */
  reasonString?: string;
  /** 0x21 Two Byte Integer */
  receiveMaximum?: number;
  /** 0x22 Two Byte Integer */
  topicAliasMaximum?: number;
  /** 0x23 Two Byte Integer */
  topicAlias?: number;
  /** 0x24 Byte */
  maximumQoS?: number;
  /** 0x25 Byte */
  retainAvailable?: number;
  /** 0x26 UTF-8 String Pair; may repeat, order preserved [MQTT-3.3.2-18] */
  userProperties?: UserProperty[];
  /** 0x27 Four Byte Integer */
  maximumPacketSize?: number;
  /** 0x28 Byte */
  wildcardSubscriptionAvailable?: number;
  /** 0x29 Byte */
  subscriptionIdentifiersAvailable?: number;
  /** 0x2A Byte */
  sharedSubscriptionAvailable?: number;
}

export interface Will {
  topic: string;
  payload: Uint8Array;
  qos: QoS;
  retain: boolean;
  /** v5 will properties (Will Delay Interval, Message Expiry, Content Type, ...) */
  properties?: Properties;
}

export interface ConnectPacket {
  type: 'connect';
  /** 'MQIsdp' for protocol level 3, 'MQTT' for 4 and 5 */
  protocolName: 'MQTT' | 'MQIsdp';
  protocolVersion: ProtocolVersion;
  /** Clean Session (3.1/3.1.1) or Clean Start (5.0) */
  clean: boolean;
  keepAlive: number;
  clientId: string;
  username?: string;
  password?: Uint8Array;
  will?: Will;
  properties?: Properties;
}

export interface ConnackPacket {
  type: 'connack';
  sessionPresent: boolean;
  /** v5 reason code, or the 3.1.1 return code for v3/v4 */
  reasonCode: number;
  properties?: Properties;
}

export interface PublishPacket {
  type: 'publish';
  /** May be '' in v5 when a Topic Alias stands for it */
  topic: string;
  payload: Uint8Array;
  qos: QoS;
  retain: boolean;
  dup: boolean;
  /** Present exactly when qos > 0 */
  packetId?: number;
  properties?: Properties;
}

/** PUBACK, PUBREC, PUBREL and PUBCOMP share one shape. */
export interface AckPacket<T extends 'puback' | 'pubrec' | 'pubrel' | 'pubcomp'> {
  type: T;
  packetId: number;
  /** v5 only; 0 when absent on the wire */
  reasonCode?: number;
  properties?: Properties;
}
export type PubackPacket = AckPacket<'puback'>;
export type PubrecPacket = AckPacket<'pubrec'>;
export type PubrelPacket = AckPacket<'pubrel'>;
export type PubcompPacket = AckPacket<'pubcomp'>;

export interface Subscription {
  topicFilter: string;
  /** Maximum QoS requested */
  qos: QoS;
  /** v5 subscription options */
  noLocal?: boolean;
  retainAsPublished?: boolean;
  retainHandling?: 0 | 1 | 2;
}

export interface SubscribePacket {
  type: 'subscribe';
  packetId: number;
  subscriptions: Subscription[];
  properties?: Properties;
}

export interface SubackPacket {
  type: 'suback';
  packetId: number;
  /** One per requested filter: granted QoS (0..2) or a failure code (0x80 in 3.1.1; v5 codes) */
  reasonCodes: number[];
  properties?: Properties;
}

export interface UnsubscribePacket {
  type: 'unsubscribe';
  packetId: number;
  topicFilters: string[];
  properties?: Properties;
}

export interface UnsubackPacket {
  type: 'unsuback';
  packetId: number;
  /** v5 only: one per filter. Empty for v3/v4, whose UNSUBACK has no payload. */
  reasonCodes: number[];
  properties?: Properties;
}

export interface PingreqPacket {
  type: 'pingreq';
}

export interface PingrespPacket {
  type: 'pingresp';
}

export interface DisconnectPacket {
  type: 'disconnect';
  /** v5 only; 0 when absent on the wire */
  reasonCode?: number;
  properties?: Properties;
}

/** v5 only */
export interface AuthPacket {
  type: 'auth';
  reasonCode?: number;
  properties?: Properties;
}

export type Packet =
  | ConnectPacket
  | ConnackPacket
  | PublishPacket
  | PubackPacket
  | PubrecPacket
  | PubrelPacket
  | PubcompPacket
  | SubscribePacket
  | SubackPacket
  | UnsubscribePacket
  | UnsubackPacket
  | PingreqPacket
  | PingrespPacket
  | DisconnectPacket
  | AuthPacket;

export type PacketType = Packet['type'];

/** Control packet type numbers (fixed header, bits 7-4). */
export const PACKET_TYPE_CODES = {
  connect: 1,
  connack: 2,
  publish: 3,
  puback: 4,
  pubrec: 5,
  pubrel: 6,
  pubcomp: 7,
  subscribe: 8,
  suback: 9,
  unsubscribe: 10,
  unsuback: 11,
  pingreq: 12,
  pingresp: 13,
  disconnect: 14,
  auth: 15,
} as const satisfies Record<PacketType, number>;
