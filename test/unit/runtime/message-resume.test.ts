/**
 * A resumed session's order, walked step by step (test/helpers/interleave.ts): a subscriber with a
 * persistent session comes back while a publisher on another connection keeps publishing. Whatever
 * step of the resume a live publish slips into, and whatever step of a live publish the whole
 * resume slips into, the new connection receives the CONNACK first [MQTT-3.2.0-1], then the
 * in-flight resends in their order (PUBREL of the QoS 2 message awaiting PUBCOMP, the QoS 1
 * PUBLISH again with DUP 1) [MQTT-4.4.0-1], then the queued backlog in its order, then the live
 * messages, one publisher's messages in the order they were published [MQTT-4.6.0-5], each
 * once. Each scenario runs for 3.1.1 and 5.0.
 */
import { describe, expect, it } from 'vitest';
import type { Packet, ProtocolVersion, PublishPacket, QoS } from '../../../lib/mqtt';
import { Interleaver } from '../../helpers/interleave';
import {
  ackPacket,
  connectPacket,
  memoryRuntime,
  persistentSession,
  publishPacket,
  type MemoryRuntime,
  type TestConnection,
} from '../../helpers/memory-runtime';

const VERSIONS: ProtocolVersion[] = [4, 5];
const TOPIC = 'plant/press-7/temp';

/** One run: the runtime, its interleaver, the publisher and what it published so far. */
class Scene {
  readonly rt: MemoryRuntime = memoryRuntime();
  readonly steps: Interleaver = Interleaver.over(this.rt);
  private nextId = 1;
  pub!: TestConnection;
  sub!: TestConnection;

  constructor(readonly version: ProtocolVersion) {}

  /** A publish from the publisher, to its end (PUBACK / PUBREC, PUBREL and PUBCOMP for QoS 2). */
  async publish(name: string, qos: QoS): Promise<void> {
    const packetId = this.nextId++;
    await this.pub.send(publishPacket(TOPIC, name, qos, qos === 0 ? {} : { packetId }));
    if (qos === 2) await this.pub.send(ackPacket('pubrel', packetId, this.version));
  }

  /**
   * A persistent subscriber to `plant/#` at QoS 2 that holds m1 (QoS 2, PUBREC sent: awaiting
   * PUBCOMP) and m2 (QoS 1, not acknowledged), then loses its connection unless `stayOpen`
   * (a takeover), while m3 and m4 arrive for it.
   */
  async setUp(stayOpen = false): Promise<void> {
    const v = this.version;
    this.sub = await this.rt.connected(v, { clientId: 'dashboard', ...persistentSession(v) });
    await this.sub.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'plant/#', qos: 2 }] });
    this.pub = await this.rt.connected(v, { clientId: 'press-7' });
    await this.publish('m1', 2);
    await this.publish('m2', 1);
    const m1 = this.sub.received().find((p) => p.type === 'publish' && name(p) === 'm1') as PublishPacket;
    await this.sub.send(ackPacket('pubrec', m1.packetId as number, v));
    this.sub.take();
    if (!stayOpen) await this.sub.close();
    await this.publish('m3', 1);
    await this.publish('m4', 1);
  }

  /** The resuming CONNECT on a new connection, run as the actor 'resume'. */
  async resume(): Promise<TestConnection> {
    const back = await this.rt.open(this.version);
    await this.steps.run('resume', () => back.send(connectPacket(this.version, { clientId: 'dashboard', ...persistentSession(this.version) })));
    return back;
  }
}

/** A packet as the assertions read it: `connack`, `pubrel`, a message's payload (`m3`), `m2 dup`. */
function label(p: Packet): string {
  if (p.type === 'publish') return `${name(p)}${p.dup ? ' dup' : ''}`;
  return p.type;
}

function name(p: PublishPacket): string {
  return new TextDecoder().decode(p.payload);
}

/** What the resumed connection must receive, the live messages last. */
const RESUMED = ['connack', 'pubrel', 'm2 dup', 'm3', 'm4'];

/** Runs `scenario` once per step of `actor` until a run no longer reaches the step; the failures. */
async function everyStep(actor: string, scenario: (scene: Scene, step: number) => Promise<string[] | undefined>, version: ProtocolVersion) {
  const failures: { step: number; got: string[]; trace: string }[] = [];
  for (let step = 1; step < 200; step++) {
    const scene = new Scene(version);
    const got = await scenario(scene, step);
    if (!scene.steps.fired) return { failures, steps: step - 1 };
    if (got !== undefined) failures.push({ step, got, trace: scene.steps.trace.filter((t) => t.startsWith(`${actor}#${step} `)).join() });
  }
  throw new Error('no end to the steps');
}

describe.each(VERSIONS)('resume order, a live publish at each step of the resume, protocol %i', (version) => {
  it('sends CONNACK, then the in-flight resends, then the backlog, then the live QoS 1 message [MQTT-3.2.0-1] [MQTT-4.4.0-1] [MQTT-4.6.0-5]', async () => {
    const { failures, steps } = await everyStep(
      'resume',
      async (scene, step) => {
        await scene.setUp();
        scene.steps.at('resume', step, () => scene.publish('m5', 1));
        const back = await scene.resume();
        await scene.publish('m6', 1);
        const got = back.received().map(label);
        return equal(got, [...RESUMED, 'm5', 'm6']) ? undefined : got;
      },
      version,
    );
    expect(steps).toBeGreaterThan(3);
    expect(failures).toEqual([]);
  });

  it('sends nothing before the CONNACK, a live QoS 0 message included [MQTT-3.2.0-1]', async () => {
    const { failures } = await everyStep(
      'resume',
      async (scene, step) => {
        await scene.setUp();
        scene.steps.at('resume', step, () => scene.publish('live-qos0', 0));
        const back = await scene.resume();
        const got = back.received().map(label);
        // QoS 0 is ordered among QoS 0 messages only [MQTT-4.6.0-6]: it may pass the QoS 1 backlog.
        const withoutQos0 = got.filter((l) => l !== 'live-qos0');
        return got[0] === 'connack' && equal(withoutQos0, RESUMED) && got.length <= RESUMED.length + 1 ? undefined : got;
      },
      version,
    );
    expect(failures).toEqual([]);
  });
});

describe.each(VERSIONS)('resume order, the whole resume at each step of a live publish, protocol %i', (version) => {
  it('delivers the live QoS 1 message after the backlog, without waiting for another message [MQTT-4.6.0-5]', async () => {
    const { failures, steps } = await everyStep(
      'publish',
      async (scene, step) => {
        await scene.setUp();
        let back: TestConnection | undefined;
        scene.steps.at('publish', step, async () => {
          back = await scene.resume();
        });
        await scene.steps.run('publish', () => scene.publish('m5', 1));
        back ??= await scene.resume();
        const got = back.received().map(label);
        return equal(got, [...RESUMED, 'm5']) ? undefined : got;
      },
      version,
    );
    expect(steps).toBeGreaterThan(2);
    expect(failures).toEqual([]);
  });

  /** The takeover scenario at each step of the live publish; the failures, with the step's call. */
  async function takeover() {
    return everyStep(
      'publish',
      async (scene, step) => {
        await scene.setUp(true);
        let back: TestConnection | undefined;
        scene.steps.at('publish', step, async () => {
          back = await scene.resume();
        });
        await scene.steps.run('publish', () => scene.publish('m5', 1));
        back ??= await scene.resume();
        await scene.publish('m6', 1);
        // The old connection had m3 and m4 (and maybe m5): they are in flight, resent with DUP.
        const got = back.received().map((p) => label(p).replace(' dup', ''));
        return equal(got, ['connack', 'pubrel', 'm2', 'm3', 'm4', 'm5', 'm6']) ? undefined : back.received().map(label);
      },
      version,
    );
  }

  it('taking over from a connection still open, gives the new connection every message once and in order [MQTT-3.1.4-3] [MQTT-4.6.0-5]', async () => {
    const { failures } = await takeover();
    // The one step left out is the known gap below.
    expect(failures.filter((f) => !f.trace.endsWith('messages.putInflight'))).toEqual([]);
  });

  it('taking over, resends a copy whose in-flight record lands while the resume looks for late copies, before the backlog [MQTT-4.4.0-1] [MQTT-4.6.0-5]', async () => {
    const step = await putInflightStep(version);
    const scene = new Scene(version);
    await scene.setUp(true);
    let resuming: Promise<TestConnection> | undefined;
    // The resume starts just before that write and has read the window (its reply post is out)
    // when the write lands; the resume then goes on concurrently.
    scene.steps.at('publish', step, async () => {
      resuming = scene.resume();
      await untilReplyPosted(scene);
    });
    await scene.steps.run('publish', () => scene.publish('m5', 1));
    const back = await (resuming as Promise<TestConnection>);
    await scene.publish('m6', 1);
    const got = back.received().map(label);
    expect(got).toEqual(['connack', 'pubrel', 'm2 dup', 'm3 dup', 'm4 dup', 'm5 dup', 'm6']);
  });

  it('taking over, resends a late copy before a newer copy that was stored before it, in their order [MQTT-4.4.0-1] [MQTT-4.6.0-5]', async () => {
    // m5 has its packet id but no in-flight record yet when m6 (published after it) is stored and
    // the resume reads the window: m6 is in flight, m5 not yet. m5's record lands once the reply
    // post is out. The resends must still go m5, then m6.
    const step = await putInflightStep(version);
    const scene = new Scene(version);
    await scene.setUp(true);
    let resuming: Promise<TestConnection> | undefined;
    scene.steps.at('publish', step, async () => {
      await scene.publish('m6', 1);
      resuming = scene.resume();
      await untilReplyPosted(scene);
    });
    await scene.steps.run('publish', () => scene.publish('m5', 1));
    const back = await (resuming as Promise<TestConnection>);
    await scene.publish('m7', 1);
    expect(back.received().map(label)).toEqual(['connack', 'pubrel', 'm2 dup', 'm3 dup', 'm4 dup', 'm5 dup', 'm6 dup', 'm7']);
  });

  // Left (narrowed, not closed): a copy for the old connection whose packet id was reserved before
  // the resume held the gate, but whose in-flight record is written only after the whole resume,
  // its wait for late copies included (about half a second), is posted to the closed old
  // connection and missed by the resend. It is not lost: it stays in flight and is resent with
  // DUP on the session's next resume, but by then later messages have overtaken it.
  it.fails('taking over, resends the copy whose in-flight record was written while the resume read them [MQTT-4.4.0-1]', async () => {
    const { failures } = await takeover();
    expect(failures).toEqual([]);
  });
});

/** The step at which a live publish stores m5's in-flight record, from a run without a hook. */
async function putInflightStep(version: ProtocolVersion): Promise<number> {
  const dry = new Scene(version);
  await dry.setUp(true);
  await dry.steps.run('publish', () => dry.publish('m5', 1));
  const step = dry.steps.trace.filter((t) => t.startsWith('publish#')).findIndex((t) => t.endsWith('messages.putInflight')) + 1;
  expect(step).toBeGreaterThan(0);
  return step;
}

/** Until the resume's reply post (the CONNACK) is out; the resume goes on concurrently. */
async function untilReplyPosted(scene: Scene): Promise<void> {
  while (!scene.steps.trace.some((t) => t.startsWith('resume#') && t.endsWith('delivery.send'))) {
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

function equal(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
