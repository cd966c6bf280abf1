/**
 * The checks that look at WebSocket frames, with raw `ws` (./raw-session.ts): the subprotocol
 * handshake, the frame type of posts, client frames at the 32 KB boundary, the refusal of an
 * anonymous client, and API Gateway's error message.
 */
import { encode, type Packet } from '../../mqtt';
import { CheckScope, SmokeStepError, hex, nextClientId, type CheckOutcome, type SmokeCheck, type SmokeContext } from './check';
import { connectPacket, disconnectPacket, isConnack, publishOfLength } from './raw-packets';
import { openRaw, openRawOrFail, type RawSession } from './raw-session';

const pass = (detail: string, data?: Record<string, unknown>): CheckOutcome => ({ status: 'pass', detail, ...(data ? { data } : {}) });
const fail = (detail: string, data?: Record<string, unknown>): CheckOutcome => ({ status: 'fail', detail, ...(data ? { data } : {}) });
const skip = (detail: string, data?: Record<string, unknown>): CheckOutcome => ({ status: 'skip', detail, ...(data ? { data } : {}) });

/** CONNECT with the run's credentials; answers the CONNACK. */
async function connectRaw(ctx: SmokeContext, session: RawSession): Promise<number> {
  session.send(connectPacket(ctx, nextClientId(ctx)));
  return (await session.waitFor('CONNACK', isConnack)).reasonCode;
}

function goodbye(ctx: SmokeContext, session: RawSession): void {
  if (session.closeCode !== undefined) return;
  session.send(disconnectPacket(ctx));
  session.close();
}

/**
 * A browser offers `Sec-WebSocket-Protocol: mqtt` (and permessage-deflate) and closes the
 * connection unless the server echoes `mqtt` [MQTT-6.0.0-4]. Then CONNECT must be accepted.
 */
export const subprotocolCheck: SmokeCheck = {
  id: 'subprotocol',
  title: 'subprotocol handshake',
  async run(ctx, scope) {
    scope.step('the WebSocket upgrade');
    const opened = await openRaw(ctx, scope, { url: ctx.url, protocols: ['mqtt'], offerDeflate: true });
    if (opened.kind === 'refused') {
      const hint = opened.status === 401 || opened.status === 403 ? ' (a bad or missing token?)' : '';
      return fail(`upgrade refused with HTTP ${opened.status}${hint}`, { httpStatus: opened.status });
    }
    if (opened.kind === 'failed') {
      if (/subprotocol/i.test(opened.message)) {
        return fail(`the upgrade answered Sec-WebSocket-Protocol: ${opened.protocol ?? '(none)'}, not mqtt: a browser drops the connection [MQTT-6.0.0-4]`, { protocol: opened.protocol ?? null });
      }
      return fail(`cannot connect: ${opened.message}`);
    }
    const deflate = opened.extensions?.includes('permessage-deflate') ? '; permessage-deflate negotiated' : '';
    const code = await connectRaw(ctx, opened.session);
    goodbye(ctx, opened.session);
    const data = { protocol: opened.protocol, connack: code, extensions: opened.extensions ?? null };
    if (code !== 0) return fail(`Sec-WebSocket-Protocol: mqtt echoed, but CONNECT refused with CONNACK ${hex(code)}: check --username/--password or --token`, data);
    return pass(`upgrade echoed Sec-WebSocket-Protocol: mqtt; CONNACK 0x00${deflate}`, data);
  },
};

/**
 * Whether `@connections` posts reach the client as text or binary frames (AWS does not say).
 * Either is acceptable; a frame that is neither base64 MQTT nor raw MQTT fails.
 */
export const frameTypeCheck: SmokeCheck = {
  id: 'frame-type',
  title: 'frame type of posts',
  async run(ctx, scope) {
    const session = await openRawOrFail(ctx, scope);
    const code = await connectRaw(ctx, session);
    if (code !== 0) return fail(`CONNECT refused with CONNACK ${hex(code)}`);
    const topic = `${ctx.topicPrefix}/frames`;
    session.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: topic, qos: 0 }] });
    const suback = await session.waitFor('SUBACK', (p) => p.type === 'suback');
    if (suback.type === 'suback' && (suback.reasonCodes[0] ?? 0x80) >= 0x80) return fail(`SUBSCRIBE to ${topic} refused (SUBACK ${hex(suback.reasonCodes[0] ?? 0x80)}): may this user subscribe under --prefix?`);
    session.send({ type: 'publish', topic, payload: new TextEncoder().encode('frame-type'), qos: 0, retain: false, dup: false });
    await session.waitFor('the PUBLISH echoed to the subscriber', (p: Packet) => p.type === 'publish' && p.topic === topic);
    goodbye(ctx, session);
    const counts = { text: 0, 'binary-base64': 0, 'binary-raw': 0 };
    for (const frame of session.frames) if (frame.kind === 'mqtt' || frame.kind === 'fragment') counts[frame.encoding] += 1;
    const total = counts.text + counts['binary-base64'] + counts['binary-raw'];
    const data = { textFrames: counts.text, binaryBase64Frames: counts['binary-base64'], binaryRawFrames: counts['binary-raw'] };
    if (session.readError !== undefined) return fail(`a post could not be read: ${session.readError}`, data);
    const parts = [
      counts.text > 0 ? `${counts.text} text` : '',
      counts['binary-base64'] > 0 ? `${counts['binary-base64']} binary holding base64` : '',
      counts['binary-raw'] > 0 ? `${counts['binary-raw']} binary holding raw MQTT` : '',
    ].filter((p) => p !== '');
    const kind = parts.length === 1 ? parts[0]!.replace(/^\d+ /, '') : 'mixed';
    return pass(`posts arrive as ${kind} frames (${parts.join(', ')} of ${total}: CONNACK, SUBACK, PUBLISH)`, data);
  },
};

type BoundaryOutcome = 'accepted' | 'refused-1009' | `closed-${number}`;

/** Sends one client frame of exactly `chars` base64 characters (a QoS 1 PUBLISH) on its own connection. */
async function sendFrameOf(ctx: SmokeContext, scope: CheckScope, chars: number): Promise<{ outcome: BoundaryOutcome; answer?: string }> {
  const session = await openRawOrFail(ctx, scope);
  const code = await connectRaw(ctx, session);
  if (code !== 0) throw new SmokeStepError(`CONNECT refused with CONNACK ${hex(code)}`);
  const packet = publishOfLength(ctx, `${ctx.topicPrefix}/boundary`, 1, (chars / 4) * 3);
  const text = Buffer.from(encode(packet, ctx.protocolVersion)).toString('base64');
  if (text.length !== chars) throw new RangeError(`built a frame of ${text.length} characters, not ${chars}`);
  session.sendText(text);
  const answer = await session.waitForOrClose(`the answer to a ${chars}-character frame`, (p) => (p.type === 'puback' && p.packetId === 1) || p.type === 'disconnect');
  if ('closed' in answer) return { outcome: answer.closed === 1009 ? 'refused-1009' : `closed-${answer.closed}` };
  goodbye(ctx, session);
  const reason = 'reasonCode' in answer.packet ? answer.packet.reasonCode ?? 0 : 0;
  const meaning = answer.packet.type === 'puback' && reason === 0x10 ? ', no subscribers' : '';
  return { outcome: 'accepted', answer: `${answer.packet.type.toUpperCase()}${ctx.protocolVersion === 5 ? ` ${hex(reason)}${meaning}` : ''}` };
}

function describeBoundary(chars: number, result: { outcome: BoundaryOutcome; answer?: string }): string {
  const n = chars.toLocaleString('en-US');
  if (result.outcome === 'accepted') return `${n}: accepted (${result.answer})`;
  if (result.outcome === 'refused-1009') return `${n}: refused (close 1009)`;
  return `${n}: connection closed with ${result.outcome.slice('closed-'.length)}`;
}

/**
 * A client frame of exactly 32,000 base64 characters (24,000 bytes of MQTT) must pass; one of
 * 32,768 (24,576 bytes) passes if "32 KB" means 32 KiB. Each goes on its own connection, so a
 * refusal (1009) closes only that one. Any MQTT answer (PUBACK, or a broker's DISCONNECT) proves
 * that the gateway let the frame through. Nothing is retained; nobody subscribes.
 */
export const frameBoundaryCheck: SmokeCheck = {
  id: 'frame-boundary',
  title: 'client frames at the 32 KB boundary',
  async run(ctx, scope) {
    const small = await sendFrameOf(ctx, scope, 32_000);
    const large = await sendFrameOf(ctx, scope, 32_768);
    const data = { chars32000: small.outcome, chars32768: large.outcome };
    const line = `${describeBoundary(32_000, small)}; ${describeBoundary(32_768, large)}`;
    if (small.outcome !== 'accepted') return fail(`${line}: clients must keep frames under 32,000 characters`, data);
    const meaning = large.outcome === 'accepted' ? ' (the limit is 32 KiB)' : large.outcome === 'refused-1009' ? ' (the limit is 32,000: keep client frames at most 32,000 characters)' : '';
    return pass(`${line}${meaning}`, data);
  },
};

const NOT_AUTHORIZED = { 5: 0x87, 4: 0x05 } as const;

/**
 * An anonymous client (no token, no user name) must be refused when the stack refuses them: the
 * upgrade refused (401/403), or CONNACK 0x87 (v5) / 0x05 (3.1.1) followed by the close
 * [MQTT-3.2.2-7] (3.1.1: [MQTT-3.2.2-5]). Says which the deployment does.
 */
export const anonymousCheck: SmokeCheck = {
  id: 'anonymous',
  title: 'anonymous client',
  async run(ctx, scope) {
    scope.step('the WebSocket upgrade without credentials');
    const opened = await openRaw(ctx, scope, { url: ctx.anonymousUrl });
    let seen: { refused: boolean; how: string; data: Record<string, unknown> };
    if (opened.kind === 'refused') {
      // 401: an identity source is missing, or the authorizer threw Unauthorized; 403: its Deny.
      if (opened.status !== 401 && opened.status !== 403) return fail(`the upgrade failed with HTTP ${opened.status}, not a refusal (401, 403): cannot tell`, { httpStatus: opened.status });
      seen = { refused: true, how: `upgrade refused with HTTP ${opened.status}`, data: { httpStatus: opened.status } };
    } else if (opened.kind === 'failed') {
      return fail(`cannot connect: ${opened.message}`);
    } else {
      const session = opened.session;
      session.send(connectPacket(ctx, nextClientId(ctx), { anonymous: true }));
      const answer = await session.waitForOrClose('the CONNACK of an anonymous CONNECT', isConnack);
      if ('closed' in answer) {
        seen = { refused: true, how: `connection closed without CONNACK (code ${answer.closed})`, data: { closeCode: answer.closed } };
      } else {
        const code = (answer.packet as { reasonCode: number }).reasonCode;
        if (code === 0) {
          goodbye(ctx, session);
          seen = { refused: false, how: 'CONNACK 0x00', data: { connack: 0 } };
        } else {
          // [MQTT-3.2.2-7] (3.1.1: [MQTT-3.2.2-5]): the server closes after a refusing CONNACK.
          const closed = await session.waitClosed(`the close after CONNACK ${hex(code)} [MQTT-3.2.2-7]`);
          const expected = code === NOT_AUTHORIZED[ctx.protocolVersion] ? '' : ` (expected ${hex(NOT_AUTHORIZED[ctx.protocolVersion])}, not authorized)`;
          seen = { refused: true, how: `CONNACK ${hex(code)}${expected}, then closed (${closed})`, data: { connack: code, closeCode: closed } };
        }
      }
    }
    const data = { ...seen.data, anonymous: seen.refused ? 'refused' : 'allowed', expected: ctx.expectAnonymous.value };
    const expectation = `expected ${ctx.expectAnonymous.value}: ${ctx.expectAnonymous.source}`;
    if (seen.refused && ctx.expectAnonymous.value === 'refused') return pass(`refused as expected: ${seen.how}`, data);
    if (!seen.refused && ctx.expectAnonymous.value === 'allowed') return skip(`anonymous clients allowed, as expected (${expectation}): nothing to refuse`, data);
    if (!seen.refused) return fail(`anonymous allowed: an anonymous client got ${seen.how} (${expectation})`, data);
    return fail(`anonymous refused (${seen.how}), but ${expectation}`, data);
  },
};

/**
 * API Gateway's error message (`{"message": "Internal server error", …}`) is sent when an
 * integration fails: a throttled or failing Lambda function, a refused SendMessage. None of those
 * can be provoked without harm (they trip the deployment's alarms, or spend the throttle the fleet
 * shares), so this line only reports what the other checks happened to receive: "not provoked"
 * when nothing came, which is the healthy case.
 */
export const integrationErrorCheck: SmokeCheck = {
  id: 'integration-error',
  title: 'integration error frame',
  async run(ctx) {
    const seen = ctx.integrationErrors;
    if (seen.length === 0) return skip('not provoked: no check received an error message from API Gateway (provoking one safely is not possible)', { count: 0 });
    const first = seen[0]!;
    const checks = [...new Set(seen.map((s) => s.check))].join(', ');
    const shape = `{${first.body.keys.map((k) => JSON.stringify(k)).join(', ')}} in a ${first.encoding === 'text' ? 'text' : 'binary'} frame, message ${JSON.stringify(first.body.message)}`;
    const data = { count: seen.length, checks, message: first.body.message, keys: first.body.keys, requestId: first.body.requestId ?? null };
    const request = first.body.requestId === undefined ? '' : `; requestId ${first.body.requestId} (API Gateway's execution log)`;
    return pass(`seen ${seen.length} during ${checks}: ${shape}${request}`, data);
  },
};
