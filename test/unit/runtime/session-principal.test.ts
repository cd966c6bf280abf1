/**
 * Client ids belong to their principal, enforced by the session claim's condition (issue 13,
 * security): no read-then-claim race, no takeover through a claim that expected no session and
 * then resumed the one it found. On the memory runtime, with an authenticator that takes the user
 * name for the principal.
 */
import { describe, expect, it } from 'vitest';
import type { AuthVerdict } from '../../../lib/broker';
import type { ProtocolVersion } from '../../../lib/mqtt';
import { memoryRuntime, persistentSession, type MemoryRuntime } from '../../helpers/memory-runtime';

const VERSIONS: ProtocolVersion[] = [4, 5];

function runtime(): MemoryRuntime {
  return memoryRuntime({
    authenticate: async (connect): Promise<AuthVerdict> =>
      connect.username === undefined
        ? { ok: true, access: { defaultEffect: 'allow', rules: [] } }
        : { ok: true, principal: connect.username, access: { defaultEffect: 'allow', rules: [] } },
  });
}

describe.each(VERSIONS)('client ids belong to their principal, protocol %i', (version) => {
  const notAuthorized = version === 5 ? 0x87 : 5;

  it('a CONNECT whose session read was stale (no session yet) cannot take over the session another principal claimed meanwhile', async () => {
    const rt = runtime();
    const alice = await rt.connected(version, { clientId: 'press-7', username: 'alice', ...persistentSession(version) });
    // The read happened before alice's claim: it saw no session, so the claim expects none.
    const get = rt.stores.sessions.get.bind(rt.stores.sessions);
    rt.stores.sessions.get = async () => undefined;
    const mallory = await rt.open(version);
    const answer = await mallory.connect({ clientId: 'press-7', username: 'mallory', ...persistentSession(version) });
    rt.stores.sessions.get = get;
    expect(answer[0]).toMatchObject({ type: 'connack', reasonCode: notAuthorized, sessionPresent: false });
    expect((await rt.stores.sessions.get('press-7'))?.connectionId).toBe(alice.id);
    expect(alice.closedByServer).toBe(false);
  });

  it('[MQTT-3.1.4-3] a clean CONNECT of another principal is refused by the claim, without reading the session first', async () => {
    const rt = runtime();
    const alice = await rt.connected(version, { clientId: 'press-7', username: 'alice' });
    let reads = 0;
    const get = rt.stores.sessions.get.bind(rt.stores.sessions);
    rt.stores.sessions.get = async (clientId) => {
      reads++;
      return get(clientId);
    };
    const mallory = await rt.open(version);
    expect((await mallory.connect({ clientId: 'press-7', username: 'mallory', clean: true }))[0]).toMatchObject({ reasonCode: notAuthorized });
    expect(alice.closedByServer).toBe(false);
    const again = await rt.open(version);
    expect((await again.connect({ clientId: 'press-7', username: 'alice', clean: true }))[0]).toMatchObject({ reasonCode: 0 });
    expect(alice.closedByServer).toBe(true);
    expect(reads).toBe(0);
  });
});
