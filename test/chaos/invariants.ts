/**
 * The chaos test's oracle: what a run recorded (the journal, test/chaos/journal.ts fills it) judged
 * against MQTT's promises. Pure: no clock, no I/O.
 *
 * What "expected" means, precisely:
 * - A publish counts once its publisher got the PUBACK (QoS 1) or PUBCOMP (QoS 2): `ackedAt`.
 *   A publish never acknowledged is held to nothing at QoS 1, and to at most once at QoS 2; but
 *   the run settles without faults before it ends, so an unacknowledged publish is itself a
 *   failure (its publisher was left waiting).
 * - A persistent session (Clean Session 0 / Clean Start 0 with a long expiry, never cleaned during
 *   the run) owes its subscriber every acknowledged publish that matches its filters and started
 *   after the session's first SUBACK: while it is offline they queue, and the final resume drains
 *   them.
 * - A clean session owes only what was published while it was subscribed and connected: a publish
 *   that started after a connection's SUBACK and was acknowledged at least `graceMs` before that
 *   connection closed (a copy still on its way when a clean session ends is rightly lost).
 * - QoS 2: every copy at most once per subscriber, and exactly once where it is owed (every
 *   subscription is QoS 2, so a QoS 2 publish is delivered at QoS 2). QoS 1: at least once where
 *   owed; extra copies are counted, not failures (MQTT 5.0 section 4.3.2).
 * - Wills: each network connection publishes its will at most once; exactly once if it got its
 *   CONNACK and ended without the client's DISCONNECT [MQTT-3.1.2-8]; never if the client sent
 *   DISCONNECT [MQTT-3.1.2-10]. Wills are told apart by payload: client id and connection number.
 *   A DISCONNECT counts only if the server got it: when the gateway had closed the connection
 *   already (a post fault's DELETE, a failed resume) and dropped the frame that carried it
 *   (`lateFrames`), the close was the server's, and the will is owed [MQTT-3.1.2-8]; a dropped
 *   frame the harness could not read leaves that connection's will free to come once or not.
 * - A persistent session keeps its state: every CONNACK after its first says Session Present 1
 *   [MQTT-3.2.2-2] (counted as `sessionsLost`).
 * - At the end, with faults off, every client connects, and every persistent session gets the
 *   message queued for it while it was offline.
 */
import { matches } from '../../lib/mqtt/topic';

export interface PublishRecord {
  readonly id: string;
  readonly publisher: string;
  readonly topic: string;
  readonly qos: 1 | 2;
  readonly startedAt: number;
  /** When the PUBACK / PUBCOMP came; undefined if it never did. */
  readonly ackedAt?: number;
}

export interface SubscriberRecord {
  readonly clientId: string;
  readonly clean: boolean;
  readonly filters: readonly string[];
  /**
   * Persistent: one window, from the first SUBACK to the end (`to` Infinity). Clean: one per
   * connection, from its SUBACK to its close.
   */
  readonly windows: readonly { readonly from: number; readonly to: number }[];
}

export interface Receipt {
  readonly subscriber: string;
  readonly messageId: string;
  /** For the journal file (diagnosis): when it arrived, its packet id and DUP flag. */
  readonly at?: number;
  readonly packetId?: number;
  readonly dup?: boolean;
}

export interface WillConnection {
  readonly clientId: string;
  readonly connection: number;
  /** The connection got its CONNACK. */
  readonly acked: boolean;
  /** The client sent DISCONNECT on it. */
  readonly graceful: boolean;
  /** When the client saw it close (for the report). */
  readonly closedAt?: number;
}

/** A frame of a client's the gateway dropped because it had closed the connection already. */
export interface LateFrame {
  readonly clientId: string;
  /** Epoch ms, at the gateway. */
  readonly at: number;
  /** The frame carried a DISCONNECT; undefined when it could not be read. */
  readonly disconnect?: boolean;
}

export interface FinalCheck {
  readonly clientId: string;
  readonly connected: boolean;
  /** Persistent sessions: Session Present 1 and the queued message arrived. */
  readonly queueReceived?: boolean;
}

export interface ChaosJournal {
  readonly publishes: readonly PublishRecord[];
  readonly subscribers: readonly SubscriberRecord[];
  readonly receipts: readonly Receipt[];
  readonly willConnections: readonly WillConnection[];
  /** The payloads of the wills received: `${clientId}#${connection}`. */
  readonly willsReceived: readonly string[];
  /** CONNACKs of persistent sessions with Session Present 0 after their first, per client. */
  readonly sessionsLost: Readonly<Record<string, number>>;
  readonly finals: readonly FinalCheck[];
  /** Frames the gateway dropped after closing their connection; absent: none known. */
  readonly lateFrames?: readonly LateFrame[];
}

/** How long after a client saw its connection close a frame of it may still reach the gateway. */
export const LATE_FRAME_SLACK_MS = 100;

export interface Miss {
  readonly subscriber: string;
  readonly messageId: string;
  readonly qos: 1 | 2;
  readonly copies: number;
}

export interface Verdict {
  readonly published: number;
  readonly acknowledged: number;
  /** Copies owed (publish × subscriber). */
  readonly owed: number;
  readonly received: number;
  /** Publishes whose PUBACK / PUBCOMP never came, though the run settled without faults: failures. */
  readonly unacknowledged: number;
  readonly losses: readonly Miss[];
  /** QoS 2 copies received more than once: failures. */
  readonly qos2Duplicates: readonly Miss[];
  /** QoS 1 copies received more than once: allowed, counted. */
  readonly qos1Duplicates: number;
  readonly unknownReceipts: number;
  readonly willsExpected: number;
  readonly willsLost: readonly string[];
  readonly willsDuplicated: readonly string[];
  readonly willsUnexpected: readonly string[];
  readonly sessionsLost: number;
  readonly finalFailures: readonly string[];
  /** One line per failed invariant; empty when the run is clean. */
  readonly failures: readonly string[];
}

export function judge(journal: ChaosJournal, options: { readonly graceMs: number }): Verdict {
  const copies = new Map<string, number>();
  const byId = new Map(journal.publishes.map((p) => [p.id, p]));
  let unknownReceipts = 0;
  for (const r of journal.receipts) {
    if (!byId.has(r.messageId)) unknownReceipts += 1;
    const key = `${r.subscriber} ${r.messageId}`;
    copies.set(key, (copies.get(key) ?? 0) + 1);
  }
  const losses: Miss[] = [];
  const qos2Duplicates: Miss[] = [];
  let qos1Duplicates = 0;
  let owed = 0;
  for (const sub of journal.subscribers) {
    for (const p of journal.publishes) {
      if (!sub.filters.some((f) => matches(f, p.topic))) continue;
      const n = copies.get(`${sub.clientId} ${p.id}`) ?? 0;
      const miss = { subscriber: sub.clientId, messageId: p.id, qos: p.qos, copies: n };
      if (n > 1 && p.qos === 2) qos2Duplicates.push(miss);
      if (n > 1 && p.qos === 1) qos1Duplicates += n - 1;
      if (!isOwed(sub, p, options.graceMs)) continue;
      owed += 1;
      if (n === 0) losses.push(miss);
    }
  }
  const wills = judgeWills(journal);
  const sessionsLost = Object.values(journal.sessionsLost).reduce((a, b) => a + b, 0);
  const finalFailures = journal.finals
    .filter((f) => !f.connected || f.queueReceived === false)
    .map((f) => `${f.clientId}: ${f.connected ? 'queued message not received' : 'could not connect'}`);
  const unacknowledged = journal.publishes.filter((p) => p.ackedAt === undefined).length;
  const failures = [
    ...(unacknowledged > 0 ? [`${unacknowledged} publishes never acknowledged`] : []),
    ...(losses.length > 0 ? [`${losses.length} owed copies lost (QoS 1: ${losses.filter((l) => l.qos === 1).length}, QoS 2: ${losses.filter((l) => l.qos === 2).length})`] : []),
    ...(qos2Duplicates.length > 0 ? [`${qos2Duplicates.length} QoS 2 copies received more than once`] : []),
    ...(unknownReceipts > 0 ? [`${unknownReceipts} messages received that nobody published`] : []),
    ...(wills.lost.length > 0 ? [`${wills.lost.length} wills never published: ${wills.lost.slice(0, 5).join(', ')}`] : []),
    ...(wills.duplicated.length > 0 ? [`${wills.duplicated.length} wills published more than once: ${wills.duplicated.slice(0, 5).join(', ')}`] : []),
    ...(wills.unexpected.length > 0 ? [`${wills.unexpected.length} wills published after DISCONNECT or unknown: ${wills.unexpected.slice(0, 5).join(', ')}`] : []),
    ...(sessionsLost > 0 ? [`${sessionsLost} CONNACKs of persistent sessions with Session Present 0`] : []),
    ...(finalFailures.length > 0 ? [`final check: ${finalFailures.join('; ')}`] : []),
  ];
  return {
    published: journal.publishes.length,
    acknowledged: journal.publishes.filter((p) => p.ackedAt !== undefined).length,
    owed,
    received: journal.receipts.length,
    unacknowledged,
    losses,
    qos2Duplicates,
    qos1Duplicates,
    unknownReceipts,
    willsExpected: wills.expected,
    willsLost: wills.lost,
    willsDuplicated: wills.duplicated,
    willsUnexpected: wills.unexpected,
    sessionsLost,
    finalFailures,
    failures,
  };
}

function isOwed(sub: SubscriberRecord, p: PublishRecord, graceMs: number): boolean {
  if (p.ackedAt === undefined) return false;
  const ackedAt = p.ackedAt;
  if (!sub.clean) return sub.windows.length > 0 && p.startedAt >= sub.windows[0].from;
  return sub.windows.some((w) => w.from <= p.startedAt && ackedAt + graceMs <= w.to);
}

function judgeWills(journal: ChaosJournal): { expected: number; lost: string[]; duplicated: string[]; unexpected: string[] } {
  const received = new Map<string, number>();
  for (const payload of journal.willsReceived) received.set(payload, (received.get(payload) ?? 0) + 1);
  const known = new Set<string>();
  const lost: string[] = [];
  const duplicated: string[] = [];
  const unexpected: string[] = [];
  let expected = 0;
  const openedAt = new Map<string, number>();
  for (const c of [...journal.willConnections].sort((a, b) => a.connection - b.connection)) {
    const key = `${c.clientId}#${c.connection}`;
    known.add(key);
    const n = received.get(key) ?? 0;
    if (n > 1) duplicated.push(key);
    const from = openedAt.get(c.clientId) ?? 0;
    // The next connection's frames come after this one's late ones: reconnects wait 250 ms.
    openedAt.set(c.clientId, c.closedAt === undefined ? from : c.closedAt + LATE_FRAME_SLACK_MS);
    const disconnectReceived = c.graceful ? serverGotDisconnect(journal.lateFrames ?? [], c, from) : false;
    if (disconnectReceived === 'unknown') continue;
    if (disconnectReceived) {
      if (n > 0) unexpected.push(key);
    } else if (c.acked) {
      expected += 1;
      if (n === 0) lost.push(key);
    }
  }
  for (const key of received.keys()) if (!known.has(key)) unexpected.push(key);
  return { expected, lost, duplicated, unexpected };
}

/**
 * Whether the server got the DISCONNECT a client sent on connection `c` (open from `from`): not if
 * the gateway dropped a frame of it that carried one, unknown if it dropped one it could not read.
 */
function serverGotDisconnect(lateFrames: readonly LateFrame[], c: WillConnection, from: number): boolean | 'unknown' {
  const to = (c.closedAt ?? Number.POSITIVE_INFINITY) + LATE_FRAME_SLACK_MS;
  const dropped = lateFrames.filter((f) => f.clientId === c.clientId && f.at > from && f.at <= to);
  if (dropped.some((f) => f.disconnect === true)) return false;
  if (dropped.some((f) => f.disconnect === undefined)) return 'unknown';
  return true;
}
