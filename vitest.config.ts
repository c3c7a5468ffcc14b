import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    // A test that fails once and passes on its retry is printed as flaky by count-reporter (named,
    // with its first failure), never hidden: several tests race real processes and timers on a
    // shared 2-core machine, and one lost race must not sink a whole CI run. Twice is a failure.
    retry: 1,
    hookTimeout: 120_000,
    pool: 'forks',
    globalSetup: ['./test/support/temp-root.ts'],
    setupFiles: ['./test/support/cleanup.ts'],
    reporters: ['default', './test/support/count-reporter.ts'],
  },
});
