/**
 * Token authentication in the stack: a StratusStack with `jwt` props, synthesized once with
 * bundling and cdk-nag. The REQUEST authorizer on $connect, its least-privilege role, the JWT
 * environment of the functions that verify tokens, and the props and context keys that set it.
 */
import type { CfnElement } from 'aws-cdk-lib';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { lambdaAuthorizer } from '../../lib/auth/authorizer';
import { jwtOptionsFromEnv } from '../../lib/auth/jwt';
import { coreFunctionIds, FUNCTION_SPECS, tableActions, type FunctionId } from '../../lib/infra/access';
import { readAppContext, InvalidContextError } from '../../lib/infra/context';
import { functionEnvironment, jwtEnvironment } from '../../lib/infra/mqtt-broker';
import type { JwtProps } from '../../lib/infra/props';
import { InvalidBrokerPropsError, resolveBrokerProps } from '../../lib/infra/props-validation';
import { TABLE_IDS, tableEnvVar } from '../../lib/store/schema';
import { render, renderStatement, type RenderedStatement } from './render';
import { synthStratus, type Synthesized } from './synth';

type Resource = { Type: string; Properties: Record<string, any> };

/** The core functions of a stack with the default (ordered) ingress. */
const CORE_FUNCTION_IDS = coreFunctionIds('ordered');

const JWT: JwtProps = {
  issuer: 'https://auth.example.com/',
  audience: 'stratus-devices',
  jwksUrl: 'https://auth.example.com/.well-known/jwks.json',
  usernameClaim: 'client_id',
};
const JWT_ENV = {
  STRATUS_JWT_ISSUER: JWT.issuer,
  STRATUS_JWT_AUDIENCE: JWT.audience,
  STRATUS_JWT_JWKS_URL: JWT.jwksUrl,
  STRATUS_JWT_USERNAME_CLAIM: 'client_id',
};

beforeEach(() => {
  expect.hasAssertions();
});

describe('StratusStack with token authentication (bundled, cdk-nag)', () => {
  let s: Synthesized;
  const resources = (type: string) => s.template.findResources(type) as Record<string, Resource>;
  const logicalId = (c: { node: { defaultChild?: unknown } }) => s.stack.getLogicalId(c.node.defaultChild as CfnElement);
  const fn = (id: FunctionId) => {
    const f = s.stack.broker.functions[id as keyof typeof s.stack.broker.functions];
    if (!f) throw new Error(`no ${id} function`);
    return f;
  };
  const env = (id: FunctionId) => resources('AWS::Lambda::Function')[logicalId(fn(id))]!.Properties.Environment.Variables as Record<string, unknown>;
  const routes = () => Object.values(resources('AWS::ApiGatewayV2::Route'));
  const statementsOf = (id: FunctionId): RenderedStatement[] => {
    const roleId = logicalId(fn(id).role as never);
    return Object.values(resources('AWS::IAM::Policy'))
      .filter((p) => (p.Properties.Roles as { Ref: string }[]).some((r) => r.Ref === roleId))
      .flatMap((p) => (p.Properties.PolicyDocument.Statement as Record<string, unknown>[]).map(renderStatement));
  };

  beforeAll(() => {
    s = synthStratus({ broker: { jwt: JWT } }, { bundling: true, nag: true });
  });
  afterAll(() => s?.cleanup());

  it('still passes cdk-nag', () => {
    expect(s.synthError).toBeUndefined();
    expect(s.violations).toEqual([]);
  });

  it('adds the authorizer function: the core functions plus one, same runtime and logging conventions', () => {
    const fns = resources('AWS::Lambda::Function');
    expect(Object.keys(fns)).toHaveLength(CORE_FUNCTION_IDS.length + 1);
    expect(fns[logicalId(fn('authorizer'))]!.Properties).toMatchObject({
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      Timeout: 10,
      Description: FUNCTION_SPECS.authorizer.description,
      LoggingConfig: { LogFormat: 'JSON', ApplicationLogLevel: 'INFO', SystemLogLevel: 'WARN' },
    });
  });

  it('bundles the authorizer small: jose and zod, no AWS SDK', () => {
    const assetPath = (fn('authorizer').node.findChild('Code') as unknown as { assetPath?: string }).assetPath ?? '';
    const bundle = join(s.outdir, assetPath, 'index.mjs');
    expect(existsSync(bundle)).toBe(true);
    expect(statSync(bundle).size).toBeLessThan(512 * 1024);
    expect(readFileSync(bundle, 'utf8')).not.toContain('@aws-sdk');
  });

  it('attaches a REQUEST authorizer with no identity source to $connect only', () => {
    const authorizers = Object.entries(resources('AWS::ApiGatewayV2::Authorizer'));
    expect(authorizers).toHaveLength(1);
    const [authorizerId, authorizer] = authorizers[0]!;
    expect(authorizer.Properties.AuthorizerType).toBe('REQUEST');
    expect(authorizer.Properties).not.toHaveProperty('IdentitySource');
    expect(render(authorizer.Properties.AuthorizerUri)).toContain(`\${${logicalId(fn('authorizer'))}.Arn}/invocations`);
    for (const route of routes()) {
      if (route.Properties.RouteKey === '$connect') {
        expect(route.Properties).toMatchObject({ AuthorizationType: 'CUSTOM', AuthorizerId: { Ref: authorizerId } });
      } else {
        expect(route.Properties.AuthorizerId).toBeUndefined();
      }
    }
  });

  it('lets only this API\'s authorizers invoke the authorizer function', () => {
    const permissions = Object.values(resources('AWS::Lambda::Permission')).filter(
      (p) => render(p.Properties.FunctionName) === `\${${logicalId(fn('authorizer'))}.Arn}`,
    );
    expect(permissions).toHaveLength(1);
    expect(permissions[0]!.Properties.Principal).toBe('apigateway.amazonaws.com');
    expect(render(permissions[0]!.Properties.SourceArn)).toMatch(
      new RegExp(`:\\$\\{${logicalId(s.stack.broker.api)}\\}/authorizers/\\$\\{\\w+\\}$`),
    );
  });

  it('gives the JWT settings to the authorizer, $connect and $default, and not to the others', () => {
    expect(env('authorizer')).toEqual({ ...JWT_ENV, STRATUS_LOG_LEVEL: 'info', NODE_OPTIONS: '--enable-source-maps' });
    for (const id of ['connect', 'message'] as const) expect(env(id)).toMatchObject(JWT_ENV);
    expect(Object.keys(env('sweeper')).some((k) => k.startsWith('STRATUS_JWT_'))).toBe(false);
  });

  it('the authorizer role may write its log group and nothing else: no table, no @connections', () => {
    const statements = statementsOf('authorizer');
    expect(statements.flatMap((st) => st.actions).sort()).toEqual(['logs:CreateLogStream', 'logs:PutLogEvents']);
    expect(TABLE_IDS.every((t) => tableActions('authorizer', t).length === 0)).toBe(true);
  });

  it('only $default reads the auth table, with Query alone (the store reads a principal as one partition)', () => {
    const authArn = `\${${logicalId(s.stack.broker.tables.auth)}.Arn}`;
    for (const id of [...CORE_FUNCTION_IDS, 'authorizer'] as const) {
      const granted = statementsOf(id)
        .filter((st) => st.resources.includes(authArn))
        .flatMap((st) => st.actions)
        .sort();
      expect(granted, id).toEqual(id === 'message' ? ['dynamodb:Query'] : []);
    }
  });
});

describe('jwt props', () => {
  it('defaults the username claim to sub', () => {
    const { usernameClaim: _u, ...rest } = JWT;
    expect(resolveBrokerProps({ jwt: rest }).jwt).toEqual({ ...rest, usernameClaim: 'sub' });
    expect(resolveBrokerProps({}).jwt).toBeUndefined();
  });

  it.each([
    ['an http JWKS URL', { jwksUrl: 'http://auth.example.com/jwks' }, 'jwt.jwksUrl'],
    ['a JWKS URL that is not a URL', { jwksUrl: 'auth.example.com' }, 'jwt.jwksUrl'],
    ['an empty issuer', { issuer: '' }, 'jwt.issuer'],
    ['an empty audience', { audience: '' }, 'jwt.audience'],
    ['a username claim with a space', { usernameClaim: 'user name' }, 'jwt.usernameClaim'],
  ])('refuses %s', (_name, change, prop) => {
    let error: unknown;
    try {
      resolveBrokerProps({ jwt: { ...JWT, ...change } });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InvalidBrokerPropsError);
    expect((error as InvalidBrokerPropsError).prop).toBe(prop);
  });

  it('context keys set it, all or nothing', () => {
    const ctx = {
      'stratus:jwtIssuer': JWT.issuer,
      'stratus:jwtAudience': JWT.audience,
      'stratus:jwtJwksUrl': JWT.jwksUrl,
    };
    expect(readAppContext((k) => (ctx as Record<string, unknown>)[k]).broker.jwt).toEqual({
      issuer: JWT.issuer,
      audience: JWT.audience,
      jwksUrl: JWT.jwksUrl,
    });
    expect(readAppContext(() => undefined).broker.jwt).toBeUndefined();
    expect(() => readAppContext((k) => (k === 'stratus:jwtIssuer' ? JWT.issuer : undefined))).toThrow(InvalidContextError);
    expect(() => readAppContext((k) => ({ ...ctx, 'stratus:jwtJwksUrl': 'http://a.example.com/j' } as Record<string, unknown>)[k])).toThrow(
      /stratus:jwtJwksUrl/,
    );
  });
});

describe('stack ⇄ runtime contract (JWT)', () => {
  it('the runtime reads back the JWT settings the stack sets', () => {
    const config = resolveBrokerProps({ jwt: JWT });
    expect(jwtEnvironment(config)).toEqual(JWT_ENV);
    expect(jwtOptionsFromEnv(jwtEnvironment(config))).toMatchObject({
      issuer: JWT.issuer,
      audience: JWT.audience,
      jwksUrl: JWT.jwksUrl,
      usernameClaim: 'client_id',
    });
    expect(typeof lambdaAuthorizer(functionEnvironment('authorizer', config, {}))).toBe('function');
    expect(jwtEnvironment(resolveBrokerProps({}))).toEqual({});
  });

  it('core functions keep the table names; the authorizer gets none', () => {
    const config = resolveBrokerProps({ jwt: JWT });
    const runtime = { [tableEnvVar('auth')]: 'stratus-auth', STRATUS_LOG_LEVEL: 'info' };
    expect(functionEnvironment('message', config, runtime)).toMatchObject({ ...runtime, ...JWT_ENV });
    expect(functionEnvironment('authorizer', config, runtime)).not.toHaveProperty(tableEnvVar('auth'));
  });
});
