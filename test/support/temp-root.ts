/**
 * Vitest global setup: the whole run's temp folders go in one private folder (TMPDIR, which
 * os.tmpdir(), the test workers, the dag children and chromium all read), removed when the run ends.
 * A test that forgets its folder can no longer litter the system temp directory, and
 * test/support/count-reporter.ts names any dag-* folder still there when the tests are done.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const SUITE_TMP = 'DAG_TEST_TMPDIR';

export default function setup(): () => void {
  const root = mkdtempSync(join(tmpdir(), 'dag-suite-'));
  for (const name of ['TMPDIR', 'TMP', 'TEMP', SUITE_TMP]) process.env[name] = root;
  return () => rmSync(root, { recursive: true, force: true });
}
