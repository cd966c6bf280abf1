#!/usr/bin/env node
// The `stratus` command. The sources are TypeScript; tsx runs them as they are, with no build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../lib/cli/main.ts');
process.exitCode = await main(process.argv);
