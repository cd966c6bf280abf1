/**
 * The local gateway's emulation of what API Gateway does around a REQUEST authorizer: the event it
 * builds from a `$connect` request, and its IAM evaluation of the returned policy.
 */
import { describe, expect, it } from 'vitest';
import { GatewayEventError } from '../../../lib/gateway/errors';
import { parseAuthorizerEvent, parseConnectEvent, type AuthorizerResult } from '../../../lib/gateway/events';
import { authorizerEventOf, policyAllows } from '../../../lib/local/authorizer';

const methodArn = 'arn:aws:execute-api:eu-west-1:123456789012:abc123/mqtt/$connect';

const connectEvent = {
  headers: { Host: 'abc123.execute-api.eu-west-1.amazonaws.com', 'Sec-WebSocket-Protocol': 'mqtt' },
  multiValueHeaders: { Host: ['abc123.execute-api.eu-west-1.amazonaws.com'], 'Sec-WebSocket-Protocol': ['mqtt'] },
  queryStringParameters: { token: 'abc' },
  multiValueQueryStringParameters: { token: ['abc'] },
  requestContext: {
    connectionId: 'L0SM9cOFvHcCIhw=',
    requestTimeEpoch: 1_700_000_000_123,
    domainName: 'abc123.execute-api.eu-west-1.amazonaws.com',
    stage: 'mqtt',
    connectedAt: 1_700_000_000_000,
    apiId: 'abc123',
    identity: { sourceIp: '203.0.113.7', userAgent: 'mqttjs' },
    routeKey: '$connect',
    eventType: 'CONNECT',
    authorizer: { principalId: 'alice', integrationLatency: 41, auth: 'jwt' },
  },
  isBase64Encoded: false,
};

const allow = (resource: string, action: string | string[] = 'execute-api:Invoke'): AuthorizerResult => ({
  principalId: 'alice',
  policyDocument: { Version: '2012-10-17', Statement: [{ Action: action, Effect: 'Allow', Resource: resource }] },
});

describe('local REQUEST authorizer emulation', () => {
  it('builds the authorizer event API Gateway sends for a $connect request, and it validates', () => {
    const event = authorizerEventOf(parseConnectEvent(connectEvent), methodArn);
    expect(event).toMatchObject({ type: 'REQUEST', methodArn, queryStringParameters: { token: 'abc' }, headers: connectEvent.headers });
    expect(event.requestContext).not.toHaveProperty('authorizer');
    expect(parseAuthorizerEvent(event)).toEqual(event);
    expect(() => parseAuthorizerEvent({ ...event, type: 'TOKEN' })).toThrow(GatewayEventError);
    expect(() => parseAuthorizerEvent({ ...event, methodArn: undefined })).toThrow(GatewayEventError);
  });

  it('evaluates the policy like IAM: wildcards, explicit Deny wins, nothing matching is a deny', () => {
    expect(policyAllows(allow(methodArn), methodArn)).toBe(true);
    expect(policyAllows(allow('arn:aws:execute-api:eu-west-1:123456789012:abc123/*'), methodArn)).toBe(true);
    expect(policyAllows(allow(methodArn, ['execute-api:*']), methodArn)).toBe(true);
    expect(policyAllows(allow(methodArn, 'EXECUTE-API:invoke'), methodArn)).toBe(true);
    expect(policyAllows(allow('arn:aws:execute-api:eu-west-1:123456789012:other/*'), methodArn)).toBe(false);
    expect(policyAllows(allow(methodArn, 's3:GetObject'), methodArn)).toBe(false);
    const denied = allow('*');
    denied.policyDocument.Statement.push({ Action: '*', Effect: 'Deny', Resource: methodArn });
    expect(policyAllows(denied, methodArn)).toBe(false);
  });
});
