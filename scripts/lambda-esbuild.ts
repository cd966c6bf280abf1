/**
 * The esbuild options NodejsFunction derives from `BUNDLING` (lib/infra/functions.ts), for the
 * build that ships the Lambda code prebuilt (scripts/build-functions.ts) and for bench/bundles.ts: any BUNDLING key not mapped here fails the build, so the prebuilt bundles
 * cannot drift from what `cdk synth` bundles in this repository.
 */
import type { BuildOptions } from 'esbuild';
import { OutputFormat, SourceMapMode, type BundlingOptions } from 'aws-cdk-lib/aws-lambda-nodejs';

const MAPPED = new Set([
  'format', 'target', 'platform', 'minify', 'sourceMap', 'sourceMapMode', 'sourcesContent',
  'bundleAwsSDK', 'mainFields', 'banner', 'forceDockerBundling', 'externalModules',
]);

export function esbuildOptionsOf(bundling: BundlingOptions): BuildOptions {
  const unmapped = Object.keys(bundling).filter((k) => !MAPPED.has(k));
  if (unmapped.length > 0) throw new Error(`scripts/lambda-esbuild.ts does not map BUNDLING.${unmapped.join(', BUNDLING.')} yet`);
  if (bundling.sourceMapMode !== undefined && bundling.sourceMapMode !== SourceMapMode.DEFAULT) {
    throw new Error(`scripts/lambda-esbuild.ts maps only the default source map mode, not ${bundling.sourceMapMode}`);
  }
  return {
    bundle: true,
    format: bundling.format === OutputFormat.ESM ? 'esm' : 'cjs',
    target: bundling.target,
    platform: 'node',
    minify: bundling.minify ?? false,
    sourcemap: bundling.sourceMap ?? false,
    sourcesContent: bundling.sourcesContent ?? true,
    // NodejsFunction's default: the AWS SDK external unless it is bundled.
    external: bundling.externalModules ? [...bundling.externalModules] : bundling.bundleAwsSDK ? [] : ['@aws-sdk/*'],
    mainFields: bundling.mainFields ? [...bundling.mainFields] : undefined,
    banner: bundling.banner === undefined ? undefined : { js: bundling.banner },
    logLevel: 'warning',
  };
}
