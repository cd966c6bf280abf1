import { beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createAuthenticator, type AuthenticatorOptions } from '../../../lib/auth/authenticator';
import { dummyVerify, hashPassword } from '../../../lib/auth/password';
import type { AclRule, TokenVerdict, TokenVerifier } from '../../../lib/auth/types';
import type { ConnectPacket, ProtocolVersion } from '../../../lib/mqtt/types';
import { noCredentialStore } from '../../../lib/runtime/auth';
import { createLogger } from '../../../lib/log';
import { MemoryAuthStore } from '../../../lib/store/memory/auth-store';

vi.mock('../../../lib/auth/password', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../../lib/auth/password')>();
  return { ...original, dummyVerify: vi.fn(original.dummyVerify) };
});

const PASSWORD = 'correct horse battery';
const TOKEN = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ0b2tlbi11c2VyIn0.c2lnbmF0dXJl';
const bytes = (text: string) => new TextEncoder().encode(text);
const rule = (id: string, pattern: string, effect: 'allow' | 'deny' = 'allow'): AclRule => ({
  id,
  effect,
  actions: ['publish', 'subscribe'],
  pattern,
});

const own = rule('own', 'home/%u/#');
const opsRule = rule('ops', 'ops/#');
const fleetRule = rule('fleet', 'fleet/#');
const tokenRule = rule('tok', 'token/%u/#');
const anonRule = rule('no-sys', '$SYS/#', 'deny');

let passwordHash: string;
beforeAll(async () => {
  passwordHash = await hashPassword(PASSWORD);
});

/** A token verifier that accepts TOKEN only; records what it was asked. */
function fakeVerifier(): TokenVerifier & { calls: string[] } {
  const calls: string[] = [];
  const verify = async (token: string): Promise<TokenVerdict> => {
    calls.push(token);
    if (token !== TOKEN) return { ok: false, reason: 'signature' };
    return { ok: true, username: 'token-user', groups: ['fleet'], rules: [tokenRule] };
  };
  return Object.assign(verify, { calls });
}

describe.each([4, 5] as ProtocolVersion[])('createAuthenticator, protocol %i', (protocolVersion) => {
  let store: MemoryAuthStore;
  let lines: string[];
  let verifier: ReturnType<typeof fakeVerifier>;

  const connect = (fields: { username?: string; password?: Uint8Array } = {}): ConnectPacket => ({
    type: 'connect',
    protocolName: 'MQTT',
    protocolVersion,
    clean: true,
    keepAlive: 60,
    clientId: 'client-1',
    ...fields,
  });
  const authenticator = (options: Partial<AuthenticatorOptions> = {}) =>
    createAuthenticator({
      store,
      allowAnonymous: false,
      log: createLogger({ level: 'debug', write: (line) => lines.push(line) }),
      ...options,
    });

  beforeEach(async () => {
    vi.mocked(dummyVerify).mockClear();
    lines = [];
    verifier = fakeVerifier();
    store = new MemoryAuthStore();
    await store.createGroup({ name: 'ops', createdAt: 1 });
    await store.createGroup({ name: 'fleet', createdAt: 1 });
    await store.addRule({ kind: 'group', name: 'ops' }, opsRule);
    await store.addRule({ kind: 'group', name: 'fleet' }, fleetRule);
    await store.addRule({ kind: 'group', name: 'anonymous' }, anonRule);
    await store.createUser({ name: 'alice', passwordHash, groups: ['ops', 'gone'], createdAt: 1 });
    await store.addRule({ kind: 'user', name: 'alice' }, own);
    await store.createUser({ name: 'token-user', passwordHash: null, groups: ['ops'], createdAt: 1 });
    await store.addRule({ kind: 'user', name: 'token-user' }, rule('stored', 'stored/#'));
  });

  describe('username and password', () => {
    it('accepts the right password: deny by default, own rules and those of existing groups', async () => {
      const verdict = await authenticator()(connect({ username: 'alice', password: bytes(PASSWORD) }));
      expect(verdict).toEqual({ ok: true, principal: 'alice', access: { defaultEffect: 'deny', rules: [own, opsRule] } });
    });

    it('refuses a wrong password: bad credentials', async () => {
      const verdict = await authenticator()(connect({ username: 'alice', password: bytes(PASSWORD + '!') }));
      expect(verdict).toEqual({ ok: false, reason: 'bad-credentials' });
    });

    it('refuses an unknown user after the same scrypt work (dummyVerify)', async () => {
      const verdict = await authenticator()(connect({ username: 'mallory', password: bytes(PASSWORD) }));
      expect(verdict).toEqual({ ok: false, reason: 'bad-credentials' });
      expect(dummyVerify).toHaveBeenCalledTimes(1);
    });

    it('refuses a password for a token-only user, after dummyVerify', async () => {
      const verdict = await authenticator()(connect({ username: 'token-user', password: bytes(PASSWORD) }));
      expect(verdict).toEqual({ ok: false, reason: 'bad-credentials' });
      expect(dummyVerify).toHaveBeenCalledTimes(1);
    });

    it('does not spend dummy work for a known user', async () => {
      await authenticator()(connect({ username: 'alice', password: bytes('wrong') }));
      expect(dummyVerify).not.toHaveBeenCalled();
    });

    it('takes a password that looks like a JWT as a password when no verifier is configured', async () => {
      await store.updateUser('alice', { passwordHash: await hashPassword(TOKEN) });
      const verdict = await authenticator()(connect({ username: 'alice', password: bytes(TOKEN) }));
      expect(verdict).toMatchObject({ ok: true, principal: 'alice' });
    });
  });

  describe('tokens', () => {
    it('accepts a JWT password: the token principal, its rules, its stored rules, all groups', async () => {
      const verdict = await authenticator({ verifyToken: verifier })(connect({ username: 'ignored', password: bytes(TOKEN) }));
      expect(verifier.calls).toEqual([TOKEN]);
      expect(verdict).toEqual({
        ok: true,
        principal: 'token:token-user',
        username: 'token-user',
        access: { defaultEffect: 'deny', rules: [tokenRule, rule('stored', 'stored/#'), fleetRule, opsRule] },
      });
    });

    it('refuses a JWT the verifier refuses, without trying it as a password', async () => {
      const forged = TOKEN.slice(0, -2) + 'xx';
      await store.updateUser('alice', { passwordHash: await hashPassword(forged) });
      const verdict = await authenticator({ verifyToken: verifier })(connect({ username: 'alice', password: bytes(forged) }));
      expect(verdict).toEqual({ ok: false, reason: 'bad-credentials' });
    });

    it('does not ask the verifier about a password that is not shaped like a JWT', async () => {
      for (const password of [PASSWORD, 'a.b', 'a.b.c.d', 'a.b.c=', 'a..c', '\u00e9.b.c']) {
        await authenticator({ verifyToken: verifier })(connect({ username: 'alice', password: bytes(password) }));
      }
      await authenticator({ verifyToken: verifier })(connect({ username: 'alice', password: new Uint8Array([0xff, 0x2e, 0x61, 0x2e, 0x62]) }));
      expect(verifier.calls).toEqual([]);
    });

    it('accepts a principal established at $connect, ignoring the CONNECT credentials', async () => {
      const preAuth = { username: 'token-user', groups: ['fleet', 'missing'], rules: [tokenRule] };
      const verdict = await authenticator({ verifyToken: verifier })(
        connect({ username: 'alice', password: bytes('wrong') }),
        { preAuth },
      );
      expect(verifier.calls).toEqual([]);
      expect(verdict).toEqual({
        ok: true,
        principal: 'token:token-user',
        username: 'token-user',
        access: { defaultEffect: 'deny', rules: [tokenRule, rule('stored', 'stored/#'), fleetRule, opsRule] },
      });
    });

    it('a token naming a password user is not authorized: token and password users are two namespaces', async () => {
      const preAuth = { username: 'alice', groups: [], rules: [tokenRule] };
      expect(await authenticator()(connect(), { preAuth })).toEqual({ ok: false, reason: 'not-authorized' });
    });

    it('accepts a $connect principal that has no stored user: the token rules and groups only', async () => {
      const preAuth = { username: 'device-9', groups: ['fleet'], rules: [] };
      const verdict = await authenticator()(connect(), { preAuth });
      expect(verdict).toEqual({
        ok: true,
        principal: 'token:device-9',
        username: 'device-9',
        access: { defaultEffect: 'deny', rules: [fleetRule] },
      });
    });
  });

  describe('anonymous clients', () => {
    it('lets a client without a username in when anonymous access is on: allow by default, anonymous rules', async () => {
      const verdict = await authenticator({ allowAnonymous: true })(connect());
      expect(verdict).toEqual({ ok: true, access: { defaultEffect: 'allow', rules: [anonRule] } });
    });

    it('refuses a client without a username when anonymous access is off: not authorized', async () => {
      expect(await authenticator()(connect())).toEqual({ ok: false, reason: 'not-authorized' });
    });

    it('refuses a username without a password, unless anonymous access is on', async () => {
      expect(await authenticator()(connect({ username: 'alice' }))).toEqual({ ok: false, reason: 'bad-credentials' });
      expect(await authenticator({ allowAnonymous: true })(connect({ username: 'alice' }))).toEqual({
        ok: true,
        access: { defaultEffect: 'allow', rules: [anonRule] },
      });
    });

    it('refuses a password without a username that is not a verified token (v5 allows sending one)', async () => {
      const anyone = authenticator({ allowAnonymous: true, verifyToken: verifier });
      expect(await anyone(connect({ password: bytes(PASSWORD) }))).toEqual({ ok: false, reason: 'bad-credentials' });
      expect(await anyone(connect({ password: bytes(TOKEN) }))).toMatchObject({ ok: true, principal: 'token:token-user' });
    });
  });

  it('never logs a password or a token', async () => {
    const run = authenticator({ verifyToken: verifier });
    await run(connect({ username: 'alice', password: bytes(PASSWORD + '!') }));
    await run(connect({ username: 'mallory', password: bytes(PASSWORD) }));
    await run(connect({ username: 'alice', password: bytes(TOKEN.slice(0, -1)) }));
    await run(connect({ username: 'alice', password: bytes(TOKEN) }));
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) {
      expect(line).not.toContain(PASSWORD);
      expect(line).not.toContain(TOKEN.slice(0, 20));
    }
  });
});

describe('noCredentialStore', () => {
  it('still vouches for nobody', async () => {
    const connect: ConnectPacket = {
      type: 'connect',
      protocolName: 'MQTT',
      protocolVersion: 5,
      clean: true,
      keepAlive: 0,
      clientId: 'c',
      username: 'u',
      password: bytes('p'),
    };
    expect(await noCredentialStore(true)(connect, {})).toEqual({ ok: true });
    expect(await noCredentialStore(false)(connect)).toEqual({ ok: false, reason: 'not-authorized' });
  });
});
