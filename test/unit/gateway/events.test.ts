import { describe, expect, it } from 'vitest';
import { GatewayEventError } from '../../../lib/gateway/errors';
import {
  headerValue,
  parseAuthorizerEvent,
  parseAuthorizerResult,
  parseConnectEvent,
  parseDisconnectEvent,
  parseGatewayResult,
  parseMessageEvent,
  parseWebSocketEvent,
  type AuthorizerResult,
} from '../../../lib/gateway/events';

const context = {
  connectionId: 'L0SM9cOFvHcCIhw=',
  requestTimeEpoch: 1_700_000_000_123,
  requestTime: '14/Nov/2023:22:13:20 +0000',
  requestId: 'L0SM9FXwIAMFbzw=',
  extendedRequestId: 'L0SM9FXwIAMFbzw=',
  messageDirection: 'IN',
  domainName: 'abc123.execute-api.eu-west-1.amazonaws.com',
  stage: 'mqtt',
  connectedAt: 1_700_000_000_000,
  apiId: 'abc123',
  identity: { sourceIp: '203.0.113.7', userAgent: 'mqttjs' },
};

const connectEvent = {
  headers: { Host: context.domainName, 'Sec-WebSocket-Protocol': 'mqtt', 'X-Forwarded-For': '203.0.113.7' },
  multiValueHeaders: { Host: [context.domainName], 'Sec-WebSocket-Protocol': ['mqtt'] },
  queryStringParameters: { token: 'abc' },
  multiValueQueryStringParameters: { token: ['abc'] },
  requestContext: { ...context, routeKey: '$connect', eventType: 'CONNECT' },
  isBase64Encoded: false,
};

const messageEvent = {
  requestContext: { ...context, routeKey: '$default', eventType: 'MESSAGE', messageId: 'L0SNRc0mIAMCJxg=' },
  body: 'wAA=',
  isBase64Encoded: false,
};

const disconnectEvent = {
  headers: { Host: context.domainName },
  multiValueHeaders: { Host: [context.domainName] },
  requestContext: {
    ...context,
    routeKey: '$disconnect',
    eventType: 'DISCONNECT',
    disconnectStatusCode: 1005,
    disconnectReason: 'Client-side close frame status not set',
  },
  isBase64Encoded: false,
};

describe('API Gateway WebSocket events', () => {
  it('parses each route as AWS shapes it', () => {
    expect(parseConnectEvent(connectEvent).queryStringParameters).toEqual({ token: 'abc' });
    expect(parseMessageEvent(messageEvent).requestContext.messageId).toBe('L0SNRc0mIAMCJxg=');
    expect(parseDisconnectEvent(disconnectEvent).requestContext.disconnectStatusCode).toBe(1005);
  });

  it('dispatches on eventType', () => {
    expect(parseWebSocketEvent(connectEvent).requestContext.routeKey).toBe('$connect');
    expect(parseWebSocketEvent(messageEvent).requestContext.routeKey).toBe('$default');
    expect(parseWebSocketEvent(disconnectEvent).requestContext.routeKey).toBe('$disconnect');
  });

  it('accepts a $connect without a query string (null or absent)', () => {
    const { queryStringParameters: _q, multiValueQueryStringParameters: _m, ...rest } = connectEvent;
    expect(parseConnectEvent(rest).queryStringParameters).toBeUndefined();
    expect(parseConnectEvent({ ...rest, queryStringParameters: null }).queryStringParameters).toBeNull();
  });

  it.each([
    ['no connectionId', { ...messageEvent, requestContext: { ...messageEvent.requestContext, connectionId: undefined } }, 'requestContext.connectionId'],
    ['a numeric body', { ...messageEvent, body: 42 }, 'body'],
    ['no isBase64Encoded', { ...messageEvent, isBase64Encoded: undefined }, 'isBase64Encoded'],
    ['no messageId', { ...messageEvent, requestContext: { ...messageEvent.requestContext, messageId: undefined } }, 'requestContext.messageId'],
    ['the wrong route', { ...messageEvent, requestContext: { ...messageEvent.requestContext, routeKey: '$connect' } }, 'requestContext.routeKey'],
    ['no source ip', { ...messageEvent, requestContext: { ...messageEvent.requestContext, identity: {} } }, 'requestContext.identity.sourceIp'],
  ])('refuses a $default event with %s', (_name, event, path) => {
    const error = catchError(() => parseMessageEvent(event));
    expect(error).toBeInstanceOf(GatewayEventError);
    expect((error as GatewayEventError).issues.some((issue) => issue.startsWith(`${path}:`))).toBe(true);
  });

  it.each([[null], ['text'], [{}], [{ requestContext: { eventType: 'OTHER' } }]])('refuses %j as any event', (raw) => {
    expect(() => parseWebSocketEvent(raw)).toThrow(GatewayEventError);
  });

  it('validates integration results', () => {
    expect(parseGatewayResult({ statusCode: 200, headers: { 'Sec-WebSocket-Protocol': 'mqtt' } })).toEqual({
      statusCode: 200,
      headers: { 'Sec-WebSocket-Protocol': 'mqtt' },
    });
    expect(() => parseGatewayResult({ statusCode: '200' })).toThrow(GatewayEventError);
    expect(() => parseGatewayResult({ statusCode: 42 })).toThrow(GatewayEventError);
    expect(() => parseGatewayResult(undefined)).toThrow(GatewayEventError);
  });

  it('reads headers case-insensitively', () => {
    const event = parseConnectEvent(connectEvent);
    expect(headerValue(event, 'sec-websocket-protocol')).toBe('mqtt');
    expect(headerValue(event, 'x-forwarded-for')).toBe('203.0.113.7');
    expect(headerValue(event, 'authorization')).toBeUndefined();
  });
});

describe('REQUEST authorizer shapes', () => {
  const methodArn = 'arn:aws:execute-api:eu-west-1:123456789012:abc123/mqtt/$connect';
  const authorizer = { principalId: 'alice', integrationLatency: 41, auth: 'jwt', username: 'alice', groups: '[]', verified: true };
  const withAuthorizer = (value: unknown) => ({ ...connectEvent, requestContext: { ...connectEvent.requestContext, authorizer: value } });
  const allow = (resource: string, action: string | string[] = 'execute-api:Invoke'): AuthorizerResult => ({
    principalId: 'alice',
    policyDocument: { Version: '2012-10-17', Statement: [{ Action: action, Effect: 'Allow', Resource: resource }] },
  });

  it('keeps requestContext.authorizer of a $connect event (principalId and the context keys)', () => {
    expect(parseConnectEvent(withAuthorizer(authorizer)).requestContext.authorizer).toEqual(authorizer);
    expect(parseConnectEvent(connectEvent).requestContext.authorizer).toBeUndefined();
  });

  it.each([
    ['an object value', { principalId: 'a', nested: { x: 1 } }],
    ['an array value', { principalId: 'a', list: ['x'] }],
    ['a string', 'alice'],
  ])('refuses a $connect authorizer with %s', (_name, value) => {
    const error = catchError(() => parseConnectEvent(withAuthorizer(value)));
    expect((error as GatewayEventError).issues.some((issue) => issue.startsWith('requestContext.authorizer'))).toBe(true);
  });

  it('still strips unknown requestContext keys as before', () => {
    const event = { ...messageEvent, requestContext: { ...messageEvent.requestContext, somethingNew: 1 } };
    expect(parseMessageEvent(event).requestContext).not.toHaveProperty('somethingNew');
  });

  it('validates authorizer results: a policy, and a context of scalars only', () => {
    expect(parseAuthorizerResult({ ...allow(methodArn), context: { a: 'x', b: 1, c: true } }).context).toEqual({ a: 'x', b: 1, c: true });
    expect(() => parseAuthorizerResult({ ...allow(methodArn), context: { a: { b: 1 } } })).toThrow(GatewayEventError);
    expect(() => parseAuthorizerResult({ ...allow(methodArn), context: { a: ['x'] } })).toThrow(GatewayEventError);
    expect(() => parseAuthorizerResult({ principalId: 'a' })).toThrow(GatewayEventError);
    expect(() => parseAuthorizerResult({ ...allow(methodArn), policyDocument: { Version: '2012-10-17', Statement: [] } })).toThrow(GatewayEventError);
  });
});

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error');
}
