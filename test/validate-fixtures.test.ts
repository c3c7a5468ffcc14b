/**
 * Every folder under test/fixtures/validate is a pipeline and the exact diagnostics `dag validate`
 * must report for it (code, severity, file, line, column) plus the exit code. Run through the real
 * binary, a few at a time.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { looksLikeStackTrace, projectRoot, runDag } from './support/cli.js';

interface Expected {
  readonly exitCode: number;
  readonly diagnostics: readonly { code: string; severity: string; file: string; line: number; column: number }[];
}

const fixturesDir = join(projectRoot, 'test', 'fixtures', 'validate');
const cases = readdirSync(fixturesDir)
  .filter((name) => existsSync(join(fixturesDir, name, 'expected.json')))
  .sort();

describe('validate fixtures', () => {
  it('has at least 30 invalid fixtures and some valid ones', () => {
    const expectations = cases.map((name) => JSON.parse(readFileSync(join(fixturesDir, name, 'expected.json'), 'utf8')) as Expected);
    expect(expectations.filter((e) => e.exitCode === 1).length).toBeGreaterThanOrEqual(30);
    expect(expectations.filter((e) => e.exitCode === 0).length).toBeGreaterThanOrEqual(4);
  });

  describe.concurrent.each(cases)('%s', (name) => {
    it('reports exactly the expected diagnostics and exit code, with no stack trace', async () => {
      const dir = join(fixturesDir, name);
      const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as Expected;
      const result = await runDag(['validate', '--format', 'json'], { cwd: dir });
      expect(looksLikeStackTrace(result.stdout + result.stderr)).toBe(false);
      expect(result.stderr).toBe('');
      const actual = (JSON.parse(result.stdout) as Expected['diagnostics']).map(({ code, severity, file, line, column }) => ({
        code,
        severity,
        file,
        line,
        column,
      }));
      expect(actual).toEqual(expected.diagnostics);
      expect(result.code).toBe(expected.exitCode);
    });
  });
});
