/**
 * The Lambda functions: one per entry point in functions/, each with its own role, log group and
 * JSON logging. From the published package, the code is the prebuilt bundle (./lambda-code); in
 * this repository, a NodejsFunction bundles the sources locally with esbuild (no Docker).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, Stack } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { ApplicationLogLevel, Code, Function as LambdaFunction, LoggingFormat, Runtime, SystemLogLevel, type FunctionProps } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat, SourceMapMode, type BundlingOptions } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { FUNCTION_SPECS, type FunctionId } from './access';
import { PREBUILT_HANDLER, prebuiltFunctionDir } from './lambda-code';
import type { ResolvedBrokerProps, StratusLogLevel } from './props';

/** The package root: lib/infra/../.. (holds functions/ and the lockfile). */
export const PACKAGE_ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const FUNCTIONS_DIR = join(PACKAGE_ROOT, 'functions');

const LAMBDA_RUNTIME = Runtime.NODEJS_22_X;

/**
 * Timeouts: API Gateway waits at most 29 s for an integration; the sweeper must end before the next
 * run. The ingress queue's visibility timeout follows the message function's (./ingress).
 */
export const FUNCTION_TIMEOUTS: Readonly<Record<FunctionId, Duration>> = {
  connect: Duration.seconds(10),
  disconnect: Duration.seconds(29),
  message: Duration.seconds(29),
  sweeper: Duration.seconds(50),
  // Holds the $connect upgrade: a JWKS fetch (5 s jose timeout) at most, then local crypto.
  authorizer: Duration.seconds(10),
};

/**
 * esbuild settings, measured in docs/PERFORMANCE.md ("Lambda bundles"): ESM output (our code is
 * ESM; `.mjs` handler), the AWS SDK bundled (pinned versions, and a smaller cold import than the
 * runtime's copy), minified, with an external source map without sources.
 */
export const BUNDLING: BundlingOptions = {
  format: OutputFormat.ESM,
  target: 'node22',
  platform: 'node',
  minify: true,
  sourceMap: true,
  sourceMapMode: SourceMapMode.DEFAULT,
  sourcesContent: false,
  bundleAwsSDK: true,
  // The default credential chain imports these four lazily, only when the environment holds no
  // credentials; Lambda always sets them, so they never load there. Bundled, they and the STS,
  // SSO and sign-in clients they pull in were 100 KB of every bundle.
  externalModules: [
    '@aws-sdk/credential-provider-ini',
    '@aws-sdk/credential-provider-process',
    '@aws-sdk/credential-provider-sso',
    '@aws-sdk/credential-provider-web-identity',
  ],
  mainFields: ['module', 'main'],
  // CommonJS dependencies call require() on Node built-ins; ESM bundles need it defined.
  banner: "import{createRequire as __cr}from'node:module';const require=__cr(import.meta.url);",
  forceDockerBundling: false,
};

/**
 * Lambda's own filter must let INFO through whatever STRATUS_LOG_LEVEL says: EMF metric lines carry
 * no `level` and Lambda files them as INFO. The runtime filters its own lines by STRATUS_LOG_LEVEL.
 */
function lambdaApplicationLogLevel(level: StratusLogLevel): ApplicationLogLevel {
  return level === 'debug' ? ApplicationLogLevel.DEBUG : ApplicationLogLevel.INFO;
}

/**
 * Lambda's own start and report lines (about 450 bytes per invocation: $0.23 per million
 * invocations of log ingestion, as much as the invocations themselves) are written only at the
 * debug level; Lambda's duration and error metrics do not need them (docs/COST.md, "Logs and
 * metrics").
 */
export function lambdaSystemLogLevel(level: StratusLogLevel): SystemLogLevel {
  return level === 'debug' ? SystemLogLevel.INFO : SystemLogLevel.WARN;
}

export interface BrokerFunction {
  /** A NodejsFunction in this repository; a Function over the prebuilt bundle from the package. */
  readonly fn: LambdaFunction;
  readonly role: Role;
}

interface FunctionOptions {
  readonly config: ResolvedBrokerProps;
  readonly environment: Readonly<Record<string, string>>;
}

function lockFile(): string | undefined {
  const path = join(PACKAGE_ROOT, 'package-lock.json');
  return existsSync(path) ? path : undefined;
}

/** One function, its role (no managed policies: it may write its own log group, nothing else yet). */
export function createBrokerFunction(scope: Construct, id: FunctionId, options: FunctionOptions): BrokerFunction {
  const { config } = options;
  const name = id.charAt(0).toUpperCase() + id.slice(1);
  const logGroup = new LogGroup(scope, `${name}Logs`, {
    retention: config.logRetention,
    removalPolicy: config.removalPolicy,
  });
  const role = new Role(scope, `${name}Role`, {
    assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
    description: `Stratus ${id} function (${Stack.of(scope).stackName})`,
  });
  logGroup.grantWrite(role);
  const common: Omit<FunctionProps, 'code' | 'handler'> = {
    description: FUNCTION_SPECS[id].description,
    runtime: LAMBDA_RUNTIME,
    architecture: config.architecture,
    memorySize: config.memorySize,
    timeout: FUNCTION_TIMEOUTS[id],
    role,
    logGroup,
    loggingFormat: LoggingFormat.JSON,
    applicationLogLevelV2: lambdaApplicationLogLevel(config.logLevel),
    systemLogLevelV2: lambdaSystemLogLevel(config.logLevel),
    environment: { ...options.environment },
  };
  const prebuilt = prebuiltFunctionDir(id);
  const fn = prebuilt
    ? new LambdaFunction(scope, `${name}Function`, { ...common, code: Code.fromAsset(prebuilt), handler: PREBUILT_HANDLER })
    : new NodejsFunction(scope, `${name}Function`, {
        ...common,
        entry: join(FUNCTIONS_DIR, FUNCTION_SPECS[id].entry),
        handler: 'handler',
        projectRoot: PACKAGE_ROOT,
        depsLockFilePath: lockFile(),
        bundling: BUNDLING,
      });
  return { fn, role };
}
