/**
 * The local gateway's ordered ingress: frames and closes become messages of the connection's group
 * in the emulated SQS FIFO queue, written as API Gateway's request templates write them
 * (lib/ingress-wire.ts), and reach the `ingress` handler as Lambda's SQS events.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DISCONNECT_BODY } from '../../../lib/ingress-wire';
import { b64, cleanup, openClient, startGateway } from './helpers';

afterEach(cleanup);

/** A 3-byte packet carrying `i` (type byte, Remaining Length 1, i): the echo posts whole packets only. */
const packet = (i: number) => Buffer.from([0xc0, 0x01, i]);
const pingWith = (i: number) => b64(packet(i));

describe('local gateway, ordered ingress', () => {
  it('writes each frame as a message of the connection group, with the wire contract attributes', async () => {
    const { address, recorder } = await startGateway({ strict: true, ingress: 'ordered' });
    const client = await openClient(address.url);
    const before = Date.now();
    client.ws.send(pingWith(1));
    expect(await client.bytes(3)).toEqual(packet(1));
    const connectionId = recorder.connects[0]!.requestContext.connectionId;
    const [record] = recorder.batches[0]!.Records;
    expect(record).toMatchObject({
      body: pingWith(1),
      attributes: { MessageGroupId: connectionId, ApproximateReceiveCount: '1' },
      messageAttributes: {
        stratusEventType: { stringValue: 'MESSAGE', dataType: 'String' },
        stratusRequestTimeEpoch: { dataType: 'String' },
      },
      eventSource: 'aws:sqs',
    });
    expect(record!.messageAttributes.stratusBinary).toBeUndefined();
    expect(record!.attributes.MessageDeduplicationId).toMatch(/^[A-Za-z0-9+/=]{16}$/);
    expect(recorder.records[0]).toMatchObject({ type: 'MESSAGE', connectionId, isBase64Encoded: false });
    expect(recorder.records[0]!.requestTimeEpoch).toBeGreaterThanOrEqual(before);
    expect(recorder.messages).toEqual([]);
  });

  it("handles one connection's frames in order, even under jitter", async () => {
    const { address, recorder } = await startGateway({ strict: true, ingress: 'ordered', jitterMs: 20 });
    const client = await openClient(address.url);
    for (let i = 0; i < 30; i += 1) client.ws.send(pingWith(i));
    const bytes = await client.bytes(90);
    expect([...bytes].filter((_, i) => i % 3 === 2)).toEqual([...Array(30).keys()]);
    expect(recorder.batches.length).toBeLessThan(30); // frames share batches
  });

  it('writes a close as a DISCONNECT message behind the frames, with its status code', async () => {
    const { address, recorder } = await startGateway({ strict: true, ingress: 'ordered' });
    const client = await openClient(address.url);
    client.ws.send(pingWith(7));
    client.ws.close(1000);
    await client.closed;
    await recorder.until(() => recorder.records.some((r) => r.type === 'DISCONNECT'));
    expect(recorder.records.map((r) => r.type)).toEqual(['MESSAGE', 'DISCONNECT']);
    expect(recorder.records[1]).toMatchObject({ disconnectStatusCode: 1000 });
    const close = recorder.batches.flatMap((b) => b.Records).find((r) => r.body === DISCONNECT_BODY);
    expect(close?.messageAttributes.stratusDisconnectStatusCode?.stringValue).toBe('code:1000');
    expect(recorder.disconnects).toEqual([]);
  });

  it('still drops closes at the drop rate', async () => {
    const { address, gateway, recorder } = await startGateway({ strict: true, ingress: 'ordered', dropDisconnectRate: 1 });
    const client = await openClient(address.url);
    client.ws.close(1000);
    await client.closed;
    await recorder.until(() => recorder.logs.some((l) => l.msg === '$disconnect dropped'));
    await gateway.stop();
    expect(recorder.records).toEqual([]);
  });

  it('lenient mode: a binary frame is sent as base64 with the stratusBinary attribute, and answered in binary', async () => {
    const { address, recorder } = await startGateway({ strict: false, ingress: 'ordered' });
    const client = await openClient(address.url);
    client.ws.send(Buffer.from([0xc0, 0x00]), { binary: true });
    expect(await client.bytes(2)).toEqual(Buffer.from([0xc0, 0x00]));
    expect(Buffer.isBuffer(client.received[0])).toBe(true);
    expect(recorder.batches[0]!.Records[0]).toMatchObject({ body: 'wAA=', messageAttributes: { stratusBinary: { stringValue: 'true' } } });
    expect(recorder.records[0]).toMatchObject({ isBase64Encoded: true });
  });

  it('retries a batch whose handler threw, after the visibility timeout, with the receive count raised', async () => {
    let calls = 0;
    const counts: string[] = [];
    const { address, recorder } = await startGateway({ strict: true, ingress: 'ordered', visibilityTimeoutMs: 50 }, undefined, {
      ingress: async (event) => {
        counts.push(...event.Records.map((r) => r.attributes.ApproximateReceiveCount));
        const call = calls++;
        recorder.notify();
        if (call === 0) throw new Error('function error');
        return { batchItemFailures: [] };
      },
    });
    const client = await openClient(address.url);
    client.ws.send(pingWith(1));
    await recorder.until(() => calls === 2);
    expect(counts).toEqual(['1', '2']);
    expect(recorder.logs.some((l) => l.msg === 'ingress handler failed: the whole batch is retried')).toBe(true);
    await client.ws.close();
  });

  it('moves a message that always fails to the dead-letter list, and logs it', async () => {
    const { address, gateway, recorder } = await startGateway(
      { strict: true, ingress: 'ordered', visibilityTimeoutMs: 10, maxReceiveCount: 3 },
      undefined,
      { ingress: async (event) => ({ batchItemFailures: event.Records.map((r) => ({ itemIdentifier: r.messageId })) }) },
    );
    const client = await openClient(address.url);
    client.ws.send(pingWith(9));
    await recorder.until(() => gateway.deadLetters().length === 1);
    expect(gateway.deadLetters()[0]).toMatchObject({ receiveCount: 3, send: { body: pingWith(9) } });
    expect(recorder.logs.find((l) => l.msg === 'ingress message moved to the dead-letter queue')).toMatchObject({ level: 'error', receiveCount: 3 });
  });

  it('stop() closes clients with 1001 and waits until their closes are handled', async () => {
    const { address, gateway, recorder } = await startGateway({ strict: true, ingress: 'ordered' });
    const clients = [await openClient(address.url), await openClient(address.url)];
    await gateway.stop();
    expect(recorder.records.filter((r) => r.type === 'DISCONNECT').map((r) => r.disconnectStatusCode)).toEqual([1001, 1001]);
    for (const client of clients) expect((await client.closed).code).toBe(1001);
  });

  it('an empty frame is refused by the queue, as SQS refuses an empty body: dropped and logged', async () => {
    const { address, recorder } = await startGateway({ strict: true, ingress: 'ordered' });
    const client = await openClient(address.url);
    client.ws.send('');
    client.ws.send(pingWith(3));
    expect(await client.bytes(3)).toEqual(packet(3));
    expect(recorder.records).toHaveLength(1);
    expect(recorder.logs.some((l) => l.msg === 'ingress message refused by the queue: dropped')).toBe(true);
  });
});
