// Prints the line CI reads last: `N passed, N failed, N skipped`. An error no test caught (an
// unhandled rejection, say) counts as a failure: it fails the run, so the line must say so too.
// So does a dag-* temp folder a test left behind (test/support/temp-root.ts gives the run its own TMPDIR).
import { existsSync, readdirSync } from 'node:fs';
import type { Reporter, TestModule } from 'vitest/node';
import { SUITE_TMP } from './temp-root.js';

/** dag-* folders still in the run's temp folder once every test file has cleaned up after itself. */
function leftTempFolders(): string[] {
  const root = process.env[SUITE_TMP];
  return root && existsSync(root) ? readdirSync(root).filter((name) => name.startsWith('dag-')) : [];
}

export default class CountReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<unknown> = []): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    const skippedNames: string[] = [];
    const flaky: string[] = [];
    for (const module of modules) {
      for (const test of module.children.allTests()) {
        const result = test.result();
        const state = result.state;
        if (state === 'passed' && test.diagnostic()?.flaky) {
          const first = result.errors?.[0]?.message?.split('\n')[0];
          flaky.push(`${module.moduleId.replace(/.*\/test\//, 'test/')}: ${test.name}${first ? ` (first attempt: ${first})` : ''}`);
        }
        if (state === 'passed') passed++;
        else if (state === 'failed') failed++;
        else {
          skipped++;
          skippedNames.push(`${module.moduleId.replace(/.*\/test\//, 'test/')}: ${test.name}`);
        }
      }
      if (module.state() === 'failed' && [...module.children.allTests()].length === 0) failed++;
    }
    failed += unhandledErrors.length;
    const left = leftTempFolders();
    if (left.length > 0) {
      failed++;
      process.exitCode = 1;
      process.stdout.write(`\nfailed: tests left temp folders behind (make them with tempProject, test/support/cli.ts): ${left.join(', ')}`);
    }
    // A test that passed only on its retry (vitest.config.ts) is counted passed, and named here.
    for (const name of flaky) process.stdout.write(`\nflaky (passed on retry): ${name}`);
    // Skipped tests say why in their names (e.g. live BigQuery without credentials): show them.
    for (const name of skippedNames) process.stdout.write(`\nskipped: ${name}`);
    process.stdout.write(`\n${passed} passed, ${failed} failed, ${skipped} skipped\n`);
  }
}
