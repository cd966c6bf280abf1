/**
 * A fake `@connections` endpoint at the HTTP level, plugged into the real SDK client as its
 * request handler: the SDK's serialisation, signing and error parsing all run; nothing touches the
 * network. Answers like API Gateway: 410 GoneException for unknown ids, 429 when told to throttle.
 */
import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';

interface FakeRequest {
  readonly method: string;
  readonly path: string;
  readonly body?: unknown;
}

interface FakeConnection {
  readonly chunks: Buffer[];
  readonly connectedAt: Date;
}

export class FakeManagementApi {
  readonly connections = new Map<string, FakeConnection>();
  /** Per id: statuses to answer the next requests with, in order (200: behave normally), before behaving normally. */
  readonly scripted = new Map<string, number[]>();
  readonly requests: { method: string; connectionId: string }[] = [];

  client(): ApiGatewayManagementApiClient {
    return new ApiGatewayManagementApiClient({
      endpoint: 'https://fake.execute-api.eu-west-1.amazonaws.com/mqtt',
      region: 'eu-west-1',
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
      maxAttempts: 1,
      requestHandler: { handle: (request: FakeRequest) => this.handle(request) },
    });
  }

  private async handle(request: FakeRequest): Promise<{ response: unknown }> {
    const match = /^\/mqtt\/@connections\/([^/]+)$/.exec(request.path);
    if (match === null) return reply(404, { message: 'Not Found' });
    const connectionId = decodeURIComponent(match[1] as string);
    this.requests.push({ method: request.method, connectionId });
    const scripted = this.scripted.get(connectionId)?.shift();
    if (scripted !== undefined && scripted !== 200) return reply(scripted, { message: null }, errorType(scripted));
    const connection = this.connections.get(connectionId);
    if (connection === undefined) return reply(410, { message: null }, 'GoneException');
    switch (request.method) {
      case 'POST':
        connection.chunks.push(Buffer.from(request.body as string | Uint8Array));
        return reply(200);
      case 'DELETE':
        this.connections.delete(connectionId);
        return reply(204);
      default:
        return reply(200, {
          connectedAt: connection.connectedAt.toISOString(),
          lastActiveAt: new Date().toISOString(),
          identity: { sourceIp: '198.51.100.1', userAgent: 'fake' },
        });
    }
  }
}

function errorType(status: number): string {
  const types: Record<number, string> = {
    403: 'ForbiddenException',
    410: 'GoneException',
    413: 'PayloadTooLargeException',
    429: 'LimitExceededException',
  };
  return types[status] ?? 'InternalServerErrorException';
}

function reply(statusCode: number, body?: unknown, type?: string): { response: unknown } {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (type !== undefined) headers['x-amzn-errortype'] = type;
  const payload = body === undefined ? new Uint8Array(0) : new TextEncoder().encode(JSON.stringify(body));
  return { response: { statusCode, headers, body: payload } };
}
