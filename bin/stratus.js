#!/usr/bin/env node
// The `stratus` command. The sources are TypeScript; tsx runs them as they are, with no build step.
import { register } from 'tsx/esm/api';

// The AWS SDK's multi-line notice about Node versions would break the CLI's one-line errors.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

register();
const { main } = await import('../lib/cli/main.ts');
process.exitCode = await main(process.argv);
