/**
 * A takeover of a connection that is gone at the gateway holds the old connection's will for that
 * connection's queued close (lib/runtime/effects/session.ts, `handOverWill`), so a DISCONNECT still
 * in its queue can discard it [MQTT-3.1.2-10]. When the hold's write is applied but its answer is
 * lost, the will must still be published exactly once [MQTT-3.1.2-8] (issue 13; the ten-minute
 * chaos run of 2026-12-06 published it twice: once from the held copy, once as a due will that
 * the CONNECT's abandoned claim left for the sweeper).
 * On the memory runtime, with the ordered ingress queue as the list `queueClose` fills.
 */
import { describe, expect, it } from 'vitest';
import { queuedCloseMessage, type IngressMessage } from '../../../lib/ingress-wire';
import type { ProtocolVersion, Will } from '../../../lib/mqtt';
import { createHandlers } from '../../../lib/runtime/handlers';
import { sweep } from '../../../lib/runtime/sweeper';
import type { RuntimeDeps } from '../../../lib/runtime/types';
import type { SessionStore } from '../../../lib/store/session-port';
import { timeoutError } from '../../helpers/faulty-dynamodb';
import { batch, close, frame, idOf } from '../../helpers/ingress-batch';
import { memoryRuntime } from '../../helpers/memory-runtime';
import { connectPacket } from '../../helpers/packets';

const WILL: Will = { topic: 'status/device', payload: Buffer.from('gone'), qos: 1, retain: false };

let n = 0;
/** A message `queueClose` sent, as the event source mapping hands it to the consumer. */
function received(message: IngressMessage): object {
  n++;
  return {
    messageId: `takeover-close-${n}`,
    receiptHandle: `r-takeover-close-${n}`,
    body: message.body,
    attributes: { MessageGroupId: message.groupId, MessageDeduplicationId: message.deduplicationId, ApproximateReceiveCount: '1', SentTimestamp: '1' },
    messageAttributes: Object.fromEntries(Object.entries(message.attributes).map(([name, value]) => [name, { stringValue: value, dataType: 'String' }])),
    eventSource: 'aws:sqs',
  };
}

/** The store with `holdWill` failing as a lost answer: applied, then a TimeoutError, `times` times. */
function holdAnswersLost(sessions: SessionStore, times: number): SessionStore {
  let left = times;
  return new Proxy(sessions, {
    get(target, property, receiver) {
      if (property !== 'holdWill') return Reflect.get(target, property, receiver) as unknown;
      return async (...args: Parameters<SessionStore['holdWill']>) => {
        const result = await target.holdWill(...args);
        if (left-- > 0) throw timeoutError('holdWill applied, response lost');
        return result;
      };
    },
  });
}

function setup(lostHolds: number) {
  const queued: IngressMessage[] = [];
  const wills: string[] = [];
  const queueClose: RuntimeDeps['queueClose'] = async (connectionId, cause, epochMs, clientId) => {
    queued.push(queuedCloseMessage(connectionId, cause, epochMs, clientId));
  };
  // The runtime's own deps queue the closes too: the eviction's post to the gone connection meets 410.
  const rt = memoryRuntime({ queueClose });
  const deps: RuntimeDeps = {
    ...rt.deps,
    sessions: holdAnswersLost(rt.deps.sessions, lostHolds),
    publishWill: async (_will, clientId) => {
      wills.push(clientId);
    },
  };
  return { rt, deps, handlers: createHandlers(deps), queued, wills };
}

/** Everything left to run: the queued closes (in order), then a sweep, until nothing is queued. */
async function drain(s: ReturnType<typeof setup>): Promise<void> {
  for (let round = 0; round < 5; round++) {
    while (s.queued.length > 0) {
      const answer = await s.handlers.ingress(batch(received(s.queued.shift() as IngressMessage)));
      expect(answer.batchItemFailures).toEqual([]);
    }
    await sweep(s.deps);
    if (s.queued.length === 0) return;
  }
}

describe.each([4, 5] as const)('protocol %i: a takeover of a gone connection whose will hold answered late', (version: ProtocolVersion) => {
  for (const lostHolds of [1, 3] as const) {
    it(`publishes the old connection's will once (${lostHolds} lost hold answer${lostHolds > 1 ? 's' : ''}) [MQTT-3.1.2-8]`, async () => {
      const s = setup(lostHolds);
      const old = await s.rt.connected(version, { clientId: 'device', will: WILL });
      await s.rt.delivery.close(old.id); // gone at the gateway; its close not handled yet
      const next = await s.rt.open(version);
      const connect = frame(next, [connectPacket(version, { clientId: 'device', clean: true })]);
      // The CONNECT is run again, in order, until it is handled (the event source mapping's retries).
      for (let attempt = 1; attempt <= 5; attempt++) {
        const answer = await s.handlers.ingress(batch(connect));
        if (answer.batchItemFailures.length === 0) break;
        expect(answer.batchItemFailures.map((f) => f.itemIdentifier)).toEqual([idOf(connect)]);
      }
      expect(next.take().map((p) => p.type)).toContain('connack');
      // The old connection's own close (API Gateway's `$disconnect`) comes too, behind its frames.
      await s.handlers.ingress(batch(close(old, 1006)));
      await drain(s);
      expect(s.wills).toEqual(['device']);
    });
  }

  it.each([0, 1])('does not publish the will when the old connection\'s DISCONNECT waited in its queue (%i lost hold answers) [MQTT-3.1.2-10]', async (lostHolds) => {
    const s = setup(lostHolds);
    const old = await s.rt.connected(version, { clientId: 'device', will: WILL });
    const disconnect = frame(old, [{ type: 'disconnect', ...(version === 5 ? { reasonCode: 0 } : {}) }]);
    await s.rt.delivery.close(old.id);
    const next = await s.rt.open(version);
    const connect = frame(next, [connectPacket(version, { clientId: 'device', clean: true })]);
    for (let attempt = 1; attempt <= 5; attempt++) {
      if ((await s.handlers.ingress(batch(connect))).batchItemFailures.length === 0) break;
    }
    await s.handlers.ingress(batch(disconnect, close(old, 1000)));
    await drain(s);
    expect(s.wills).toEqual([]);
  });
});
