#!/usr/bin/env node
// The `stratus` command. The published package runs the compiled JavaScript in dist/. A checkout of
// the repository has the TypeScript sources (lib/cli/main.ts) and runs them with tsx, a
// devDependency, so that `npm start` and `npx stratus` need no build step there.
import { existsSync } from 'node:fs';

// The AWS SDK's multi-line notice about Node versions would break the CLI's one-line errors.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const sources = new URL('../lib/cli/main.ts', import.meta.url);
let cli;
if (existsSync(sources)) {
  const { register } = await import('tsx/esm/api');
  register();
  cli = await import(sources.href);
} else {
  cli = await import('../dist/cli/main.js');
}
process.exitCode = await cli.main(process.argv);
