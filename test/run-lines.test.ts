/**
 * `dag run` in line mode (stdout not a terminal: CI logs, pipes), through the real CLI on a real DuckDB
 * file: every batch that settles prints one line — built, failed, or skipped because an upstream
 * partition failed — so a log accounts for every partition the plan would build, each with its own
 * batch's time; a split batch's halves report their own.
 */
import { describe, expect, it } from 'vitest';
import { isoDay, makeProject, pipelineYaml } from './fixtures/run/project.js';

const DAYS = 20;
const BAD = 13;

/** `built  A 2021-11-01..2021-11-05 (...)` → ['A', days covered]. */
function daysOfLine(line: string): [string, string[]] {
  const m = /^\S+\s+(\S+) (\d{4}-\d{2}-\d{2})(?:\.\.(\d{4}-\d{2}-\d{2}))?/.exec(line);
  if (!m) throw new Error(`not a batch line: ${line}`);
  const days: string[] = [];
  for (let i = 0; i < DAYS; i++) if (isoDay(i) >= m[2]! && isoDay(i) <= (m[3] ?? m[2]!)) days.push(isoDay(i));
  return [m[1]!, days];
}

describe('line mode', () => {
  it('one line per settled batch, failures and upstream-failed batches included, covering every planned partition once', async () => {
    const yaml = pipelineYaml(`  A:
    table: p.a
    upstream: [src]
    sql: sql/a.sql
    batch_size: 31
  B:
    table: p.b
    upstream: [A]
    sql: sql/b.sql
    batch_size: 31
`);
    const p = await makeProject(
      yaml,
      {
        'sql/a.sql': `select d, id, case when d = DATE '${isoDay(BAD)}' then error('bad row on ' || d) else payload end as payload from {{ ref('src') }} where d between {{ start_date }} and {{ end_date }}\n`,
        'sql/b.sql': "select d, id, payload from {{ ref('A') }} where d between {{ start_date }} and {{ end_date }}\n",
      },
      DAYS,
    );
    const result = await p.dag(['run', '--range', `${isoDay(0)}..${isoDay(DAYS - 1)}`]);
    expect(result.code, result.stderr).toBe(1);
    const lines = result.stdout.split('\n\n')[0]!.split('\n');
    const settled = lines.filter((line) => /^(built|failed|skipped) /.test(line));
    const covered = new Map<string, string[]>([
      ['A', []],
      ['B', []],
    ]);
    for (const line of settled) {
      const [processor, days] = daysOfLine(line);
      covered.get(processor)!.push(...days);
    }
    const all = Array.from({ length: DAYS }, (_, i) => isoDay(i));
    expect(covered.get('A')!.sort()).toEqual(all);
    expect(covered.get('B')!.sort()).toEqual(all);
    expect(settled).toContainEqual(
      expect.stringMatching(new RegExp(`^failed A ${isoDay(BAD)} PROCESSOR_ERROR after \\d+\\.\\ds: Invalid Input Error: bad row on ${isoDay(BAD)}$`)),
    );
    expect(settled).toContainEqual(`skipped B ${isoDay(BAD)} UPSTREAM_FAILED: reads A ${isoDay(BAD)}, which failed (PROCESSOR_ERROR)`);
    // The first batch split; each half is timed on its own (its line has its own time).
    expect(lines[0]).toMatch(
      new RegExp(`^split  A ${isoDay(0)}\\.\\.${isoDay(DAYS - 1)} failed as a batch after \\d+\\.\\ds \\(PROCESSOR_ERROR\\); retrying it in halves$`),
    );
    for (const line of settled.filter((l) => l.startsWith('built'))) expect(line).toMatch(/\(\d+ partitions?, \d+\.\ds\)$/);
  });
});
