/**
 * The MQTT-level checks, with the real client (MQTT.js over the Stratus transport): QoS 1 and
 * QoS 2 round trips, a burst that must arrive in order, and a will on an abrupt close (whose
 * client is raw `ws`, so that its socket can be destroyed without a close frame).
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { MqttClient } from 'mqtt';
import { CheckScope, SmokeStepError, formatSeconds, hex, nextClientId, type SmokeCheck } from './check';
import { collect, openClient, publish, subscribe } from './mqtt-client';
import { connectPacket, isConnack } from './raw-packets';
import { openRawOrFail } from './raw-session';

/** Time the ordering check gets per publish of the burst, on top of `--timeout`. */
export const BURST_MS_PER_PUBLISH = 250;

const ms = (from: number, to: number): string => `${Math.round(to - from)} ms`;

/** A QoS 1 or 2 publish from one client to another: the publisher's PUBACK/PUBCOMP, then the delivery at that QoS. */
function qosCheck(qos: 1 | 2): SmokeCheck {
  const ack = qos === 1 ? 'PUBACK' : 'PUBCOMP';
  return {
    id: `qos${qos}`,
    title: `QoS ${qos} round trip`,
    async run(ctx, scope) {
      const topic = `${ctx.topicPrefix}/qos${qos}`;
      const { client: subscriber } = await openClient(ctx, scope, 'subscriber');
      await subscribe(scope, subscriber, topic, qos);
      const { client: publisher } = await openClient(ctx, scope, 'publisher');
      const inbox = collect(scope, subscriber, topic, 1, `the QoS ${qos} message`);
      const started = performance.now();
      await publish(scope, publisher, topic, `qos${qos}`, qos);
      const acked = performance.now();
      scope.step(`the QoS ${qos} message at the subscriber`);
      await inbox.done;
      const message = inbox.messages[0]!;
      const data = { ackMs: Math.round(acked - started), deliveryMs: Math.round(message.at - started), deliveredQos: message.qos };
      if (message.payload !== `qos${qos}`) return { status: 'fail', detail: `the subscriber received ${JSON.stringify(message.payload.slice(0, 40))}, not what was sent`, data };
      if (message.qos !== qos) return { status: 'fail', detail: `delivered with QoS ${message.qos}, though both sides asked for QoS ${qos}`, data };
      return { status: 'pass', detail: `${ack} after ${ms(started, acked)}; delivered at QoS ${qos} after ${ms(started, message.at)}`, data };
    },
  };
}

export const qos1Check = qosCheck(1);
export const qos2Check = qosCheck(2);

/** Publishes 0..n-1 at QoS 1, each in its own WebSocket message, with at most `window` unacknowledged. */
async function sendBurst(scope: CheckScope, client: MqttClient, topic: string, n: number, window: number): Promise<void> {
  let inflight = 0;
  let acked = 0;
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  const stop = scope.onEnd(() => wake?.());
  const waitUntil = async (ready: () => boolean): Promise<void> => {
    while (!ready() && failure === undefined && !scope.isEnded) await new Promise<void>((resolve) => (wake = resolve));
    if (failure !== undefined) throw new SmokeStepError(`a QoS 1 publish of the burst failed: ${failure.message}`, { cause: failure });
    if (scope.isEnded) throw new SmokeStepError('the check ended');
  };
  try {
    for (let i = 0; i < n; i += 1) {
      scope.step(`a free slot for publish ${i + 1} of ${n} (${acked} acknowledged)`);
      await waitUntil(() => inflight < window);
      inflight += 1;
      client.publish(topic, String(i), { qos: 1 }, (error) => {
        inflight -= 1;
        acked += 1;
        if (error) failure ??= error;
        wake?.();
      });
      // Its own event-loop turn: the transport sends each publish as its own WebSocket message.
      await nextTurn();
    }
    scope.step(`the PUBACKs of the burst (${acked} of ${n})`);
    await waitUntil(() => acked === n);
  } finally {
    stop();
  }
}

/**
 * `--burst` QoS 1 publishes sent back to back on one connection, each in its own WebSocket
 * message, must reach a subscriber in the order sent [MQTT-4.6.0-5]. API Gateway does not keep a
 * connection's messages in order; Stratus's ordered ingress does. In v5 the publisher keeps the
 * server's Receive Maximum [MQTT-3.3.4-7].
 */
export const orderingCheck: SmokeCheck = {
  id: 'ordering',
  title: 'ordered burst',
  // Each connection's messages are handled one batch at a time: the burst gets time per publish.
  timeoutMs: (ctx) => ctx.timeoutMs + ctx.burst * BURST_MS_PER_PUBLISH,
  async run(ctx, scope) {
    const topic = `${ctx.topicPrefix}/order`;
    const n = ctx.burst;
    const { client: subscriber } = await openClient(ctx, scope, 'subscriber');
    await subscribe(scope, subscriber, topic, 1);
    const { client: publisher, connack } = await openClient(ctx, scope, 'publisher');
    const window = ctx.protocolVersion === 5 ? connack.properties?.receiveMaximum ?? 65_535 : n;
    const inbox = collect(scope, subscriber, topic, n, 'the burst');
    const started = performance.now();
    await sendBurst(scope, publisher, topic, n, window);
    scope.step(`the burst at the subscriber (${inbox.messages.length} of ${n})`);
    await inbox.done;
    const elapsed = performance.now() - started;
    const order = inbox.messages.map((m) => Number(m.payload));
    const wrong = order.findIndex((value, index) => value !== index);
    const rate = Math.round(n / (elapsed / 1000));
    const data = { sent: n, received: order.length, inflightWindow: Math.min(window, n), seconds: Number((elapsed / 1000).toFixed(2)), messagesPerSecond: rate };
    if (wrong !== -1) {
      return { status: 'fail', detail: `out of order [MQTT-4.6.0-5]: message ${wrong + 1} received was publish ${order[wrong]! + 1} (first ${Math.min(10, n)}: ${order.slice(0, 10).join(',')})`, data: { ...data, firstOutOfOrder: wrong } };
    }
    const windowNote = window < n ? `; at most ${window} in flight, the server's Receive Maximum` : '';
    return { status: 'pass', detail: `${n} QoS 1 publishes in ${n} messages received in order in ${formatSeconds(elapsed)} (${rate}/s${windowNote})`, data };
  },
};

/**
 * A client with a will whose socket is destroyed (no DISCONNECT, no close frame): the will must
 * reach a subscriber [MQTT-3.1.2-8]. On AWS the close reaches the broker through `$disconnect`,
 * which is best effort; a lost one is found by the sweeper at its next run (every minute).
 */
export const willCheck: SmokeCheck = {
  id: 'will',
  title: 'will on an abrupt close',
  async run(ctx, scope) {
    const topic = `${ctx.topicPrefix}/will`;
    const { client: subscriber } = await openClient(ctx, scope, 'subscriber');
    await subscribe(scope, subscriber, topic, 1);
    const inbox = collect(scope, subscriber, topic, 1, 'the will');
    const session = await openRawOrFail(ctx, scope);
    const will = { topic, payload: new TextEncoder().encode('stratus-smoke will'), qos: 1 as const, retain: false };
    session.send(connectPacket(ctx, nextClientId(ctx), { will }));
    const connack = await session.waitFor('the CONNACK of the client with a will', isConnack);
    if (connack.reasonCode !== 0) return { status: 'fail', detail: `the client with a will was refused: CONNACK ${hex(connack.reasonCode)}` };
    const destroyed = performance.now();
    session.destroy();
    scope.step('the will at the subscriber (after $disconnect, or the sweeper\'s next run if AWS lost it)');
    await inbox.done;
    const message = inbox.messages[0]!;
    return {
      status: 'pass',
      detail: `the will arrived ${ms(destroyed, message.at)} after the socket was destroyed without DISCONNECT`,
      data: { willMs: Math.round(message.at - destroyed) },
    };
  },
};
