/**
 * MQTT 5.0 reason codes (section 2.4) and the packets that may carry each one, plus the mapping
 * between v5 CONNACK reason codes and 3.1.1 CONNACK return codes (section 3.2.2.3 of 3.1.1).
 */

import type { PacketType } from './types';

/** Named constants for every MQTT 5.0 reason code. Several names share a value (0x00..0x02). */
export const ReasonCode = {
  Success: 0x00,
  NormalDisconnection: 0x00,
  GrantedQoS0: 0x00,
  GrantedQoS1: 0x01,
  GrantedQoS2: 0x02,
  DisconnectWithWillMessage: 0x04,
  NoMatchingSubscribers: 0x10,
  NoSubscriptionExisted: 0x11,
  ContinueAuthentication: 0x18,
  ReAuthenticate: 0x19,
  UnspecifiedError: 0x80,
  MalformedPacket: 0x81,
  ProtocolError: 0x82,
  ImplementationSpecificError: 0x83,
  UnsupportedProtocolVersion: 0x84,
  ClientIdentifierNotValid: 0x85,
  BadUserNameOrPassword: 0x86,
  NotAuthorized: 0x87,
  ServerUnavailable: 0x88,
  ServerBusy: 0x89,
  Banned: 0x8a,
  ServerShuttingDown: 0x8b,
  BadAuthenticationMethod: 0x8c,
  KeepAliveTimeout: 0x8d,
  SessionTakenOver: 0x8e,
  TopicFilterInvalid: 0x8f,
  TopicNameInvalid: 0x90,
  PacketIdentifierInUse: 0x91,
  PacketIdentifierNotFound: 0x92,
  ReceiveMaximumExceeded: 0x93,
  TopicAliasInvalid: 0x94,
  PacketTooLarge: 0x95,
  MessageRateTooHigh: 0x96,
  QuotaExceeded: 0x97,
  AdministrativeAction: 0x98,
  PayloadFormatInvalid: 0x99,
  RetainNotSupported: 0x9a,
  QoSNotSupported: 0x9b,
  UseAnotherServer: 0x9c,
  ServerMoved: 0x9d,
  SharedSubscriptionsNotSupported: 0x9e,
  ConnectionRateExceeded: 0x9f,
  MaximumConnectTime: 0xa0,
  SubscriptionIdentifiersNotSupported: 0xa1,
  WildcardSubscriptionsNotSupported: 0xa2,
} as const;

/** The packet types whose variable header carries a reason code in v5. */
export type ReasonCodePacketType = Extract<
  PacketType,
  'connack' | 'puback' | 'pubrec' | 'pubrel' | 'pubcomp' | 'suback' | 'unsuback' | 'disconnect' | 'auth'
>;

export interface ReasonCodeInfo {
  readonly value: number;
  readonly name: string;
  readonly packets: readonly ReasonCodePacketType[];
}

const ACKS_FAIL = ['connack', 'puback', 'pubrec', 'suback', 'unsuback', 'disconnect'] as const;

/** Table 2-6 of MQTT 5.0: every reason code, its name(s) and the packets that may carry it. */
export const REASON_CODES: readonly ReasonCodeInfo[] = [
  { value: 0x00, name: 'Success', packets: ['connack', 'puback', 'pubrec', 'pubrel', 'pubcomp', 'unsuback', 'auth'] },
  { value: 0x00, name: 'Normal disconnection', packets: ['disconnect'] },
  { value: 0x00, name: 'Granted QoS 0', packets: ['suback'] },
  { value: 0x01, name: 'Granted QoS 1', packets: ['suback'] },
  { value: 0x02, name: 'Granted QoS 2', packets: ['suback'] },
  { value: 0x04, name: 'Disconnect with Will Message', packets: ['disconnect'] },
  { value: 0x10, name: 'No matching subscribers', packets: ['puback', 'pubrec'] },
  { value: 0x11, name: 'No subscription existed', packets: ['unsuback'] },
  { value: 0x18, name: 'Continue authentication', packets: ['auth'] },
  { value: 0x19, name: 'Re-authenticate', packets: ['auth'] },
  { value: 0x80, name: 'Unspecified error', packets: ACKS_FAIL },
  { value: 0x81, name: 'Malformed Packet', packets: ['connack', 'disconnect'] },
  { value: 0x82, name: 'Protocol Error', packets: ['connack', 'disconnect'] },
  { value: 0x83, name: 'Implementation specific error', packets: ACKS_FAIL },
  { value: 0x84, name: 'Unsupported Protocol Version', packets: ['connack'] },
  { value: 0x85, name: 'Client Identifier not valid', packets: ['connack'] },
  { value: 0x86, name: 'Bad User Name or Password', packets: ['connack'] },
  { value: 0x87, name: 'Not authorized', packets: ACKS_FAIL },
  { value: 0x88, name: 'Server unavailable', packets: ['connack'] },
  { value: 0x89, name: 'Server busy', packets: ['connack', 'disconnect'] },
  { value: 0x8a, name: 'Banned', packets: ['connack'] },
  { value: 0x8b, name: 'Server shutting down', packets: ['disconnect'] },
  { value: 0x8c, name: 'Bad authentication method', packets: ['connack', 'disconnect'] },
  { value: 0x8d, name: 'Keep Alive timeout', packets: ['disconnect'] },
  { value: 0x8e, name: 'Session taken over', packets: ['disconnect'] },
  { value: 0x8f, name: 'Topic Filter invalid', packets: ['suback', 'unsuback', 'disconnect'] },
  { value: 0x90, name: 'Topic Name invalid', packets: ['connack', 'puback', 'pubrec', 'disconnect'] },
  { value: 0x91, name: 'Packet Identifier in use', packets: ['puback', 'pubrec', 'suback', 'unsuback'] },
  { value: 0x92, name: 'Packet Identifier not found', packets: ['pubrel', 'pubcomp'] },
  { value: 0x93, name: 'Receive Maximum exceeded', packets: ['disconnect'] },
  { value: 0x94, name: 'Topic Alias invalid', packets: ['disconnect'] },
  { value: 0x95, name: 'Packet too large', packets: ['connack', 'disconnect'] },
  { value: 0x96, name: 'Message rate too high', packets: ['disconnect'] },
  { value: 0x97, name: 'Quota exceeded', packets: ['connack', 'puback', 'pubrec', 'suback', 'disconnect'] },
  { value: 0x98, name: 'Administrative action', packets: ['disconnect'] },
  { value: 0x99, name: 'Payload format invalid', packets: ['connack', 'puback', 'pubrec', 'disconnect'] },
  { value: 0x9a, name: 'Retain not supported', packets: ['connack', 'disconnect'] },
  { value: 0x9b, name: 'QoS not supported', packets: ['connack', 'disconnect'] },
  { value: 0x9c, name: 'Use another server', packets: ['connack', 'disconnect'] },
  { value: 0x9d, name: 'Server moved', packets: ['connack', 'disconnect'] },
  { value: 0x9e, name: 'Shared Subscriptions not supported', packets: ['suback', 'disconnect'] },
  { value: 0x9f, name: 'Connection rate exceeded', packets: ['connack', 'disconnect'] },
  { value: 0xa0, name: 'Maximum connect time', packets: ['disconnect'] },
  { value: 0xa1, name: 'Subscription Identifiers not supported', packets: ['suback', 'disconnect'] },
  { value: 0xa2, name: 'Wildcard Subscriptions not supported', packets: ['suback', 'disconnect'] },
];

/** For each packet type, a 256-entry lookup: 1 where the code is valid for that packet. */
const VALID: Record<ReasonCodePacketType, Uint8Array> = buildValidity();

function buildValidity(): Record<ReasonCodePacketType, Uint8Array> {
  const types: ReasonCodePacketType[] = [
    'connack', 'puback', 'pubrec', 'pubrel', 'pubcomp', 'suback', 'unsuback', 'disconnect', 'auth',
  ];
  const out = {} as Record<ReasonCodePacketType, Uint8Array>;
  for (const t of types) out[t] = new Uint8Array(256);
  for (const info of REASON_CODES) for (const t of info.packets) out[t][info.value] = 1;
  return out;
}

/** True when `code` is a v5 reason code that `packetType` may carry. */
export function isValidReasonCode(packetType: ReasonCodePacketType, code: number): boolean {
  return code >= 0 && code <= 255 && VALID[packetType][code] === 1;
}

/** The name of a v5 reason code as the given packet type uses it ('Normal disconnection', ...). */
export function reasonCodeName(code: number, packetType?: ReasonCodePacketType): string | undefined {
  let fallback: string | undefined;
  for (const info of REASON_CODES) {
    if (info.value !== code) continue;
    if (packetType === undefined || info.packets.includes(packetType)) return info.name;
    fallback ??= info.name;
  }
  return fallback;
}

/** 3.1.1 CONNACK return codes (3.1.1 section 3.2.2.3). */
export const ConnackReturnCode = {
  Accepted: 0,
  UnacceptableProtocolVersion: 1,
  IdentifierRejected: 2,
  ServerUnavailable: 3,
  BadUserNameOrPassword: 4,
  NotAuthorized: 5,
} as const;

/**
 * Maps a v5 CONNACK reason code to the 3.1.1 return code a v3/v4 client understands. Failures
 * without a 3.1.1 counterpart (0x80 Unspecified error, 0x97 Quota exceeded, ...) become 3 Server
 * unavailable: the nearest "try again later" answer. (In 3.1.1 a Malformed Packet or Protocol
 * Error gets no CONNACK at all; the caller closes instead.)
 */
export function toV4ConnackReturnCode(reasonCode: number): number {
  switch (reasonCode) {
    case ReasonCode.Success:
      return ConnackReturnCode.Accepted;
    case ReasonCode.UnsupportedProtocolVersion:
      return ConnackReturnCode.UnacceptableProtocolVersion;
    case ReasonCode.ClientIdentifierNotValid:
      return ConnackReturnCode.IdentifierRejected;
    case ReasonCode.BadUserNameOrPassword:
    case ReasonCode.BadAuthenticationMethod:
      return ConnackReturnCode.BadUserNameOrPassword;
    case ReasonCode.NotAuthorized:
    case ReasonCode.Banned:
      return ConnackReturnCode.NotAuthorized;
    default:
      return ConnackReturnCode.ServerUnavailable;
  }
}

/** Maps a 3.1.1 CONNACK return code to the v5 reason code with the same meaning. */
export function fromV4ConnackReturnCode(returnCode: number): number {
  switch (returnCode) {
    case ConnackReturnCode.Accepted:
      return ReasonCode.Success;
    case ConnackReturnCode.UnacceptableProtocolVersion:
      return ReasonCode.UnsupportedProtocolVersion;
    case ConnackReturnCode.IdentifierRejected:
      return ReasonCode.ClientIdentifierNotValid;
    case ConnackReturnCode.ServerUnavailable:
      return ReasonCode.ServerUnavailable;
    case ConnackReturnCode.BadUserNameOrPassword:
      return ReasonCode.BadUserNameOrPassword;
    case ConnackReturnCode.NotAuthorized:
      return ReasonCode.NotAuthorized;
    default:
      return ReasonCode.UnspecifiedError;
  }
}
