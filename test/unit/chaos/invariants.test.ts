/**
 * The chaos oracle (test/chaos/invariants.ts) on hand-written journals: what is owed to persistent
 * and clean sessions, QoS 1 and QoS 2 duplicates, wills, lost sessions and the final check.
 */
import { describe, expect, it } from 'vitest';
import { judge, type ChaosJournal, type PublishRecord, type SubscriberRecord } from '../../chaos/invariants';
import { carriesDisconnect } from '../../chaos/run';

const GRACE = { graceMs: 1000 };

function journal(parts: Partial<ChaosJournal>): ChaosJournal {
  return { publishes: [], subscribers: [], receipts: [], willConnections: [], willsReceived: [], sessionsLost: {}, finals: [], ...parts };
}

const persistent: SubscriberRecord = { clientId: 'p', clean: false, filters: ['chaos/#'], windows: [{ from: 100, to: Infinity }] };
const clean: SubscriberRecord = { clientId: 'c', clean: true, filters: ['chaos/#'], windows: [{ from: 100, to: 5000 }, { from: 6000, to: 9000 }] };

function pub(id: string, qos: 1 | 2, startedAt: number, ackedAt?: number, topic = 'chaos/a'): PublishRecord {
  return { id, publisher: 'x', topic, qos, startedAt, ...(ackedAt === undefined ? {} : { ackedAt }) };
}

describe('the chaos oracle', () => {
  it('a clean run: every owed copy once, no failures', () => {
    const v = judge(journal({ publishes: [pub('m1', 1, 200, 300), pub('m2', 2, 200, 300)], subscribers: [persistent], receipts: [{ subscriber: 'p', messageId: 'm1' }, { subscriber: 'p', messageId: 'm2' }] }), GRACE);
    expect(v.failures).toEqual([]);
    expect(v.owed).toBe(2);
  });

  it('a persistent session is owed every acknowledged publish after its first SUBACK, offline or not', () => {
    const v = judge(journal({ publishes: [pub('early', 1, 50, 60), pub('late', 1, 50_000, 50_100), pub('unacked', 1, 300)], subscribers: [persistent] }), GRACE);
    expect(v.losses.map((l) => l.messageId)).toEqual(['late']);
    expect(v.unacknowledged).toBe(1);
    expect(v.failures).toHaveLength(2);
  });

  it('a clean session is owed only what was published and acknowledged, with the grace, inside one of its connections', () => {
    const v = judge(
      journal({
        publishes: [
          pub('inside', 1, 200, 300),
          pub('too-close-to-the-close', 1, 3900, 4500),
          pub('between', 1, 5200, 5300),
          pub('spanning', 1, 4900, 6100),
          pub('second', 2, 6500, 7000),
        ],
        subscribers: [clean],
      }),
      GRACE,
    );
    expect(v.losses.map((l) => l.messageId).sort()).toEqual(['inside', 'second']);
  });

  it('only matching filters are owed', () => {
    const v = judge(journal({ publishes: [pub('m', 1, 200, 300, 'other/a')], subscribers: [persistent] }), GRACE);
    expect(v.owed).toBe(0);
    expect(v.failures).toEqual([]);
  });

  it('QoS 2 copies twice fail, owed or not; QoS 1 copies twice are counted only', () => {
    const v = judge(
      journal({
        publishes: [pub('q2', 2, 200), pub('q1', 1, 200, 300)],
        subscribers: [persistent],
        receipts: ['q2', 'q2', 'q1', 'q1', 'q1'].map((messageId) => ({ subscriber: 'p', messageId })),
      }),
      GRACE,
    );
    expect(v.qos2Duplicates).toEqual([{ subscriber: 'p', messageId: 'q2', qos: 2, copies: 2 }]);
    expect(v.qos1Duplicates).toBe(2);
    expect(v.failures).toEqual(['1 publishes never acknowledged', '1 QoS 2 copies received more than once']);
  });

  it('a message nobody published is a failure', () => {
    const v = judge(journal({ subscribers: [persistent], receipts: [{ subscriber: 'p', messageId: 'ghost' }] }), GRACE);
    expect(v.unknownReceipts).toBe(1);
    expect(v.failures).toHaveLength(1);
  });

  it('wills: exactly once after an abnormal close of an acknowledged connection, at most once without CONNACK, never after DISCONNECT [MQTT-3.1.2-8] [MQTT-3.1.2-10]', () => {
    const v = judge(
      journal({
        willConnections: [
          { clientId: 'a', connection: 1, acked: true, graceful: false },
          { clientId: 'a', connection: 2, acked: true, graceful: false },
          { clientId: 'a', connection: 3, acked: false, graceful: false },
          { clientId: 'a', connection: 4, acked: true, graceful: true },
          { clientId: 'a', connection: 5, acked: true, graceful: false },
        ],
        willsReceived: ['a#1', 'a#3', 'a#4', 'a#5', 'a#5', 'b#1'],
      }),
      GRACE,
    );
    expect(v.willsExpected).toBe(3);
    expect(v.willsLost).toEqual(['a#2']);
    expect(v.willsDuplicated).toEqual(['a#5']);
    expect(v.willsUnexpected).toEqual(['a#4', 'b#1']);
    expect(v.failures).toHaveLength(3);
  });

  it('wills: a DISCONNECT the gateway dropped (it had closed the connection first) was never received, so the will is owed [MQTT-3.1.2-8]', () => {
    const graceful = (connection: number, closedAt: number) => ({ clientId: 'a', connection, acked: true, graceful: true, closedAt });
    const v = judge(
      journal({
        willConnections: [graceful(1, 1000), graceful(2, 2000), graceful(3, 3000), graceful(4, 4000), graceful(5, 5000)],
        lateFrames: [
          // #1: its DISCONNECT dropped, and its will came: right. #2: dropped, no will: lost.
          { clientId: 'a', at: 990, disconnect: true },
          { clientId: 'a', at: 2050, disconnect: true },
          // #3: a frame dropped that could not be read: the will may come once, or not.
          { clientId: 'a', at: 2990 },
          // #4: only a PUBACK dropped after its DISCONNECT was handled: no will owed.
          { clientId: 'a', at: 3990, disconnect: false },
          // another client's frame says nothing of 'a'
          { clientId: 'b', at: 4990, disconnect: true },
        ],
        willsReceived: ['a#1', 'a#3', 'a#4', 'a#5'],
      }),
      GRACE,
    );
    expect(v.willsExpected).toBe(2);
    expect(v.willsLost).toEqual(['a#2']);
    expect(v.willsUnexpected).toEqual(['a#4', 'a#5']);
  });

  it('reads a dropped frame: a DISCONNECT among its packets, numbered or not', () => {
    const disconnect = Buffer.from([0xe0, 0x00]).toString('base64');
    const puback = Buffer.from([0x40, 0x02, 0x00, 0x01]);
    expect(carriesDisconnect(disconnect)).toBe(true);
    expect(carriesDisconnect(`7:${Buffer.concat([puback, Buffer.from([0xe0, 0x00])]).toString('base64')}`)).toBe(true);
    expect(carriesDisconnect(puback.toString('base64'))).toBe(false);
    expect(carriesDisconnect(Buffer.from([0x40, 0x05, 0x00]).toString('base64'))).toBeUndefined();
    expect(carriesDisconnect('{"not":"mqtt"}')).toBeUndefined();
  });

  it('a lost session and a failed final check are failures [MQTT-3.2.2-2]', () => {
    const v = judge(
      journal({
        sessionsLost: { p: 1 },
        finals: [{ clientId: 'p', connected: true, queueReceived: false }, { clientId: 'c', connected: false }, { clientId: 'd', connected: true }],
      }),
      GRACE,
    );
    expect(v.sessionsLost).toBe(1);
    expect(v.finalFailures).toEqual(['p: queued message not received', 'c: could not connect']);
    expect(v.failures).toHaveLength(2);
  });
});
