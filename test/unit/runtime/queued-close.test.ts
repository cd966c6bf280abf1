/**
 * A close the broker finds itself (the sweeper's 410, an expired Keep Alive, no CONNECT) goes into
 * the connection's group of the ordered ingress queue, behind the frames the connection sent:
 * a DISCONNECT still queued is handled first, and its will is not published [MQTT-3.1.2-10]
 * [MQTT-3.14.4-3]; without one, the queued close publishes it [MQTT-3.1.2-8] (issue 13).
 * On the memory runtime; the queue is the list `queueClose` fills, handed to the consumer as
 * Lambda's event source mapping would.
 */
import { describe, expect, it } from 'vitest';
import { parseIngressEvent } from '../../../lib/gateway/ingress';
import { sqsQueueClose } from '../../../lib/gateway/ingress-sender';
import { INGRESS_ATTRIBUTES, queuedCloseMessage, type IngressMessage } from '../../../lib/ingress-wire';
import type { ProtocolVersion, Will } from '../../../lib/mqtt';
import { createHandlers } from '../../../lib/runtime/handlers';
import { sweep } from '../../../lib/runtime/sweeper';
import type { RuntimeDeps } from '../../../lib/runtime/types';
import { batch, frame } from '../../helpers/ingress-batch';
import { memoryRuntime } from '../../helpers/memory-runtime';

const WILL: Will = { topic: 'status/device', payload: Buffer.from('gone'), qos: 1, retain: false };

let n = 0;
/** A message `queueClose` sent, as the event source mapping hands it to the consumer. */
function received(message: IngressMessage): object {
  n++;
  return {
    messageId: `close-${n}`,
    receiptHandle: `r-close-${n}`,
    body: message.body,
    attributes: { MessageGroupId: message.groupId, MessageDeduplicationId: message.deduplicationId, ApproximateReceiveCount: '1', SentTimestamp: '1' },
    messageAttributes: Object.fromEntries(Object.entries(message.attributes).map(([name, value]) => [name, { stringValue: value, dataType: 'String' }])),
    eventSource: 'aws:sqs',
  };
}

function setup() {
  const rt = memoryRuntime();
  const queued: IngressMessage[] = [];
  const wills: string[] = [];
  const deps: RuntimeDeps = {
    ...rt.deps,
    publishWill: async (_will, clientId) => {
      wills.push(clientId);
    },
    queueClose: async (connectionId, cause, epochMs) => {
      queued.push(queuedCloseMessage(connectionId, cause, epochMs));
    },
  };
  return { rt, deps, handlers: createHandlers(deps), queued, wills };
}

describe.each([4, 5] as const)('protocol %i: the sweeper queues the close of a gone connection', (version: ProtocolVersion) => {
  it('behind a queued DISCONNECT: the will is not published [MQTT-3.1.2-10] [MQTT-3.14.4-3]', async () => {
    const { rt, deps, handlers, queued, wills } = setup();
    const device = await rt.connected(version, { will: WILL });
    // The client sent DISCONNECT and closed; its frame still waits in the queue.
    const disconnect = frame(device, [{ type: 'disconnect', ...(version === 5 ? { reasonCode: 0 } : {}) }]);
    await rt.delivery.close(device.id);
    const report = await sweep(deps);
    expect(report.closed.gone).toBe(1);
    expect(queued.map((m) => [m.groupId, m.attributes[INGRESS_ATTRIBUTES.closeCause]])).toEqual([[device.id, 'gone']]);
    // Nothing ran yet: the record and the session wait for the queue.
    expect(wills).toEqual([]);
    expect(await rt.stores.connections.get(device.id)).toBeDefined();
    const answer = await handlers.ingress(batch(disconnect, received(queued[0])));
    expect(answer.batchItemFailures).toEqual([]);
    expect(wills).toEqual([]);
    expect(await rt.stores.connections.get(device.id)).toBeUndefined();
  });

  it('with no DISCONNECT queued: the queued close publishes the will once [MQTT-3.1.2-8]', async () => {
    const { rt, deps, handlers, queued, wills } = setup();
    const device = await rt.connected(version, { clientId: 'lost-device', will: WILL });
    await rt.delivery.close(device.id);
    await sweep(deps);
    await handlers.ingress(batch(received(queued[0])));
    expect(wills).toEqual(['lost-device']);
    expect(await rt.stores.connections.get(device.id)).toBeUndefined();
    // The next sweep finds nothing left.
    await sweep(deps);
    expect(queued).toHaveLength(1);
  });

  it('an expired record (past API Gateway\'s 2 hours) runs the disconnect path at once: no frame of it can wait', async () => {
    const { rt, deps, queued, wills } = setup();
    await rt.connected(version, { clientId: 'old-device', will: WILL, keepAlive: 0 });
    rt.advance(3 * 3600 * 1000);
    const report = await sweep(deps);
    expect(report.closed.expired).toBe(1);
    expect(queued).toEqual([]);
    expect(wills).toEqual(['old-device']);
  });
});

describe('the queued close on the wire', () => {
  it('is a DISCONNECT of the connection\'s group with its cause, one per cause and millisecond', () => {
    const message = queuedCloseMessage('abc=', 'gone', 1_800_000_000_000);
    expect(message.deduplicationId).toBe(queuedCloseMessage('abc=', 'gone', 1_800_000_000_000).deduplicationId);
    expect(message.deduplicationId).not.toBe(queuedCloseMessage('abc=', 'gone', 1_800_000_000_001).deduplicationId);
    expect(message.deduplicationId).not.toBe(queuedCloseMessage('abc=', 'keep-alive-expired', 1_800_000_000_000).deduplicationId);
    const { records, invalid } = parseIngressEvent(batch(received(message)));
    expect(invalid).toEqual([]);
    expect(records).toEqual([expect.objectContaining({ type: 'DISCONNECT', connectionId: 'abc=', cause: 'gone', requestTimeEpoch: 1_800_000_000_000 })]);
  });

  it('is sent with SendMessage to the ingress queue, every attribute a String', async () => {
    const sent: unknown[] = [];
    const queueClose = sqsQueueClose('https://sqs.eu-west-1.amazonaws.com/123456789012/ingress.fifo', {
      send: async (command: { input: unknown }) => {
        sent.push(command.input);
        return {};
      },
    } as never);
    await queueClose('abc=', 'gone', 1_800_000_000_000);
    expect(sent).toEqual([
      {
        QueueUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/ingress.fifo',
        MessageGroupId: 'abc=',
        MessageDeduplicationId: 'close-gone-1800000000000',
        MessageBody: 'DISCONNECT',
        MessageAttributes: {
          stratusEventType: { DataType: 'String', StringValue: 'DISCONNECT' },
          stratusRequestTimeEpoch: { DataType: 'String', StringValue: '1800000000000' },
          stratusDisconnectStatusCode: { DataType: 'String', StringValue: 'code:' },
          stratusCloseCause: { DataType: 'String', StringValue: 'gone' },
        },
      },
    ]);
  });
});
