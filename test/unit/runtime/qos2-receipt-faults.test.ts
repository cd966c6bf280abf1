/**
 * The inbound QoS 2 receipt when its own write fails (issue 13, the every-class chaos run's lost
 * QoS 2 publish): the whole runtime on the memory stores, the message store's `receiveQos2`
 * failing once. Each scenario runs for 3.1.1 and 5.0.
 *
 * The receipt is the store's record that a PUBLISH was received; with it a resend is a duplicate
 * and is not routed again [MQTT-4.3.3-10]. A receipt write that was applied but whose answer was
 * lost (a TimeoutError after the write) leaves the handler failing before the message is routed:
 * the frame is retried (ordered ingress) or the client resends the PUBLISH on its next connection
 * [MQTT-4.4.0-1]. That retry must route the message, once: a PUBREC for a message routed to nobody
 * is a message lost (the publisher gets PUBCOMP, every subscriber misses it). And a receipt write
 * that failed without being applied, for a resend of a message already routed, must not undo the
 * original's receipt: the resend stays a duplicate.
 */
import { describe, expect, it } from 'vitest';
import type { Packet, ProtocolVersion, PublishPacket } from '../../../lib/mqtt';
import type { MessageStore } from '../../../lib/store/message-port';
import { batch, frame } from '../../helpers/ingress-batch';
import { ackPacket, memoryRuntime, persistentSession, publishPacket } from '../../helpers/memory-runtime';

const VERSIONS: ProtocolVersion[] = [4, 5];

const payloads = (packets: Packet[]) =>
  packets.filter((p): p is PublishPacket => p.type === 'publish').map((p) => new TextDecoder().decode(p.payload));

/** Makes `receiveQos2` fail once: after its write was applied (`applied`), or before it. */
function failReceiptOnce(store: MessageStore, applied: boolean): { fired: () => boolean } {
  const real = store.receiveQos2.bind(store);
  let fired = false;
  store.receiveQos2 = async (...args) => {
    if (fired) return real(...args);
    fired = true;
    if (applied) await real(...args);
    throw Object.assign(new Error('injected: receipt write timed out'), { name: 'TimeoutError' });
  };
  return { fired: () => fired };
}

async function scene(version: ProtocolVersion) {
  const rt = memoryRuntime();
  const sub = await rt.connected(version, { clientId: 'sub', ...persistentSession(version) });
  await sub.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'plant/#', qos: 2 }] });
  sub.take();
  const session = { clientId: 'press', ...persistentSession(version) };
  return { rt, sub, session };
}

describe.each(VERSIONS)('a QoS 2 receipt write that fails, protocol %i', (version) => {
  it('applied, its answer lost (ordered ingress): the frame\'s retry routes the message once [MQTT-4.3.3-10] [MQTT-4.3.3-8]', async () => {
    const { rt, sub, session } = await scene(version);
    const pub = await rt.connected(version, session);
    const fault = failReceiptOnce(rt.stores.messages, true);
    const result = await rt.handlers.ingress(batch(frame(pub, [publishPacket('plant/temp', 'once', 2, { packetId: 5 })])));
    expect(fault.fired()).toBe(true);
    expect(result.batchItemFailures).toEqual([]); // absorbed by the try in place
    expect(pub.take().map((p) => p.type)).toEqual(['pubrec']);
    expect(payloads(sub.take())).toEqual(['once']);
  });

  it('applied, its answer lost (direct ingress): the resend on the next connection routes the message once [MQTT-4.4.0-1] [MQTT-4.3.3-10]', async () => {
    const { rt, sub, session } = await scene(version);
    const pub = await rt.connected(version, session);
    failReceiptOnce(rt.stores.messages, true);
    const original = publishPacket('plant/temp', 'once', 2, { packetId: 5 });
    await pub.send(original);
    expect(pub.closedByServer).toBe(true); // v5 DISCONNECT 0x83; 3.1.1 close
    expect(payloads(sub.take())).toEqual([]);
    await pub.close();
    const next = await rt.connected(version, session);
    await next.send({ ...original, dup: true });
    expect(next.take().map((p) => p.type)).toEqual(['pubrec']);
    await next.send(ackPacket('pubrel', 5, version));
    expect(payloads(sub.take())).toEqual(['once']);
  });

  it('not applied, for a resend of a message already routed: the resend stays a duplicate, not routed again [MQTT-4.3.3-10]', async () => {
    const { rt, sub, session } = await scene(version);
    const pub = await rt.connected(version, session);
    const original = publishPacket('plant/temp', 'once', 2, { packetId: 5 });
    await pub.send(original); // routed; its PUBREC is lost with the connection
    expect(payloads(sub.take())).toEqual(['once']);
    await pub.close();
    const next = await rt.connected(version, session);
    failReceiptOnce(rt.stores.messages, false);
    const result = await rt.handlers.ingress(batch(frame(next, [{ ...original, dup: true }])));
    expect(result.batchItemFailures).toEqual([]);
    expect(next.take().map((p) => p.type)).toEqual(['pubrec']);
    await next.send(ackPacket('pubrel', 5, version));
    expect(payloads(sub.take())).toEqual([]);
  });
});
