import { defineConfig } from 'vitest/config';

/**
 * Three projects, so that unit runs never start a JVM:
 * - unit: test/unit and test/infra, no external processes;
 * - package: test/package, `npm pack` installed into a temporary project (its own processes);
 * - integration: every other test (test/integration, test/conformance, ...), with one DynamoDB
 *   Local per run started by test/global-setup.ts (or DYNAMODB_ENDPOINT). A project's globalSetup
 *   runs only when the run includes files of that project.
 */
const UNIT = ['test/unit/**/*.test.ts', 'test/infra/**/*.test.ts'];
const PACKAGE = ['test/package/**/*.test.ts'];

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: UNIT },
      },
      {
        extends: true,
        test: { name: 'package', include: PACKAGE, testTimeout: 300_000, hookTimeout: 900_000 },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          exclude: ['**/node_modules/**', ...UNIT, ...PACKAGE],
          globalSetup: ['test/global-setup.ts'],
        },
      },
    ],
  },
});
